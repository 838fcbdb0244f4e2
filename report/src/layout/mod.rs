//! Where everything of a panel figure goes, in pixels, before anything is drawn: the plots
//! side by side with equal data areas, their ranges and ticks, and all text measured with the
//! embedded font, so that legends and notes sit outside the data (under the panels), tick
//! labels do not collide, and a figure of a given width in inches has text of a given size
//! in points.
//!
//! From the top: the figure's title; per panel its title, the plot, the horizontal tick
//! labels and axis label, its legend (when panels' legends differ) and its notes; then one
//! legend for the whole figure when every panel's entries agree. The vertical axis label
//! and tick labels are left of each plot, and left out where a panel shares its neighbour's
//! axis.

mod legend;
mod ranges;
#[cfg(test)]
mod tests;
mod text;

use std::ops::Range;

use crate::figure::{Axes, Figure, Scale};
use crate::font;
use crate::math_text::{Align, Placement};
use crate::page::{Page, TextRole};
use crate::ticks::{self, Ticks};

pub use legend::{legend_entries, Legend, LegendEntry, LegendItem};
pub use ranges::{drawable, range, to_drawing, y_ranges};
pub use text::TextLine;
pub(crate) use text::{fitted_em, wrap};

use legend::{legend_rows, place_legend, union_of};
use ranges::{axes_of, fit_x_ticks, widest, x_range};

/// Outer margin, points.
const MARGIN_PT: f64 = 4.0;
/// Length of a tick mark, points.
pub const TICK_PT: f64 = 2.5;
/// Gap between a tick mark and its label, points.
const TICK_GAP_PT: f64 = 1.5;
/// Least room right of a plot (before the next panel), points.
const COLUMN_GAP_PT: f64 = 7.0;
/// Height of a line of text, ems.
const LINE: f64 = 1.3;
/// The least height of a plot, inches; a figure given a height that leaves its plots less
/// grows instead.
const MIN_PLOT_IN: f64 = 0.5;
/// Height over width of a plot when the figure's height is not given, and its cap, inches.
const ASPECT: f64 = 0.7;
const MAX_AUTO_PLOT_IN: f64 = 2.0;

/// A rectangle, pixels from the top left.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rect {
    /// Left.
    pub x: f64,
    /// Top.
    pub y: f64,
    /// Width.
    pub w: f64,
    /// Height.
    pub h: f64,
}

impl Rect {
    /// Right edge.
    pub fn right(&self) -> f64 {
        self.x + self.w
    }

    /// Bottom edge.
    pub fn bottom(&self) -> f64 {
        self.y + self.h
    }

    /// Whether the two share more than an edge.
    pub fn overlaps(&self, other: &Rect) -> bool {
        self.x < other.right()
            && other.x < self.right()
            && self.y < other.bottom()
            && other.y < self.bottom()
    }

    /// Whether `other` lies within (edges included, to a pixel).
    pub fn contains(&self, other: &Rect) -> bool {
        other.x >= self.x - 1.0
            && other.y >= self.y - 1.0
            && other.right() <= self.right() + 1.0
            && other.bottom() <= self.bottom() + 1.0
    }
}

/// One axis of a panel as drawn.
#[derive(Debug, Clone, PartialEq)]
pub struct Axis {
    /// The range in drawing coordinates (log10 of the values on a log axis).
    pub range: Range<f64>,
    /// Scale.
    pub scale: Scale,
    /// Labelled ticks, drawing coordinates.
    pub bold: Vec<f64>,
    /// Unlabelled ticks (light grid lines).
    pub light: Vec<f64>,
    /// The tick labels, one per labelled tick; empty where a panel shares its neighbour's
    /// vertical axis.
    pub labels: Vec<TextLine>,
}

/// A panel placed.
#[derive(Debug, Clone, PartialEq)]
pub struct PanelLayout {
    /// The data area.
    pub plot: Rect,
    /// Labels and scales.
    pub axes: Axes,
    /// Horizontal axis.
    pub x: Axis,
    /// Vertical axis.
    pub y: Axis,
    /// The panel's title above the plot.
    pub title: TextLine,
    /// The horizontal axis label.
    pub x_title: TextLine,
    /// The vertical axis label, unless the panel left of it has the same.
    pub y_title: Option<TextLine>,
    /// Notes under the panel, wrapped to its width.
    pub notes: Vec<TextLine>,
    /// The panel's own legend, when panels' entries differ.
    pub legend: Option<Legend>,
}

/// A figure placed.
#[derive(Debug, Clone, PartialEq)]
pub struct FigureLayout {
    /// Width, pixels.
    pub width: u32,
    /// Height, pixels.
    pub height: u32,
    /// The figure's title.
    pub title: Option<TextLine>,
    /// The panels, left to right.
    pub panels: Vec<PanelLayout>,
    /// The legend of all panels, when their entries agree.
    pub legend: Option<Legend>,
}

impl FigureLayout {
    /// Lays `fig` out on `page`.
    pub fn new(fig: &Figure, page: &Page) -> Self {
        let px = |pt: f64| page.px(pt);
        let (title_em, label_em, small_em) = (
            page.em_px(TextRole::Title),
            page.em_px(TextRole::Label),
            page.em_px(TextRole::Small),
        );
        let (ascent, descent) = font::extent_per_em();
        let width = f64::from(page.width_px());
        let margin = px(MARGIN_PT);
        let n = fig.panels.len().max(1);

        // Axes, ranges and who shares with the panel on its left.
        let axes: Vec<Axes> = fig.panels.iter().map(|p| axes_of(fig, p)).collect();
        let y_data = y_ranges(fig);
        let y_draw: Vec<Range<f64>> = y_data
            .iter()
            .zip(&axes)
            .map(|(r, a)| to_drawing(r.0, a.y_scale)..to_drawing(r.1, a.y_scale))
            .collect();
        let shares_left: Vec<bool> = (0..fig.panels.len())
            .map(|i| {
                i > 0
                    && fig.shared_y
                    && fig.panels[i].axes.is_none()
                    && fig.panels[i - 1].axes.is_none()
            })
            .collect();
        let y_title_shown: Vec<bool> = (0..fig.panels.len())
            .map(|i| i == 0 || axes[i].y_label != axes[i - 1].y_label)
            .collect();
        let x_draw: Vec<Range<f64>> = fig
            .panels
            .iter()
            .zip(&axes)
            .map(|(p, a)| x_range(p, a))
            .collect();

        // Widths: left of each plot its axis label and tick labels, right of it room for the
        // last horizontal tick label; the data areas get equal widths.
        // The widest label of any tick set the plot's height may choose below.
        let y_first: Vec<Vec<f64>> = y_draw
            .iter()
            .zip(&axes)
            .map(|(r, a)| {
                (2..=8)
                    .flat_map(|max| ticks::ticks(r.start, r.end, a.y_scale, true, max).0)
                    .collect()
            })
            .collect();
        let tick = px(TICK_PT);
        let tick_gap = px(TICK_GAP_PT);
        let lefts: Vec<f64> = (0..fig.panels.len())
            .map(|i| {
                let title = if y_title_shown[i] {
                    label_em * LINE + px(1.5)
                } else {
                    0.0
                };
                let labels = if shares_left[i] {
                    0.0
                } else {
                    tick_gap + widest(&y_first[i], axes[i].y_scale, small_em)
                };
                title + tick + labels
            })
            .collect();
        let right_pad = x_draw
            .iter()
            .zip(&axes)
            .map(|(r, a)| {
                let t = ticks::ticks(r.start, r.end, a.x_scale, false, 10);
                widest(&t.0, a.x_scale, small_em) / 2.0 + px(2.0)
            })
            .fold(px(COLUMN_GAP_PT), f64::max);
        // What is left for the data; on a page too narrow for the panels, narrow plots
        // rather than a figure wider than asked.
        let plot_w = ((width - 2.0 * margin - lefts.iter().sum::<f64>() - n as f64 * right_pad)
            / n as f64)
            .max(px(12.0));
        let mut plot_x = Vec::new();
        let mut left = margin;
        for l in &lefts {
            plot_x.push(left + l);
            left += l + plot_w + right_pad;
        }

        let x_ticks: Vec<Ticks> = x_draw
            .iter()
            .zip(&axes)
            .map(|(r, a)| fit_x_ticks(r, a, plot_w, small_em))
            .collect();

        // Legends: one under the panels of the figure's own axes when their entries agree,
        // else one under each panel; a panel with axes of its own (another kind of plot, as
        // Fig. 5's final accuracies) has its own.
        let entries: Vec<Vec<LegendEntry>> = fig
            .panels
            .iter()
            .zip(&axes)
            .map(|(p, a)| legend_entries(p, a))
            .collect();
        let common: Vec<usize> = (0..fig.panels.len())
            .filter(|&i| fig.panels[i].axes.is_none())
            .collect();
        let common_entries: Vec<Vec<LegendEntry>> =
            common.iter().map(|&i| entries[i].clone()).collect();
        let shared_legend =
            union_of(&common_entries).filter(|all| !all.is_empty() && common.len() >= 2);
        let under_width = plot_w + right_pad - px(2.0);
        let panel_rows: Vec<Vec<Vec<(LegendEntry, f64, f64)>>> = (0..fig.panels.len())
            .map(|i| {
                if shared_legend.is_some() && common.contains(&i) {
                    Vec::new()
                } else {
                    legend_rows(&entries[i], small_em, under_width, page)
                }
            })
            .collect();
        // The shared legend spans its panels.
        let legend_x = common.first().map_or(margin, |&i| plot_x[i]);
        let legend_width = common
            .last()
            .map_or(width - 2.0 * margin, |&i| {
                plot_x[i] + plot_w + right_pad - legend_x
            })
            .max(px(36.0));
        let figure_rows = shared_legend
            .as_ref()
            .map(|all| legend_rows(all, small_em, legend_width, page))
            .unwrap_or_default();

        // Notes, wrapped under each panel.
        let notes: Vec<Vec<String>> = fig
            .panels
            .iter()
            .map(|p| {
                p.notes
                    .iter()
                    .flat_map(|n| wrap(n, small_em, under_width))
                    .collect()
            })
            .collect();

        // Heights.
        let small_line = small_em * LINE;
        let x_ticks_h = tick + tick_gap + small_line;
        let x_title_h = label_em * LINE;
        let gap = px(3.0);
        let below: Vec<f64> = (0..fig.panels.len())
            .map(|i| {
                let legend = panel_rows[i].len() as f64 * small_line;
                let notes = notes[i].len() as f64 * small_line;
                x_ticks_h
                    + x_title_h
                    + if legend > 0.0 { gap + legend } else { 0.0 }
                    + if notes > 0.0 { gap + notes } else { 0.0 }
            })
            .collect();
        let bottom_of = |panels: &mut dyn Iterator<Item = usize>| {
            panels
                .map(|i| below[i])
                .fold(x_ticks_h + x_title_h, f64::max)
        };
        // The shared legend goes under its own panels; a panel with a legend of its own
        // beside them may reach lower.
        let common_below = bottom_of(&mut common.iter().copied());
        let figure_legend_h = if figure_rows.is_empty() {
            0.0
        } else {
            gap + figure_rows.len() as f64 * small_line
        };
        let title_h = if fig.title.is_empty() {
            0.0
        } else {
            title_em * 1.5
        };
        let panel_title_h = label_em * LINE + px(1.0);
        let below_max = bottom_of(&mut (0..fig.panels.len())).max(common_below + figure_legend_h);
        let fixed = 2.0 * margin + title_h + panel_title_h + below_max;
        let min_plot = px(MIN_PLOT_IN * crate::page::PT_PER_IN);
        let (plot_h, height) = match page.height_px() {
            Some(h) => {
                let plot_h = (f64::from(h) - fixed).max(min_plot);
                (plot_h, (plot_h + fixed).max(f64::from(h)))
            }
            None => {
                let plot_h = (plot_w * ASPECT)
                    .min(px(MAX_AUTO_PLOT_IN * crate::page::PT_PER_IN))
                    .max(min_plot);
                (plot_h, plot_h + fixed)
            }
        };
        let plot_y = margin + title_h + panel_title_h;

        // Vertical ticks for the plot's height: labels a line and a half apart at least.
        let max_y_labels = ((plot_h / (small_em * 1.6)).floor() as usize).clamp(2, 8);

        let title = (!fig.title.is_empty()).then(|| {
            let em = fitted_em(&fig.title, title_em, true, width - 2.0 * margin);
            TextLine::new(
                &fig.title,
                Placement {
                    x: width / 2.0,
                    y: margin + ascent * em,
                    align: Align::Center,
                    vertical: false,
                },
                em,
                true,
            )
        });

        let mut panels = Vec::new();
        for (i, panel) in fig.panels.iter().enumerate() {
            let plot = Rect {
                x: plot_x[i],
                y: plot_y,
                w: plot_w,
                h: plot_h,
            };
            let a = &axes[i];
            let (y_bold, y_light) = ticks::ticks(
                y_draw[i].start,
                y_draw[i].end,
                a.y_scale,
                true,
                max_y_labels,
            );
            let y_labels = if shares_left[i] {
                Vec::new()
            } else {
                // Right-aligned left of the tick marks, centred on the tick.
                let (x, dy) = (
                    plot.x - tick - tick_gap,
                    (ascent - descent) / 2.0 * small_em,
                );
                tick_labels(&y_bold, &y_draw[i], a.y_scale, small_em, |f| Placement {
                    x,
                    y: plot.bottom() - f * plot.h + dy,
                    align: Align::End,
                    vertical: false,
                })
            };
            let (x_bold, x_light) = x_ticks[i].clone();
            // Centred under the tick marks.
            let y = plot.bottom() + tick + tick_gap + ascent * small_em;
            let x_labels = tick_labels(&x_bold, &x_draw[i], a.x_scale, small_em, |f| Placement {
                x: plot.x + f * plot.w,
                y,
                align: Align::Center,
                vertical: false,
            });
            let title_em_fit = fitted_em(&panel.title, label_em, false, plot.w + right_pad);
            let title = TextLine::new(
                &panel.title,
                Placement {
                    x: plot.x + plot.w / 2.0,
                    y: plot.y - (descent + 0.1) * title_em_fit - px(1.0),
                    align: Align::Center,
                    vertical: false,
                },
                title_em_fit,
                false,
            );
            let x_title = TextLine::new(
                &a.x_label,
                Placement {
                    x: plot.x + plot.w / 2.0,
                    y: plot.bottom() + x_ticks_h + ascent * label_em,
                    align: Align::Center,
                    vertical: false,
                },
                fitted_em(&a.x_label, label_em, false, plot.w + right_pad),
                false,
            );
            let y_title = y_title_shown[i].then(|| {
                let em = fitted_em(&a.y_label, label_em, false, plot.h * 1.15);
                TextLine::new(
                    &a.y_label,
                    Placement {
                        x: plot.x - lefts[i] + ascent * em,
                        y: plot.y + plot.h / 2.0,
                        align: Align::Center,
                        vertical: true,
                    },
                    em,
                    false,
                )
            });
            let mut top = plot.bottom() + x_ticks_h + x_title_h;
            let legend = (!panel_rows[i].is_empty()).then(|| {
                let l = place_legend(
                    panel_rows[i].clone(),
                    plot.x,
                    top + gap,
                    under_width,
                    false,
                    small_em,
                    page,
                );
                top = l.frame.bottom();
                l
            });
            if !notes[i].is_empty() {
                top += gap;
            }
            let notes = notes[i]
                .iter()
                .enumerate()
                .map(|(k, line)| {
                    TextLine::new(
                        line,
                        Placement {
                            x: plot.x,
                            y: top + k as f64 * small_line + ascent * small_em,
                            align: Align::Start,
                            vertical: false,
                        },
                        small_em,
                        false,
                    )
                })
                .collect();
            panels.push(PanelLayout {
                plot,
                axes: a.clone(),
                x: Axis {
                    range: x_draw[i].clone(),
                    scale: a.x_scale,
                    bold: x_bold,
                    light: x_light,
                    labels: x_labels,
                },
                y: Axis {
                    range: y_draw[i].clone(),
                    scale: a.y_scale,
                    bold: y_bold,
                    light: y_light,
                    labels: y_labels,
                },
                title,
                x_title,
                y_title,
                notes,
                legend,
            });
        }
        let legend = (!figure_rows.is_empty()).then(|| {
            place_legend(
                figure_rows,
                legend_x,
                plot_y + plot_h + common_below + gap,
                legend_width,
                true,
                small_em,
                page,
            )
        });
        FigureLayout {
            width: page.width_px(),
            height: height.ceil() as u32,
            title,
            panels,
            legend,
        }
    }

    /// Every piece of text, for checks.
    pub fn texts(&self) -> Vec<&TextLine> {
        let mut all: Vec<&TextLine> = self.title.iter().collect();
        for p in &self.panels {
            all.push(&p.title);
            all.push(&p.x_title);
            all.extend(&p.y_title);
            all.extend(&p.notes);
            all.extend(&p.x.labels);
            all.extend(&p.y.labels);
            all.extend(
                p.legend
                    .iter()
                    .flat_map(|l| l.items.iter().map(|i| &i.text)),
            );
        }
        all.extend(
            self.legend
                .iter()
                .flat_map(|l| l.items.iter().map(|i| &i.text)),
        );
        all
    }
}

/// The labels of the ticks at `values` (drawing coordinates) of an axis spanning `range`,
/// each placed by `at` from its fraction of the way along the axis.
fn tick_labels(
    values: &[f64],
    range: &Range<f64>,
    scale: Scale,
    em: f64,
    at: impl Fn(f64) -> Placement,
) -> Vec<TextLine> {
    values
        .iter()
        .map(|&v| {
            let f = (v - range.start) / (range.end - range.start);
            TextLine::new(&ticks::axis_label(v, scale), at(f), em, false)
        })
        .collect()
}
