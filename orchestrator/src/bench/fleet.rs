//! `eigensweep bench --fleet`: the MPI fleet on this machine. Runs the same sweep of equal
//! runs with `mpirun -np 1` and `-np 2` (interleaved, best of each) and reports the speed-up,
//! then a sweep of trivial tasks to expose the cost of handing out one task.
//!
//! The binary must be built with the `mpi` feature; `mpirun` is taken from PATH, or from
//! `$EIGENSWEEP_MPIRUN` (a command line; default `mpirun --bind-to none`, e.g. `mpiexec` for
//! MPICH).

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

use eigensweep_common::exit_codes;

use crate::failure::{Failure, WithExitCode};

fn sweep_yaml(out: &Path, seeds: usize, steps: u64, trivial: bool) -> String {
    let seeds: Vec<String> = (0..seeds).map(|s| s.to_string()).collect();
    let snapshots = if trivial {
        "{schedule: {steps: [1]}, top_k: 1, tol: 1.0e-1, hessian_samples: 16}".to_string()
    } else {
        format!(
            "{{schedule: {{every: {}}}, top_k: 3, tol: 1.0e-3, hessian_samples: 2000}}",
            steps / 8
        )
    };
    format!(
        "name: fleet-bench\noutput: {}\ndatasets:\n  - {{name: synthetic, source: synthetic, train_size: {}, test_size: 100}}\n\
         model: {{hidden: [100, 100]}}\ntraining: {{steps: {steps}, batch_size: 128}}\n\
         optimizers:\n  - {{name: sgd, kind: sgd, lr: 1.0e-2}}\nseeds: [{}]\nsnapshots: {snapshots}\nbaseline: {{networks: 0}}\n",
        out.display(),
        if trivial { 200 } else { 2000 },
        seeds.join(", ")
    )
}

/// One launch: `mpirun -np RANKS eigensweep run SWEEP --out OUT EXTRA…` (or no mpirun for
/// `ranks == 0`). Returns wall seconds and stderr.
fn launch(
    sweep: &Path,
    out: &Path,
    ranks: usize,
    extra: &[&str],
) -> Result<(f64, String), Failure> {
    let exe = std::env::current_exe().exit_code(exit_codes::INTERNAL, "locating eigensweep")?;
    let mut cmd = if ranks == 0 {
        Command::new(&exe)
    } else {
        // Unbound ranks: `-np 1` may then use every core (OpenMPI binds to one core by
        // default for up to 2 ranks).
        let launcher =
            std::env::var("EIGENSWEEP_MPIRUN").unwrap_or_else(|_| "mpirun --bind-to none".into());
        let mut words = launcher.split_whitespace();
        let mut c = Command::new(words.next().unwrap_or("mpirun"));
        c.args(words).args(["-np", &ranks.to_string()]).arg(&exe);
        c
    };
    cmd.args(["run"])
        .arg(sweep)
        .arg("--out")
        .arg(out)
        .args(extra)
        .env("OMPI_ALLOW_RUN_AS_ROOT", "1")
        .env("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1");
    let _ = std::fs::remove_dir_all(out);
    let clock = Instant::now();
    let o = cmd.output().exit_code(
        exit_codes::INPUT,
        "starting mpirun (install OpenMPI, or set EIGENSWEEP_MPIRUN)",
    )?;
    let seconds = clock.elapsed().as_secs_f64();
    let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
    if !o.status.success() {
        return Err(Failure {
            code: exit_codes::INTERNAL,
            error: anyhow::anyhow!("benchmark sweep with {ranks} ranks failed:\n{stderr}"),
        });
    }
    Ok((seconds, stderr))
}

/// The mean wait for a task as the ranks measured it (`coordination:` line of rank 0).
fn request_ms(stderr: &str) -> Option<f64> {
    let line = stderr.lines().find(|l| l.starts_with("coordination:"))?;
    let before = line.split(" ms per request").next()?;
    before.rsplit(' ').next()?.parse().ok()
}

/// Measures and returns a Markdown section.
pub(super) fn measure(quick: bool) -> Result<String, Failure> {
    if !cfg!(feature = "mpi") {
        return Err(Failure {
            code: exit_codes::USAGE,
            error: anyhow::anyhow!(
                "bench --fleet needs a binary built with `--features mpi` (cargo build --release --features mpi)"
            ),
        });
    }
    let tmp = std::env::temp_dir().join(format!("eigensweep-fleet-bench-{}", std::process::id()));
    std::fs::create_dir_all(&tmp)
        .exit_code(exit_codes::OUTPUT, format!("creating {}", tmp.display()))?;
    let (seeds, steps, reps) = if quick { (2, 40, 1) } else { (4, 800, 2) };
    let sweep = tmp.join("equal-runs.yaml");
    std::fs::write(&sweep, sweep_yaml(&tmp.join("unused"), seeds, steps, false))
        .exit_code(exit_codes::OUTPUT, format!("writing {}", sweep.display()))?;
    let out = tmp.join("out");
    let one_thread = ["--threads", "1"];
    let (mut np1, mut np2, mut np1_all) = (f64::INFINITY, f64::INFINITY, f64::INFINITY);
    let mut request = Vec::new();
    for rep in 0..reps {
        crate::console::note!("fleet benchmark, repetition {}/{reps}: 1 rank × 1 thread, 2 ranks × 1 thread, 1 rank × all cores …", rep + 1);
        np1 = np1.min(launch(&sweep, &out, 1, &one_thread)?.0);
        let (t, log) = launch(&sweep, &out, 2, &one_thread)?;
        np2 = np2.min(t);
        request.extend(request_ms(&log));
        np1_all = np1_all.min(launch(&sweep, &out, 1, &[])?.0);
    }
    // Trivial tasks: a training step and a 16-sample top-1 solve each, so that handing out
    // the task is a visible part of its cost.
    let tasks = if quick { 8 } else { 40 };
    let trivial = tmp.join("trivial.yaml");
    std::fs::write(&trivial, sweep_yaml(&tmp.join("unused"), tasks, 1, true))
        .exit_code(exit_codes::OUTPUT, format!("writing {}", trivial.display()))?;
    crate::console::note!(
        "fleet benchmark: {tasks} trivial tasks without MPI and with 1 and 2 ranks …"
    );
    let (local, _) = launch(&trivial, &out, 0, &one_thread)?;
    let (mpi1, log1) = launch(&trivial, &out, 1, &one_thread)?;
    let (mpi2, log2) = launch(&trivial, &out, 2, &one_thread)?;
    let _ = std::fs::remove_dir_all(&tmp);

    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let mut r = String::new();
    let _ = writeln!(
        r,
        "### MPI fleet (`bench --fleet`, {cores} logical CPUs, OpenMPI `mpirun` on this machine)\n\n\
         Sweep of {seeds} equal SGD runs ({steps} steps, 9 top-3 snapshots on 2,000 samples, synthetic data), \
         best of {reps}, launches interleaved:\n\n\
         | launch | wall s | speed-up over 1 rank × 1 thread |\n|---|---:|---:|\n\
         | `mpirun -np 1`, 1 thread | {np1:.2} | 1.00 |\n\
         | `mpirun -np 2`, 1 thread per rank | {np2:.2} | {:.2} |\n\
         | `mpirun -np 1`, {cores} threads | {np1_all:.2} | {:.2} |\n",
        np1 / np2,
        np1 / np1_all
    );
    let mean_request = if request.is_empty() {
        "n/a".to_string()
    } else {
        format!("{:.2}", request.iter().sum::<f64>() / request.len() as f64)
    };
    let _ = writeln!(
        r,
        "Coordination: a worker waited {mean_request} ms on average from asking rank 0 for a task to \
         receiving it (2 ranks, equal runs). {tasks} trivial tasks: {local:.2} s without MPI, {mpi1:.2} s with \
         `-np 1`, {mpi2:.2} s with `-np 2` (MPI start-up included); request wait {} ms (1 rank) and {} ms (2 ranks) \
         per task; the difference without and with MPI, per task, is {:.1} ms including MPI's start-up.\n",
        request_ms(&log1).map_or("n/a".into(), |v| format!("{v:.2}")),
        request_ms(&log2).map_or("n/a".into(), |v| format!("{v:.2}")),
        1e3 * (mpi1 - local) / tasks as f64
    );
    Ok(r)
}
