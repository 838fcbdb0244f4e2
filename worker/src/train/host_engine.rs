//! The CPU training engine: θ, the last gradient and update, and the optimiser state as flat
//! host vectors, the loss and gradient from [`crate::mlp::CpuGradient`] and the update from
//! [`crate::optim::HostOptimizer`], with no allocation per step.
//!
//! Parameters become candle tensors only when asked for (a snapshot, an evaluation, a
//! checkpoint), which is every few hundred steps, not every step.

use candle_core::{Device, Tensor, WithDType};

use super::data::DeviceData;
use super::engine::{Engine, TrainingEngine};
use super::StepVectors;
use crate::mlp::{with_host_slice, Architecture, CpuGradient, Params, Real};
use crate::optim::{HostOptimizer, OptimizerConfig};
use crate::WorkerError;

/// Training on host vectors of element type `T` (the run's dtype).
pub(crate) struct HostEngine<T> {
    arch: Architecture,
    device: Device,
    theta: Vec<T>,
    gradient: Vec<T>,
    update: Vec<T>,
    stepped: bool,
    optimizer: HostOptimizer<T>,
    kernel: CpuGradient<T>,
}

impl<T: Real> HostEngine<T> {
    /// An engine at `params` (host tensors of dtype `T`) with a fresh `config` optimiser for
    /// batches of about `batch_size` rows.
    pub(crate) fn new(
        params: &Params,
        config: OptimizerConfig,
        batch_size: usize,
    ) -> Result<Self, WorkerError> {
        let device = params.device().clone();
        if !device.is_cpu() {
            return Err(WorkerError::ShapeMismatch(
                "the host training engine needs parameters on the CPU".into(),
            ));
        }
        let flat = params.flat_tensor()?;
        let theta = with_host_slice::<T, _>(&flat, |s| s.to_vec())?;
        let n = theta.len();
        Ok(Self {
            arch: params.architecture().clone(),
            device,
            theta,
            gradient: vec![T::zero(); n],
            update: vec![T::zero(); n],
            stepped: false,
            optimizer: HostOptimizer::new(config, n),
            kernel: CpuGradient::new(params.architecture().widths(), batch_size),
        })
    }

    /// Restores the optimiser's checkpointed state.
    pub(crate) fn restore(&mut self, state: &[Vec<f64>], steps: u64) -> Result<(), WorkerError> {
        self.optimizer.restore(state, steps)
    }
}

fn to_f64s<T: Real>(xs: &[T]) -> Vec<f64> {
    xs.iter().map(|&x| WithDType::to_f64(x)).collect()
}

fn norm<T: Real>(xs: &[T]) -> f64 {
    xs.iter()
        .map(|&x| {
            let x = WithDType::to_f64(x);
            x * x
        })
        .sum::<f64>()
        .sqrt()
}

impl<T: Real> Engine for HostEngine<T> {
    fn step(&mut self, data: &DeviceData, indices: &[u32], lr: f64) -> Result<f64, WorkerError> {
        let kernel = &mut self.kernel;
        with_host_slice::<T, _>(&data.x, |x| {
            with_host_slice::<T, _>(&data.onehot, |onehot| kernel.load_batch(x, onehot, indices))
        })??;
        let loss = self.optimizer.step(
            &mut self.theta,
            &mut self.gradient,
            &mut self.update,
            lr,
            &mut |theta, g| kernel.loss_and_gradient(theta, g),
        );
        self.stepped = true;
        Ok(loss)
    }

    fn params(&self) -> Result<Params, WorkerError> {
        let flat = Tensor::from_slice(&self.theta, self.theta.len(), &self.device)?;
        Params::from_flat_tensor(&self.arch, &flat)
    }

    fn params_flat(&self) -> Result<Vec<f64>, WorkerError> {
        Ok(to_f64s(&self.theta))
    }

    fn last_step_vectors(&self) -> Result<Option<StepVectors>, WorkerError> {
        Ok(self.stepped.then(|| StepVectors {
            gradient: to_f64s(&self.gradient),
            update: to_f64s(&self.update),
        }))
    }

    fn last_norms(&self) -> Result<Option<(f64, f64)>, WorkerError> {
        Ok(self
            .stepped
            .then(|| (norm(&self.gradient), norm(&self.update))))
    }

    fn optimizer_state(&self) -> Result<(Vec<Vec<f64>>, u64), WorkerError> {
        Ok(self.optimizer.state())
    }

    fn kind(&self) -> TrainingEngine {
        TrainingEngine::Host
    }
}
