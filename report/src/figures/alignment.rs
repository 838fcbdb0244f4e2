//! Gradient and update alignment: run means (Fig. 2/13), raw values over training (Fig. 12)
//! and means by eigen-index for the chosen seed (Fig. 14).

use eigensweep_analysis::tables::{RunAlignmentRow, RUN_ALIGNMENT_FILE};

use super::{chosen_seed, why_no_pairs, Built, Context, NEEDS_ANALYSIS};
use crate::figure::{category_color, Figure, Panel, Point, Series, Style};
use crate::smoothing::{gaussian_smooth, Ends};
use crate::ReportError;

const GREY: (u8, u8, u8) = (150, 150, 150);

/// The colour halfway to white (individual runs beside their mean).
fn lighter((r, g, b): (u8, u8, u8)) -> (u8, u8, u8) {
    let mix = |c: u8| ((c as u16 + 255) / 2) as u8;
    (mix(r), mix(g), mix(b))
}

pub fn mean_alignment(ctx: &Context<'_>, dataset: &str) -> Result<Built, ReportError> {
    let Some(rows) = ctx
        .inputs
        .summary_table::<RunAlignmentRow>(RUN_ALIGNMENT_FILE)?
    else {
        return Ok(Built::Missing(NEEDS_ANALYSIS.to_string()));
    };
    let k = ctx.inputs.common_k();
    let mut fig = Figure::new(
        format!("Mean alignment over training: seed means (Fig. 2) and runs (Fig. 13) — {dataset}"),
        "mean |cos(v_{i}, gradient)|",
        "mean |cos(v_{i}, update)|",
    );
    let mut hi: f64 = 0.0;
    for optimizer in ctx.inputs.optimizers(dataset) {
        let mut panel = Panel::new(&optimizer);
        for index in 1..=k {
            let points: Vec<Point> = rows
                .iter()
                .filter(|r| r.dataset == dataset && r.optimizer == optimizer && r.index == index)
                .filter(|r| ctx.inputs.usable_seed(dataset, &optimizer, r.seed))
                .map(|r| Point::new(r.mean_grad_alignment, r.mean_update_alignment))
                .collect();
            hi = points.iter().fold(hi, |h, p| h.max(p.x).max(p.y));
            // Figure 2: the mean over seeds (with the min–max of the runs' update alignment
            // as its band); Figure 13: every run, in a lighter shade.
            let n = points.len() as f64;
            if n > 0.0 {
                let mean_x = points.iter().map(|p| p.x).sum::<f64>() / n;
                let mean_y = points.iter().map(|p| p.y).sum::<f64>() / n;
                let lo = points.iter().map(|p| p.y).fold(f64::INFINITY, f64::min);
                let top = points.iter().map(|p| p.y).fold(f64::NEG_INFINITY, f64::max);
                panel.series.push(Series::new(
                    format!("v_{{{index}}}, mean over seeds"),
                    category_color(index as usize - 1),
                    Style::LinePoints,
                    vec![Point::banded(mean_x, mean_y, lo, top)],
                ));
            }
            panel.series.push(Series::new(
                format!("v_{{{index}}}, each run"),
                lighter(category_color(index as usize - 1)),
                Style::Points,
                points,
            ));
        }
        fig.panels.push(panel);
    }
    if fig.is_empty() {
        return Ok(Built::Missing(why_no_pairs(ctx, dataset, false)));
    }
    // The diagonal (update = gradient) over the common range, so SGD's points on it and
    // Adam's below it read at a glance.
    let top = (hi * 1.05).max(1e-3);
    for panel in &mut fig.panels {
        let mut diagonal = Series::new(
            "update = gradient",
            GREY,
            Style::Dashed,
            vec![Point::new(0.0, 0.0), Point::new(top, top)],
        );
        diagonal.in_legend = true;
        panel.series.insert(0, diagonal);
    }
    Ok(Built::Figure(fig))
}

pub fn raw_alignment(ctx: &Context<'_>, dataset: &str) -> Result<Built, ReportError> {
    let Some(seed) = chosen_seed(ctx, dataset) else {
        return Ok(Built::Missing("no runs".into()));
    };
    let k = ctx.inputs.common_k();
    let sigma = ctx.opts.alignment_sigma;
    let mut fig = Figure::new(
        format!("Raw alignment, seed {seed}, σ = {sigma} snapshots — {dataset}"),
        "step",
        "|cos| with v_{i}",
    );
    for optimizer in ctx.inputs.optimizers(dataset) {
        let mut panel = Panel::new(&optimizer);
        if let Some((_, run)) = ctx
            .inputs
            .runs(dataset, &optimizer)
            .into_iter()
            .find(|(_, r)| r.seed == seed)
        {
            for index in 1..=k {
                let mut steps = Vec::new();
                let (mut grad, mut update) = (Vec::new(), Vec::new());
                for s in &run.snapshots {
                    if let Some(p) = s.pairs.iter().find(|p| p.index == index) {
                        // The final snapshot takes no step: its alignments are NaN.
                        if p.grad_alignment.is_nan() && p.update_alignment.is_nan() {
                            continue;
                        }
                        steps.push(s.step as f64);
                        grad.push(p.grad_alignment);
                        update.push(p.update_alignment);
                    }
                }
                let color = category_color(index as usize - 1);
                let curve = |values: Vec<f64>| {
                    steps
                        .iter()
                        // Each value is one mini-batch's: the ends are as noisy as the
                        // rest, so they are averaged, not kept.
                        .zip(gaussian_smooth(&values, sigma, Ends::Average))
                        .zip(&values)
                        .map(|((&x, y), &raw)| Point::smoothed(x, y, raw))
                        .collect::<Vec<_>>()
                };
                panel.series.push(Series::new(
                    format!("gradient, v_{{{index}}}"),
                    color,
                    Style::Line,
                    curve(grad),
                ));
                panel.series.push(Series::new(
                    format!("update, v_{{{index}}}"),
                    color,
                    Style::Dashed,
                    curve(update),
                ));
            }
        }
        fig.panels.push(panel);
    }
    Ok(if fig.is_empty() {
        Built::Missing(format!("no snapshots with alignments for seed {seed}"))
    } else {
        Built::Figure(fig)
    })
}

pub fn alignment_by_index(ctx: &Context<'_>, dataset: &str) -> Result<Built, ReportError> {
    let Some(rows) = ctx
        .inputs
        .summary_table::<RunAlignmentRow>(RUN_ALIGNMENT_FILE)?
    else {
        return Ok(Built::Missing(NEEDS_ANALYSIS.to_string()));
    };
    let Some(seed) = chosen_seed(ctx, dataset) else {
        return Ok(Built::Missing("no runs".into()));
    };
    let mut fig = Figure::new(
        format!("Mean alignment by eigen-index, seed {seed} — {dataset}"),
        "eigen-index i",
        "mean |cos(v_{i}, ·)|",
    );
    fig.integer_x = true;
    let mut most = 0;
    for optimizer in ctx.inputs.optimizers(dataset) {
        let mut mine: Vec<&RunAlignmentRow> = rows
            .iter()
            .filter(|r| r.dataset == dataset && r.optimizer == optimizer && r.seed == seed)
            .collect();
        mine.sort_by_key(|r| r.index);
        most = most.max(mine.len());
        let mut panel = Panel::new(&optimizer);
        panel.series.push(Series::new(
            "gradient",
            category_color(0),
            Style::LinePoints,
            mine.iter()
                .map(|r| Point::new(f64::from(r.index), r.mean_grad_alignment))
                .collect(),
        ));
        panel.series.push(Series::new(
            "update",
            category_color(1),
            Style::LinePoints,
            mine.iter()
                .map(|r| Point::new(f64::from(r.index), r.mean_update_alignment))
                .collect(),
        ));
        fig.panels.push(panel);
    }
    if most < 2 {
        return Ok(Built::Missing(
            "fewer than two eigen-indices: set extra_eigen: [{seeds: [S], top_k: 15, tol: 0}] for the paper's top-15".into(),
        ));
    }
    Ok(Built::Figure(fig))
}
