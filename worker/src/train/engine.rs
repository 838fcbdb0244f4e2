//! What a training engine does, and the tensor engine that runs on any candle device.

use super::data::DeviceData;
use super::StepVectors;
use crate::mlp::{loss_and_gradient, Params};
use crate::optim::{StepOutcome, TensorOptimizer};
use crate::WorkerError;

/// Which implementation takes the training steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrainingEngine {
    /// Fused `gemm` calls and one optimiser pass on host vectors (CPU only; the default there).
    Host,
    /// Candle tensor operations (any device; the one CUDA uses).
    Tensors,
}

impl TrainingEngine {
    /// The engine a run on `device` uses: [`TrainingEngine::Host`] on the CPU,
    /// [`TrainingEngine::Tensors`] elsewhere.
    pub fn for_device(device: &candle_core::Device) -> Self {
        if device.is_cpu() {
            Self::Host
        } else {
            Self::Tensors
        }
    }

    /// Short name for reports and checkpoints ("host", "tensors").
    pub fn name(self) -> &'static str {
        match self {
            Self::Host => "host",
            Self::Tensors => "tensors",
        }
    }

    /// The engine [`TrainingEngine::name`] names; `None` for anything else.
    pub fn from_name(name: &str) -> Option<Self> {
        [Self::Host, Self::Tensors]
            .into_iter()
            .find(|e| e.name() == name)
    }
}

/// The operations [`super::Trainer`] asks of an engine. Vectors cross as flat f64 in the
/// documented parameter layout (see [`crate::mlp::Architecture`]).
pub(crate) trait Engine: Send {
    /// One optimiser step at learning rate `lr` on the rows `indices` of `data`; returns the
    /// mini-batch loss at θ_t.
    fn step(&mut self, data: &DeviceData, indices: &[u32], lr: f64) -> Result<f64, WorkerError>;
    /// θ as device tensors.
    fn params(&self) -> Result<Params, WorkerError>;
    /// θ as a flat f64 vector.
    fn params_flat(&self) -> Result<Vec<f64>, WorkerError>;
    /// g_t and θ_{t+1} − θ_t of the last step, flat; `None` before the first step.
    fn last_step_vectors(&self) -> Result<Option<StepVectors>, WorkerError>;
    /// (‖g_t‖, ‖θ_{t+1} − θ_t‖) of the last step, summed in f64; `None` before the first.
    fn last_norms(&self) -> Result<Option<(f64, f64)>, WorkerError>;
    /// The optimiser's checkpointed state (see [`TensorOptimizer::state`]).
    fn optimizer_state(&self) -> Result<(Vec<Vec<f64>>, u64), WorkerError>;
    /// Which engine this is.
    fn kind(&self) -> TrainingEngine;
}

/// Steps through candle tensors and a [`TensorOptimizer`].
pub(crate) struct TensorEngine {
    params: Params,
    optimizer: TensorOptimizer,
    /// The last step's gradient and the parameters it started from (the update is taken as
    /// their difference only when asked for, so a plain step costs no extra pass).
    last: Option<(Params, Params)>,
}

impl TensorEngine {
    pub(crate) fn new(params: Params, optimizer: TensorOptimizer) -> Self {
        Self {
            params,
            optimizer,
            last: None,
        }
    }

    fn last_update(&self) -> Result<Option<(&Params, Params)>, WorkerError> {
        self.last
            .as_ref()
            .map(|(g, previous)| Ok((g, self.params.zip_map(previous, |new, old| new - old)?)))
            .transpose()
    }
}

impl Engine for TensorEngine {
    fn step(&mut self, data: &DeviceData, indices: &[u32], lr: f64) -> Result<f64, WorkerError> {
        let (x, onehot) = data.batch(indices)?;
        let StepOutcome {
            params,
            loss,
            gradient,
        } = self.optimizer.step(&self.params, lr, &mut |p: &Params| {
            loss_and_gradient(p, &x, &onehot)
        })?;
        let previous = std::mem::replace(&mut self.params, params);
        self.last = Some((gradient, previous));
        Ok(loss)
    }

    fn params(&self) -> Result<Params, WorkerError> {
        Ok(self.params.clone())
    }

    fn params_flat(&self) -> Result<Vec<f64>, WorkerError> {
        self.params.to_flat()
    }

    fn last_step_vectors(&self) -> Result<Option<StepVectors>, WorkerError> {
        self.last_update()?
            .map(|(g, u)| {
                Ok(StepVectors {
                    gradient: g.to_flat()?,
                    update: u.to_flat()?,
                })
            })
            .transpose()
    }

    fn last_norms(&self) -> Result<Option<(f64, f64)>, WorkerError> {
        self.last_update()?
            .map(|(g, u)| Ok((g.squared_norm()?.sqrt(), u.squared_norm()?.sqrt())))
            .transpose()
    }

    fn optimizer_state(&self) -> Result<(Vec<Vec<f64>>, u64), WorkerError> {
        self.optimizer.state()
    }

    fn kind(&self) -> TrainingEngine {
        TrainingEngine::Tensors
    }
}
