//! The seeded mini-batch order, which a checkpoint can restore exactly.

use rand::seq::SliceRandom;

use crate::rng::{stream_rng, Stream};

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
