//! End-to-end tests of `eigensweep status OUT`: counts and exit codes of complete,
//! interrupted, sharded and orphaned sweeps, the JSON document, and that it writes nothing.

#[path = "support/mod.rs"]
mod support;

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant, SystemTime};

use eigensweep_common::exit_codes;
use eigensweep_worker::output::read_run_records;
use serde_json::Value;
use support::{eigensweep, run, small_sweep_args, stderr};

fn status(out: &Path, json: bool) -> Output {
    let mut args = vec!["status", out.to_str().unwrap()];
    if json {
        args.push("--json");
    }
    run(&args)
}

fn status_json(out: &Path) -> (Option<i32>, Value) {
    let o = status(out, true);
    let doc: Value = serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}\n{}",
            String::from_utf8_lossy(&o.stdout),
            stderr(&o)
        )
    });
    (o.status.code(), doc)
}

fn count(doc: &Value, what: &str) -> u64 {
    doc["counts"][what]
        .as_u64()
        .unwrap_or_else(|| panic!("counts.{what}: {doc}"))
}

fn tasks(doc: &Value) -> &Vec<Value> {
    doc["tasks"].as_array().expect("tasks array")
}

/// Every file under `dir` with its length and modification time.
fn listing(dir: &Path) -> Vec<(String, u64, SystemTime)> {
    let mut all = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let meta = e.metadata().unwrap();
            if meta.is_dir() {
                stack.push(e.path());
            } else {
                all.push((
                    e.path().display().to_string(),
                    meta.len(),
                    meta.modified().unwrap(),
                ));
            }
        }
    }
    all.sort();
    all
}

#[test]
fn status_of_a_complete_sweep_exits_0_writes_nothing_and_counts_right() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let o = run(&small_sweep_args(
        out.to_str().unwrap(),
        &["--set", "training.steps=60"],
    ));
    assert!(o.status.success(), "{}", stderr(&o));
    let before = listing(&out);

    let o = status(&out, false);
    assert_eq!(o.status.code(), Some(exit_codes::SUCCESS), "{}", stderr(&o));
    let text = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(
        text.contains("7 tasks: 7 done, 0 running, 0 pending, 0 failed, 0 diverged"),
        "{text}"
    );
    assert!(text.contains("synthetic/adam/0"), "{text}");
    assert!(text.contains("60/60"), "steps of a finished run: {text}");

    let (code, doc) = status_json(&out);
    assert_eq!(code, Some(exit_codes::SUCCESS));
    assert_eq!(doc["complete"], Value::Bool(true));
    assert_eq!(doc["sweep"], "quickstart");
    assert_eq!((count(&doc, "tasks"), count(&doc, "done")), (7, 7));
    assert_eq!(tasks(&doc).len(), 7);
    for t in tasks(&doc) {
        assert_eq!(t["status"], "done", "{t}");
        assert_eq!(t["probably_dead"], Value::Bool(false), "{t}");
        if t["kind"] == "run" {
            assert_eq!(t["steps_done"], 60, "{t}");
            assert_eq!(t["steps_total"], 60, "{t}");
            assert!(t["updated_time_ms"].as_i64().is_some(), "{t}");
        }
    }
    assert!(doc["launches"].as_array().unwrap().is_empty(), "{doc}");
    assert_eq!(listing(&out), before, "status must not write anything");
}

#[test]
fn status_of_an_interrupted_sweep_exits_10_with_pending_tasks_and_their_progress() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let args = small_sweep_args(out.to_str().unwrap(), &["--set", "training.steps=960"]);
    let child = eigensweep(&args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Stop it once the first run has made progress that a checkpoint keeps.
    let first = out.join("runs/dataset=synthetic/optimizer=sgd/seed=0/checkpoint.bin");
    let deadline = Instant::now() + Duration::from_secs(120);
    while !first.exists() {
        assert!(Instant::now() < deadline, "no checkpoint appeared");
        std::thread::sleep(Duration::from_millis(50));
    }
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let o = child.wait_with_output().unwrap();
    assert_eq!(
        o.status.code(),
        Some(exit_codes::INTERRUPTED),
        "{}",
        stderr(&o)
    );

    let o = status(&out, false);
    assert_eq!(
        o.status.code(),
        Some(exit_codes::INCOMPLETE),
        "{}",
        stderr(&o)
    );
    assert!(stderr(&o).contains("not complete"), "{}", stderr(&o));
    let (code, doc) = status_json(&out);
    assert_eq!(code, Some(exit_codes::INCOMPLETE));
    assert_eq!(doc["complete"], Value::Bool(false));
    assert_eq!(count(&doc, "tasks"), 7);
    assert_eq!(count(&doc, "running"), 0, "{doc}");
    assert!(count(&doc, "pending") >= 1, "{doc}");
    assert_eq!(count(&doc, "done") + count(&doc, "pending"), 7, "{doc}");
    // The interrupted run kept its progress: some steps, fewer than all.
    let sgd = tasks(&doc)
        .iter()
        .find(|t| t["label"] == "synthetic/sgd/0")
        .unwrap();
    assert_eq!(sgd["status"], "pending", "{sgd}");
    let steps = sgd["steps_done"].as_u64().unwrap_or(0);
    assert!(steps > 0 && steps < 960, "{sgd}");
    assert_eq!(doc["eta_seconds"], Value::Null, "nothing runs: no ETA");
}

#[test]
fn a_running_task_whose_launch_died_is_flagged_probably_dead() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let args = small_sweep_args(out.to_str().unwrap(), &["--set", "training.steps=960"]);
    let mut child = eigensweep(&args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let table = out.join("runs.parquet");
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let running = read_run_records(&table)
            .map(|r| r.iter().any(|r| r.status == "running"))
            .unwrap_or(false);
        if running {
            break;
        }
        assert!(Instant::now() < deadline, "no task became running");
        std::thread::sleep(Duration::from_millis(50));
    }
    // While it runs: the launch is named, the running task is alive.
    let (code, doc) = status_json(&out);
    assert_eq!(code, Some(exit_codes::INCOMPLETE), "{doc}");
    let launches = doc["launches"].as_array().unwrap();
    assert_eq!(launches.len(), 1, "{doc}");
    assert_eq!(launches[0]["holder"]["pid"], child.id(), "{doc}");
    assert!(count(&doc, "running") >= 1, "{doc}");
    assert_eq!(count(&doc, "probably_dead"), 0, "{doc}");
    assert!(
        child.try_wait().unwrap().is_none(),
        "the sweep ended too early"
    );

    child.kill().unwrap(); // SIGKILL: the row stays `running`
    child.wait().unwrap();
    let (code, doc) = status_json(&out);
    assert_eq!(code, Some(exit_codes::INCOMPLETE));
    assert!(count(&doc, "probably_dead") >= 1, "{doc}");
    assert_eq!(
        count(&doc, "probably_dead"),
        count(&doc, "running"),
        "{doc}"
    );
    let dead = tasks(&doc)
        .iter()
        .find(|t| t["status"] == "running")
        .unwrap();
    assert_eq!(dead["probably_dead"], Value::Bool(true), "{dead}");
    assert!(
        dead["dead_reason"]
            .as_str()
            .unwrap()
            .contains("no launch holds .eigensweep-lock"),
        "{dead}"
    );
    assert!(doc["launches"].as_array().unwrap().is_empty(), "{doc}");
    let text = String::from_utf8_lossy(&status(&out, false).stdout).into_owned();
    assert!(text.contains("PROBABLY DEAD"), "{text}");
    assert!(text.contains("none holds this output"), "{text}");
}

#[test]
fn status_reads_every_shard_table_and_counts_unlaunched_shards_as_pending() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let shard = |s: &str| {
        run(&small_sweep_args(
            out.to_str().unwrap(),
            &["--set", "training.steps=30", "--shard", s],
        ))
    };
    let o = shard("0/2");
    assert!(o.status.success(), "{}", stderr(&o));
    // Shard 0 of 2: runs 0 and 2, baseline networks 1 and 3 (tasks 0, 2, 4, 6 of 7).
    let (code, doc) = status_json(&out);
    assert_eq!(code, Some(exit_codes::INCOMPLETE));
    assert_eq!(
        (count(&doc, "done"), count(&doc, "pending")),
        (4, 3),
        "{doc}"
    );
    let o = shard("1/2");
    assert!(o.status.success(), "{}", stderr(&o));
    let (code, doc) = status_json(&out);
    assert_eq!(code, Some(exit_codes::SUCCESS), "{doc}");
    assert_eq!(count(&doc, "done"), 7);
    let tables: Vec<&str> = tasks(&doc)
        .iter()
        .map(|t| t["table"].as_str().unwrap())
        .collect();
    assert!(tables.contains(&"runs-shard-0-of-2.parquet"), "{tables:?}");
    assert!(tables.contains(&"runs-shard-1-of-2.parquet"), "{tables:?}");
}

#[test]
fn status_of_a_directory_that_is_not_an_output_exits_3() {
    let tmp = tempfile::tempdir().unwrap();
    let o = status(tmp.path(), false);
    assert_eq!(o.status.code(), Some(exit_codes::INPUT), "{}", stderr(&o));
    assert!(stderr(&o).contains("not a sweep output"), "{}", stderr(&o));
    let o = status(&tmp.path().join("missing"), true);
    assert_eq!(o.status.code(), Some(exit_codes::INPUT), "{}", stderr(&o));
    assert!(o.stdout.is_empty());
}

/// A sweep on a directory of IDX files (its runs are keyed on the files' digest, which
/// `status` takes from the runs table instead of reading the data): every task is found done.
#[test]
fn status_finds_the_tasks_of_a_directory_dataset() {
    let data = std::env::var_os("EIGENSWEEP_TEST_MNIST_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| support::repo_root().join("../shared/data/mnist-10k"))
        .canonicalize()
        .expect("set EIGENSWEEP_TEST_MNIST_DIR to a directory with MNIST IDX files");
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let source = format!("datasets[0].source={}", data.display());
    let o = run(&small_sweep_args(
        out.to_str().unwrap(),
        &[
            "--set",
            &source,
            "--set",
            "datasets[0].test_size=200",
            "--set",
            "seeds=[0]",
        ],
    ));
    assert!(o.status.success(), "{}", stderr(&o));
    let (code, doc) = status_json(&out);
    assert_eq!(code, Some(exit_codes::SUCCESS), "{doc}");
    assert_eq!(count(&doc, "done"), count(&doc, "tasks"), "{doc}");
    assert!(tasks(&doc).iter().all(|t| t["status"] == "done"), "{doc}");
}
