//! The training set on the device.

use candle_core::{DType, Device, Tensor};

use crate::data::Dataset;
use crate::mlp::Architecture;
use crate::WorkerError;

/// Inputs and one-hot targets of a dataset as device tensors in the compute dtype.
#[derive(Debug, Clone)]
pub struct DeviceData {
    /// Inputs, samples × input width.
    pub x: Tensor,
    /// One-hot targets, samples × classes.
    pub onehot: Tensor,
}

impl DeviceData {
    /// Moves a dataset to `device` as `dtype`, checking it fits `arch`.
    pub fn new(
        ds: &Dataset,
        arch: &Architecture,
        dtype: DType,
        device: &Device,
    ) -> Result<Self, WorkerError> {
        if ds.dim != arch.input_dim() || ds.classes != arch.output_dim() {
            return Err(WorkerError::ShapeMismatch(format!(
                "dataset has {} inputs and {} classes but the network is {:?}",
                ds.dim,
                ds.classes,
                arch.widths()
            )));
        }
        if ds.len == 0 {
            return Err(WorkerError::ShapeMismatch("dataset is empty".into()));
        }
        let x = Tensor::from_slice(&ds.images, (ds.len, ds.dim), device)?.to_dtype(dtype)?;
        let mut onehot = vec![0f32; ds.len * ds.classes];
        for (i, &label) in ds.labels.iter().enumerate() {
            onehot[i * ds.classes + label as usize] = 1.0;
        }
        let onehot = Tensor::from_slice(&onehot, (ds.len, ds.classes), device)?.to_dtype(dtype)?;
        Ok(Self { x, onehot })
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.x.dims()[0]
    }

    /// Whether there are no samples.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The rows `indices` as a mini-batch.
    pub fn batch(&self, indices: &[u32]) -> Result<(Tensor, Tensor), WorkerError> {
        let idx = Tensor::from_slice(indices, indices.len(), self.x.device())?;
        Ok((
            self.x.index_select(&idx, 0)?,
            self.onehot.index_select(&idx, 0)?,
        ))
    }

    /// The first `n` samples (a fixed subset, e.g. for the Hessian).
    pub fn head(&self, n: usize) -> Result<DeviceData, WorkerError> {
        Ok(Self {
            x: self.x.narrow(0, 0, n)?,
            onehot: self.onehot.narrow(0, 0, n)?,
        })
    }
}
