//! Tests of the output tables: round trips, determinism, atomicity, resume helpers,
//! metadata, and (with the Python package) DuckDB reading the hive layout.

use std::fs;
use std::path::Path;
use std::process::Command;

use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::basic::Encoding;

use super::schema::{
    list_item_path, COLUMN_DESCRIPTION_PREFIX, CREATED_BY, FIELD_DESCRIPTION_KEY,
    FORMAT_VERSION_KEY, TABLE_DESCRIPTION_KEY, TABLE_KEY,
};
use super::*;
use crate::WorkerError;

/// Equality that treats NaN as equal to NaN and tells -0.0 from 0.0 (Debug prints floats
/// exactly).
pub(super) fn assert_same<T: std::fmt::Debug>(a: &[T], b: &[T]) {
    assert_eq!(a.len(), b.len(), "row counts differ");
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert_eq!(format!("{x:?}"), format!("{y:?}"), "row {i} differs");
    }
}

pub(super) fn file_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

pub(super) fn snapshot(run_key: &str, step: u64, index: u32, n: usize) -> SnapshotRow {
    let x = step as f64 + index as f64 / 10.0;
    SnapshotRow {
        run_key: run_key.to_string(),
        step,
        index,
        eigenvalue: 10.0 / index as f64 + x * 1e-3,
        residual: 1e-5 * x,
        converged: index % 2 == 1,
        products: 11 + index,
        ipr: 1.0 / (n.max(1) as f64),
        grad_alignment: 0.1 * index as f64,
        full_grad_alignment: 0.05 * index as f64,
        update_alignment: 0.2 / index as f64,
        eigenvector: (0..n)
            .map(|j| ((j as f32) * 0.37 + x as f32).sin())
            .collect(),
    }
}

pub(super) fn snapshots_with_edge_cases() -> Vec<SnapshotRow> {
    let mut rows: Vec<SnapshotRow> = (1..=3).map(|i| snapshot("run-a", 100, i, 50)).collect();
    // The final step: no next step, so the mini-batch and update alignments are NaN.
    let mut last = snapshot("run-a", 200, 1, 50);
    last.grad_alignment = f64::NAN;
    last.update_alignment = f64::NAN;
    rows.push(last);
    // An empty eigenvector, signed zero, infinities and extreme values survive.
    let mut odd = snapshot("run-a", 200, 2, 0);
    odd.eigenvalue = -0.0;
    odd.residual = f64::INFINITY;
    odd.full_grad_alignment = f64::NAN;
    odd.products = u32::MAX;
    // The largest step a signed 64-bit column holds.
    odd.step = i64::MAX as u64;
    rows.push(odd);
    let mut special = snapshot("run-a", 200, 3, 4);
    special.eigenvector = vec![f32::NAN, -0.0, f32::MIN_POSITIVE, f32::MAX];
    special.run_key = "ключ-ü".to_string();
    rows.push(special);
    rows
}

pub(super) fn metrics() -> Vec<MetricRow> {
    (0..20)
        .map(|step| {
            let eval = step % 5 == 0;
            MetricRow {
                run_key: "run-a".to_string(),
                step,
                batch_loss: (step < 19).then_some(2.3 - step as f64 * 0.01),
                grad_norm: (step < 19).then_some(1.0 + step as f64),
                update_norm: (step < 19).then_some(0.01 * step as f64),
                train_loss: eval.then_some(2.0 - step as f64 * 0.02),
                train_accuracy: eval.then_some(0.1 + step as f64 * 0.01),
                test_loss: if step == 10 {
                    Some(f64::NAN)
                } else {
                    eval.then_some(2.1)
                },
                test_accuracy: eval.then_some(0.5),
            }
        })
        .collect()
}

pub(super) fn baseline_rows() -> Vec<BaselineRow> {
    (0..3)
        .flat_map(|network| {
            (1..=2).map(move |index| BaselineRow {
                dataset: "mnist".to_string(),
                network,
                task_key: format!("baseline-{network}"),
                index,
                eigenvalue: 5.0 / index as f64 + network as f64,
                residual: 1e-6,
                converged: network != 1,
                products: 20,
                ipr: 0.01,
                eigenvector: if network == 2 {
                    Vec::new()
                } else {
                    vec![0.5, -0.5, 0.5, -0.5]
                },
            })
        })
        .collect()
}

pub(super) fn run_records() -> Vec<RunRecord> {
    vec![
        RunRecord {
            key: "abc123".to_string(),
            kind: "run".to_string(),
            dataset: "mnist".to_string(),
            optimizer: Some("sgd".to_string()),
            seed: Some(0),
            network: None,
            config_json: r#"{"lr":0.01,"steps":100}"#.to_string(),
            status: "done".to_string(),
            error: None,
            host: Some("node-1".to_string()),
            rank: Some(2),
            device: Some("cuda:0 (NVIDIA H200)".into()),
            start_time: Some(1_764_000_000_123),
            end_time: Some(1_764_000_100_456),
            steps_total: Some(100),
            snapshots_total: Some(5),
            steps_done: Some(100),
            snapshots_done: Some(5),
            wall_seconds: Some(100.333),
            checkpoint_time: Some(1_764_000_100_400),
            updated_time: Some(1_764_000_100_456),
            in_sweep: Some(false),
            provenance: RunProvenance::default(),
        },
        RunRecord {
            key: "def456".to_string(),
            kind: "baseline".to_string(),
            dataset: "mnist".to_string(),
            optimizer: None,
            seed: None,
            network: Some(i64::MAX as u64),
            config_json: "{}".to_string(),
            status: "failed".to_string(),
            error: Some("reading /data/x: No such file or directory".to_string()),
            host: None,
            rank: None,
            device: None,
            start_time: Some(-5),
            end_time: None,
            steps_total: None,
            snapshots_total: Some(1),
            steps_done: None,
            snapshots_done: None,
            wall_seconds: None,
            checkpoint_time: None,
            updated_time: None,
            in_sweep: None,
            provenance: RunProvenance::default(),
        },
        RunRecord {
            key: "0000".to_string(),
            kind: "run".to_string(),
            dataset: "fashion-mnist".to_string(),
            optimizer: Some("adam".to_string()),
            seed: Some(3),
            network: None,
            config_json: "{}".to_string(),
            status: "pending".to_string(),
            error: None,
            host: None,
            rank: None,
            device: Some("cpu".into()),
            start_time: None,
            end_time: None,
            steps_total: None,
            snapshots_total: Some(1),
            steps_done: None,
            snapshots_done: None,
            wall_seconds: None,
            checkpoint_time: None,
            updated_time: None,
            in_sweep: None,
            provenance: RunProvenance {
                eigensweep_version: Some("0.1.0".into()),
                git_commit: Some("0123456789abcdef0123456789abcdef01234567+dirty".into()),
                build_features: Some("mpi,cuda".into()),
                cpu: Some("AMD EPYC 7571".into()),
                earlier: Some("before step 40: eigensweep 0.0.9 (commit unknown, features none) on cpu (Intel Xeon), host a\nbefore step 80: x".into()),
            },
        },
    ]
}

#[test]
fn snapshots_round_trip_over_several_parts() {
    let dir = tempfile::tempdir().unwrap();
    let parts = dir.path().join("deep/er/snapshots");
    let rows = snapshots_with_edge_cases();
    let mut writer = PartWriter::<SnapshotRow>::open(&parts, 0).unwrap();
    assert_eq!(writer.next_index(), 0);
    let p0 = writer.write_part(&rows[..3]).unwrap().unwrap();
    let p1 = writer.write_part(&rows[3..4]).unwrap().unwrap();
    let p2 = writer.write_part(&rows[4..]).unwrap().unwrap();
    assert_eq!(writer.next_index(), 3);
    assert_eq!(p0, parts.join("part-00000.parquet"));
    assert_eq!(p1, parts.join("part-00001.parquet"));
    assert_eq!(p2, parts.join("part-00002.parquet"));
    let back = read_snapshot_rows(&parts).unwrap();
    assert_same(&rows, &back);
    assert!(back[3].grad_alignment.is_nan() && back[3].update_alignment.is_nan());
    assert!(back[4].eigenvector.is_empty());
    assert_eq!(count_parts(&parts).unwrap(), 3);
    assert_eq!(
        file_names(&parts),
        [
            "part-00000.parquet",
            "part-00001.parquet",
            "part-00002.parquet"
        ]
    );
}

#[test]
fn metrics_round_trip_with_nulls() {
    let dir = tempfile::tempdir().unwrap();
    let rows = metrics();
    let mut writer = PartWriter::open(dir.path(), 0).unwrap();
    writer.write_part(&rows[..7]).unwrap();
    writer.write_part(&rows[7..]).unwrap();
    let back = read_metric_rows(dir.path()).unwrap();
    assert_same(&rows, &back);
    assert_eq!(back[1].train_loss, None);
    assert!(back[10].test_loss.unwrap().is_nan());
}

#[test]
fn weights_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let rows = vec![
        WeightRow {
            run_key: "r".into(),
            step: 0,
            theta: (0..1000).map(|i| i as f32 * 1e-3).collect(),
        },
        WeightRow {
            run_key: "r".into(),
            step: 63,
            theta: Vec::new(),
        },
        WeightRow {
            run_key: "r".into(),
            step: 126,
            theta: vec![1.0, f32::NEG_INFINITY],
        },
    ];
    let mut writer = PartWriter::open(dir.path(), 0).unwrap();
    writer.write_part(&rows).unwrap();
    assert_same(&rows, &read_weight_rows(dir.path()).unwrap());
}

#[test]
fn baseline_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let out = baseline_dir(dir.path(), "mnist").unwrap();
    let rows = baseline_rows();
    let mut writer = PartWriter::open(&out, 0).unwrap();
    writer.write_part(&rows[..2]).unwrap();
    writer.write_part(&rows[2..]).unwrap();
    assert_same(&rows, &read_baseline_rows(&out).unwrap());
}

#[test]
fn runs_table_round_trip_and_replace() {
    let dir = tempfile::tempdir().unwrap();
    let path = runs_table_path(dir.path());
    let rows = run_records();
    write_table_atomically(&path, &rows).unwrap();
    assert_same(&rows, &read_run_records(&path).unwrap());
    // Rewriting replaces the file; no temporary is left behind.
    let mut updated = rows.clone();
    updated[2].status = "running".into();
    write_table_atomically(&path, &updated).unwrap();
    assert_same(&updated, &read_run_records(&path).unwrap());
    assert_eq!(file_names(dir.path()), ["runs.parquet"]);
    // An empty table is a valid file with the schema.
    write_table_atomically::<RunRecord>(&path, &[]).unwrap();
    assert!(read_run_records(&path).unwrap().is_empty());
    assert_eq!(read_schema(&path).unwrap().fields().len(), 27);
}

#[test]
fn an_attempt_on_another_build_or_device_is_noted_once_progress_exists() {
    use eigensweep_common::provenance::{Build, Provenance};
    let by = |version: &str, device: &str| Provenance {
        build: Build::new(version, "unknown", &[]),
        device: device.into(),
        cpu: "CPU X".into(),
        host: "h".into(),
    };
    let mut r = run_records()[0].clone();
    r.provenance = RunProvenance::default();
    (r.steps_done, r.snapshots_done, r.checkpoint_time) = (None, None, None);
    // A first attempt, or one with nothing to resume, has nothing to say.
    assert_eq!(r.start_attempt(&by("0.1.0", "cpu")), None);
    r.device = Some("cpu".into());
    r.host = Some("h".into());
    assert_eq!(r.start_attempt(&by("0.2.0", "cpu")), None);
    assert_eq!(r.provenance.eigensweep_version.as_deref(), Some("0.2.0"));
    r.steps_done = Some(40);
    // The same build on the same device: nothing either.
    assert_eq!(r.start_attempt(&by("0.2.0", "cpu")), None);
    let note = r.start_attempt(&by("0.3.0", "cpu")).unwrap();
    assert!(note.contains("version: 0.2.0 → 0.3.0"), "{note}");
    assert_eq!(
        r.provenance.earlier.as_deref(),
        Some("before step 40: eigensweep 0.2.0 (commit unknown, features none) on cpu (CPU X), host h")
    );
    r.steps_done = Some(80);
    r.device = Some("cpu".into());
    let note = r.start_attempt(&by("0.3.0", "cuda:0 (G)")).unwrap();
    assert!(note.contains("device: cpu → cuda:0 (G)"), "{note}");
    let earlier = r.provenance.earlier.as_deref().unwrap();
    assert_eq!(earlier.lines().count(), 2, "{earlier}");
    assert!(earlier.ends_with(
        "before step 80: eigensweep 0.3.0 (commit unknown, features none) on cpu (CPU X), host h"
    ));
    assert_eq!(r.provenance.eigensweep_version.as_deref(), Some("0.3.0"));
}

#[test]
fn reading_missing_directories_gives_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope");
    assert!(read_snapshot_rows(&missing).unwrap().is_empty());
    assert_eq!(count_parts(&missing).unwrap(), 0);
    assert_eq!(remove_parts_from(&missing, 0).unwrap(), 0);
}

#[test]
fn identical_rows_give_identical_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let rows = snapshots_with_edge_cases();
    let mut a = PartWriter::open(dir.path().join("a"), 0).unwrap();
    let mut b = PartWriter::open(dir.path().join("b"), 0).unwrap();
    let pa = a.write_part(&rows).unwrap().unwrap();
    let pb = b.write_part(&rows).unwrap().unwrap();
    assert_eq!(fs::read(&pa).unwrap(), fs::read(&pb).unwrap());
    // Also for the other tables (nulls, timestamps).
    fn twice<R: Row>(dir: &Path, name: &str, rows: &[R]) {
        let p1 = dir.join(format!("{name}1.parquet"));
        let p2 = dir.join(format!("{name}2.parquet"));
        write_table_atomically(&p1, rows).unwrap();
        write_table_atomically(&p2, rows).unwrap();
        assert_eq!(fs::read(&p1).unwrap(), fs::read(&p2).unwrap(), "{name}");
    }
    twice(dir.path(), "m", &metrics());
    twice(dir.path(), "r", &run_records());
    twice(dir.path(), "b", &baseline_rows());
    twice::<RunRecord>(dir.path(), "empty", &[]);
}

#[test]
fn zero_rows_write_no_file_and_keep_the_index() {
    let dir = tempfile::tempdir().unwrap();
    let mut writer = PartWriter::<MetricRow>::open(dir.path(), 4).unwrap();
    assert_eq!(writer.write_part(&[]).unwrap(), None);
    assert_eq!(writer.next_index(), 4);
    assert!(file_names(dir.path()).is_empty());
    let p = writer.write_part(&metrics()[..1]).unwrap().unwrap();
    assert_eq!(p.file_name().unwrap(), "part-00004.parquet");
    assert_eq!(writer.next_index(), 5);
}

#[test]
fn remove_parts_from_drops_late_parts_and_temporaries() {
    let dir = tempfile::tempdir().unwrap();
    let rows = metrics();
    let mut writer = PartWriter::open(dir.path(), 0).unwrap();
    for chunk in rows.chunks(4) {
        writer.write_part(chunk).unwrap();
    }
    assert_eq!(count_parts(dir.path()).unwrap(), 5);
    // A torn write from a killed process, and an unrelated file that must stay.
    fs::write(dir.path().join(".part-00005.parquet.tmp"), b"torn").unwrap();
    fs::write(dir.path().join("notes.txt"), b"keep").unwrap();
    assert_eq!(remove_parts_from(dir.path(), 3).unwrap(), 2);
    assert_eq!(
        file_names(dir.path()),
        [
            "notes.txt",
            "part-00000.parquet",
            "part-00001.parquet",
            "part-00002.parquet"
        ]
    );
    // Resume: continue at part 3 and end with the same content as an uninterrupted write.
    let mut resumed = PartWriter::open(dir.path(), 3).unwrap();
    for chunk in rows.chunks(4).skip(3) {
        resumed.write_part(chunk).unwrap();
    }
    assert_same(&rows, &read_metric_rows(dir.path()).unwrap());
    assert_eq!(remove_parts_from(dir.path(), 0).unwrap(), 5);
    assert_eq!(file_names(dir.path()), ["notes.txt"]);
}

#[test]
fn existing_parts_are_not_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let rows = metrics();
    PartWriter::open(dir.path(), 0)
        .unwrap()
        .write_part(&rows)
        .unwrap();
    let mut again = PartWriter::open(dir.path(), 0).unwrap();
    let err = again.write_part(&rows[..1]).unwrap_err();
    assert!(matches!(err, WorkerError::PartExists { .. }), "{err}");
    assert!(err.to_string().contains("part-00000.parquet"), "{err}");
    assert_eq!(again.next_index(), 0);
}

#[test]
fn part_names() {
    assert_eq!(part_file_name(3), "part-00003.parquet");
    assert_eq!(part_file_name(123_456), "part-123456.parquet");
    assert_eq!(parse_part_file_name("part-00003.parquet"), Some(3));
    assert_eq!(parse_part_file_name("part-123456.parquet"), Some(123_456));
    for bad in [
        "part-3.parquet",
        ".part-00003.parquet.tmp",
        "part-0000a.parquet",
        "part-00003.parquet.tmp",
        "part--0003.parquet",
        "runs.parquet",
    ] {
        assert_eq!(parse_part_file_name(bad), None, "{bad}");
    }
    assert_eq!(
        temp_path(Path::new("/o/x/part-00003.parquet")),
        Path::new("/o/x/.part-00003.parquet.tmp")
    );
}

fn check_self_description<R: Row>(path: &Path) {
    let schema = read_schema(path).unwrap();
    let meta = schema.metadata();
    assert_eq!(meta.get(TABLE_KEY).map(String::as_str), Some(R::TABLE));
    assert_eq!(meta.get(FORMAT_VERSION_KEY).map(String::as_str), Some("2"));
    assert_eq!(
        meta.get(TABLE_DESCRIPTION_KEY).map(String::as_str),
        Some(R::DESCRIPTION)
    );
    let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    let expected: Vec<&str> = R::columns().iter().map(|c| c.name).collect();
    assert_eq!(names, expected);
    for (field, column) in schema.fields().iter().zip(R::columns()) {
        let description = field.metadata().get(FIELD_DESCRIPTION_KEY);
        assert_eq!(description.map(String::as_str), Some(column.description));
        assert!(column.description.len() > 10, "{}", column.name);
        assert_eq!(field.is_nullable(), column.nullable, "{}", column.name);
        assert_eq!(
            meta.get(&format!("{COLUMN_DESCRIPTION_PREFIX}{}", column.name)),
            Some(&column.description.to_string())
        );
    }
    let file = fs::File::open(path).unwrap();
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).unwrap();
    assert_eq!(
        builder.metadata().file_metadata().created_by(),
        Some(CREATED_BY)
    );
}

#[test]
fn files_describe_themselves() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_table_atomically(&d.join("s.parquet"), &snapshots_with_edge_cases()).unwrap();
    write_table_atomically(&d.join("m.parquet"), &metrics()).unwrap();
    write_table_atomically(
        &d.join("w.parquet"),
        &[WeightRow {
            run_key: "r".into(),
            step: 1,
            theta: vec![1.0],
        }],
    )
    .unwrap();
    write_table_atomically(&d.join("b.parquet"), &baseline_rows()).unwrap();
    write_table_atomically(&d.join("r.parquet"), &run_records()).unwrap();
    check_self_description::<SnapshotRow>(&d.join("s.parquet"));
    check_self_description::<MetricRow>(&d.join("m.parquet"));
    check_self_description::<WeightRow>(&d.join("w.parquet"));
    check_self_description::<BaselineRow>(&d.join("b.parquet"));
    check_self_description::<RunRecord>(&d.join("r.parquet"));
}

#[test]
fn list_columns_are_plain_encoded_without_a_dictionary() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.parquet");
    write_table_atomically(&path, &snapshots_with_edge_cases()).unwrap();
    let file = fs::File::open(&path).unwrap();
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).unwrap();
    let row_group = builder.metadata().row_group(0);
    let wanted = list_item_path("eigenvector");
    let chunk = row_group
        .columns()
        .iter()
        .find(|c| c.column_path() == &wanted)
        .expect("the eigenvector leaf is at eigenvector.list.item");
    let encodings: Vec<Encoding> = chunk.encodings().collect();
    assert!(
        !encodings.contains(&Encoding::RLE_DICTIONARY)
            && !encodings.contains(&Encoding::PLAIN_DICTIONARY),
        "{encodings:?}"
    );
    assert!(chunk.statistics().is_none());
    assert_eq!(builder.metadata().num_row_groups(), 1);
}

#[test]
fn reading_the_wrong_table_names_the_file_and_both_tables() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("part-00000.parquet");
    write_table_atomically(&path, &metrics()).unwrap();
    let err = read_snapshot_rows(dir.path()).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("part-00000.parquet"), "{msg}");
    assert!(
        msg.contains("`metrics`") && msg.contains("`snapshots`"),
        "{msg}"
    );
}

#[test]
fn a_garbage_part_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("part-00000.parquet"), b"not parquet at all").unwrap();
    let msg = read_metric_rows(dir.path()).unwrap_err().to_string();
    assert!(
        msg.starts_with("reading ") && msg.contains("part-00000.parquet"),
        "{msg}"
    );
}

#[test]
fn unwritable_locations_are_errors_naming_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let blocker = dir.path().join("blocker");
    fs::write(&blocker, b"a file where a directory should be").unwrap();
    let err = PartWriter::<MetricRow>::open(blocker.join("metrics"), 0).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.starts_with("creating directory ") && msg.contains("blocker"),
        "{msg}"
    );
    let err = write_table_atomically(&blocker.join("runs.parquet"), &run_records()).unwrap_err();
    assert!(err.to_string().contains("blocker"), "{err}");
    assert_eq!(file_names(dir.path()), ["blocker"]);
}

// ---------------------------------------------------------------------------------------
// DuckDB reads the hive layout.

const DUCKDB_SCRIPT: &str = r#"
import sys, duckdb
root = sys.argv[1]
con = duckdb.connect()
snap = root + '/runs/**/snapshots/*.parquet'
q = ("SELECT count(*), sum(eigenvalue), sum(len(eigenvector)), count(DISTINCT optimizer), "
     "min(seed), max(seed), min(dataset), count(*) FILTER (WHERE isnan(grad_alignment)) "
     "FROM read_parquet(?, hive_partitioning = true)")
n, s, items, opts, smin, smax, ds, nans = con.execute(q, [snap]).fetchone()
print(f"rows={n}"); print(f"sum_eigenvalue={s!r}"); print(f"items={items}")
print(f"optimizers={opts}"); print(f"seeds={smin},{smax}"); print(f"dataset={ds}")
print(f"nan_grad={nans}")
cols = [r[0] for r in con.execute(
    "DESCRIBE SELECT * FROM read_parquet(?, hive_partitioning = true)", [snap]).fetchall()]
print("columns=" + ",".join(cols))
n = con.execute("SELECT count(*) FROM read_parquet(?, hive_partitioning = true) "
                "WHERE train_loss IS NOT NULL", [root + '/runs/**/metrics/*.parquet']).fetchone()[0]
print(f"eval_rows={n}")
r = con.execute("SELECT count(*), count(optimizer), count(start_time) FROM read_parquet(?)",
                [root + '/runs.parquet']).fetchone()
print(f"runs={r[0]},{r[1]},{r[2]}")
r = con.execute("SELECT count(*), min(dataset) FROM read_parquet(?, hive_partitioning = true)",
                [root + '/baseline/**/*.parquet']).fetchone()
print(f"baseline={r[0]},{r[1]}")
# Integers are BIGINT: differences may go negative (format 2; UBIGINT raised an overflow).
t = con.execute("SELECT DISTINCT typeof(step), typeof(index), typeof(products), typeof(seed) "
                "FROM read_parquet(?, hive_partitioning = true)", [snap]).fetchall()
print("snapshot_types=" + ";".join(",".join(r) for r in t))
print(f"min_step_minus_100={con.execute('SELECT min(step - 100) FROM read_parquet(?)', [snap]).fetchone()[0]}")
r = con.execute("SELECT DISTINCT typeof(seed), typeof(network), typeof(rank) FROM read_parquet(?)",
                [root + '/runs.parquet']).fetchall()
print("runs_types=" + ";".join(",".join(x) for x in r))
r = con.execute("SELECT count(seed), count(network), max(network), count(*) FILTER (WHERE kind = 'baseline' AND seed IS NULL) "
                "FROM read_parquet(?)", [root + '/runs.parquet']).fetchone()
print(f"runs_seed_network={r[0]},{r[1]},{r[2]},{r[3]}")
r = con.execute("SELECT DISTINCT typeof(network) FROM read_parquet(?)", [root + '/baseline/**/*.parquet']).fetchall()
print(f"baseline_network_type={r[0][0]}")
kv = con.execute("SELECT count(*) FROM parquet_kv_metadata(?) WHERE decode(key) = 'eigensweep.table' "
                 "AND decode(value) = 'snapshots'", [snap]).fetchone()[0]
print(f"kv_tables={kv}")
"#;

fn duckdb_importable() -> bool {
    Command::new("python3")
        .args(["-c", "import duckdb"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

#[test]
fn duckdb_reads_the_hive_layout() {
    let required = std::env::var("EIGENSWEEP_REQUIRE_DUCKDB")
        .map(|v| !v.is_empty() && v != "0")
        .unwrap_or(false);
    if !duckdb_importable() {
        assert!(
            !required,
            "EIGENSWEEP_REQUIRE_DUCKDB is set but `python3 -c 'import duckdb'` fails: \
             pip install duckdb"
        );
        eprintln!(
            "note: skipping duckdb_reads_the_hive_layout: the Python package duckdb is not \
             importable (pip install duckdb; set EIGENSWEEP_REQUIRE_DUCKDB=1 to make this fail)"
        );
        return;
    }

    let dir = tempfile::tempdir().unwrap();
    let out = dir.path();
    let sgd = RunDirs::new(out, "mnist", "sgd", 0).unwrap();
    let adam = RunDirs::new(out, "mnist", "adam", 1).unwrap();
    let sgd_rows: Vec<SnapshotRow> = snapshots_with_edge_cases()
        .into_iter()
        .filter(|r| r.step != i64::MAX as u64)
        .collect();
    let adam_rows: Vec<SnapshotRow> = (1..=3).map(|i| snapshot("run-b", 50, i, 7)).collect();
    let mut w = PartWriter::open(&sgd.snapshots, 0).unwrap();
    w.write_part(&sgd_rows[..2]).unwrap();
    w.write_part(&sgd_rows[2..]).unwrap();
    PartWriter::open(&adam.snapshots, 0)
        .unwrap()
        .write_part(&adam_rows)
        .unwrap();
    PartWriter::open(&sgd.metrics, 0)
        .unwrap()
        .write_part(&metrics())
        .unwrap();
    write_table_atomically(&runs_table_path(out), &run_records()).unwrap();
    PartWriter::open(baseline_dir(out, "mnist").unwrap(), 0)
        .unwrap()
        .write_part(&baseline_rows())
        .unwrap();

    let output = Command::new("python3")
        .args(["-c", DUCKDB_SCRIPT])
        .arg(out)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "duckdb script failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let get = |key: &str| -> String {
        stdout
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{key}=")))
            .unwrap_or_else(|| panic!("no {key}= in:\n{stdout}"))
            .to_string()
    };
    let all: Vec<&SnapshotRow> = sgd_rows.iter().chain(&adam_rows).collect();
    assert_eq!(get("rows"), all.len().to_string());
    let sum: f64 = all.iter().map(|r| r.eigenvalue).sum();
    let duck_sum: f64 = get("sum_eigenvalue").parse().unwrap();
    assert!(
        (duck_sum - sum).abs() <= 1e-12 * sum.abs(),
        "{duck_sum} vs {sum}"
    );
    let items: usize = all.iter().map(|r| r.eigenvector.len()).sum();
    assert_eq!(get("items"), items.to_string());
    assert_eq!(get("optimizers"), "2");
    assert_eq!(get("seeds"), "0,1");
    assert_eq!(get("dataset"), "mnist");
    let nans = all.iter().filter(|r| r.grad_alignment.is_nan()).count();
    assert_eq!(get("nan_grad"), nans.to_string());
    let columns = get("columns");
    let columns: Vec<&str> = columns.split(',').collect();
    for c in SnapshotRow::columns().iter().map(|c| c.name) {
        assert!(columns.contains(&c), "{c} missing from {columns:?}");
    }
    for c in ["dataset", "optimizer", "seed"] {
        assert!(
            columns.contains(&c),
            "partition column {c} missing from {columns:?}"
        );
    }
    let evals = metrics().iter().filter(|m| m.train_loss.is_some()).count();
    assert_eq!(get("eval_rows"), evals.to_string());
    assert_eq!(get("runs"), "3,2,2");
    assert_eq!(get("baseline"), format!("{},mnist", baseline_rows().len()));
    assert_eq!(get("kv_tables"), "3");
    assert_eq!(get("snapshot_types"), "BIGINT,BIGINT,BIGINT,BIGINT");
    assert_eq!(get("min_step_minus_100"), "-50");
    assert_eq!(get("runs_types"), "BIGINT,BIGINT,BIGINT");
    assert_eq!(get("runs_seed_network"), format!("2,1,{},1", i64::MAX));
    assert_eq!(get("baseline_network_type"), "BIGINT");
}
