//! A run's tables as the run loop writes them: the snapshots, metrics and weights every run
//! writes and its per-snapshot statistics', opened, filled, flushed and checkpointed together
//! (each one a [`Table`]).

use std::path::Path;

use super::plan::RunPlan;
use super::statistics::{self, SnapshotStatistic};
use super::table::Table;
use crate::output::{read_table, write_table_atomically, MetricRow, Row, SnapshotRow, WeightRow};
use crate::snapshot::{alignment, ipr, EigenSnapshot};
use crate::WorkerError;

/// The name of every table a run may write (each a directory in the run's): `snapshots`,
/// `metrics` and `weights`, which every run writes, then each per-snapshot statistic's, which
/// only runs that ask for the statistic write.
pub fn run_tables() -> Vec<&'static str> {
    [SnapshotRow::TABLE, MetricRow::TABLE, WeightRow::TABLE]
        .into_iter()
        .chain(statistics::tables())
        .collect()
}

/// Every table of a run: the three every run writes, and those of its per-snapshot
/// statistics.
pub(super) struct Writers {
    pub(super) snapshots: Table<SnapshotRow>,
    pub(super) metrics: Table<MetricRow>,
    pub(super) weights: Table<WeightRow>,
    pub(super) statistics: Vec<Box<dyn SnapshotStatistic>>,
}

impl Writers {
    /// The tables of `plan`'s run under `dir`, continuing after the checkpoint's `parts`.
    pub(super) fn open(
        plan: &RunPlan,
        dir: &Path,
        parts: &[(String, u32)],
    ) -> Result<Self, WorkerError> {
        Ok(Self {
            snapshots: Table::open(dir, parts, true)?,
            metrics: Table::open(dir, parts, true)?,
            weights: Table::open(dir, parts, true)?,
            statistics: statistics::for_plan(plan, dir, parts)?,
        })
    }

    pub(super) fn flush(&mut self) -> Result<(), WorkerError> {
        self.snapshots.flush()?;
        self.metrics.flush()?;
        self.weights.flush()?;
        for statistic in &mut self.statistics {
            statistic.flush()?;
        }
        Ok(())
    }

    /// The rows of the snapshot `s` at step `t`: one per eigenpair with its IPR and its
    /// alignments (METHOD.md) with the mini-batch gradient and the update of the step t → t+1
    /// (`None` after the last step: NaN), and the full-batch gradient; then each statistic
    /// commits what it measured on the snapshot.
    pub(super) fn commit_snapshot(
        &mut self,
        run_key: &str,
        t: u64,
        s: &EigenSnapshot,
        (grad, update): (Option<&[f64]>, Option<&[f64]>),
    ) {
        for (i, pair) in s.eigen.pairs.iter().enumerate() {
            self.snapshots.push(SnapshotRow {
                run_key: run_key.to_string(),
                step: t,
                index: i as u32 + 1,
                eigenvalue: pair.value,
                residual: pair.residual,
                converged: pair.converged,
                products: s.eigen.products as u32,
                ipr: ipr(&pair.vector),
                grad_alignment: grad.map_or(f64::NAN, |g| alignment(&pair.vector, g)),
                full_grad_alignment: alignment(&pair.vector, &s.full_gradient),
                update_alignment: update.map_or(f64::NAN, |u| alignment(&pair.vector, u)),
                eigenvector: flat_f32(&pair.vector),
            });
        }
        for statistic in &mut self.statistics {
            statistic.commit(run_key, t);
        }
    }

    /// Sets the gradient and update alignments (NaN when `grad` and `update` are `None`) of the
    /// rows of the snapshot at step `t` that a checkpoint had already written, in the last
    /// part of the snapshots table: what [`Writers::commit_snapshot`] computes, from the same
    /// f64 `vectors` (the snapshot's eigenvectors, in eigen-index order, as the checkpoint's
    /// warm start holds them). The part is rewritten whole, atomically.
    ///
    /// # Errors
    /// [`WorkerError::InvalidPlan`] when the last part holds no rows of step `t`, or a row whose
    /// index has no vector; table errors.
    pub(super) fn complete_snapshot(
        &mut self,
        t: u64,
        vectors: &[Vec<f64>],
        (grad, update): (Option<&[f64]>, Option<&[f64]>),
    ) -> Result<(), WorkerError> {
        let path = self.snapshots.last_part().ok_or_else(|| {
            WorkerError::InvalidPlan(format!(
                "the snapshot at step {t} is counted as taken, but the snapshots table has no part"
            ))
        })?;
        let mut rows: Vec<SnapshotRow> = read_table(&path)?;
        let mut completed = 0;
        for row in rows.iter_mut().filter(|r| r.step == t) {
            let vector = (row.index as usize)
                .checked_sub(1)
                .and_then(|i| vectors.get(i))
                .ok_or_else(|| {
                    WorkerError::InvalidPlan(format!(
                        "{}: eigen-index {} at step {t} has no vector in the checkpoint",
                        path.display(),
                        row.index
                    ))
                })?;
            row.grad_alignment = grad.map_or(f64::NAN, |g| alignment(vector, g));
            row.update_alignment = update.map_or(f64::NAN, |u| alignment(vector, u));
            completed += 1;
        }
        if completed == 0 {
            return Err(WorkerError::InvalidPlan(format!(
                "{} holds no rows of the snapshot at step {t}, which the checkpoint counts as taken",
                path.display()
            )));
        }
        write_table_atomically(&path, &rows)?;
        Ok(())
    }

    /// The statistics' state for the checkpoint, by table; only those that have some.
    pub(super) fn statistics_state(&self) -> Vec<(String, Vec<Vec<f64>>)> {
        self.statistics
            .iter()
            .map(|s| (s.table().to_string(), s.state()))
            .filter(|(_, state)| !state.is_empty())
            .collect()
    }

    /// Gives each statistic its state from a checkpoint's `saved` list.
    ///
    /// # Errors
    /// [`WorkerError::InvalidPlan`] for state of a statistic this run does not measure, or that the
    /// statistic refuses.
    pub(super) fn restore_statistics(
        &mut self,
        saved: &[(String, Vec<Vec<f64>>)],
    ) -> Result<(), WorkerError> {
        for (table, state) in saved {
            let statistic = self
                .statistics
                .iter_mut()
                .find(|s| s.table() == table)
                .ok_or_else(|| {
                    WorkerError::InvalidPlan(format!(
                        "the checkpoint holds state of `{table}`, which this run does not measure"
                    ))
                })?;
            statistic.restore(state.clone())?;
        }
        Ok(())
    }

    /// The checkpoint's part counts, in a fixed table order.
    pub(super) fn parts(&self) -> Vec<(String, u32)> {
        [
            self.snapshots.part(),
            self.metrics.part(),
            self.weights.part(),
        ]
        .into_iter()
        .chain(self.statistics.iter().map(|s| s.part()))
        .flatten()
        .collect()
    }
}

/// θ and eigenvectors as the tables store them: f32, half the size of the f64 they are
/// computed in.
pub(super) fn flat_f32(v: &[f64]) -> Vec<f32> {
    v.iter().map(|&x| x as f32).collect()
}
