//! The loss between the best minima, with their sharpness (Fig. 8), from `OUT/minima`.

use super::{Built, Context};
use crate::figure::{category_color, Axes, Figure, Panel, Point, Scale, Series, Style};
use crate::minima::{freshness, read_minima, Freshness};
use crate::ReportError;

pub fn minima(ctx: &Context<'_>, dataset: &str) -> Result<Built, ReportError> {
    let stale = match freshness(ctx.inputs)? {
        Freshness::Missing => {
            return Ok(Built::Missing(
                "no minima comparison yet: `eigensweep report OUT` computes it when the \
                 datasets can be loaded, or run `eigensweep minima OUT`"
                    .into(),
            ))
        }
        Freshness::Stale(why) if !ctx.opts.keep_stale_minima => {
            return Ok(Built::Missing(format!(
                "OUT/minima is stale, not drawn: {why}. `eigensweep report OUT` recomputes it \
                 when the datasets can be loaded, as does `eigensweep minima OUT`; \
                 --keep-stale-minima draws it anyway"
            )))
        }
        Freshness::Stale(why) => Some(why),
        Freshness::Current => None,
    };
    let Some((minima, curves)) = read_minima(&ctx.inputs.out)? else {
        return Ok(Built::Missing("run `eigensweep minima OUT` first".into()));
    };
    let minima: Vec<_> = minima
        .into_iter()
        .filter(|m| m.dataset == dataset)
        .collect();
    if minima.is_empty() {
        return Ok(Built::Missing(
            "OUT/minima has no row for this dataset: run `eigensweep minima OUT` again".into(),
        ));
    }
    let mut fig = Figure::new(
        format!("Best minima — {dataset}"),
        "α (θ = α θ_{A} + (1 − α) θ_{B})",
        "train+test loss",
    );
    fig.y_scale = Scale::Log;

    let mut lines = Panel::new("loss along the line between two minima");
    let mut pairs: Vec<(String, String)> = curves
        .iter()
        .filter(|c| c.dataset == dataset)
        .map(|c| (c.optimizer_a.clone(), c.optimizer_b.clone()))
        .collect();
    // Every (A, B) once, whatever the row order.
    let mut seen = std::collections::BTreeSet::new();
    pairs.retain(|p| seen.insert(p.clone()));
    for (n, (a, b)) in pairs.iter().enumerate() {
        let mut points: Vec<Point> = curves
            .iter()
            .filter(|c| c.dataset == dataset && &c.optimizer_a == a && &c.optimizer_b == b)
            .map(|c| Point::new(c.alpha, c.loss))
            .collect();
        points.sort_by(|p, q| p.x.total_cmp(&q.x));
        lines.series.push(Series::new(
            format!("A = {a}, B = {b}"),
            category_color(n),
            Style::Line,
            points,
        ));
    }

    // The sharpness panel: each minimum as a point (λ1, ε-sharpness), values printed too.
    let mut sharp = Panel::new("sharpness at each minimum");
    sharp.axes = Some(Axes {
        x_label: "λ_{1}".into(),
        y_label: format!("ε-sharpness (%, ε = {})", minima[0].epsilon),
        x_scale: Scale::Linear,
        y_scale: Scale::Linear,
        // From zero: sharpness is a ratio to nothing and to flat.
        y_range: Some((
            0.0,
            1.1 * minima
                .iter()
                .fold(0.0, |m: f64, r| m.max(r.sharpness))
                .max(1e-9),
        )),
        integer_x: false,
    });
    for (n, m) in minima.iter().enumerate() {
        sharp.series.push(Series::new(
            format!(
                "{} (seed {}): λ_{{1}} {}, ε-sharp. {} %, acc. {:.4}",
                m.optimizer,
                m.seed,
                crate::ticks::typeset(m.lambda1),
                crate::ticks::typeset(m.sharpness),
                m.test_accuracy
            ),
            category_color(n),
            Style::Points,
            vec![Point::new(m.lambda1, m.sharpness)],
        ));
    }
    if let Some(why) = stale {
        lines
            .notes
            .push(format!("STALE (kept by --keep-stale-minima): {why}"));
    }
    fig.panels = vec![lines, sharp];
    Ok(Built::Figure(fig))
}
