//! The per-snapshot statistics a run measures on each snapshot's Hessian operator besides the
//! top-k eigenpairs, each in its own file with its own table: Hutchinson's trace
//! ([`trace`]), the spectral density by stochastic Lanczos quadrature ([`density`]) and the
//! optimiser's preconditioned spectrum ([`preconditioned`]).
//!
//! A statistic is one file: it implements [`SnapshotStatistic`] (prepare from the trainer,
//! measure on the operator, commit or discard the result, write its table) and is listed in
//! [`for_plan`]. The run loop knows none of them by name.

mod density;
mod preconditioned;
mod trace;

#[cfg(test)]
pub(in crate::run) use preconditioned::preconditioner_rate;

use std::path::Path;

use super::executor::{RunError, RunPlan};
use crate::snapshot::OperatorStatistic;
use crate::train::Trainer;

/// One per-snapshot statistic of a run and its table.
pub(super) trait SnapshotStatistic: OperatorStatistic + Send {
    /// Reads what the measurement at step `t` needs from the trainer before the snapshot
    /// (the preconditioned spectrum: the optimiser's state). Most statistics need nothing.
    fn prepare(&mut self, _trainer: &Trainer, _t: u64) -> Result<(), RunError> {
        Ok(())
    }

    /// Turns the result of the last [`OperatorStatistic::measure`] into rows of step `t`,
    /// buffered until the next checkpoint.
    fn commit(&mut self, run_key: &str, t: u64);

    /// Drops the result of the last measurement: the snapshot was abandoned (a stop, or a
    /// Hessian that overflowed) and is redone, or never taken, after the checkpoint.
    fn discard(&mut self);

    /// Writes the buffered rows as one part.
    fn flush(&mut self) -> Result<(), RunError>;

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
    /// [`RunError::Plan`] for state this statistic does not keep.
    fn restore(&mut self, state: Vec<Vec<f64>>) -> Result<(), RunError> {
        if state.is_empty() {
            Ok(())
        } else {
            Err(RunError::Plan(format!(
                "the checkpoint holds state of `{}`, which keeps none",
                self.table()
            )))
        }
    }

    /// (table, next part index) for the checkpoint.
    fn part(&self) -> Option<(String, u32)>;
}

/// The statistics `plan` asks for, their tables under `dir` continuing after the checkpoint's
/// `parts` (later parts removed). A statistic the plan does not ask for still has its later
/// parts removed, so no table of another launch survives beside the checkpoint.
pub(super) fn for_plan(
    plan: &RunPlan,
    dir: &Path,
    parts: &[(String, u32)],
) -> Result<Vec<Box<dyn SnapshotStatistic>>, RunError> {
    let mut statistics: Vec<Box<dyn SnapshotStatistic>> = Vec::new();
    statistics.extend(trace::for_plan(plan, dir, parts)?);
    statistics.extend(density::for_plan(plan, dir, parts)?);
    statistics.extend(preconditioned::for_plan(plan, dir, parts)?);
    Ok(statistics)
}
