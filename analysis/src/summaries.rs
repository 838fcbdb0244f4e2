//! The whole-sweep tables built from the snapshot scalars alone (no vectors): alignment means
//! per run and over seeds, IPR and eigenvalue statistics over seeds per step, and the
//! baseline τ from the moments of the baseline jobs.

use std::collections::BTreeMap;

use crate::catalog::Catalog;
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

fn mean_std(values: &[f64]) -> (f64, f64) {
    let mut m = Moments::empty(0);
    values
        .iter()
        .filter(|v| !v.is_nan())
        .for_each(|&v| m.push(v));
    if m.count == 0 {
        (f64::NAN, f64::NAN)
    } else {
        (m.mean, m.std())
    }
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

/// The run means of [`run_alignment`] over seeds, per (dataset, optimiser, index).
pub fn alignment_summary(runs: &[RunAlignmentRow]) -> Vec<AlignmentSummaryRow> {
    let mut groups: BTreeMap<(&str, &str, u32), Vec<&RunAlignmentRow>> = BTreeMap::new();
    for r in runs {
        groups
            .entry((r.dataset.as_str(), r.optimizer.as_str(), r.index))
            .or_default()
            .push(r);
    }
    groups
        .into_iter()
        .map(|((dataset, optimizer, index), rs)| {
            let grad: Vec<f64> = rs.iter().map(|r| r.mean_grad_alignment).collect();
            let update: Vec<f64> = rs.iter().map(|r| r.mean_update_alignment).collect();
            let (grad_alignment_mean, grad_alignment_std) = mean_std(&grad);
            let (update_alignment_mean, update_alignment_std) = mean_std(&update);
            AlignmentSummaryRow {
                dataset: dataset.to_string(),
                optimizer: optimizer.to_string(),
                index,
                runs: rs.len() as u64,
                grad_alignment_mean,
                grad_alignment_std,
                update_alignment_mean,
                update_alignment_std,
            }
        })
        .collect()
}

/// IPR and eigenvalue mean/min/max over the runs of each (dataset, optimiser, index, step).
pub fn spectrum_summary(catalog: &Catalog) -> Vec<SpectrumSummaryRow> {
    // (dataset, optimizer, index, step) → (IPR, eigenvalue) of each run.
    type Key<'a> = (&'a str, &'a str, u32, u64);
    let mut groups: BTreeMap<Key<'_>, Vec<(f64, f64)>> = BTreeMap::new();
    for run in &catalog.runs {
        for s in &run.snapshots {
            for p in &s.pairs {
                groups
                    .entry((
                        run.dataset.as_str(),
                        run.optimizer.as_str(),
                        p.index,
                        s.step,
                    ))
                    .or_default()
                    .push((p.ipr, p.eigenvalue));
            }
        }
    }
    groups
        .into_iter()
        .map(|((dataset, optimizer, index, step), v)| {
            let n = v.len() as f64;
            let stats = |f: fn(&(f64, f64)) -> f64| {
                let xs = v.iter().map(f);
                (
                    xs.clone().sum::<f64>() / n,
                    xs.clone().fold(f64::INFINITY, f64::min),
                    xs.fold(f64::NEG_INFINITY, f64::max),
                )
            };
            let (ipr_mean, ipr_min, ipr_max) = stats(|x| x.0);
            let (eigenvalue_mean, eigenvalue_min, eigenvalue_max) = stats(|x| x.1);
            SpectrumSummaryRow {
                dataset: dataset.to_string(),
                optimizer: optimizer.to_string(),
                index,
                step,
                runs: v.len() as u64,
                ipr_mean,
                ipr_min,
                ipr_max,
                eigenvalue_mean,
                eigenvalue_min,
                eigenvalue_max,
            }
        })
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
