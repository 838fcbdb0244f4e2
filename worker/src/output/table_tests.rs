//! Tests of the table declarations: every table's columns documented in docs/OUTPUT.md, the
//! declarations consistent, and the typed errors of reading and writing.

use std::path::Path;
use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};
use arrow_schema::{Field, Schema};
use parquet::arrow::ArrowWriter;
use parquet::file::properties::WriterProperties;

use super::schema::{table_metadata, ColumnSpec};
use super::*;
use crate::WorkerError;

/// Every table this crate writes: (table, columns, the start of its row's first cell in
/// docs/OUTPUT.md's table of tables).
fn tables() -> Vec<(&'static str, &'static [ColumnSpec], String)> {
    fn run_table<R: Row>() -> (&'static str, &'static [ColumnSpec], String) {
        (
            R::TABLE,
            R::columns(),
            format!("/{}/part-*.parquet`", R::TABLE),
        )
    }
    vec![
        run_table::<SnapshotRow>(),
        run_table::<MetricRow>(),
        run_table::<WeightRow>(),
        run_table::<TraceRow>(),
        run_table::<PreconditionedRow>(),
        run_table::<DensityRow>(),
        (
            BaselineRow::TABLE,
            BaselineRow::columns(),
            "`OUT/baseline/dataset=D/part-*.parquet`".to_string(),
        ),
        (
            RunRecord::TABLE,
            RunRecord::columns(),
            "`OUT/runs.parquet`".to_string(),
        ),
    ]
}

/// docs/OUTPUT.md lists each table in one row of its table of tables, with every column
/// named in backticks: a column added to a declaration and not to the docs fails here.
#[test]
fn output_md_names_every_column_of_every_table() {
    let docs_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/OUTPUT.md");
    let docs = std::fs::read_to_string(&docs_path).unwrap();
    let tables = tables();
    assert_eq!(tables.len(), 8);
    let mut missing = Vec::new();
    for (table, columns, marker) in &tables {
        let rows: Vec<&str> = docs
            .lines()
            .filter(|l| {
                l.starts_with("| ")
                    && l.split(" | ")
                        .next()
                        .is_some_and(|cell| cell.contains(marker.as_str()))
            })
            .collect();
        assert_eq!(
            rows.len(),
            1,
            "`{table}`: no single row with {marker} in {docs_path:?}"
        );
        for column in columns.iter() {
            if !rows[0].contains(&format!("`{}`", column.name)) {
                missing.push(format!("{table}.{}", column.name));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "docs/OUTPUT.md does not name {missing:?}"
    );
}

/// Column names are unique within a table, every description says something, and a column
/// that older files may lack is nullable (it reads as null there).
#[test]
fn declarations_are_consistent() {
    for (table, columns, _) in tables() {
        let mut names: Vec<&str> = columns.iter().map(|c| c.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), columns.len(), "{table}: a column name repeats");
        for c in columns {
            assert!(c.description.len() > 10, "{table}.{}", c.name);
            assert!(!c.absent_is_null || c.nullable, "{table}.{}", c.name);
        }
    }
    // The struct-less declaration of the runs table maps renamed and nested fields.
    let names: Vec<&str> = RunRecord::columns().iter().map(|c| c.name).collect();
    assert_eq!(
        &names[names.len() - 6..],
        [
            "eigensweep_version",
            "git_commit",
            "build_features",
            "cpu",
            "earlier_provenance",
            "in_sweep"
        ]
    );
    let added: Vec<&str> = RunRecord::columns()
        .iter()
        .filter(|c| c.absent_is_null)
        .map(|c| c.name)
        .collect();
    assert_eq!(
        added,
        [
            "device",
            "eigensweep_version",
            "git_commit",
            "build_features",
            "cpu",
            "earlier_provenance",
            "in_sweep"
        ]
    );
    let nullable: Vec<&str> = MetricRow::columns()
        .iter()
        .filter(|c| c.nullable)
        .map(|c| c.name)
        .collect();
    assert_eq!(nullable.len(), 7, "{nullable:?}");
    assert!(!nullable.contains(&"step"));
}

/// The provenance columns of the runs table come from, and go back to, the nested
/// `RunProvenance` (`earlier_provenance` from its `earlier`).
#[test]
fn runs_table_round_trips_the_nested_provenance() {
    let record = RunRecord {
        key: "k".into(),
        kind: "run".into(),
        seed: Some(3),
        provenance: RunProvenance {
            git_commit: Some("abc".into()),
            earlier: Some("before step 4: x".into()),
            ..RunProvenance::default()
        },
        in_sweep: Some(false),
        ..RunRecord::default()
    };
    let batch = RunRecord::to_batch(std::slice::from_ref(&record)).unwrap();
    let column = |name: &str| {
        batch
            .column_by_name(name)
            .unwrap()
            .as_any()
            .downcast_ref::<StringArray>()
            .unwrap()
            .value(0)
            .to_string()
    };
    assert_eq!(column("earlier_provenance"), "before step 4: x");
    assert_eq!(column("git_commit"), "abc");
    assert_eq!(RunRecord::from_batch(&batch).unwrap(), vec![record]);
}

/// A column that files written before it existed lack reads as null; a required column that
/// is missing is an error naming it.
#[test]
fn an_added_column_reads_as_null_where_absent() {
    let record = RunRecord {
        key: "k".into(),
        device: Some("cpu".into()),
        in_sweep: Some(true),
        ..RunRecord::default()
    };
    let batch = RunRecord::to_batch(std::slice::from_ref(&record)).unwrap();
    let without = |names: &[&str]| {
        let keep: Vec<usize> = (0..batch.num_columns())
            .filter(|&i| !names.contains(&batch.schema().field(i).name().as_str()))
            .collect();
        batch.project(&keep).unwrap()
    };
    let rows = RunRecord::from_batch(&without(&["device", "in_sweep"])).unwrap();
    assert_eq!(rows[0].device, None);
    assert_eq!(rows[0].in_sweep, None);
    assert_eq!(rows[0].key, "k");
    let err = RunRecord::from_batch(&without(&["status"])).unwrap_err();
    assert!(
        matches!(&err, WorkerError::MissingColumn { column } if column == "status"),
        "{err:?}"
    );
}

/// The table errors are typed, and read as the `String` errors did: a value too large for
/// `Int64` while building, a null in a required column and a negative integer while reading
/// (the file named around them).
#[test]
fn column_errors_are_typed_and_name_the_column() {
    let row = TraceRow {
        run_key: "k".into(),
        step: u64::MAX,
        ..TraceRow::default()
    };
    let err = TraceRow::to_batch(&[row]).unwrap_err();
    assert!(
        matches!(err, WorkerError::IntegerOverflow { .. }),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        format!(
            "column `step`: {} does not fit a signed 64-bit integer (at most {})",
            u64::MAX,
            i64::MAX
        )
    );
    assert!(!err.is_reading());

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("part-00000.parquet");
    let err = write_table_atomically(
        &path,
        &[TraceRow {
            step: u64::MAX,
            ..TraceRow::default()
        }],
    )
    .unwrap_err();
    assert!(
        err.to_string().starts_with(&format!(
            "building the Arrow batch for {}: column `step`",
            path.display()
        )),
        "{err}"
    );
    assert!(!path.exists());

    // Batches whose schema says nullable where the table says required, so that only the
    // values can tell: a null `trace`, then a negative `step`.
    let fields: Vec<Field> = TraceRow::columns()
        .iter()
        .map(|c| c.field().with_nullable(true))
        .collect();
    let schema = Arc::new(Schema::new(fields));
    let batch = |step: i64, trace: Option<f64>| {
        let columns: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from(vec!["k"])),
            Arc::new(Int64Array::from(vec![step])),
            Arc::new(Float64Array::from(vec![trace])),
            Arc::new(Float64Array::from(vec![1.0])),
            Arc::new(Int64Array::from(vec![2])),
        ];
        RecordBatch::try_new(schema.clone(), columns).unwrap()
    };
    let err = TraceRow::from_batch(&batch(2, None)).unwrap_err();
    assert!(
        matches!(&err, WorkerError::NullValues { column, count: 1 } if column == "trace"),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "column `trace` has 1 null values but is required"
    );
    let err = TraceRow::from_batch(&batch(-1, Some(3.0))).unwrap_err();
    assert!(
        matches!(&err, WorkerError::ColumnOutOfRange { column, value: -1, .. } if column == "step"),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "column `step` holds -1, outside the range of u64"
    );
    assert!(err.is_reading());

    // The same as a file: its schema is refused before any value is read, naming the file.
    let props = WriterProperties::builder()
        .set_key_value_metadata(Some(table_metadata::<TraceRow>()))
        .build();
    let file = std::fs::File::create(&path).unwrap();
    let mut writer = ArrowWriter::try_new(file, schema.clone(), Some(props)).unwrap();
    writer.write(&batch(-1, None)).unwrap();
    writer.close().unwrap();
    let err = read_table::<TraceRow>(&path).unwrap_err();
    assert!(
        matches!(&err, WorkerError::Column { problem, .. }
            if matches!(**problem, WorkerError::NullableColumn { .. })),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        format!(
            "reading {}: column `run_key` is nullable but should be required",
            path.display()
        )
    );
    assert!(err.is_reading());
}
