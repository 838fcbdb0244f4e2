//! Drawing a [`Figure`] with plotters, on any backend (SVG and bitmap share this code).

use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint, Ranged};
use plotters::coord::Shift;
use plotters::prelude::*;

use crate::figure::{Axes, Figure, LegendAt, Panel, Rgb, Scale, Style};
use crate::font::FAMILY;

/// Height of the figure title strip, in pixels.
pub const TITLE_HEIGHT: u32 = 34;

pub(crate) fn rgb(c: Rgb) -> RGBColor {
    RGBColor(c.0, c.1, c.2)
}

/// Draws `fig` on `root`: a title strip, then the panels side by side.
pub fn draw_figure<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    fig: &Figure,
) -> Result<(), String> {
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let (top, body) = root.split_vertically(TITLE_HEIGHT);
    top.titled(&fig.title, (FAMILY, 20).into_font().style(FontStyle::Bold))
        .map_err(|e| e.to_string())?;
    let n = fig.panels.len().max(1);
    let areas = body.split_evenly((1, n));
    let shared = (fig.shared_y && fig.y_range.is_none()).then(|| {
        range(
            fig.panels
                .iter()
                .filter(|p| p.axes.is_none())
                .flat_map(panel_ys),
            fig.y_scale,
        )
    });
    for (area, panel) in areas.iter().zip(&fig.panels) {
        draw_panel(area, fig, panel, shared)?;
    }
    Ok(())
}

/// Every vertical value a panel draws (points and band edges).
fn panel_ys(panel: &Panel) -> impl Iterator<Item = f64> + '_ {
    panel.series.iter().flat_map(|s| {
        s.points
            .iter()
            .flat_map(|p| [Some(p.y), p.lo, p.hi].into_iter().flatten())
    })
}

/// The data range of a panel on one axis; on a log axis only positive values count. A
/// degenerate range is widened so that a constant curve is still drawn in the middle.
fn range(values: impl Iterator<Item = f64>, scale: Scale) -> (f64, f64) {
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

fn draw_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    fig: &Figure,
    panel: &Panel,
    shared_y: Option<(f64, f64)>,
) -> Result<(), String> {
    let own = panel.axes.is_some();
    let axes = panel.axes.clone().unwrap_or_else(|| Axes {
        x_label: fig.x_label.clone(),
        y_label: fig.y_label.clone(),
        x_scale: fig.x_scale,
        y_scale: fig.y_scale,
        y_range: fig.y_range,
        integer_x: fig.integer_x,
    });
    let xs = panel
        .series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.x));
    let mut x = range(xs, axes.x_scale);
    if axes.integer_x {
        // Whole numbers with half a unit of room: a seed or an index sits on its tick.
        x = (x.0.round().min(x.0) - 0.5, x.1.round().max(x.1) + 0.5);
    }
    let y = match (axes.y_range, shared_y) {
        (Some(r), _) => r,
        (None, Some(r)) if !own => r,
        _ => range(panel_ys(panel), axes.y_scale),
    };
    // Log axes are drawn as linear axes over log10 of the values, with ticks labelled by
    // the values themselves: plotters' own log axes label only powers of ten, so a range
    // within one decade would get one label or none.
    let to = |scale: Scale| {
        move |v: f64| match scale {
            Scale::Linear => v,
            Scale::Log => v.log10(),
        }
    };
    let (fx, fy) = (to(axes.x_scale), to(axes.y_scale));
    draw_panel_in(
        area,
        &axes,
        fig.legend,
        panel,
        fx(x.0)..fx(x.1),
        fy(y.0)..fy(y.1),
    )
}

fn round_significant(v: f64) -> f64 {
    if v == 0.0 || !v.is_finite() {
        return v;
    }
    let scale = 10f64.powi(6 - v.abs().log10().floor() as i32);
    (v * scale).round() / scale
}

/// Short tick labels: plain numbers where they are short, scientific notation otherwise.
pub(crate) fn tick(v: f64) -> String {
    let a = v.abs();
    if v == 0.0 {
        "0".to_string()
    } else if (1e-3..1e5).contains(&a) {
        let digits = if a >= 100.0 {
            0
        } else if a >= 1.0 {
            2
        } else {
            4
        };
        let s = format!("{v:.digits$}");
        let s = if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s
        };
        s
    } else {
        let s = format!("{v:.1e}");
        s.replace(".0e", "e")
    }
}

/// A linear axis whose ticks are given ([`ticks`]). Plotters' `WithKeyPoints` does the same
/// but lends its inner axis' formatting, which for f64 axes cannot take a label formatter.
struct TickAxis {
    range: std::ops::Range<f64>,
    bold: Vec<f64>,
    light: Vec<f64>,
}

impl Ranged for TickAxis {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        let span = self.range.end - self.range.start;
        let f = (value - self.range.start) / span;
        limit.0 + (f * f64::from(limit.1 - limit.0)).round() as i32
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            self.light.clone()
        } else {
            self.bold.clone()
        }
    }

    fn range(&self) -> std::ops::Range<f64> {
        self.range.clone()
    }
}

/// A "nice" step (1, 2 or 5 × 10^k) near `raw`.
fn nice_step(raw: f64) -> f64 {
    let magnitude = 10f64.powf(raw.log10().floor());
    let m = raw / magnitude;
    let nice = if m < 1.5 {
        1.0
    } else if m < 3.5 {
        2.0
    } else if m < 7.5 {
        5.0
    } else {
        10.0
    };
    nice * magnitude
}

/// Multiples of `step` within [lo, hi].
fn multiples(lo: f64, hi: f64, step: f64) -> Vec<f64> {
    let first = (lo / step - 1e-9).ceil() as i64;
    let last = (hi / step + 1e-9).floor() as i64;
    (first..=last).map(|i| i as f64 * step).collect()
}

/// Ticks at whole numbers only (seeds, eigen-indices): steps of 1, 2, 5, 10, … and no light
/// ticks between them.
pub(crate) fn integer_ticks(lo: f64, hi: f64) -> (Vec<f64>, Vec<f64>) {
    let span = hi - lo;
    if !(span > 0.0 && span.is_finite()) {
        return (vec![lo.round()], Vec::new());
    }
    let step = nice_step(span / 6.0).max(1.0).round();
    (multiples(lo, hi, step), Vec::new())
}

/// Tick positions (bold, light) on an axis spanning [lo, hi] in drawing coordinates (log10
/// of the values on a log axis), at round values of the quantity itself: 1, 2, 5 × 10^k on
/// a log axis of a few decades, plain round numbers within one decade.
pub(crate) fn ticks(lo: f64, hi: f64, scale: Scale) -> (Vec<f64>, Vec<f64>) {
    ticks_with(lo, hi, scale, true)
}

/// [`ticks`], with `dense` = false for a horizontal axis, whose labels sit side by side: 1 and
/// 3 × 10^k would collide there beyond three decades.
pub(crate) fn ticks_with(lo: f64, hi: f64, scale: Scale, dense: bool) -> (Vec<f64>, Vec<f64>) {
    let span = hi - lo;
    if !(span > 0.0 && span.is_finite()) {
        return (vec![lo], Vec::new());
    }
    match scale {
        Scale::Linear => {
            let step = nice_step(span / 5.0);
            (multiples(lo, hi, step), multiples(lo, hi, step / 5.0))
        }
        Scale::Log if span < 0.6 => {
            let (a, b) = (10f64.powf(lo), 10f64.powf(hi));
            let step = nice_step((b - a) / 5.0);
            let log = |v: Vec<f64>| v.into_iter().filter(|&x| x > 0.0).map(f64::log10).collect();
            (log(multiples(a, b, step)), log(multiples(a, b, step / 5.0)))
        }
        Scale::Log => {
            let (k0, k1) = (lo.floor() as i32, hi.ceil() as i32);
            // Enough labelled ticks to read a value off the axis (the final loss of Fig. 4
            // spans four or five decades): 1, 2, 5 within three decades, 1 and 3 within six.
            let mantissas: &[f64] = if span <= 3.0 {
                &[1.0, 2.0, 5.0]
            } else if span <= 6.0 && dense {
                &[1.0, 3.0]
            } else {
                &[1.0]
            };
            let every = ((span / 7.0).ceil() as i32).max(1);
            let mut bold = Vec::new();
            let mut light = Vec::new();
            for k in k0..=k1 {
                for m in 1..10 {
                    let v = (f64::from(m) * 10f64.powi(k)).log10();
                    if v < lo || v > hi {
                        continue;
                    }
                    if mantissas.contains(&f64::from(m)) && (m != 1 || k % every == 0) {
                        bold.push(v);
                    } else if span <= 6.0 {
                        light.push(v);
                    }
                }
            }
            (bold, light)
        }
    }
}

fn draw_panel_in<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    axes: &Axes,
    legend_at: LegendAt,
    panel: &Panel,
    x: std::ops::Range<f64>,
    y: std::ops::Range<f64>,
) -> Result<(), String> {
    let err = |e: &dyn std::fmt::Display| e.to_string();
    let (xs, ys) = (axes.x_scale, axes.y_scale);
    let label = |scale: Scale| {
        move |v: &f64| match scale {
            Scale::Linear => tick(*v),
            // Round to the tick's own value: 10^log10(2) is 1.9999999999999996.
            Scale::Log => tick(round_significant(10f64.powf(*v))),
        }
    };
    let (x_label, y_label) = (label(xs), label(ys));
    let (x_bold, x_light) = if axes.integer_x && xs == Scale::Linear {
        integer_ticks(x.start, x.end)
    } else {
        ticks_with(x.start, x.end, xs, false)
    };
    let (y_bold, y_light) = ticks(y.start, y.end, ys);
    let mut chart = ChartBuilder::on(area)
        .caption(&panel.title, (FAMILY, 17))
        .margin(8)
        .margin_right(16)
        .x_label_area_size(42)
        .y_label_area_size(62)
        .build_cartesian_2d(
            TickAxis {
                range: x,
                bold: x_bold,
                light: x_light,
            },
            TickAxis {
                range: y,
                bold: y_bold,
                light: y_light,
            },
        )
        .map_err(|e| err(&e))?;
    chart
        .configure_mesh()
        .x_desc(&axes.x_label)
        .y_desc(&axes.y_label)
        .label_style((FAMILY, 12))
        .axis_desc_style((FAMILY, 14))
        .x_label_formatter(&x_label)
        .y_label_formatter(&y_label)
        .light_line_style(RGBColor(240, 240, 240))
        .bold_line_style(RGBColor(215, 215, 215))
        .draw()
        .map_err(|e| err(&e))?;

    let keep = |v: f64, scale: Scale| v.is_finite() && (scale == Scale::Linear || v > 0.0);
    let map = |v: f64, scale: Scale| match scale {
        Scale::Linear => v,
        Scale::Log => v.log10(),
    };
    let mut legend = false;
    // Everything drawn, in drawing coordinates, to keep the legend off the data.
    let mut drawn_points: Vec<(f64, f64)> = Vec::new();
    let mut legend_labels: Vec<&str> = Vec::new();
    for series in &panel.series {
        let color = rgb(series.color);
        // The band first, so that lines stay on top of it.
        let band: Vec<(f64, f64, f64)> = series
            .points
            .iter()
            .filter_map(|p| Some((p.x, p.lo?, p.hi?)))
            .filter(|&(x, lo, hi)| keep(x, xs) && keep(lo, ys) && keep(hi, ys))
            .map(|(x, lo, hi)| (map(x, xs), map(lo, ys), map(hi, ys)))
            .collect();
        if band.len() >= 2 && band.iter().any(|&(_, lo, hi)| hi > lo) {
            let outline: Vec<(f64, f64)> = band
                .iter()
                .map(|&(x, _, hi)| (x, hi))
                .chain(band.iter().rev().map(|&(x, lo, _)| (x, lo)))
                .collect();
            chart
                .draw_series(std::iter::once(Polygon::new(
                    outline,
                    color.mix(0.18).filled(),
                )))
                .map_err(|e| err(&e))?;
        }
        let pts: Vec<(f64, f64)> = series
            .points
            .iter()
            .filter(|p| keep(p.x, xs) && keep(p.y, ys))
            .map(|p| (map(p.x, xs), map(p.y, ys)))
            .collect();
        if pts.is_empty() {
            continue;
        }
        drawn_points.extend(&pts);
        if matches!(
            series.style,
            Style::Line | Style::Dashed | Style::LinePoints
        ) {
            // Segments cross corners their end points miss.
            for w in pts.windows(2) {
                for i in 1..8 {
                    let f = f64::from(i) / 8.0;
                    drawn_points.push((
                        w[0].0 + f * (w[1].0 - w[0].0),
                        w[0].1 + f * (w[1].1 - w[0].1),
                    ));
                }
            }
        }
        for &(x, lo, hi) in &band {
            drawn_points.extend([(x, lo), (x, hi)]);
        }
        // A curve of one point is invisible as a line: draw its marker.
        let style = match series.style {
            Style::Line | Style::Dashed if pts.len() == 1 => Style::Points,
            s => s,
        };
        let line_style = color.stroke_width(2);
        let drawn = match style {
            Style::Line => chart.draw_series(LineSeries::new(pts, line_style)),
            Style::Dashed => chart.draw_series(DashedLineSeries::new(pts, 7, 5, line_style)),
            Style::Points => chart.draw_series(
                pts.into_iter()
                    .map(|p| Circle::new(p, 4, color.mix(0.85).filled())),
            ),
            Style::LinePoints => {
                chart
                    .draw_series(LineSeries::new(pts.clone(), line_style))
                    .map_err(|e| err(&e))?;
                chart.draw_series(pts.into_iter().map(|p| Circle::new(p, 3, color.filled())))
            }
        }
        .map_err(|e| err(&e))?;
        if series.in_legend {
            legend = true;
            legend_labels.push(&series.label);
            let style = series.style;
            drawn
                .label(&series.label)
                .legend(move |(x, y)| match style {
                    Style::Points => Circle::new((x + 8, y), 4, color.filled()).into_dyn(),
                    // A legend entry is one element, so a dashed line shows as a short dash
                    // beside the solid lines' long one.
                    Style::Dashed => {
                        PathElement::new(vec![(x + 4, y), (x + 12, y)], color.stroke_width(2))
                            .into_dyn()
                    }
                    _ => PathElement::new(vec![(x, y), (x + 16, y)], color.stroke_width(2))
                        .into_dyn(),
                });
        }
    }
    if legend {
        let legend_at = legend_corner(
            &chart,
            &drawn_points,
            &legend_labels,
            legend_at,
            (!panel.notes.is_empty()).then_some(if panel.notes_right {
                LegendAt::LowerRight
            } else {
                LegendAt::LowerLeft
            }),
        );
        let position = match legend_at {
            LegendAt::UpperRight => SeriesLabelPosition::UpperRight,
            LegendAt::LowerRight => SeriesLabelPosition::LowerRight,
            LegendAt::UpperLeft => SeriesLabelPosition::UpperLeft,
            LegendAt::LowerLeft => SeriesLabelPosition::LowerLeft,
        };
        chart
            .configure_series_labels()
            .position(position)
            .label_font((FAMILY, 12))
            .background_style(WHITE.mix(0.6))
            .border_style(RGBColor(180, 180, 180))
            .draw()
            .map_err(|e| err(&e))?;
    }
    if !panel.notes.is_empty() || panel.is_empty() {
        let plot = chart.plotting_area();
        let (px, py) = plot.get_pixel_range();
        let base = area.get_base_pixel();
        let lines: Vec<&str> = if panel.is_empty() {
            vec!["no data"]
        } else {
            panel.notes.iter().map(String::as_str).collect()
        };
        // Notes go along the bottom of the plot, where legends are rarely placed; on the
        // right where the curves start low at the left (accuracy over a log step axis).
        let mut y0 = py.end - 6 - 16 * lines.len() as i32;
        for line in lines {
            let x0 = if panel.notes_right {
                px.end - 8 - 7 * line.chars().count() as i32
            } else {
                px.start + 8
            };
            area.draw(&Text::new(
                line.to_string(),
                (x0 - base.0, y0 - base.1),
                (FAMILY, 13).into_font(),
            ))
            .map_err(|e| err(&e))?;
            y0 += 16;
        }
    }
    Ok(())
}

/// The corner whose legend box (estimated from the labels' lengths) covers the fewest drawn
/// points; `preferred` unless another covers fewer. The corner where the notes are written
/// counts as covered.
fn legend_corner<DB: DrawingBackend>(
    chart: &ChartContext<'_, DB, Cartesian2d<TickAxis, TickAxis>>,
    points: &[(f64, f64)],
    labels: &[&str],
    preferred: LegendAt,
    notes: Option<LegendAt>,
) -> LegendAt {
    let (px, py) = chart.plotting_area().get_pixel_range();
    let chars = labels.iter().map(|l| l.chars().count()).max().unwrap_or(0) as i32;
    let (w, h) = (chars * 7 + 40, labels.len() as i32 * 17 + 12);
    if w >= px.end - px.start {
        // Wider than the plot: any corner overflows; keep the builder's choice.
        return preferred;
    }
    let pixels: Vec<(i32, i32)> = points.iter().map(|p| chart.backend_coord(p)).collect();
    let covered = |corner: LegendAt| {
        let (x0, y0) = match corner {
            LegendAt::UpperLeft => (px.start, py.start),
            LegendAt::UpperRight => (px.end - w, py.start),
            LegendAt::LowerLeft => (px.start, py.end - h),
            LegendAt::LowerRight => (px.end - w, py.end - h),
        };
        let inside = pixels
            .iter()
            .filter(|&&(x, y)| x >= x0 && x <= x0 + w && y >= y0 && y <= y0 + h)
            .count();
        inside + if notes == Some(corner) { 1_000_000 } else { 0 }
    };
    let best = [
        preferred,
        LegendAt::UpperRight,
        LegendAt::UpperLeft,
        LegendAt::LowerRight,
        LegendAt::LowerLeft,
    ]
    .into_iter()
    .min_by_key(|&c| covered(c))
    .unwrap_or(preferred);
    best
}

impl crate::render::Picture for Figure {
    fn draw_svg(&self, area: &DrawingArea<SVGBackend<'_>, Shift>) -> Result<(), String> {
        draw_figure(area, self)
    }
    fn draw_bitmap(&self, area: &DrawingArea<BitMapBackend<'_>, Shift>) -> Result<(), String> {
        draw_figure(area, self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_sit_at_round_values() {
        let (bold, _) = ticks(5f64.log10(), 40f64.log10(), Scale::Log);
        let values: Vec<String> = bold
            .iter()
            .map(|v| tick(round_significant(10f64.powf(*v))))
            .collect();
        assert_eq!(values, ["5", "10", "20"]);
        // Within six decades, 1 and 3 × 10^k on a vertical axis, so a value can be read off;
        // 1 × 10^k on a horizontal one, where labels sit side by side.
        let (bold, _) = ticks(-5.2, -0.5, Scale::Log);
        assert_eq!(bold.len(), 10); // 1e-5, 3e-5, … 1e-1, 3e-1
        let (bold, _) = ticks_with(-5.2, -0.5, Scale::Log, false);
        assert_eq!(bold.len(), 5); // 1e-5 … 1e-1
        let (bold, _) = ticks(-12.0, -0.5, Scale::Log);
        assert!(bold.len() <= 7, "{bold:?}");
        // Seeds and eigen-indices: whole numbers only.
        assert_eq!(integer_ticks(-0.5, 4.5).0, vec![0.0, 1.0, 2.0, 3.0, 4.0]);
        assert_eq!(integer_ticks(0.5, 3.5).0, vec![1.0, 2.0, 3.0]);
        assert!(integer_ticks(0.5, 15.5).0.iter().all(|v| v.fract() == 0.0));
        let (bold, _) = ticks(0.7f64.log10(), 1.0f64.log10(), Scale::Log);
        assert!(bold.len() >= 3, "{bold:?}");
        assert_eq!(
            ticks(0.0, 1.0, Scale::Linear).0,
            vec![0.0, 0.2, 0.4, 0.6000000000000001, 0.8, 1.0]
        );
        assert_eq!(tick(0.30000000000000004), "0.3");
    }
}
