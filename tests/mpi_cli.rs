//! End-to-end tests of the MPI fleet (`mpirun -np K eigensweep run …`), built only with the
//! `mpi` feature: `cargo test -p eigensweep --features mpi --test mpi_cli`. They need
//! OpenMPI's `mpirun` on PATH; CI runs them as root, hence the two OMPI_ALLOW_RUN_AS_ROOT
//! variables, and on 2 cores, hence `--oversubscribe`.

#![cfg(feature = "mpi")]

#[path = "support/mod.rs"]
mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use eigensweep_worker::output::read_run_records;
use support::{
    assert_same_baseline_and_status, assert_same_tables, repo_root, run, run_dirs,
    small_sweep_args, stderr,
};

fn mpirun(ranks: usize, args: &[&str]) -> Command {
    let mut cmd = Command::new("mpirun");
    cmd.args(["--oversubscribe", "-np", &ranks.to_string()])
        .arg(support::binary())
        .args(args)
        .current_dir(repo_root())
        .env("OMPI_ALLOW_RUN_AS_ROOT", "1")
        .env("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1");
    cmd
}

fn mpirun_output(ranks: usize, args: &[&str]) -> Output {
    mpirun(ranks, args)
        .output()
        .expect("running mpirun (is OpenMPI installed?)")
}

/// The small sweep on one process without MPI, computed once for all tests of this file.
fn reference() -> &'static Path {
    static DIR: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    &DIR.get_or_init(|| {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("reference");
        let o = run(&small_sweep_args(out.to_str().unwrap(), &[]));
        assert!(o.status.success(), "reference run: {}", stderr(&o));
        (tmp, out)
    })
    .1
}

fn assert_same_as_reference(out: &Path, context: &str) {
    assert_same_tables(reference(), out, context);
    assert_same_baseline_and_status(reference(), out, context);
}

#[test]
fn three_ranks_write_what_one_process_writes() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let o = mpirun_output(3, &small_sweep_args(out.to_str().unwrap(), &[]));
    assert!(o.status.success(), "{}", stderr(&o));
    assert_same_as_reference(&out, "3 ranks");
    let records = read_run_records(&out.join("runs.parquet")).unwrap();
    let mut ranks: Vec<u32> = records.iter().filter_map(|r| r.rank).collect();
    assert_eq!(ranks.len(), 7, "every task records its rank: {records:?}");
    assert!(ranks.iter().all(|&r| r < 3), "{ranks:?}");
    ranks.sort();
    ranks.dedup();
    assert!(
        ranks.len() >= 2,
        "the work was spread over ranks: {ranks:?}"
    );
    // Rank 0 logs one line per task and the coordination cost.
    let log = stderr(&o);
    assert!(log.contains("[7/7]"), "{log}");
    assert!(log.contains("coordination:"), "{log}");
}

#[test]
fn one_rank_is_a_full_run() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let o = mpirun_output(1, &small_sweep_args(out.to_str().unwrap(), &[]));
    assert!(o.status.success(), "{}", stderr(&o));
    assert_same_as_reference(&out, "-np 1");
    let records = read_run_records(&out.join("runs.parquet")).unwrap();
    assert!(records.iter().all(|r| r.rank == Some(0)), "{records:?}");
}

/// Waits until some run has written a Parquet part (so the sweep is well under way).
fn wait_for_first_part(out: &Path, child: &mut std::process::Child) {
    let clock = Instant::now();
    loop {
        let started = run_dirs(out).iter().any(|d| {
            std::fs::read_dir(d.join("snapshots"))
                .map(|mut r| r.next().is_some())
                .unwrap_or(false)
        });
        if started {
            return;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("mpirun ended ({status}) before any run wrote a part");
        }
        assert!(
            clock.elapsed() < Duration::from_secs(120),
            "no part after 120 s"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Starts the small sweep on `ranks` ranks, sends `signal` once a run has written a part —
/// to every rank (`to_ranks`, what Slurm does to srun's tasks) or to mpirun (which forwards
/// it) — expects exit 8 with the sweep unfinished, relaunches and expects the reference.
fn interrupt_and_relaunch(ranks: usize, signal: &str, to_ranks: bool) {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let args = small_sweep_args(out.to_str().unwrap(), &[]);
    let mut child = mpirun(ranks, &args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_first_part(&out, &mut child);
    let pids: Vec<String> = if to_ranks {
        // The ranks are mpirun's children here.
        let found = Command::new("pgrep")
            .args(["-P", &child.id().to_string()])
            .output()
            .unwrap();
        String::from_utf8_lossy(&found.stdout)
            .split_whitespace()
            .map(String::from)
            .collect()
    } else {
        vec![child.id().to_string()]
    };
    if to_ranks {
        assert_eq!(pids.len(), ranks, "rank processes: {pids:?}");
    }
    let status = Command::new("kill")
        .arg(format!("-{signal}"))
        .args(&pids)
        .status()
        .unwrap();
    assert!(status.success());
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(8), "{}", stderr(&o));
    let records = read_run_records(&out.join("runs.parquet")).unwrap();
    assert!(
        records.iter().any(|r| r.status != "done"),
        "the sweep was interrupted before it finished: {records:?}"
    );
    let o = mpirun_output(ranks, &args);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_same_as_reference(
        &out,
        &format!("{ranks} ranks after SIG{signal} and relaunch"),
    );
}

#[test]
fn sigterm_on_every_rank_checkpoints_and_the_relaunch_completes_identically() {
    // What Slurm does on preemption under srun: SIGTERM to every task.
    interrupt_and_relaunch(3, "TERM", true);
}

#[test]
fn sigusr1_to_mpirun_stops_every_rank_with_exit_8() {
    // Slurm's `--signal=B:USR1@T` warns the batch script, which passes USR1 to mpirun;
    // mpirun forwards it to every rank.
    interrupt_and_relaunch(2, "USR1", false);
}

#[test]
fn a_failing_run_on_one_rank_does_not_stop_the_others() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let o = mpirun_output(
        2,
        &small_sweep_args(
            out.to_str().unwrap(),
            &[
                "--set",
                "optimizers[0].lr=1.0e12",
                "--set",
                "training.steps=60",
            ],
        ),
    );
    assert_eq!(o.status.code(), Some(7), "{}", stderr(&o));
    assert!(stderr(&o).contains("diverged"), "{}", stderr(&o));
    let records = read_run_records(&out.join("runs.parquet")).unwrap();
    for r in &records {
        let want = if r.optimizer.as_deref() == Some("sgd") {
            "diverged"
        } else {
            "done"
        };
        assert_eq!(r.status, want, "{r:?}");
    }
}

#[test]
fn shards_under_mpi_cover_the_sweep_exactly_once() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let mut keys = Vec::new();
    for shard in ["0/3", "1/3", "2/3"] {
        let o = mpirun_output(
            2,
            &small_sweep_args(
                out.to_str().unwrap(),
                &["--set", "training.steps=30", "--shard", shard],
            ),
        );
        assert!(o.status.success(), "{shard}: {}", stderr(&o));
        let (i, k) = shard.split_once('/').unwrap();
        let records =
            read_run_records(&out.join(format!("runs-shard-{i}-of-{k}.parquet"))).unwrap();
        assert!(records.iter().all(|r| r.status == "done"), "{records:?}");
        keys.extend(records.into_iter().map(|r| r.key));
    }
    let total = keys.len();
    keys.sort();
    keys.dedup();
    assert_eq!((total, keys.len()), (7, 7));
    for dir in run_dirs(&out) {
        assert!(dir.join("_SUCCESS").exists(), "{}", dir.display());
    }
}

#[test]
fn a_bad_sweep_file_fails_on_every_rank_with_its_exit_code() {
    let o = mpirun_output(2, &["run", "sweeps/does-not-exist.yaml"]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(stderr(&o).contains("does-not-exist.yaml"), "{}", stderr(&o));
}

#[test]
fn a_held_output_stops_every_rank_with_exit_9_before_anything_is_written() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let lock = std::fs::File::create(out.join(".eigensweep-lock")).unwrap();
    lock.try_lock().unwrap();
    let o = mpirun_output(2, &small_sweep_args(out.to_str().unwrap(), &[]));
    let code = eigensweep_common::exit_codes::LOCKED;
    assert_eq!(o.status.code(), Some(code), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("in use by another launch"),
        "{}",
        stderr(&o)
    );
    assert!(
        stderr(&o).contains("rank 1: rank 0 could not start"),
        "{}",
        stderr(&o)
    );
    assert!(!out.join("sweep.yaml").exists() && !out.join("runs").exists());
}

#[test]
fn an_analysis_beside_another_stops_every_rank_with_exit_9() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path();
    std::fs::create_dir(out.join("runs")).unwrap();
    let lock = std::fs::File::create(out.join(".eigensweep-analysis-lock")).unwrap();
    lock.try_lock().unwrap();
    let o = mpirun_output(2, &["analyze", out.to_str().unwrap(), "-w", "1"]);
    let code = eigensweep_common::exit_codes::LOCKED;
    assert_eq!(o.status.code(), Some(code), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("rank 1: rank 0 could not start the analysis"),
        "{}",
        stderr(&o)
    );
}

/// Runs `cluster/SCRIPT` outside Slurm: a fake job id, a stub `scontrol` that records its
/// arguments, the `stubs` given (name, shell text) on PATH; USR1 to the script as Slurm's
/// `--signal=B:USR1@300` would send it, then the requeued job.
fn batch_script_forwards_preemption_and_requeues(script: &str, stubs: &[(&str, &str)]) {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let stub = tmp.path().join("bin");
    std::fs::create_dir_all(&stub).unwrap();
    let calls = tmp.path().join("scontrol-calls");
    let scontrol = format!("#!/bin/sh\necho \"$@\" >> '{}'\n", calls.display());
    for (name, text) in [("scontrol", scontrol.as_str())].iter().chain(stubs) {
        std::fs::write(stub.join(name), text).unwrap();
        Command::new("chmod")
            .arg("+x")
            .arg(stub.join(name))
            .status()
            .unwrap();
    }
    let args = small_sweep_args(out.to_str().unwrap(), &[]);
    let launch = |args: &[&str]| {
        let mut cmd = Command::new("bash");
        cmd.arg(format!("cluster/{script}"))
            .args(&args[1..])
            .current_dir(repo_root())
            .env("EIGENSWEEP", support::binary())
            .env("EIGENSWEEP_MPIRUN_OPTS", "--oversubscribe -np 2")
            .env("SLURM_JOB_ID", "4242")
            .env(
                "PATH",
                format!("{}:{}", stub.display(), std::env::var("PATH").unwrap()),
            )
            .env("OMPI_ALLOW_RUN_AS_ROOT", "1")
            .env("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1");
        cmd
    };
    let mut child = launch(&args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_first_part(&out, &mut child);
    let status = Command::new("kill")
        .args(["-USR1", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(8), "{script}: {}", stderr(&o));
    assert_eq!(
        std::fs::read_to_string(&calls).unwrap().trim(),
        "requeue 4242",
        "{script}"
    );
    // The requeued job finishes the sweep.
    let o = launch(&args).output().unwrap();
    assert!(o.status.success(), "{script}: {}", stderr(&o));
    assert_same_as_reference(&out, &format!("{script} after USR1 and requeue"));
}

#[test]
fn the_mpirun_batch_script_forwards_preemption_and_requeues() {
    batch_script_forwards_preemption_and_requeues("mpirun.sbatch", &[]);
}

#[test]
fn the_srun_batch_script_forwards_preemption_and_requeues() {
    // No Slurm here: `srun` is a stub that drops srun's options and becomes mpirun (same
    // process, so the script's USR1 reaches it as it would reach srun).
    batch_script_forwards_preemption_and_requeues(
        "srun.sbatch",
        &[(
            "srun",
            "#!/bin/sh\nwhile [ \"${1#--}\" != \"$1\" ]; do shift; done\nexec mpirun --oversubscribe -np 2 \"$@\"\n",
        )],
    );
}

#[test]
fn two_processes_of_a_timely_cluster_write_the_single_process_tables() {
    let tmp = tempfile::tempdir().unwrap();
    let single = tmp.path().join("single");
    let o = run(&small_sweep_args(
        single.to_str().unwrap(),
        &["--set", "training.steps=60"],
    ));
    assert!(o.status.success(), "{}", stderr(&o));
    let cluster = tmp.path().join("cluster");
    let o = Command::new("cp")
        .arg("-r")
        .arg(&single)
        .arg(&cluster)
        .status()
        .unwrap();
    assert!(o.success());
    let o = run(&["analyze", single.to_str().unwrap(), "-w", "1"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = mpirun_output(2, &["analyze", cluster.to_str().unwrap(), "-w", "1"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("timely cluster of 2 processes"),
        "{}",
        stderr(&o)
    );
    // Every table file, byte for byte.
    let mut files = Vec::new();
    let mut stack = vec![single.join("analysis")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "parquet") {
                files.push(path);
            }
        }
    }
    assert!(files.len() > 10, "{files:?}");
    for a in files {
        let b = cluster.join(a.strip_prefix(&single).unwrap());
        assert!(
            std::fs::read(&a).unwrap() == std::fs::read(&b).unwrap(),
            "{} differs between 1 process and 2",
            b.display()
        );
    }
}

/// A signal to one rank of a 2-process analysis (Slurm signals tasks one by one; a node can
/// be preempted alone) halts the whole timely cluster: every rank exits 8 within seconds,
/// no temporary file is left, and the relaunch ends with the single-process tables.
#[test]
fn sigterm_to_one_rank_of_an_analysis_stops_every_rank_and_the_relaunch_matches() {
    use support::stop::{assert_same_files, file_paths, temp_files, wait_at_most, Synthetic};
    let size = Synthetic {
        runs: 3,
        snapshots: 240,
        k: 3,
        n: 4000,
    };
    let tmp = tempfile::tempdir().unwrap();
    let (single, cluster) = (tmp.path().join("single"), tmp.path().join("cluster"));
    size.write(&single);
    size.write(&cluster);
    let args = [
        "analyze",
        cluster.to_str().unwrap(),
        "-w",
        "1",
        "--tile-rows",
        "72",
    ];
    let child = mpirun(2, &args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let clock = Instant::now();
    while file_paths(&cluster.join("analysis/displacement")).len() < 40 {
        assert!(
            clock.elapsed() < Duration::from_secs(120),
            "no parts after 120 s"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let found = Command::new("pgrep")
        .args(["-P", &child.id().to_string()])
        .output()
        .unwrap();
    let ranks: Vec<String> = String::from_utf8_lossy(&found.stdout)
        .split_whitespace()
        .map(String::from)
        .collect();
    assert_eq!(ranks.len(), 2, "rank processes: {ranks:?}");
    let status = Command::new("kill")
        .args(["-TERM", &ranks[1]])
        .status()
        .unwrap();
    assert!(status.success());
    let (o, took) = wait_at_most(child, Duration::from_secs(10), "mpirun analyze");
    eprintln!("mpirun exited {took:?} after SIGTERM to one rank");
    assert_eq!(
        o.status.code(),
        Some(eigensweep_common::exit_codes::INTERRUPTED),
        "{took:?} after SIGTERM: {}",
        stderr(&o)
    );
    assert!(
        temp_files(&cluster).is_empty(),
        "{:?}",
        temp_files(&cluster)
    );

    let o = mpirun_output(2, &args);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = run(&[
        "analyze",
        single.to_str().unwrap(),
        "-w",
        "1",
        "--tile-rows",
        "72",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_same_files(
        &single.join("analysis"),
        &cluster.join("analysis"),
        "2 ranks after SIGTERM to one and relaunch",
    );
}

#[test]
fn more_ranks_than_tasks_and_srun_without_pmi() {
    // Shard 0/4 of the quickstart holds 2 tasks (run 0 and baseline network 1); 3 ranks.
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let o = mpirun_output(
        3,
        &small_sweep_args(
            out.to_str().unwrap(),
            &["--set", "training.steps=30", "--shard", "0/4"],
        ),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let records = read_run_records(&out.join("runs-shard-0-of-4.parquet")).unwrap();
    assert_eq!(records.len(), 2);
    assert!(records.iter().all(|r| r.status == "done"), "{records:?}");
    // A task of a Slurm step without PMI would run the whole sweep: refused.
    let o = support::eigensweep(&small_sweep_args(out.to_str().unwrap(), &[]))
        .env("SLURM_PROCID", "1")
        .env("SLURM_STEP_NUM_TASKS", "4")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("PMI"), "{}", stderr(&o));
}

/// A sweep of two SGD runs (seeds 0, 1) on the first 4,000 real digits with the top-15
/// eigenpairs at tol 0 at steps 0 and 20: each rank is soon in the middle of a long solve.
fn top15_two_seeds(dir: &Path) -> PathBuf {
    let data = std::env::var_os("EIGENSWEEP_TEST_MNIST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("../shared/data/mnist-10k"))
        .canonicalize()
        .expect("set EIGENSWEEP_TEST_MNIST_DIR to a directory with MNIST IDX files");
    let path = dir.join("top15.yaml");
    std::fs::write(
        &path,
        format!(
            "name: top15
datasets:
  - {{name: mnist, source: {}, train_size: 4000, test_size: 500}}
training: {{steps: 20, batch_size: 128}}
optimizers:
  - {{name: sgd, kind: sgd, lr: 1.0e-2}}
seeds: [0, 1]
snapshots:
  schedule: {{steps: [0, 20]}}
  top_k: 15
  tol: 0.0
baseline: {{networks: 0}}
",
            data.display()
        ),
    )
    .unwrap();
    path
}

/// Preemption in the middle of eigen-solves on every rank: SIGTERM to every rank (srun's
/// way) or USR1 to mpirun (the batch script's way) ends the job with exit 8 within seconds;
/// both runs checkpoint before their abandoned snapshot and the relaunch completes with the
/// tables of one uninterrupted process.
fn stop_mid_solve_under_mpirun(signal: &str, to_ranks: bool) {
    use std::io::{BufRead, BufReader};
    let tmp = tempfile::tempdir().unwrap();
    let sweep = top15_two_seeds(tmp.path());
    let sweep = sweep.to_str().unwrap();
    let out = tmp.path().join("out");
    let args = [
        "run",
        sweep,
        "--out",
        out.to_str().unwrap(),
        "--threads-per-run",
        "1",
    ];
    let mut child = mpirun(2, &args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let err = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut all = String::new();
        for line in BufReader::new(err).lines() {
            let Ok(line) = line else { break };
            all.push_str(&line);
            all.push('\n');
            let _ = tx.send(line);
        }
        all
    });
    let mut started = 0;
    let deadline = Instant::now() + Duration::from_secs(120);
    while started < 2 {
        match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(line) if line.starts_with("start mnist/sgd/") => started += 1,
            Ok(_) => {}
            Err(e) => {
                let status = child.wait().unwrap();
                panic!(
                    "both runs should start ({e}); mpirun {status:?}; stderr:\n{}",
                    reader.join().unwrap()
                );
            }
        }
    }
    std::thread::sleep(Duration::from_millis(1500));
    let pids: Vec<String> = if to_ranks {
        let found = Command::new("pgrep")
            .args(["-P", &child.id().to_string()])
            .output()
            .unwrap();
        String::from_utf8_lossy(&found.stdout)
            .split_whitespace()
            .map(String::from)
            .collect()
    } else {
        vec![child.id().to_string()]
    };
    let signalled = Instant::now();
    let status = Command::new("kill")
        .arg(format!("-{signal}"))
        .args(&pids)
        .status()
        .unwrap();
    assert!(status.success());
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(
            signalled.elapsed() < Duration::from_secs(60),
            "mpirun still running a minute after SIG{signal}"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    let took = signalled.elapsed();
    let log = reader.join().unwrap();
    assert_eq!(status.code(), Some(8), "{log}");
    assert!(
        took <= Duration::from_secs(10),
        "exit {took:?} after SIG{signal} (budget: 5 s plus one product block)\n{log}"
    );
    assert_eq!(
        log.matches("checkpointed at step 0 (0 snapshots)").count(),
        2,
        "both runs abandon their first snapshot:\n{log}"
    );
    let o = mpirun_output(2, &args);
    assert!(o.status.success(), "{}", stderr(&o));
    let reference = tmp.path().join("reference");
    let o = run(&[
        "run",
        sweep,
        "--out",
        reference.to_str().unwrap(),
        "--threads-per-run",
        "1",
        "--jobs",
        "2",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    for seed in [0, 1] {
        let dir = |o: &Path| o.join(format!("runs/dataset=mnist/optimizer=sgd/seed={seed}"));
        let rows = |o: &Path| {
            format!(
                "{:?}{:?}",
                eigensweep_worker::output::read_snapshot_rows(&dir(o).join("snapshots")).unwrap(),
                eigensweep_worker::output::read_metric_rows(&dir(o).join("metrics")).unwrap()
            )
        };
        assert!(
            rows(&reference) == rows(&out),
            "seed {seed}: tables after SIG{signal} and relaunch differ from one process"
        );
    }
}

#[test]
fn sigterm_to_every_rank_mid_solve_exits_8_within_seconds() {
    stop_mid_solve_under_mpirun("TERM", true);
}

#[test]
fn usr1_to_mpirun_mid_solve_exits_8_within_seconds() {
    stop_mid_solve_under_mpirun("USR1", false);
}
