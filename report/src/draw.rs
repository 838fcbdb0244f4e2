//! Drawing a [`Figure`] with plotters, on any backend (SVG and bitmap share this code), where
//! [`FigureLayout`] placed its parts. Line widths and marker sizes are in points, so a figure
//! looks the same at any resolution.

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::figure::{Figure, Panel, Rgb, Style};
use crate::layout::{drawable, to_drawing, FigureLayout, Legend, PanelLayout, TextLine, TICK_PT};
use crate::math_text::{self, Align, Look, Placement};
use crate::page::{Page, TextBackend};

/// Width of a curve, points.
const LINE_PT: f64 = 1.0;
/// Dash and gap of a dashed curve, points.
const DASH_PT: (f64, f64) = (3.0, 2.0);
/// Radius of a marker alone, and on a line, points.
const MARKER_PT: f64 = 1.8;
const LINE_MARKER_PT: f64 = 1.3;
/// Widths of the axis lines and of the labelled and unlabelled grid lines, points.
const AXIS_PT: f64 = 0.6;
const GRID_PT: f64 = 0.4;
const LIGHT_GRID_PT: f64 = 0.3;
/// Colours of text, axes and grid.
const INK: RGBColor = RGBColor(30, 30, 30);
const AXIS: RGBColor = RGBColor(60, 60, 60);
const GRID: RGBColor = RGBColor(222, 222, 222);
const LIGHT_GRID: RGBColor = RGBColor(242, 242, 242);

pub(crate) fn rgb(c: Rgb) -> RGBColor {
    RGBColor(c.0, c.1, c.2)
}

/// Draws `text` where the layout put it.
pub(crate) fn text<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    line: &TextLine,
    color: RGBColor,
    backend: TextBackend,
) -> Result<(), String> {
    math_text::draw(
        root,
        &line.text,
        line.at,
        Look {
            em: line.em,
            bold: line.bold,
            color,
        },
        backend,
    )
}

/// Draws `fig` on `root` (of the layout's size) as [`FigureLayout`] places it on `page`.
pub fn draw_figure<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    fig: &Figure,
    page: &Page,
    backend: TextBackend,
) -> Result<(), String> {
    let layout = FigureLayout::new(fig, page);
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    if let Some(title) = &layout.title {
        text(root, title, INK, backend)?;
    }
    for (panel, placed) in fig.panels.iter().zip(&layout.panels) {
        draw_panel(root, panel, placed, page, backend)?;
    }
    if let Some(legend) = &layout.legend {
        draw_legend(root, legend, page, backend)?;
    }
    Ok(())
}

fn draw_panel<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    panel: &Panel,
    placed: &PanelLayout,
    page: &Page,
    backend: TextBackend,
) -> Result<(), String> {
    let err = |e: &dyn std::fmt::Display| e.to_string();
    let plot = placed.plot;
    let area = root.clone().shrink(
        (plot.x.round() as i32, plot.y.round() as i32),
        (plot.w.round() as u32, plot.h.round() as u32),
    );
    let (xr, yr) = (placed.x.range.clone(), placed.y.range.clone());
    let mut chart = ChartBuilder::on(&area)
        .build_cartesian_2d(xr.clone(), yr.clone())
        .map_err(|e| err(&e))?;

    // The grid, light lines under labelled ones.
    for (values, color, pt) in [
        (&placed.x.light, LIGHT_GRID, LIGHT_GRID_PT),
        (&placed.x.bold, GRID, GRID_PT),
    ] {
        chart
            .draw_series(values.iter().map(|&v| {
                PathElement::new(
                    vec![(v, yr.start), (v, yr.end)],
                    color.stroke_width(page.stroke(pt)),
                )
            }))
            .map_err(|e| err(&e))?;
    }
    for (values, color, pt) in [
        (&placed.y.light, LIGHT_GRID, LIGHT_GRID_PT),
        (&placed.y.bold, GRID, GRID_PT),
    ] {
        chart
            .draw_series(values.iter().map(|&v| {
                PathElement::new(
                    vec![(xr.start, v), (xr.end, v)],
                    color.stroke_width(page.stroke(pt)),
                )
            }))
            .map_err(|e| err(&e))?;
    }

    let (xs, ys) = (placed.axes.x_scale, placed.axes.y_scale);
    let line_width = page.stroke(LINE_PT);
    for series in &panel.series {
        let color = rgb(series.color);
        // The band first, so that lines stay on top of it.
        let band: Vec<(f64, f64, f64)> = series
            .points
            .iter()
            .filter_map(|p| Some((p.x, p.lo?, p.hi?)))
            .filter(|&(x, lo, hi)| drawable(x, xs) && drawable(lo, ys) && drawable(hi, ys))
            .map(|(x, lo, hi)| (to_drawing(x, xs), to_drawing(lo, ys), to_drawing(hi, ys)))
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
            .filter(|p| drawable(p.x, xs) && drawable(p.y, ys))
            .map(|p| (to_drawing(p.x, xs), to_drawing(p.y, ys)))
            .collect();
        if pts.is_empty() {
            continue;
        }
        // A curve of one point is invisible as a line: draw its marker.
        let style = match series.style {
            Style::Line | Style::Dashed if pts.len() == 1 => Style::Points,
            s => s,
        };
        let line_style = color.stroke_width(line_width);
        let marker = |pt: f64| page.px(pt).round().max(1.0) as i32;
        match style {
            Style::Line => chart.draw_series(LineSeries::new(pts, line_style)),
            Style::Dashed => chart.draw_series(DashedLineSeries::new(
                pts,
                page.px(DASH_PT.0).round().max(1.0) as u32,
                page.px(DASH_PT.1).round().max(1.0) as u32,
                line_style,
            )),
            Style::Points => chart.draw_series(
                pts.into_iter()
                    .map(|p| Circle::new(p, marker(MARKER_PT), color.mix(0.85).filled())),
            ),
            Style::LinePoints => {
                chart
                    .draw_series(LineSeries::new(pts.clone(), line_style))
                    .map_err(|e| err(&e))?;
                chart.draw_series(
                    pts.into_iter()
                        .map(|p| Circle::new(p, marker(LINE_MARKER_PT), color.filled())),
                )
            }
        }
        .map_err(|e| err(&e))?;
    }

    // Axis lines left and below, ticks outwards.
    let axis = AXIS.stroke_width(page.stroke(AXIS_PT));
    let (left, top, right, bottom) = (
        plot.x.round() as i32,
        plot.y.round() as i32,
        (plot.x + plot.w).round() as i32,
        (plot.y + plot.h).round() as i32,
    );
    let tick = page.px(TICK_PT).round() as i32;
    let mut lines = vec![
        vec![(left, top), (left, bottom)],
        vec![(left, bottom), (right, bottom)],
    ];
    for &v in &placed.x.bold {
        let (x, _) = chart.backend_coord(&(v, yr.start));
        lines.push(vec![(x, bottom), (x, bottom + tick)]);
    }
    for &v in &placed.y.bold {
        let (_, y) = chart.backend_coord(&(xr.start, v));
        lines.push(vec![(left - tick, y), (left, y)]);
    }
    for line in lines {
        root.draw(&PathElement::new(line, axis))
            .map_err(|e| err(&e))?;
    }

    for label in placed.x.labels.iter().chain(&placed.y.labels) {
        text(root, label, INK, backend)?;
    }
    text(root, &placed.title, INK, backend)?;
    text(root, &placed.x_title, INK, backend)?;
    if let Some(y_title) = &placed.y_title {
        text(root, y_title, INK, backend)?;
    }
    for note in &placed.notes {
        text(root, note, INK, backend)?;
    }
    if let Some(legend) = &placed.legend {
        draw_legend(root, legend, page, backend)?;
    }
    if panel.is_empty() {
        let em = placed.x.labels.first().map_or(page.px(7.0), |l| l.em);
        math_text::draw(
            root,
            "no data",
            Placement {
                x: plot.x + plot.w / 2.0,
                y: plot.y + plot.h / 2.0,
                align: Align::Center,
                vertical: false,
            },
            Look {
                em,
                bold: false,
                color: INK,
            },
            backend,
        )?;
    }
    Ok(())
}

/// Draws a legend: per entry a sample of its line, marker or band, and its label.
fn draw_legend<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    legend: &Legend,
    page: &Page,
    backend: TextBackend,
) -> Result<(), String> {
    let err = |e: &dyn std::fmt::Display| e.to_string();
    for item in &legend.items {
        let color = rgb(item.entry.color);
        let s = item.sample;
        let mid = (s.y + s.h / 2.0).round() as i32;
        let (x0, x1) = (s.x.round() as i32, s.right().round() as i32);
        let line = color.stroke_width(page.stroke(LINE_PT));
        if item.entry.band {
            root.draw(&Rectangle::new(
                [(x0, s.y.round() as i32), (x1, s.bottom().round() as i32)],
                color.mix(0.18).filled(),
            ))
            .map_err(|e| err(&e))?;
        }
        let centre = ((x0 + x1) / 2, mid);
        match item.entry.style {
            Style::Line => root.draw(&PathElement::new(vec![(x0, mid), (x1, mid)], line)),
            Style::Dashed => {
                let (dash, gap) = (page.px(DASH_PT.0), page.px(DASH_PT.1));
                let mut x = s.x;
                while x < s.right() {
                    let end = (x + dash).min(s.right());
                    root.draw(&PathElement::new(
                        vec![(x.round() as i32, mid), (end.round() as i32, mid)],
                        line,
                    ))
                    .map_err(|e| err(&e))?;
                    x += dash + gap;
                }
                Ok(())
            }
            Style::Points => root.draw(&Circle::new(
                centre,
                page.px(MARKER_PT).round().max(1.0) as i32,
                color.mix(0.85).filled(),
            )),
            Style::LinePoints => {
                root.draw(&PathElement::new(vec![(x0, mid), (x1, mid)], line))
                    .map_err(|e| err(&e))?;
                root.draw(&Circle::new(
                    centre,
                    page.px(LINE_MARKER_PT).round().max(1.0) as i32,
                    color.filled(),
                ))
            }
        }
        .map_err(|e| err(&e))?;
        text(root, &item.text, INK, backend)?;
    }
    Ok(())
}

impl crate::render::Picture for Figure {
    fn size(&self, page: &Page) -> (u32, u32) {
        let layout = FigureLayout::new(self, page);
        (layout.width, layout.height)
    }
    fn draw_svg(
        &self,
        area: &DrawingArea<SVGBackend<'_>, Shift>,
        page: &Page,
    ) -> Result<(), String> {
        draw_figure(area, self, page, TextBackend::SVG)
    }
    fn draw_bitmap(
        &self,
        area: &DrawingArea<BitMapBackend<'_>, Shift>,
        page: &Page,
    ) -> Result<(), String> {
        draw_figure(area, self, page, TextBackend::bitmap())
    }
}
