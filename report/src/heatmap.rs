//! Eigenvectors drawn onto the network's weight matrices (Fig. 16): per panel, each layer's
//! weight matrix (rows = outputs, columns = inputs) with its bias column beside it, each
//! layer on its own symmetric blue–white–red scale (±max |v| of that layer, printed in its
//! label): on one scale for the whole vector, a layer whose entries are 10× smaller than
//! another's would be drawn white, however structured it is.
//!
//! The first layer of the paper's network is 100 × 784: drawn cell by cell it would put
//! 78,400 rectangles into the SVG. The matrices are therefore rasterised, identically for both
//! outputs (the SVG embeds them as PNG images), and where a pixel covers several entries it
//! shows the one of largest magnitude, so that a localised vector keeps its visible peaks.

use std::fmt::Write as _;

use eigensweep_worker::mlp::Architecture;
use plotters::coord::Shift;
use plotters::prelude::*;

use crate::figure::Rgb;
use crate::font::FAMILY;
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

/// A block of pixels at a place in the picture.
#[derive(Debug, Clone, PartialEq)]
struct Raster {
    x: i32,
    y: i32,
    w: u32,
    h: u32,
    rgb: Vec<u8>,
}

/// Text or a frame drawn by plotters.
enum Mark {
    Text {
        x: i32,
        y: i32,
        text: String,
        size: u32,
    },
    Frame {
        x: i32,
        y: i32,
        w: u32,
        h: u32,
    },
}

const TITLE_HEIGHT: i32 = 34;
const PANEL_TITLE: i32 = 26;
const LABEL: i32 = 16;
const BIAS_WIDTH: u32 = 14;
const GAP: i32 = 10;
const BAR_HEIGHT: i32 = 46;
const MARGIN: i32 = 14;

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
    /// The picture size for panels of `panel` pixels.
    pub fn size(&self, panel: (u32, u32)) -> (u32, u32) {
        (
            panel.0 * self.panels.len().max(1) as u32,
            panel.1 * 3 / 2 + TITLE_HEIGHT as u32,
        )
    }

    /// The largest |v| of `values`: a colour scale runs over [−m, m] (1 for a zero vector).
    pub fn scale(values: &[f32]) -> f64 {
        let m = values.iter().fold(0f32, |m, v| m.max(v.abs()));
        if m > 0.0 {
            f64::from(m)
        } else {
            1.0
        }
    }

    /// Everything drawn, in picture coordinates: rasters and marks.
    fn layout(&self, (width, height): (u32, u32)) -> (Vec<Raster>, Vec<Mark>) {
        let mut rasters = Vec::new();
        let mut marks = vec![Mark::Text {
            x: MARGIN,
            y: 8,
            text: self.title.clone(),
            size: 18,
        }];
        let n = self.panels.len().max(1) as i32;
        let panel_w = width as i32 / n;
        let layers = self.arch.layers();
        let total_rows: usize = layers.iter().map(|l| l.fan_out).sum();
        for (k, panel) in self.panels.iter().enumerate() {
            let x0 = k as i32 * panel_w + MARGIN;
            let inner_w = panel_w - 2 * MARGIN;
            let mut y = TITLE_HEIGHT + 4;
            marks.push(Mark::Text {
                x: x0,
                y,
                text: panel.title.clone(),
                size: 16,
            });
            y += PANEL_TITLE;
            let image_h_total =
                height as i32 - y - BAR_HEIGHT - MARGIN - layers.len() as i32 * (LABEL + GAP);
            let weight_w = (inner_w - BIAS_WIDTH as i32 - GAP).max(10) as u32;
            for (l, slots) in layers.iter().enumerate() {
                let weights = &panel.values
                    [slots.weight_offset..slots.weight_offset + slots.fan_in * slots.fan_out];
                let bias = &panel.values[slots.bias_offset..slots.bias_offset + slots.fan_out];
                let layer: Vec<f32> = weights.iter().chain(bias).copied().collect();
                let scale = Self::scale(&layer);
                marks.push(Mark::Text {
                    x: x0,
                    y,
                    text: format!(
                        "layer {}: W {}×{}   |   b {}   —   colour ±{}",
                        l + 1,
                        slots.fan_out,
                        slots.fan_in,
                        slots.fan_out,
                        crate::draw::tick(scale)
                    ),
                    size: 12,
                });
                y += LABEL;
                let h = ((image_h_total as f64 * slots.fan_out as f64 / total_rows as f64).round()
                    as i32)
                    .max(8) as u32;
                rasters.push(Raster {
                    x: x0,
                    y,
                    w: weight_w,
                    h,
                    rgb: rasterize(weights, slots.fan_out, slots.fan_in, weight_w, h, scale),
                });
                let bx = x0 + weight_w as i32 + GAP;
                rasters.push(Raster {
                    x: bx,
                    y,
                    w: BIAS_WIDTH,
                    h,
                    rgb: rasterize(bias, slots.fan_out, 1, BIAS_WIDTH, h, scale),
                });
                marks.push(Mark::Frame {
                    x: x0 - 1,
                    y: y - 1,
                    w: weight_w + 2,
                    h: h + 2,
                });
                marks.push(Mark::Frame {
                    x: bx - 1,
                    y: y - 1,
                    w: BIAS_WIDTH + 2,
                    h: h + 2,
                });
                y += h as i32 + GAP;
            }
            // The colour bar and its range.
            let bar_w = (inner_w as u32).min(260);
            let bar_y = height as i32 - BAR_HEIGHT - MARGIN + 18;
            let bar: Vec<u8> = (0..10)
                .flat_map(|_| {
                    (0..bar_w).flat_map(move |px| {
                        let t = 2.0 * (f64::from(px) + 0.5) / f64::from(bar_w) - 1.0;
                        let c = diverging(t);
                        [c.0, c.1, c.2]
                    })
                })
                .collect();
            rasters.push(Raster {
                x: x0,
                y: bar_y,
                w: bar_w,
                h: 10,
                rgb: bar,
            });
            marks.push(Mark::Frame {
                x: x0 - 1,
                y: bar_y - 1,
                w: bar_w + 2,
                h: 12,
            });
            marks.push(Mark::Text {
                x: x0,
                y: bar_y - 18,
                text: format!(
                    "colour: each layer from −max|v| to +max|v| of that layer (max |v| overall {})",
                    crate::draw::tick(Self::scale(&panel.values))
                ),
                size: 12,
            });
            for (frac, label) in [
                (0.0, "−max".to_string()),
                (0.5, "0".to_string()),
                (1.0, "+max".to_string()),
            ] {
                let shift = (frac * 40.0) as i32;
                marks.push(Mark::Text {
                    x: x0 + (frac * f64::from(bar_w)) as i32 - shift,
                    y: bar_y + 13,
                    text: label,
                    size: 11,
                });
            }
        }
        (rasters, marks)
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
    ) -> Result<(), String> {
        area.fill(&WHITE).map_err(|e| e.to_string())?;
        for m in marks {
            match m {
                Mark::Text { x, y, text, size } => {
                    let style = if *size >= 16 {
                        (FAMILY, *size).into_font().style(FontStyle::Bold)
                    } else {
                        (FAMILY, *size).into_font()
                    };
                    area.draw(&Text::new(text.clone(), (*x, *y), style))
                }
                Mark::Frame { x, y, w, h } => area.draw(&Rectangle::new(
                    [(*x, *y), (*x + *w as i32, *y + *h as i32)],
                    RGBColor(120, 120, 120).stroke_width(1),
                )),
            }
            .map_err(|e| e.to_string())?;
        }
        Ok(())
    }
}

impl Picture for Heatmap {
    fn draw_svg(&self, area: &DrawingArea<SVGBackend<'_>, Shift>) -> Result<(), String> {
        let (_, marks) = self.layout(area.dim_in_pixel());
        self.draw_marks(area, &marks)
    }

    fn draw_bitmap(&self, area: &DrawingArea<BitMapBackend<'_>, Shift>) -> Result<(), String> {
        let (rasters, marks) = self.layout(area.dim_in_pixel());
        self.draw_marks(area, &marks)?;
        for r in &rasters {
            for py in 0..r.h {
                for px in 0..r.w {
                    let i = ((py * r.w + px) * 3) as usize;
                    let color = RGBColor(r.rgb[i], r.rgb[i + 1], r.rgb[i + 2]);
                    area.draw_pixel((r.x + px as i32, r.y + py as i32), &color)
                        .map_err(|e| e.to_string())?;
                }
            }
        }
        Ok(())
    }

    fn svg_overlay(&self, size: (u32, u32)) -> String {
        let (rasters, _) = self.layout(size);
        let mut out = String::new();
        for r in rasters {
            let png = crate::render::encode_png(&r.rgb, (r.w, r.h)).unwrap_or_default();
            let _ = writeln!(
                out,
                r#"<image x="{}" y="{}" width="{}" height="{}" style="image-rendering:pixelated" href="data:image/png;base64,{}"/>"#,
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
