//! Eigenvectors drawn onto the network's weight matrices (Fig. 16): per panel, each layer's
//! weight matrix (rows = outputs, columns = inputs) with its bias column beside it, each
//! layer on its own symmetric blue–white–red scale (±max |v| of that layer, printed in its
//! label): on one scale for the whole vector, a layer whose entries are 10× smaller than
//! another's would be drawn white, however structured it is.
//!
//! The first layer of the paper's network is 100 × 784: drawn cell by cell it would put
//! 78,400 rectangles into the SVG. The matrices are therefore rasterised (the SVG embeds them
//! as PNG images of at most one pixel per entry, which the viewer scales up), and where a
//! pixel covers several entries it shows the one of largest magnitude, so that a localised
//! vector keeps its visible peaks.

use std::fmt::Write as _;

use eigensweep_worker::mlp::Architecture;
use plotters::coord::Shift;
use plotters::prelude::*;

use crate::draw;
use crate::figure::Rgb;
use crate::font;
use crate::layout::{fitted_em, wrap, TextLine};
use crate::math_text::{Align, Placement};
use crate::page::{Page, TextBackend, TextRole};
use crate::render::Picture;

/// One vector to draw.
#[derive(Debug, Clone, PartialEq)]
pub struct HeatmapPanel {
    /// Panel title.
    pub title: String,
    /// The vector, in the flat parameter layout of `arch`.
    pub values: Vec<f32>,
}

/// A figure of eigenvector maps side by side.
#[derive(Debug, Clone, PartialEq)]
pub struct Heatmap {
    /// Title above the panels.
    pub title: String,
    /// The network whose layout the vectors follow.
    pub arch: Architecture,
    /// The panels, left to right.
    pub panels: Vec<HeatmapPanel>,
}

/// A matrix drawn as a block of pixels at a place in the picture.
#[derive(Debug, Clone, PartialEq)]
struct Raster {
    x: i32,
    y: i32,
    w: u32,
    h: u32,
    /// The entries, row-major, `rows` × `cols`.
    cells: Vec<f32>,
    rows: usize,
    cols: usize,
    /// ±`scale` is the ends of the colour map.
    scale: f64,
}

impl Raster {
    /// The RGB pixels at `w` × `h` (pooled by peak where a pixel covers several entries).
    fn rgb(&self, w: u32, h: u32) -> Vec<u8> {
        rasterize(&self.cells, self.rows, self.cols, w, h, self.scale)
    }
}

/// Text or a frame drawn by plotters.
enum Mark {
    Text(TextLine),
    Frame { x: i32, y: i32, w: u32, h: u32 },
}

/// Outer margin, points.
const MARGIN_PT: f64 = 4.0;
/// Width of a bias column, points.
const BIAS_PT: f64 = 5.0;
/// Gap between matrices and between a matrix and its bias, points.
const GAP_PT: f64 = 4.0;
/// Height of the colour bar, points.
const BAR_PT: f64 = 4.0;

/// Blue (negative) – white (0) – red (positive), for t in [−1, 1].
pub fn diverging(t: f64) -> Rgb {
    let t = t.clamp(-1.0, 1.0);
    let end: Rgb = if t < 0.0 {
        (33, 102, 172)
    } else {
        (178, 24, 43)
    };
    let a = t.abs();
    let mix = |e: u8| (255.0 + a * (f64::from(e) - 255.0)).round() as u8;
    (mix(end.0), mix(end.1), mix(end.2))
}

/// The entry of largest magnitude among rows [r0, r1) × cols [c0, c1) of a row-major matrix.
fn peak(values: &[f32], cols: usize, rows: (usize, usize), span: (usize, usize)) -> f32 {
    let mut best = 0f32;
    for r in rows.0..rows.1 {
        for &v in &values[r * cols + span.0..r * cols + span.1] {
            if v.abs() > best.abs() {
                best = v;
            }
        }
    }
    best
}

/// The pixel range [a, b) of `n` cells covered by pixel `p` of `pixels` (at least one cell).
fn cover(p: u32, pixels: u32, n: usize) -> (usize, usize) {
    let a = (p as usize * n) / pixels as usize;
    let b = (((p + 1) as usize * n) / pixels as usize).max(a + 1).min(n);
    (a.min(n - 1), b)
}

fn rasterize(matrix: &[f32], rows: usize, cols: usize, w: u32, h: u32, scale: f64) -> Vec<u8> {
    let mut rgb = Vec::with_capacity((w * h * 3) as usize);
    for py in 0..h {
        let r = cover(py, h, rows);
        for px in 0..w {
            let c = cover(px, w, cols);
            let v = peak(matrix, cols, r, c);
            let (red, green, blue) = diverging(f64::from(v) / scale);
            rgb.extend([red, green, blue]);
        }
    }
    rgb
}

impl Heatmap {
    /// The largest |v| of `values`: a colour scale runs over [−m, m] (1 for a zero vector).
    pub fn scale(values: &[f32]) -> f64 {
        let m = values.iter().fold(0f32, |m, v| m.max(v.abs()));
        if m > 0.0 {
            f64::from(m)
        } else {
            1.0
        }
    }

    /// Everything drawn, in picture coordinates (rasters and marks), and the picture's height:
    /// the page's, or what the panels need (their matrices together about as tall as a panel
    /// is wide).
    fn layout(&self, page: &Page) -> (Vec<Raster>, Vec<Mark>, u32) {
        let px = |pt: f64| page.px(pt);
        let (title_em, label_em, small_em) = (
            page.em_px(TextRole::Title),
            page.em_px(TextRole::Label),
            page.em_px(TextRole::Small),
        );
        let (ascent, _) = font::extent_per_em();
        let width = f64::from(page.width_px());
        let margin = px(MARGIN_PT);
        let gap = px(GAP_PT);
        let mut rasters = Vec::new();
        let em = fitted_em(&self.title, title_em, true, width - 2.0 * margin);
        let mut marks = vec![Mark::Text(TextLine::new(
            &self.title,
            Placement {
                x: margin,
                y: margin + ascent * em,
                align: Align::Start,
                vertical: false,
            },
            em,
            true,
        ))];
        let n = self.panels.len().max(1);
        let panel_w = (width - margin) / n as f64;
        let inner_w = panel_w - margin - gap;
        let layers = self.arch.layers();
        let total_rows: usize = layers.iter().map(|l| l.fan_out).sum();
        let small_line = small_em * 1.3;
        let top = margin + title_em * 1.5;
        let images_top = top + label_em * 1.4;
        let legend = wrap(
            "colour: blue negative, red positive; each layer on its own scale, from −max |v| to \
             +max |v| of the layer (printed in its label)",
            small_em,
            width - 2.0 * margin,
        );
        let below = gap + legend.len() as f64 * small_line + px(BAR_PT) + small_line + margin;
        let fixed = images_top + layers.len() as f64 * (small_line + gap) + below;
        let images_h = match page.height_px() {
            Some(h) => (f64::from(h) - fixed).max(px(36.0)),
            None => (inner_w * 0.9).max(px(36.0)),
        };
        let height = (fixed + images_h).ceil() as u32;
        let height = page.height_px().map_or(height, |h| h.max(height));
        let weight_w = (inner_w - px(BIAS_PT) - gap).max(10.0).round() as u32;
        let bias_w = px(BIAS_PT).round().max(2.0) as u32;
        for (k, panel) in self.panels.iter().enumerate() {
            let x0 = margin + k as f64 * panel_w;
            let title_em_fit = fitted_em(&panel.title, label_em, false, inner_w);
            marks.push(Mark::Text(TextLine::new(
                &panel.title,
                Placement {
                    x: x0,
                    y: top + ascent * title_em_fit,
                    align: Align::Start,
                    vertical: false,
                },
                title_em_fit,
                false,
            )));
            let mut y = images_top;
            for (l, slots) in layers.iter().enumerate() {
                let weights = &panel.values
                    [slots.weight_offset..slots.weight_offset + slots.fan_in * slots.fan_out];
                let bias = &panel.values[slots.bias_offset..slots.bias_offset + slots.fan_out];
                let layer: Vec<f32> = weights.iter().chain(bias).copied().collect();
                let scale = Self::scale(&layer);
                let label = format!(
                    "layer {}: W {}×{}, b {}, colour ±{}",
                    l + 1,
                    slots.fan_out,
                    slots.fan_in,
                    slots.fan_out,
                    crate::ticks::typeset(scale)
                );
                let em = fitted_em(&label, small_em, false, inner_w);
                marks.push(Mark::Text(TextLine::new(
                    &label,
                    Placement {
                        x: x0,
                        y: y + ascent * em,
                        align: Align::Start,
                        vertical: false,
                    },
                    em,
                    false,
                )));
                y += small_line;
                let h = ((images_h * slots.fan_out as f64 / total_rows as f64).round()).max(px(3.0))
                    as u32;
                let (xi, yi) = (x0.round() as i32, y.round() as i32);
                rasters.push(Raster {
                    x: xi,
                    y: yi,
                    w: weight_w,
                    h,
                    cells: weights.to_vec(),
                    rows: slots.fan_out,
                    cols: slots.fan_in,
                    scale,
                });
                let bx = xi + weight_w as i32 + gap.round() as i32;
                rasters.push(Raster {
                    x: bx,
                    y: yi,
                    w: bias_w,
                    h,
                    cells: bias.to_vec(),
                    rows: slots.fan_out,
                    cols: 1,
                    scale,
                });
                marks.push(Mark::Frame {
                    x: xi - 1,
                    y: yi - 1,
                    w: weight_w + 2,
                    h: h + 2,
                });
                marks.push(Mark::Frame {
                    x: bx - 1,
                    y: yi - 1,
                    w: bias_w + 2,
                    h: h + 2,
                });
                y += f64::from(h) + gap;
            }
        }
        // The colour map, explained once, and its bar.
        let x0 = margin;
        let mut ty = f64::from(height) - below + gap;
        for line in &legend {
            marks.push(Mark::Text(TextLine::new(
                line,
                Placement {
                    x: x0,
                    y: ty + ascent * small_em,
                    align: Align::Start,
                    vertical: false,
                },
                small_em,
                false,
            )));
            ty += small_line;
        }
        let bar_w = (inner_w.min(px(120.0))).round() as u32;
        let bar_h = px(BAR_PT).round().max(2.0) as u32;
        let steps = 256usize;
        rasters.push(Raster {
            x: x0.round() as i32,
            y: ty.round() as i32,
            w: bar_w,
            h: bar_h,
            cells: (0..steps)
                .map(|i| (2.0 * (i as f64 + 0.5) / steps as f64 - 1.0) as f32)
                .collect(),
            rows: 1,
            cols: steps,
            scale: 1.0,
        });
        marks.push(Mark::Frame {
            x: x0.round() as i32 - 1,
            y: ty.round() as i32 - 1,
            w: bar_w + 2,
            h: bar_h + 2,
        });
        for (frac, label, align) in [
            (0.0, "−max", Align::Start),
            (0.5, "0", Align::Center),
            (1.0, "+max", Align::End),
        ] {
            marks.push(Mark::Text(TextLine::new(
                label,
                Placement {
                    x: x0 + frac * f64::from(bar_w),
                    y: ty + f64::from(bar_h) + px(1.5) + ascent * small_em,
                    align,
                    vertical: false,
                },
                small_em,
                false,
            )));
        }
        (rasters, marks, height)
    }

    /// The plotted values: `panel,layer,part,row,col,value` for every entry.
    pub fn to_csv(&self) -> String {
        let mut csv = String::from("panel,layer,part,row,col,value\n");
        for panel in &self.panels {
            let title = crate::figure::csv_field(&panel.title);
            for (l, s) in self.arch.layers().iter().enumerate() {
                for r in 0..s.fan_out {
                    for c in 0..s.fan_in {
                        let v = panel.values[s.weight_offset + r * s.fan_in + c];
                        let _ = writeln!(csv, "{title},{},weight,{r},{c},{v}", l + 1);
                    }
                }
                for r in 0..s.fan_out {
                    let v = panel.values[s.bias_offset + r];
                    let _ = writeln!(csv, "{title},{},bias,{r},0,{v}", l + 1);
                }
            }
        }
        csv
    }

    fn draw_marks<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        marks: &[Mark],
        page: &Page,
        backend: TextBackend,
    ) -> Result<(), String> {
        area.fill(&WHITE).map_err(|e| e.to_string())?;
        for m in marks {
            match m {
                Mark::Text(line) => draw::text(area, line, BLACK, backend)?,
                Mark::Frame { x, y, w, h } => area
                    .draw(&Rectangle::new(
                        [(*x, *y), (*x + *w as i32, *y + *h as i32)],
                        RGBColor(120, 120, 120).stroke_width(page.stroke(0.4)),
                    ))
                    .map_err(|e| e.to_string())?,
            }
        }
        Ok(())
    }
}

impl Picture for Heatmap {
    fn size(&self, page: &Page) -> (u32, u32) {
        (page.width_px(), self.layout(page).2)
    }

    fn draw_svg(
        &self,
        area: &DrawingArea<SVGBackend<'_>, Shift>,
        page: &Page,
    ) -> Result<(), String> {
        let (_, marks, _) = self.layout(page);
        self.draw_marks(area, &marks, page, TextBackend::SVG)
    }

    fn draw_bitmap(
        &self,
        area: &DrawingArea<BitMapBackend<'_>, Shift>,
        page: &Page,
    ) -> Result<(), String> {
        let (rasters, marks, _) = self.layout(page);
        self.draw_marks(area, &marks, page, TextBackend::bitmap())?;
        for r in &rasters {
            let rgb = r.rgb(r.w, r.h);
            for py in 0..r.h {
                for px in 0..r.w {
                    let i = ((py * r.w + px) * 3) as usize;
                    let color = RGBColor(rgb[i], rgb[i + 1], rgb[i + 2]);
                    area.draw_pixel((r.x + px as i32, r.y + py as i32), &color)
                        .map_err(|e| e.to_string())?;
                }
            }
        }
        Ok(())
    }

    /// The matrices as embedded PNGs, each at no more pixels than it has entries (the viewer
    /// scales it up, pixelated), so that an SVG at 300 dpi does not carry a 300-dpi raster.
    fn svg_overlay(&self, _size: (u32, u32), page: &Page) -> String {
        let (rasters, _, _) = self.layout(page);
        let mut out = String::new();
        for r in rasters {
            let (w, h) = (r.w.min(r.cols as u32).max(1), r.h.min(r.rows as u32).max(1));
            let png = crate::render::encode_png(&r.rgb(w, h), (w, h), None).unwrap_or_default();
            let _ = writeln!(
                out,
                r#"<image x="{}" y="{}" width="{}" height="{}" preserveAspectRatio="none" style="image-rendering:pixelated" href="data:image/png;base64,{}"/>"#,
                r.x,
                r.y,
                r.w,
                r.h,
                base64(&png)
            );
        }
        out
    }
}

/// Standard base64 with padding (for the SVG's embedded images).
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc4648_examples() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
    }

    #[test]
    fn pooling_keeps_the_peak_and_colours_are_symmetric() {
        // A 2×8 matrix drawn 2 pixels wide: each pixel covers 4 columns.
        let mut m = vec![0.01f32; 16];
        m[5] = -0.9;
        let rgb = rasterize(&m, 2, 8, 2, 2, 0.9);
        assert_eq!(&rgb[3..6], &[33, 102, 172]); // row 0, right pixel: the −0.9 peak
        assert_eq!(diverging(0.0), (255, 255, 255));
        assert_eq!(diverging(1.0), (178, 24, 43));
    }
}
