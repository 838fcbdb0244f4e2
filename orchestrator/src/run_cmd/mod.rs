//! `eigensweep run SWEEP.yaml`: every run and baseline network of a sweep, in parallel on this
//! machine or, built with the `mpi` feature and started by `mpirun`/`srun`, over the ranks of
//! an MPI job; resumable; writing the hive-partitioned Parquet dataset.
//!
//! [`prepare`] reads the sweep and settles what is left to do; [`output_checks`] checks the
//! output directory against it, [`extend`] continues finished runs to more steps (`--extend`;
//! [`extendable`] says which) and [`runs_tables`] makes the launch's starting runs table, which
//! the [`ledger`] then keeps, with the end-of-sweep summary and the progress report. [`task`]
//! executes one run or baseline network and reports through [`dispatch`], what worker threads
//! see of whoever hands out the work; [`worker_loop`] is a worker thread; [`coordinator`] is
//! the main thread that hands out tasks, to this process's workers and, under MPI, to other
//! ranks; `fleet` is the MPI side (rank start-up, the other ranks' main threads). [`banner`]
//! is what a launch says as it starts, [`signals`] how it stops, [`eta`] the time left that
//! the progress shows, [`clock`] the times the runs table records; CPU threads are sized by
//! `crate::threads`, whose rules `plan` shares.
//!
//! Imports run one way, from this file down: no file here imports this one or a file that
//! imports it.

mod banner;
mod clock;
mod config_diff;
mod coordinator;
mod dispatch;
mod eta;
mod extend;
mod extendable;
#[cfg(feature = "mpi")]
mod fleet;
mod ledger;
mod output_checks;
mod prepare;
mod runs_tables;
mod signals;
mod status_serde;
mod task;
mod worker_loop;

use std::io::IsTerminal;
use std::sync::atomic::Ordering;

use eigensweep_common::exit_codes;
use indicatif::MultiProgress;

use crate::cli::RunArgs;
use crate::failure::Failure;
use crate::threads::{affinity, size_threads};
use banner::banner;
use coordinator::{coordinate, spawn_workers, NoPeers};
use ledger::Ledger;
use prepare::prepare;
pub(crate) use prepare::{baseline_cost, load_dataset, run_cost};
pub(crate) use signals::install_signal_flag;
use task::WorkerContext;

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

/// One process, `--jobs` worker threads.
fn run_local(args: RunArgs) -> Result<(), Failure> {
    // First of all: a preemption signal during start-up must not kill the process.
    let stop = install_signal_flag()?;
    let prep = prepare(&args, true)?;
    let bars = MultiProgress::new();
    let _shown = crate::console::BarsShown::new(&bars);
    let (ledger, order) = Ledger::open(&prep, &bars)?;
    let (jobs, threads) = size_threads(&args, affinity().len());
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
