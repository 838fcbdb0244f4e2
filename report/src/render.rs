//! Writing a picture as SVG and PNG (and its data as CSV) beside each other, atomically.
//!
//! The bitmap backend draws into an RGB buffer and `png` encodes it: plotters' own PNG output
//! needs the `image` crate, which is far larger than what one encoder needs.

use std::fs;
use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::font;
use crate::ReportError;

/// The three files of one rendered figure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedFiles {
    /// `STEM.svg`.
    pub svg: PathBuf,
    /// `STEM.png`.
    pub png: PathBuf,
    /// `STEM.csv`.
    pub csv: PathBuf,
}

/// Something drawn the same way on both backends. Plotters' areas are generic over the
/// backend and a trait object cannot have generic methods, so each picture forwards both
/// methods to one generic drawing function.
pub trait Picture {
    /// Draws on the SVG document.
    fn draw_svg(&self, area: &DrawingArea<SVGBackend<'_>, Shift>) -> Result<(), String>;
    /// Draws on the RGB bitmap.
    fn draw_bitmap(&self, area: &DrawingArea<BitMapBackend<'_>, Shift>) -> Result<(), String>;
    /// SVG elements appended on top of the drawing (embedded raster images).
    fn svg_overlay(&self, _size: (u32, u32)) -> String {
        String::new()
    }
}

/// Draws `picture` on an SVG and on a bitmap of `size` pixels and writes `dir/STEM.svg`,
/// `dir/STEM.png` and `dir/STEM.csv` (holding `csv`).
pub fn render_files(
    dir: &Path,
    stem: &str,
    size: (u32, u32),
    csv: &str,
    picture: &dyn Picture,
) -> Result<RenderedFiles, ReportError> {
    font::register();
    fs::create_dir_all(dir).map_err(|e| ReportError::io("creating directory", dir, e))?;
    let draw_error = |message: String| ReportError::Draw {
        figure: stem.to_string(),
        message,
    };

    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
        picture.draw_svg(&root).map_err(draw_error)?;
        root.present().map_err(|e| draw_error(e.to_string()))?;
    }
    let overlay = picture.svg_overlay(size);
    if !overlay.is_empty() {
        if let Some(end) = svg.rfind("</svg>") {
            svg.insert_str(end, &overlay);
        }
    }
    let mut pixels = vec![255u8; size.0 as usize * size.1 as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut pixels, size).into_drawing_area();
        picture.draw_bitmap(&root).map_err(draw_error)?;
        root.present().map_err(|e| draw_error(e.to_string()))?;
    }
    let png = encode_png(&pixels, size).map_err(|e| draw_error(format!("encoding PNG: {e}")))?;

    let files = RenderedFiles {
        svg: dir.join(format!("{stem}.svg")),
        png: dir.join(format!("{stem}.png")),
        csv: dir.join(format!("{stem}.csv")),
    };
    write_atomically(&files.svg, svg.as_bytes())?;
    write_atomically(&files.png, &png)?;
    write_atomically(&files.csv, csv.as_bytes())?;
    Ok(files)
}

pub(crate) fn encode_png(pixels: &[u8], (w, h): (u32, u32)) -> Result<Vec<u8>, png::EncodingError> {
    let mut out = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut out, w, h);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header()?;
        writer.write_image_data(pixels)?;
        writer.finish()?;
    }
    Ok(out)
}

/// Writes `bytes` to `.NAME.tmp` beside `path` and renames it into place, so a reader (a
/// browser reloading the report) never sees half a file. On any error the temporary file is
/// removed (a full disk must not be left fuller) and the error names `path`.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), ReportError> {
    let tmp = eigensweep_worker::output::temp_path(path);
    let result = fs::write(&tmp, bytes)
        .map_err(|e| ReportError::io("writing", path, e))
        .and_then(|()| {
            fs::rename(&tmp, path)
                .map_err(|e| ReportError::io("renaming a temporary file to", path, e))
        });
    if result.is_err() {
        // Best effort: the error that matters is the one returned.
        let _ = fs::remove_file(&tmp);
    }
    result
}
