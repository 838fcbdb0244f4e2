//! The per-snapshot statistics a run measures on each snapshot's Hessian operator besides the
//! top-k eigenpairs, each in its own file with its own table: Hutchinson's trace
//! ([`trace`]), the spectral density by stochastic Lanczos quadrature ([`density`]) and the
//! optimiser's preconditioned spectrum ([`preconditioned`]).
//!
//! A statistic is one file: it implements [`SnapshotStatistic`] (prepare from the trainer,
//! measure on the operator, commit or discard the result, write its table) and is listed in
//! [`KINDS`]. The run loop knows none of them by name.

mod density;
mod preconditioned;
mod trace;

pub use density::{read_density_rows, DensityRow};
pub use preconditioned::{read_preconditioned_rows, PreconditionedRow};
pub use trace::{read_trace_rows, TraceRow};

#[cfg(test)]
pub(in crate::run) use preconditioned::preconditioner_rate;

use std::path::Path;

use super::plan::RunPlan;
use crate::snapshot::OperatorStatistic;
use crate::train::RunTrainer;
use crate::WorkerError;

/// One per-snapshot statistic of a run and its table.
pub(super) trait SnapshotStatistic: OperatorStatistic + Send {
    /// Reads what the measurement at step `t` needs from the trainer before the snapshot
    /// (the preconditioned spectrum: the optimiser's state). Most statistics need nothing.
    fn prepare(&mut self, _trainer: &RunTrainer, _t: u64) -> Result<(), WorkerError> {
        Ok(())
    }

    /// Turns the result of the last [`OperatorStatistic::measure`] into rows of step `t`,
    /// buffered until the next checkpoint.
    fn commit(&mut self, run_key: &str, t: u64);

    /// Drops the result of the last measurement: the snapshot was abandoned (a stop, or a
    /// Hessian that overflowed) and is redone, or never taken, after the checkpoint.
    fn discard(&mut self);

    /// Writes the buffered rows as one part.
    fn flush(&mut self) -> Result<(), WorkerError>;

    /// The statistic's table (its directory, and the key of its state in the checkpoint).
    fn table(&self) -> &'static str;

    /// What the statistic carries from one committed snapshot to the next, for the
    /// checkpoint (none by default).
    fn state(&self) -> Vec<Vec<f64>> {
        Vec::new()
    }

    /// Restores what [`SnapshotStatistic::state`] returned.
    ///
    /// # Errors
    /// [`WorkerError::InvalidPlan`] for state this statistic does not keep.
    fn restore(&mut self, state: Vec<Vec<f64>>) -> Result<(), WorkerError> {
        if state.is_empty() {
            Ok(())
        } else {
            Err(WorkerError::InvalidPlan(format!(
                "the checkpoint holds state of `{}`, which keeps none",
                self.table()
            )))
        }
    }

    /// (table, next part index) for the checkpoint.
    fn part(&self) -> Option<(String, u32)>;
}

/// Opens a statistic's table for a run and, when the plan asks for the statistic, the
/// statistic itself (see [`for_plan`]).
type Open = fn(
    &RunPlan,
    &Path,
    &[(String, u32)],
) -> Result<Option<Box<dyn SnapshotStatistic>>, WorkerError>;

/// A kind of per-snapshot statistic: its table and how a run opens it.
pub(super) struct Kind {
    /// The table's name: its directory in the run's, and the key of its state in the
    /// checkpoint.
    pub(super) table: &'static str,
    open: Open,
}

/// Every statistic a run may measure, in the order they run at each snapshot.
const KINDS: [Kind; 3] = [trace::KIND, density::KIND, preconditioned::KIND];

/// The tables of every per-snapshot statistic, whether a given run writes them or not.
pub(super) fn tables() -> impl Iterator<Item = &'static str> {
    KINDS.iter().map(|k| k.table)
}

/// The statistics `plan` asks for, their tables under `dir` continuing after the checkpoint's
/// `parts` (later parts removed). A statistic the plan does not ask for still has its later
/// parts removed, so no table of another launch survives beside the checkpoint.
pub(super) fn for_plan(
    plan: &RunPlan,
    dir: &Path,
    parts: &[(String, u32)],
) -> Result<Vec<Box<dyn SnapshotStatistic>>, WorkerError> {
    let mut statistics = Vec::new();
    for kind in &KINDS {
        statistics.extend((kind.open)(plan, dir, parts)?);
    }
    Ok(statistics)
}

#[cfg(test)]
mod tests {
    use candle_core::Device;
    use eigensweep_common::sweep::{DensitySpec, SnapshotStatistics};

    use super::*;
    use crate::optim::{AdamConfig, OptimizerConfig};

    /// A plan with every statistic on opens one of each, in [`KINDS`]' order, each under the
    /// table its kind names; a plan with none opens none and creates no directory.
    #[test]
    fn every_kind_opens_the_statistic_of_its_table() {
        let mut plan = crate::run::test_plan(Device::Cpu);
        plan.optimizer = OptimizerConfig::Adam(AdamConfig::default());
        let dir = tempfile::tempdir().unwrap();
        assert!(for_plan(&plan, dir.path(), &[]).unwrap().is_empty());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);

        plan.statistics = SnapshotStatistics {
            trace_probes: Some(2),
            density: Some(DensitySpec {
                probes: 1,
                steps: 3,
            }),
            preconditioned_top_k: Some(1),
        };
        let opened: Vec<&str> = for_plan(&plan, dir.path(), &[])
            .unwrap()
            .iter()
            .map(|s| s.table())
            .collect();
        assert_eq!(opened, tables().collect::<Vec<_>>());
        assert_eq!(opened, ["trace", "density", "preconditioned"]);
    }
}
