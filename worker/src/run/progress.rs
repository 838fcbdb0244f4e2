//! What a run tells its progress callback after each step.

/// What a progress callback sees.
#[derive(Debug, Clone, Copy)]
pub struct RunProgress {
    /// Steps done.
    pub step: u64,
    /// Total steps.
    pub steps: u64,
    /// Snapshots done.
    pub snapshots_done: u64,
    /// Total snapshots.
    pub snapshots: u64,
    /// Products of the latest snapshot (all of them, as in
    /// [`RunReport::last_products`](super::report::RunReport::last_products)).
    pub last_products: usize,
    /// Wall-clock seconds of the latest snapshot (0 before the first one of this launch).
    pub last_snapshot_seconds: f64,
    /// Whether a checkpoint at `step` was written just now.
    pub checkpointed: bool,
}
