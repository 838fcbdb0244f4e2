//! A run's plan: everything one run needs, already resolved from the sweep file (the
//! conversion from the sweep's run spec is `plan_from_spec.rs`).

use candle_core::Device;
use eigensweep_common::sweep::SnapshotStatistics;

use crate::mlp::{Architecture, BiasInit};
use crate::optim::{LrSchedule, OptimizerConfig};
use crate::snapshot::SnapshotSettings;

/// Everything one run needs, already resolved from the sweep file.
#[derive(Debug, Clone)]
pub struct RunPlan {
    /// Stable key of the run's configuration.
    pub key: String,
    /// Network shape.
    pub arch: Architecture,
    /// Bias initialisation.
    pub bias_init: BiasInit,
    /// Optimiser and hyperparameters.
    pub optimizer: OptimizerConfig,
    /// The learning rate at each step.
    pub lr_schedule: LrSchedule,
    /// Run seed.
    pub seed: u64,
    /// Training steps.
    pub steps: u64,
    /// Mini-batch size.
    pub batch_size: usize,
    /// A metrics row every this many steps (eval steps always get one).
    pub log_every: u64,
    /// Steps at which eigen-snapshots are taken (θ after that many steps).
    pub snapshot_steps: Vec<u64>,
    /// Steps at which full train and test loss/accuracy are evaluated.
    pub eval_steps: Vec<u64>,
    /// Eigensolver settings.
    pub snapshot: SnapshotSettings,
    /// The statistics measured on each snapshot's Hessian besides its eigenpairs (trace,
    /// spectral density, preconditioned spectrum), as the sweep resolved them for this run.
    pub statistics: SnapshotStatistics,
    /// Hessian on the first N training samples (`None`: all).
    pub hessian_samples: Option<usize>,
    /// Store θ at every snapshot (θ at the final step is always stored).
    pub store_weights: bool,
    /// Write parts and a checkpoint after every this many snapshots...
    pub checkpoint_every: u64,
    /// ...and at the first step after this many seconds without one, so that sparse
    /// snapshot schedules still lose at most this much work to a crash.
    pub checkpoint_seconds: f64,
    /// Where the training set, parameters, optimiser state and Hessian live (opened by
    /// [`device::open`](crate::device::open)). The checkpoint is host data, so a run may
    /// continue on another device.
    pub device: Device,
}

/// A small run (a 784-8-10 network, 20 SGD steps, snapshots at 0 and 20) for tests.
#[cfg(test)]
pub(super) fn test_plan(device: Device) -> RunPlan {
    RunPlan {
        key: "k".into(),
        arch: Architecture::new(vec![784, 8, 10]).unwrap(),
        bias_init: BiasInit::Zero,
        optimizer: OptimizerConfig::Sgd(crate::optim::SgdConfig {
            lr: 0.01,
            ..Default::default()
        }),
        lr_schedule: LrSchedule::default(),
        seed: 0,
        steps: 20,
        batch_size: 16,
        log_every: 1,
        snapshot_steps: vec![0, 20],
        eval_steps: vec![20],
        snapshot: SnapshotSettings::default(),
        statistics: SnapshotStatistics::default(),
        hessian_samples: Some(50),
        store_weights: false,
        checkpoint_every: 1,
        checkpoint_seconds: 1e9,
        device,
    }
}
