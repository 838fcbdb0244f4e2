//! The Hessian's spectral density by stochastic Lanczos quadrature (`snapshots.density`), as
//! PyHessian draws it (Ghorbani, Krishnan & Xiao 2019, §3.2): each probe's Ritz nodes λ_i and
//! weights w_i broadened by a Gaussian, φ(λ) = mean over probes of Σ_i w_i 𝒩(λ; λ_i, σ²), on a
//! log density axis, at a few steps of training, one panel per optimiser.

use std::collections::BTreeMap;

use super::{Built, Context};
use crate::figure::{sequential_colors, Figure, Panel, Point, Scale, Series, Style};
use crate::ReportError;
use eigensweep_worker::output::{read_density_rows, DensityRow};

/// The density table's directory under a run's root.
const DENSITY_DIR: &str = "density";
/// Steps drawn per panel: the first and last density snapshots and log-spaced ones between.
const STEPS_DRAWN: usize = 4;
/// Points of the λ grid.
const GRID_POINTS: usize = 400;
/// σ as a fraction of the panel's node range (PyHessian's default σ² = 1e-5 of a spectrum
/// normalised to [−1, 1] gives σ ≈ 0.3 % of the range; a little wider reads better at the
/// 10–30 nodes per probe a sweep computes).
const SIGMA_FRACTION: f64 = 0.01;
/// Densities below this fraction of the panel's peak are drawn at it (a log axis has no 0;
/// PyHessian adds 1e-7 for the same reason).
const FLOOR_FRACTION: f64 = 1e-6;

/// Up to `count` of `steps` (sorted): the first, the last, and log-spaced ones between.
pub(crate) fn chosen_steps(steps: &[u64], count: usize) -> Vec<u64> {
    if steps.len() <= count {
        return steps.to_vec();
    }
    let (first, last) = (steps[0], steps[steps.len() - 1]);
    let mut chosen = vec![first];
    // Log-spaced from the first positive step (step 0 has no logarithm).
    let positive = steps.iter().copied().find(|&s| s > 0).unwrap_or(1);
    let lo = (positive as f64).ln();
    let hi = (last.max(1) as f64).ln();
    for i in 1..count - 1 {
        let target = (lo + (hi - lo) * i as f64 / (count - 1) as f64).exp();
        // The nearest step not chosen yet.
        if let Some(&s) = steps
            .iter()
            .filter(|s| !chosen.contains(s) && **s != last)
            .min_by(|a, b| {
                (**a as f64 - target)
                    .abs()
                    .total_cmp(&(**b as f64 - target).abs())
            })
        {
            chosen.push(s);
        }
    }
    chosen.push(last);
    chosen.sort_unstable();
    chosen.dedup();
    chosen
}

/// For each of `wanted`, the nearest of `steps` (sorted), without repeats, in order.
pub(crate) fn nearest_steps(steps: &[u64], wanted: &[u64]) -> Vec<u64> {
    let mut chosen: Vec<u64> = wanted
        .iter()
        .filter_map(|&w| steps.iter().copied().min_by_key(|&s| s.abs_diff(w)))
        .collect();
    chosen.sort_unstable();
    chosen.dedup();
    chosen
}

/// φ on `grid`: the mean over probes (`rows` of one step, any seeds) of the Gaussian-broadened
/// quadrature. Integrates to 1 where the grid covers the nodes' ±5σ.
pub(crate) fn broadened(rows: &[&DensityRow], grid: &[f64], sigma: f64) -> Vec<f64> {
    let probes: std::collections::BTreeSet<(&str, u64)> =
        rows.iter().map(|r| (r.run_key.as_str(), r.probe)).collect();
    let norm = 1.0 / ((2.0 * std::f64::consts::PI).sqrt() * sigma * probes.len().max(1) as f64);
    grid.iter()
        .map(|&x| {
            rows.iter()
                .map(|r| {
                    let z = (x - r.node) / sigma;
                    r.weight * (-0.5 * z * z).exp()
                })
                .sum::<f64>()
                * norm
        })
        .collect()
}

pub fn density(ctx: &Context<'_>, dataset: &str) -> Result<Built, ReportError> {
    let mut fig = Figure::new(
        format!("Hessian spectral density (SLQ) — {dataset}"),
        "eigenvalue λ",
        "density φ(λ)",
    );
    fig.y_scale = Scale::Log;
    // Free vertical axes: a density is per unit of λ, and optimisers' spectra differ in
    // width by orders of magnitude (Adam's λ are 10⁵ times smaller late in training), so
    // one range would flatten all but the narrowest.
    fig.shared_y = false;
    // Optional: a sweep known not to ask for the density has no figure to miss.
    let asked = ctx
        .inputs
        .sweep
        .as_ref()
        .map(|s| s.sweep.resolved().snapshots.density.is_some());
    if asked == Some(false) {
        return Ok(Built::NotAsked);
    }
    for optimizer in ctx.inputs.optimizers(dataset) {
        ctx.check_stop()?;
        // Rows of every usable seed, by step.
        let mut by_step: BTreeMap<u64, Vec<DensityRow>> = BTreeMap::new();
        let mut dropped = 0usize;
        for (_, run) in ctx.inputs.runs(dataset, &optimizer) {
            let dir = run.dirs.root.join(DENSITY_DIR);
            if !dir.exists() {
                continue;
            }
            let rows = read_density_rows(&dir)?;
            // A non-finite node or weight (a run about to diverge) would turn its whole
            // curve into NaN: such rows are left out, and the panel says how many.
            for row in rows {
                if row.node.is_finite() && row.weight.is_finite() {
                    by_step.entry(row.step).or_default().push(row);
                } else {
                    dropped += 1;
                }
            }
        }
        if by_step.is_empty() {
            continue;
        }
        let steps: Vec<u64> = by_step.keys().copied().collect();
        let drawn = if ctx.opts.density_steps.is_empty() {
            chosen_steps(&steps, STEPS_DRAWN)
        } else {
            nearest_steps(&steps, &ctx.opts.density_steps)
        };
        let nodes = drawn.iter().flat_map(|s| by_step[s].iter().map(|r| r.node));
        let (lo, hi) = nodes.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), x| {
            (lo.min(x), hi.max(x))
        });
        let sigma = (SIGMA_FRACTION * (hi - lo)).max(1e-12 * hi.abs().max(1.0));
        let (a, b) = (lo - 5.0 * sigma, hi + 5.0 * sigma);
        let grid: Vec<f64> = (0..GRID_POINTS)
            .map(|i| a + (b - a) * i as f64 / (GRID_POINTS - 1) as f64)
            .collect();
        let curves: Vec<(u64, Vec<f64>)> = drawn
            .iter()
            .map(|s| {
                let rows: Vec<&DensityRow> = by_step[s].iter().collect();
                (*s, broadened(&rows, &grid, sigma))
            })
            .collect();
        let peak = curves
            .iter()
            .flat_map(|(_, c)| c.iter().copied())
            .fold(0.0, f64::max);
        let mut panel = Panel::new(&optimizer);
        if dropped > 0 {
            panel
                .notes
                .push(format!("{dropped} non-finite quadrature node(s) left out"));
        }
        for ((step, curve), color) in curves.into_iter().zip(sequential_colors(drawn.len())) {
            let points = grid
                .iter()
                .zip(curve)
                .map(|(&x, y)| Point::new(x, y.max(FLOOR_FRACTION * peak)))
                .collect();
            panel.series.push(Series::new(
                format!("step {step}"),
                color,
                Style::Line,
                points,
            ));
        }
        fig.panels.push(panel);
    }
    if fig.is_empty() {
        return Ok(Built::Missing(
            "no density table: set snapshots.density (e.g. {probes: 4, steps: 30}) in the \
             sweep file and run it into a new output (the runs' keys change)"
                .into(),
        ));
    }
    Ok(Built::Figure(fig))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_are_first_last_and_log_spaced_between() {
        assert_eq!(chosen_steps(&[0, 5, 10], 4), [0, 5, 10]);
        let steps: Vec<u64> = (0..=100).map(|i| i * 100).collect();
        assert_eq!(chosen_steps(&steps, 4), [0, 500, 2200, 10000]);
        // Asked-for steps land on the nearest snapshot, once each.
        assert_eq!(
            nearest_steps(&steps, &[5000, 49, 51, 99999]),
            [0, 100, 5000, 10000]
        );
    }

    #[test]
    fn the_broadened_density_is_a_probability_density_with_the_nodes_moments() {
        let row = |probe, node, weight| DensityRow {
            run_key: "k".into(),
            step: 0,
            probe,
            node,
            weight,
        };
        let rows = [
            row(1, -1.0, 0.25),
            row(1, 2.0, 0.75),
            row(2, 0.5, 0.5),
            row(2, 3.0, 0.5),
        ];
        let refs: Vec<&DensityRow> = rows.iter().collect();
        let sigma = 0.05;
        let (a, b, n) = (-2.0, 4.0, 6001);
        let h = (b - a) / (n - 1) as f64;
        let grid: Vec<f64> = (0..n).map(|i| a + h * i as f64).collect();
        let phi = broadened(&refs, &grid, sigma);
        let integral: f64 = phi.iter().sum::<f64>() * h;
        let mean: f64 = phi.iter().zip(&grid).map(|(p, x)| p * x).sum::<f64>() * h;
        assert!((integral - 1.0).abs() < 1e-6, "{integral}");
        // The mean of the probes' quadratures: (0.25·−1 + 0.75·2 + 0.5·0.5 + 0.5·3)/2.
        assert!((mean - 1.5).abs() < 1e-6, "{mean}");
    }
}
