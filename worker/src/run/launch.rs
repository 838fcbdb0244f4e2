//! One launch of a run: from opening its directory to its end (done, diverged or stopped).
//!
//! [`Launch`] is built from the run's plan: its device data, its trainer (the optimiser and
//! batch order inside), its tables and its snapshot state, continued from the checkpoint. Each
//! part of [`Launch::run`]'s loop is a method: the eigen-snapshot at θ_t (`snapshot`), the
//! full-dataset evaluation (`evaluate`), the optimiser step t → t+1 (`step`), its metrics row
//! (`log`), the snapshot's rows (`commit_snapshot`) and the checkpoint (`checkpoint`, and the
//! two ways a launch ends early: `stop_before_snapshot`, `diverge`).

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use candle_core::DType;

use super::checkpoint::Checkpoint;
use super::marker_io;
use super::plan::RunPlan;
use super::progress::RunProgress;
use super::report::{RunReport, RunStatus, StageSeconds};
use super::start::{Found, Start};
use super::tables::{flat_f32, Writers};
use crate::data::{Dataset, TrainTest};
use crate::memory::{bytes_of, ensure_available, thousands, Need};
use crate::mlp::evaluate;
use crate::output::{MetricRow, WeightRow};
use crate::snapshot::{eigen_snapshot_with, warm_start_vectors, EigenSnapshot, OperatorStatistic};
use crate::train::{DeviceData, RunTrainer, StepRecord};
use crate::WorkerError;

/// Full training and test (loss, accuracy) at one step.
type Evaluation = ((f64, f64), (f64, f64));

/// Checks that the run's own copy of a dataset (`which`: training or test) fits in the
/// memory left, before candle allocates it infallibly: its images as an f32 tensor and its
/// one-hot targets (built on the host, then copied into a tensor).
fn ensure_device_copy(ds: &Dataset, which: &str) -> Result<(), WorkerError> {
    let per_sample = ds.dim + 2 * ds.classes;
    let bytes = bytes_of::<f32>(ds.len.saturating_mul(per_sample));
    ensure_available(bytes, || Need {
        buffer: format!("the run's copy of the {which} set (images and one-hot targets)"),
        size: format!(
            "{} {which} samples (the dataset's {}) × ({} inputs + 2 × {} classes) × 4 bytes",
            thousands(ds.len as u64),
            if which == "test" {
                "test_size"
            } else {
                "train_size"
            },
            ds.dim,
            ds.classes
        ),
    })
}

/// Writes a marker with content (`_DIVERGED` holds its step) through a temporary name and a
/// rename: a full disk must not leave a torn marker that a later launch would trust.
fn write_marker(path: &Path, text: &str) -> Result<(), WorkerError> {
    let tmp = crate::output::temp_path(path);
    let written = fs::write(&tmp, text)
        .map_err(marker_io("writing", &tmp))
        .and_then(|()| fs::rename(&tmp, path).map_err(marker_io("renaming into place", path)));
    if written.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    written
}

/// The files of a run's directory the launch writes besides its tables.
struct Files {
    checkpoint: PathBuf,
    success: PathBuf,
    diverged: PathBuf,
}

/// What the latest snapshot and evaluation of this launch gave, for progress and the report.
#[derive(Default)]
struct Latest {
    /// Products of the latest snapshot (eigen-solve and statistics).
    products: usize,
    /// Its wall seconds.
    snapshot_seconds: f64,
    /// Its eigenvalues.
    eigenvalues: Vec<f64>,
    /// Test accuracy of the latest evaluation.
    test_accuracy: Option<f64>,
}

/// How the snapshot at a step ended.
enum Snapshot {
    /// Taken; its rows are written once the step after it is.
    Taken(EigenSnapshot),
    /// Abandoned because the stop flag was set: nothing of it was kept.
    Stopped,
    /// θ_t, or the Hessian at θ_t, is not finite.
    Diverged,
}

/// The optimiser step t → t+1 and what was measured of it.
struct Step {
    record: StepRecord,
    /// (mini-batch gradient norm, update norm), on logged steps.
    norms: Option<(f64, f64)>,
}

/// A run's launch in progress: see the [module documentation](self).
pub(super) struct Launch<'a> {
    plan: &'a RunPlan,
    files: Files,
    snapshot_steps: BTreeSet<u64>,
    eval_steps: BTreeSet<u64>,
    train: DeviceData,
    test: DeviceData,
    /// The data the Hessian is taken on (the first `hessian_samples` training samples).
    hessian_data: DeviceData,
    trainer: RunTrainer,
    writers: Writers,
    snapshots_done: u64,
    /// The previous snapshot's vectors, the next solve's warm start.
    warm: Option<Vec<Vec<f64>>>,
    /// Wall seconds of the earlier launches.
    wall_before: f64,
    resumed_from: Option<u64>,
    /// The step whose snapshot the checkpoint had taken already (a finished run continued to
    /// more steps, see [`Start::snapshot_taken_at`]), until the launch has completed it.
    snapshot_taken_at: Option<u64>,
    started: Instant,
    stages: StageSeconds,
    /// Threads and device kind of this launch, recorded in the checkpoint.
    threads: u64,
    device_kind: &'static str,
    latest: Latest,
    since_checkpoint: u64,
    last_checkpoint: Instant,
}

/// What the first phase of a step ([`Launch::before_step`]) hands to the second.
pub(super) struct BeforeStep {
    t: u64,
    snapshot: Option<EigenSnapshot>,
    /// The snapshot at θ_t was taken before the checkpoint (its rows are written): the step
    /// completes it.
    taken: bool,
    evaluation: Option<Evaluation>,
    theta: Option<Vec<f64>>,
}

/// A phase's outcome: the launch goes on (with what the phase gives), or the run's launch
/// ended with its report.
pub(super) enum Flow<'a, T> {
    /// Go on.
    Continue(Box<Launch<'a>>, T),
    /// The launch ended (done, diverged or stopped).
    Ended(RunReport),
}

/// What opening a run's directory gives.
pub(super) enum Opened<'a> {
    /// The run had ended in an earlier launch.
    Finished(RunReport),
    /// A launch ready to [`run`](Launch::run).
    Ready(Box<Launch<'a>>),
}

impl<'a> Launch<'a> {
    /// Checks `plan`, reads the run's directory `dir` ([`Start::inspect`]), and builds the
    /// launch: the data on the plan's device, and the trainer, tables and snapshot state from
    /// the checkpoint where there is one.
    ///
    /// # Errors
    /// [`WorkerError::InvalidPlan`] for a plan that cannot run; those of [`Start::inspect`] and
    /// [`Start::open`]; the data not fitting the network or the device.
    pub(super) fn open(
        plan: &'a RunPlan,
        data: &TrainTest,
        dir: &Path,
    ) -> Result<Opened<'a>, WorkerError> {
        Self::open_with(plan, data, dir, None)
    }

    /// As [`Launch::open`], with the training and test sets already on the plan's device
    /// (`on_device`): the members of a fused ensemble share one copy (tensors are
    /// reference-counted), where each run alone makes its own.
    ///
    /// # Errors
    /// As [`Launch::open`].
    pub(super) fn open_with(
        plan: &'a RunPlan,
        data: &TrainTest,
        dir: &Path,
        on_device: Option<(&DeviceData, &DeviceData)>,
    ) -> Result<Opened<'a>, WorkerError> {
        // The run's wall time counts the launch's set-up (reading the checkpoint, moving the
        // data to the device) as well as its loop.
        let started = Instant::now();
        let within = |steps: &[u64]| -> BTreeSet<u64> {
            steps.iter().copied().filter(|&s| s <= plan.steps).collect()
        };
        if plan.log_every == 0 || plan.batch_size == 0 || plan.checkpoint_every == 0 {
            return Err(WorkerError::InvalidPlan(
                "log_every, batch_size and checkpoint_every must be positive".into(),
            ));
        }
        let threads = candle_core::utils::get_num_threads() as u64;
        let device_kind = if plan.device.is_cpu() { "cpu" } else { "cuda" };
        let saved = match Start::inspect(plan, dir, threads, device_kind)? {
            Found::Finished(report) => return Ok(Opened::Finished(report)),
            Found::Continue(saved) => saved,
        };
        fs::create_dir_all(dir).map_err(marker_io("creating", dir))?;

        let (train, test) = match on_device {
            Some((train, test)) => (train.clone(), test.clone()),
            None => Self::device_copies(plan, data)?,
        };
        let hessian_data = match plan.hessian_samples {
            Some(n) if n == 0 || n > train.len() => {
                return Err(WorkerError::InvalidPlan(format!(
                    "hessian_samples {n} outside 1..={}",
                    train.len()
                )));
            }
            Some(n) => train.head(n)?,
            None => train.clone(),
        };
        let files = Files {
            checkpoint: dir.join("checkpoint.bin"),
            success: dir.join("_SUCCESS"),
            diverged: dir.join("_DIVERGED"),
        };
        let Start {
            trainer,
            snapshots_done,
            warm,
            writers,
            wall_before,
            resumed_from,
            snapshot_taken_at,
        } = Start::open(plan, saved.as_ref(), (dir, &files.checkpoint), &train)?;
        Ok(Opened::Ready(Box::new(Launch {
            plan,
            files,
            snapshot_steps: within(&plan.snapshot_steps),
            eval_steps: within(&plan.eval_steps),
            train,
            test,
            hessian_data,
            trainer: RunTrainer::Own(trainer),
            writers,
            snapshots_done,
            warm,
            wall_before,
            resumed_from,
            snapshot_taken_at,
            started,
            stages: StageSeconds::default(),
            threads,
            device_kind,
            latest: Latest::default(),
            since_checkpoint: 0,
            last_checkpoint: Instant::now(),
        })))
    }

    /// The training and test sets on the plan's device, in the compute dtype (f32), after
    /// checking on the CPU that they fit in the memory left.
    ///
    /// # Errors
    /// Not enough memory; the data not fitting the network or the device.
    pub(super) fn device_copies(
        plan: &RunPlan,
        data: &TrainTest,
    ) -> Result<(DeviceData, DeviceData), WorkerError> {
        let dtype = DType::F32;
        if plan.device.is_cpu() {
            ensure_device_copy(&data.train, "training")?;
            ensure_device_copy(&data.test, "test")?;
        }
        Ok((
            DeviceData::new(&data.train, &plan.arch, dtype, &plan.device)?,
            DeviceData::new(&data.test, &plan.arch, dtype, &plan.device)?,
        ))
    }

    /// Trains to the plan's last step, taking the snapshots and evaluations on the way and
    /// checkpointing as the plan says, until the run is done, diverges, or `stop` is set.
    ///
    /// `stop` is polled after every training step and between the product blocks of every
    /// eigen-solve: when set, the run writes its parts and a checkpoint at the last completed
    /// step and returns [`RunStatus::Stopped`]. A snapshot in progress is abandoned (the
    /// checkpoint is taken at its step, before it), so the relaunch redoes it with the same
    /// start vectors and the tables equal an uninterrupted run's.
    pub(super) fn run(
        self,
        progress: &mut dyn FnMut(&RunProgress),
        stop: &AtomicBool,
    ) -> Result<RunReport, WorkerError> {
        let mut launch = Box::new(self);
        loop {
            let (next, before) = match launch.before_step(progress, stop)? {
                Flow::Continue(l, before) => (l, before),
                Flow::Ended(report) => return Ok(report),
            };
            launch = match next.after_step(before, progress, stop)? {
                Flow::Continue(l, ()) => l,
                Flow::Ended(report) => return Ok(report),
            };
        }
    }

    /// The first phase of the step at θ_t: the snapshot, the evaluation and θ_t where it is
    /// kept. The launches of a fused ensemble all take this phase before any of them steps
    /// (`run::ensemble`), since the step moves every member to θ_{t+1}.
    pub(super) fn before_step(
        mut self: Box<Self>,
        progress: &mut dyn FnMut(&RunProgress),
        stop: &AtomicBool,
    ) -> Result<Flow<'a, BeforeStep>, WorkerError> {
        let t = self.trainer.steps();
        let taken = self.snapshot_taken_at == Some(t);
        // Eigen-snapshot at θ_t (its alignments need the step t → t+1, taken next).
        let snapshot = if self.snapshot_steps.contains(&t) && !taken {
            match self.snapshot(t, stop)? {
                Snapshot::Taken(s) => Some(s),
                Snapshot::Stopped => {
                    return Ok(Flow::Ended(self.stop_before_snapshot(t, progress)?))
                }
                Snapshot::Diverged => return Ok(Flow::Ended(self.diverge(t)?)),
            }
        } else {
            None
        };
        let evaluation = self.evaluate(t)?;
        let theta =
            if (snapshot.is_some() || taken) && (self.plan.store_weights || t == self.plan.steps) {
                Some(self.trainer.params_flat()?)
            } else {
                None
            };
        Ok(Flow::Continue(
            self,
            BeforeStep {
                t,
                snapshot,
                taken,
                evaluation,
                theta,
            },
        ))
    }

    /// The second phase: the step t → t+1 (for an ensemble member, the ensemble's, taken by
    /// the first member to ask), its metrics row, the snapshot's rows, and the checkpoint and
    /// end of the run where they are due.
    pub(super) fn after_step(
        mut self: Box<Self>,
        before: BeforeStep,
        progress: &mut dyn FnMut(&RunProgress),
        stop: &AtomicBool,
    ) -> Result<Flow<'a, ()>, WorkerError> {
        let BeforeStep {
            t,
            snapshot,
            taken,
            evaluation,
            theta,
        } = before;
        let logged = t.is_multiple_of(self.plan.log_every) || evaluation.is_some();
        let step = self.step(t, logged)?;
        if logged {
            self.log(t, step.as_ref(), evaluation);
        }
        if let Some(s) = snapshot {
            self.commit_snapshot(t, s, step.is_some(), theta)?;
        } else if taken {
            self.complete_taken_snapshot(t, step.is_some(), theta)?;
        }
        if step.as_ref().is_some_and(|s| !s.record.loss.is_finite()) {
            // The loss at θ_t is non-finite: the run diverged at step t.
            return Ok(Flow::Ended(self.diverge(t)?));
        }
        let finished = step.is_none();
        let stopping = stop.load(Ordering::Relaxed);
        let overdue = self.last_checkpoint.elapsed().as_secs_f64() >= self.plan.checkpoint_seconds;
        if !(finished || self.since_checkpoint >= self.plan.checkpoint_every || stopping || overdue)
        {
            progress(&self.progress(self.trainer.steps(), false));
            return Ok(Flow::Continue(self, ()));
        }
        let started = Instant::now();
        if finished && !self.snapshot_steps.contains(&self.plan.steps) {
            // The final θ is always kept (the minima comparison needs it).
            let theta = flat_f32(&self.trainer.params_flat()?);
            self.writers.weights.push(WeightRow {
                run_key: self.plan.key.clone(),
                step: t,
                theta,
            });
        }
        let wall = self.checkpoint(finished)?;
        self.stages.writing += started.elapsed().as_secs_f64();
        self.since_checkpoint = 0;
        self.last_checkpoint = Instant::now();
        progress(&self.progress(self.trainer.steps(), true));
        if finished {
            let success = &self.files.success;
            fs::write(success, "").map_err(marker_io("writing", success))?;
            return Ok(Flow::Ended(self.report(RunStatus::Done, t, wall)));
        }
        if stopping {
            let steps = self.trainer.steps();
            return Ok(Flow::Ended(self.report(RunStatus::Stopped, steps, wall)));
        }
        Ok(Flow::Continue(self, ()))
    }

    /// The run's trainer (the ensemble driver makes it a member of a fused ensemble).
    pub(super) fn trainer_mut(&mut self) -> &mut RunTrainer {
        &mut self.trainer
    }

    /// The run's trainer.
    pub(super) fn trainer(&self) -> &RunTrainer {
        &self.trainer
    }

    /// The run's plan.
    pub(super) fn plan(&self) -> &'a RunPlan {
        self.plan
    }

    /// The eigen-snapshot at θ_t and every statistic on its Hessian operator, warm-started
    /// from the previous snapshot's vectors.
    fn snapshot(&mut self, t: u64, stop: &AtomicBool) -> Result<Snapshot, WorkerError> {
        // An update can overflow θ without the loss it was computed from showing it; the
        // eigensolver must not be handed such parameters.
        if self.trainer.params_flat()?.iter().any(|v| !v.is_finite()) {
            return Ok(Snapshot::Diverged);
        }
        let started = Instant::now();
        for statistic in &mut self.writers.statistics {
            statistic.prepare(&self.trainer, t)?;
        }
        let mut measured: Vec<&mut dyn OperatorStatistic> = self
            .writers
            .statistics
            .iter_mut()
            .map(|s| s.as_mut() as &mut dyn OperatorStatistic)
            .collect();
        let taken = eigen_snapshot_with(
            &self.trainer.params()?,
            &self.hessian_data,
            &self.plan.snapshot,
            (self.plan.seed, self.snapshots_done),
            self.warm.as_deref(),
            &mut measured,
            stop,
        );
        self.stages.eigen += started.elapsed().as_secs_f64();
        let outcome = match taken {
            Ok(s) => return Ok(Snapshot::Taken(s)),
            // Preempted mid-solve: the snapshot is abandoned, and redone exactly by the
            // relaunch.
            Err(WorkerError::SnapshotInterrupted) => Snapshot::Stopped,
            // The Hessian overflows at θ_t although θ_t itself is finite: as diverged as a
            // non-finite loss, and reported the same way.
            Err(WorkerError::NonFinite(_)) => Snapshot::Diverged,
            Err(e) => return Err(e),
        };
        for statistic in &mut self.writers.statistics {
            statistic.discard();
        }
        Ok(outcome)
    }

    /// Full training and test loss and accuracy at θ_t, at the plan's evaluation steps.
    fn evaluate(&mut self, t: u64) -> Result<Option<Evaluation>, WorkerError> {
        if !self.eval_steps.contains(&t) {
            return Ok(None);
        }
        let started = Instant::now();
        let params = self.trainer.params()?;
        let train = evaluate(&params, &self.train.x, &self.train.onehot, 4096)?;
        let test = evaluate(&params, &self.test.x, &self.test.onehot, 4096)?;
        self.stages.evaluation += started.elapsed().as_secs_f64();
        self.latest.test_accuracy = Some(test.1);
        Ok(Some((train, test)))
    }

    /// The optimiser step t → t+1 (none after the last step), with its gradient and update
    /// norms when the step is `logged`.
    fn step(&mut self, t: u64, logged: bool) -> Result<Option<Step>, WorkerError> {
        if t >= self.plan.steps {
            return Ok(None);
        }
        let started = Instant::now();
        let record = self.trainer.step()?;
        let norms = if logged {
            self.trainer.last_norms()?
        } else {
            None
        };
        self.stages.training += started.elapsed().as_secs_f64();
        Ok(Some(Step { record, norms }))
    }

    /// The metrics row of step `t`: the step t → t+1's mini-batch loss and norms (none after
    /// the last step) and the evaluation at θ_t.
    fn log(&mut self, t: u64, step: Option<&Step>, evaluation: Option<Evaluation>) {
        let norms = step.and_then(|s| s.norms);
        self.writers.metrics.push(MetricRow {
            run_key: self.plan.key.clone(),
            step: t,
            batch_loss: step.map(|s| s.record.loss),
            grad_norm: norms.map(|n| n.0),
            update_norm: norms.map(|n| n.1),
            train_loss: evaluation.map(|e| e.0 .0),
            train_accuracy: evaluation.map(|e| e.0 .1),
            test_loss: evaluation.map(|e| e.1 .0),
            test_accuracy: evaluation.map(|e| e.1 .1),
        });
    }

    /// The rows of the snapshot at θ_t, once the step t → t+1 (if `stepped`) gave its
    /// gradient and update, and θ_t itself where it is kept.
    fn commit_snapshot(
        &mut self,
        t: u64,
        s: EigenSnapshot,
        stepped: bool,
        theta: Option<Vec<f64>>,
    ) -> Result<(), WorkerError> {
        let (grad, update) = match (stepped, self.trainer.last_step_vectors()?) {
            (true, Some(v)) => (Some(v.gradient), Some(v.update)),
            _ => (None, None),
        };
        self.writers
            .commit_snapshot(&self.plan.key, t, &s, (grad.as_deref(), update.as_deref()));
        if let Some(theta) = theta {
            self.writers.weights.push(WeightRow {
                run_key: self.plan.key.clone(),
                step: t,
                theta: flat_f32(&theta),
            });
        }
        self.latest.products = s.total_products();
        self.latest.snapshot_seconds = s.seconds;
        self.latest.eigenvalues = s.eigen.pairs.iter().map(|p| p.value).collect();
        self.warm = Some(warm_start_vectors(&s.eigen));
        self.snapshots_done += 1;
        self.since_checkpoint += 1;
        Ok(())
    }

    /// Completes the snapshot at θ_t that the checkpoint had taken already (a finished run
    /// continued to more steps): its rows get the alignments with the gradient and update of
    /// the step t → t+1 just taken (if `stepped`), computed from the snapshot's f64 vectors
    /// (the checkpoint's warm start) as [`Launch::commit_snapshot`] computes them, and θ_t is
    /// kept where a snapshot keeps it. The rows are in the table's last part, written with the
    /// checkpoint; rewriting it is idempotent, so a launch killed before its next checkpoint
    /// does it again with the same result.
    fn complete_taken_snapshot(
        &mut self,
        t: u64,
        stepped: bool,
        theta: Option<Vec<f64>>,
    ) -> Result<(), WorkerError> {
        let started = Instant::now();
        let (grad, update) = match (stepped, self.trainer.last_step_vectors()?) {
            (true, Some(v)) => (Some(v.gradient), Some(v.update)),
            _ => (None, None),
        };
        let vectors = self.warm.as_deref().ok_or_else(|| {
            WorkerError::InvalidPlan(format!(
                "the checkpoint counts the snapshot at step {t} as taken but holds no vectors of it"
            ))
        })?;
        self.writers
            .complete_snapshot(t, vectors, (grad.as_deref(), update.as_deref()))?;
        if let Some(theta) = theta {
            self.writers.weights.push(WeightRow {
                run_key: self.plan.key.clone(),
                step: t,
                theta: flat_f32(&theta),
            });
        }
        self.snapshot_taken_at = None;
        self.stages.writing += started.elapsed().as_secs_f64();
        Ok(())
    }

    /// Writes the buffered rows as parts and the checkpoint at the trainer's step
    /// (`complete` for the run's last); returns the run's wall seconds over all launches.
    fn checkpoint(&mut self, complete: bool) -> Result<f64, WorkerError> {
        self.writers.flush()?;
        let wall = self.wall_before + self.started.elapsed().as_secs_f64();
        let (optimizer_state, optimizer_steps) = self.trainer.optimizer_state()?;
        let position = self.trainer.order_position();
        Checkpoint {
            run_key: self.plan.key.clone(),
            step: self.trainer.steps(),
            epoch: position.epoch,
            offset: position.offset as u64,
            snapshots_done: self.snapshots_done,
            params: self.trainer.params_flat()?,
            optimizer_state,
            optimizer_steps,
            warm_start: self.warm.clone().unwrap_or_default(),
            parts: self.writers.parts(),
            wall_seconds: wall,
            complete,
            threads: self.threads,
            device: self.device_kind.to_string(),
            engine: self.trainer.engine().name().to_string(),
            statistics: self.writers.statistics_state(),
        }
        .save(&self.files.checkpoint)?;
        Ok(wall)
    }

    /// Ends the launch at step `t`, before its abandoned snapshot: the checkpoint is taken at
    /// θ_t, whose rows, evaluation and step t → t+1 are not taken yet, so the relaunch starts
    /// at t and redoes the snapshot.
    fn stop_before_snapshot(
        mut self,
        t: u64,
        progress: &mut dyn FnMut(&RunProgress),
    ) -> Result<RunReport, WorkerError> {
        let started = Instant::now();
        let wall = self.checkpoint(false)?;
        self.stages.writing += started.elapsed().as_secs_f64();
        progress(&self.progress(t, true));
        Ok(self.report(RunStatus::Stopped, t, wall))
    }

    /// Ends the run as diverged at step `t`: flushes what was computed, checkpoints (so the
    /// directory stays tied to this configuration's key) and leaves the `_DIVERGED` marker
    /// holding the step.
    fn diverge(mut self, t: u64) -> Result<RunReport, WorkerError> {
        let started = Instant::now();
        let wall = self.checkpoint(false)?;
        write_marker(&self.files.diverged, &format!("{t}\n"))?;
        self.stages.writing += started.elapsed().as_secs_f64();
        Ok(self.report(RunStatus::Diverged { step: t }, t, wall))
    }

    fn progress(&self, step: u64, checkpointed: bool) -> RunProgress {
        RunProgress {
            step,
            steps: self.plan.steps,
            snapshots_done: self.snapshots_done,
            snapshots: self.snapshot_steps.len() as u64,
            last_products: self.latest.products,
            last_snapshot_seconds: self.latest.snapshot_seconds,
            checkpointed,
        }
    }

    /// The report of a run that ends in this launch.
    fn report(self, status: RunStatus, steps_done: u64, wall_seconds: f64) -> RunReport {
        RunReport {
            status,
            steps_done,
            snapshots_done: self.snapshots_done,
            resumed_from: self.resumed_from,
            already_finished: false,
            wall_seconds,
            stages: self.stages,
            last_products: self.latest.products,
            last_eigenvalues: self.latest.eigenvalues,
            last_test_accuracy: self.latest.test_accuracy,
        }
    }
}
