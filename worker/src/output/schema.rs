//! What the tables share: column declarations, the Arrow schema built from them (with a
//! description per field), the table-level metadata, the Parquet writer settings, and small
//! helpers to build and take apart Arrow columns.
//!
//! Each table declares its columns once as a `&'static [ColumnSpec]`; the schema, the
//! metadata and the README's column tables can all be generated from that list.

use std::collections::HashMap;
use std::sync::Arc;

use arrow_array::{
    Array, ArrayRef, BooleanArray, Float32Array, Float64Array, Int64Array, ListArray, RecordBatch,
    StringArray, TimestampMillisecondArray,
};
use arrow_buffer::OffsetBuffer;
use arrow_schema::{DataType, Field, FieldRef, Schema, SchemaRef, TimeUnit};
use eigensweep_common::provenance::Provenance;
use parquet::basic::Compression;
use parquet::file::metadata::KeyValue;
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::schema::types::ColumnPath;

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

/// The `run_key` column every per-run table starts with.
pub const RUN_KEY_COLUMN: ColumnSpec = ColumnSpec::required(
    "run_key",
    ColumnType::Utf8,
    "Key of the run: hash of its fully resolved configuration; joins `key` in runs.parquet.",
);

/// The `step` column of the per-snapshot statistics' tables (trace, density, preconditioned).
pub const SNAPSHOT_STEP_COLUMN: ColumnSpec = ColumnSpec::required(
    "step",
    ColumnType::Int64,
    "Training step of the snapshot (θ after this many updates); joins `step` in the snapshots table.",
);

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

/// A row type that is stored as one Parquet table.
pub trait TableRow: Sized {
    /// Table name, stored under [`TABLE_KEY`] and checked on reading.
    const TABLE: &'static str;
    /// One sentence on what a row is, stored under [`TABLE_DESCRIPTION_KEY`].
    const DESCRIPTION: &'static str;
    /// The columns, in file order; names equal the Rust field names.
    fn columns() -> &'static [ColumnSpec];
    /// Builds the Arrow columns for `rows`, in the order of [`Self::columns`]; fails (naming
    /// the column) only for an integer above `i64::MAX`.
    fn to_arrays(rows: &[Self]) -> Result<Vec<ArrayRef>, String>;
    /// Takes a batch (whose schema has been checked against [`Self::columns`]) apart.
    fn from_batch(batch: &RecordBatch) -> Result<Vec<Self>, String>;

    /// The Arrow schema: the columns with their descriptions. The table-level metadata is
    /// kept out of it on purpose (it goes to the Parquet key-value metadata in a fixed order,
    /// whereas Arrow's schema metadata is a hash map whose order would vary between runs).
    fn schema() -> SchemaRef {
        Arc::new(Schema::new(
            Self::columns()
                .iter()
                .map(|c| c.field())
                .collect::<Vec<_>>(),
        ))
    }

    /// Builds a record batch for `rows`.
    fn to_batch(rows: &[Self]) -> Result<RecordBatch, String> {
        RecordBatch::try_new(Self::schema(), Self::to_arrays(rows)?).map_err(|e| e.to_string())
    }
}

/// The Parquet key-value metadata of a table, in a fixed order: table name, format version,
/// table description, then one entry per column.
pub fn table_metadata<R: TableRow>() -> Vec<KeyValue> {
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
pub fn writer_properties<R: TableRow>() -> WriterProperties {
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
// Building and reading columns: shared by every crate that defines a table (the analysis and
// report tables use them too), so that all tables treat types and nulls alike.

/// A required text column.
pub fn utf8<'a>(values: impl Iterator<Item = &'a str>) -> ArrayRef {
    Arc::new(StringArray::from_iter_values(values))
}

/// A nullable text column.
pub fn utf8_opt<'a>(values: impl Iterator<Item = Option<&'a str>>) -> ArrayRef {
    Arc::new(values.collect::<StringArray>())
}

/// One integer stored as `Int64`, or an error naming column `name` and the value.
fn to_i64<T: TryInto<i64> + Copy + std::fmt::Display>(name: &str, value: T) -> Result<i64, String> {
    value.try_into().map_err(|_| {
        format!(
            "column `{name}`: {value} does not fit a signed 64-bit integer (at most {})",
            i64::MAX
        )
    })
}

/// A required Int64 column from unsigned Rust values (`u64` or `u32`), checked: a value
/// above `i64::MAX` is an error naming the column.
pub fn int64s<T: TryInto<i64> + Copy + std::fmt::Display>(
    name: &str,
    values: impl Iterator<Item = T>,
) -> Result<ArrayRef, String> {
    let values = values
        .map(|v| to_i64(name, v))
        .collect::<Result<Vec<i64>, String>>()?;
    Ok(Arc::new(Int64Array::from(values)))
}

/// A nullable Int64 column from unsigned Rust values, checked like [`int64s`].
pub fn int64_opt<T: TryInto<i64> + Copy + std::fmt::Display>(
    name: &str,
    values: impl Iterator<Item = Option<T>>,
) -> Result<ArrayRef, String> {
    let values = values
        .map(|v| v.map(|v| to_i64(name, v)).transpose())
        .collect::<Result<Int64Array, String>>()?;
    Ok(Arc::new(values))
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
    let offsets = OffsetBuffer::from_lengths(values.clone().map(<[f32]>::len));
    let items = Float32Array::from_iter_values(values.flat_map(|v| v.iter().copied()));
    Arc::new(ListArray::new(
        list_item_field(),
        offsets,
        Arc::new(items),
        None,
    ))
}

// ---------------------------------------------------------------------------------------
// Taking columns apart. Every function checks type and nulls and says which column failed.

fn typed<'a, T: Array + 'static>(batch: &'a RecordBatch, name: &str) -> Result<&'a T, String> {
    let column = batch
        .column_by_name(name)
        .ok_or_else(|| format!("missing column `{name}`"))?;
    column.as_any().downcast_ref::<T>().ok_or_else(|| {
        format!(
            "column `{name}` has type {}, expected {}",
            column.data_type(),
            std::any::type_name::<T>()
                .rsplit("::")
                .next()
                .unwrap_or("?")
        )
    })
}

fn no_nulls(array: &dyn Array, name: &str) -> Result<(), String> {
    if array.null_count() > 0 {
        Err(format!(
            "column `{name}` has {} null values but is required",
            array.null_count()
        ))
    } else {
        Ok(())
    }
}

/// Reads a required text column (an error names the column).
pub fn col_utf8(batch: &RecordBatch, name: &str) -> Result<Vec<String>, String> {
    let a = typed::<StringArray>(batch, name)?;
    no_nulls(a, name)?;
    Ok(a.iter()
        .map(|v| v.unwrap_or_default().to_string())
        .collect())
}

/// Reads a nullable text column.
pub fn col_utf8_opt(batch: &RecordBatch, name: &str) -> Result<Vec<Option<String>>, String> {
    let a = typed::<StringArray>(batch, name)?;
    Ok(a.iter().map(|v| v.map(str::to_string)).collect())
}

/// One stored integer as the Rust field's type, or an error naming the column and the value
/// (a negative step, or an index beyond `u32`, is not silently wrapped).
fn from_i64<T: TryFrom<i64>>(name: &str, value: i64) -> Result<T, String> {
    T::try_from(value).map_err(|_| {
        format!(
            "column `{name}` holds {value}, outside the range of {}",
            std::any::type_name::<T>()
        )
    })
}

/// Reads a required Int64 column into unsigned Rust values (`u64` or `u32`), checked.
pub fn col_int<T: TryFrom<i64>>(batch: &RecordBatch, name: &str) -> Result<Vec<T>, String> {
    let a = typed::<Int64Array>(batch, name)?;
    no_nulls(a, name)?;
    a.values().iter().map(|&v| from_i64(name, v)).collect()
}

/// Reads a nullable Int64 column into unsigned Rust values, checked like [`col_int`].
pub fn col_int_opt<T: TryFrom<i64>>(
    batch: &RecordBatch,
    name: &str,
) -> Result<Vec<Option<T>>, String> {
    typed::<Int64Array>(batch, name)?
        .iter()
        .map(|v| v.map(|v| from_i64(name, v)).transpose())
        .collect()
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
    let a = typed::<Float64Array>(batch, name)?;
    no_nulls(a, name)?;
    Ok(a.values().to_vec())
}

/// Reads a nullable Float64 column.
pub fn col_f64_opt(batch: &RecordBatch, name: &str) -> Result<Vec<Option<f64>>, String> {
    Ok(typed::<Float64Array>(batch, name)?.iter().collect())
}

/// Reads a required Boolean column.
pub fn col_bool(batch: &RecordBatch, name: &str) -> Result<Vec<bool>, String> {
    let a = typed::<BooleanArray>(batch, name)?;
    no_nulls(a, name)?;
    Ok(a.values().iter().collect())
}

/// Reads a nullable Boolean column.
pub fn col_bool_opt(batch: &RecordBatch, name: &str) -> Result<Vec<Option<bool>>, String> {
    Ok(typed::<BooleanArray>(batch, name)?.iter().collect())
}

/// Reads a nullable timestamp column as Unix milliseconds.
pub fn col_timestamp_opt(batch: &RecordBatch, name: &str) -> Result<Vec<Option<i64>>, String> {
    Ok(typed::<TimestampMillisecondArray>(batch, name)?
        .iter()
        .collect())
}

/// Reads a required `list<float32>` column.
pub fn col_f32_lists(batch: &RecordBatch, name: &str) -> Result<Vec<Vec<f32>>, String> {
    let a = typed::<ListArray>(batch, name)?;
    no_nulls(a, name)?;
    let items = a
        .values()
        .as_any()
        .downcast_ref::<Float32Array>()
        .ok_or_else(|| format!("column `{name}` is not a list of float32"))?;
    no_nulls(items, name)?;
    let values = items.values();
    let offsets = a.value_offsets();
    Ok(offsets
        .windows(2)
        .map(|w| values[w[0] as usize..w[1] as usize].to_vec())
        .collect())
}

/// Checks a file's Arrow schema against the table's columns: every declared column must be
/// there with its type (extra columns are ignored, so that a later format may add some).
pub(crate) fn check_schema<R: TableRow>(schema: &Schema) -> Result<(), String> {
    for column in R::columns() {
        let field = match schema.field_with_name(column.name) {
            Ok(field) => field,
            Err(_) if column.absent_is_null => continue,
            Err(_) => return Err(format!("missing column `{}`", column.name)),
        };
        let type_ok = match (column.ty, field.data_type()) {
            // Any item name and nullability: other writers call the item "element".
            (ColumnType::ListFloat32, DataType::List(item)) => {
                item.data_type() == &DataType::Float32
            }
            (ty, found) => found == &ty.data_type(),
        };
        if !type_ok {
            return Err(format!(
                "column `{}` has type {}, expected {}",
                column.name,
                field.data_type(),
                column.ty.data_type()
            ));
        }
        if field.is_nullable() && !column.nullable {
            return Err(format!(
                "column `{}` is nullable but should be required",
                column.name
            ));
        }
    }
    Ok(())
}
