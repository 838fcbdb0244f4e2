//! Where a launch of a run starts: what the run's directory holds (a finished run, a
//! checkpoint of this configuration), then the state to continue from — from scratch, or from
//! the checkpoint (parameters, optimiser state, batch-order position, warm-start vectors,
//! statistics' state, the parts its tables had).

use std::fs;
use std::path::Path;

use candle_core::DType;

use super::checkpoint::Checkpoint;
use super::marker_io;
use super::plan::RunPlan;
use super::report::{RunReport, RunStatus, StageSeconds};
use super::tables::Writers;
use crate::mlp::Params;
use crate::output::{CHECKPOINT_FILE, DIVERGED_MARKER, SUCCESS_MARKER};
use crate::rng::{stream_rng, Stream};
use crate::train::{DeviceData, OrderPosition, ResumePoint, Trainer, TrainingEngine};
use crate::WorkerError;

/// The state a launch continues from.
pub(super) struct Start {
    /// Parameters, optimiser and batch order at the starting step.
    pub(super) trainer: Trainer,
    /// Snapshots already taken.
    pub(super) snapshots_done: u64,
    /// Warm-start vectors of the last snapshot (none before the first).
    pub(super) warm: Option<Vec<Vec<f64>>>,
    /// The run's tables, continuing after the checkpoint's parts.
    pub(super) writers: Writers,
    /// Wall seconds of the earlier launches.
    pub(super) wall_before: f64,
    /// The step resumed from (`None`: a fresh start).
    pub(super) resumed_from: Option<u64>,
    /// The starting step, when its snapshot was taken before the checkpoint: a finished run
    /// continued to more steps (`run::extension`), whose last snapshot's rows are written but
    /// whose step from there was never taken. The launch then takes that step without taking
    /// the snapshot again and fills in the snapshot's alignments with it.
    pub(super) snapshot_taken_at: Option<u64>,
}

/// What a launch finds in the run's directory before it starts.
pub(super) enum Found {
    /// The run finished (`_SUCCESS`) or diverged (`_DIVERGED`) in an earlier launch.
    Finished(RunReport),
    /// It goes on, from its checkpoint where there is one.
    Continue(Option<Checkpoint>),
}

/// The checkpoint's step, if its snapshot is among the snapshots it counts as done: every
/// checkpoint a launch writes counts only the snapshots before its step (a checkpoint is taken
/// after the step following a snapshot, or before an abandoned one), except a finished run's
/// last, which a continuation to more steps leaves as it was (`run::extension`).
fn snapshot_taken_at(plan: &RunPlan, c: &Checkpoint) -> Option<u64> {
    let before = plan.snapshot_steps.iter().filter(|&&s| s < c.step).count() as u64;
    (plan.snapshot_steps.contains(&c.step) && c.snapshots_done == before + 1).then_some(c.step)
}

impl Start {
    /// Reads the run's directory: its checkpoint, checked against this launch (the same run
    /// key; a CPU run resumed with the same thread count; the same kind of device), and its
    /// end markers. A run killed between its final checkpoint and its `_SUCCESS` marker gets
    /// the marker now.
    ///
    /// # Errors
    /// [`WorkerError::ForeignCheckpoint`], [`WorkerError::ThreadMismatch`],
    /// [`WorkerError::DeviceMismatch`]; a checkpoint or marker that cannot be read.
    pub(super) fn inspect(
        plan: &RunPlan,
        dir: &Path,
        threads: u64,
        device_kind: &str,
    ) -> Result<Found, WorkerError> {
        let checkpoint_path = dir.join(CHECKPOINT_FILE);
        let success = dir.join(SUCCESS_MARKER);
        let diverged = dir.join(DIVERGED_MARKER);
        let saved = Checkpoint::load(&checkpoint_path)?;
        if let Some(c) = &saved {
            if c.device != device_kind && !c.complete {
                return Err(WorkerError::DeviceMismatch {
                    path: checkpoint_path,
                    saved: c.device.clone(),
                    now: device_kind.into(),
                });
            }
            // The thread count changes a CPU run's rounding; a GPU run's products do not use it.
            if c.threads != threads && !c.complete && device_kind == "cpu" {
                return Err(WorkerError::ThreadMismatch {
                    path: checkpoint_path,
                    saved: c.threads,
                    now: threads,
                });
            }
            if c.run_key != plan.key {
                return Err(WorkerError::ForeignCheckpoint {
                    path: checkpoint_path,
                    found: c.run_key.clone(),
                    expected: plan.key.clone(),
                });
            }
        }
        if saved.as_ref().is_some_and(|c| c.complete) && !success.exists() {
            // Killed between the final checkpoint and the marker: the run is complete.
            fs::write(&success, "").map_err(marker_io("writing", &success))?;
        }
        for (marker, status) in [(&success, None), (&diverged, Some(()))] {
            if marker.exists() {
                let text = fs::read_to_string(marker).map_err(marker_io("reading", marker))?;
                let c = saved.as_ref();
                return Ok(Found::Finished(RunReport {
                    status: match status {
                        None => RunStatus::Done,
                        Some(()) => RunStatus::Diverged {
                            step: text.trim().parse().unwrap_or(0),
                        },
                    },
                    steps_done: match status {
                        Some(()) => text.trim().parse().unwrap_or(0),
                        None => c.map(|c| c.step).unwrap_or(0),
                    },
                    snapshots_done: c.map(|c| c.snapshots_done).unwrap_or(0),
                    resumed_from: None,
                    already_finished: true,
                    wall_seconds: c.map(|c| c.wall_seconds).unwrap_or(0.0),
                    stages: StageSeconds::default(),
                    last_products: 0,
                    last_eigenvalues: Vec::new(),
                    last_test_accuracy: None,
                }));
            }
        }
        Ok(Found::Continue(saved))
    }

    /// The start of a launch of `plan` in `dir`: from `saved` (its checkpoint, at
    /// `checkpoint`) where there is one, else from the seeded initialisation at step 0.
    /// `train` is the training set on the run's device.
    ///
    /// # Errors
    /// [`WorkerError::InvalidPlan`] when the checkpoint names an unknown training engine; model
    /// errors when its state does not fit the plan; I/O errors of the tables.
    pub(super) fn open(
        plan: &RunPlan,
        saved: Option<&Checkpoint>,
        (dir, checkpoint): (&Path, &Path),
        train: &DeviceData,
    ) -> Result<Self, WorkerError> {
        let dtype = DType::F32;
        let device = &plan.device;
        let Some(c) = saved else {
            let fresh = Params::init(
                &plan.arch,
                plan.bias_init,
                &mut stream_rng(plan.seed, Stream::Init, 0),
                dtype,
                device,
            )?;
            let trainer = Trainer::new(
                fresh,
                &plan.optimizer,
                train.clone(),
                plan.batch_size,
                plan.seed,
            )?
            .with_schedule(plan.lr_schedule);
            return Ok(Self {
                trainer,
                snapshots_done: 0,
                warm: None,
                writers: Writers::open(plan, dir, &[])?,
                wall_before: 0.0,
                resumed_from: None,
                snapshot_taken_at: None,
            });
        };
        let params = Params::from_flat(&plan.arch, &c.params, dtype, device)?;
        let point = ResumePoint {
            step: c.step,
            position: OrderPosition {
                epoch: c.epoch,
                offset: c.offset as usize,
            },
            optimizer_state: c.optimizer_state.clone(),
            optimizer_steps: c.optimizer_steps,
        };
        // The run continues on the engine that took its earlier steps (a checkpoint of an
        // older version was computed by the tensor engine).
        let engine = TrainingEngine::from_name(&c.engine).ok_or_else(|| {
            WorkerError::InvalidPlan(format!(
                "{} names an unknown training engine {:?}",
                checkpoint.display(),
                c.engine
            ))
        })?;
        let trainer = Trainer::resume(
            params,
            &plan.optimizer,
            train.clone(),
            (plan.batch_size, plan.seed),
            &point,
            engine,
        )?
        .with_schedule(plan.lr_schedule);
        let mut writers = Writers::open(plan, dir, &c.parts)?;
        writers.restore_statistics(&c.statistics)?;
        Ok(Self {
            trainer,
            snapshots_done: c.snapshots_done,
            warm: (!c.warm_start.is_empty()).then(|| c.warm_start.clone()),
            writers,
            wall_before: c.wall_seconds,
            resumed_from: Some(c.step),
            snapshot_taken_at: snapshot_taken_at(plan, c),
        })
    }
}
