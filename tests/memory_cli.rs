//! Running out of memory (issue 27, item 2). Under an address-space limit (`ulimit -v`, as
//! batch systems set it) a task whose buffers do not fit used to abort the whole launch with
//! Rust's `memory allocation of N bytes failed`, SIGABRT and exit 134, leaving its row
//! `running`. Now the task fails with a message naming the buffer, its size and the settings
//! behind it, `runs.parquet` records it as failed with that message, the launch's other tasks
//! finish, and the launch exits with 7; `plan` prints the memory a job needs beforehand.

mod support;

use std::os::unix::process::CommandExt;
use std::path::Path;

use eigensweep_common::exit_codes;
use eigensweep_worker::output::read_run_records;
use support::{eigensweep, stderr};

/// The address space the launch may use: far above what a top-1 run of the 784-100-100-10
/// network on 400 samples reserves (a few hundred MB, glibc's per-thread arenas included),
/// far below the 25.8 GB Krylov basis of the top-3,000 run.
const ADDRESS_SPACE: u64 = 4 << 30;

/// A sweep of two runs on tiny synthetic data: seed 0 asks for the top eigenpair, seed 1
/// (through `extra_eigen`) for the top 3,000, whose basis of max(6 (3,000 + 2), 30) = 18,012
/// columns of N = 89,610 parameters, for Q and for W = HQ, is 2 × 18,012 × 89,610 × 8 bytes.
fn sweep_file(dir: &Path) -> std::path::PathBuf {
    let path = dir.join("memory.yaml");
    std::fs::write(
        &path,
        "name: memory
datasets:
  - {name: synthetic, source: synthetic, train_size: 400, test_size: 100}
model: {hidden: [100, 100]}
training: {steps: 20, batch_size: 50}
optimizers:
  - {name: sgd, kind: sgd, lr: 1.0e-2}
seeds: [0, 1]
snapshots:
  schedule: {every: 10}
  top_k: 1
  hessian_samples: 200
extra_eigen: [{seeds: [1], top_k: 3000, max_products: 100000}]
baseline: {networks: 0}
",
    )
    .unwrap();
    path
}

#[test]
fn a_task_too_large_for_the_address_space_fails_by_name_and_the_others_finish() {
    let dir = tempfile::tempdir().unwrap();
    let file = sweep_file(dir.path());
    let out = dir.path().join("out");
    let (file_arg, out_arg) = (file.to_str().unwrap(), out.to_str().unwrap());

    // `plan` says beforehand what a job needs: the top-3,000 run's basis sets it.
    let plan = eigensweep(&["plan", file_arg, "--jobs", "1", "--threads", "2"])
        .output()
        .unwrap();
    assert!(plan.status.success(), "{}", stderr(&plan));
    let printed = String::from_utf8_lossy(&plan.stdout);
    let per_job = printed
        .lines()
        .find(|l| l.starts_with("per job:"))
        .unwrap_or_else(|| panic!("no `per job:` line in\n{printed}"));
    assert!(
        per_job.contains("synthetic/sgd/1") && per_job.contains("GB"),
        "{per_job}"
    );
    assert!(
        printed.lines().any(|l| l.starts_with("per rank:")),
        "{printed}"
    );

    let mut cmd = eigensweep(&[
        "run",
        file_arg,
        "--out",
        out_arg,
        "--jobs",
        "1",
        "--threads",
        "2",
    ]);
    // SAFETY: between fork and exec the closure only calls setrlimit, which is
    // async-signal-safe, and allocates nothing.
    unsafe {
        cmd.pre_exec(|| {
            let limit = libc::rlimit {
                rlim_cur: ADDRESS_SPACE,
                rlim_max: ADDRESS_SPACE,
            };
            if libc::setrlimit(libc::RLIMIT_AS, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let o = cmd.output().unwrap();
    let err = stderr(&o);
    // A documented exit code (7: some tasks failed), not SIGABRT's 134.
    assert_eq!(o.status.code(), Some(exit_codes::RUNS_FAILED), "{err}");
    assert!(
        !err.contains("memory allocation of") && !err.contains("stack backtrace"),
        "{err}"
    );
    // The message names the buffer, its size and the settings that drive it.
    let size = 2u64 * 18_012 * 89_610 * 8;
    for part in [
        "synthetic/sgd/1: failed: out of memory",
        "Krylov basis Q",
        &format!("({size} bytes)"),
        "2 × 18,012 columns × 89,610 entries",
        "k = 3,000 wanted pairs",
        "snapshots.hessian_samples = 200",
        "top_k = 3000",
        "widths 784-100-100-10",
        "--jobs",
    ] {
        assert!(err.contains(part), "{part:?} not in\n{err}");
    }

    // The runs table: the task that did not fit failed with the message, the other is done.
    let records = read_run_records(&out.join("runs.parquet")).unwrap();
    let record = |seed: u64| {
        records
            .iter()
            .find(|r| r.seed == Some(seed))
            .unwrap_or_else(|| panic!("no row for seed {seed}: {records:?}"))
    };
    let (fits, too_large) = (record(0), record(1));
    assert_eq!(fits.status, "done", "{fits:?}");
    assert_eq!(fits.snapshots_done, Some(3), "{fits:?}");
    assert_eq!(too_large.status, "failed", "{too_large:?}");
    let error = too_large.error.as_deref().unwrap_or_default();
    assert!(
        error.starts_with("out of memory: could not allocate 25.8 GB")
            && error.contains(&format!("({size} bytes)"))
            && error.contains("top_k = 3000"),
        "{error}"
    );
    assert!(too_large.end_time.is_some(), "{too_large:?}");
}
