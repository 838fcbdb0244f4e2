//! End-to-end tests of how eigensweep reads the state of an output directory: the markers
//! (`_SUCCESS`, `_DIVERGED`), checkpoints and runs tables behind `status`, `report`, `analyze`
//! and `run`'s resumption. Outputs are made by the real binary: a sweep whose runs ended every
//! way a run can end (done; stopped by SIGTERM at step S; diverged; failed on a damaged
//! checkpoint), the same sweep resumed, sharded launches whose runs tables both hold a task's
//! row, and outputs of table format 1. Each asserts the status word, the step, the exit code
//! and the file an error names.

#[path = "support/mod.rs"]
mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use eigensweep_common::exit_codes;
use eigensweep_worker::output::format::FormatVersion;
use eigensweep_worker::output::{
    read_run_records, read_snapshot_rows, runs_table_files, write_table_atomically, RunRecord,
    CHECKPOINT_FILE, DIVERGED_MARKER, SUCCESS_MARKER,
};
use eigensweep_worker::run::Checkpoint;
use serde_json::Value;
use support::format1::{rewrite_as_format_1, rewrite_tables_as_format_1, version};
use support::stop::{copy_tree, files, sigterm, wait_at_most};
use support::{eigensweep, run, stderr};

/// Four SGD runs of one seed on tiny synthetic data (≈ 1 s each in a debug build). Their costs
/// are equal, so a launch of one job dispatches them in the file's order: `sgd` finishes,
/// `wild` diverges at once (a learning rate of 1e20), `broken` is stopped and its checkpoint
/// damaged, `slow` is stopped mid-run by the next launch.
const MIXED_SWEEP: &str = "name: state
datasets:
  - {name: synthetic, source: synthetic, train_size: 200, test_size: 50}
model: {hidden: [8]}
training: {steps: 2000, batch_size: 50}
optimizers:
  - {name: sgd, kind: sgd, lr: 1.0e-2}
  - {name: wild, kind: sgd, lr: 1.0e20}
  - {name: broken, kind: sgd, lr: 2.0e-2}
  - {name: slow, kind: sgd, lr: 5.0e-3}
seeds: [0]
snapshots: {schedule: {every: 500}, top_k: 1, tol: 1.0e-3, hessian_samples: 100}
baseline: {networks: 0}
";

/// Two optimisers × two seeds of 200 steps: four short runs for the sharded launches.
const SHARDED_SWEEP: &str = "name: sharded
datasets:
  - {name: synthetic, source: synthetic, train_size: 200, test_size: 50}
model: {hidden: [8]}
training: {steps: 200, batch_size: 50}
optimizers:
  - {name: sgd, kind: sgd, lr: 1.0e-2}
  - {name: adam, kind: adam, lr: 1.0e-3}
seeds: [0, 1]
snapshots: {schedule: {every: 100}, top_k: 1, tol: 1.0e-3, hessian_samples: 100}
baseline: {networks: 0}
";

const STEPS: u64 = 2000;

fn write_sweep(dir: &Path, name: &str, text: &str) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// `run SWEEP --out OUT` with one thread per run and a checkpoint after every snapshot.
fn run_args(sweep: &Path, out: &Path, extra: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = [
        "run",
        sweep.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--threads-per-run",
        "1",
        "--checkpoint-every",
        "1",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

fn launch(sweep: &Path, out: &Path, extra: &[&str]) -> Output {
    let args = run_args(sweep, out, extra);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    run(&args)
}

/// Starts `run` in the background, its stderr captured.
fn spawn_launch(sweep: &Path, out: &Path) -> Child {
    let args = run_args(sweep, out, &[]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    eigensweep(&args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Sends SIGTERM to `child` as soon as `ready` holds and returns what it printed; fails if
/// the launch ends first.
fn stop_when(mut child: Child, ready: impl Fn() -> bool, what: &str) -> Output {
    let deadline = Instant::now() + Duration::from_secs(120);
    while !ready() {
        if child.try_wait().unwrap().is_some() {
            let o = child.wait_with_output().unwrap();
            panic!(
                "{what}: the launch ended before it could be stopped:\n{}",
                stderr(&o)
            );
        }
        assert!(Instant::now() < deadline, "{what}: not ready after 2 min");
        std::thread::sleep(Duration::from_millis(10));
    }
    sigterm(&child);
    wait_at_most(child, Duration::from_secs(60), what).0
}

fn run_dir(out: &Path, optimizer: &str, seed: u64) -> PathBuf {
    out.join(format!(
        "runs/dataset=synthetic/optimizer={optimizer}/seed={seed}"
    ))
}

/// The step of `run … LABEL (KEY): checkpointed at step S (N snapshots)` in a launch's log.
fn checkpointed_step(log: &str, label: &str) -> u64 {
    let line = log
        .lines()
        .find(|l| l.contains(&format!("{label} (")) && l.contains("checkpointed at step "))
        .unwrap_or_else(|| panic!("no checkpoint of {label} in:\n{log}"));
    let rest = line.split("checkpointed at step ").nth(1).unwrap();
    rest.split(' ').next().unwrap().parse().unwrap()
}

fn status_text(out: &Path) -> (Option<i32>, String, String) {
    let o = run(&["status", out.to_str().unwrap()]);
    (
        o.status.code(),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr(&o),
    )
}

fn status_json(out: &Path) -> (Option<i32>, Value) {
    let o = run(&["status", out.to_str().unwrap(), "--json"]);
    let doc = serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}\n{}",
            String::from_utf8_lossy(&o.stdout),
            stderr(&o)
        )
    });
    (o.status.code(), doc)
}

fn task<'a>(doc: &'a Value, label: &str) -> &'a Value {
    let found: Vec<&Value> = doc["tasks"]
        .as_array()
        .expect("tasks")
        .iter()
        .filter(|t| t["label"] == label)
        .collect();
    assert_eq!(found.len(), 1, "{label} listed once: {doc}");
    found[0]
}

/// The line of the task `label` in `status`'s table.
fn line<'a>(text: &'a str, label: &str) -> &'a str {
    text.lines()
        .find(|l| l.starts_with(&format!("{label} ")))
        .unwrap_or_else(|| panic!("no line for {label}:\n{text}"))
}

/// What `status --json` says of each task, without times and the launch's name: what must not
/// depend on the table format.
fn task_states(doc: &Value) -> Vec<String> {
    doc["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            [
                "label",
                "status",
                "steps_done",
                "steps_total",
                "snapshots_done",
                "snapshots_total",
                "error",
                "table",
                "probably_dead",
                "in_sweep",
                "host",
                "start_time_ms",
                "updated_time_ms",
            ]
            .iter()
            .map(|k| format!("{k}={}", t[*k]))
            .collect::<Vec<_>>()
            .join(" ")
        })
        .collect()
}

/// Every file of `out` but the lock files, whose holder line a refused launch may rewrite.
fn output_files(out: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    files(out)
        .into_iter()
        .filter(|(p, _)| !p.to_string_lossy().starts_with(".eigensweep-lock"))
        .collect()
}

fn html_state(out: &Path) -> String {
    std::fs::read_to_string(out.join("report/index.html")).unwrap()
}

// ---------------------------------------------------------------------------------------
// A sweep whose runs ended in every way.

/// The output of [`MIXED_SWEEP`] after two launches, each stopped by SIGTERM: `sgd` done,
/// `wild` diverged, `broken` failed on its damaged checkpoint, `slow` stopped at step
/// `slow_step`. Built once; tests that write into an output work on a copy.
struct Mixed {
    sweep: PathBuf,
    out: PathBuf,
    /// Where SIGTERM stopped `slow` (its checkpoint's step).
    slow_step: u64,
    /// Where SIGTERM stopped `broken` before its checkpoint was damaged.
    broken_step: u64,
    /// The step `wild`'s `_DIVERGED` holds.
    diverged_step: u64,
}

fn mixed() -> &'static Mixed {
    static MIXED: OnceLock<Mixed> = OnceLock::new();
    MIXED.get_or_init(|| {
        // One per test process (a runner may run each test in its own process).
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("state-mixed-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let sweep = write_sweep(&dir, "state.yaml", MIXED_SWEEP);
        let out = dir.join("out");

        // Launch 1: sgd finishes, wild diverges, broken is stopped once it has a checkpoint.
        let broken = run_dir(&out, "broken", 0);
        let o = stop_when(
            spawn_launch(&sweep, &out),
            || broken.join(CHECKPOINT_FILE).exists(),
            "the first launch",
        );
        let log = stderr(&o);
        assert_eq!(o.status.code(), Some(exit_codes::INTERRUPTED), "{log}");
        assert!(
            log.contains("synthetic/sgd/0 (") && log.contains("done after"),
            "{log}"
        );
        assert!(log.contains("diverged after"), "{log}");
        let broken_step = checkpointed_step(&log, "synthetic/broken/0");
        assert!(broken_step > 0 && broken_step < STEPS, "{log}");
        assert!(run_dir(&out, "sgd", 0).join(SUCCESS_MARKER).exists());

        // A checkpoint damaged on disk (one byte of its middle altered): the next attempt of
        // `broken` fails on it.
        let checkpoint = broken.join(CHECKPOINT_FILE);
        let mut bytes = std::fs::read(&checkpoint).unwrap();
        let middle = bytes.len() / 2;
        bytes[middle] ^= 0xff;
        std::fs::write(&checkpoint, bytes).unwrap();

        // Launch 2: broken fails, slow is stopped once it has a checkpoint.
        let slow = run_dir(&out, "slow", 0);
        let o = stop_when(
            spawn_launch(&sweep, &out),
            || slow.join(CHECKPOINT_FILE).exists(),
            "the second launch",
        );
        let log = stderr(&o);
        assert_eq!(o.status.code(), Some(exit_codes::INTERRUPTED), "{log}");
        assert!(
            log.contains("synthetic/broken/0 (") && log.contains("failed after"),
            "{log}"
        );
        let slow_step = checkpointed_step(&log, "synthetic/slow/0");
        assert!(slow_step > 0 && slow_step < STEPS, "{log}");
        let diverged_step = std::fs::read_to_string(run_dir(&out, "wild", 0).join(DIVERGED_MARKER))
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        Mixed {
            sweep,
            out,
            slow_step,
            broken_step,
            diverged_step,
        }
    })
}

/// The damaged checkpoint's path, as the errors of launches on `out` name it (a copy of an
/// output keeps the errors its launches recorded, with the original's paths).
fn broken_checkpoint(out: &Path) -> String {
    run_dir(out, "broken", 0)
        .join(CHECKPOINT_FILE)
        .display()
        .to_string()
}

/// Asserts what `status` says of the four tasks of a [`mixed`] output at `out` (the original
/// or a copy that no launch has touched).
fn assert_mixed_status(out: &Path, m: &Mixed) {
    let (code, text, err) = status_text(out);
    assert_eq!(code, Some(exit_codes::INCOMPLETE), "{text}\n{err}");
    assert!(
        text.contains("4 tasks: 1 done, 0 running, 1 pending, 1 failed, 1 diverged"),
        "{text}"
    );
    assert!(
        err.contains("sweep not complete: 1 of 4 tasks done"),
        "{err}"
    );
    let sgd = line(&text, "synthetic/sgd/0");
    assert!(sgd.contains("done") && sgd.contains("2000/2000"), "{sgd}");
    let slow = line(&text, "synthetic/slow/0");
    assert!(
        slow.contains("pending") && slow.contains(&format!(" {}/2000 ", m.slow_step)),
        "{slow}"
    );
    let wild = line(&text, "synthetic/wild/0");
    assert!(
        wild.contains("diverged")
            && wild.contains(&format!(" {}/2000 ", m.diverged_step))
            && wild.contains(&format!("non-finite loss at step {}", m.diverged_step)),
        "{wild}"
    );
    let broken = line(&text, "synthetic/broken/0");
    assert!(
        broken.contains("failed")
            && broken.contains(&format!(" {}/2000 ", m.broken_step))
            && broken.contains(&format!(
                "checkpoint {} is damaged or of another format: checksum mismatch",
                broken_checkpoint(&m.out)
            )),
        "{broken}"
    );

    let (code, doc) = status_json(out);
    assert_eq!(code, Some(exit_codes::INCOMPLETE), "{doc}");
    assert_eq!(doc["complete"], Value::Bool(false));
    let c = &doc["counts"];
    assert_eq!(
        (
            &c["tasks"],
            &c["done"],
            &c["pending"],
            &c["failed"],
            &c["diverged"]
        ),
        (&4.into(), &1.into(), &1.into(), &1.into(), &1.into()),
        "{doc}"
    );
    assert_eq!((&c["running"], &c["probably_dead"]), (&0.into(), &0.into()));
    let t = task(&doc, "synthetic/slow/0");
    assert_eq!(t["status"], "pending", "{t}");
    assert_eq!(t["steps_done"], m.slow_step, "{t}");
    assert_eq!(t["error"], Value::Null, "{t}");
    let t = task(&doc, "synthetic/wild/0");
    assert_eq!(t["status"], "diverged", "{t}");
    assert_eq!(t["steps_done"], m.diverged_step, "{t}");
    let t = task(&doc, "synthetic/broken/0");
    assert_eq!(t["status"], "failed", "{t}");
    assert!(
        t["error"].as_str().unwrap().starts_with(&format!(
            "checkpoint {} is damaged",
            broken_checkpoint(&m.out)
        )),
        "{t}"
    );
    let t = task(&doc, "synthetic/sgd/0");
    assert_eq!(
        (&t["status"], &t["steps_done"]),
        (&"done".into(), &STEPS.into())
    );
}

/// Asserts the "Sweep state" section of the report of a [`mixed`] output at `out`.
fn assert_mixed_report(out: &Path, m: &Mixed) {
    let html = html_state(out);
    for want in [
        "4 runs: 1 done, 1 unfinished, 1 diverged, 1 failed.".to_string(),
        "synthetic/sgd/0</td><td>done<".to_string(),
        format!(
            "synthetic/slow/0</td><td>unfinished at step {} of 2000<",
            m.slow_step
        ),
        format!(
            "synthetic/wild/0</td><td>diverged at step {}<",
            m.diverged_step
        ),
        format!(
            "synthetic/broken/0</td><td>failed: checkpoint {} is damaged",
            broken_checkpoint(&m.out)
        ),
    ] {
        assert!(
            html.contains(&want),
            "{want:?} not in the report's state:\n{html}"
        );
    }
}

#[test]
fn status_report_and_analyze_tell_done_unfinished_diverged_and_failed_runs_apart() {
    let m = mixed();
    // The checkpoint SIGTERM left is the step status shows.
    let saved = Checkpoint::load(&run_dir(&m.out, "slow", 0).join(CHECKPOINT_FILE))
        .unwrap()
        .unwrap();
    assert_eq!(saved.step, m.slow_step);
    assert_mixed_status(&m.out, m);

    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    copy_tree(&m.out, &out);
    let o = run(&["analyze", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("analysed 4 runs (1 finished)"), "{text}");
    assert!(
        text.contains("1 run(s) diverged: synthetic/wild/0."),
        "{text}"
    );
    let o = run(&["report", out.to_str().unwrap(), "--no-minima"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_mixed_report(&out, m);
}

#[test]
fn run_resumes_the_unfinished_run_retries_the_failed_one_and_skips_the_diverged_one() {
    let m = mixed();
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    copy_tree(&m.out, &out);
    let wild_before = files(&run_dir(&out, "wild", 0));
    let broken_row = |out: &Path| -> RunRecord {
        read_run_records(&out.join("runs.parquet"))
            .unwrap()
            .into_iter()
            .find(|r| r.optimizer.as_deref() == Some("broken"))
            .unwrap()
    };
    let failed_before = broken_row(&out);

    let o = launch(&m.sweep, &out, &[]);
    let log = stderr(&o);
    assert_eq!(o.status.code(), Some(exit_codes::RUNS_FAILED), "{log}");
    assert!(
        log.contains("1 resuming from a checkpoint")
            && log.contains(&format!(
                "(resuming: synthetic/slow/0 at step {}/2000)",
                m.slow_step
            )),
        "{log}"
    );
    assert!(
        log.contains(&format!(
            "resuming from its checkpoint at step {}",
            m.slow_step
        )),
        "{log}"
    );
    // Done and diverged runs are never started again; a failed one is retried, and fails
    // again on the same damaged file.
    assert!(!log.contains("start synthetic/sgd/0"), "{log}");
    assert!(!log.contains("start synthetic/wild/0"), "{log}");
    assert!(log.contains("start synthetic/broken/0"), "{log}");
    // The damaged checkpoint is said as such before the run fails on it, not "from step 0".
    assert!(
        log.contains("1 with a checkpoint that cannot be read (synthetic/broken/0)"),
        "{log}"
    );
    assert!(
        log.contains("start synthetic/broken/0")
            && log.lines().any(|l| l.contains("start synthetic/broken/0")
                && l.contains("its checkpoint cannot be read")),
        "{log}"
    );
    assert!(
        log.contains(&format!(
            "synthetic/broken/0: failed: checkpoint {} is damaged",
            broken_checkpoint(&out)
        )),
        "{log}"
    );
    assert!(
        log.contains(&format!(
            "synthetic/wild/0: diverged (non-finite loss at step {})",
            m.diverged_step
        )),
        "{log}"
    );
    assert!(
        files(&run_dir(&out, "wild", 0)) == wild_before,
        "the diverged run's files changed"
    );
    let failed_again = broken_row(&out);
    assert!(
        failed_again.end_time > failed_before.end_time,
        "{failed_before:?} → {failed_again:?}"
    );

    let (code, doc) = status_json(&out);
    assert_eq!(code, Some(exit_codes::INCOMPLETE), "{doc}");
    let c = &doc["counts"];
    assert_eq!(
        (&c["done"], &c["pending"], &c["failed"], &c["diverged"]),
        (&2.into(), &0.into(), &1.into(), &1.into()),
        "{doc}"
    );
    let slow = task(&doc, "synthetic/slow/0");
    assert_eq!(
        (&slow["status"], &slow["steps_done"]),
        (&"done".into(), &STEPS.into())
    );
    assert_eq!(task(&doc, "synthetic/broken/0")["status"], "failed");
    assert_eq!(task(&doc, "synthetic/wild/0")["status"], "diverged");

    // Without the damaged checkpoint the failed run starts over and finishes, its tables
    // holding each step once; a diverged run still keeps the sweep incomplete (exit 10).
    std::fs::remove_file(run_dir(&out, "broken", 0).join(CHECKPOINT_FILE)).unwrap();
    let o = launch(&m.sweep, &out, &[]);
    let log = stderr(&o);
    assert_eq!(o.status.code(), Some(exit_codes::RUNS_FAILED), "{log}");
    assert!(log.contains("1 of 4 tasks did not finish"), "{log}");
    let snapshots = read_snapshot_rows(&run_dir(&out, "broken", 0).join("snapshots")).unwrap();
    let steps: Vec<u64> = snapshots.iter().map(|r| r.step).collect();
    assert_eq!(steps, [0, 500, 1000, 1500, 2000]);
    let (code, text, _) = status_text(&out);
    assert_eq!(code, Some(exit_codes::INCOMPLETE), "{text}");
    assert!(
        text.contains("4 tasks: 3 done, 0 running, 0 pending, 0 failed, 1 diverged"),
        "{text}"
    );
}

// ---------------------------------------------------------------------------------------
// Sharded launches.

/// Every row of every runs table of `out`, by table file name.
fn rows_by_table(out: &Path) -> BTreeMap<String, Vec<RunRecord>> {
    runs_table_files(out)
        .into_iter()
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                read_run_records(&p).unwrap(),
            )
        })
        .collect()
}

fn label(r: &RunRecord) -> String {
    format!(
        "{}/{}/{}",
        r.dataset,
        r.optimizer.as_deref().unwrap(),
        r.seed.unwrap()
    )
}

#[test]
fn shards_are_read_together_and_duplicate_rows_are_ranked_by_one_rule() {
    let tmp = tempfile::tempdir().unwrap();
    let sweep = write_sweep(tmp.path(), "sharded.yaml", SHARDED_SWEEP);
    let out = tmp.path().join("out");
    // Shards are numbered from 0: `2/2` is no shard.
    let o = launch(&sweep, &out, &["--shard", "2/2"]);
    assert_eq!(o.status.code(), Some(exit_codes::USAGE), "{}", stderr(&o));
    assert!(stderr(&o).contains("--shard 2/2"), "{}", stderr(&o));
    assert!(!out.exists(), "a refused launch writes nothing");

    let o = launch(&sweep, &out, &["--shard", "0/2"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let (code, doc) = status_json(&out);
    assert_eq!(code, Some(exit_codes::INCOMPLETE), "{doc}");
    assert_eq!(
        (&doc["counts"]["done"], &doc["counts"]["pending"]),
        (&2.into(), &2.into()),
        "{doc}"
    );
    let first: Vec<String> = rows_by_table(&out)["runs-shard-0-of-2.parquet"]
        .iter()
        .map(label)
        .collect();
    for t in doc["tasks"].as_array().unwrap() {
        let mine = first.contains(&t["label"].as_str().unwrap().to_string());
        let want = if mine {
            ("done", Value::from("runs-shard-0-of-2.parquet"))
        } else {
            ("pending", Value::Null)
        };
        assert_eq!(
            (t["status"].as_str().unwrap(), &t["table"]),
            (want.0, &want.1),
            "{t}"
        );
    }

    let o = launch(&sweep, &out, &["--shard", "1/2"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let (code, doc) = status_json(&out);
    assert_eq!(code, Some(exit_codes::SUCCESS), "{doc}");
    let tables = rows_by_table(&out);
    let second: Vec<String> = tables["runs-shard-1-of-2.parquet"]
        .iter()
        .map(label)
        .collect();
    assert_eq!((first.len(), second.len()), (2, 2), "{tables:?}");
    for label in first.iter().chain(&second) {
        let t = task(&doc, label);
        assert_eq!(
            (&t["status"], &t["steps_done"]),
            (&"done".into(), &200.into()),
            "{t}"
        );
        let table = if first.contains(label) {
            "runs-shard-0-of-2.parquet"
        } else {
            "runs-shard-1-of-2.parquet"
        };
        assert_eq!(t["table"], table, "{t}");
    }
    assert_eq!(doc["tasks"].as_array().unwrap().len(), 4, "{doc}");

    // Two launches killed before folding each other's tables leave a row of every task in
    // runs.parquet as well. The rule: a finished row over any other, then the row changed
    // last, then (equal in both) the whole-sweep table.
    let row = |table: &str, label: &str| -> RunRecord {
        tables[table]
            .iter()
            .find(|r| self::label(r) == label)
            .unwrap()
            .clone()
    };
    let (x, z) = (first[0].as_str(), first[1].as_str());
    let (y, w) = (second[0].as_str(), second[1].as_str());
    let minute = 60_000;
    let x_done = row("runs-shard-0-of-2.parquet", x);
    let y_done = row("runs-shard-1-of-2.parquet", y);
    let z_done = row("runs-shard-0-of-2.parquet", z);
    let w_done = row("runs-shard-1-of-2.parquet", w);
    let stopped = |r: &RunRecord, status: &str, updated: i64| RunRecord {
        status: status.into(),
        steps_done: Some(100),
        snapshots_done: Some(1),
        end_time: None,
        updated_time: Some(updated),
        ..r.clone()
    };
    let failed = |r: &RunRecord, updated: i64| RunRecord {
        error: Some("an earlier attempt failed".into()),
        ..stopped(r, "failed", updated)
    };
    let u = |r: &RunRecord| r.updated_time.unwrap();
    // x: done in its shard, `running` later in runs.parquet: the finished row.
    // y: the same done row in both: runs.parquet's.
    // z, w (their runs killed after the last checkpoint, before `_SUCCESS`): failed in one
    // table, pending later in the other: the later row, whichever table holds it.
    write_table_atomically(
        &out.join("runs.parquet"),
        &[
            stopped(&x_done, "running", u(&x_done) + minute),
            y_done.clone(),
            stopped(&z_done, "pending", u(&z_done) + minute),
            failed(&w_done, u(&w_done) - minute),
        ],
    )
    .unwrap();
    write_table_atomically(
        &out.join("runs-shard-0-of-2.parquet"),
        &[x_done.clone(), failed(&z_done, u(&z_done))],
    )
    .unwrap();
    write_table_atomically(
        &out.join("runs-shard-1-of-2.parquet"),
        &[y_done.clone(), stopped(&w_done, "pending", u(&w_done))],
    )
    .unwrap();
    for label in [z, w] {
        std::fs::remove_file(label_dir(&out, label).join(SUCCESS_MARKER)).unwrap();
    }

    let (code, doc) = status_json(&out);
    assert_eq!(code, Some(exit_codes::INCOMPLETE), "{doc}");
    assert_eq!(
        doc["tasks"].as_array().unwrap().len(),
        4,
        "one line per task: {doc}"
    );
    let c = &doc["counts"];
    assert_eq!(
        (
            &c["done"],
            &c["pending"],
            &c["running"],
            &c["failed"],
            &c["probably_dead"]
        ),
        (&2.into(), &2.into(), &0.into(), &0.into(), &0.into()),
        "{doc}"
    );
    let expect = [
        (x, "done", 200, "runs-shard-0-of-2.parquet"),
        (y, "done", 200, "runs.parquet"),
        (z, "pending", 100, "runs.parquet"),
        (w, "pending", 100, "runs-shard-1-of-2.parquet"),
    ];
    for (label, status, steps, table) in expect {
        let t = task(&doc, label);
        assert_eq!(
            (&t["status"], &t["steps_done"], &t["table"], &t["error"]),
            (&status.into(), &steps.into(), &table.into(), &Value::Null),
            "{label}: {t}"
        );
    }
    // The report takes the same rows.
    let o = run(&["report", out.to_str().unwrap(), "--no-minima"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let html = html_state(&out);
    for (label, status) in [
        (x, "done"),
        (y, "done"),
        (z, "unfinished at step 100 of 200"),
        (w, "unfinished at step 100 of 200"),
    ] {
        let want = format!("{label}</td><td>{status}<");
        assert!(html.contains(&want), "{want:?} not in\n{html}");
    }
    // Read in format 1, the same rows are chosen.
    let old = tmp.path().join("format-1");
    copy_tree(&out, &old);
    rewrite_tables_as_format_1(&old);
    let (_, old_doc) = status_json(&old);
    assert_eq!(task_states(&old_doc), task_states(&doc));

    // Had the launches died after writing `_SUCCESS` but before updating their rows, the
    // markers prove z and w done, with every step, whatever the rows the rule chose say.
    for label in [z, w] {
        std::fs::write(label_dir(&out, label).join(SUCCESS_MARKER), b"").unwrap();
    }
    let (code, doc) = status_json(&out);
    assert_eq!(code, Some(exit_codes::SUCCESS), "{doc}");
    for (label, table) in [(z, "runs.parquet"), (w, "runs-shard-1-of-2.parquet")] {
        let t = task(&doc, label);
        assert_eq!(
            (
                &t["status"],
                &t["steps_done"],
                &t["snapshots_done"],
                &t["table"]
            ),
            (&"done".into(), &200.into(), &3.into(), &table.into()),
            "{label}: {t}"
        );
    }

    // A whole-sweep launch folds the shard tables: one row per task, with the record of the
    // row the rule chose where it agrees with the markers.
    let o = launch(&sweep, &out, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("found: 4 tasks finished (skipped)"),
        "{}",
        stderr(&o)
    );
    let tables = rows_by_table(&out);
    assert_eq!(tables.keys().collect::<Vec<_>>(), ["runs.parquet"]);
    let rows = &tables["runs.parquet"];
    assert_eq!(rows.len(), 4, "{rows:?}");
    assert!(rows.iter().all(|r| r.status == "done"), "{rows:?}");
    for kept in [&x_done, &y_done] {
        let folded = rows.iter().find(|r| r.key == kept.key).unwrap();
        assert_eq!(folded, kept, "the chosen finished row is carried as it was");
    }
    let (code, doc) = status_json(&out);
    assert_eq!(code, Some(exit_codes::SUCCESS), "{doc}");
    for t in doc["tasks"].as_array().unwrap() {
        assert_eq!(
            (&t["status"], &t["steps_done"], &t["table"]),
            (&"done".into(), &200.into(), &"runs.parquet".into()),
            "{t}"
        );
    }
}

/// The run directory of `dataset/optimizer/seed`.
fn label_dir(out: &Path, label: &str) -> PathBuf {
    let (optimizer, seed) = label
        .strip_prefix("synthetic/")
        .unwrap()
        .split_once('/')
        .unwrap();
    run_dir(out, optimizer, seed.parse().unwrap())
}

/// A run killed after its final checkpoint but before its `_SUCCESS` marker (its row left
/// `running` by the progress updates): the next launch finds it complete, writes the marker
/// (worker/src/run/start.rs) and must record it done in the runs table.
#[test]
fn a_run_killed_before_its_success_marker_is_recorded_done_by_the_next_launch() {
    let tmp = tempfile::tempdir().unwrap();
    let sweep = write_sweep(tmp.path(), "sharded.yaml", SHARDED_SWEEP);
    let out = tmp.path().join("out");
    let o = launch(&sweep, &out, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let table = out.join("runs.parquet");
    let rows = read_run_records(&table).unwrap();
    let done = rows
        .iter()
        .find(|r| label(r) == "synthetic/sgd/0")
        .unwrap()
        .clone();
    let killed = RunRecord {
        status: "running".into(),
        steps_done: Some(100),
        snapshots_done: Some(1),
        end_time: None,
        ..done.clone()
    };
    let rows: Vec<RunRecord> = rows
        .into_iter()
        .map(|r| if r.key == done.key { killed.clone() } else { r })
        .collect();
    write_table_atomically(&table, &rows).unwrap();
    let dir = run_dir(&out, "sgd", 0);
    std::fs::remove_file(dir.join(SUCCESS_MARKER)).unwrap();
    let (code, doc) = status_json(&out);
    assert_eq!(code, Some(exit_codes::INCOMPLETE), "{doc}");
    let t = task(&doc, "synthetic/sgd/0");
    assert_eq!(
        (&t["status"], &t["probably_dead"]),
        (&"running".into(), &true.into()),
        "{t}"
    );

    let o = launch(&sweep, &out, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(dir.join(SUCCESS_MARKER).exists());
    let row = read_run_records(&table)
        .unwrap()
        .into_iter()
        .find(|r| r.key == done.key)
        .unwrap();
    assert_eq!(
        (row.status.as_str(), row.steps_done, row.snapshots_done),
        ("done", Some(200), Some(3)),
        "{row:?}"
    );
    assert!(row.end_time.is_some(), "{row:?}");
}

// ---------------------------------------------------------------------------------------
// Outputs of table format 1, as eigensweep wrote them before issue 11 (made by
// tests/support/format1.rs).

#[test]
fn a_format_1_output_reads_with_the_same_states_and_is_not_resumed_into() {
    let m = mixed();
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    copy_tree(&m.out, &out);
    rewrite_tables_as_format_1(&out);
    assert_eq!(version(&out.join("runs.parquet")), FormatVersion::V1);
    let slow_part = run_dir(&out, "slow", 0).join("metrics/part-00000.parquet");
    assert_eq!(version(&slow_part), FormatVersion::V1);

    // `status` and `report` read the format-1 tables as they read the original's.
    assert_mixed_status(&out, m);
    let (_, want) = status_json(&m.out);
    let (_, got) = status_json(&out);
    assert_eq!(task_states(&got), task_states(&want));
    let o = run(&["report", out.to_str().unwrap(), "--no-minima"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_mixed_report(&out, m);
    std::fs::remove_dir_all(out.join("report")).unwrap();

    // `run` does not add format-2 parts to format-1 tables: exit 3 naming a file and both
    // versions; nothing changes, the unfinished run's checkpoint included.
    let before = output_files(&out);
    let o = launch(&m.sweep, &out, &[]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(exit_codes::INPUT), "{err}");
    assert!(
        err.contains(
            "part-00000.parquet is in table format version 1, but this build writes version 2"
        ) && err.contains("--out"),
        "{err}"
    );
    assert!(
        output_files(&out) == before,
        "the refused launch changed the output"
    );

    // One format-1 file among format-2 tables (a part copied in from an older output) is
    // refused the same way, by its name, and still read by `status`.
    let mixed_out = tmp.path().join("mixed");
    copy_tree(&m.out, &mixed_out);
    let part = run_dir(&mixed_out, "slow", 0).join("metrics/part-00000.parquet");
    rewrite_as_format_1(&part);
    let (_, got) = status_json(&mixed_out);
    assert_eq!(task_states(&got), task_states(&want));
    let before = output_files(&mixed_out);
    let o = launch(&m.sweep, &mixed_out, &[]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(exit_codes::INPUT), "{err}");
    assert!(
        err.contains(&format!("{} is in table format version 1", part.display())),
        "{err}"
    );
    assert!(
        output_files(&mixed_out) == before,
        "the refused launch changed the output"
    );
}
