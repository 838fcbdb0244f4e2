//! The training loop's pieces: the training set on the device, the seeded mini-batch order,
//! and [`Trainer`], which takes optimiser steps through one of two engines — fused host
//! kernels on the CPU, candle tensors elsewhere (see [`TrainingEngine`]).

mod data;
mod engine;
mod ensemble;
#[cfg(test)]
mod ensemble_tests;
mod host_engine;
mod member;
mod order;
#[cfg(test)]
mod tests;

pub use data::DeviceData;
pub use engine::TrainingEngine;
pub use ensemble::{EnsembleTrainer, MemberSpec};
pub use member::{EnsembleMember, RunTrainer};
pub use order::{BatchOrder, OrderPosition};

use candle_core::DType;

use crate::mlp::Params;
use crate::optim::{LrSchedule, OptimizerConfig, TensorOptimizer};
use engine::{Engine, TensorEngine};
use host_engine::HostEngine;

use crate::WorkerError;

/// What one training step produced.
#[derive(Debug, Clone, Copy)]
pub struct StepRecord {
    /// The step number just completed (1-based: θ_step is now current).
    pub step: u64,
    /// Mini-batch loss at θ_{step−1}.
    pub loss: f64,
}

/// The last step's mini-batch gradient and update as flat f64 vectors (the alignments use
/// them at snapshots).
#[derive(Debug, Clone, PartialEq)]
pub struct StepVectors {
    /// g_t = ∇L_B(θ_t) (for SAM the gradient at θ_t, not at the perturbed point).
    pub gradient: Vec<f64>,
    /// θ_{t+1} − θ_t as the optimiser computed it.
    pub update: Vec<f64>,
}

/// Where a checkpointed run resumes: the step, the batch order's position and the
/// optimiser's state (as [`Trainer::optimizer_state`] returned it).
#[derive(Debug, Clone, PartialEq)]
pub struct ResumePoint {
    /// Steps already taken.
    pub step: u64,
    /// The batch order's position after them.
    pub position: OrderPosition,
    /// The optimiser's flat state tensors.
    pub optimizer_state: Vec<Vec<f64>>,
    /// The optimiser's own step counter.
    pub optimizer_steps: u64,
}

/// Parameters, optimiser and batch order of one run.
pub struct Trainer {
    engine: Box<dyn Engine>,
    order: BatchOrder,
    data: DeviceData,
    step: u64,
    base_lr: f64,
    schedule: LrSchedule,
}

impl Trainer {
    /// A trainer starting from `params` at step 0 with a fresh `config` optimiser, on the
    /// engine for the parameters' device ([`TrainingEngine::for_device`]).
    ///
    /// # Errors
    /// A tensor error while copying the parameters.
    pub fn new(
        params: Params,
        config: &OptimizerConfig,
        data: DeviceData,
        batch_size: usize,
        seed: u64,
    ) -> Result<Self, WorkerError> {
        let engine = TrainingEngine::for_device(params.device());
        Self::with_engine(params, config, data, batch_size, seed, engine)
    }

    /// As [`Trainer::new`] on a chosen engine (the tests and `bench` compare the two).
    ///
    /// # Errors
    /// [`WorkerError::ShapeMismatch`] for [`TrainingEngine::Host`] off the CPU or in a dtype other
    /// than f32/f64; a tensor error while copying the parameters.
    pub fn with_engine(
        params: Params,
        config: &OptimizerConfig,
        data: DeviceData,
        batch_size: usize,
        seed: u64,
        engine: TrainingEngine,
    ) -> Result<Self, WorkerError> {
        let engine = build_engine(params, config, batch_size, engine, None)?;
        Ok(Self {
            engine,
            order: BatchOrder::new(data.len(), batch_size, seed),
            data,
            step: 0,
            base_lr: config.lr(),
            schedule: LrSchedule::default(),
        })
    }

    /// The same trainer with the learning rate following `schedule` (constant by default).
    pub fn with_schedule(mut self, schedule: LrSchedule) -> Self {
        self.schedule = schedule;
        self
    }

    /// η_t of the next step (the schedule's rate at the steps taken so far).
    pub fn next_lr(&self) -> f64 {
        self.schedule.lr(self.base_lr, self.step)
    }

    /// A trainer continuing from a checkpoint on `engine` (the one that took the earlier
    /// steps, so that the run's numbers come from one engine): `params` as they were after
    /// `point.step` steps, the optimiser and batch order restored from `point`.
    ///
    /// # Errors
    /// [`WorkerError::ShapeMismatch`] or [`WorkerError::FlatLength`] when the optimiser state does
    /// not fit `config` and the network, or the engine cannot run on the parameters' device.
    pub fn resume(
        params: Params,
        config: &OptimizerConfig,
        data: DeviceData,
        (batch_size, seed): (usize, u64),
        point: &ResumePoint,
        engine: TrainingEngine,
    ) -> Result<Self, WorkerError> {
        let engine = build_engine(params, config, batch_size, engine, Some(point))?;
        Ok(Self {
            engine,
            order: BatchOrder::resume(data.len(), batch_size, seed, point.position),
            data,
            step: point.step,
            base_lr: config.lr(),
            schedule: LrSchedule::default(),
        })
    }

    /// Which engine takes the steps.
    pub fn engine(&self) -> TrainingEngine {
        self.engine.kind()
    }

    /// Takes one optimiser step on the next mini-batch.
    ///
    /// # Errors
    /// A tensor error from the device (the host engine cannot fail once built).
    pub fn step(&mut self) -> Result<StepRecord, WorkerError> {
        let lr = self.next_lr();
        let loss = self.engine.step(&self.data, self.order.next_batch(), lr)?;
        self.step += 1;
        Ok(StepRecord {
            step: self.step,
            loss,
        })
    }

    /// Current parameters θ_step as device tensors (a copy on the host engine: ask at
    /// snapshots and evaluations, not every step).
    pub fn params(&self) -> Result<Params, WorkerError> {
        self.engine.params()
    }

    /// Current parameters θ_step as a flat f64 vector.
    pub fn params_flat(&self) -> Result<Vec<f64>, WorkerError> {
        self.engine.params_flat()
    }

    /// The last step's mini-batch gradient g_t = ∇L_B(θ_t) (for SAM the one at θ_t) and
    /// update θ_{t+1} − θ_t, as flat f64 vectors; `None` before the first step.
    pub fn last_step_vectors(&self) -> Result<Option<StepVectors>, WorkerError> {
        self.engine.last_step_vectors()
    }

    /// (‖g_t‖, ‖θ_{t+1} − θ_t‖) of the last step; `None` before the first step.
    pub fn last_norms(&self) -> Result<Option<(f64, f64)>, WorkerError> {
        self.engine.last_norms()
    }

    /// The optimiser's state for a checkpoint: flat tensors and its step counter.
    pub fn optimizer_state(&self) -> Result<(Vec<Vec<f64>>, u64), WorkerError> {
        self.engine.optimizer_state()
    }

    /// Steps taken.
    pub fn steps(&self) -> u64 {
        self.step
    }

    /// The training data.
    pub fn data(&self) -> &DeviceData {
        &self.data
    }

    /// The batch order's position.
    pub fn order_position(&self) -> OrderPosition {
        self.order.position()
    }
}

fn build_engine(
    params: Params,
    config: &OptimizerConfig,
    batch_size: usize,
    kind: TrainingEngine,
    point: Option<&ResumePoint>,
) -> Result<Box<dyn Engine>, WorkerError> {
    Ok(match kind {
        TrainingEngine::Tensors => {
            let mut optimizer = TensorOptimizer::new(*config, &params)?;
            if let Some(p) = point {
                optimizer.restore(&p.optimizer_state, p.optimizer_steps)?;
            }
            Box::new(TensorEngine::new(params, optimizer))
        }
        TrainingEngine::Host => match params.dtype() {
            DType::F32 => {
                let mut e = HostEngine::<f32>::new(&params, *config, batch_size)?;
                if let Some(p) = point {
                    e.restore(&p.optimizer_state, p.optimizer_steps)?;
                }
                Box::new(e)
            }
            DType::F64 => {
                let mut e = HostEngine::<f64>::new(&params, *config, batch_size)?;
                if let Some(p) = point {
                    e.restore(&p.optimizer_state, p.optimizer_steps)?;
                }
                Box::new(e)
            }
            other => {
                return Err(WorkerError::ShapeMismatch(format!(
                    "the host training engine runs in f32 or f64, not {other:?}"
                )))
            }
        },
    })
}
