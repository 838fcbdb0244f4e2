//! End-to-end tests of the output lock: one `run` launch per output (or per shard of it), a
//! dead holder never blocks the next launch, and one analysis writer at a time beside a run.

#[path = "support/mod.rs"]
mod support;

use std::fs::{File, OpenOptions};
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use eigensweep_common::exit_codes;
use eigensweep_worker::output::{read_run_records, read_snapshot_rows};
use support::{eigensweep, run, run_dirs, small_sweep_args, stderr};

/// A sweep long enough to still be running while the test launches others against it.
fn long_args<'a>(out: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut v = vec!["--set", "training.steps=480"];
    v.extend_from_slice(extra);
    small_sweep_args(out, &v)
}

fn spawn(args: &[&str]) -> Child {
    eigensweep(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Waits until the lock file `name` in `out` names `pid` as its holder; returns its JSON.
fn wait_for_holder(out: &Path, name: &str, pid: u32) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(text) = std::fs::read_to_string(out.join(name)) {
            if let Ok(v) = serde_json::from_str::<serde_json::Value>(&text) {
                if v["pid"].as_u64() == Some(u64::from(pid)) {
                    return v;
                }
            }
        }
        assert!(Instant::now() < deadline, "{name} never named PID {pid}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .unwrap()
        .trim()
        .to_string()
}

fn assert_still_running(child: &mut Child, what: &str) {
    assert!(
        child.try_wait().unwrap().is_none(),
        "{what}: the first launch ended too early for this test to mean anything"
    );
}

fn assert_complete(out: &Path, table: &str) {
    let records = read_run_records(&out.join(table)).unwrap();
    assert!(
        records.iter().all(|r| r.status == "done"),
        "{table}: {records:?}"
    );
}

#[test]
fn second_launch_on_the_same_output_is_refused_naming_the_first() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let args = long_args(out.to_str().unwrap(), &[]);
    let mut first = spawn(&args);
    let holder = wait_for_holder(&out, ".eigensweep-lock", first.id());

    let started = Instant::now();
    let second = run(&args);
    let took = started.elapsed();
    assert_eq!(
        second.status.code(),
        Some(exit_codes::LOCKED),
        "{}",
        stderr(&second)
    );
    assert!(took < Duration::from_secs(10), "refused after {took:?}");
    let text = stderr(&second);
    let since = holder["started"].as_str().unwrap();
    for wanted in [
        host_name(),
        format!("PID {}", first.id()),
        since.to_string(),
        "the whole sweep".to_string(),
    ] {
        assert!(text.contains(&wanted), "`{wanted}` missing from: {text}");
    }
    assert!(since.ends_with("UTC"), "{since}");
    // Refused before it started anything: no banner, no task.
    assert!(!text.contains("baseline networks →"), "{text}");
    assert_still_running(&mut first, "second launch");

    let o = first.wait_with_output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert_complete(&out, "runs.parquet");
    for dir in run_dirs(&out) {
        // Steps 0, 30, …, 480: 17 snapshots × top-3, each written once.
        let snaps = read_snapshot_rows(&dir.join("snapshots")).unwrap();
        assert_eq!(snaps.len(), 17 * 3, "{}", dir.display());
    }
}

#[test]
fn a_held_lock_stops_a_launch_before_it_writes_anything() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    std::fs::create_dir(&out).unwrap();
    // Held by someone who has not (yet) written who they are.
    let lock = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(out.join(".eigensweep-lock"))
        .unwrap();
    lock.try_lock().unwrap();
    let o = run(&small_sweep_args(out.to_str().unwrap(), &[]));
    assert_eq!(o.status.code(), Some(exit_codes::LOCKED), "{}", stderr(&o));
    assert!(stderr(&o).contains("holder unknown"), "{}", stderr(&o));
    let left: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(left, [".eigensweep-lock"], "nothing else may be written");
    drop(lock);
    // --no-lock is the way around a filesystem without locks (here: around the holder).
    let lock = File::open(out.join(".eigensweep-lock")).unwrap();
    lock.try_lock_shared().unwrap();
    let o = run(&small_sweep_args(
        out.to_str().unwrap(),
        &["--no-lock", "--set", "training.steps=30"],
    ));
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("--no-lock"), "{}", stderr(&o));
}

#[test]
fn a_killed_launch_does_not_block_the_next() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let args = small_sweep_args(out.to_str().unwrap(), &[]);
    let mut first = spawn(&args);
    wait_for_holder(&out, ".eigensweep-lock", first.id());
    std::thread::sleep(Duration::from_millis(500));
    first.kill().unwrap(); // SIGKILL: no chance to unlock by itself
    first.wait().unwrap();
    let o = run(&args);
    assert!(o.status.success(), "relaunch after SIGKILL: {}", stderr(&o));
    assert_complete(&out, "runs.parquet");
}

#[test]
fn shards_run_side_by_side_but_never_twice_nor_beside_a_whole_launch() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let out_s = out.to_str().unwrap();
    let mut zero = spawn(&long_args(out_s, &["--shard", "0/2"]));
    wait_for_holder(&out, ".eigensweep-lock-shard-0-of-2", zero.id());

    let again = run(&long_args(out_s, &["--shard", "0/2"]));
    assert_eq!(
        again.status.code(),
        Some(exit_codes::LOCKED),
        "{}",
        stderr(&again)
    );
    assert!(stderr(&again).contains("shard 0/2"), "{}", stderr(&again));
    let whole = run(&long_args(out_s, &[]));
    assert_eq!(
        whole.status.code(),
        Some(exit_codes::LOCKED),
        "{}",
        stderr(&whole)
    );
    assert!(
        stderr(&whole).contains(&format!("PID {}", zero.id())),
        "the whole-sweep launch names the shard in its way: {}",
        stderr(&whole)
    );
    // A shard of another split would overlap it.
    let other_split = run(&long_args(out_s, &["--shard", "1/3"]));
    assert_eq!(
        other_split.status.code(),
        Some(exit_codes::LOCKED),
        "{}",
        stderr(&other_split)
    );
    assert!(
        stderr(&other_split).contains("another split"),
        "{}",
        stderr(&other_split)
    );
    assert_still_running(&mut zero, "shard refusals");

    // The other shard works beside it.
    let one = run(&long_args(out_s, &["--shard", "1/2"]));
    assert!(one.status.success(), "{}", stderr(&one));
    let o = zero.wait_with_output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert_complete(&out, "runs-shard-0-of-2.parquet");
    assert_complete(&out, "runs-shard-1-of-2.parquet");

    // And the other way round: a whole-sweep launch keeps shards out.
    let other = tmp.path().join("other");
    let mut whole = spawn(&long_args(other.to_str().unwrap(), &[]));
    wait_for_holder(&other, ".eigensweep-lock", whole.id());
    let shard = run(&long_args(other.to_str().unwrap(), &["--shard", "1/2"]));
    assert_eq!(
        shard.status.code(),
        Some(exit_codes::LOCKED),
        "{}",
        stderr(&shard)
    );
    assert!(
        stderr(&shard).contains("the whole sweep"),
        "{}",
        stderr(&shard)
    );
    assert_still_running(&mut whole, "shard during a whole launch");
    whole.kill().unwrap();
    whole.wait().unwrap();
}

#[test]
fn analyze_runs_beside_a_launch_but_not_beside_another_analysis() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let out_s = out.to_str().unwrap();
    let mut launch = spawn(&long_args(out_s, &[]));
    wait_for_holder(&out, ".eigensweep-lock", launch.id());
    // Wait for the first snapshot parts, then analyse what is there while the run goes on.
    let first_run = &run_dirs(&out)[0];
    let deadline = Instant::now() + Duration::from_secs(120);
    while read_snapshot_rows(&first_run.join("snapshots")).map_or(true, |r| r.is_empty()) {
        assert!(Instant::now() < deadline, "no snapshot part appeared");
        std::thread::sleep(Duration::from_millis(100));
    }
    let o = run(&["analyze", out_s, "-w", "1"]);
    assert!(o.status.success(), "analyze beside a run: {}", stderr(&o));
    assert_still_running(&mut launch, "analyze beside a run");

    // A second analysis writer is refused, naming the first.
    let holder = OpenOptions::new()
        .read(true)
        .write(true)
        .open(out.join(".eigensweep-analysis-lock"))
        .unwrap();
    holder.try_lock().unwrap();
    for cmd in [
        vec!["analyze", out_s, "-w", "1"],
        vec!["report", out_s, "--no-minima"],
        vec!["minima", out_s],
    ] {
        let o = run(&cmd);
        assert_eq!(
            o.status.code(),
            Some(exit_codes::LOCKED),
            "{cmd:?}: {}",
            stderr(&o)
        );
        assert!(
            stderr(&o).contains("is in use by another launch (the analysis"),
            "{}",
            stderr(&o)
        );
    }
    launch.kill().unwrap();
    launch.wait().unwrap();
}
