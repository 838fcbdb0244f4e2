//! How a run ended: its status, where the launch's time went, and the report
//! [`execute`](super::execute) returns.

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RunStatus {
    /// All steps and snapshots done.
    Done,
    /// The loss became non-finite at `step`.
    Diverged {
        /// Step whose mini-batch loss was non-finite.
        step: u64,
    },
    /// Asked to stop (preemption): a checkpoint was written; run again to continue.
    Stopped,
}

/// Seconds spent per stage (this launch only).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct StageSeconds {
    /// Optimiser steps and metrics.
    pub training: f64,
    /// Hessian operator set-up and eigensolves.
    pub eigen: f64,
    /// Full-dataset evaluations.
    pub evaluation: f64,
    /// Parquet parts and checkpoints.
    pub writing: f64,
}

/// The outcome of [`execute`](super::execute).
#[derive(Debug, Clone, PartialEq)]
pub struct RunReport {
    /// How it ended.
    pub status: RunStatus,
    /// Steps completed.
    pub steps_done: u64,
    /// Snapshots completed.
    pub snapshots_done: u64,
    /// Step the launch resumed from (`None`: started fresh or was already finished).
    pub resumed_from: Option<u64>,
    /// Whether the run had already finished before this launch (nothing was done).
    pub already_finished: bool,
    /// Wall seconds over all launches of the run.
    pub wall_seconds: f64,
    /// Where this launch's time went.
    pub stages: StageSeconds,
    /// Products used by the most recent snapshot (its eigen-solve, and any trace, density and
    /// preconditioned products).
    pub last_products: usize,
    /// Eigenvalues of the last snapshot taken in this launch (empty if none).
    pub last_eigenvalues: Vec<f64>,
    /// Test accuracy at the last evaluation of this launch.
    pub last_test_accuracy: Option<f64>,
}
