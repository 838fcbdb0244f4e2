//! The format versions of the tables, and how a table of an earlier version is brought to the
//! current layout as it is read, so that every reader (the typed rows of [`super::read_table`],
//! the projected columns of the analysis and the report) sees one layout.
//!
//! | version | layout |
//! |---|---|
//! | 1 | integers (steps, lags, seeds, indices, counts) as `UInt64` / `UInt32` (DuckDB `UBIGINT` / `UINTEGER`); a baseline task's network number in the runs table's `seed` |
//! | 2 | every integer `Int64` (DuckDB `BIGINT`); the runs table names a baseline task's network in `network` and leaves its `seed` null |
//!
//! A version-1 file is converted on reading: each unsigned column becomes `Int64` (checked: a
//! value above `i64::MAX` is an error naming the file and the column, never a wrapped
//! number), and in the runs table a baseline row's `seed` moves to `network`. Nothing is
//! rewritten on disk. A version this build does not know (a newer one) is refused.

use std::path::Path;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{Int64Type, UInt16Type, UInt32Type, UInt64Type, UInt8Type};
use arrow_array::{Array, ArrayRef, Int64Array, RecordBatch, RecordBatchOptions, StringArray};
use arrow_schema::{DataType, Field, FieldRef, Schema, SchemaRef};

use super::runs::RunRecord;
use super::schema::{FORMAT_VERSION, FORMAT_VERSION_KEY};
use super::table::Row;
use crate::WorkerError;

/// The first format version: unsigned integer columns. Still read.
pub const FORMAT_VERSION_1: &str = "1";

/// A format version this build reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormatVersion {
    /// [`FORMAT_VERSION`]: read as it is.
    Current,
    /// [`FORMAT_VERSION_1`]: converted on reading.
    V1,
}

impl FormatVersion {
    /// The version of a file from its schema metadata; an unknown or missing version is an
    /// error naming the file, the version found and the versions this build reads.
    pub fn of(path: &Path, schema: &Schema) -> Result<Self, WorkerError> {
        match schema
            .metadata()
            .get(FORMAT_VERSION_KEY)
            .map(String::as_str)
        {
            Some(FORMAT_VERSION) => Ok(FormatVersion::Current),
            Some(FORMAT_VERSION_1) => Ok(FormatVersion::V1),
            found => Err(WorkerError::FormatVersion {
                path: path.to_path_buf(),
                found: found.map(str::to_string),
            }),
        }
    }

    /// The version as written in the metadata.
    pub fn as_str(self) -> &'static str {
        match self {
            FormatVersion::Current => FORMAT_VERSION,
            FormatVersion::V1 => FORMAT_VERSION_1,
        }
    }
}

/// The schema a reader of this build sees for a file of `version` holding `table`: the
/// file's own for the current version; for version 1, unsigned integers become `Int64` and
/// the runs table gains its nullable `network` column after `seed` (which becomes nullable).
/// Field and schema metadata are kept.
pub(crate) fn upgraded_schema(version: FormatVersion, table: &str, schema: &Schema) -> SchemaRef {
    if version == FormatVersion::Current {
        return Arc::new(schema.clone());
    }
    let moves_network = runs_needs_network(table, schema);
    let mut fields: Vec<FieldRef> = Vec::with_capacity(schema.fields().len() + 1);
    for field in schema.fields() {
        let mut f = field.as_ref().clone();
        if is_unsigned(f.data_type()) {
            f = f.with_data_type(DataType::Int64);
        }
        if moves_network && f.name() == "seed" {
            fields.push(Arc::new(f.with_nullable(true)));
            fields.push(Arc::new(network_field()));
        } else {
            fields.push(Arc::new(f));
        }
    }
    Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()))
}

/// Converts one batch read from a file of `version` to [`upgraded_schema`]'s layout.
pub(crate) fn upgrade_batch(
    version: FormatVersion,
    table: &str,
    batch: RecordBatch,
) -> Result<RecordBatch, String> {
    if version == FormatVersion::Current {
        return Ok(batch);
    }
    let schema = upgraded_schema(version, table, batch.schema().as_ref());
    let moves_network = runs_needs_network(table, batch.schema().as_ref());
    let mut columns: Vec<ArrayRef> = Vec::with_capacity(schema.fields().len());
    for (field, column) in batch.schema().fields().iter().zip(batch.columns()) {
        let column = to_int64(field.name(), column)?;
        if moves_network && field.name() == "seed" {
            let (seed, network) = split_baseline_seed(&batch, &column)?;
            columns.push(seed);
            columns.push(network);
        } else {
            columns.push(column);
        }
    }
    let options = RecordBatchOptions::new().with_row_count(Some(batch.num_rows()));
    RecordBatch::try_new_with_options(schema, columns, &options).map_err(|e| e.to_string())
}

fn is_unsigned(ty: &DataType) -> bool {
    matches!(
        ty,
        DataType::UInt8 | DataType::UInt16 | DataType::UInt32 | DataType::UInt64
    )
}

/// An unsigned column as `Int64`, checked; other columns as they are.
fn to_int64(name: &str, column: &ArrayRef) -> Result<ArrayRef, String> {
    let converted: Int64Array = match column.data_type() {
        DataType::UInt64 => column
            .as_primitive::<UInt64Type>()
            .try_unary::<_, Int64Type, String>(|v| {
                i64::try_from(v).map_err(|_| {
                    format!(
                        "column `{name}` holds {v}, which does not fit a signed 64-bit integer \
                         (at most {})",
                        i64::MAX
                    )
                })
            })?,
        DataType::UInt32 => column
            .as_primitive::<UInt32Type>()
            .unary::<_, Int64Type>(i64::from),
        DataType::UInt16 => column
            .as_primitive::<UInt16Type>()
            .unary::<_, Int64Type>(i64::from),
        DataType::UInt8 => column
            .as_primitive::<UInt8Type>()
            .unary::<_, Int64Type>(i64::from),
        _ => return Ok(Arc::clone(column)),
    };
    Ok(Arc::new(converted))
}

/// Whether a version-1 schema of `table` is the runs table still without `network`.
fn runs_needs_network(table: &str, schema: &Schema) -> bool {
    table == RunRecord::TABLE
        && schema.field_with_name("seed").is_ok()
        && schema.field_with_name("kind").is_ok()
        && schema.field_with_name("network").is_err()
}

/// The runs table's `network` field as version 2 declares it.
fn network_field() -> Field {
    RunRecord::columns()
        .iter()
        .find(|c| c.name == "network")
        .map(|c| c.field())
        .unwrap_or_else(|| Field::new("network", DataType::Int64, true))
}

/// Version 1 stored a baseline task's network number as its seed: `(seed, network)` with the
/// number moved to `network` on baseline rows and `seed` kept on runs.
fn split_baseline_seed(
    batch: &RecordBatch,
    seed: &ArrayRef,
) -> Result<(ArrayRef, ArrayRef), String> {
    let kind = batch
        .column_by_name("kind")
        .and_then(|k| k.as_any().downcast_ref::<StringArray>())
        .ok_or("column `kind` is not text")?;
    let seed = seed.as_primitive::<Int64Type>();
    let is_baseline = |i: usize| kind.is_valid(i) && kind.value(i) == "baseline";
    let value = |i: usize| seed.is_valid(i).then(|| seed.value(i));
    let runs: Int64Array = (0..seed.len())
        .map(|i| value(i).filter(|_| !is_baseline(i)))
        .collect();
    let networks: Int64Array = (0..seed.len())
        .map(|i| value(i).filter(|_| is_baseline(i)))
        .collect();
    Ok((Arc::new(runs), Arc::new(networks)))
}
