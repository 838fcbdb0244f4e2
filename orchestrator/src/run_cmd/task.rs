//! Executing one task (a training run or a baseline network) on this process, reporting its
//! progress to the runs table through a [`Dispatch`].

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Instant;

use eigensweep_common::device::DeviceRequest;
use eigensweep_common::exit_codes;
use eigensweep_common::provenance::{self, Provenance};
use eigensweep_common::sweep::{BaselineTask, RunSpec};
use eigensweep_worker::data::TrainTest;
use eigensweep_worker::device::{self, OpenedDevice};
use eigensweep_worker::mlp::Architecture;
use eigensweep_worker::output::{
    baseline_dir, fatal_io_cause, run_dir, RunDirState, TaskStatus, CHECKPOINT_FILE,
};
use eigensweep_worker::run::{
    execute, execute_baseline, execute_ensemble, BaselinePlan, Checkpoint, Checkpointing, RunPlan,
    RunProgress, RunReport, RunStatus,
};
use eigensweep_worker::WorkerError;
use indicatif::{MultiProgress, ProgressBar};

use super::clock::now_ms;
use super::dispatch::{Dispatch, RecordUpdate, TaskOutcome};
use super::eta::{eta_text, Countdown, RunPace};
use super::prepare::{Prepared, Task};
use crate::failure::{Failure, WithExitCode};

/// What a worker thread needs to execute tasks.
pub(super) struct WorkerContext<'a> {
    /// The launch's tasks and datasets.
    pub prep: &'a Prepared,
    /// Per-run progress bars (hidden when stderr is not a terminal).
    pub bars: &'a MultiProgress,
    /// Set by a signal or a fatal error: running runs checkpoint and return.
    pub stop: &'a AtomicBool,
    /// Checkpoint after this many snapshots…
    pub checkpoint_every: u64,
    /// …or this many minutes.
    pub checkpoint_minutes: f64,
    /// This process's MPI rank, if any.
    pub rank: Option<u32>,
    /// This machine's name.
    pub host: Option<String>,
    /// Seconds between progress lines of a running run in a batch log (stderr not a
    /// terminal), and between progress updates of its runs-table row.
    pub progress_seconds: f64,
    /// Whether progress goes to a log as lines (stderr is not a terminal) instead of bars.
    pub log_lines: bool,
    /// Where tasks compute (`--device`, else the sweep's `device`, else the CPU).
    pub device: DeviceRequest,
    /// The slot `cuda` picks its GPU by (ordinal = slot mod visible GPUs): the node-local
    /// rank under MPI; `None` without MPI, where each job uses its own index.
    pub device_slot: Option<usize>,
}

/// This machine's host name.
pub(super) fn host() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|s| s.trim().to_string())
        .or_else(|| std::env::var("HOSTNAME").ok())
}

fn arch_for(data: &TrainTest, hidden: &[usize]) -> Result<Architecture, Failure> {
    let mut widths = vec![data.train.dim];
    widths.extend(hidden);
    widths.push(data.train.classes);
    Architecture::new(widths).exit_code(exit_codes::INPUT, "model.hidden")
}

/// Tasks executing at this moment in this process (its `--jobs` worker threads that hold a
/// task): each holds its own data copy, Hessian operator and Krylov basis, so a task that runs
/// out of memory says how many shared the process with it.
static EXECUTING: AtomicUsize = AtomicUsize::new(0);

/// Counts a task in [`EXECUTING`] for as long as it lives (a panic included).
struct Executing;

impl Executing {
    fn start() -> Self {
        EXECUTING.fetch_add(1, Ordering::SeqCst);
        Executing
    }
}

impl Drop for Executing {
    fn drop(&mut self) {
        EXECUTING.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A task's settings that size its memory, as a person reads them in a sweep file: what the
/// message of a task that ran out of memory names besides the buffer.
struct MemorySettings {
    hessian_samples: Option<usize>,
    top_k: usize,
    widths: Vec<usize>,
    train: usize,
    test: usize,
}

impl MemorySettings {
    /// The message of a task that failed with `e`, when what failed it is running out of
    /// memory: the buffer and its size (the worker's error), this task's settings behind it,
    /// how many tasks shared the process, and what to change.
    fn failure_text(&self, e: &WorkerError) -> Option<String> {
        e.out_of_memory()?;
        let parameters: usize = self.widths.windows(2).map(|w| w[0] * w[1] + w[1]).sum();
        let samples = match self.hessian_samples {
            Some(n) => n.to_string(),
            None => format!("null (all {} training samples)", self.train),
        };
        let running = EXECUTING.load(Ordering::SeqCst).max(1);
        Some(format!(
            "{e}; the task's settings: snapshots.hessian_samples = {samples}, top_k = {}, \
             widths {} (N = {} parameters), train_size = {}, test_size = {}; {running} task{} \
             running at once in this process (--jobs), each with buffers of its own: lower \
             these settings or --jobs, or give the job more memory (`eigensweep plan` prints \
             the peak memory per job)",
            self.top_k,
            self.widths
                .iter()
                .map(usize::to_string)
                .collect::<Vec<_>>()
                .join("-"),
            thousands(parameters),
            self.train,
            self.test,
            if running == 1 { " was" } else { "s were" },
        ))
    }
}

/// `89610` → `89,610`.
fn thousands(n: usize) -> String {
    eigensweep_worker::memory::thousands(n as u64)
}

/// Executes task `index`. `Err` only for what must stop the whole sweep (the runs table or
/// the output directory cannot be written); a task that fails is an `Ok` outcome.
pub(super) fn execute_task(
    ctx: &WorkerContext,
    index: usize,
    dispatch: &dyn Dispatch,
    job: usize,
) -> Result<TaskOutcome, Failure> {
    let _executing = Executing::start();
    let clock = Instant::now();
    let task = &ctx.prep.tasks[index];
    // Opened on this thread, per task: a CUDA device gets this thread's stream, so jobs that
    // share a GPU overlap. The launch checked the request already (`prepare`), so a failure
    // here (a GPU lost mid-sweep) fails this task only.
    let device = match device::open(ctx.device, ctx.device_slot.unwrap_or(job)) {
        Ok(d) => {
            // Every file this thread writes for the task names the device it computed on.
            provenance::set_thread_device(&d.label);
            d
        }
        Err(e) => {
            let text = format!("device {}: {e}", ctx.device);
            return failed(ctx, dispatch, task.key(), &task.label(), text);
        }
    };
    let mut outcome = match (task, ctx.prep.ensemble_led_by(index)) {
        (Task::Run(_), Some(members)) => {
            // The leader's outcome is returned; the other members' are reported here.
            let mut leader = None;
            for (i, outcome) in run_ensemble(ctx, members, dispatch, &device) {
                if i == index {
                    leader = Some(outcome);
                } else {
                    let outcome = outcome.map(|mut o| {
                        o.seconds = clock.elapsed().as_secs_f64();
                        o
                    });
                    dispatch.finished(i, outcome);
                }
            }
            leader.expect("the leader is a member")
        }
        (Task::Run(spec), None) => run_one(ctx, spec, dispatch, &device),
        (Task::Baseline(t), _) => baseline_one(ctx, t, dispatch, &device),
    }?;
    outcome.seconds = clock.elapsed().as_secs_f64();
    Ok(outcome)
}

/// Records task `key` as failed with `text` (and where and when) and returns its outcome.
fn failed(
    ctx: &WorkerContext,
    dispatch: &dyn Dispatch,
    key: &str,
    label: &str,
    text: String,
) -> Result<TaskOutcome, Failure> {
    dispatch.record(
        key,
        RecordUpdate {
            status: Some(TaskStatus::Failed),
            error: Some(text.clone()),
            host: ctx.host.clone(),
            rank: ctx.rank,
            end_time: Some(now_ms()),
            ..RecordUpdate::default()
        },
    )?;
    Ok(TaskOutcome {
        problem: Some(format!("{label}: failed: {text}")),
        status: TaskStatus::Failed,
        worked: true,
        ..TaskOutcome::default()
    })
}

/// The error of a task that met a full disk, an exhausted quota or a read-only or failing
/// filesystem: the whole launch stops (exit 4) and the task stays unfailed, to be completed by
/// the same command once the filesystem is fixed.
fn fatal_output(
    dispatch: &dyn Dispatch,
    key: &str,
    label: &str,
    e: &WorkerError,
) -> Option<Failure> {
    let cause = fatal_io_cause(e)?;
    let _ = dispatch.record(
        key,
        RecordUpdate {
            status: Some(TaskStatus::Pending),
            ..RecordUpdate::default()
        },
    );
    let what = match cause.kind() {
        std::io::ErrorKind::StorageFull => "the output filesystem is full",
        std::io::ErrorKind::QuotaExceeded => "the disk quota is exhausted",
        std::io::ErrorKind::ReadOnlyFilesystem => "the output filesystem is read-only",
        _ => "the output device failed (I/O error)",
    };
    Some(Failure {
        code: exit_codes::OUTPUT,
        error: anyhow::anyhow!(
            "{label}: {e}\n{what}: the launch stopped, no task was marked failed and intact checkpoints are kept. Free space (or fix the filesystem) and run the same command again"
        ),
    })
}

/// What a run's progress lines, bar and runs-table updates need between two callbacks.
struct ProgressLog {
    label: String,
    /// The previous report's step, snapshots done and time (`None` before the first).
    last: Option<(u64, u64, Instant)>,
    /// The run's pace since its first report in this launch.
    pace: RunPace,
    /// The run's bar's ETA.
    countdown: Countdown,
    last_line: Instant,
    last_record: Instant,
}

impl ProgressLog {
    fn new(label: String) -> Self {
        Self {
            label,
            last: None,
            pace: RunPace::default(),
            countdown: Countdown::default(),
            last_line: Instant::now(),
            last_record: Instant::now(),
        }
    }

    /// Takes note of a progress callback (the pace, the bar's ETA); returns the log line when
    /// one is due.
    fn update(&mut self, p: &RunProgress, interval: f64) -> Option<String> {
        let now = Instant::now();
        if let Some((step, snapshots, at)) = self.last {
            // A run's first snapshot is a cold solve; after a resume the first is warm-started
            // from the checkpoint's vectors.
            let snapshot = (p.snapshots_done > snapshots)
                .then_some((p.last_snapshot_seconds, p.snapshots_done >= 2));
            self.pace.add(
                p.step.saturating_sub(step),
                now.duration_since(at).as_secs_f64(),
                snapshot,
            );
        }
        self.last = Some((p.step, p.snapshots_done, now));
        let left = self.pace.seconds_left(
            p.steps.saturating_sub(p.step),
            p.snapshots.saturating_sub(p.snapshots_done),
        );
        self.countdown.set(left);
        if self.last_line.elapsed().as_secs_f64() < interval {
            return None;
        }
        self.last_line = Instant::now();
        let rate = self
            .pace
            .steps_per_second()
            .map_or_else(|| "—".to_string(), |r| format!("{r:.0}"));
        Some(format!(
            "  {}: step {}/{}, snapshots {}/{}, last snapshot {} products in {:.1} s, {rate} steps/s, {}",
            self.label,
            p.step,
            p.steps,
            p.snapshots_done,
            p.snapshots,
            p.last_products,
            p.last_snapshot_seconds,
            eta_text(left)
        ))
    }

    /// Whether the runs-table row is due for a progress update.
    fn record_due(&mut self, p: &RunProgress, interval: f64) -> bool {
        if p.checkpointed || self.last_record.elapsed().as_secs_f64() >= interval {
            self.last_record = Instant::now();
            true
        } else {
            false
        }
    }
}

/// A run made ready to execute: its plan, directory and what its progress and outcome need.
struct RunJob {
    label: String,
    plan: RunPlan,
    dir: std::path::PathBuf,
    memory: MemorySettings,
    log: ProgressLog,
    bar: ProgressBar,
    /// Whether its directory held no end marker when this launch readied it (its row was
    /// then marked running, so its end must be recorded even if the run turns out finished).
    was_unfinished: bool,
}

/// Readies `spec` on `device`: its network, plan and directory, its row marked running (when
/// it has work left) and its start line. `Ok(Err(outcome))` for a run that failed before it
/// could start (recorded).
fn ready_run(
    ctx: &WorkerContext,
    spec: &RunSpec,
    dispatch: &dyn Dispatch,
    device: &OpenedDevice,
) -> Result<Result<RunJob, TaskOutcome>, Failure> {
    let out: &Path = &ctx.prep.out;
    let data = &ctx.prep.datasets[&spec.dataset.name];
    let label = format!(
        "{}/{}/{}",
        spec.dataset.name, spec.optimizer.name, spec.seed
    );
    let arch = match arch_for(data, &spec.model.hidden) {
        Ok(a) => a,
        Err(f) => {
            return failed(
                ctx,
                dispatch,
                &spec.key,
                &label,
                crate::failure::chain(&f.error),
            )
            .map(Err)
        }
    };
    let memory = MemorySettings {
        hessian_samples: spec.hessian_samples,
        top_k: spec.eigen.top_k,
        widths: arch.widths().to_vec(),
        train: data.train.len,
        test: data.test.len,
    };
    let plan = RunPlan::from_spec(
        spec,
        arch,
        Checkpointing {
            every_snapshots: ctx.checkpoint_every,
            seconds: ctx.checkpoint_minutes * 60.0,
        },
        device.device.clone(),
    );
    let dir = match run_dir(out, &spec.dataset.name, &spec.optimizer.name, spec.seed) {
        Ok(d) => d,
        Err(e) => return failed(ctx, dispatch, &spec.key, &label, e.to_string()).map(Err),
    };
    // A finished run keeps its record; only runs with work left become "running".
    let unfinished = RunDirState::read(&dir).finished_status().is_none();
    if unfinished {
        dispatch.record(&spec.key, running(ctx, device))?;
    }
    if ctx.log_lines && unfinished {
        let from = match Checkpoint::load(&dir.join(CHECKPOINT_FILE)) {
            Ok(Some(c)) => format!(
                "resuming from its checkpoint at step {} ({} snapshots)",
                c.step, c.snapshots_done
            ),
            Ok(None) => "from step 0".into(),
            // The launch fails on it next, with the error naming the file.
            Err(e) => format!("its checkpoint cannot be read ({e})"),
        };
        crate::console::note!("start {label} ({}): {from}, {} steps", spec.key, plan.steps);
    }
    let log = ProgressLog::new(label.clone());
    let bar = ctx.bars.add(ProgressBar::new(plan.steps));
    bar.set_style(
        log.countdown
            .style("{prefix:>8} [{bar:30}] step {pos}/{len}  {msg}  {eta_left}"),
    );
    bar.set_prefix(label.clone());
    Ok(Ok(RunJob {
        label,
        plan,
        dir,
        memory,
        log,
        bar,
        was_unfinished: unfinished,
    }))
}

impl RunJob {
    /// Takes note of a progress callback of the run: its bar, its log line when due, and its
    /// row of the runs table when due.
    fn progress(
        &mut self,
        ctx: &WorkerContext,
        dispatch: &dyn Dispatch,
        key: &str,
        p: &RunProgress,
    ) {
        self.bar.set_position(p.step);
        self.bar.set_message(format!(
            "snapshots {}/{}, {} HVPs last",
            p.snapshots_done, p.snapshots, p.last_products
        ));
        if let Some(line) = self.log.update(p, ctx.progress_seconds) {
            if ctx.log_lines {
                crate::console::note!("{line}");
            }
        }
        if self.log.record_due(p, ctx.progress_seconds) {
            let _ = dispatch.record(
                key,
                RecordUpdate {
                    steps_done: Some(p.step),
                    snapshots_done: Some(p.snapshots_done),
                    checkpoint_time: p.checkpointed.then(now_ms),
                    ..RecordUpdate::default()
                },
            );
        }
    }
}

fn run_one(
    ctx: &WorkerContext,
    spec: &RunSpec,
    dispatch: &dyn Dispatch,
    device: &OpenedDevice,
) -> Result<TaskOutcome, Failure> {
    let mut job = match ready_run(ctx, spec, dispatch, device)? {
        Ok(job) => job,
        Err(outcome) => return Ok(outcome),
    };
    let data = &ctx.prep.datasets[&spec.dataset.name];
    let (plan, dir) = (job.plan.clone(), job.dir.clone());
    let result = execute(
        &plan,
        data,
        &dir,
        &mut |p| job.progress(ctx, dispatch, &spec.key, p),
        ctx.stop,
    );
    conclude_run(ctx, spec, dispatch, job, result)
}

/// Executes the runs `indices` (of this launch's tasks) as one fused ensemble
/// (`worker::run::execute_ensemble`): each run is readied, reports its progress and is
/// concluded as [`run_one`] does for a run alone. Returns each run's outcome, in order.
pub(super) fn run_ensemble(
    ctx: &WorkerContext,
    indices: &[usize],
    dispatch: &dyn Dispatch,
    device: &OpenedDevice,
) -> Vec<(usize, Result<TaskOutcome, Failure>)> {
    let specs: Vec<&RunSpec> = indices
        .iter()
        .map(|&i| match &ctx.prep.tasks[i] {
            Task::Run(spec) => spec,
            Task::Baseline(_) => unreachable!("only runs are fused"),
        })
        .collect();
    let mut outcomes: Vec<(usize, Result<TaskOutcome, Failure>)> = Vec::new();
    let mut jobs: Vec<(usize, &RunSpec, RunJob)> = Vec::new();
    for (&i, &spec) in indices.iter().zip(&specs) {
        match ready_run(ctx, spec, dispatch, device) {
            Ok(Ok(job)) => jobs.push((i, spec, job)),
            Ok(Err(outcome)) => outcomes.push((i, Ok(outcome))),
            Err(f) => outcomes.push((i, Err(f))),
        }
    }
    if jobs.is_empty() {
        return outcomes;
    }
    let data = &ctx.prep.datasets[&jobs[0].1.dataset.name];
    let plans: Vec<RunPlan> = jobs.iter().map(|(_, _, j)| j.plan.clone()).collect();
    let dirs: Vec<std::path::PathBuf> = jobs.iter().map(|(_, _, j)| j.dir.clone()).collect();
    let keys: Vec<String> = jobs.iter().map(|(_, s, _)| s.key.clone()).collect();
    let cells: Vec<std::cell::RefCell<&mut RunJob>> = jobs
        .iter_mut()
        .map(|(_, _, j)| std::cell::RefCell::new(j))
        .collect();
    let mut callbacks: Vec<Box<dyn FnMut(&RunProgress) + '_>> = cells
        .iter()
        .zip(&keys)
        .map(|(cell, key)| {
            Box::new(move |p: &RunProgress| cell.borrow_mut().progress(ctx, dispatch, key, p))
                as Box<dyn FnMut(&RunProgress) + '_>
        })
        .collect();
    let mut progress: Vec<&mut dyn FnMut(&RunProgress)> = callbacks
        .iter_mut()
        .map(|c| c.as_mut() as &mut dyn FnMut(&RunProgress))
        .collect();
    let fused = execute_ensemble(&plans, data, &dirs, &mut progress, ctx.stop);
    drop(progress);
    drop(callbacks);
    drop(cells);
    if ctx.log_lines {
        match (&fused.alone_because, fused.fused) {
            (Some(why), _) => crate::console::note!(
                "{} runs could not train as one ensemble ({why}): they trained one after another",
                jobs.len()
            ),
            (None, n) if n >= 2 => crate::console::note!(
                "{n} runs trained as one fused ensemble ({})",
                jobs.iter()
                    .map(|(_, _, j)| j.label.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            _ => {}
        }
    }
    for ((i, spec, job), result) in jobs.into_iter().zip(fused.reports) {
        outcomes.push((i, conclude_run(ctx, spec, dispatch, job, result)));
    }
    outcomes.sort_by_key(|(i, _)| *i);
    outcomes
}

/// Records how a run's launch ended and gives its outcome.
/// The runs-table status of a run that ended (or stopped: pending, the next launch resumes it).
fn status_of(s: RunStatus) -> TaskStatus {
    match s {
        RunStatus::Done => TaskStatus::Done,
        RunStatus::Diverged { .. } => TaskStatus::Diverged,
        RunStatus::Stopped => TaskStatus::Pending,
    }
}

/// The runs-table update of a run this launch saw end (or stop, at `ended`, ms since the
/// epoch): its status, steps, snapshots, wall time and, for a diverged run, the step.
fn end_update(report: &RunReport, ended: i64) -> RecordUpdate {
    RecordUpdate {
        status: Some(status_of(report.status)),
        // A stopped run has not ended: its end time stays null.
        end_time: (report.status != RunStatus::Stopped).then_some(ended),
        steps_done: Some(report.steps_done),
        snapshots_done: Some(report.snapshots_done),
        wall_seconds: Some(report.wall_seconds),
        error: match report.status {
            RunStatus::Diverged { step } => Some(format!("non-finite loss at step {step}")),
            _ => None,
        },
        ..RecordUpdate::default()
    }
}

fn conclude_run(
    ctx: &WorkerContext,
    spec: &RunSpec,
    dispatch: &dyn Dispatch,
    job: RunJob,
    result: Result<RunReport, WorkerError>,
) -> Result<TaskOutcome, Failure> {
    let RunJob {
        label,
        memory,
        bar,
        was_unfinished,
        ..
    } = job;
    bar.finish_and_clear();
    let ended = now_ms();
    let diverged = |step: u64| {
        Some(format!(
            "{label}: diverged (non-finite loss at step {step})"
        ))
    };
    match result {
        Ok(report) if report.already_finished => {
            let status = status_of(report.status);
            // A run killed between its last checkpoint and its end marker is found finished
            // by this launch, which wrote the marker and marked its row running: the row
            // gets the end the marker now proves. A run whose marker was there before keeps
            // its row as it is.
            if was_unfinished {
                dispatch.record(&spec.key, end_update(&report, ended))?;
            }
            Ok(TaskOutcome {
                problem: match report.status {
                    RunStatus::Diverged { step } => diverged(step),
                    _ => None,
                },
                status,
                ..TaskOutcome::default()
            })
        }
        Ok(report) => {
            let status = status_of(report.status);
            dispatch.record(&spec.key, end_update(&report, ended))?;
            let s = &report.stages;
            let note = (report.status == RunStatus::Stopped).then(|| {
                format!(
                    "checkpointed at step {} ({} snapshots); the next launch continues it",
                    report.steps_done, report.snapshots_done
                )
            });
            Ok(TaskOutcome {
                note,
                problem: match report.status {
                    RunStatus::Diverged { step } => diverged(step),
                    _ => None,
                },
                summary: Some(format!(
                    "{:<40} {:>9} {:>9} {:>9}  {}",
                    label,
                    status,
                    report.snapshots_done,
                    report
                        .last_test_accuracy
                        .map(|a| format!("{a:.4}"))
                        .unwrap_or_else(|| "-".into()),
                    report
                        .last_eigenvalues
                        .iter()
                        .map(|&v| eigensweep_common::display::number(v))
                        .collect::<Vec<_>>()
                        .join(" ")
                )),
                stages: [s.training, s.eigen, s.evaluation, s.writing],
                worked: true,
                status,
                seconds: 0.0,
            })
        }
        Err(e) => match fatal_output(dispatch, &spec.key, &label, &e) {
            Some(f) => Err(f),
            None => {
                let text = memory.failure_text(&e).unwrap_or_else(|| format!("{e}"));
                failed(ctx, dispatch, &spec.key, &label, text)
            }
        },
    }
}

/// The record of a task this worker starts (or resumes) now: running, here, with its first
/// start time kept.
fn running(ctx: &WorkerContext, device: &OpenedDevice) -> RecordUpdate {
    RecordUpdate {
        status: Some(TaskStatus::Running),
        host: ctx.host.clone(),
        rank: ctx.rank,
        device: Some(device.label.clone()),
        provenance: Some(Provenance::current()),
        start_time_if_unset: Some(now_ms()),
        ..RecordUpdate::default()
    }
}

fn baseline_one(
    ctx: &WorkerContext,
    task: &BaselineTask,
    dispatch: &dyn Dispatch,
    device: &OpenedDevice,
) -> Result<TaskOutcome, Failure> {
    let data = &ctx.prep.datasets[&task.dataset.name];
    let label = format!("baseline {}/{}", task.dataset.name, task.network);
    let arch = match arch_for(data, &task.model.hidden) {
        Ok(a) => a,
        Err(f) => {
            return failed(
                ctx,
                dispatch,
                &task.key,
                &label,
                crate::failure::chain(&f.error),
            )
        }
    };
    let dir = match baseline_dir(&ctx.prep.out, &task.dataset.name) {
        Ok(d) => d,
        Err(e) => return failed(ctx, dispatch, &task.key, &label, e.to_string()),
    };
    let memory = MemorySettings {
        hessian_samples: task.hessian_samples,
        top_k: task.eigen.top_k,
        widths: arch.widths().to_vec(),
        train: data.train.len,
        test: data.test.len,
    };
    let plan = BaselinePlan::from_task(task, arch, device.device.clone());
    if !eigensweep_worker::run::baseline_done(&dir, task.network as u32) {
        if ctx.log_lines {
            crate::console::note!("start {label} ({})", task.key);
        }
        dispatch.record(&task.key, running(ctx, device))?;
    }
    let started = now_ms();
    let clock = Instant::now();
    let result = execute_baseline(&plan, data, &dir, ctx.stop);
    let ended = now_ms();
    match result {
        Ok(None) => Ok(TaskOutcome {
            status: TaskStatus::Done,
            ..TaskOutcome::default()
        }),
        Ok(Some(_)) => {
            let seconds = clock.elapsed().as_secs_f64();
            dispatch.record(
                &task.key,
                RecordUpdate {
                    status: Some(TaskStatus::Done),
                    host: ctx.host.clone(),
                    rank: ctx.rank,
                    start_time_if_unset: Some(started),
                    end_time: Some(ended),
                    snapshots_done: Some(1),
                    add_wall_seconds: Some(seconds),
                    ..RecordUpdate::default()
                },
            )?;
            Ok(TaskOutcome {
                status: TaskStatus::Done,
                worked: true,
                ..TaskOutcome::default()
            })
        }
        Err(WorkerError::TaskInterrupted) => {
            dispatch.record(
                &task.key,
                RecordUpdate {
                    status: Some(TaskStatus::Pending),
                    ..RecordUpdate::default()
                },
            )?;
            Ok(TaskOutcome {
            status: TaskStatus::Pending,
            worked: true,
            note: Some("stopped before its eigenpairs were complete: nothing written, the next launch redoes it".into()),
            seconds: clock.elapsed().as_secs_f64(),
            ..TaskOutcome::default()
        })
        }
        Err(e) => match fatal_output(dispatch, &task.key, &label, &e) {
            Some(f) => Err(f),
            None => {
                let text = memory.failure_text(&e).unwrap_or_else(|| format!("{e}"));
                failed(ctx, dispatch, &task.key, &label, text)
            }
        },
    }
}
