//! The MPI fleet: `mpirun -np K eigensweep run SWEEP.yaml` or `srun eigensweep run …`.
//!
//! Rank 0 owns the queue (unfinished tasks, longest first) and the [`Ledger`]; every rank,
//! rank 0 included, runs worker threads that execute tasks and write their outputs straight
//! to the shared output directory. Only small control messages cross MPI (JSON bytes): a
//! request for work, the task index in reply, status changes for the runs table, how a task
//! ended. No eigenvector or parameter vector travels through MPI.
//!
//! Only each process's main thread calls MPI (`MPI_THREAD_FUNNELED`); worker threads talk to
//! it over a channel. The main thread of rank 0 serves its own workers and the other ranks;
//! the main thread of any other rank forwards its workers' requests to rank 0 and listens for
//! the stop message.
//!
//! Stopping: a signal on any rank (mpirun forwards SIGTERM/SIGUSR1 to every rank, srun and
//! Slurm signal every task) makes that rank's runs checkpoint; rank 0 then tells every other
//! rank to stop too, so the whole job ends cleanly with exit code 8 and the next launch
//! continues. A fatal error on one rank stops the job the same way. At the end rank 0 sends
//! every rank the exit code, so all ranks exit alike.

use std::io::IsTerminal;
use std::sync::atomic::Ordering;
use std::sync::mpsc;
use std::sync::Mutex;
use std::time::Duration;

use eigensweep_common::exit_codes;
use indicatif::MultiProgress;
use mpi::collective::SystemOperation;
use mpi::point_to_point::{Destination, MatchedReceiveVec, Source};
use mpi::topology::{Communicator, SimpleCommunicator};
use mpi::traits::*;
use mpi::Threading;

use super::banner::{banner, device_for_slot};
use super::coordinator::{coordinate, encode, spawn_workers, Local, Peers, Up};
use super::ledger::Ledger;
use super::prepare::prepare;
use super::signals::install_signal_flag;
use super::task::{host, WorkerContext};
use crate::cli::RunArgs;
use crate::failure::Failure;
use crate::threads::{affinity, fair_share, from_bitmap, size_threads, to_bitmap, MAX_CPUS};

/// Messages to rank 0.
const TAG_UP: i32 = 11;
/// Rank 0's answer to a request for work: the task index, or −1 for none.
const TAG_TASK: i32 = 12;
/// Rank 0 → rank: stop (checkpoint running runs, take no new task).
const TAG_STOP: i32 = 13;
/// Rank 0 → rank: the job's exit code; the last message.
const TAG_FINAL: i32 = 14;

/// The MPI world as rank 0's coordinator sees it.
struct World<'a>(&'a SimpleCommunicator);

impl Peers for World<'_> {
    fn size(&self) -> i32 {
        self.0.size()
    }

    fn poll(&self) -> Option<(i32, Vec<u8>)> {
        let (msg, status) = self
            .0
            .any_process()
            .immediate_matched_probe_with_tag(TAG_UP)?;
        let (bytes, _) = (msg, status).matched_receive_vec::<u8>();
        Some((status.source_rank(), bytes))
    }

    fn send_task(&self, rank: i32, task: Option<usize>) {
        let task: i64 = task.map_or(-1, |i| i as i64);
        self.0.process_at_rank(rank).send_with_tag(&task, TAG_TASK);
    }

    fn send_stop(&self, rank: i32) {
        self.0
            .process_at_rank(rank)
            .send_with_tag(&[0u8][..], TAG_STOP);
    }
}

/// The threads this rank should use: its fair share of its CPUs among the ranks of its node.
fn node_threads(node: &SimpleCommunicator) -> usize {
    let mine = affinity();
    let words = to_bitmap(&mine);
    let mut all = vec![0u64; words.len() * node.size() as usize];
    node.all_gather_into(&words[..], &mut all[..]);
    let masks: Vec<Vec<usize>> = all.chunks(MAX_CPUS / 64).map(from_bitmap).collect();
    fair_share(&mine, &masks)
}

/// `mpirun`/`srun` entry point: every rank calls this.
pub(super) fn run(args: RunArgs) -> Result<(), Failure> {
    // First of all: a preemption signal during start-up must not kill the process.
    let stop = install_signal_flag()?;
    let Some((universe, _threading)) = mpi::initialize_with_threading(Threading::Funneled) else {
        return Err(Failure {
            code: exit_codes::INTERNAL,
            error: anyhow::anyhow!("MPI was already initialised"),
        });
    };
    let world = universe.world();
    let rank = world.rank();
    let size = world.size();
    // Ranks of one node share memory: the node-local rank picks the device (GPU ordinal =
    // local rank mod devices, with CUDA) and the node's CPUs are split among its ranks.
    let node = world.split_shared(rank);
    let local_rank = node.rank();
    let local_size = node.size();
    let budget = node_threads(&node);

    // Every rank reads the sweep and the datasets; rank 0 also checks the output directory
    // and writes the starting runs table. Then all agree on whether to go on.
    let bars = MultiProgress::new();
    let _shown = crate::console::BarsShown::new(&bars);
    // Rank 0 owns the launch: it takes the output's lock (refused: every rank exits 9).
    let prepared = prepare(&args, rank == 0);
    let mut opened = match (&prepared, rank) {
        (Ok(prep), 0) => Some(Ledger::open(prep, &bars)),
        _ => None,
    };
    let mut code0 = match (&prepared, &opened) {
        (Err(f), _) => f.code,
        (Ok(_), Some(Err(f))) => f.code,
        _ => 0,
    };
    world.process_at_rank(0).broadcast_into(&mut code0);
    if code0 != 0 {
        return match (rank, prepared, opened) {
            (0, Err(f), _) | (0, Ok(_), Some(Err(f))) => Err(f),
            _ => Err(Failure {
                code: code0,
                error: anyhow::anyhow!(
                    "rank {rank}: rank 0 could not start the sweep (see its error)"
                ),
            }),
        };
    }
    let my_code = prepared.as_ref().err().map_or(0, |f| f.code);
    let mut worst = 0;
    world.all_reduce_into(&my_code, &mut worst, SystemOperation::max());
    if worst != 0 {
        return Err(match prepared {
            Err(f) => Failure {
                code: f.code,
                error: f
                    .error
                    .context(format!("rank {rank} on {}", host().unwrap_or_default())),
            },
            Ok(_) => Failure {
                code: worst,
                error: anyhow::anyhow!("rank {rank}: another rank could not start (see its error)"),
            },
        });
    }
    let prep = prepared.expect("checked above");

    let (jobs, threads) = size_threads(&args, budget);
    if rank == 0 {
        banner(&prep, &format!("{size} ranks × "), jobs, threads);
    }
    let whence = format!("rank {rank} ({})", host().unwrap_or_else(|| "?".into()));
    crate::console::note!(
        "{whence}: node-local rank {local_rank} of {local_size}, {jobs} jobs × {threads} threads, device {}",
        device_for_slot(prep.device, local_rank as usize)
    );
    let ctx = WorkerContext {
        prep: &prep,
        bars: &bars,
        stop: &stop,
        checkpoint_every: args.checkpoint_every,
        checkpoint_minutes: args.checkpoint_minutes,
        progress_seconds: args.progress_seconds,
        log_lines: !std::io::stderr().is_terminal(),
        rank: Some(rank as u32),
        host: host(),
        device: prep.device,
        device_slot: Some(local_rank as usize),
    };
    let waited = Mutex::new((0.0, 0u64));
    let (tx, rx) = mpsc::channel();
    if rank == 0 {
        let (ledger, order) = opened.take().expect("rank 0 opened the ledger")?;
        let ledger = std::thread::scope(|scope| {
            spawn_workers(scope, jobs, tx, &ctx, &whence, &waited);
            coordinate(&World(&world), ledger, order, &rx, &ctx, &waited)
        });
        let interrupted = stop.load(Ordering::SeqCst) && !ledger.all_finished();
        let result = ledger.conclude(interrupted);
        let code = result.as_ref().err().map_or(0, |f| f.code);
        for r in 1..size {
            world.process_at_rank(r).send_with_tag(&code, TAG_FINAL);
        }
        result
    } else {
        std::thread::scope(|scope| {
            spawn_workers(scope, jobs, tx, &ctx, &whence, &waited);
            serve_rank(&world, &rx, &ctx, &waited);
        });
        // Wait for the job's exit code (stop messages sent before it are spent here).
        let code = loop {
            let (msg, status) = world.process_at_rank(0).matched_probe();
            if status.tag() == TAG_FINAL {
                let (code, _) = msg.matched_receive::<i32>();
                break code;
            }
            let _ = (msg, status).matched_receive_vec::<u8>();
        };
        if code == 0 {
            Ok(())
        } else {
            Err(Failure {
                code,
                error: anyhow::anyhow!(
                    "rank {rank}: the sweep ended with exit code {code} (rank 0 reports why)"
                ),
            })
        }
    }
}

/// The main thread of a rank other than 0: forwards its workers' messages to rank 0, passes
/// rank 0's answers back, and raises the stop flag when rank 0 says so.
fn serve_rank(
    world: &SimpleCommunicator,
    rx: &mpsc::Receiver<Local>,
    ctx: &WorkerContext,
    waited: &Mutex<(f64, u64)>,
) {
    let root = world.process_at_rank(0);
    loop {
        match rx.recv_timeout(Duration::from_millis(2)) {
            Ok(Local::Next(reply)) => {
                root.send_with_tag(&encode(&Up::Next)[..], TAG_UP);
                let (task, _) = root.receive_with_tag::<i64>(TAG_TASK);
                let _ = reply.send(usize::try_from(task).ok());
            }
            Ok(Local::Up(up)) => root.send_with_tag(&encode(&up)[..], TAG_UP),
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
        if let Some(probed) = root.immediate_matched_probe_with_tag(TAG_STOP) {
            let _ = probed.matched_receive_vec::<u8>();
            ctx.stop.store(true, Ordering::SeqCst);
        }
    }
    let (request_seconds, requests) = *waited.lock().expect("lock");
    let bye = Up::Bye {
        interrupted: ctx.stop.load(Ordering::SeqCst),
        request_seconds,
        requests,
    };
    root.send_with_tag(&encode(&bye)[..], TAG_UP);
}
