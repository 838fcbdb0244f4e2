//! Convergence of each eigenvector to the one the run ends with (Fig. 7).

use super::{why_no_pairs, Built, Context};
use crate::figure::{category_color, Figure, Panel, Point, Series, Style};
use crate::inputs::{mean_by, read_columns};
use crate::smoothing::{gaussian_smooth, Ends};
use crate::ReportError;

pub fn convergence(ctx: &Context<'_>, dataset: &str) -> Result<Built, ReportError> {
    let k = ctx.inputs.common_k();
    let sigma = ctx.opts.convergence_sigma;
    let mut fig = Figure::new(
        format!("Convergence to the final eigenvector, σ = {sigma} snapshots — {dataset}"),
        "step",
        "|v_{i}(t_{final})·v_{i}(t)|",
    );
    fig.y_range = Some((0.0, 1.02));
    for optimizer in ctx.inputs.optimizers(dataset) {
        let mut values = Vec::new();
        for (_, run) in ctx.inputs.runs(dataset, &optimizer) {
            ctx.check_stop()?;
            let cols = read_columns(
                &ctx.inputs.pair_table_dir("convergence", run),
                &["index", "step", "abs_cos"],
            )?;
            let rows = cols[0].iter().zip(&cols[1]).zip(&cols[2]);
            values.extend(rows.map(|((&i, &s), &v)| ((i as u32, s as u64), v)));
        }
        let means = mean_by(values.into_iter());
        let mut panel = Panel::new(&optimizer);
        for index in 1..=k {
            let (steps, ys): (Vec<f64>, Vec<f64>) = means
                .range((index, 0)..=(index, u64::MAX))
                .map(|(&(_, step), &(mean, _, _))| (step as f64, mean))
                .unzip();
            // The smoothing keeps the end values: at the final step the curve is 1.
            let points = steps
                .into_iter()
                .zip(gaussian_smooth(&ys, sigma, Ends::Keep))
                .zip(&ys)
                .map(|((x, y), &raw)| Point::smoothed(x, y, raw))
                .collect();
            panel.series.push(Series::new(
                format!("v_{{{index}}}"),
                category_color(index as usize - 1),
                Style::Line,
                points,
            ));
        }
        fig.panels.push(panel);
    }
    Ok(if fig.is_empty() {
        Built::Missing(why_no_pairs(ctx, dataset, false))
    } else {
        Built::Figure(fig)
    })
}
