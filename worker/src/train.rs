//! The training loop's pieces: the training set on the device, the seeded mini-batch order,
//! and [`Trainer`], which takes optimiser steps.

use candle_core::{DType, Device, Tensor};
use rand::seq::SliceRandom;

use crate::data::Dataset;
use crate::mlp::{loss_and_gradient, Architecture, ModelError, Params};
use crate::optim::{Optimizer, StepOutcome};
use crate::rng::{stream_rng, Stream};

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
    ) -> Result<Self, ModelError> {
        if ds.dim != arch.input_dim() || ds.classes != arch.output_dim() {
            return Err(ModelError::Shape(format!(
                "dataset has {} inputs and {} classes but the network is {:?}",
                ds.dim,
                ds.classes,
                arch.widths()
            )));
        }
        if ds.len == 0 {
            return Err(ModelError::Shape("dataset is empty".into()));
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
    pub fn batch(&self, indices: &[u32]) -> Result<(Tensor, Tensor), ModelError> {
        let idx = Tensor::from_slice(indices, indices.len(), self.x.device())?;
        Ok((
            self.x.index_select(&idx, 0)?,
            self.onehot.index_select(&idx, 0)?,
        ))
    }

    /// The first `n` samples (a fixed subset, e.g. for the Hessian).
    pub fn head(&self, n: usize) -> Result<DeviceData, ModelError> {
        Ok(Self {
            x: self.x.narrow(0, 0, n)?,
            onehot: self.onehot.narrow(0, 0, n)?,
        })
    }
}

/// Where the mini-batch order stands: enough to resume it exactly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrderPosition {
    /// Current epoch (0-based).
    pub epoch: u64,
    /// Index of the next sample within the epoch's permutation.
    pub offset: usize,
}

/// Mini-batches from a fresh seeded permutation each epoch; the last, short batch of an epoch
/// is kept (as PyTorch's `DataLoader(drop_last=False)`). The permutation of epoch `e` depends
/// only on (seed, e), so the order can be restored from an [`OrderPosition`] alone.
#[derive(Debug, Clone)]
pub struct BatchOrder {
    seed: u64,
    len: usize,
    batch_size: usize,
    position: OrderPosition,
    permutation: Vec<u32>,
}

impl BatchOrder {
    /// Order over `len` samples in batches of `batch_size`, starting at epoch 0.
    pub fn new(len: usize, batch_size: usize, seed: u64) -> Self {
        Self::resume(
            len,
            batch_size,
            seed,
            OrderPosition {
                epoch: 0,
                offset: 0,
            },
        )
    }

    /// Order restored at `position`.
    pub fn resume(len: usize, batch_size: usize, seed: u64, position: OrderPosition) -> Self {
        let mut order = Self {
            seed,
            len,
            batch_size: batch_size.max(1),
            position,
            permutation: Vec::new(),
        };
        order.permutation = order.epoch_permutation(position.epoch);
        order
    }

    fn epoch_permutation(&self, epoch: u64) -> Vec<u32> {
        let mut perm: Vec<u32> = (0..self.len as u32).collect();
        perm.shuffle(&mut stream_rng(self.seed, Stream::DataOrder, epoch));
        perm
    }

    /// The indices of the next mini-batch.
    pub fn next_batch(&mut self) -> &[u32] {
        if self.position.offset >= self.len {
            self.position = OrderPosition {
                epoch: self.position.epoch + 1,
                offset: 0,
            };
            self.permutation = self.epoch_permutation(self.position.epoch);
        }
        let start = self.position.offset;
        let end = (start + self.batch_size).min(self.len);
        self.position.offset = end;
        &self.permutation[start..end]
    }

    /// Current position (for checkpoints).
    pub fn position(&self) -> OrderPosition {
        self.position
    }
}

/// What one training step produced.
#[derive(Debug, Clone)]
pub struct StepRecord {
    /// The step number just completed (1-based: θ_step is now current).
    pub step: u64,
    /// Mini-batch loss at θ_{step−1}.
    pub loss: f64,
    /// The mini-batch gradient at θ_{step−1}.
    pub gradient: Params,
    /// θ_step − θ_{step−1}.
    pub update: Params,
}

/// Parameters, optimiser and batch order of one run.
pub struct Trainer {
    params: Params,
    optimizer: Box<dyn Optimizer>,
    order: BatchOrder,
    data: DeviceData,
    step: u64,
}

impl Trainer {
    /// A trainer starting from `params` at step 0.
    pub fn new(
        params: Params,
        optimizer: Box<dyn Optimizer>,
        data: DeviceData,
        batch_size: usize,
        seed: u64,
    ) -> Self {
        let order = BatchOrder::new(data.len(), batch_size, seed);
        Self {
            params,
            optimizer,
            order,
            data,
            step: 0,
        }
    }

    /// A trainer continuing from a checkpoint: `params` and `optimizer` as they were after
    /// `step` steps, the batch order at `position`.
    pub fn resume(
        params: Params,
        optimizer: Box<dyn Optimizer>,
        data: DeviceData,
        batch_size: usize,
        seed: u64,
        step: u64,
        position: OrderPosition,
    ) -> Self {
        let order = BatchOrder::resume(data.len(), batch_size, seed, position);
        Self {
            params,
            optimizer,
            order,
            data,
            step,
        }
    }

    /// The optimiser (for saving its state).
    pub fn optimizer(&self) -> &dyn Optimizer {
        self.optimizer.as_ref()
    }

    /// Takes one optimiser step on the next mini-batch. The update is returned as a tensor
    /// difference (no host transfer), so statistics cost nothing unless asked for.
    pub fn step(&mut self) -> Result<StepRecord, ModelError> {
        let (x, onehot) = self.data.batch(self.order.next_batch())?;
        let StepOutcome {
            params,
            loss,
            gradient,
        } = self.optimizer.step(&self.params, &mut |p: &Params| {
            loss_and_gradient(p, &x, &onehot)
        })?;
        let update = params.zip_map(&self.params, |new, old| new - old)?;
        self.params = params;
        self.step += 1;
        Ok(StepRecord {
            step: self.step,
            loss,
            gradient,
            update,
        })
    }

    /// Current parameters θ_step.
    pub fn params(&self) -> &Params {
        &self.params
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_order_covers_each_epoch_once_and_keeps_the_short_batch() {
        let mut order = BatchOrder::new(10, 4, 3);
        let mut seen: Vec<u32> = Vec::new();
        let sizes: Vec<usize> = (0..3)
            .map(|_| {
                let b = order.next_batch().to_vec();
                seen.extend(&b);
                b.len()
            })
            .collect();
        assert_eq!(sizes, vec![4, 4, 2]);
        seen.sort();
        assert_eq!(seen, (0..10).collect::<Vec<_>>());
        let first_epoch: Vec<u32> = BatchOrder::new(10, 10, 3).next_batch().to_vec();
        let mut o = BatchOrder::new(10, 10, 3);
        o.next_batch();
        let second_epoch = o.next_batch().to_vec();
        assert_ne!(first_epoch, second_epoch, "each epoch reshuffles");
        assert_ne!(first_epoch, (0..10).collect::<Vec<_>>());
    }

    #[test]
    fn batch_order_resumes_exactly() {
        let mut a = BatchOrder::new(23, 5, 11);
        for _ in 0..7 {
            a.next_batch();
        }
        let mut b = BatchOrder::resume(23, 5, 11, a.position());
        for _ in 0..10 {
            assert_eq!(a.next_batch(), b.next_batch());
        }
    }
}
