//! Issue 26.5b: `eigensweep run --extend` continues the finished runs of an output to more
//! steps. Continued from step 120 to 240, a sweep's runs must hold exactly the tables of the
//! same sweep run to 240 steps at once; whatever cannot be continued that way is refused by
//! name with nothing changed; a continuation interrupted at any stage is finished by the next
//! launch; and without `--extend` the refusal says which runs `--extend` would continue.

#[path = "support/mod.rs"]
mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use eigensweep_common::exit_codes;
use eigensweep_worker::output::{
    read_metric_rows, read_run_records, read_snapshot_rows, read_table, read_weight_rows,
    write_table_atomically, MetricRow, RunRecord, SnapshotRow, EXTENDING_MARKER, SUCCESS_MARKER,
};
use eigensweep_worker::run::{continue_finished_run, Checkpoint, Continuation};
use support::{
    assert_same_baseline_and_status, assert_same_tables, run, run_dirs, small_sweep_args, stderr,
};

/// The small sweep (240 steps, a snapshot every 30) at `steps` steps.
fn sweep_args<'a>(out: &'a Path, steps: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut more = vec!["--set", steps];
    more.extend_from_slice(extra);
    small_sweep_args(out.to_str().unwrap(), &more)
}

const SHORT: &str = "training.steps=120";
const LONG: &str = "training.steps=240";

/// Outputs every test starts from, computed once: the sweep run to 240 steps at once, and
/// run to 120 steps (each test works on its own copy of that).
struct Shared {
    _tmp: tempfile::TempDir,
    reference: PathBuf,
    short: PathBuf,
}

fn shared() -> &'static Shared {
    static SHARED: OnceLock<Shared> = OnceLock::new();
    SHARED.get_or_init(|| {
        let tmp = tempfile::tempdir().unwrap();
        let reference = tmp.path().join("reference");
        let o = run(&sweep_args(&reference, LONG, &[]));
        assert!(o.status.success(), "{}", stderr(&o));
        let short = tmp.path().join("short");
        let o = run(&sweep_args(&short, SHORT, &[]));
        assert!(o.status.success(), "{}", stderr(&o));
        Shared {
            _tmp: tmp,
            reference,
            short,
        }
    })
}

/// A copy of the 120-step output at `to`.
fn short_copy(to: &Path) {
    let o = Command::new("cp")
        .arg("-a")
        .arg(&shared().short)
        .arg(to)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

/// Every file under `dir` and its bytes, but the launches' lock files (which name the last
/// holder).
fn contents(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut all = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let path = e.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if !path.to_string_lossy().contains(".eigensweep-") {
                all.insert(path.clone(), std::fs::read(&path).unwrap());
            }
        }
    }
    all
}

/// Asserts that `dir` holds the files of `before`, byte for byte; names those that differ.
fn assert_unchanged(dir: &Path, before: &BTreeMap<PathBuf, Vec<u8>>, context: &str) {
    let now = contents(dir);
    let changed: Vec<&PathBuf> = before
        .keys()
        .chain(now.keys())
        .filter(|p| before.get(*p) != now.get(*p))
        .collect();
    assert!(changed.is_empty(), "{context}: changed {changed:?}");
}

/// The runs' rows of a runs table, by optimiser.
fn run_rows(table: &Path) -> BTreeMap<String, RunRecord> {
    read_run_records(table)
        .unwrap()
        .into_iter()
        .filter(|r| r.kind == "run")
        .map(|r| (r.optimizer.clone().unwrap(), r))
        .collect()
}

#[test]
fn finished_runs_continued_with_extend_equal_runs_trained_to_the_end_at_once() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    short_copy(&out);
    let before = contents(&out);

    // Without --extend: refused as today, with one line on what --extend would do.
    let o = run(&sweep_args(&out, LONG, &[]));
    assert_eq!(o.status.code(), Some(exit_codes::INPUT), "{}", stderr(&o));
    let text = stderr(&o);
    assert!(text.contains("another configuration"), "{text}");
    assert!(text.contains("steps: 120 → 240"), "{text}");
    let hints: Vec<&str> = text.lines().filter(|l| l.starts_with("hint:")).collect();
    assert_eq!(hints.len(), 1, "{text}");
    assert!(
        hints[0].contains("3 of them are finished runs") && hints[0].contains("--extend"),
        "{text}"
    );
    assert_unchanged(&out, &before, "a refused launch");

    let o = run(&sweep_args(&out, LONG, &["--extend"]));
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stderr(&o);
    for opt in ["sgd", "adam", "sam"] {
        assert!(
            text.contains(&format!("extend synthetic/{opt}/0: run ")),
            "{text}"
        );
    }
    assert!(
        text.contains("finished at step 120 (5 snapshots)"),
        "{text}"
    );
    assert!(text.contains("3 resuming from a checkpoint"), "{text}");
    let reference = &shared().reference;
    assert_same_tables(reference, &out, "continued from step 120");
    assert_same_baseline_and_status(reference, &out, "continued from step 120");
    for dir in run_dirs(&out) {
        assert!(dir.join(SUCCESS_MARKER).exists() && !dir.join(EXTENDING_MARKER).exists());
    }
    let o = run(&["status", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(exit_codes::SUCCESS), "{}", stderr(&o));

    // Once more with --extend: nothing left to continue, nothing run.
    let o = run(&sweep_args(&out, LONG, &["--extend"]));
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("nothing to continue"), "{}", stderr(&o));
}

#[test]
fn what_cannot_be_continued_is_refused_by_name_and_nothing_changes() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    short_copy(&out);
    let before = contents(&out);
    let o = run(&sweep_args(
        &out,
        LONG,
        &[
            "--extend",
            "--set",
            "optimizers[0].lr=0.02",
            "--set",
            "optimizers[1].lr_schedule={kind: cosine}",
        ],
    ));
    assert_eq!(o.status.code(), Some(exit_codes::INPUT), "{}", stderr(&o));
    let text = stderr(&o);
    assert!(text.contains("--extend: 2 of the runs"), "{text}");
    assert!(text.contains("nothing was changed"), "{text}");
    assert!(text.contains("synthetic/sgd/0 (run "), "{text}");
    assert!(text.contains("optimizer.lr: 0.01 → 0.02"), "{text}");
    assert!(
        text.contains("synthetic/adam/0 (run ")
            && text.contains("optimizer.lr_schedule.kind: \"cosine\""),
        "{text}"
    );
    assert!(!text.contains("synthetic/sam/0 (run "), "{text}");
    // Fewer steps, and snapshots that move with the step count.
    let o = run(&sweep_args(&out, "training.steps=60", &["--extend"]));
    assert_eq!(o.status.code(), Some(exit_codes::INPUT), "{}", stderr(&o));
    assert!(stderr(&o).contains("steps: 120 → 60"), "{}", stderr(&o));
    let o = run(&sweep_args(
        &out,
        LONG,
        &[
            "--extend",
            "--set",
            "snapshots.schedule={every: 30, log: {count: 4}}",
        ],
    ));
    assert_eq!(o.status.code(), Some(exit_codes::INPUT), "{}", stderr(&o));
    assert!(stderr(&o).contains("snapshot_steps: "), "{}", stderr(&o));
    assert_unchanged(&out, &before, "refused launches");

    // An unfinished run is not continued (it is finished with its own sweep first), nor is a
    // diverged one.
    let other = tmp.path().join("other");
    short_copy(&other);
    let dir = |opt: &str| other.join(format!("runs/dataset=synthetic/optimizer={opt}/seed=0"));
    let checkpoint = dir("sgd").join("checkpoint.bin");
    let saved = Checkpoint::load(&checkpoint).unwrap().unwrap();
    Checkpoint {
        complete: false,
        ..saved
    }
    .save(&checkpoint)
    .unwrap();
    std::fs::remove_file(dir("sgd").join(SUCCESS_MARKER)).unwrap();
    std::fs::remove_file(dir("adam").join(SUCCESS_MARKER)).unwrap();
    std::fs::write(dir("adam").join("_DIVERGED"), "57\n").unwrap();
    let o = run(&sweep_args(&other, LONG, &["--extend"]));
    assert_eq!(o.status.code(), Some(exit_codes::INPUT), "{}", stderr(&o));
    let text = stderr(&o);
    assert!(text.contains("--extend: 2 of the runs"), "{text}");
    assert!(
        text.contains("it is not finished (its checkpoint is at step 120)"),
        "{text}"
    );
    assert!(
        text.contains("it diverged at step 57: there is nothing to continue"),
        "{text}"
    );
}

/// The states a launch killed in the middle of `--extend` leaves, one per run: the intent
/// alone (sgd); the intent, the runs table and part of the run's tables turned (sam); every
/// stage but the intent's removal (adam). The next launch of the sweep, without `--extend`,
/// finishes them, and the runs end as if trained to the end at once. Meanwhile no reader takes
/// them for finished runs.
#[test]
fn a_continuation_interrupted_at_any_stage_is_finished_by_the_next_launch() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    short_copy(&out);
    let reference = &shared().reference;
    let table = out.join("runs.parquet");
    let old = run_rows(&table);
    let new = run_rows(&reference.join("runs.parquet"));
    let dir = |opt: &str| out.join(format!("runs/dataset=synthetic/optimizer={opt}/seed=0"));
    for opt in ["sgd", "adam", "sam"] {
        let intent = serde_json::json!({
            "old_key": old[opt].key,
            "new_key": new[opt].key,
            "old_steps": 120,
            "new_steps": 240,
            "config_json": new[opt].config_json,
            "snapshots_total": new[opt].snapshots_total.unwrap(),
        });
        std::fs::write(dir(opt).join(EXTENDING_MARKER), intent.to_string()).unwrap();
    }
    // Stage 1 for adam and sam: their rows become the new keys', pending.
    let rows: Vec<RunRecord> = read_run_records(&table)
        .unwrap()
        .into_iter()
        .map(|r| match r.optimizer.as_deref() {
            Some(opt @ ("adam" | "sam")) => RunRecord {
                key: new[opt].key.clone(),
                status: "pending".into(),
                config_json: new[opt].config_json.clone(),
                ..r
            },
            _ => r,
        })
        .collect();
    write_table_atomically(&table, &rows).unwrap();
    // adam: the whole run directory turned.
    continue_finished_run(
        &dir("adam"),
        &Continuation {
            old_key: old["adam"].key.clone(),
            new_key: new["adam"].key.clone(),
            old_steps: 120,
        },
    )
    .unwrap();
    // sam: its marker removed and the first parts of two tables turned.
    std::fs::remove_file(dir("sam").join(SUCCESS_MARKER)).unwrap();
    let part = dir("sam").join("snapshots/part-00000.parquet");
    let rows: Vec<SnapshotRow> = read_table(&part).unwrap();
    let rows: Vec<SnapshotRow> = rows
        .into_iter()
        .map(|r| SnapshotRow {
            run_key: new["sam"].key.clone(),
            ..r
        })
        .collect();
    write_table_atomically(&part, &rows).unwrap();
    let part = dir("sam").join("metrics/part-00000.parquet");
    let rows: Vec<MetricRow> = read_table(&part).unwrap();
    let rows: Vec<MetricRow> = rows
        .into_iter()
        .map(|r| MetricRow {
            run_key: new["sam"].key.clone(),
            ..r
        })
        .collect();
    write_table_atomically(&part, &rows).unwrap();

    // Meanwhile `status` (of the 120-step sweep the output records) sees unfinished runs.
    let o = run(&["status", out.to_str().unwrap(), "--json"]);
    assert_eq!(
        o.status.code(),
        Some(exit_codes::INCOMPLETE),
        "{}",
        stderr(&o)
    );
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let done: Vec<&str> = doc["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["kind"] == "run" && t["status"] == "done")
        .map(|t| t["label"].as_str().unwrap())
        .collect();
    // sgd: nothing of it has changed yet (its row and files are the finished run's).
    assert_eq!(done, vec!["synthetic/sgd/0"], "{doc}");

    let o = run(&sweep_args(&out, LONG, &[]));
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stderr(&o);
    for opt in ["sgd", "adam", "sam"] {
        assert!(
            text.contains(&format!(
                "finishing the continuation of synthetic/{opt}/0 that an earlier launch began"
            )),
            "{text}"
        );
    }
    assert_same_tables(reference, &out, "continuation finished by the next launch");
    assert_same_baseline_and_status(reference, &out, "continuation finished by the next launch");
    for d in run_dirs(&out) {
        assert!(!d.join(EXTENDING_MARKER).exists(), "{}", d.display());
    }
}

/// Runs trained as one fused ensemble (`--fuse on`) continue fused, with the tables of the
/// fused ensemble trained to the end at once.
#[test]
fn fused_runs_are_continued_like_runs_alone() {
    let tmp = tempfile::tempdir().unwrap();
    let fused = ["--fuse", "on", "--set", "baseline.networks=0"];
    let reference = tmp.path().join("reference");
    let o = run(&sweep_args(&reference, "training.steps=120", &fused));
    assert!(o.status.success(), "{}", stderr(&o));
    let out = tmp.path().join("out");
    let o = run(&sweep_args(&out, "training.steps=60", &fused));
    assert!(o.status.success(), "{}", stderr(&o));
    let mut extend = fused.to_vec();
    extend.push("--extend");
    let o = run(&sweep_args(&out, "training.steps=120", &extend));
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("3 runs trained as one fused ensemble"),
        "{}",
        stderr(&o)
    );
    for (want, got) in run_dirs(&reference).iter().zip(run_dirs(&out)) {
        let tables = |dir: &Path| {
            (
                format!("{:?}", read_snapshot_rows(&dir.join("snapshots")).unwrap()),
                format!("{:?}", read_metric_rows(&dir.join("metrics")).unwrap()),
                format!("{:?}", read_weight_rows(&dir.join("weights")).unwrap()),
            )
        };
        assert!(tables(want) == tables(&got), "{} differ", got.display());
    }
}
