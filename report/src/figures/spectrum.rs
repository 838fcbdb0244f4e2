//! Per-snapshot spectral scalars over training: IPR of v1 (Fig. 3), the top eigenvalues
//! (Fig. 6) and the IPR of every index of the chosen seed (Fig. 15).

use super::two_time::add_reference;
use super::{chosen_seed, Built, Context};
use crate::figure::{
    category_color, sequential_colors, Figure, Panel, Point, Scale, Series, Style,
};
use crate::inputs::mean_by;
use crate::ReportError;
use eigensweep_analysis::catalog::{PairMeta, RunEntry};

/// Which per-pair scalar a curve shows.
#[derive(Clone, Copy)]
enum PairValue {
    Ipr,
    Eigenvalue,
}

impl PairValue {
    fn of(self, p: &PairMeta) -> f64 {
        match self {
            PairValue::Ipr => p.ipr,
            PairValue::Eigenvalue => p.eigenvalue,
        }
    }
}

fn converged(ctx: &Context<'_>, run: &RunEntry, step: u64, index: u32) -> bool {
    ctx.inputs
        .state
        .converged(&run.dataset, &run.optimizer, run.seed, step, index)
}

/// Mean, min and max over the usable runs of one optimiser of a per-pair scalar of index
/// `index` at every snapshot step (the runs' own snapshots: no analysis needed), and the
/// steps where some pair of that index did not meet the tolerance.
fn over_seeds(
    ctx: &Context<'_>,
    dataset: &str,
    optimizer: &str,
    index: u32,
    value: PairValue,
) -> (Vec<Point>, Vec<Point>) {
    let runs = ctx.inputs.runs(dataset, optimizer);
    let values = runs.iter().flat_map(|(_, run)| {
        run.snapshots.iter().filter_map(move |s| {
            let p = s.pairs.iter().find(|p| p.index == index)?;
            Some((s.step, value.of(p)))
        })
    });
    let means = mean_by(values);
    let mut unconverged = Vec::new();
    for (_, run) in &runs {
        for s in &run.snapshots {
            if let Some(p) = s.pairs.iter().find(|p| p.index == index) {
                if !converged(ctx, run, s.step, index) {
                    unconverged.push(Point::new(s.step as f64, value.of(p)));
                }
            }
        }
    }
    let points = means
        .into_iter()
        .map(|(step, (mean, lo, hi))| Point::banded(step as f64, mean, lo, hi))
        .collect();
    (points, unconverged)
}

/// Open markers on the pairs that missed the tolerance (their values are drawn, and marked).
fn unconverged_series(points: Vec<Point>, in_legend: bool) -> Option<Series> {
    if points.is_empty() {
        return None;
    }
    let mut s = Series::new(
        "not converged (residual > tol·|λ|)",
        (200, 30, 30),
        Style::Points,
        points,
    );
    s.in_legend = in_legend;
    Some(s)
}

pub fn ipr(ctx: &Context<'_>, dataset: &str) -> Result<Built, ReportError> {
    let mut fig = Figure::new(format!("IPR of v_{{1}} — {dataset}"), "step", "IPR(v_{1})");
    fig.y_scale = Scale::Log;
    for optimizer in ctx.inputs.optimizers(dataset) {
        let mut panel = Panel::new(&optimizer);
        let (points, unconverged) = over_seeds(ctx, dataset, &optimizer, 1, PairValue::Ipr);
        panel.series.push(Series::new(
            "mean, min–max over seeds",
            category_color(0),
            Style::Line,
            points,
        ));
        panel.series.extend(unconverged_series(unconverged, true));
        fig.panels.push(panel);
    }
    if fig.is_empty() {
        return Ok(Built::Missing("no snapshots".into()));
    }
    let n = ctx.inputs.parameters(dataset).map(|n| 1.0 / n as f64);
    add_reference(
        &mut fig,
        n,
        "1/N",
        "1/N unknown: no runs table records the network and OUT/sweep.yaml does not give it",
    );
    Ok(Built::Figure(fig))
}

pub fn eigenvalues(ctx: &Context<'_>, dataset: &str) -> Result<Built, ReportError> {
    let k = ctx.inputs.common_k();
    let mut fig = Figure::new(
        format!("Top Hessian eigenvalues — {dataset}"),
        "step",
        "λ_{i}",
    );
    // Log scale: Adam's λ fall by five orders of magnitude, flat zero on a linear axis shared
    // with SGD's. Non-positive values are left out of the drawing (not of the CSV).
    fig.y_scale = Scale::Log;
    for optimizer in ctx.inputs.optimizers(dataset) {
        let mut panel = Panel::new(&optimizer);
        let mut missed = Vec::new();
        for index in 1..=k {
            let (points, unconverged) =
                over_seeds(ctx, dataset, &optimizer, index, PairValue::Eigenvalue);
            missed.extend(unconverged);
            panel.series.push(Series::new(
                format!("λ_{{{index}}}"),
                category_color(index as usize - 1),
                Style::Line,
                points,
            ));
        }
        panel.series.extend(unconverged_series(missed, true));
        fig.panels.push(panel);
    }
    if fig.is_empty() {
        return Ok(Built::Missing("no snapshots".into()));
    }
    Ok(Built::Figure(fig))
}

pub fn ipr_by_index(ctx: &Context<'_>, dataset: &str) -> Result<Built, ReportError> {
    let Some(seed) = chosen_seed(ctx, dataset) else {
        return Ok(Built::Missing("no runs".into()));
    };
    let mut fig = Figure::new(
        format!("IPR of every eigenvector, seed {seed} — {dataset}"),
        "step",
        "IPR(v_{i})",
    );
    fig.y_scale = Scale::Log;
    let mut most = 0;
    for optimizer in ctx.inputs.optimizers(dataset) {
        let mut panel = Panel::new(&optimizer);
        if let Some((_, run)) = ctx
            .inputs
            .runs(dataset, &optimizer)
            .into_iter()
            .find(|(_, r)| r.seed == seed)
        {
            let k = run.k as usize;
            most = most.max(k);
            let colors = sequential_colors(k);
            let mut missed = Vec::new();
            for index in 1..=run.k {
                let points = run
                    .snapshots
                    .iter()
                    .filter_map(|s| {
                        let p = s.pairs.iter().find(|p| p.index == index)?;
                        Some(Point::new(s.step as f64, p.ipr))
                    })
                    .collect();
                // Every index in the legend: it sits under the panels, where fifteen entries
                // take two rows and hide nothing.
                panel.series.push(Series::new(
                    format!("v_{{{index}}}"),
                    colors[index as usize - 1],
                    Style::Line,
                    points,
                ));
                missed.extend(run.snapshots.iter().filter_map(|s| {
                    let p = s.pairs.iter().find(|p| p.index == index)?;
                    (!converged(ctx, run, s.step, index)).then(|| Point::new(s.step as f64, p.ipr))
                }));
            }
            panel.series.extend(unconverged_series(missed, true));
        }
        fig.panels.push(panel);
    }
    if most < 2 {
        return Ok(Built::Missing(
            "fewer than two eigen-indices: set extra_eigen: [{seeds: [S], top_k: 15, tol: 0}] for the paper's top-15".into(),
        ));
    }
    Ok(Built::Figure(fig))
}
