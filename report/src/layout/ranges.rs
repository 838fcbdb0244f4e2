//! The ranges a panel's axes cover and the ticks that fit them.

use std::ops::Range;

use crate::figure::{Axes, Figure, Panel, Scale};
use crate::math_text;
use crate::ticks::{self, Ticks};

/// Every vertical value a panel draws (points and band edges).
fn panel_ys(panel: &Panel) -> impl Iterator<Item = f64> + '_ {
    panel.series.iter().flat_map(|s| {
        s.points
            .iter()
            .flat_map(|p| [Some(p.y), p.lo, p.hi].into_iter().flatten())
    })
}

/// The data range of values on one axis; on a log axis only positive values count. A
/// degenerate range is widened so that a constant curve is still drawn in the middle.
pub fn range(values: impl Iterator<Item = f64>, scale: Scale) -> (f64, f64) {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in values {
        if v.is_finite() && (scale == Scale::Linear || v > 0.0) {
            lo = lo.min(v);
            hi = hi.max(v);
        }
    }
    if !lo.is_finite() {
        return if scale == Scale::Log {
            (0.1, 10.0)
        } else {
            (0.0, 1.0)
        };
    }
    match scale {
        Scale::Log => {
            let (lo, hi) = if hi / lo < 1.5 {
                (lo / 1.5, hi * 1.5)
            } else {
                (lo, hi)
            };
            // A little room in log space.
            let pad = (hi / lo).powf(0.04);
            (lo / pad, hi * pad)
        }
        Scale::Linear => {
            let span = hi - lo;
            let pad = if span > 0.0 {
                0.05 * span
            } else {
                0.5 * lo.abs().max(1e-3)
            };
            (lo - pad, hi + pad)
        }
    }
}

/// `v` in drawing coordinates.
pub fn to_drawing(v: f64, scale: Scale) -> f64 {
    match scale {
        Scale::Linear => v,
        Scale::Log => v.log10(),
    }
}

/// Whether `v` can be drawn on an axis of `scale`.
pub fn drawable(v: f64, scale: Scale) -> bool {
    v.is_finite() && (scale == Scale::Linear || v > 0.0)
}

/// The axes a panel is drawn with: its own, or the figure's.
pub(super) fn axes_of(fig: &Figure, panel: &Panel) -> Axes {
    panel.axes.clone().unwrap_or_else(|| Axes {
        x_label: fig.x_label.clone(),
        y_label: fig.y_label.clone(),
        x_scale: fig.x_scale,
        y_scale: fig.y_scale,
        y_range: fig.y_range,
        integer_x: fig.integer_x,
    })
}

/// The vertical range of every panel, data coordinates: a fixed range where the axes give
/// one; with [`Figure::shared_y`], one range over all panels without axes of their own;
/// otherwise the panel's data.
pub fn y_ranges(fig: &Figure) -> Vec<(f64, f64)> {
    let shared = (fig.shared_y && fig.y_range.is_none()).then(|| {
        range(
            fig.panels
                .iter()
                .filter(|p| p.axes.is_none())
                .flat_map(panel_ys),
            fig.y_scale,
        )
    });
    fig.panels
        .iter()
        .map(|panel| {
            let axes = axes_of(fig, panel);
            match (axes.y_range, shared) {
                (Some(r), _) => r,
                (None, Some(r)) if panel.axes.is_none() => r,
                _ => range(panel_ys(panel), axes.y_scale),
            }
        })
        .collect()
}

/// Horizontal ticks that fit `width` pixels: as many as the labels allow without touching.
pub(super) fn fit_x_ticks(range: &Range<f64>, axes: &Axes, width: f64, em: f64) -> Ticks {
    let (lo, hi) = (range.start, range.end);
    let make = |max: usize| {
        if axes.integer_x && axes.x_scale == Scale::Linear {
            ticks::integer_ticks(lo, hi, max)
        } else {
            ticks::ticks(lo, hi, axes.x_scale, false, max)
        }
    };
    let fits = |t: &Ticks| {
        let mut previous_end = f64::NEG_INFINITY;
        for &v in &t.0 {
            let w = math_text::width(&ticks::axis_label(v, axes.x_scale), em, false);
            let centre = (v - lo) / (hi - lo) * width;
            if centre - w / 2.0 < previous_end + 0.6 * em {
                return false;
            }
            previous_end = centre + w / 2.0;
        }
        true
    };
    (2..=10)
        .rev()
        .map(make)
        .find(fits)
        .unwrap_or_else(|| make(2))
}

/// The horizontal range of a panel, drawing coordinates.
pub(super) fn x_range(panel: &Panel, axes: &Axes) -> Range<f64> {
    let xs = panel
        .series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.x));
    let mut x = range(xs, axes.x_scale);
    if axes.integer_x {
        // Whole numbers with half a unit of room: a seed or an index sits on its tick.
        x = (x.0.round().min(x.0) - 0.5, x.1.round().max(x.1) + 0.5);
    }
    to_drawing(x.0, axes.x_scale)..to_drawing(x.1, axes.x_scale)
}

/// The widest of the labels of `ticks` at `em`.
pub(super) fn widest(ticks: &[f64], scale: Scale, em: f64) -> f64 {
    ticks
        .iter()
        .map(|&v| math_text::width(&ticks::axis_label(v, scale), em, false))
        .fold(0.0, f64::max)
}
