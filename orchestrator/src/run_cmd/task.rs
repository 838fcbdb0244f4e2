//! Executing one task (a training run or a baseline network) on this process, reporting its
//! progress to the runs table through a [`Dispatch`].

use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use eigensweep_common::device::DeviceRequest;
use eigensweep_common::exit_codes;
use eigensweep_common::sweep::{BaselineTask, BiasInit as SpecBias, RunSpec};
use eigensweep_worker::data::TrainTest;
use eigensweep_worker::device::{self, OpenedDevice};
use eigensweep_worker::mlp::{Architecture, BiasInit, HessianOptions};
use eigensweep_worker::output::{baseline_dir, fatal_io_cause, run_dir};
use eigensweep_worker::run::{
    execute, execute_baseline, BaselinePlan, Checkpoint, RunError, RunPlan, RunProgress, RunStatus,
};
use eigensweep_worker::snapshot::SnapshotSettings;
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use serde::{Deserialize, Serialize};

use super::dispatch::{human_seconds, Dispatch, RecordUpdate};
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

/// How a task ended (a failure of the task itself is an outcome, not an error).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(super) struct TaskOutcome {
    /// `label: what went wrong` for a failed or diverged task.
    pub problem: Option<String>,
    /// The run's line in the end-of-sweep summary (runs that worked in this launch).
    pub summary: Option<String>,
    /// Seconds in training, eigen-solves, evaluation and writing.
    pub stages: [f64; 4],
    /// Whether the task did any work in this launch (false: finished before).
    pub worked: bool,
    /// done, diverged, failed or pending (stopped by a signal).
    pub status: String,
    /// Wall-clock seconds of this attempt.
    pub seconds: f64,
    /// What the progress log says instead of the status, e.g. `checkpointed at step 1200`
    /// for a run stopped by a signal.
    pub note: Option<String>,
}

/// Current time in Unix milliseconds.
pub(super) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// This machine's host name.
pub(super) fn host() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|s| s.trim().to_string())
        .or_else(|| std::env::var("HOSTNAME").ok())
}

fn bias(b: SpecBias) -> BiasInit {
    match b {
        SpecBias::Zero => BiasInit::Zero,
        SpecBias::Pytorch => BiasInit::PyTorchUniform,
    }
}

fn arch_for(data: &TrainTest, hidden: &[usize]) -> Result<Architecture, Failure> {
    let mut widths = vec![data.train.dim];
    widths.extend(hidden);
    widths.push(data.train.classes);
    Architecture::new(widths).exit_code(exit_codes::INPUT, "model.hidden")
}

fn run_plan(
    spec: &RunSpec,
    arch: Architecture,
    checkpoint_every: u64,
    checkpoint_seconds: f64,
    device: &OpenedDevice,
) -> RunPlan {
    RunPlan {
        key: spec.key.clone(),
        arch,
        bias_init: bias(spec.model.bias_init),
        optimizer: spec.optimizer.config,
        lr_schedule: spec.optimizer.schedule,
        seed: spec.seed,
        steps: spec.steps,
        batch_size: spec.batch_size,
        log_every: spec.log_every,
        snapshot_steps: spec.snapshot_steps.clone(),
        eval_steps: spec.eval_steps.clone(),
        snapshot: SnapshotSettings {
            top_k: spec.eigen.top_k,
            tol: spec.eigen.tol,
            max_products: spec.eigen.max_products,
            hessian: HessianOptions::default(),
        },
        statistics: spec.statistics,
        hessian_samples: spec.hessian_samples,
        store_weights: spec.store_weights,
        checkpoint_every,
        checkpoint_seconds,
        device: device.device.clone(),
    }
}

/// Executes task `index`. `Err` only for what must stop the whole sweep (the runs table or
/// the output directory cannot be written); a task that fails is an `Ok` outcome.
pub(super) fn execute_task(
    ctx: &WorkerContext,
    index: usize,
    dispatch: &dyn Dispatch,
    job: usize,
) -> Result<TaskOutcome, Failure> {
    let clock = Instant::now();
    let task = &ctx.prep.tasks[index];
    // Opened on this thread, per task: a CUDA device gets this thread's stream, so jobs that
    // share a GPU overlap. The launch checked the request already (`prepare`), so a failure
    // here (a GPU lost mid-sweep) fails this task only.
    let device = match device::open(ctx.device, ctx.device_slot.unwrap_or(job)) {
        Ok(d) => d,
        Err(e) => {
            let text = format!("device {}: {e}", ctx.device);
            return failed(ctx, dispatch, task.key(), &task.label(), text);
        }
    };
    let mut outcome = match task {
        Task::Run(spec) => run_one(ctx, spec, dispatch, &device),
        Task::Baseline(t) => baseline_one(ctx, t, dispatch, &device),
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
            status: Some("failed".into()),
            error: Some(text.clone()),
            host: ctx.host.clone(),
            rank: ctx.rank,
            end_time: Some(now_ms()),
            ..RecordUpdate::default()
        },
    )?;
    Ok(TaskOutcome {
        problem: Some(format!("{label}: failed: {text}")),
        status: "failed".into(),
        worked: true,
        ..TaskOutcome::default()
    })
}

/// The error of a task that met a full disk, an exhausted quota or a read-only or failing
/// filesystem: the whole launch stops (exit 4) and the task stays unfailed, to be completed by
/// the same command once the filesystem is fixed.
fn fatal_output(dispatch: &dyn Dispatch, key: &str, label: &str, e: &RunError) -> Option<Failure> {
    let cause = fatal_io_cause(e)?;
    let _ = dispatch.record(
        key,
        RecordUpdate {
            status: Some("pending".into()),
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

/// What a run's progress lines and runs-table updates need between two callbacks.
struct ProgressLog {
    label: String,
    clock: Instant,
    first_step: Option<u64>,
    first_snapshots: u64,
    snapshot_seconds: f64,
    last_snapshots: u64,
    last_line: Instant,
    last_record: Instant,
}

impl ProgressLog {
    fn new(label: String) -> Self {
        Self {
            label,
            clock: Instant::now(),
            first_step: None,
            first_snapshots: 0,
            snapshot_seconds: 0.0,
            last_snapshots: 0,
            last_line: Instant::now(),
            last_record: Instant::now(),
        }
    }

    /// Takes note of a progress callback; returns the log line when one is due.
    fn update(&mut self, p: &RunProgress, interval: f64) -> Option<String> {
        let first = *self.first_step.get_or_insert_with(|| {
            self.first_snapshots = p.snapshots_done;
            self.last_snapshots = p.snapshots_done;
            p.step
        });
        if p.snapshots_done > self.last_snapshots {
            self.snapshot_seconds += p.last_snapshot_seconds;
            self.last_snapshots = p.snapshots_done;
        }
        if self.last_line.elapsed().as_secs_f64() < interval {
            return None;
        }
        self.last_line = Instant::now();
        let elapsed = self.clock.elapsed().as_secs_f64();
        let steps = p.step.saturating_sub(first);
        let snaps = p.snapshots_done.saturating_sub(self.first_snapshots);
        let training = (elapsed - self.snapshot_seconds).max(0.0);
        let rate = if training > 0.0 {
            steps as f64 / training
        } else {
            0.0
        };
        // Time left: the steps at this launch's training rate plus the snapshots at this
        // launch's seconds per snapshot (the last one's before any is complete).
        let per_snapshot = if snaps > 0 {
            self.snapshot_seconds / snaps as f64
        } else {
            p.last_snapshot_seconds
        };
        let steps_left = p.steps.saturating_sub(p.step) as f64;
        let snaps_left = p.snapshots.saturating_sub(p.snapshots_done) as f64;
        let eta = if rate > 0.0 && (snaps > 0 || snaps_left == 0.0) {
            human_seconds(steps_left / rate + snaps_left * per_snapshot)
        } else {
            "?".into()
        };
        Some(format!(
            "  {}: step {}/{}, snapshots {}/{}, last snapshot {} products in {:.1} s, {:.0} steps/s, ETA {}",
            self.label,
            p.step,
            p.steps,
            p.snapshots_done,
            p.snapshots,
            p.last_products,
            p.last_snapshot_seconds,
            rate,
            eta
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

fn run_one(
    ctx: &WorkerContext,
    spec: &RunSpec,
    dispatch: &dyn Dispatch,
    device: &OpenedDevice,
) -> Result<TaskOutcome, Failure> {
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
        }
    };
    let plan = run_plan(
        spec,
        arch,
        ctx.checkpoint_every,
        ctx.checkpoint_minutes * 60.0,
        device,
    );
    let dir = match run_dir(out, &spec.dataset.name, &spec.optimizer.name, spec.seed) {
        Ok(d) => d,
        Err(e) => return failed(ctx, dispatch, &spec.key, &label, e.to_string()),
    };
    // A finished run keeps its record; only runs with work left become "running".
    if !dir.join("_SUCCESS").exists() && !dir.join("_DIVERGED").exists() {
        dispatch.record(&spec.key, running(ctx, device))?;
    }
    if ctx.log_lines && !dir.join("_SUCCESS").exists() && !dir.join("_DIVERGED").exists() {
        let from = match Checkpoint::load(&dir.join("checkpoint.bin")) {
            Ok(Some(c)) => format!(
                "resuming from its checkpoint at step {} ({} snapshots)",
                c.step, c.snapshots_done
            ),
            _ => "from step 0".into(),
        };
        crate::console::note!(
            "start {label} ({}): {from}, {} steps",
            short_key(&spec.key),
            plan.steps
        );
    }
    let mut log = ProgressLog::new(label.clone());
    let bar = ctx.bars.add(ProgressBar::new(plan.steps));
    bar.set_style(
        ProgressStyle::with_template("{prefix:>8} [{bar:30}] step {pos}/{len}  {msg}  ETA {eta}")
            .expect("template")
            .progress_chars("=> "),
    );
    bar.set_prefix(label.clone());
    let result = execute(
        &plan,
        data,
        &dir,
        &mut |p| {
            bar.set_position(p.step);
            bar.set_message(format!(
                "snapshots {}/{}, {} HVPs last",
                p.snapshots_done, p.snapshots, p.last_products
            ));
            if let Some(line) = log.update(p, ctx.progress_seconds) {
                if ctx.log_lines {
                    crate::console::note!("{line}");
                }
            }
            if log.record_due(p, ctx.progress_seconds) {
                let _ = dispatch.record(
                    &spec.key,
                    RecordUpdate {
                        steps_done: Some(p.step),
                        snapshots_done: Some(p.snapshots_done),
                        checkpoint_time: p.checkpointed.then(now_ms),
                        ..RecordUpdate::default()
                    },
                );
            }
        },
        ctx.stop,
    );
    bar.finish_and_clear();
    let ended = now_ms();
    let diverged = |step: u64| {
        Some(format!(
            "{label}: diverged (non-finite loss at step {step})"
        ))
    };
    match result {
        Ok(report) if report.already_finished => Ok(TaskOutcome {
            problem: match report.status {
                RunStatus::Diverged { step } => diverged(step),
                _ => None,
            },
            status: match report.status {
                RunStatus::Diverged { .. } => "diverged",
                _ => "done",
            }
            .into(),
            ..TaskOutcome::default()
        }),
        Ok(report) => {
            let status = match report.status {
                RunStatus::Done => "done",
                RunStatus::Diverged { .. } => "diverged",
                RunStatus::Stopped => "pending",
            };
            dispatch.record(
                &spec.key,
                RecordUpdate {
                    status: Some(status.into()),
                    // A stopped run has not ended: its end time stays null.
                    end_time: (report.status != RunStatus::Stopped).then_some(ended),
                    steps_done: Some(report.steps_done),
                    snapshots_done: Some(report.snapshots_done),
                    wall_seconds: Some(report.wall_seconds),
                    error: match report.status {
                        RunStatus::Diverged { step } => {
                            Some(format!("non-finite loss at step {step}"))
                        }
                        _ => None,
                    },
                    ..RecordUpdate::default()
                },
            )?;
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
                        .map(|v| format!("{v:.6e}"))
                        .collect::<Vec<_>>()
                        .join(" ")
                )),
                stages: [s.training, s.eigen, s.evaluation, s.writing],
                worked: true,
                status: status.into(),
                seconds: 0.0,
            })
        }
        Err(e) => match fatal_output(dispatch, &spec.key, &label, &e) {
            Some(f) => Err(f),
            None => failed(ctx, dispatch, &spec.key, &label, format!("{e}")),
        },
    }
}

/// The record of a task this worker starts (or resumes) now: running, here, with its first
/// start time kept.
fn running(ctx: &WorkerContext, device: &OpenedDevice) -> RecordUpdate {
    RecordUpdate {
        status: Some("running".into()),
        host: ctx.host.clone(),
        rank: ctx.rank,
        device: Some(device.label.clone()),
        start_time_if_unset: Some(now_ms()),
        ..RecordUpdate::default()
    }
}

/// The first 12 characters of a task key, as logs show it.
pub(super) fn short_key(key: &str) -> &str {
    &key[..key.len().min(12)]
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
    let plan = BaselinePlan {
        key: task.key.clone(),
        dataset: task.dataset.name.clone(),
        network: task.network as u32,
        arch,
        bias_init: bias(task.model.bias_init),
        snapshot: SnapshotSettings {
            top_k: task.eigen.top_k,
            tol: task.eigen.tol,
            max_products: task.eigen.max_products,
            hessian: HessianOptions::default(),
        },
        hessian_samples: task.hessian_samples,
        device: device.device.clone(),
    };
    if !eigensweep_worker::run::baseline_done(&dir, task.network as u32) {
        if ctx.log_lines {
            crate::console::note!("start {label} ({})", short_key(&task.key));
        }
        dispatch.record(&task.key, running(ctx, device))?;
    }
    let started = now_ms();
    let clock = Instant::now();
    let result = execute_baseline(&plan, data, &dir, ctx.stop);
    let ended = now_ms();
    match result {
        Ok(None) => Ok(TaskOutcome {
            status: "done".into(),
            ..TaskOutcome::default()
        }),
        Ok(Some(_)) => {
            let seconds = clock.elapsed().as_secs_f64();
            dispatch.record(
                &task.key,
                RecordUpdate {
                    status: Some("done".into()),
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
                status: "done".into(),
                worked: true,
                ..TaskOutcome::default()
            })
        }
        Err(RunError::Interrupted) => {
            dispatch.record(
                &task.key,
                RecordUpdate {
                    status: Some("pending".into()),
                    ..RecordUpdate::default()
                },
            )?;
            Ok(TaskOutcome {
            status: "pending".into(),
            worked: true,
            note: Some("stopped before its eigenpairs were complete: nothing written, the next launch redoes it".into()),
            seconds: clock.elapsed().as_secs_f64(),
            ..TaskOutcome::default()
        })
        }
        Err(e) => match fatal_output(dispatch, &task.key, &label, &e) {
            Some(f) => Err(f),
            None => failed(ctx, dispatch, &task.key, &label, format!("{e}")),
        },
    }
}
