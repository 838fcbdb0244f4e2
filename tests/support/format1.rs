//! Outputs of table format 1, as eigensweep wrote them before issue 11 (integers unsigned, the
//! runs table's baseline network number in `seed`), made from a format-2 output for the tests
//! that read old outputs (`format_cli`, `state_cli`).

use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{Int64Type, UInt32Type, UInt64Type};
use arrow_array::{Array, ArrayRef, Int64Array, RecordBatch};
use arrow_schema::{DataType, Schema};
use eigensweep_worker::output::format::FormatVersion;
use eigensweep_worker::output::TableFile;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ArrowWriter;
use parquet::file::properties::WriterProperties;

use super::stop::file_paths;

/// The columns format 1 stored as UInt32 (the others were UInt64).
pub fn format_1_u32(table: &str, column: &str) -> bool {
    matches!(
        column,
        "index" | "products" | "rank" | "k" | "sharpness_iterations"
    ) || (table == "baseline" && column == "network")
}

/// Rewrites a table file in the layout of format 1: integers unsigned, the runs table's
/// baseline network number in `seed` (no `network` column), version "1" in the metadata.
pub fn rewrite_as_format_1(path: &Path) {
    let builder = ParquetRecordBatchReaderBuilder::try_new(File::open(path).unwrap()).unwrap();
    let kv: Vec<_> = builder
        .metadata()
        .file_metadata()
        .key_value_metadata()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|kv| kv.key != "eigensweep.column.network")
        .map(|mut kv| {
            if kv.key == "eigensweep.format_version" {
                kv.value = Some("1".into());
            }
            kv
        })
        .collect();
    let table = kv
        .iter()
        .find(|kv| kv.key == "eigensweep.table")
        .and_then(|kv| kv.value.clone())
        .unwrap();
    let runs = table == "runs";
    let fields: Vec<_> = builder
        .schema()
        .fields()
        .iter()
        .filter(|f| !(runs && f.name() == "network"))
        .map(|f| {
            let mut f = f.as_ref().clone();
            if f.data_type() == &DataType::Int64 {
                let ty = if format_1_u32(&table, f.name()) {
                    DataType::UInt32
                } else {
                    DataType::UInt64
                };
                f = f.with_data_type(ty);
            }
            if runs && f.name() == "seed" {
                f = f.with_nullable(false);
            }
            f
        })
        .collect();
    let schema = Arc::new(Schema::new(fields));
    let batches: Vec<RecordBatch> = builder
        .build()
        .unwrap()
        .map(|b| {
            let b = b.unwrap();
            let mut columns: Vec<ArrayRef> = Vec::new();
            for (field, column) in b.schema().fields().iter().zip(b.columns()) {
                let name = field.name().as_str();
                if runs && name == "network" {
                    continue;
                }
                let mut column = Arc::clone(column);
                if runs && name == "seed" {
                    let network = b
                        .column_by_name("network")
                        .unwrap()
                        .as_primitive::<Int64Type>();
                    let seed = column.as_primitive::<Int64Type>();
                    let folded: Int64Array = (0..seed.len())
                        .map(|i| {
                            Some(if seed.is_valid(i) {
                                seed.value(i)
                            } else {
                                network.value(i)
                            })
                        })
                        .collect();
                    column = Arc::new(folded);
                }
                if column.data_type() == &DataType::Int64 {
                    let ints = column.as_primitive::<Int64Type>();
                    column = if format_1_u32(&table, name) {
                        Arc::new(ints.unary::<_, UInt32Type>(|v| v as u32))
                    } else {
                        Arc::new(ints.unary::<_, UInt64Type>(|v| v as u64))
                    };
                }
                columns.push(column);
            }
            RecordBatch::try_new(Arc::clone(&schema), columns).unwrap()
        })
        .collect();
    let props = WriterProperties::builder()
        .set_key_value_metadata(Some(kv))
        .build();
    let mut writer = ArrowWriter::try_new(
        File::create(path).unwrap(),
        Arc::clone(&schema),
        Some(props),
    )
    .unwrap();
    for b in &batches {
        writer.write(b).unwrap();
    }
    writer.close().unwrap();
}

/// Rewrites every table (Parquet file) of the output `out` in format 1.
pub fn rewrite_tables_as_format_1(out: &Path) {
    for path in file_paths(out) {
        if path.extension().is_some_and(|e| e == "parquet") {
            rewrite_as_format_1(&path);
        }
    }
}

/// The table format version a Parquet file of eigensweep's says it is in.
pub fn version(path: &Path) -> FormatVersion {
    TableFile::open(path).unwrap().version()
}
