//! The data of a figure, separate from how it is drawn: panels of series of points, with
//! optional min–max bands and reference lines. Every figure builder fills one of these, and
//! the same value is both drawn ([`crate::draw`]) and written as CSV ([`Figure::to_csv`]), so
//! the CSV beside a picture holds exactly what it shows (and, for smoothed curves, the values
//! before smoothing).
//!
//! Titles, axis labels and legend labels may mark subscripts and superscripts as `t_{w}` and
//! `λ^{(1)}` ([`crate::math_text`]); the CSV gets them as plain text (`t_w`).

use std::fmt::Write as _;

use crate::math_text::plain;

/// An RGB colour.
pub type Rgb = (u8, u8, u8);

/// How an axis maps values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scale {
    /// Linear.
    Linear,
    /// Logarithmic (values ≤ 0 are left out of the drawing, not of the CSV).
    Log,
}

/// How a series is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// A solid line.
    Line,
    /// A dashed line (reference values such as the baseline τ or 1/N).
    Dashed,
    /// Markers only (one value per run).
    Points,
    /// A line with markers.
    LinePoints,
}

/// One plotted value, with an optional band (min–max over seeds) around it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    /// Horizontal value.
    pub x: f64,
    /// Vertical value, as drawn.
    pub y: f64,
    /// The value before smoothing, for a smoothed curve (the CSV's `y_raw`).
    pub raw: Option<f64>,
    /// Lower edge of the band.
    pub lo: Option<f64>,
    /// Upper edge of the band.
    pub hi: Option<f64>,
}

impl Point {
    /// A point without band.
    pub fn new(x: f64, y: f64) -> Self {
        Self {
            x,
            y,
            raw: None,
            lo: None,
            hi: None,
        }
    }

    /// A point of a smoothed curve: drawn at `smoothed`, `raw` kept for the CSV.
    pub fn smoothed(x: f64, smoothed: f64, raw: f64) -> Self {
        Self {
            raw: Some(raw),
            ..Self::new(x, smoothed)
        }
    }

    /// A point with a band [lo, hi].
    pub fn banded(x: f64, y: f64, lo: f64, hi: f64) -> Self {
        Self {
            lo: Some(lo),
            hi: Some(hi),
            ..Self::new(x, y)
        }
    }
}

/// A labelled curve or point set.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Legend label (and the `series` column of the CSV).
    pub label: String,
    /// Colour.
    pub color: Rgb,
    /// Line, dashed line or markers.
    pub style: Style,
    /// Whether the label goes into the legend (reference lines of the same kind in every
    /// panel are labelled once).
    pub in_legend: bool,
    /// The values, in drawing order.
    pub points: Vec<Point>,
}

impl Series {
    /// A series drawn in `style`, shown in the legend.
    pub fn new(label: impl Into<String>, color: Rgb, style: Style, points: Vec<Point>) -> Self {
        Self {
            label: label.into(),
            color,
            style,
            in_legend: true,
            points,
        }
    }
}

/// One panel: an optimiser (or a dataset) with its series.
#[derive(Debug, Clone, PartialEq)]
pub struct Panel {
    /// Panel title.
    pub title: String,
    /// The curves.
    pub series: Vec<Series>,
    /// Text printed under the panel (e.g. final accuracies), each note wrapped to the
    /// panel's width.
    pub notes: Vec<String>,
    /// Axes of their own, for a panel that shows another quantity than its neighbours.
    pub axes: Option<Axes>,
    /// Which of the panel's runs are left out or unfinished, when not all are done
    /// ([`crate::state::SweepState::coverage`]); the `note` column of the CSV.
    pub coverage: Option<String>,
}

/// Labels and scales of a panel's axes.
#[derive(Debug, Clone, PartialEq)]
pub struct Axes {
    /// Horizontal axis label.
    pub x_label: String,
    /// Vertical axis label.
    pub y_label: String,
    /// Horizontal scale.
    pub x_scale: Scale,
    /// Vertical scale.
    pub y_scale: Scale,
    /// Fixed vertical range (a natural zero).
    pub y_range: Option<(f64, f64)>,
    /// Ticks only at whole numbers on the horizontal axis (seeds, eigen-indices).
    pub integer_x: bool,
}

impl Panel {
    /// An empty panel.
    pub fn new(title: impl Into<String>) -> Self {
        Self {
            title: title.into(),
            series: Vec::new(),
            notes: Vec::new(),
            axes: None,
            coverage: None,
        }
    }

    /// Whether nothing would be drawn.
    pub fn is_empty(&self) -> bool {
        self.series.iter().all(|s| s.points.is_empty())
    }
}

/// A figure of one dataset: one panel per optimiser, shared axis labels and scales.
#[derive(Debug, Clone, PartialEq)]
pub struct Figure {
    /// Title drawn above the panels.
    pub title: String,
    /// Horizontal axis label.
    pub x_label: String,
    /// Vertical axis label.
    pub y_label: String,
    /// Horizontal scale.
    pub x_scale: Scale,
    /// Vertical scale.
    pub y_scale: Scale,
    /// Fixed vertical range, where the quantity has natural bounds (alignments in [0, 1]).
    pub y_range: Option<(f64, f64)>,
    /// Whether the panels without axes of their own compare optimisers on one quantity:
    /// they then share one vertical range ([`crate::YAxes::Shared`], the default), so that
    /// a tenfold difference between optimisers shows as one.
    pub shared_y: bool,
    /// Ticks only at whole numbers on the horizontal axis.
    pub integer_x: bool,
    /// The panels, left to right.
    pub panels: Vec<Panel>,
}

impl Figure {
    /// A figure with linear axes and no panels yet.
    pub fn new(title: impl Into<String>, x_label: &str, y_label: &str) -> Self {
        Self {
            title: title.into(),
            x_label: x_label.to_string(),
            y_label: y_label.to_string(),
            x_scale: Scale::Linear,
            y_scale: Scale::Linear,
            y_range: None,
            shared_y: true,
            integer_x: false,
            panels: Vec::new(),
        }
    }

    /// Whether no panel has anything to draw.
    pub fn is_empty(&self) -> bool {
        self.panels.iter().all(Panel::is_empty)
    }

    /// The plotted values in long form: `panel,series,x,y,lo,hi,note,y_raw`: `y` as drawn,
    /// empty `lo`/`hi` without a band; `note` says which of the panel's runs are left out or
    /// unfinished, empty when all are done; `y_raw` the value before smoothing, empty where
    /// the curve is not smoothed (last, so that the columns before it keep their places). Values are written with Rust's shortest
    /// round-trip formatting, so reading the CSV back gives the same f64 values; labels as
    /// plain text ([`crate::math_text::plain`]).
    pub fn to_csv(&self) -> String {
        let mut csv = String::from("panel,series,x,y,lo,hi,note,y_raw\n");
        for panel in &self.panels {
            let note = csv_field(panel.coverage.as_deref().unwrap_or(""));
            let title = csv_field(&plain(&panel.title));
            for series in &panel.series {
                let label = csv_field(&plain(&series.label));
                for p in &series.points {
                    let opt = |v: Option<f64>| v.map(|v| v.to_string()).unwrap_or_default();
                    let _ = writeln!(
                        csv,
                        "{title},{label},{},{},{},{},{note},{}",
                        p.x,
                        p.y,
                        opt(p.lo),
                        opt(p.hi),
                        opt(p.raw)
                    );
                }
            }
        }
        csv
    }
}

/// Quotes a CSV field when it holds a comma, quote or line break.
pub fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

/// `count` colours along the viridis map (dark blue → yellow), for ordered families such as
/// waiting times t_w: early is dark, late is bright, so order is visible without the legend.
pub fn sequential_colors(count: usize) -> Vec<Rgb> {
    // Viridis anchors at 0, 1/6, …, 1; interpolated linearly. The last anchor is a darker
    // yellow than viridis' own end, which is hard to see on white.
    const ANCHORS: [Rgb; 7] = [
        (68, 1, 84),
        (68, 57, 131),
        (49, 104, 142),
        (33, 145, 140),
        (53, 183, 121),
        (144, 215, 67),
        (222, 200, 20),
    ];
    (0..count)
        .map(|i| {
            let t = if count <= 1 {
                0.0
            } else {
                i as f64 / (count - 1) as f64
            };
            let pos = t * (ANCHORS.len() - 1) as f64;
            let k = (pos.floor() as usize).min(ANCHORS.len() - 2);
            let f = pos - k as f64;
            let (a, b) = (ANCHORS[k], ANCHORS[k + 1]);
            let mix = |x: u8, y: u8| (x as f64 + f * (y as f64 - x as f64)).round() as u8;
            (mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
        })
        .collect()
}

/// Distinct colours for unordered categories (eigen-indices, seeds, optimiser pairs): the
/// Tableau-10 palette, cycled.
pub fn category_color(i: usize) -> Rgb {
    const TABLEAU: [Rgb; 10] = [
        (31, 119, 180),
        (255, 127, 14),
        (44, 160, 44),
        (214, 39, 40),
        (148, 103, 189),
        (140, 86, 75),
        (227, 119, 194),
        (127, 127, 127),
        (188, 189, 34),
        (23, 190, 207),
    ];
    TABLEAU[i % TABLEAU.len()]
}

/// The red of reference lines (baseline τ, 1/N), as in the paper.
pub const REFERENCE_RED: Rgb = (200, 0, 0);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_round_trips_values_and_quotes_labels() {
        let mut fig = Figure::new("t", "x", "y");
        let mut panel = Panel::new("adam, lr 1e-3");
        panel.series.push(Series::new(
            "v_{1}",
            (0, 0, 0),
            Style::Line,
            vec![
                Point::new(1.0, 0.1 + 0.2),
                Point::banded(2.0, 3.0, 1.0, 4.5),
                Point::smoothed(3.0, 0.75, 1.0),
            ],
        ));
        panel.coverage = Some("adam: left out: seed 3 (diverged at step 4)".into());
        fig.panels.push(panel);
        let csv = fig.to_csv();
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines[0], "panel,series,x,y,lo,hi,note,y_raw");
        assert_eq!(
            lines[1],
            "\"adam, lr 1e-3\",v_1,1,0.30000000000000004,,,adam: left out: seed 3 (diverged at step 4),"
        );
        assert_eq!(
            lines[2],
            "\"adam, lr 1e-3\",v_1,2,3,1,4.5,adam: left out: seed 3 (diverged at step 4),"
        );
        // A smoothed curve: the drawn value, and the raw one last.
        assert_eq!(
            lines[3],
            "\"adam, lr 1e-3\",v_1,3,0.75,,,adam: left out: seed 3 (diverged at step 4),1"
        );
        assert_eq!(sequential_colors(3)[0], (68, 1, 84));
        assert_eq!(sequential_colors(1).len(), 1);
    }
}
