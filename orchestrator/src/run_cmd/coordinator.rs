//! Rank 0's side of a launch, with or without MPI: the main thread hands out tasks in the
//! ledger's order, applies status changes and keeps the runs table, while worker threads
//! execute tasks. Other processes (MPI ranks) are reached through [`Peers`]; without MPI there
//! are none ([`NoPeers`]) and the very same loop runs a sweep on one machine, so a sweep with
//! and without MPI goes through one dispatcher.

use std::collections::{BTreeSet, VecDeque};
use std::sync::atomic::Ordering;
use std::sync::mpsc;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use eigensweep_common::exit_codes;
use serde::{Deserialize, Serialize};

use super::dispatch::{Dispatch, RecordUpdate, TaskOutcome};
use super::eta::human_seconds;
use super::ledger::Ledger;
use super::task::WorkerContext;
use super::worker_loop::work;
use crate::failure::Failure;

/// The runs table is rewritten at most this often (and at the end): it is a status report,
/// the markers on disk are the truth, and a write (with fsync) per status change would cost
/// trivial tasks more than their work.
const TABLE_WRITE_INTERVAL: Duration = Duration::from_millis(250);

/// What a worker or rank tells rank 0.
#[derive(Debug, Serialize, Deserialize)]
pub(super) enum Up {
    /// Give me a task.
    Next,
    /// A status change of a runs-table row.
    Record { key: String, update: RecordUpdate },
    /// How a task ended (`whence`: `rank R (host)`); `Err((exit code, message))` stops
    /// the sweep.
    Finished {
        index: usize,
        outcome: Result<TaskOutcome, (i32, String)>,
        whence: String,
    },
    /// This rank's workers are done (the rank's last message).
    Bye {
        interrupted: bool,
        request_seconds: f64,
        requests: u64,
    },
}

/// A worker thread's message to its own process's main thread.
pub(super) enum Local {
    Next(mpsc::Sender<Option<usize>>),
    Up(Up),
}

/// One worker thread's side: everything goes to the main thread over a channel. When every
/// worker has returned, their senders are gone and the main thread sees the channel close.
pub(super) struct ChannelDispatch<'a> {
    pub tx: mpsc::Sender<Local>,
    /// `rank R (host)` for the progress log; empty without MPI.
    pub whence: &'a str,
    /// Seconds waited for task replies, and how many requests, over this rank's workers.
    pub waited: &'a Mutex<(f64, u64)>,
}

impl Dispatch for ChannelDispatch<'_> {
    fn next(&self) -> Option<usize> {
        let clock = Instant::now();
        let (reply_tx, reply_rx) = mpsc::channel();
        let task = if self.tx.send(Local::Next(reply_tx)).is_ok() {
            reply_rx.recv().ok().flatten()
        } else {
            None
        };
        let mut w = self.waited.lock().expect("lock");
        w.0 += clock.elapsed().as_secs_f64();
        w.1 += 1;
        task
    }

    fn record(&self, key: &str, update: RecordUpdate) -> Result<(), Failure> {
        // Rank 0 writes the table; a failure to write it stops the sweep there.
        let _ = self.tx.send(Local::Up(Up::Record {
            key: key.to_string(),
            update,
        }));
        Ok(())
    }

    fn finished(&self, index: usize, outcome: Result<TaskOutcome, Failure>) {
        let outcome = outcome.map_err(|f| (f.code, crate::failure::chain(&f.error)));
        let _ = self.tx.send(Local::Up(Up::Finished {
            index,
            outcome,
            whence: self.whence.to_string(),
        }));
    }
}

#[cfg_attr(not(feature = "mpi"), allow(dead_code))]
pub(super) fn encode(up: &Up) -> Vec<u8> {
    serde_json::to_vec(up).expect("control messages serialise")
}

/// The other processes of a launch, as rank 0 sees them.
pub(super) trait Peers {
    /// Processes in the launch, this one included.
    fn size(&self) -> i32;
    /// A message from another process, if one is waiting: (its rank, the bytes).
    fn poll(&self) -> Option<(i32, Vec<u8>)>;
    /// Answers a process's request for work.
    fn send_task(&self, rank: i32, task: Option<usize>);
    /// Tells a process to stop (checkpoint and take no new task).
    fn send_stop(&self, rank: i32);
}

/// A launch of one process.
pub(super) struct NoPeers;

impl Peers for NoPeers {
    fn size(&self) -> i32 {
        1
    }
    fn poll(&self) -> Option<(i32, Vec<u8>)> {
        None
    }
    fn send_task(&self, _: i32, _: Option<usize>) {}
    fn send_stop(&self, _: i32) {}
}

/// Starts `jobs` worker threads, each with its own sender, inside `scope`.
pub(super) fn spawn_workers<'scope, 'env>(
    scope: &'scope std::thread::Scope<'scope, 'env>,
    jobs: usize,
    tx: mpsc::Sender<Local>,
    ctx: &'env WorkerContext<'env>,
    whence: &'env str,
    waited: &'env Mutex<(f64, u64)>,
) {
    for job in 0..jobs {
        let dispatch = ChannelDispatch {
            tx: tx.clone(),
            whence,
            waited,
        };
        scope.spawn(move || work(ctx, &dispatch, job));
    }
}

/// Rank 0's main thread: serves its own workers and the other ranks until all are done.
///
/// A panic here (a bug) must not leave workers or ranks waiting for answers that never come:
/// it stops the sweep, answers every further request with "no more work" until every worker
/// and rank has returned, and ends the launch with an internal error (exit 1) recorded in the
/// ledger.
pub(super) fn coordinate(
    peers: &dyn Peers,
    ledger: Ledger,
    order: Vec<usize>,
    rx: &mpsc::Receiver<Local>,
    ctx: &WorkerContext,
    waited: &Mutex<(f64, u64)>,
) -> Ledger {
    let size = peers.size();
    let mut c = Coordinator {
        ledger,
        queue: order.into(),
        active: (1..size).collect(),
        stats: (0.0, 0),
        ctx,
        local_open: true,
    };
    let served = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        serve(peers, &mut c, rx, ctx, waited)
    }));
    if let Err(panic) = served {
        let what = panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "unknown panic".into());
        ctx.stop.store(true, Ordering::SeqCst);
        drain(peers, &mut c, rx);
        c.ledger.fatal(Failure {
            code: exit_codes::INTERNAL,
            error: anyhow::anyhow!(
                "internal error in the coordinating thread (a bug, please report it): {what}; running runs checkpointed, run the same command again to continue"
            ),
        });
        let _ = c.ledger.flush();
    }
    c.ledger
}

/// After a panic: stop every rank, answer every request with "no more work", and return once
/// every worker of this process and every other rank is gone.
fn drain(peers: &dyn Peers, c: &mut Coordinator, rx: &mpsc::Receiver<Local>) {
    for &r in &c.active {
        peers.send_stop(r);
    }
    loop {
        while let Some((from, bytes)) = peers.poll() {
            match serde_json::from_slice::<Up>(&bytes) {
                Ok(Up::Next) => peers.send_task(from, None),
                Ok(Up::Bye { .. }) => {
                    c.active.remove(&from);
                }
                _ => {}
            }
        }
        if c.local_open {
            match rx.recv_timeout(Duration::from_millis(5)) {
                Ok(Local::Next(reply)) => {
                    let _ = reply.send(None);
                }
                Ok(Local::Up(_)) => {}
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => c.local_open = false,
            }
        } else if c.active.is_empty() {
            return;
        } else {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
}

/// The coordinating loop proper (see [`coordinate`]).
fn serve(
    peers: &dyn Peers,
    c: &mut Coordinator,
    rx: &mpsc::Receiver<Local>,
    ctx: &WorkerContext,
    waited: &Mutex<(f64, u64)>,
) {
    let size = peers.size();
    let mut stop_sent = false;
    let mut last_write = Instant::now();
    let mut last_totals = Instant::now();
    loop {
        let mut busy = false;
        while let Some((from, bytes)) = peers.poll() {
            busy = true;
            match serde_json::from_slice::<Up>(&bytes) {
                Ok(Up::Next) => peers.send_task(from, c.next_task()),
                Ok(up) => c.apply(up, from),
                Err(e) => c.ledger.fatal(Failure {
                    code: exit_codes::INTERNAL,
                    error: anyhow::anyhow!("unreadable message from rank {from}: {e}"),
                }),
            }
        }
        while c.local_open {
            match rx.try_recv() {
                Ok(message) => {
                    busy = true;
                    c.local(message);
                }
                Err(mpsc::TryRecvError::Empty) => break,
                Err(mpsc::TryRecvError::Disconnected) => c.local_open = false,
            }
        }
        let done = !c.local_open && c.active.is_empty();
        if done || last_write.elapsed() >= TABLE_WRITE_INTERVAL {
            if let Err(f) = c.ledger.flush() {
                c.ledger.fatal(f);
            }
            last_write = Instant::now();
        }
        if !done && last_totals.elapsed().as_secs_f64() >= ctx.progress_seconds {
            if ctx.log_lines {
                crate::console::note!("{}", c.ledger.totals_line());
            } else {
                // The running tasks' progress moved the sweep bar's ETA.
                c.ledger.refresh_eta();
            }
            c.ledger.touch_running();
            last_totals = Instant::now();
        }
        if c.stopped() && !stop_sent {
            for &r in &c.active {
                peers.send_stop(r);
            }
            // Rank 0's own workers stop too (a fatal error elsewhere, or a remote signal).
            ctx.stop.store(true, Ordering::SeqCst);
            stop_sent = true;
        }
        if done {
            break;
        }
        if !busy {
            if size == 1 {
                // Nothing to poll but our own workers: wait for them.
                match rx.recv_timeout(TABLE_WRITE_INTERVAL / 2) {
                    Ok(message) => c.local(message),
                    Err(mpsc::RecvTimeoutError::Timeout) => {}
                    Err(mpsc::RecvTimeoutError::Disconnected) => c.local_open = false,
                }
            } else {
                // Polling keeps every MPI call on this thread; a millisecond is nothing next
                // to a task, and an idle rank 0 leaves its cores to its workers.
                std::thread::sleep(Duration::from_millis(1));
            }
        }
    }
    let (s0, n0) = *waited.lock().expect("lock");
    let (request_seconds, requests) = (c.stats.0 + s0, c.stats.1 + n0);
    if requests > 0 && ctx.rank.is_some() {
        crate::console::note!(
            "coordination: {requests} task requests over {size} ranks, {:.3} ms per request on average ({} in all)",
            1e3 * request_seconds / requests as f64,
            human_seconds(request_seconds)
        );
    }
}

/// The state of [`coordinate`].
struct Coordinator<'a> {
    ledger: Ledger,
    queue: VecDeque<usize>,
    /// Ranks that have not said goodbye.
    active: BTreeSet<i32>,
    /// Seconds the other ranks' workers waited for tasks, and their requests.
    stats: (f64, u64),
    ctx: &'a WorkerContext<'a>,
    /// Whether this process's workers may still send (false once all have returned).
    local_open: bool,
}

impl Coordinator<'_> {
    fn stopped(&self) -> bool {
        self.ctx.stop.load(Ordering::SeqCst) || self.ledger.has_fatal()
    }

    /// The next task, unless the sweep is stopping.
    fn next_task(&mut self) -> Option<usize> {
        if self.stopped() {
            None
        } else {
            self.queue.pop_front()
        }
    }

    /// A message from one of this process's workers.
    fn local(&mut self, message: Local) {
        match message {
            Local::Next(reply) => {
                let _ = reply.send(self.next_task());
            }
            Local::Up(up) => self.apply(up, 0),
        }
    }

    /// Applies a message other than a request for work (`from`: the sending rank).
    fn apply(&mut self, up: Up, from: i32) {
        let ledger = &mut self.ledger;
        match up {
            Up::Next => {}
            Up::Record { key, update } => ledger.record_later(&key, &update),
            Up::Finished {
                index,
                outcome,
                whence,
            } => {
                let outcome = outcome.map_err(|(code, message)| Failure {
                    code,
                    error: if whence.is_empty() {
                        anyhow::anyhow!(message)
                    } else {
                        anyhow::anyhow!("{whence}: {message}")
                    },
                });
                ledger.finished(index, outcome, Some(whence).filter(|w| !w.is_empty()));
            }
            Up::Bye {
                interrupted,
                request_seconds,
                requests,
            } => {
                if interrupted {
                    // One rank was signalled: the whole job checkpoints and stops.
                    self.ctx.stop.store(true, Ordering::SeqCst);
                }
                self.stats.0 += request_seconds;
                self.stats.1 += requests;
                self.active.remove(&from);
            }
        }
    }
}
