//! Per-snapshot spectral scalars over training: IPR of v1 (Fig. 3), the top eigenvalues
//! (Fig. 6) and the IPR of every index of the chosen seed (Fig. 15).

use eigensweep_analysis::tables::{SpectrumSummaryRow, SPECTRUM_SUMMARY_FILE};

use super::two_time::add_reference;
use super::{chosen_seed, Built, Context, NEEDS_ANALYSIS};
use crate::figure::{
    category_color, sequential_colors, Figure, LegendAt, Panel, Point, Scale, Series, Style,
};
use crate::ReportError;

fn summary_rows(ctx: &Context<'_>) -> Result<Option<Vec<SpectrumSummaryRow>>, ReportError> {
    ctx.inputs
        .summary_table::<SpectrumSummaryRow>(SPECTRUM_SUMMARY_FILE)
}

pub fn ipr(ctx: &Context<'_>, dataset: &str) -> Result<Built, ReportError> {
    let Some(rows) = summary_rows(ctx)? else {
        return Ok(Built::Missing(NEEDS_ANALYSIS.to_string()));
    };
    let mut fig = Figure::new(format!("IPR of v1 — {dataset}"), "step", "IPR(v1)");
    fig.y_scale = Scale::Log;
    fig.legend = LegendAt::LowerRight;
    for optimizer in ctx.inputs.optimizers(dataset) {
        let mut panel = Panel::new(&optimizer);
        let points = rows
            .iter()
            .filter(|r| r.dataset == dataset && r.optimizer == optimizer && r.index == 1)
            .map(|r| Point::banded(r.step as f64, r.ipr_mean, r.ipr_min, r.ipr_max))
            .collect();
        panel.series.push(Series::new(
            "mean, min–max over seeds",
            category_color(0),
            Style::Line,
            points,
        ));
        fig.panels.push(panel);
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
    let Some(rows) = summary_rows(ctx)? else {
        return Ok(Built::Missing(NEEDS_ANALYSIS.to_string()));
    };
    let k = ctx.inputs.common_k();
    let mut fig = Figure::new(format!("Top Hessian eigenvalues — {dataset}"), "step", "λi");
    fig.legend = LegendAt::LowerRight;
    for optimizer in ctx.inputs.optimizers(dataset) {
        let mut panel = Panel::new(&optimizer);
        for index in 1..=k {
            let points = rows
                .iter()
                .filter(|r| r.dataset == dataset && r.optimizer == optimizer && r.index == index)
                .map(|r| {
                    Point::banded(
                        r.step as f64,
                        r.eigenvalue_mean,
                        r.eigenvalue_min,
                        r.eigenvalue_max,
                    )
                })
                .collect();
            panel.series.push(Series::new(
                format!("λ{index}"),
                category_color(index as usize - 1),
                Style::Line,
                points,
            ));
        }
        fig.panels.push(panel);
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
        "IPR(vi)",
    );
    fig.y_scale = Scale::Log;
    fig.legend = LegendAt::LowerRight;
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
            for index in 1..=run.k {
                let points = run
                    .snapshots
                    .iter()
                    .filter_map(|s| {
                        let p = s.pairs.iter().find(|p| p.index == index)?;
                        Some(Point::new(s.step as f64, p.ipr))
                    })
                    .collect();
                let mut series = Series::new(
                    format!("v{index}"),
                    colors[index as usize - 1],
                    Style::Line,
                    points,
                );
                // Fifteen legend rows would hide the curves: first, middle and last suffice
                // with the colour order.
                series.in_legend = index == 1 || index == run.k || index as usize == k.div_ceil(2);
                panel.series.push(series);
            }
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
