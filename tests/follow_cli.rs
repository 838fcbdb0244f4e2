//! `eigensweep analyze OUT --follow` (issue 25.2) beside a running `run`: the tables grow
//! while the sweep runs, `_frontier.json` says how far, the follower ends by itself with the
//! tables `analyze --force` writes, holds the analysis lock, stops with exit 8 on SIGTERM and
//! goes on after a SIGKILL.

#[path = "support/mod.rs"]
mod support;

use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use eigensweep_common::exit_codes;
use eigensweep_worker::output::{read_run_records, runs_table_path};
use support::stop::{assert_same_files, copy_tree, sigterm, temp_files, wait_at_most};
use support::{eigensweep, run, small_sweep_args, stderr};

fn follower(out: &Path, report: bool) -> Child {
    let mut args = vec![
        "analyze",
        out.to_str().unwrap(),
        "--follow",
        "--poll-seconds",
        "0.5",
        "-w",
        "1",
    ];
    if report {
        args.push("--report");
    }
    eigensweep(&args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// The tables of `out` equal those `analyze --force` writes on a copy of it.
fn assert_final(out: &Path, tmp: &Path) {
    let copy = tmp.join("forced");
    copy_tree(out, &copy);
    let o = run(&["analyze", copy.to_str().unwrap(), "--force", "-w", "1"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_same_files(
        &copy.join("analysis"),
        &out.join("analysis"),
        "followed against --force",
    );
}

/// (snapshots, runs, finished) of each `pass N: … tables complete for S snapshots of R runs
/// (F finished) …` line.
fn passes(stdout: &str) -> Vec<(u64, u64, u64)> {
    stdout
        .lines()
        .filter_map(|l| {
            let rest = l.split("tables complete for ").nth(1)?;
            let words: Vec<&str> = rest.split_whitespace().collect();
            let n = |w: &str| w.trim_start_matches('(').parse::<u64>().ok();
            Some((n(words[0])?, n(words[3])?, n(words[5])?))
        })
        .collect()
}

#[test]
fn the_tables_follow_a_running_sweep_and_end_as_analyze_force_writes_them() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    // Started first: it waits for the launch to write the output.
    let follower = follower(&out, true);
    // One run at a time: the follower sees runs finished while others have not started.
    let o = run(&small_sweep_args(out.to_str().unwrap(), &["--jobs", "1"]));
    assert!(o.status.success(), "{}", stderr(&o));
    let (o, _) = wait_at_most(follower, Duration::from_secs(180), "analyze --follow");
    let text = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(o.status.success(), "{text}\n{}", stderr(&o));
    assert!(text.contains("the tables in"), "{text}");
    let passes = passes(&text);
    assert!(
        passes.iter().any(|&(s, _, f)| s > 0 && f < 3),
        "no pass saw pair rows before the sweep's 3 runs had finished:\n{text}"
    );
    assert_eq!(passes.last().map(|p| (p.1, p.2)), Some((3, 3)), "{text}");
    // Every pass says what the live job set saw change, and the set never missed a job the
    // manifest says is stale (which the pass would have computed "again").
    let pass_lines: Vec<&str> = text.lines().filter(|l| l.starts_with("pass ")).collect();
    assert_eq!(pass_lines.len(), passes.len(), "{text}");
    assert!(
        pass_lines.iter().all(|l| l.contains("tiles changed: ")),
        "{text}"
    );
    assert!(!text.contains("no longer held"), "{text}");
    let frontier: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(out.join("analysis/_frontier.json")).unwrap(),
    )
    .unwrap();
    let runs = frontier["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 3, "{frontier}");
    for r in runs {
        assert_eq!(r["last_step"], 240, "{frontier}");
        assert_eq!(r["finished"], true, "{frontier}");
    }
    // The report was drawn as the sweep went, and at the end with Figure 8's minima.
    assert!(out.join("report/index.html").is_file());
    assert!(text.contains("computing the minima comparison"), "{text}");
    assert!(temp_files(&out).is_empty(), "{:?}", temp_files(&out));
    assert_final(&out, tmp.path());
}

#[test]
fn a_follower_holds_the_lock_stops_on_sigterm_and_goes_on_after_sigkill() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let args = small_sweep_args(out.to_str().unwrap(), &["--jobs", "1"]);
    // A sweep stopped part-way: not settled, so followers wait for more.
    let launch = eigensweep(&args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while !read_run_records(&runs_table_path(&out)).is_ok_and(|rows| {
        rows.iter()
            .any(|r| r.snapshots_done.is_some_and(|n| n >= 2))
    }) {
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "no progress within 120 s"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    sigterm(&launch);
    let (o, _) = wait_at_most(launch, Duration::from_secs(60), "run");
    assert_eq!(
        o.status.code(),
        Some(exit_codes::INTERRUPTED),
        "{}",
        stderr(&o)
    );

    let wait_for_frontier = |what: &str| {
        let start = Instant::now();
        while !out.join("analysis/_frontier.json").is_file() {
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "{what}: no frontier in 60 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    let first = follower(&out, false);
    wait_for_frontier("first follower");
    // A second follower (or any analysis) is refused while the first holds the lock.
    let o = run(&["analyze", out.to_str().unwrap(), "--follow"]);
    assert_eq!(o.status.code(), Some(exit_codes::LOCKED), "{}", stderr(&o));
    sigterm(&first);
    let (o, took) = wait_at_most(first, Duration::from_secs(10), "analyze --follow");
    assert_eq!(
        o.status.code(),
        Some(exit_codes::INTERRUPTED),
        "{}",
        stderr(&o)
    );
    assert!(took < Duration::from_secs(5), "{took:?} to stop");
    assert!(stderr(&o).contains("_frontier.json"), "{}", stderr(&o));
    assert!(temp_files(&out).is_empty(), "{:?}", temp_files(&out));

    // Killed outright, a follower leaves the lock to the next one.
    let mut killed = follower(&out, false);
    std::thread::sleep(Duration::from_millis(1500));
    killed.kill().unwrap();
    killed.wait().unwrap();
    let last = follower(&out, false);
    let o = run(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    let (o, _) = wait_at_most(last, Duration::from_secs(120), "analyze --follow");
    assert!(o.status.success(), "{}", stderr(&o));
    // Its first pass started from the manifest the first follower left: it reused the jobs
    // whose tiles had not changed since.
    let text = String::from_utf8_lossy(&o.stdout).into_owned();
    let reused = text
        .lines()
        .find(|l| l.starts_with("pass 1:"))
        .and_then(|l| l.split(" computed, ").nth(1))
        .and_then(|r| r.split_whitespace().next())
        .and_then(|n| n.parse::<u64>().ok());
    assert!(reused.is_some_and(|n| n > 0), "{text}");
    assert_final(&out, tmp.path());
}
