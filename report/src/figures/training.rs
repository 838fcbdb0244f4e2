//! Training curves from the metrics table: loss (Fig. 4) and test accuracy (Fig. 5).

use super::{Built, Context};
use crate::figure::{category_color, Axes, Figure, Panel, Point, Scale, Series, Style};
use crate::inputs::mean_by;
use crate::ReportError;

pub fn loss(ctx: &Context<'_>, dataset: &str) -> Result<Built, ReportError> {
    let mut fig = Figure::new(
        format!("Training loss — {dataset}"),
        "step",
        "training loss",
    );
    fig.y_scale = Scale::Log;
    for optimizer in ctx.inputs.optimizers(dataset) {
        let runs = ctx.inputs.runs(dataset, &optimizer);
        // Full-batch loss where every run was evaluated at least twice; otherwise the
        // mini-batch loss, which every logged step has.
        let full = runs.iter().all(|&(i, _)| {
            ctx.inputs.metrics[i]
                .iter()
                .filter(|m| m.train_loss.is_some())
                .count()
                >= 2
        });
        let values = runs.iter().flat_map(|&(i, _)| {
            ctx.inputs.metrics[i].iter().filter_map(move |m| {
                let v = if full { m.train_loss } else { m.batch_loss };
                Some((m.step, v?))
            })
        });
        let points: Vec<Point> = mean_by(values)
            .into_iter()
            .map(|(step, (mean, lo, hi))| Point::banded(step as f64, mean, lo, hi))
            .collect();
        let label = if full {
            "full training set: mean, min–max"
        } else {
            "mini-batch: mean, min–max"
        };
        let mut panel = Panel::new(&optimizer);
        // The final value in figures: a log axis cannot be read to three digits.
        if let Some(last) = points.last() {
            panel.notes.push(format!(
                "final (step {}): {} (min–max {} – {})",
                last.x,
                crate::ticks::typeset(last.y),
                crate::ticks::typeset(last.lo.unwrap_or(last.y)),
                crate::ticks::typeset(last.hi.unwrap_or(last.y))
            ));
        }
        panel
            .series
            .push(Series::new(label, category_color(0), Style::Line, points));
        fig.panels.push(panel);
    }
    Ok(if fig.is_empty() {
        Built::Missing("no metrics rows".into())
    } else {
        Built::Figure(fig)
    })
}

pub fn accuracy(ctx: &Context<'_>, dataset: &str) -> Result<Built, ReportError> {
    let mut fig = Figure::new(
        format!("Test accuracy — {dataset}"),
        "step (log axis)",
        "test accuracy",
    );
    // A log step axis: the curves rise within the first thousand steps and then creep up;
    // on a linear axis the whole rise is one vertical line at zero.
    fig.x_scale = Scale::Log;
    // The paper's Figure 5: the final test accuracy of every seed, one colour per optimiser,
    // in one panel so that optimisers compare on one axis; the curves follow per optimiser.
    let mut finals_panel = Panel::new("final test accuracy per seed");
    finals_panel.axes = Some(Axes {
        x_label: "seed".into(),
        y_label: "final test accuracy".into(),
        x_scale: Scale::Linear,
        y_scale: Scale::Linear,
        y_range: None,
        integer_x: true,
    });
    for (n, optimizer) in ctx.inputs.optimizers(dataset).into_iter().enumerate() {
        let points: Vec<Point> = ctx
            .inputs
            .runs(dataset, &optimizer)
            .into_iter()
            .filter_map(|(i, run)| {
                let last = ctx.inputs.metrics[i]
                    .iter()
                    .filter(|m| m.test_accuracy.is_some())
                    .max_by_key(|m| m.step)?;
                Some(Point::new(run.seed as f64, last.test_accuracy?))
            })
            .collect();
        if !points.is_empty() {
            finals_panel.series.push(Series::new(
                optimizer.clone(),
                category_color(n),
                Style::Points,
                points,
            ));
        }
    }
    if !finals_panel.series.is_empty() {
        fig.panels.push(finals_panel);
    }
    for optimizer in ctx.inputs.optimizers(dataset) {
        let mut panel = Panel::new(&optimizer);
        let mut finals = Vec::new();
        for (n, (i, run)) in ctx.inputs.runs(dataset, &optimizer).into_iter().enumerate() {
            let points: Vec<Point> = ctx.inputs.metrics[i]
                .iter()
                .filter_map(|m| Some(Point::new(m.step as f64, m.test_accuracy?)))
                .collect();
            if let Some(last) = points.last() {
                finals.push(format!("seed {} {:.4}", run.seed, last.y));
            }
            panel.series.push(Series::new(
                format!("seed {}", run.seed),
                category_color(n),
                Style::LinePoints,
                points,
            ));
        }
        if !finals.is_empty() {
            panel.notes.push(format!("final: {}", finals.join(", ")));
        }
        fig.panels.push(panel);
    }
    Ok(if fig.is_empty() {
        Built::Missing("no evaluations: set training.eval".into())
    } else {
        Built::Figure(fig)
    })
}
