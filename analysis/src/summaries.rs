//! The whole-sweep tables built from the snapshot scalars alone (no vectors): alignment means
//! per run and over seeds, IPR and eigenvalue statistics over seeds per step, and the
//! baseline τ from the moments of the baseline jobs. Statistics over seeds run as a
//! differential-dataflow reduce ([`crate::group_stats`]).

use std::collections::BTreeMap;

use crate::catalog::Catalog;
use crate::group_stats::group_stats;
use crate::manifest::Moments;
use crate::tables::{AlignmentSummaryRow, BaselineStatsRow, RunAlignmentRow, SpectrumSummaryRow};

fn mean_of(values: impl Iterator<Item = f64>) -> (u64, f64) {
    let (mut n, mut sum) = (0u64, 0.0);
    for v in values.filter(|v| !v.is_nan()) {
        n += 1;
        sum += v;
    }
    (n, if n == 0 { f64::NAN } else { sum / n as f64 })
}

/// Mean alignments over each run's snapshots, per index (NaN values, e.g. at the final step
/// where no step is taken, are left out of each mean).
pub fn run_alignment(catalog: &Catalog) -> Vec<RunAlignmentRow> {
    let mut rows = Vec::new();
    for run in &catalog.runs {
        for index in 1..=run.k {
            let pairs = || {
                run.snapshots
                    .iter()
                    .flat_map(|s| s.pairs.iter().filter(|p| p.index == index))
            };
            let (snapshots, grad) = mean_of(pairs().map(|p| p.grad_alignment));
            let (_, update) = mean_of(pairs().map(|p| p.update_alignment));
            let (_, full) = mean_of(pairs().map(|p| p.full_grad_alignment));
            rows.push(RunAlignmentRow {
                run_key: run.run_key.clone(),
                dataset: run.dataset.clone(),
                optimizer: run.optimizer.clone(),
                seed: run.seed,
                index,
                snapshots,
                mean_grad_alignment: grad,
                mean_update_alignment: update,
                mean_full_grad_alignment: full,
            });
        }
    }
    rows
}

/// The rows of runs that did not diverge: the summaries over seeds leave diverged runs out
/// (their per-run rows stay in the per-run tables, where `runs.parquet` gives their status).
pub fn without_diverged(catalog: &Catalog, rows: &[RunAlignmentRow]) -> Vec<RunAlignmentRow> {
    rows.iter()
        .filter(|r| {
            !catalog
                .runs
                .iter()
                .any(|c| c.diverged && c.run_key == r.run_key)
        })
        .cloned()
        .collect()
}

/// The run means of [`run_alignment`] over seeds, per (dataset, optimiser, index): a
/// differential-dataflow reduce ([`group_stats`]).
pub fn alignment_summary(runs: &[RunAlignmentRow]) -> Vec<AlignmentSummaryRow> {
    let records = runs
        .iter()
        .map(|r| {
            (
                (r.dataset.clone(), r.optimizer.clone(), r.index),
                [r.mean_grad_alignment, r.mean_update_alignment],
            )
        })
        .collect();
    group_stats(records)
        .into_iter()
        .map(
            |((dataset, optimizer, index), runs, [grad, update])| AlignmentSummaryRow {
                dataset,
                optimizer,
                index,
                runs,
                grad_alignment_mean: grad.mean,
                grad_alignment_std: grad.std,
                update_alignment_mean: update.mean,
                update_alignment_std: update.std,
            },
        )
        .collect()
}

/// IPR and eigenvalue mean/min/max over the runs of each (dataset, optimiser, index, step):
/// a differential-dataflow reduce ([`group_stats`]); NaN values are left out.
pub fn spectrum_summary(catalog: &Catalog) -> Vec<SpectrumSummaryRow> {
    let mut records = Vec::new();
    // A diverged run's last snapshots are of a blown-up network: not part of a mean.
    for run in catalog.runs.iter().filter(|r| !r.diverged) {
        for s in &run.snapshots {
            for p in &s.pairs {
                records.push((
                    (run.dataset.clone(), run.optimizer.clone(), p.index, s.step),
                    [p.ipr, p.eigenvalue],
                ));
            }
        }
    }
    group_stats(records)
        .into_iter()
        .map(
            |((dataset, optimizer, index, step), runs, [ipr, eigenvalue])| SpectrumSummaryRow {
                dataset,
                optimizer,
                index,
                step,
                runs,
                ipr_mean: ipr.mean,
                ipr_min: ipr.min,
                ipr_max: ipr.max,
                eigenvalue_mean: eigenvalue.mean,
                eigenvalue_min: eigenvalue.min,
                eigenvalue_max: eigenvalue.max,
            },
        )
        .collect()
}

/// The baseline rows of one dataset from the moments of its jobs, merged in job order (so
/// the result does not depend on which worker computed what).
pub fn baseline_rows(
    catalog: &Catalog,
    dataset: usize,
    jobs: &[(Vec<Moments>, u64)],
) -> Vec<BaselineStatsRow> {
    let base = &catalog.baselines[dataset];
    let mut merged: BTreeMap<u32, Moments> = BTreeMap::new();
    let mut n = 0;
    for (moments, params) in jobs {
        n = *params;
        for m in moments {
            merged
                .entry(m.index)
                .or_insert_with(|| Moments::empty(m.index))
                .merge(m);
        }
    }
    merged
        .into_values()
        .filter(|m| m.count > 0)
        .map(|m| {
            let networks = base
                .networks
                .iter()
                .filter(|s| s.pairs.iter().any(|p| p.index == m.index))
                .count() as u64;
            BaselineStatsRow {
                dataset: base.dataset.clone(),
                index: m.index,
                networks,
                pairs: m.count,
                mean_abs_cos: m.mean,
                std_abs_cos: m.std(),
                tau: (2.0 - 2.0 * m.mean) / n as f64,
                parameters: n,
            }
        })
        .collect()
}
