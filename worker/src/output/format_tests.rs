//! Tests of the format versions: format-1 files (unsigned integers) read like current ones,
//! through typed rows and projections; newer versions and values that do not fit are errors
//! naming the file and the column.

use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{Int64Type, UInt32Type, UInt64Type};
use arrow_array::{Array, ArrayRef, Int64Array, RecordBatch, UInt64Array};
use arrow_schema::{DataType, Field, Schema};
use parquet::arrow::ArrowWriter;
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;

use super::format::FormatVersion;
use super::schema::{FORMAT_VERSION_KEY, TABLE_KEY};
use super::tests::{
    assert_same, baseline_rows, file_names, metrics, run_records, snapshots_with_edge_cases,
};
use super::*;
use crate::WorkerError;

/// Writes `batch` as a Parquet file whose metadata says it holds `table` in format `version`.
fn write_raw(path: &Path, batch: &RecordBatch, table: &str, version: &str) {
    let props = WriterProperties::builder()
        .set_key_value_metadata(Some(vec![
            KeyValue::new(TABLE_KEY.to_string(), table.to_string()),
            KeyValue::new(FORMAT_VERSION_KEY.to_string(), version.to_string()),
        ]))
        .build();
    let mut writer =
        ArrowWriter::try_new(File::create(path).unwrap(), batch.schema(), Some(props)).unwrap();
    writer.write(batch).unwrap();
    writer.close().unwrap();
}

/// The batch of `rows` in the layout of format 1, as eigensweep wrote it before format 2:
/// every integer `UInt64`, except the columns in `u32_columns` (`UInt32`); in the runs table
/// no `network` column, a baseline task's network number in its (required) `seed`.
fn format_1_batch<R: Row>(rows: &[R], u32_columns: &[&str]) -> RecordBatch {
    let batch = R::to_batch(rows).unwrap();
    let runs = R::TABLE == "runs";
    let mut fields = Vec::new();
    let mut columns: Vec<ArrayRef> = Vec::new();
    for (field, column) in batch.schema().fields().iter().zip(batch.columns()) {
        let name = field.name().as_str();
        if runs && name == "network" {
            continue;
        }
        let mut column = Arc::clone(column);
        let mut field = field.as_ref().clone();
        if runs && name == "seed" {
            let network = batch
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
            field = field.with_nullable(false);
        }
        if column.data_type() == &DataType::Int64 {
            let ints = column.as_primitive::<Int64Type>();
            if u32_columns.contains(&name) {
                column = Arc::new(ints.unary::<_, UInt32Type>(|v| v as u32));
                field = field.with_data_type(DataType::UInt32);
            } else {
                column = Arc::new(ints.unary::<_, UInt64Type>(|v| v as u64));
                field = field.with_data_type(DataType::UInt64);
            }
        }
        fields.push(field);
        columns.push(column);
    }
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).unwrap()
}

fn write_format_1<R: Row>(path: &Path, rows: &[R], u32_columns: &[&str]) {
    write_raw(path, &format_1_batch(rows, u32_columns), R::TABLE, "1");
}

#[test]
fn format_1_tables_read_like_current_ones() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let snapshots = snapshots_with_edge_cases();
    write_format_1(&d.join("s.parquet"), &snapshots, &["index", "products"]);
    assert_same(
        &snapshots,
        &read_table::<SnapshotRow>(&d.join("s.parquet")).unwrap(),
    );
    write_format_1(&d.join("m.parquet"), &metrics(), &[]);
    assert_same(
        &metrics(),
        &read_table::<MetricRow>(&d.join("m.parquet")).unwrap(),
    );
    let weights = vec![WeightRow {
        run_key: "r".into(),
        step: 7,
        theta: vec![1.0, -2.0],
    }];
    write_format_1(&d.join("w.parquet"), &weights, &[]);
    assert_same(
        &weights,
        &read_table::<WeightRow>(&d.join("w.parquet")).unwrap(),
    );
    let baseline = baseline_rows();
    write_format_1(
        &d.join("b.parquet"),
        &baseline,
        &["network", "index", "products"],
    );
    assert_same(
        &baseline,
        &read_table::<BaselineRow>(&d.join("b.parquet")).unwrap(),
    );
    // The runs table: the baseline task's network number moves from `seed` to `network`.
    let runs = run_records();
    write_format_1(&d.join("r.parquet"), &runs, &["rank"]);
    let stored = read_schema(&d.join("r.parquet")).unwrap();
    assert!(stored.field_with_name("network").is_err());
    assert_eq!(
        stored.field_with_name("seed").unwrap().data_type(),
        &DataType::UInt64
    );
    let back = read_run_records(&d.join("r.parquet")).unwrap();
    assert_same(&runs, &back);
    assert_eq!(back[1].kind, "baseline");
    assert_eq!(
        (back[1].seed, back[1].network),
        (None, Some(i64::MAX as u64))
    );
    assert_eq!((back[0].seed, back[0].network), (Some(0), None));
    // Reading converts in memory only: the files are as they were.
    assert_eq!(
        file_names(d),
        [
            "b.parquet",
            "m.parquet",
            "r.parquet",
            "s.parquet",
            "w.parquet"
        ]
    );
}

#[test]
fn format_1_parts_read_through_a_projection_as_int64() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("part-00000.parquet");
    write_format_1(&path, &snapshots_with_edge_cases(), &["index", "products"]);
    let file = TableFile::open(&path).unwrap();
    assert_eq!(file.version(), FormatVersion::V1);
    assert_eq!(file.table(), "snapshots");
    for name in ["step", "index", "products"] {
        assert_eq!(
            file.schema().field_with_name(name).unwrap().data_type(),
            &DataType::Int64,
            "{name}"
        );
    }
    let batches = file.read(Some(&["index", "step"])).unwrap();
    let batch = &batches[0];
    assert_eq!(batch.num_columns(), 2);
    let steps = batch
        .column_by_name("step")
        .unwrap()
        .as_primitive::<Int64Type>();
    assert_eq!(steps.values()[0], 100);
    assert_eq!(steps.values()[4], i64::MAX);
    let index = batch
        .column_by_name("index")
        .unwrap()
        .as_primitive::<Int64Type>();
    assert_eq!(&index.values()[..3], &[1, 2, 3]);

    // The runs table converts whole, then projects.
    let runs = dir.path().join("runs.parquet");
    write_format_1(&runs, &run_records(), &["rank"]);
    let batch = &TableFile::open(&runs)
        .unwrap()
        .read(Some(&["network", "seed"]))
        .unwrap()[0];
    let names: Vec<String> = batch
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    assert_eq!(names, ["network", "seed"]);
    let network = batch.column(0).as_primitive::<Int64Type>();
    assert_eq!(
        network.iter().collect::<Vec<_>>(),
        [None, Some(i64::MAX), None]
    );
    let seed = batch.column(1).as_primitive::<Int64Type>();
    assert_eq!(seed.iter().collect::<Vec<_>>(), [Some(0), None, Some(3)]);
}

#[test]
fn a_format_1_value_above_i64_max_is_an_error_naming_the_file_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("part-00000.parquet");
    let weights = vec![WeightRow {
        run_key: "r".into(),
        step: 1,
        theta: vec![0.5],
    }];
    let batch = format_1_batch(&weights, &[]);
    let mut columns = batch.columns().to_vec();
    columns[1] = Arc::new(UInt64Array::from(vec![u64::MAX]));
    let batch = RecordBatch::try_new(batch.schema(), columns).unwrap();
    write_raw(&path, &batch, "weights", "1");
    let msg = read_weight_rows(dir.path()).unwrap_err().to_string();
    assert!(msg.contains("part-00000.parquet"), "{msg}");
    assert!(
        msg.contains("`step`") && msg.contains(&u64::MAX.to_string()),
        "{msg}"
    );
}

#[test]
fn a_newer_format_version_is_refused_naming_the_file_and_both_versions() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("part-00000.parquet");
    let batch = SnapshotRow::to_batch(&snapshots_with_edge_cases()).unwrap();
    write_raw(&path, &batch, "snapshots", "3");
    for err in [
        read_snapshot_rows(dir.path()).unwrap_err(),
        TableFile::open(&path).err().unwrap(),
    ] {
        let msg = err.to_string();
        assert!(matches!(err, WorkerError::FormatVersion { .. }), "{msg}");
        assert!(
            msg.starts_with("reading ") && msg.contains("part-00000.parquet"),
            "{msg}"
        );
        assert!(msg.contains("version \"3\""), "{msg}");
        assert!(msg.contains("reads versions 2 and 1"), "{msg}");
    }
    // No version at all: not an eigensweep table.
    let props = WriterProperties::builder()
        .set_key_value_metadata(Some(vec![KeyValue::new(
            TABLE_KEY.to_string(),
            "snapshots".to_string(),
        )]))
        .build();
    let mut w =
        ArrowWriter::try_new(File::create(&path).unwrap(), batch.schema(), Some(props)).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
    let msg = read_snapshot_rows(dir.path()).unwrap_err().to_string();
    assert!(msg.contains("eigensweep.format_version"), "{msg}");
}

#[test]
fn an_integer_above_i64_max_is_not_written() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("part-00000.parquet");
    let mut rows = snapshots_with_edge_cases();
    rows[0].step = i64::MAX as u64 + 1;
    let msg = write_table_atomically(&path, &rows)
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("`step`") && msg.contains(&(i64::MAX as u64 + 1).to_string()),
        "{msg}"
    );
    assert!(file_names(dir.path()).is_empty());
    let mut runs = run_records();
    runs[0].seed = Some(u64::MAX);
    let msg = write_table_atomically(&path, &runs)
        .unwrap_err()
        .to_string();
    assert!(msg.contains("`seed`"), "{msg}");
}

#[test]
fn a_negative_integer_is_not_read_into_an_unsigned_field() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("part-00000.parquet");
    let weights = vec![WeightRow {
        run_key: "r".into(),
        step: 1,
        theta: vec![0.5],
    }];
    let batch = WeightRow::to_batch(&weights).unwrap();
    let mut columns = batch.columns().to_vec();
    columns[1] = Arc::new(Int64Array::from(vec![-1]));
    let batch = RecordBatch::try_new(batch.schema(), columns).unwrap();
    write_raw(&path, &batch, "weights", "2");
    let msg = read_weight_rows(dir.path()).unwrap_err().to_string();
    assert!(msg.contains("`step`") && msg.contains("-1"), "{msg}");
}

#[test]
fn a_field_named_like_a_column_keeps_its_description_when_converted() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.parquet");
    write_format_1(&path, &run_records(), &["rank"]);
    let schema = TableFile::open(&path).unwrap().schema().clone();
    let network: &Field = schema.field_with_name("network").unwrap();
    assert!(network.is_nullable());
    assert!(network.metadata().contains_key("description"));
    let seed = schema.field_with_name("seed").unwrap();
    assert!(seed.is_nullable() && seed.data_type() == &DataType::Int64);
}
