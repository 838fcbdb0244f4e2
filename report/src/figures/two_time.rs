//! The two-time figures: a quantity of the pair (t_w, t_w + t) against the lag t, one curve
//! per waiting time t_w (Fig. 1/9 displacement, 10 weight displacement, 11 update alignment).

use std::collections::{BTreeMap, BTreeSet};

use eigensweep_analysis::tables::{BaselineStatsRow, BASELINE_FILE};

use super::{why_no_baseline, why_no_pairs, Built, Context};
use crate::figure::{sequential_colors, Figure, Panel, Point, Scale, Series, Style, REFERENCE_RED};
use crate::inputs::{mean_by, read_columns};
use crate::ReportError;

/// Picks up to `count` waiting times from the available `steps`, log-spaced: the first step
/// always, then the steps nearest to geometric targets up to the last, so that early
/// (collapse) and late (ageing) regimes are both shown.
pub fn pick_waiting_times(steps: &BTreeSet<u64>, count: usize) -> Vec<u64> {
    let all: Vec<u64> = steps.iter().copied().collect();
    if all.len() <= count {
        return all;
    }
    let mut picked = BTreeSet::from([all[0]]);
    let first = all.iter().copied().find(|&s| s > 0).unwrap_or(1).max(1) as f64;
    let last = *all.last().unwrap_or(&1) as f64;
    let targets = count.saturating_sub(1).max(1);
    for i in 0..targets {
        let f = if targets == 1 {
            1.0
        } else {
            i as f64 / (targets - 1) as f64
        };
        let target = first * (last / first).powf(f);
        // Nearest in log space.
        let nearest = all.iter().copied().filter(|&s| s > 0).min_by(|&a, &b| {
            let d = |s: u64| ((s as f64).ln() - target.ln()).abs();
            d(a).total_cmp(&d(b))
        });
        if let Some(s) = nearest {
            picked.insert(s);
        }
    }
    picked.into_iter().collect()
}

/// What differs between the two-time figures.
struct TwoTime {
    table: &'static str,
    value: &'static str,
    /// Only eigen-index 1 (tables with an `index` column).
    leading_index: bool,
    title: &'static str,
    y_label: &'static str,
    y_scale: Scale,
    /// Whether the table needs θ at every snapshot (`store_weights`).
    needs_theta: bool,
}

pub fn displacement(ctx: &Context<'_>, dataset: &str) -> Result<Built, ReportError> {
    let spec = TwoTime {
        table: "displacement",
        value: "delta",
        leading_index: true,
        title: "Two-time displacement of v_{1}",
        y_label: "Δ^{(1)}(t_{w}, t_{w} + t)",
        y_scale: Scale::Log,
        needs_theta: false,
    };
    let mut built = two_time(ctx, dataset, &spec)?;
    if let Built::Figure(fig) = &mut built {
        let tau = ctx
            .inputs
            .summary_table::<BaselineStatsRow>(BASELINE_FILE)?
            .unwrap_or_default()
            .into_iter()
            .find(|r| r.dataset == dataset && r.index == 1)
            .map(|r| r.tau);
        let absent = why_no_baseline(ctx, dataset);
        add_reference(fig, tau, "baseline τ", &absent);
    }
    Ok(built)
}

pub fn weight_displacement(ctx: &Context<'_>, dataset: &str) -> Result<Built, ReportError> {
    two_time(
        ctx,
        dataset,
        &TwoTime {
            table: "weight_displacement",
            value: "delta_w",
            leading_index: false,
            title: "Weight displacement Δ_{w}(t_{w}, t_{w} + t)",
            y_label: "Δ_{w}(t_{w}, t_{w} + t)",
            y_scale: Scale::Log,
            needs_theta: true,
        },
    )
}

pub fn update_alignment(ctx: &Context<'_>, dataset: &str) -> Result<Built, ReportError> {
    two_time(
        ctx,
        dataset,
        &TwoTime {
            table: "update_alignment_two_time",
            value: "alignment",
            leading_index: true,
            title: "Two-time update alignment",
            y_label: "|v_{1}(t_{w})·Δθ| / ‖Δθ‖",
            y_scale: Scale::Linear,
            needs_theta: true,
        },
    )
}

/// A horizontal dashed reference line across every panel (labelled in the legend once per
/// panel), or a note saying why it is absent.
pub(crate) fn add_reference(fig: &mut Figure, value: Option<f64>, label: &str, absent: &str) {
    for panel in &mut fig.panels {
        let xs = panel
            .series
            .iter()
            .flat_map(|s| s.points.iter().map(|p| p.x));
        let (lo, hi) = xs.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), x| {
            (a.min(x), b.max(x))
        });
        match value {
            Some(v) if lo.is_finite() => panel.series.push(Series::new(
                format!("{label} = {}", crate::ticks::typeset(v)),
                REFERENCE_RED,
                Style::Dashed,
                vec![Point::new(lo, v), Point::new(hi, v)],
            )),
            Some(_) => {}
            None => panel.notes.push(absent.to_string()),
        }
    }
}

fn two_time(ctx: &Context<'_>, dataset: &str, spec: &TwoTime) -> Result<Built, ReportError> {
    let mut fig = Figure::new(
        format!("{} — {dataset}", spec.title),
        "lag t (steps)",
        spec.y_label,
    );
    fig.x_scale = Scale::Log;
    fig.y_scale = spec.y_scale;
    let columns: &[&str] = if spec.leading_index {
        &["index", "step_w", "lag", spec.value]
    } else {
        &["step_w", "lag", spec.value]
    };
    let mut any = false;
    for optimizer in ctx.inputs.optimizers(dataset) {
        // (t_w, t) → values over seeds.
        let mut values: Vec<((u64, u64), f64)> = Vec::new();
        for (_, run) in ctx.inputs.runs(dataset, &optimizer) {
            ctx.check_stop()?;
            let cols = read_columns(&ctx.inputs.pair_table_dir(spec.table, run), columns)?;
            let (index, rest) = if spec.leading_index {
                (Some(&cols[0]), &cols[1..])
            } else {
                (None, &cols[..])
            };
            for i in 0..rest[0].len() {
                if index.is_some_and(|ix| ix[i] != 1.0) {
                    continue;
                }
                values.push(((rest[0][i] as u64, rest[1][i] as u64), rest[2][i]));
            }
        }
        let means = mean_by(values.into_iter());
        // Waiting times with at least three lags make curves; the last few t_w of a run
        // have one or two and would take a colour for a dot.
        let mut lags: BTreeMap<u64, usize> = BTreeMap::new();
        for &(w, _) in means.keys() {
            *lags.entry(w).or_default() += 1;
        }
        let mut waits: BTreeSet<u64> = lags
            .iter()
            .filter(|(_, &n)| n >= 3)
            .map(|(&w, _)| w)
            .collect();
        if waits.is_empty() {
            waits = lags.keys().copied().collect();
        }
        let chosen = pick_waiting_times(&waits, ctx.opts.waiting_times);
        let colors = sequential_colors(chosen.len());
        let mut curves: BTreeMap<u64, Vec<Point>> = BTreeMap::new();
        for (&(w, lag), &(mean, _, _)) in &means {
            if chosen.contains(&w) {
                curves
                    .entry(w)
                    .or_default()
                    .push(Point::new(lag as f64, mean));
            }
        }
        let mut panel = Panel::new(&optimizer);
        for (i, w) in chosen.iter().enumerate() {
            if let Some(points) = curves.remove(w) {
                any = true;
                panel.series.push(Series::new(
                    format!("t_{{w}} = {w}"),
                    colors[i],
                    Style::Line,
                    points,
                ));
            }
        }
        fig.panels.push(panel);
    }
    Ok(if any {
        Built::Figure(fig)
    } else {
        Built::Missing(why_no_pairs(ctx, dataset, spec.needs_theta))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waiting_times_are_log_spaced_and_include_the_first() {
        let steps: BTreeSet<u64> = (0..=1000).step_by(10).collect();
        let picked = pick_waiting_times(&steps, 5);
        assert_eq!(picked[0], 0);
        assert!(picked.contains(&10) && picked.contains(&1000), "{picked:?}");
        assert!(picked.len() <= 5);
        let few: BTreeSet<u64> = [0, 5].into();
        assert_eq!(pick_waiting_times(&few, 6), vec![0, 5]);
    }
}
