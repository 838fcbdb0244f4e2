//! `eigensweep run SWEEP.yaml`: every run and baseline network of a sweep, in parallel on this
//! machine or, built with the `mpi` feature and started by `mpirun`/`srun`, over the ranks of
//! an MPI job; resumable; writing the hive-partitioned Parquet dataset.
//!
//! [`prepare`] reads the sweep and settles what is left to do; [`task`] executes one run or
//! baseline network; [`dispatch`] is what worker threads see and the ledger (runs table,
//! summary, progress), [`eta`] the time left it shows; [`coordinator`] is the main thread that hands out tasks, to this
//! process's workers and, under MPI, to other ranks; `fleet` is the MPI side (rank start-up,
//! the other ranks' main threads); [`threads`] sizes CPU threads when processes share a node;
//! [`extend`] continues finished runs to more steps (`--extend`), [`extendable`] says which.

mod config_diff;
mod coordinator;
mod dispatch;
mod eta;
mod extend;
mod extendable;
#[cfg(feature = "mpi")]
mod fleet;
mod prepare;
mod runs_tables;
mod status_serde;
mod task;
mod threads;

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use eigensweep_common::exit_codes;
use indicatif::MultiProgress;

use crate::cli::RunArgs;
use crate::failure::{Failure, WithExitCode};
use coordinator::{coordinate, spawn_workers, NoPeers};
use dispatch::Ledger;
pub(crate) use prepare::{baseline_cost, load_dataset, run_cost};
use prepare::{prepare, Prepared};
use task::WorkerContext;
pub(crate) use threads::{affinity, check_parallelism};

pub(crate) fn run(args: RunArgs) -> Result<(), Failure> {
    if let Some(problem) = crate::launcher::unsupported_launch() {
        return Err(Failure {
            code: exit_codes::USAGE,
            error: anyhow::anyhow!(problem),
        });
    }
    #[cfg(feature = "mpi")]
    if crate::launcher::launched_by_mpi() {
        return fleet::run(args);
    }
    run_local(args)
}

/// SIGTERM / SIGUSR1 (Slurm's preemption warning) / SIGINT set the flag: every running run
/// checkpoints at its next step and returns, and no new task starts.
pub(crate) fn install_signal_flag() -> Result<Arc<AtomicBool>, Failure> {
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [
        signal_hook::consts::SIGTERM,
        signal_hook::consts::SIGUSR1,
        signal_hook::consts::SIGINT,
    ] {
        signal_hook::flag::register(signal, Arc::clone(&stop))
            .exit_code(exit_codes::INTERNAL, "installing signal handlers")?;
    }
    Ok(stop)
}

/// Threads per run from this process's CPU budget (`--threads`, else `process_budget`); sets
/// RAYON_NUM_THREADS, which candle and the HVP engine read on every operation. Explicit
/// options that would exceed `--threads` were refused by [`prepare`].
fn size_threads(args: &RunArgs, process_budget: usize) -> (usize, usize) {
    let per_process = args.threads.unwrap_or(process_budget).max(1);
    let jobs = args.jobs.max(1);
    let per_run = args.threads_per_run.unwrap_or((per_process / jobs).max(1));
    std::env::set_var("RAYON_NUM_THREADS", per_run.to_string());
    (jobs, per_run)
}

fn banner(prep: &Prepared, processes: &str, jobs: usize, threads: usize) {
    crate::console::note!(
        "sweep `{}`: {} runs and {} baseline networks → {} ({processes}{jobs} jobs × {threads} threads, device {})",
        prep.name,
        prep.runs,
        prep.tasks.len() - prep.runs,
        prep.out.display(),
        prep.device,
    );
    crate::console::note!("{}", found_line(prep));
    if let Some(note) = gpu_sharing_note(prep.device, jobs) {
        crate::console::note!("{note}");
    }
}

/// The device a worker in `slot` (node-local rank) uses, for its log line: `cpu`, or the CUDA
/// ordinal that `cuda` resolves to on this node.
#[cfg_attr(not(feature = "mpi"), allow(dead_code))]
fn device_for_slot(device: eigensweep_common::device::DeviceRequest, slot: usize) -> String {
    let visible = eigensweep_worker::device::visible_gpus().unwrap_or(0);
    match device.ordinal(slot, visible) {
        Some(n) => format!("cuda:{n} (of {visible} visible)"),
        None => device.to_string(),
    }
}

/// A note when more runs than GPUs will share a GPU from this process: measured on an H200
/// (BENCHMARKS.md), runs sharing a GPU from one process finished later in total than the same
/// runs one after another, because every run's steps are too small to fill the GPU and the
/// threads contend for it.
fn gpu_sharing_note(
    device: eigensweep_common::device::DeviceRequest,
    jobs: usize,
) -> Option<String> {
    if !device.is_cuda() || jobs < 2 {
        return None;
    }
    let gpus = match device {
        eigensweep_common::device::DeviceRequest::Cuda(Some(_)) => 1,
        _ => eigensweep_worker::device::visible_gpus().ok()?,
    };
    (jobs > gpus).then(|| {
        format!(
            "note: {jobs} jobs share {gpus} GPU(s); measured on an H200, 3 runs sharing one GPU from one process took 1.3× longer in total than one after another (BENCHMARKS.md): prefer --jobs {gpus} with --device cuda"
        )
    })
}

/// What this launch found in the output: finished tasks (skipped), runs resuming from a
/// checkpoint (and from which step), tasks starting from scratch.
fn found_line(prep: &Prepared) -> String {
    use eigensweep_worker::output::{RunDirState, CHECKPOINT_FILE};
    use eigensweep_worker::run::{baseline_done, Checkpoint};
    let (mut done, mut fresh) = (0, 0);
    let mut resuming = Vec::new();
    for task in &prep.tasks {
        match task {
            prepare::Task::Run(spec) => {
                let dir = prep.out.join("runs").join(spec.partition());
                if RunDirState::read(&dir).finished_status().is_some() {
                    done += 1;
                } else if let Ok(Some(c)) = Checkpoint::load(&dir.join(CHECKPOINT_FILE)) {
                    resuming.push(format!(
                        "{}/{}/{} at step {}/{}",
                        spec.dataset.name, spec.optimizer.name, spec.seed, c.step, spec.steps
                    ));
                } else {
                    fresh += 1;
                }
            }
            prepare::Task::Baseline(t) => {
                let dir = prep.out.join("baseline").join(t.partition());
                if baseline_done(&dir, t.network as u32) {
                    done += 1;
                } else {
                    fresh += 1;
                }
            }
        }
    }
    let mut line = format!(
        "found: {done} tasks finished (skipped), {} resuming from a checkpoint, {fresh} starting from scratch",
        resuming.len()
    );
    if !resuming.is_empty() {
        line.push_str(&format!(" (resuming: {})", resuming.join(", ")));
    }
    line
}

/// One process, `--jobs` worker threads.
fn run_local(args: RunArgs) -> Result<(), Failure> {
    // First of all: a preemption signal during start-up must not kill the process.
    let stop = install_signal_flag()?;
    let prep = prepare(&args, true)?;
    let bars = MultiProgress::new();
    let _shown = crate::console::BarsShown::new(&bars);
    let (ledger, order) = Ledger::open(&prep, &bars)?;
    let (jobs, threads) = size_threads(&args, threads::affinity().len());
    banner(&prep, "", jobs, threads);
    let ctx = WorkerContext {
        prep: &prep,
        bars: &bars,
        stop: &stop,
        checkpoint_every: args.checkpoint_every,
        checkpoint_minutes: args.checkpoint_minutes,
        progress_seconds: args.progress_seconds,
        log_lines: !std::io::stderr().is_terminal(),
        rank: None,
        host: task::host(),
        device: prep.device,
        device_slot: None,
    };
    let waited = std::sync::Mutex::new((0.0, 0u64));
    let (tx, rx) = std::sync::mpsc::channel();
    let ledger = std::thread::scope(|scope| {
        spawn_workers(scope, jobs, tx, &ctx, "", &waited);
        coordinate(&NoPeers, ledger, order, &rx, &ctx, &waited)
    });
    let interrupted = stop.load(Ordering::SeqCst) && !ledger.all_finished();
    ledger.conclude(interrupted)
}
