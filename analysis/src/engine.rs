//! The dataflow: timely workers load tiles, exchange them to the workers whose jobs need
//! them, and run each job (one tile product) as soon as both of its tiles have arrived.
//!
//! ```text
//!  driver loop (every worker)            exchange by job worker         exchange to worker 0
//!  wave t: load the tiles this   ──► TileMsg{dest, tile} ──► TileProducts ──► JobOutcome ──► collect
//!  worker loads, send one message                             (per wave: run each job whose
//!  per worker that needs each                                  two tiles are here, drop a
//!  tile, advance the input to t+1                              tile after its last job)
//! ```
//!
//! Timestamps are wave numbers. The driver does not load wave t+1 before the probe shows
//! wave t−1 complete, so at most two waves of tiles are in memory: memory is bounded by the
//! tiles in flight, not by the data set. Within a process tiles travel as `Arc`s (one copy
//! however many workers use it); between processes they are serialised.
//!
//! Which worker runs a job, and which loads a tile, follows from the plan alone, which every
//! process derives from the same catalog, so the same jobs produce the same files whatever
//! the number of workers or processes.
//!
//! Halting: a stop request ([`AnalyzeOptions::stop`]) or a job's fatal output error (full
//! disk: every other job would fail at its write too) halts the workers of this process,
//! which broadcast the halt to every worker of the cluster over a second input. A halted
//! worker loads no more tiles and drops the jobs it has not started, so the dataflow drains
//! within one job per worker; the outcomes of the jobs that did finish still reach the
//! leader, which records them (see [`crate::analyze`]).

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use eigensweep_common::stop::StopFlag;
use eigensweep_worker::output::fatal_io_cause;

use serde::{Deserialize, Serialize};
use timely::dataflow::channels::pact::Pipeline;
use timely::dataflow::operators::vec::Broadcast;
use timely::dataflow::operators::{Capability, Exchange, Input, Operator, Probe};
use timely::{CommunicationConfig, WorkerConfig};

use crate::catalog::Catalog;
use crate::job::{run_job, JobOutcome};
use crate::options::AnalyzeOptions;
use crate::plan::Plan;
use crate::tile::{load_tile, Tile, TileKey};
use crate::AnalysisError;

/// A tile on its way to the worker `dest` that runs jobs needing it.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct TileMsg {
    dest: u32,
    tile: Arc<Tile>,
}

/// Counters the workers of this process update and the caller reads for progress and the
/// report.
#[derive(Debug, Default)]
pub(crate) struct EngineStats {
    pub pairs_done: AtomicU64,
    pub product_ns: AtomicU64,
    pub flops: AtomicU64,
    pub load_ns: AtomicU64,
    pub write_ns: AtomicU64,
    pub workers_finished: AtomicUsize,
    /// Why the workers of this process halted: [`NOT_HALTED`], [`HALT_STOP`] or
    /// [`HALT_OUTPUT`] (the larger reason wins).
    pub halt: AtomicU8,
    /// The first fatal output error a job of this process met, with its real cause.
    pub fatal: Mutex<Option<AnalysisError>>,
}

/// The workers run on.
pub(crate) const NOT_HALTED: u8 = 0;
/// A stop was requested (a signal here or on another process).
pub(crate) const HALT_STOP: u8 = 1;
/// A job met a fatal output error (here or on another process).
pub(crate) const HALT_OUTPUT: u8 = 2;

impl EngineStats {
    /// Why this process halts, [`NOT_HALTED`] if it does not; a stop request becomes
    /// [`HALT_STOP`] here.
    pub(crate) fn halt_reason(&self, stop: &StopFlag) -> u8 {
        if stop.is_requested() {
            self.halt_for(HALT_STOP);
        }
        self.halt.load(Ordering::SeqCst)
    }

    fn halt_for(&self, reason: u8) {
        self.halt.fetch_max(reason, Ordering::SeqCst);
    }
}

fn add_seconds(counter: &AtomicU64, seconds: f64) {
    counter.fetch_add((seconds * 1e9) as u64, Ordering::Relaxed);
}

/// The timely configuration for `opts`: threads in one process, or one process of a cluster.
pub(crate) fn timely_config(opts: &AnalyzeOptions) -> timely::Config {
    let communication = match &opts.process {
        None if opts.workers == 1 => CommunicationConfig::Thread,
        None => CommunicationConfig::Process(opts.workers),
        Some(p) => CommunicationConfig::Cluster {
            threads: opts.workers,
            process: p.index,
            addresses: p.addresses.clone(),
            report: false,
            zerocopy: false,
        },
    };
    timely::Config {
        communication,
        worker: WorkerConfig::default(),
    }
}

/// Total workers over all processes.
pub(crate) fn peers(opts: &AnalyzeOptions) -> usize {
    opts.workers * opts.process.as_ref().map_or(1, |p| p.addresses.len())
}

/// Runs the plan's waves; returns, on this process's worker 0 of process 0, every job's
/// outcome (empty elsewhere). `poll` is called on the calling thread while the workers run.
pub(crate) fn run(
    plan: Arc<Plan>,
    catalog: Arc<Catalog>,
    analysis: PathBuf,
    opts: &AnalyzeOptions,
    stats: Arc<EngineStats>,
    poll: &dyn Fn(),
) -> Result<Vec<JobOutcome>, AnalysisError> {
    let config = timely_config(opts);
    let local_workers = opts.workers;
    let worker_stats = Arc::clone(&stats);
    let stop = opts.stop.clone();
    let guards = timely::execute(config, move |worker| {
        let result = run_worker(worker, &plan, &catalog, &analysis, &worker_stats, &stop);
        worker_stats.workers_finished.fetch_add(1, Ordering::SeqCst);
        result
    })
    .map_err(AnalysisError::Engine)?;
    while stats.workers_finished.load(Ordering::SeqCst) < local_workers {
        poll();
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    poll();
    let mut outcomes = Vec::new();
    for result in guards.join() {
        outcomes.extend(result.map_err(AnalysisError::Engine)??);
    }
    Ok(outcomes)
}

fn run_worker(
    worker: &mut timely::worker::Worker,
    plan: &Arc<Plan>,
    catalog: &Arc<Catalog>,
    analysis: &Path,
    stats: &Arc<EngineStats>,
    stop: &StopFlag,
) -> Result<Vec<JobOutcome>, AnalysisError> {
    let me = worker.index();
    let peers = worker.peers();
    if peers != plan.peers {
        return Err(AnalysisError::Engine(format!(
            "the plan was made for {} workers but the cluster has {peers}",
            plan.peers
        )));
    }
    let collected: Rc<RefCell<Vec<JobOutcome>>> = Rc::default();
    let (mut input, mut halts, probe) = worker.dataflow::<u64, _, _>(|scope| {
        let (input, tiles) = scope.new_input::<Vec<TileMsg>>();
        // Halt reasons, sent to every worker; the stream never holds back the products'
        // frontier (nothing downstream of it is probed).
        let (halts, reasons) = scope.new_input::<Vec<u8>>();
        let halt_stats = Arc::clone(stats);
        reasons
            .broadcast()
            .sink(Pipeline, "HaltRequests", move |(input, _frontier)| {
                input.for_each(|_cap, data| {
                    for reason in data.drain(..) {
                        halt_stats.halt_for(reason);
                    }
                });
            });
        let products = tile_products(
            tiles.exchange(|m: &TileMsg| u64::from(m.dest)),
            me,
            plan,
            catalog,
            analysis,
            stats,
            stop,
        );
        let (probe, outcomes) = products.exchange(|_: &JobOutcome| 0).probe();
        let sink = Rc::clone(&collected);
        outcomes.sink(Pipeline, "CollectOutcomes", move |(input, _frontier)| {
            input.for_each(|_cap, data| sink.borrow_mut().extend(data.drain(..)));
        });
        (input, halts, probe)
    });

    // The largest halt reason this worker has broadcast.
    let mut announced = NOT_HALTED;
    let mut announce = |halts: &mut timely::dataflow::InputHandleVec<u64, u8>| {
        let reason = stats.halt_reason(stop);
        if reason > announced {
            halts.send(reason);
            announced = reason;
        }
        reason != NOT_HALTED
    };
    let mut loaded: HashMap<TileKey, Arc<Tile>> = HashMap::new();
    let mut failure = None;
    for (t, wave) in plan.waves.iter().enumerate() {
        if announce(&mut halts) {
            break;
        }
        let mut kept = HashMap::new();
        for (key, dests) in &wave.loads {
            if (key.spread() % peers as u64) as usize != me {
                continue;
            }
            if stats.halt_reason(stop) != NOT_HALTED {
                break;
            }
            // A tile loaded for the previous wave (a panel shared by consecutive waves) is
            // sent again rather than read again.
            let tile = match loaded.remove(key) {
                Some(tile) => tile,
                None => {
                    let started = Instant::now();
                    match load_tile(&plan.source(catalog, *key)) {
                        Ok(tile) => {
                            add_seconds(&stats.load_ns, started.elapsed().as_secs_f64());
                            Arc::new(tile)
                        }
                        Err(e) => {
                            failure = Some(e);
                            break;
                        }
                    }
                }
            };
            for &dest in dests {
                input.send(TileMsg {
                    dest,
                    tile: Arc::clone(&tile),
                });
            }
            kept.insert(*key, tile);
        }
        if failure.is_some() {
            break;
        }
        loaded = kept;
        input.advance_to(t as u64 + 1);
        // Bounded memory: wave t+1 is loaded only once wave t−1 is done everywhere.
        worker.step_while(|| probe.less_than(&(t as u64)));
    }
    drop(loaded);
    announce(&mut halts);
    input.close();
    // A halt that arrives while draining is passed on too, so that every worker hears it
    // even if its sender has already finished.
    worker.step_while(|| {
        announce(&mut halts);
        !probe.done()
    });
    drop(halts);
    if let Some(e) = failure {
        return Err(e);
    }
    let outcomes = std::mem::take(&mut *collected.borrow_mut());
    Ok(outcomes)
}

/// The operator that runs the jobs: per wave it keeps the tiles that have arrived and runs
/// each of this worker's jobs once both of its tiles are there, dropping a tile after the
/// last job that needs it.
fn tile_products<'scope>(
    tiles: timely::dataflow::Stream<'scope, u64, Vec<TileMsg>>,
    me: usize,
    plan: &Arc<Plan>,
    catalog: &Arc<Catalog>,
    analysis: &Path,
    stats: &Arc<EngineStats>,
    stop: &StopFlag,
) -> timely::dataflow::Stream<'scope, u64, Vec<JobOutcome>> {
    let plan = Arc::clone(plan);
    let catalog = Arc::clone(catalog);
    let analysis = analysis.to_path_buf();
    let stats = Arc::clone(stats);
    let stop = stop.clone();
    tiles.unary_frontier(Pipeline, "TileProducts", move |_cap, _info| {
        // Per wave: the capability to emit under, the tiles here, the jobs still to run.
        struct WaveState {
            cap: Capability<u64>,
            tiles: HashMap<TileKey, Arc<Tile>>,
            uses: HashMap<TileKey, usize>,
            jobs: Vec<usize>,
        }
        let mut waves: HashMap<u64, WaveState> = HashMap::new();
        move |(input, frontier), output| {
            input.for_each_stamp(|cap, data| {
                let Some(cap) = cap.retain_least(output.output_index()) else {
                    return;
                };
                let time = *cap.time();
                let state = waves.entry(time).or_insert_with(|| {
                    let wave = &plan.waves[time as usize];
                    let jobs: Vec<usize> = wave
                        .jobs
                        .iter()
                        .zip(&wave.workers)
                        .filter(|(_, &w)| w as usize == me)
                        .map(|(&j, _)| j)
                        .collect();
                    let mut uses = HashMap::new();
                    for &j in &jobs {
                        *uses.entry(plan.jobs[j].left).or_insert(0) += 1;
                        *uses.entry(plan.jobs[j].right).or_insert(0) += 1;
                    }
                    WaveState {
                        cap,
                        tiles: HashMap::new(),
                        uses,
                        jobs,
                    }
                });
                for container in data {
                    for msg in container.drain(..) {
                        state.tiles.insert(msg.tile.key, msg.tile);
                    }
                }
            });
            for state in waves.values_mut() {
                let mut session = output.session(&state.cap);
                let mut remaining = Vec::new();
                for j in std::mem::take(&mut state.jobs) {
                    if stats.halt_reason(&stop) != NOT_HALTED {
                        // Not started: left out of the outcomes, so recorded as not done.
                        continue;
                    }
                    let job = &plan.jobs[j];
                    let (Some(left), Some(right)) =
                        (state.tiles.get(&job.left), state.tiles.get(&job.right))
                    else {
                        remaining.push(j);
                        continue;
                    };
                    let outcome = match run_job(j, job, left, right, &catalog, &analysis) {
                        Ok((outcome, cost)) => {
                            add_seconds(&stats.product_ns, cost.product_seconds);
                            add_seconds(&stats.write_ns, cost.write_seconds);
                            stats.flops.fetch_add(cost.flops as u64, Ordering::Relaxed);
                            outcome
                        }
                        Err(e) => {
                            let output = fatal_io_cause(&e).is_some();
                            let message = format!("{}: {e}", job.name);
                            if output {
                                stats.halt_for(HALT_OUTPUT);
                                let mut first =
                                    stats.fatal.lock().unwrap_or_else(|p| p.into_inner());
                                first.get_or_insert(e);
                            }
                            JobOutcome {
                                job: j,
                                baseline: None,
                                error: Some(message),
                                fatal_output: output,
                            }
                        }
                    };
                    stats.pairs_done.fetch_add(job.pairs, Ordering::Relaxed);
                    session.give(outcome);
                    for key in [job.left, job.right] {
                        if let Some(n) = state.uses.get_mut(&key) {
                            *n -= 1;
                            if *n == 0 {
                                state.tiles.remove(&key);
                            }
                        }
                    }
                }
                state.jobs = remaining;
                if stats.halt_reason(&stop) != NOT_HALTED {
                    // Their tiles may never come: the loaders have halted too.
                    state.jobs.clear();
                }
            }
            // A wave is finished here when all its jobs ran, or when no more tiles can arrive
            // for it (a loader failed: its jobs are missing from the outcomes, which the
            // leader reports); its capability goes with it.
            waves.retain(|t, s| !s.jobs.is_empty() && frontier.less_equal(t));
        }
    })
}
