//! Legends: which entries a figure's panels have, whether one legend serves them all, and
//! their rows under the panels.

use crate::figure::{Axes, Panel, Rgb, Style};
use crate::font;
use crate::math_text::{self, Align, Placement};
use crate::page::Page;

use super::ranges::drawable;
use super::text::fitted_em;
use super::{Rect, TextLine, LINE};

/// Length of a legend entry's line sample, points.
pub const SAMPLE_PT: f64 = 14.0;
/// Gap between a legend sample and its label, points.
const SAMPLE_GAP_PT: f64 = 3.0;
/// Gap between two legend entries in a row, points.
const ENTRY_GAP_PT: f64 = 10.0;

/// A legend entry.
#[derive(Debug, Clone, PartialEq)]
pub struct LegendEntry {
    /// Label ([`math_text`] markup).
    pub label: String,
    /// Colour.
    pub color: Rgb,
    /// How its series is drawn.
    pub style: Style,
    /// Whether its series has a band (the sample shows one).
    pub band: bool,
}

/// A legend entry placed.
#[derive(Debug, Clone, PartialEq)]
pub struct LegendItem {
    /// The entry.
    pub entry: LegendEntry,
    /// Where its sample is drawn (a line through the middle, a marker at the centre).
    pub sample: Rect,
    /// Its label.
    pub text: TextLine,
}

/// A legend: entries in rows.
#[derive(Debug, Clone, PartialEq)]
pub struct Legend {
    /// The box the rows fill.
    pub frame: Rect,
    /// The entries.
    pub items: Vec<LegendItem>,
}

/// The legend entries of a panel: its series marked for the legend that draw something.
pub fn legend_entries(panel: &Panel, axes: &Axes) -> Vec<LegendEntry> {
    panel
        .series
        .iter()
        .filter(|s| s.in_legend)
        .filter(|s| {
            s.points
                .iter()
                .any(|p| drawable(p.x, axes.x_scale) && drawable(p.y, axes.y_scale))
        })
        .map(|s| LegendEntry {
            label: s.label.clone(),
            color: s.color,
            style: s.style,
            band: s.points.iter().any(|p| p.lo.is_some() && p.hi.is_some()),
        })
        .collect()
}

/// One legend for all panels (their entries in order of first appearance), unless two
/// panels give one label different looks.
pub(super) fn union_of(per_panel: &[Vec<LegendEntry>]) -> Option<Vec<LegendEntry>> {
    let mut all: Vec<LegendEntry> = Vec::new();
    for entry in per_panel.iter().flatten() {
        match all.iter().find(|e| e.label == entry.label) {
            Some(e) if e == entry => {}
            Some(_) => return None,
            None => all.push(entry.clone()),
        }
    }
    Some(all)
}

/// Entries flowed into rows no wider than `width`: (entry, label em, entry width) per row.
pub(super) fn legend_rows(
    entries: &[LegendEntry],
    em: f64,
    width: f64,
    page: &Page,
) -> Vec<Vec<(LegendEntry, f64, f64)>> {
    let sample = page.px(SAMPLE_PT + SAMPLE_GAP_PT);
    let gap = page.px(ENTRY_GAP_PT);
    let mut rows: Vec<Vec<(LegendEntry, f64, f64)>> = Vec::new();
    let mut used = 0.0;
    for entry in entries {
        let label_em = fitted_em(&entry.label, em, false, (width - sample).max(1.0));
        let w = sample + math_text::width(&entry.label, label_em, false);
        match rows.last_mut() {
            Some(row) if used + gap + w <= width => {
                row.push((entry.clone(), label_em, w));
                used += gap + w;
            }
            _ => {
                rows.push(vec![(entry.clone(), label_em, w)]);
                used = w;
            }
        }
    }
    rows
}

/// Places `rows` in a box of `width` starting at (x, top), each row centred or flush left.
pub(super) fn place_legend(
    rows: Vec<Vec<(LegendEntry, f64, f64)>>,
    x: f64,
    top: f64,
    width: f64,
    centered: bool,
    em: f64,
    page: &Page,
) -> Legend {
    let line = em * LINE;
    let gap = page.px(ENTRY_GAP_PT);
    let (ascent, _) = font::extent_per_em();
    let mut items = Vec::new();
    for (r, row) in rows.iter().enumerate() {
        let row_width: f64 = row.iter().map(|e| e.2).sum::<f64>() + gap * (row.len() - 1) as f64;
        let mut left = if centered {
            x + (width - row_width).max(0.0) / 2.0
        } else {
            x
        };
        let baseline = top + r as f64 * line + (LINE - 1.0) / 2.0 * em + ascent * em;
        for (entry, label_em, w) in row {
            let sample = Rect {
                x: left,
                y: baseline - 0.35 * em - 0.4 * em,
                w: page.px(SAMPLE_PT),
                h: 0.8 * em,
            };
            let text = TextLine::new(
                &entry.label,
                Placement {
                    x: left + page.px(SAMPLE_PT + SAMPLE_GAP_PT),
                    y: baseline,
                    align: Align::Start,
                    vertical: false,
                },
                *label_em,
                false,
            );
            items.push(LegendItem {
                entry: entry.clone(),
                sample,
                text,
            });
            left += w + gap;
        }
    }
    Legend {
        frame: Rect {
            x,
            y: top,
            w: width,
            h: rows.len() as f64 * line,
        },
        items,
    }
}
