//! Loss, accuracy and gradient of a flat parameter vector over a whole dataset, in float64
//! and in chunks.
//!
//! Float64 because the minima comparison looks at small loss differences: at ε = 1e-3 the
//! ε-sharpness is a relative change of order 1e-4 to 1e-2, while a float32 sum over 60,000
//! samples carries errors of order 1e-5 of the loss.

use candle_core::{DType, Device};
use eigensweep_worker::mlp::{evaluate, loss_and_gradient, Architecture, Params};
use eigensweep_worker::train::DeviceData;
use eigensweep_worker::WorkerError;

/// A dataset on the CPU in float64, ready for losses and gradients.
pub struct Evaluator {
    /// The network shape the data fit.
    pub arch: Architecture,
    /// Inputs and one-hot targets.
    pub data: DeviceData,
    /// Samples per chunk.
    pub chunk: usize,
}

impl Evaluator {
    /// Puts `dataset` on the CPU as float64 for `arch`.
    pub fn new(
        dataset: &eigensweep_worker::data::Dataset,
        arch: &Architecture,
        chunk: usize,
    ) -> Result<Self, WorkerError> {
        Ok(Self {
            arch: arch.clone(),
            data: DeviceData::new(dataset, arch, DType::F64, &Device::Cpu)?,
            chunk,
        })
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.data.len()
    }

    /// Whether there are no samples (never true: `DeviceData` rejects empty datasets).
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// Parameters from a flat vector.
    pub fn params(&self, theta: &[f64]) -> Result<Params, WorkerError> {
        Params::from_flat(&self.arch, theta, DType::F64, &Device::Cpu)
    }

    /// Mean loss and accuracy at `theta`.
    pub fn loss_and_accuracy(&self, theta: &[f64]) -> Result<(f64, f64), WorkerError> {
        evaluate(
            &self.params(theta)?,
            &self.data.x,
            &self.data.onehot,
            self.chunk,
        )
    }

    /// Mean loss and its gradient (flat) at `theta`.
    pub fn loss_and_gradient(&self, theta: &[f64]) -> Result<(f64, Vec<f64>), WorkerError> {
        let params = self.params(theta)?;
        let n = self.len();
        let mut loss = 0.0;
        let mut gradient = vec![0.0; theta.len()];
        let mut start = 0;
        while start < n {
            let len = self.chunk.min(n - start);
            let x = self.data.x.narrow(0, start, len)?;
            let y = self.data.onehot.narrow(0, start, len)?;
            let (l, g) = loss_and_gradient(&params, &x, &y)?;
            let weight = len as f64 / n as f64;
            loss += weight * l;
            for (acc, v) in gradient.iter_mut().zip(g.to_flat()?) {
                *acc += weight * v;
            }
            start += len;
        }
        Ok((loss, gradient))
    }
}
