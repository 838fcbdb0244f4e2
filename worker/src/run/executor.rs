//! A run's plan, its outcome and its errors, and [`execute`], which runs one (the loop itself
//! is [`Launch`](super::launch::Launch)).

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use candle_core::Device;
use eigensweep_common::sweep::SnapshotStatistics;
use thiserror::Error;

use super::checkpoint::CheckpointError;
use super::launch::{Launch, Opened};
use crate::data::TrainTest;
use crate::eigen::EigenError;
use crate::memory::MemoryError;
use crate::mlp::{Architecture, BiasInit, ModelError};
use crate::optim::{LrSchedule, OptimizerConfig};
use crate::output::OutputError;
use crate::snapshot::{SnapshotError, SnapshotSettings};

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

/// The outcome of [`execute`].
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
    /// Products of the latest snapshot (all of them, as in [`RunReport::last_products`]).
    pub last_products: usize,
    /// Wall-clock seconds of the latest snapshot (0 before the first one of this launch).
    pub last_snapshot_seconds: f64,
    /// Whether a checkpoint at `step` was written just now.
    pub checkpointed: bool,
}

/// Errors that fail a run.
#[derive(Debug, Error)]
pub enum RunError {
    /// Model or tensor failure.
    #[error(transparent)]
    Model(#[from] ModelError),
    /// Eigen-snapshot failure.
    #[error(transparent)]
    Snapshot(#[from] SnapshotError),
    /// Writing a table failed.
    #[error(transparent)]
    Output(#[from] OutputError),
    /// Reading or writing the checkpoint failed.
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    /// File-system error on a marker file.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// The path.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The directory holds a checkpoint of a different configuration.
    #[error("{path} belongs to run {found}, not {expected}: refusing to mix outputs of different configurations")]
    ForeignCheckpoint {
        /// The checkpoint file.
        path: PathBuf,
        /// Its run key.
        found: String,
        /// This run's key.
        expected: String,
    },
    /// The run was started on another kind of device, whose arithmetic rounds differently.
    #[error("{path} was computed on {saved}, this launch uses {now}: resume with --device {saved} so the run's numbers come from one device (or remove the run's directory to restart it on {now})")]
    DeviceMismatch {
        /// The checkpoint file.
        path: PathBuf,
        /// Device kind of the earlier launch (`cpu` or `cuda`).
        saved: String,
        /// Device kind of this launch.
        now: String,
    },
    /// The run was started with another thread count, which changes its rounding.
    #[error("{path} was computed with {saved} threads per run, this launch uses {now}: resume with --threads-per-run {saved} so the run's numbers stay identical")]
    ThreadMismatch {
        /// The checkpoint file.
        path: PathBuf,
        /// Threads of the earlier launch.
        saved: u64,
        /// Threads of this launch.
        now: u64,
    },
    /// Inconsistent plan.
    #[error("invalid run plan: {0}")]
    Plan(String),
    /// The stop flag was set before the task could finish and it has nothing to checkpoint
    /// (a baseline network): nothing was written, the task is redone by the next launch.
    #[error("stopped by a signal before the task finished; nothing was written")]
    Interrupted,
    /// A large buffer of the task (its copy of the data) could not be allocated.
    #[error(transparent)]
    Memory(#[from] MemoryError),
}

impl RunError {
    /// The buffer that could not be allocated, where running out of memory is what failed
    /// the task (wherever it happened: the data's copy, the Hessian operator, the solver or
    /// its products).
    pub fn out_of_memory(&self) -> Option<&MemoryError> {
        fn model(e: &ModelError) -> Option<&MemoryError> {
            match e {
                ModelError::Memory(m) => Some(m),
                _ => None,
            }
        }
        match self {
            RunError::Memory(m) => Some(m),
            RunError::Model(e) => model(e),
            RunError::Snapshot(SnapshotError::Model(e)) => model(e),
            RunError::Snapshot(SnapshotError::Eigen(EigenError::Memory(m))) => Some(m),
            _ => None,
        }
    }
}

pub(super) fn marker_io<'a>(
    action: &'static str,
    path: &'a Path,
) -> impl FnOnce(std::io::Error) -> RunError + 'a {
    move |source| RunError::Io {
        action,
        path: path.to_path_buf(),
        source,
    }
}

/// Writes a marker with content (`_DIVERGED` holds its step) through a temporary name and a
/// rename: a full disk must not leave a torn marker that a later launch would trust.
pub(super) fn write_marker(path: &Path, text: &str) -> Result<(), RunError> {
    let tmp = crate::output::temp_path(path);
    let written = fs::write(&tmp, text)
        .map_err(marker_io("writing", &tmp))
        .and_then(|()| fs::rename(&tmp, path).map_err(marker_io("renaming into place", path)));
    if written.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    written
}

pub(super) fn flat_f32(v: &[f64]) -> Vec<f32> {
    v.iter().map(|&x| x as f32).collect()
}

/// Runs (or resumes, or skips if finished) one run in `dir`: opens a `Launch`
/// (`run/launch.rs`) from the plan and the directory, and runs it to its end.
///
/// `stop` is polled after every training step and between the product blocks of every
/// eigen-solve: when set, the run writes its parts and a checkpoint at the last completed step
/// and returns [`RunStatus::Stopped`]. A snapshot in progress is abandoned (the checkpoint is
/// taken at its step, before it), so the relaunch redoes it with the same start vectors and the
/// tables equal an uninterrupted run's.
pub fn execute(
    plan: &RunPlan,
    data: &TrainTest,
    dir: &Path,
    progress: &mut dyn FnMut(&RunProgress),
    stop: &AtomicBool,
) -> Result<RunReport, RunError> {
    match Launch::open(plan, data, dir)? {
        Opened::Finished(report) => Ok(report),
        Opened::Ready(launch) => launch.run(progress, stop),
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::synthetic;
    use std::sync::atomic::Ordering;

    use crate::run::test_plan as plan;
    use crate::run::Checkpoint;

    /// The preconditioner at a snapshot uses the rate of the step that follows it; at the last
    /// snapshot, where none follows, that of the last step taken, not the schedule's rate past
    /// the end (a cosine's `min_lr`, 0 by default, which would zero the scaled operator).
    #[test]
    fn the_last_snapshots_preconditioner_uses_the_last_steps_rate() {
        let mut p = plan(Device::Cpu);
        p.lr_schedule = LrSchedule {
            warmup_steps: 0,
            decay: crate::optim::LrDecay::Cosine {
                min_lr: 0.0,
                steps: 20,
            },
        };
        use super::super::statistics::preconditioner_rate;
        assert_eq!(preconditioner_rate(&p, 0), 0.01);
        assert_eq!(p.lr_schedule.lr(0.01, 20), 0.0, "past the end: min_lr");
        let last = preconditioner_rate(&p, 20);
        assert_eq!(last, p.lr_schedule.lr(0.01, 19));
        assert!(last > 0.0);
    }

    /// A run checkpointed on a GPU is not silently continued on the CPU (its arithmetic
    /// rounds differently): the launch is refused, naming both devices and the way out.
    #[test]
    fn a_run_started_on_another_device_kind_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let data = synthetic(200, 50, 0);
        let p = plan(Device::Cpu);
        Checkpoint {
            run_key: "k".into(),
            step: 10,
            epoch: 0,
            offset: 160,
            snapshots_done: 1,
            params: vec![0.0; p.arch.num_params()],
            optimizer_state: Vec::new(),
            optimizer_steps: 10,
            warm_start: Vec::new(),
            parts: Vec::new(),
            wall_seconds: 1.0,
            complete: false,
            threads: candle_core::utils::get_num_threads() as u64,
            device: "cuda".into(),
            engine: "tensors".into(),
            statistics: Vec::new(),
        }
        .save(&dir.path().join("checkpoint.bin"))
        .unwrap();
        let err = execute(&p, &data, dir.path(), &mut |_| {}, &AtomicBool::new(false)).unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, RunError::DeviceMismatch { .. }), "{text}");
        assert!(
            text.contains("computed on cuda, this launch uses cpu")
                && text.contains("--device cuda"),
            "{text}"
        );
    }

    /// A stop that lands in the middle of a per-snapshot statistic (here the density, which
    /// takes nearly all of each snapshot's time) abandons the snapshot with nothing of it
    /// written, and the relaunch writes exactly the tables of an uninterrupted run. Where a
    /// stop lands depends on timing; every landing must give the same tables, and at least one
    /// of the delays must land in a snapshot.
    #[test]
    fn a_stop_inside_a_statistic_leaves_nothing_and_the_relaunch_is_identical() {
        use crate::output::{read_density_rows, read_snapshot_rows, read_trace_rows};
        let data = synthetic(200, 50, 0);
        let mut p = plan(Device::Cpu);
        p.statistics.trace_probes = Some(4);
        p.statistics.density = Some(eigensweep_common::sweep::DensitySpec {
            probes: 2,
            steps: 60,
        });
        p.checkpoint_every = 100;
        let tables = |dir: &Path| {
            let mut snapshots = read_snapshot_rows(&dir.join("snapshots")).unwrap();
            snapshots.sort_by_key(|r| (r.step, r.index));
            let values: Vec<(u64, u32, f64)> = snapshots
                .iter()
                .map(|r| (r.step, r.index, r.eigenvalue))
                .collect();
            let trace: Vec<(u64, f64)> = read_trace_rows(&dir.join("trace"))
                .unwrap()
                .iter()
                .map(|r| (r.step, r.trace))
                .collect();
            let mut density: Vec<(u64, u64, f64, f64)> = read_density_rows(&dir.join("density"))
                .unwrap()
                .iter()
                .map(|r| (r.step, r.probe, r.node, r.weight))
                .collect();
            density.sort_by(|a, b| a.partial_cmp(b).unwrap());
            (values, trace, density)
        };
        let reference = tempfile::tempdir().unwrap();
        execute(
            &p,
            &data,
            reference.path(),
            &mut |_| {},
            &AtomicBool::new(false),
        )
        .unwrap();
        let want = tables(reference.path());
        assert_eq!(want.1.len(), 2, "a trace row per snapshot");

        let mut in_a_snapshot = 0;
        for delay_ms in [5, 20, 40, 80] {
            let dir = tempfile::tempdir().unwrap();
            let stop = AtomicBool::new(false);
            let report = std::thread::scope(|scope| {
                scope.spawn(|| {
                    std::thread::sleep(std::time::Duration::from_millis(delay_ms));
                    stop.store(true, Ordering::Relaxed);
                });
                execute(&p, &data, dir.path(), &mut |_| {}, &stop).unwrap()
            });
            if report.status == RunStatus::Stopped && p.snapshot_steps.contains(&report.steps_done)
            {
                in_a_snapshot += 1;
            }
            let done =
                execute(&p, &data, dir.path(), &mut |_| {}, &AtomicBool::new(false)).unwrap();
            assert_eq!(done.status, RunStatus::Done);
            assert!(tables(dir.path()) == want, "stopped after {delay_ms} ms");
        }
        assert!(in_a_snapshot > 0, "no stop landed in a snapshot");
    }

    /// The preconditioned solve is warm-started from the previous snapshot's vectors, which
    /// the checkpoint carries: a run stopped and resumed writes the preconditioned rows of an
    /// uninterrupted run, and the warm starts take fewer products than the cold first solve.
    #[test]
    fn the_preconditioned_warm_start_is_checkpointed_and_saves_products() {
        use crate::output::read_preconditioned_rows;
        let data = synthetic(200, 50, 0);
        let mut p = plan(Device::Cpu);
        p.optimizer = OptimizerConfig::Adam(crate::optim::AdamConfig::default());
        p.statistics.preconditioned_top_k = Some(2);
        p.snapshot_steps = vec![0, 4, 8, 12, 16, 20];
        let rows = |dir: &Path| {
            let mut r: Vec<(u64, u32, f64, u64)> =
                read_preconditioned_rows(&dir.join("preconditioned"))
                    .unwrap()
                    .iter()
                    .map(|r| (r.step, r.index, r.eigenvalue, r.products))
                    .collect();
            r.sort_by(|a, b| a.partial_cmp(b).unwrap());
            r
        };
        let reference = tempfile::tempdir().unwrap();
        execute(
            &p,
            &data,
            reference.path(),
            &mut |_| {},
            &AtomicBool::new(false),
        )
        .unwrap();
        let want = rows(reference.path());
        assert_eq!(
            want.len(),
            2 * 5,
            "two pairs at every snapshot after step 0"
        );
        let products = |step: u64| want.iter().find(|r| r.0 == step).unwrap().3;
        assert!(
            products(16) < products(4),
            "warm {} against cold {}",
            products(16),
            products(4)
        );

        let dir = tempfile::tempdir().unwrap();
        let stop = AtomicBool::new(false);
        let report = execute(
            &p,
            &data,
            dir.path(),
            &mut |pr: &RunProgress| {
                if pr.step >= 10 {
                    stop.store(true, Ordering::Relaxed);
                }
            },
            &stop,
        )
        .unwrap();
        assert_eq!(report.status, RunStatus::Stopped);
        let c = Checkpoint::load(&dir.path().join("checkpoint.bin"))
            .unwrap()
            .unwrap();
        assert_eq!(
            c.statistics.len(),
            1,
            "the preconditioned warm start is kept"
        );
        assert_eq!(c.statistics[0].0, "preconditioned");
        execute(&p, &data, dir.path(), &mut |_| {}, &AtomicBool::new(false)).unwrap();
        assert_eq!(rows(dir.path()), want);
    }

    /// A run checkpointed by an earlier version (which trained on the tensor engine)
    /// continues on the tensor engine, and says so in its next checkpoint; a checkpoint
    /// naming an engine this version does not know is refused, naming the file.
    #[test]
    fn a_resumed_run_stays_on_the_engine_its_checkpoint_names() {
        let data = synthetic(200, 50, 0);
        let p = plan(Device::Cpu);
        let stop_at_ten = |dir: &Path| {
            let stop = AtomicBool::new(false);
            let report = execute(
                &p,
                &data,
                dir,
                &mut |pr: &RunProgress| {
                    if pr.step >= 10 {
                        stop.store(true, Ordering::Relaxed);
                    }
                },
                &stop,
            )
            .unwrap();
            assert_eq!(report.status, RunStatus::Stopped);
            let path = dir.join("checkpoint.bin");
            let c = Checkpoint::load(&path).unwrap().unwrap();
            assert_eq!(c.engine, "host", "a new CPU run trains on the host engine");
            (path, c)
        };
        let dir = tempfile::tempdir().unwrap();
        let (path, mut c) = stop_at_ten(dir.path());
        c.engine = "tensors".into();
        c.save(&path).unwrap();
        let report = execute(&p, &data, dir.path(), &mut |_| {}, &AtomicBool::new(false)).unwrap();
        assert_eq!(report.status, RunStatus::Done);
        assert_eq!(report.resumed_from, Some(c.step));
        let done = Checkpoint::load(&path).unwrap().unwrap();
        assert!(done.complete);
        assert_eq!(done.engine, "tensors", "the run stayed on its engine");

        let dir = tempfile::tempdir().unwrap();
        let (path, mut c) = stop_at_ten(dir.path());
        c.engine = "warp".into();
        c.save(&path).unwrap();
        let err = execute(&p, &data, dir.path(), &mut |_| {}, &AtomicBool::new(false)).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("checkpoint.bin") && text.contains("unknown training engine \"warp\""),
            "{text}"
        );
    }
}
