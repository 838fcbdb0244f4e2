//! Where a launch of a run starts: from scratch, or from the run's checkpoint (parameters,
//! optimiser state, batch-order position, warm-start vectors, the parts its tables had).

use std::path::Path;

use candle_core::DType;

use super::checkpoint::Checkpoint;
use super::executor::{RunError, RunPlan};
use super::tables::Writers;
use crate::mlp::Params;
use crate::rng::{stream_rng, Stream};
use crate::train::{DeviceData, OrderPosition, ResumePoint, Trainer, TrainingEngine};

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
}

impl Start {
    /// The start of a launch of `plan` in `dir`: from `saved` (its checkpoint, at
    /// `checkpoint`) where there is one, else from the seeded initialisation at step 0.
    /// `train` is the training set on the run's device.
    ///
    /// # Errors
    /// [`RunError::Plan`] when the checkpoint names an unknown training engine; model errors
    /// when its state does not fit the plan; I/O errors of the tables.
    pub(super) fn open(
        plan: &RunPlan,
        saved: Option<&Checkpoint>,
        (dir, checkpoint): (&Path, &Path),
        train: &DeviceData,
    ) -> Result<Self, RunError> {
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
            RunError::Plan(format!(
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
        })
    }
}
