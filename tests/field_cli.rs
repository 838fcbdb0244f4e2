//! End-to-end tests of a sweep in the field: preemption at any moment (mid eigen-solve, mid
//! baseline network), a closed progress pipe, a full output filesystem, progress in batch logs.
//! Each runs the real binary and asserts the exit code, the message, the time bound and that
//! the final tables equal an uninterrupted run's.

mod support;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use eigensweep_common::exit_codes;
use eigensweep_worker::output::{read_baseline_rows, read_run_records};
use support::{
    assert_same_baseline_and_status, assert_same_tables, eigensweep, run, small_sweep_args, stderr,
};

/// The real digits (8,000 / 2,000) of `../shared/data/mnist-10k`, or `$EIGENSWEEP_TEST_MNIST_DIR`.
fn mnist_10k() -> PathBuf {
    let dir = std::env::var_os("EIGENSWEEP_TEST_MNIST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| support::repo_root().join("../shared/data/mnist-10k"));
    assert!(
        dir.is_dir(),
        "set EIGENSWEEP_TEST_MNIST_DIR to a directory with MNIST IDX files (tried {})",
        dir.display()
    );
    dir.canonicalize().unwrap()
}

/// The full MNIST (60,000 / 10,000) of `../shared/data/mnist`, or `$EIGENSWEEP_TEST_MNIST_FULL_DIR`.
fn mnist_full() -> PathBuf {
    let dir = std::env::var_os("EIGENSWEEP_TEST_MNIST_FULL_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| support::repo_root().join("../shared/data/mnist"));
    assert!(
        dir.is_dir(),
        "set EIGENSWEEP_TEST_MNIST_FULL_DIR to a directory with the full MNIST IDX files (tried {})",
        dir.display()
    );
    dir.canonicalize().unwrap()
}

/// A sweep of one SGD run on `data` (the first `train` digits) with top-15 eigenpairs at tol 0
/// at steps 0 and `steps`, and `networks` baseline networks with the same solver settings.
fn top15_sweep(dir: &Path, data: &Path, train: usize, steps: u64, networks: usize) -> PathBuf {
    let path = dir.join("top15.yaml");
    std::fs::write(
        &path,
        format!(
            "name: top15
datasets:
  - {{name: mnist, source: {}, train_size: {train}, test_size: 500}}
training: {{steps: {steps}, batch_size: 128}}
optimizers:
  - {{name: sgd, kind: sgd, lr: 1.0e-2}}
seeds: [0]
snapshots:
  schedule: {{steps: [0, {steps}]}}
  top_k: 15
  tol: 0.0
  store_weights: true
baseline: {{networks: {networks}, top_k: 15, tol: 0.0}}
",
            data.display()
        ),
    )
    .unwrap();
    path
}

/// A launch whose stderr lines are collected as they come.
struct Launch {
    child: Child,
    lines: mpsc::Receiver<String>,
    log: Arc<Mutex<String>>,
}

impl Launch {
    fn start(args: &[&str], env: &[(&str, &str)]) -> Self {
        let mut cmd = eigensweep(args);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let (tx, lines) = mpsc::channel();
        let log = Arc::new(Mutex::new(String::new()));
        let log2 = Arc::clone(&log);
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                log2.lock().unwrap().push_str(&format!("{line}\n"));
                let _ = tx.send(line);
            }
        });
        Self { child, lines, log }
    }

    /// Waits (at most `limit`) for a line containing `pattern`.
    fn wait_for(&self, pattern: &str, limit: Duration) {
        let deadline = Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) if line.contains(pattern) => return,
                Ok(_) => {}
                Err(_) => panic!(
                    "no line with {pattern:?} within {limit:?}; stderr so far:\n{}",
                    self.log()
                ),
            }
        }
    }

    fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Waits for the exit (at most `limit`, else kills and fails).
    fn wait(&mut self, limit: Duration) -> ExitStatus {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                // Let the reader thread take the last lines.
                std::thread::sleep(Duration::from_millis(100));
                return status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!(
                    "still running {limit:?} after it should have ended; stderr:\n{}",
                    self.log()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }
}

/// Starts `args`, waits (at most `line_limit`) for a stderr line with `line`, sends SIGTERM
/// `delay` later and asserts exit 8 within 10 s of the signal (the budget: 5 s plus one
/// product block). Returns the launch's stderr.
fn stop_after(args: &[&str], line: &str, line_limit: Duration, delay: Duration) -> String {
    let mut launch = Launch::start(args, &[]);
    launch.wait_for(line, line_limit);
    std::thread::sleep(delay);
    let signalled = Instant::now();
    launch.signal("TERM");
    let status = launch.wait(Duration::from_secs(60));
    let took = signalled.elapsed();
    let log = launch.log();
    assert_eq!(status.code(), Some(exit_codes::INTERRUPTED), "{log}");
    assert!(
        took <= Duration::from_secs(10),
        "exit {took:?} after SIGTERM (budget: 5 s plus one product block)\n{log}"
    );
    log
}

/// Every file under `dir` whose name marks it as temporary.
fn temporary_files(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let name = p.file_name().unwrap().to_string_lossy().into_owned();
                if name.ends_with(".tmp") || name.contains(".partial-") {
                    found.push(p);
                }
            }
        }
    }
    found
}

fn run_dir(out: &Path) -> PathBuf {
    out.join("runs/dataset=mnist/optimizer=sgd/seed=0")
}

/// Row-by-row comparison of the one run's tables (Debug text: exact and NaN-equal).
fn assert_same_run(reference: &Path, out: &Path) {
    use eigensweep_worker::output::{read_metric_rows, read_snapshot_rows, read_weight_rows};
    let (a, b) = (run_dir(reference), run_dir(out));
    let snaps = read_snapshot_rows(&a.join("snapshots")).unwrap();
    assert_eq!(snaps.len(), 30, "two snapshots of 15 pairs");
    assert_eq!(
        format!("{snaps:?}"),
        format!("{:?}", read_snapshot_rows(&b.join("snapshots")).unwrap()),
        "snapshots"
    );
    assert_eq!(
        format!("{:?}", read_metric_rows(&a.join("metrics")).unwrap()),
        format!("{:?}", read_metric_rows(&b.join("metrics")).unwrap()),
        "metrics"
    );
    assert_eq!(
        format!("{:?}", read_weight_rows(&a.join("weights")).unwrap()),
        format!("{:?}", read_weight_rows(&b.join("weights")).unwrap()),
        "weights"
    );
}

/// The reported case: a run in the middle of its first top-15 solve at tol 0 on 20,000 digits
/// exits 8 within seconds of SIGTERM (it used to take 33 s, past Slurm's 30 s KillWait).
#[test]
fn sigterm_during_a_long_solve_exits_8_within_seconds() {
    let tmp = tempfile::tempdir().unwrap();
    let sweep = top15_sweep(tmp.path(), &mnist_full(), 20_000, 20, 0);
    let out = tmp.path().join("out");
    let log = stop_after(
        &[
            "run",
            sweep.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
        "start mnist/sgd/0",
        Duration::from_secs(120),
        // Data on the device, operator set up, the solve under way (it takes far longer).
        Duration::from_secs(3),
    );
    assert!(
        log.contains("checkpointed at step 0 (0 snapshots)"),
        "the snapshot in progress is abandoned and the run checkpointed before it:\n{log}"
    );
    assert!(run_dir(&out).join("checkpoint.bin").is_file());
    assert_eq!(temporary_files(&out), Vec::<PathBuf>::new());
    let rows = read_run_records(&out.join("runs.parquet")).unwrap();
    assert_eq!(rows[0].status, "pending");
    assert_eq!(rows[0].steps_done, Some(0));
    assert!(rows[0].checkpoint_time.is_some(), "{rows:?}");
}

/// A run stopped mid-solve redoes that snapshot on relaunch: the final tables equal an
/// uninterrupted run's.
#[test]
fn a_run_stopped_mid_solve_resumes_to_identical_tables() {
    let tmp = tempfile::tempdir().unwrap();
    let sweep = top15_sweep(tmp.path(), &mnist_10k(), 4_000, 30, 0);
    let sweep = sweep.to_str().unwrap();
    let reference = tmp.path().join("reference");
    let o = run(&["run", sweep, "--out", reference.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));

    let out = tmp.path().join("out");
    let args = ["run", sweep, "--out", out.to_str().unwrap()];
    let log = stop_after(
        &args,
        "start mnist/sgd/0",
        Duration::from_secs(60),
        Duration::from_millis(1500),
    );
    assert!(
        log.contains("checkpointed at step 0 (0 snapshots)"),
        "{log}"
    );

    let mut relaunch = Launch::start(&args, &[]);
    let status = relaunch.wait(Duration::from_secs(300));
    let log = relaunch.log();
    assert!(status.success(), "{log}");
    assert!(
        log.contains("1 resuming from a checkpoint") && log.contains("at step 0/30"),
        "the relaunch says what it found:\n{log}"
    );
    assert_same_run(&reference, &out);
}

/// A baseline network stopped mid-solve leaves nothing behind, makes the command exit 8 (it
/// used to ignore the signal and exit 0) and is redone identically by the relaunch.
#[test]
fn a_baseline_network_stopped_mid_solve_is_redone() {
    let tmp = tempfile::tempdir().unwrap();
    // One short run (2 steps) and one baseline network, whose top-15 solve at tol 0 on 4,000
    // digits is long enough to be stopped in the middle; --jobs 1 runs them one after another.
    let sweep = top15_sweep(tmp.path(), &mnist_10k(), 4_000, 2, 1);
    let sweep = sweep.to_str().unwrap();
    let reference = tmp.path().join("reference");
    let o = run(&["run", sweep, "--out", reference.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));

    let out = tmp.path().join("out");
    let args = ["run", sweep, "--out", out.to_str().unwrap(), "--jobs", "1"];
    let log = stop_after(
        &args,
        "start baseline mnist/0",
        Duration::from_secs(120),
        Duration::from_millis(1500),
    );
    assert!(
        log.contains("nothing written, the next launch redoes it"),
        "{log}"
    );
    let part = out.join("baseline/dataset=mnist/part-00000.parquet");
    assert!(!part.exists(), "no part of an unfinished network");
    assert_eq!(temporary_files(&out), Vec::<PathBuf>::new());

    let o = run(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    let want = read_baseline_rows(&reference.join("baseline/dataset=mnist")).unwrap();
    let got = read_baseline_rows(&out.join("baseline/dataset=mnist")).unwrap();
    assert_eq!(want.len(), 15);
    assert_eq!(format!("{want:?}"), format!("{got:?}"));
}

/// `eigensweep run … 2>&1 | head -1`: the reader goes away after one line. The sweep must
/// neither hang nor die half-way: it finishes its work (the files say so) and exits.
#[test]
fn a_closed_progress_pipe_neither_hangs_nor_stops_the_sweep() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let args = small_sweep_args(out.to_str().unwrap(), &["--jobs", "2"]);
    let mut child = eigensweep(&args)
        .env("EIGENSWEEP_PROGRESS_SECONDS", "0.05")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Read one line of stderr, then close both pipes, as `2>&1 | head -1` does.
    let mut first = String::new();
    BufReader::new(child.stderr.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    drop(child.stdout.take());
    assert!(first.contains("sweep `quickstart`"), "{first}");
    let deadline = Instant::now() + Duration::from_secs(180);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(
            Instant::now() < deadline,
            "hangs after its progress pipe closed"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status:?}");
    let rows = read_run_records(&out.join("runs.parquet")).unwrap();
    assert!(rows.iter().all(|r| r.status == "done"), "{rows:?}");
    // And SIGTERM still works on a launch whose pipes are closed.
    let out2 = tmp.path().join("out2");
    let args = small_sweep_args(out2.to_str().unwrap(), &[]);
    let mut child = eigensweep(&args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stderr.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    drop(child.stdout.take());
    std::thread::sleep(Duration::from_millis(800));
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(
            Instant::now() < deadline,
            "SIGTERM ignored after the pipe closed"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(
        matches!(
            status.code(),
            Some(exit_codes::INTERRUPTED) | Some(exit_codes::SUCCESS)
        ),
        "{status:?}"
    );
}

/// In a batch log (stderr not a terminal) every running run prints progress lines, the sweep
/// its totals, each task a start line; the runs table carries steps, snapshots and the last
/// checkpoint time while the sweep runs and after an interruption.
#[test]
fn batch_logs_show_progress_and_the_runs_table_carries_it() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let args = small_sweep_args(
        out.to_str().unwrap(),
        &["--jobs", "1", "--progress-seconds", "0.2"],
    );
    let mut launch = Launch::start(&args, &[]);
    launch.wait_for("  synthetic/", Duration::from_secs(60));
    launch.signal("TERM");
    let status = launch.wait(Duration::from_secs(30));
    let log = launch.log();
    assert_eq!(status.code(), Some(exit_codes::INTERRUPTED), "{log}");
    assert!(
        log.contains("found: 0 tasks finished (skipped), 0 resuming from a checkpoint"),
        "{log}"
    );
    assert!(log.contains("start synthetic/"), "{log}");
    let progress = log
        .lines()
        .find(|l| l.starts_with("  synthetic/") && l.contains(" steps/s, ETA "))
        .unwrap_or_else(|| panic!("no progress line:\n{log}"));
    assert!(
        progress.contains("step ") && progress.contains("/240, snapshots "),
        "{progress}"
    );
    assert!(log.contains("checkpointed at step"), "{log}");
    assert!(
        !log.contains(": pending after"),
        "an interrupted task is not 'finished': {log}"
    );

    let rows = read_run_records(&out.join("runs.parquet")).unwrap();
    let stopped: Vec<_> = rows
        .iter()
        .filter(|r| r.kind == "run" && r.steps_done.is_some_and(|s| s > 0))
        .collect();
    assert!(
        !stopped.is_empty(),
        "a stopped run records its progress: {rows:?}"
    );
    for r in &stopped {
        assert_eq!(r.status, "pending");
        assert_eq!(r.steps_total, Some(240));
        assert!(
            r.checkpoint_time.is_some() && r.updated_time.is_some(),
            "{r:?}"
        );
    }
    // Tasks never started know nothing of their progress: NULL, not 0.
    assert!(
        rows.iter()
            .any(|r| r.steps_done.is_none() && r.wall_seconds.is_none()),
        "{rows:?}"
    );

    // The relaunch says which runs resume from where, keeps the recorded progress of the
    // waiting ones, and finishes with the sweep's totals logged.
    let mut relaunch = Launch::start(&args, &[]);
    let status = relaunch.wait(Duration::from_secs(180));
    let log = relaunch.log();
    assert!(status.success(), "{log}");
    assert!(log.contains("resuming: synthetic/"), "{log}");
    assert!(log.contains("sweep `quickstart`: "), "sweep totals:\n{log}");
    let rows = read_run_records(&out.join("runs.parquet")).unwrap();
    for r in rows.iter().filter(|r| r.kind == "run") {
        assert_eq!(
            (r.status.as_str(), r.steps_done),
            ("done", Some(240)),
            "{r:?}"
        );
    }
}

/// A small tmpfs for the output, unmounted when dropped. `None` (with a note) where this user
/// may not mount, unless EIGENSWEEP_REQUIRE_MOUNT is set (CI runs as root and sets it).
struct Tmpfs {
    dir: PathBuf,
}

impl Tmpfs {
    fn mount(dir: &Path, size: &str) -> Option<Self> {
        std::fs::create_dir_all(dir).unwrap();
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            assert!(
                std::env::var_os("EIGENSWEEP_REQUIRE_MOUNT").is_none(),
                "EIGENSWEEP_REQUIRE_MOUNT is set but mounting a tmpfs failed (run as root)"
            );
            eprintln!("note: cannot mount a tmpfs here (not root?); skipping the full-disk test");
            return None;
        }
        Some(Self {
            dir: dir.to_path_buf(),
        })
    }

    fn resize(&self, size: &str) {
        let ok = Command::new("mount")
            .args(["-o", &format!("remount,size={size}")])
            .arg(&self.dir)
            .status()
            .unwrap();
        assert!(ok.success());
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.dir).status();
    }
}

/// A full output filesystem stops the whole launch with exit 4 and the cause, marks no task
/// failed, leaves no temporary file, and the same command finishes the sweep once there is
/// space, with the tables of an uninterrupted run.
#[test]
fn a_full_disk_stops_the_launch_and_the_same_command_finishes_later() {
    let tmp = tempfile::tempdir().unwrap();
    let reference = tmp.path().join("reference");
    let o = run(&small_sweep_args(reference.to_str().unwrap(), &[]));
    assert!(o.status.success(), "{}", stderr(&o));
    let Some(fs) = Tmpfs::mount(&tmp.path().join("disk"), "8m") else {
        return;
    };
    let out = fs.dir.join("out");
    let args = small_sweep_args(out.to_str().unwrap(), &["--jobs", "2"]);
    let o = run(&args);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(exit_codes::OUTPUT), "{err}");
    assert!(err.contains("No space left on device"), "{err}");
    assert!(
        err.contains(out.to_str().unwrap()),
        "the message names the path: {err}"
    );
    assert!(err.contains("run the same command again"), "{err}");
    assert_eq!(temporary_files(&out), Vec::<PathBuf>::new());
    if let Ok(rows) = read_run_records(&out.join("runs.parquet")) {
        assert!(
            rows.iter().all(|r| r.status != "failed"),
            "a full disk fails no task: {rows:?}"
        );
    }
    fs.resize("256m");
    let o = run(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_same_tables(&reference, &out, "after a full disk and relaunch");
    assert_same_baseline_and_status(&reference, &out, "after a full disk and relaunch");
}

/// The exit codes in docs/EXIT-CODES.md's table are the ones the binary documents (one list).
#[test]
fn exit_code_page_and_help_list_every_exit_code() {
    let page = std::fs::read_to_string(support::repo_root().join("docs/EXIT-CODES.md")).unwrap();
    let help = run(&["--help"]);
    let help = String::from_utf8_lossy(&help.stdout).into_owned();
    for (code, meaning) in exit_codes::ALL {
        assert!(
            page.contains(&format!("| {code} | {meaning} |")),
            "docs/EXIT-CODES.md's table lacks `| {code} | {meaning} |`"
        );
        assert!(
            help.contains(&format!("{code} {meaning}")),
            "--help lacks {code}: {help}"
        );
    }
}
