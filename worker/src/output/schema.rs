//! What the tables share: their column declarations (from `column_spec.rs`, re-exported
//! here), the table-level metadata, the Parquet writer settings, and the check of a file's
//! schema against its table's columns.
//!
//! Each table declares its columns once, with [`crate::table!`], which gives the
//! `&'static [ColumnSpec]` that the schema and the metadata are built from (a unit test
//! checks that docs/OUTPUT.md names every column).

use arrow_schema::{DataType, Schema};
use eigensweep_common::provenance::Provenance;
use parquet::basic::Compression;
use parquet::file::metadata::KeyValue;
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::schema::types::ColumnPath;

pub use super::column_spec::{
    list_item_field, ColumnSpec, ColumnType, FIELD_DESCRIPTION_KEY, LIST_ITEM_NAME,
};
use super::table::Row;
use crate::WorkerError;

/// Version of the table layout; stored as [`FORMAT_VERSION_KEY`]. Bump on any change to a
/// column's name, type or meaning, and teach [`super::format`] to read the previous one.
///
/// Version 2 stores every integer as a signed 64-bit `Int64` (DuckDB `BIGINT`), so that
/// `step_w - step` or `step - 100` give negative numbers instead of an overflow error or a
/// wrapped value, and names a baseline task's network in the runs table's `network` column
/// (its `seed` is null). Version 1 stored steps, seeds, indices and counts as `UInt64` or
/// `UInt32`; such files are still read ([`super::format::FORMAT_VERSION_1`]).
pub const FORMAT_VERSION: &str = "2";
/// Parquet key-value metadata key holding the table name ("snapshots", "metrics", …).
pub const TABLE_KEY: &str = "eigensweep.table";
/// Parquet key-value metadata key holding [`FORMAT_VERSION`].
pub const FORMAT_VERSION_KEY: &str = "eigensweep.format_version";
/// Parquet key-value metadata key holding a one-sentence description of the table.
pub const TABLE_DESCRIPTION_KEY: &str = "eigensweep.description";
/// Prefix of the key-value metadata keys that repeat each column's description
/// (`eigensweep.column.<name>`), for readers such as DuckDB that do not show Arrow field
/// metadata (`SELECT * FROM parquet_kv_metadata('file.parquet')`).
pub const COLUMN_DESCRIPTION_PREFIX: &str = "eigensweep.column.";
/// Prefix of the key-value metadata keys that record who wrote the file
/// (`eigensweep.version`, `eigensweep.git_commit`, `eigensweep.features`, `eigensweep.device`,
/// `eigensweep.cpu`, `eigensweep.host`; see [`eigensweep_common::provenance`]).
pub const PROVENANCE_PREFIX: &str = "eigensweep.";
/// The Parquet `created_by` string: fixed, so that parts stay byte-identical across
/// parquet-rs upgrades (the default embeds the crate version).
pub const CREATED_BY: &str = "eigensweep 0.1";
/// Compression of every column: Snappy (pure Rust, deterministic, fast).
pub const COMPRESSION: Compression = Compression::SNAPPY;
/// At most this many rows per row group.
pub const MAX_ROW_GROUP_ROWS: usize = 1 << 20;
/// At most about this many encoded bytes per row group (128 MiB); eigenvector rows of the
/// paper's 89,610-parameter network are ~350 kB each, so a row group holds ~370 of them.
pub const MAX_ROW_GROUP_BYTES: usize = 128 << 20;

/// The description of the `run_key` column every per-run table starts with.
macro_rules! run_key_description {
    () => {
        "Key of the run: hash of its fully resolved configuration; joins `key` in runs.parquet."
    };
}
pub(crate) use run_key_description;

/// The description of the `step` column of the per-snapshot statistics' tables (trace,
/// density, preconditioned).
macro_rules! snapshot_step_description {
    () => {
        "Training step of the snapshot (θ after this many updates); joins `step` in the snapshots table."
    };
}
pub(crate) use snapshot_step_description;

/// The Parquet key-value metadata of a table, in a fixed order: table name, format version,
/// table description, then one entry per column.
pub fn table_metadata<R: Row>() -> Vec<KeyValue> {
    let mut kv = vec![
        KeyValue::new(TABLE_KEY.to_string(), R::TABLE.to_string()),
        KeyValue::new(FORMAT_VERSION_KEY.to_string(), FORMAT_VERSION.to_string()),
        KeyValue::new(
            TABLE_DESCRIPTION_KEY.to_string(),
            R::DESCRIPTION.to_string(),
        ),
    ];
    kv.extend(R::columns().iter().map(|c| {
        KeyValue::new(
            format!("{COLUMN_DESCRIPTION_PREFIX}{}", c.name),
            c.description.to_string(),
        )
    }));
    kv
}

/// The key-value metadata recording who writes a file: one `eigensweep.NAME` entry per fact of
/// `provenance` ([`Provenance::pairs`]), after the table's own metadata.
pub fn provenance_metadata(provenance: &Provenance) -> Vec<KeyValue> {
    provenance
        .pairs()
        .iter()
        .map(|(name, value)| KeyValue::new(format!("{PROVENANCE_PREFIX}{name}"), value.to_string()))
        .collect()
}

/// The Parquet writer settings for a table, stamped with the calling thread's
/// [`Provenance::current`]. Nothing in them depends on time, so the same rows written by the
/// same build on the same machine and device always give the same bytes.
///
/// Float columns are written PLAIN (no dictionary: their values are nearly all distinct), and
/// list columns without statistics (min/max over a whole eigenvector is useless and costs a
/// pass over it).
pub fn writer_properties<R: Row>() -> WriterProperties {
    let mut builder = WriterProperties::builder()
        .set_created_by(CREATED_BY.to_string())
        .set_compression(COMPRESSION)
        .set_max_row_group_row_count(Some(MAX_ROW_GROUP_ROWS))
        .set_max_row_group_bytes(Some(MAX_ROW_GROUP_BYTES))
        .set_key_value_metadata(Some(
            table_metadata::<R>()
                .into_iter()
                .chain(provenance_metadata(&Provenance::current()))
                .collect(),
        ));
    for column in R::columns() {
        match column.ty {
            ColumnType::Float64 => {
                builder =
                    builder.set_column_dictionary_enabled(ColumnPath::from(column.name), false);
            }
            ColumnType::ListFloat32 => {
                let path = list_item_path(column.name);
                builder = builder
                    .set_column_dictionary_enabled(path.clone(), false)
                    .set_column_statistics_enabled(path, EnabledStatistics::None);
            }
            _ => {}
        }
    }
    builder.build()
}

/// The Parquet leaf path of a list column's items (`NAME.list.item`).
pub fn list_item_path(name: &str) -> ColumnPath {
    ColumnPath::new(vec![
        name.to_string(),
        "list".to_string(),
        LIST_ITEM_NAME.to_string(),
    ])
}

/// Checks a file's Arrow schema against the table's columns: every declared column must be
/// there with its type (extra columns are ignored, so that a later format may add some).
pub(crate) fn check_schema<R: Row>(schema: &Schema) -> Result<(), WorkerError> {
    for column in R::columns() {
        let field = match schema.field_with_name(column.name) {
            Ok(field) => field,
            Err(_) if column.absent_is_null => continue,
            Err(_) => {
                return Err(WorkerError::MissingColumn {
                    column: column.name.to_string(),
                })
            }
        };
        let type_ok = match (column.ty, field.data_type()) {
            // Any item name and nullability: other writers call the item "element".
            (ColumnType::ListFloat32, DataType::List(item)) => {
                item.data_type() == &DataType::Float32
            }
            (ty, found) => found == &ty.data_type(),
        };
        if !type_ok {
            return Err(WorkerError::ColumnType {
                column: column.name.to_string(),
                found: field.data_type().to_string(),
                expected: column.ty.data_type().to_string(),
            });
        }
        if field.is_nullable() && !column.nullable {
            return Err(WorkerError::NullableColumn {
                column: column.name.to_string(),
            });
        }
    }
    Ok(())
}
