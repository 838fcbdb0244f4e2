//! What the tables share: column declarations, the Arrow schema built from them (with a
//! description per field), the table-level metadata, the Parquet writer settings, and small
//! helpers to build and take apart Arrow columns.
//!
//! Each table declares its columns once, with [`crate::table!`], which gives the
//! `&'static [ColumnSpec]` that the schema and the metadata are built from (a unit test
//! checks that docs/OUTPUT.md names every column).

use std::collections::HashMap;
use std::sync::Arc;

use arrow_array::{
    ArrayRef, BooleanArray, Float64Array, RecordBatch, StringArray, TimestampMillisecondArray,
};
use arrow_schema::{DataType, Field, FieldRef, Schema, TimeUnit};
use eigensweep_common::provenance::Provenance;
use parquet::basic::Compression;
use parquet::file::metadata::KeyValue;
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::schema::types::ColumnPath;

use super::columns::{
    f32_list_array, int64_array, int64_array_opt, kind, read_int, read_int_opt, ColumnValue,
};
use super::table::Row;
use super::OutputError;

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
/// Arrow field metadata key holding the column's description.
pub const FIELD_DESCRIPTION_KEY: &str = "description";
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
/// Name of the item field of list columns (Arrow's default).
pub const LIST_ITEM_NAME: &str = "item";

/// The logical type of a column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    /// UTF-8 text (Arrow `Utf8`, DuckDB `VARCHAR`).
    Utf8,
    /// Arrow `Int64` (DuckDB `BIGINT`): every integer (steps, lags, seeds, indices, counts).
    /// The Rust field may be a `u64` or `u32`; [`int64s`] and [`col_u64`] convert at the
    /// column boundary, checked (a value above `i64::MAX`, or a negative one read back, is an
    /// error naming the column, never a wrapped number).
    Int64,
    /// Arrow `Float64` (DuckDB `DOUBLE`).
    Float64,
    /// Arrow `Boolean`.
    Boolean,
    /// Milliseconds since the Unix epoch, UTC: Arrow `Timestamp(ms, "UTC")` (DuckDB
    /// `TIMESTAMP WITH TIME ZONE`). The Rust field is an `i64`.
    TimestampMsUtc,
    /// Arrow `List<Float32>` with non-null items (DuckDB `FLOAT[]`).
    ListFloat32,
}

impl ColumnType {
    /// The Arrow data type.
    pub fn data_type(self) -> DataType {
        match self {
            ColumnType::Utf8 => DataType::Utf8,
            ColumnType::Int64 => DataType::Int64,
            ColumnType::Float64 => DataType::Float64,
            ColumnType::Boolean => DataType::Boolean,
            ColumnType::TimestampMsUtc => {
                DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into()))
            }
            ColumnType::ListFloat32 => DataType::List(list_item_field()),
        }
    }

    /// How the column reads in DuckDB (for documentation).
    pub fn duckdb_type(self) -> &'static str {
        match self {
            ColumnType::Utf8 => "VARCHAR",
            ColumnType::Int64 => "BIGINT",
            ColumnType::Float64 => "DOUBLE",
            ColumnType::Boolean => "BOOLEAN",
            ColumnType::TimestampMsUtc => "TIMESTAMP WITH TIME ZONE",
            ColumnType::ListFloat32 => "FLOAT[]",
        }
    }
}

/// The item field of `List<Float32>` columns: named "item", non-null, no metadata.
pub fn list_item_field() -> FieldRef {
    Arc::new(Field::new(LIST_ITEM_NAME, DataType::Float32, false))
}

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

/// One column of a table: name (= the Rust field's name), type, nullability, description.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ColumnSpec {
    /// Column name.
    pub name: &'static str,
    /// Logical type.
    pub ty: ColumnType,
    /// Whether the column may hold nulls (the Rust field is an `Option`).
    pub nullable: bool,
    /// One-sentence description, stored in the field metadata.
    pub description: &'static str,
    /// A nullable column added to a table after its format version was fixed: files written
    /// before have no such column, and it reads as null there.
    pub absent_is_null: bool,
}

impl ColumnSpec {
    /// A non-null column.
    pub const fn required(name: &'static str, ty: ColumnType, description: &'static str) -> Self {
        Self {
            name,
            ty,
            nullable: false,
            description,
            absent_is_null: false,
        }
    }

    /// A nullable column.
    pub const fn optional(name: &'static str, ty: ColumnType, description: &'static str) -> Self {
        Self {
            name,
            ty,
            nullable: true,
            description,
            absent_is_null: false,
        }
    }

    /// A nullable column added without a format-version bump (see `absent_is_null`).
    pub const fn added(name: &'static str, ty: ColumnType, description: &'static str) -> Self {
        Self {
            name,
            ty,
            nullable: true,
            description,
            absent_is_null: true,
        }
    }

    /// The Arrow field, with the description under [`FIELD_DESCRIPTION_KEY`].
    pub fn field(&self) -> Field {
        Field::new(self.name, self.ty.data_type(), self.nullable).with_metadata(HashMap::from([(
            FIELD_DESCRIPTION_KEY.to_string(),
            self.description.to_string(),
        )]))
    }
}

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

// ---------------------------------------------------------------------------------------
// Building and reading columns with `String` errors: what the analysis and report crates'
// hand-written tables still call (a table declared with `crate::table!` uses
// `super::columns`, whose typed errors these turn into text). Same arrays, same checks.

/// A required text column.
pub fn utf8<'a>(values: impl Iterator<Item = &'a str>) -> ArrayRef {
    Arc::new(StringArray::from_iter_values(values))
}

/// A nullable text column.
pub fn utf8_opt<'a>(values: impl Iterator<Item = Option<&'a str>>) -> ArrayRef {
    Arc::new(values.collect::<StringArray>())
}

/// A required Int64 column from unsigned Rust values (`u64` or `u32`), checked: a value
/// above `i64::MAX` is an error naming the column.
pub fn int64s<T: TryInto<i64> + Copy + std::fmt::Display>(
    name: &str,
    values: impl Iterator<Item = T>,
) -> Result<ArrayRef, String> {
    int64_array(name, values).map_err(|e| e.to_string())
}

/// A nullable Int64 column from unsigned Rust values, checked like [`int64s`].
pub fn int64_opt<T: TryInto<i64> + Copy + std::fmt::Display>(
    name: &str,
    values: impl Iterator<Item = Option<T>>,
) -> Result<ArrayRef, String> {
    int64_array_opt(name, values).map_err(|e| e.to_string())
}

/// A required Float64 column.
pub fn f64s(values: impl Iterator<Item = f64>) -> ArrayRef {
    Arc::new(Float64Array::from_iter_values(values))
}

/// A nullable Float64 column.
pub fn f64_opt(values: impl Iterator<Item = Option<f64>>) -> ArrayRef {
    Arc::new(values.collect::<Float64Array>())
}

/// A required Boolean column.
pub fn bools(values: impl Iterator<Item = bool>) -> ArrayRef {
    Arc::new(BooleanArray::from(values.collect::<Vec<bool>>()))
}

/// A nullable Boolean column.
pub fn bools_opt(values: impl Iterator<Item = Option<bool>>) -> ArrayRef {
    Arc::new(values.collect::<BooleanArray>())
}

/// A nullable millisecond UTC timestamp column.
pub fn timestamps_opt(values: impl Iterator<Item = Option<i64>>) -> ArrayRef {
    Arc::new(
        values
            .collect::<TimestampMillisecondArray>()
            .with_timezone("UTC"),
    )
}

/// A required `list<float32>` column (eigenvectors, θ).
pub fn f32_lists<'a>(values: impl Iterator<Item = &'a [f32]> + Clone) -> ArrayRef {
    f32_list_array(values)
}

/// Reads column `name` as `T` through its [`ColumnValue`] impl, the error as text.
fn read<K, T: ColumnValue<K>>(batch: &RecordBatch, name: &str) -> Result<Vec<T>, String> {
    T::from_array(batch, name).map_err(|e| e.to_string())
}

/// Reads a required text column (an error names the column).
pub fn col_utf8(batch: &RecordBatch, name: &str) -> Result<Vec<String>, String> {
    read::<kind::Utf8, _>(batch, name)
}

/// Reads a nullable text column.
pub fn col_utf8_opt(batch: &RecordBatch, name: &str) -> Result<Vec<Option<String>>, String> {
    read::<kind::Utf8, _>(batch, name)
}

/// Reads a required Int64 column into unsigned Rust values (`u64` or `u32`), checked: a
/// negative value, or one beyond the type, is an error naming the column.
pub fn col_int<T: TryFrom<i64>>(batch: &RecordBatch, name: &str) -> Result<Vec<T>, String> {
    read_int(batch, name).map_err(|e| e.to_string())
}

/// Reads a nullable Int64 column into unsigned Rust values, checked like [`col_int`].
pub fn col_int_opt<T: TryFrom<i64>>(
    batch: &RecordBatch,
    name: &str,
) -> Result<Vec<Option<T>>, String> {
    read_int_opt(batch, name).map_err(|e| e.to_string())
}

/// Reads a required Int64 column as `u64` (see [`col_int`]).
pub fn col_u64(batch: &RecordBatch, name: &str) -> Result<Vec<u64>, String> {
    col_int(batch, name)
}

/// Reads a nullable Int64 column as `u64` (see [`col_int_opt`]).
pub fn col_u64_opt(batch: &RecordBatch, name: &str) -> Result<Vec<Option<u64>>, String> {
    col_int_opt(batch, name)
}

/// Reads a required Int64 column as `u32` (see [`col_int`]).
pub fn col_u32(batch: &RecordBatch, name: &str) -> Result<Vec<u32>, String> {
    col_int(batch, name)
}

/// Reads a nullable Int64 column as `u32` (see [`col_int_opt`]).
pub fn col_u32_opt(batch: &RecordBatch, name: &str) -> Result<Vec<Option<u32>>, String> {
    col_int_opt(batch, name)
}

/// Reads a required Float64 column.
pub fn col_f64(batch: &RecordBatch, name: &str) -> Result<Vec<f64>, String> {
    read::<kind::Float64, _>(batch, name)
}

/// Reads a nullable Float64 column.
pub fn col_f64_opt(batch: &RecordBatch, name: &str) -> Result<Vec<Option<f64>>, String> {
    read::<kind::Float64, _>(batch, name)
}

/// Reads a required Boolean column.
pub fn col_bool(batch: &RecordBatch, name: &str) -> Result<Vec<bool>, String> {
    read::<kind::Boolean, _>(batch, name)
}

/// Reads a nullable Boolean column.
pub fn col_bool_opt(batch: &RecordBatch, name: &str) -> Result<Vec<Option<bool>>, String> {
    read::<kind::Boolean, _>(batch, name)
}

/// Reads a nullable timestamp column as Unix milliseconds.
pub fn col_timestamp_opt(batch: &RecordBatch, name: &str) -> Result<Vec<Option<i64>>, String> {
    read::<kind::TimestampMsUtc, _>(batch, name)
}

/// Reads a required `list<float32>` column.
pub fn col_f32_lists(batch: &RecordBatch, name: &str) -> Result<Vec<Vec<f32>>, String> {
    read::<kind::ListFloat32, _>(batch, name)
}

/// Checks a file's Arrow schema against the table's columns: every declared column must be
/// there with its type (extra columns are ignored, so that a later format may add some).
pub(crate) fn check_schema<R: Row>(schema: &Schema) -> Result<(), OutputError> {
    for column in R::columns() {
        let field = match schema.field_with_name(column.name) {
            Ok(field) => field,
            Err(_) if column.absent_is_null => continue,
            Err(_) => {
                return Err(OutputError::MissingColumn {
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
            return Err(OutputError::ColumnType {
                column: column.name.to_string(),
                found: field.data_type().to_string(),
                expected: column.ty.data_type().to_string(),
            });
        }
        if field.is_nullable() && !column.nullable {
            return Err(OutputError::NullableColumn {
                column: column.name.to_string(),
            });
        }
    }
    Ok(())
}
