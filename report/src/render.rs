//! Writing a picture as SVG and/or PNG (and its data as CSV) beside each other, atomically.
//!
//! The bitmap backend draws into an RGB buffer and `png` encodes it: plotters' own PNG output
//! needs the `image` crate, which is far larger than what one encoder needs. The PNG records
//! its resolution and the SVG its size in inches, so both are placed at the page's size (a
//! LaTeX `\includegraphics` without a width, a browser printing the SVG).

use std::fs;
use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::font;
use crate::page::Page;
use crate::{ImageFormat, ReportError};

/// The files of one rendered figure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedFiles {
    /// `STEM.svg`, if asked for.
    pub svg: Option<PathBuf>,
    /// `STEM.png`, if asked for.
    pub png: Option<PathBuf>,
    /// `STEM.csv`.
    pub csv: PathBuf,
}

/// Something drawn the same way on both backends. Plotters' areas are generic over the
/// backend and a trait object cannot have generic methods, so each picture forwards both
/// methods to one generic drawing function.
pub trait Picture {
    /// Its size in pixels on `page`.
    fn size(&self, page: &Page) -> (u32, u32);
    /// Draws on the SVG document.
    fn draw_svg(
        &self,
        area: &DrawingArea<SVGBackend<'_>, Shift>,
        page: &Page,
    ) -> Result<(), String>;
    /// Draws on the RGB bitmap.
    fn draw_bitmap(
        &self,
        area: &DrawingArea<BitMapBackend<'_>, Shift>,
        page: &Page,
    ) -> Result<(), String>;
    /// SVG elements appended on top of the drawing (embedded raster images).
    fn svg_overlay(&self, _size: (u32, u32), _page: &Page) -> String {
        String::new()
    }
}

/// Draws `picture` on `page` in each of `formats` and writes `dir/STEM.svg` and/or
/// `dir/STEM.png`, and `dir/STEM.csv` (holding `csv`); removes the file of a format not
/// asked for, left by an earlier report.
pub fn render_files(
    dir: &Path,
    stem: &str,
    csv: &str,
    picture: &dyn Picture,
    page: &Page,
    formats: &[ImageFormat],
) -> Result<RenderedFiles, ReportError> {
    font::register();
    fs::create_dir_all(dir).map_err(|e| ReportError::io("creating directory", dir, e))?;
    let draw_error = |message: String| ReportError::Draw {
        figure: stem.to_string(),
        message,
    };
    let size = picture.size(page);
    let path = |ext: &str| dir.join(format!("{stem}.{ext}"));
    let mut files = RenderedFiles {
        svg: None,
        png: None,
        csv: path("csv"),
    };
    // Drawn first, written after: a failed drawing leaves no file of the figure changed.
    let mut outputs: Vec<(PathBuf, Vec<u8>)> = Vec::new();
    if formats.contains(&ImageFormat::Svg) {
        let mut svg = String::new();
        {
            let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
            picture.draw_svg(&root, page).map_err(draw_error)?;
            root.present().map_err(|e| draw_error(e.to_string()))?;
        }
        let overlay = picture.svg_overlay(size, page);
        if !overlay.is_empty() {
            if let Some(end) = svg.rfind("</svg>") {
                svg.insert_str(end, &overlay);
            }
        }
        let svg = svg_in_inches(&svg, size, page.dpi);
        files.svg = Some(path("svg"));
        outputs.push((path("svg"), svg.into_bytes()));
    }
    if formats.contains(&ImageFormat::Png) {
        let mut pixels = vec![255u8; size.0 as usize * size.1 as usize * 3];
        {
            let root = BitMapBackend::with_buffer(&mut pixels, size).into_drawing_area();
            picture.draw_bitmap(&root, page).map_err(draw_error)?;
            root.present().map_err(|e| draw_error(e.to_string()))?;
        }
        let png = encode_png(&pixels, size, Some(page.dpi))
            .map_err(|e| draw_error(format!("encoding PNG: {e}")))?;
        files.png = Some(path("png"));
        outputs.push((path("png"), png));
    }
    for (target, bytes) in &outputs {
        write_atomically(target, bytes)?;
    }
    write_atomically(&files.csv, csv.as_bytes())?;
    // A format not asked for this time must not leave an older picture beside the new ones.
    for format in ImageFormat::ALL.iter().filter(|f| !formats.contains(f)) {
        let stale = path(format.extension());
        match fs::remove_file(&stale) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(ReportError::io("removing stale", &stale, e)),
        }
    }
    Ok(files)
}

/// `svg` (as plotters writes it: `width` and `height` in pixels, and a `viewBox` of the same)
/// with its width and height given in inches at `dpi`, so that it has the page's size.
pub(crate) fn svg_in_inches(svg: &str, (w, h): (u32, u32), dpi: f64) -> String {
    let inches = |px: u32| {
        let s = format!("{:.4}", f64::from(px) / dpi);
        format!("{}in", s.trim_end_matches('0').trim_end_matches('.'))
    };
    let Some(end) = svg.find('>') else {
        return svg.to_string();
    };
    let head = svg[..end]
        .replacen(
            &format!("width=\"{w}\""),
            &format!("width=\"{}\"", inches(w)),
            1,
        )
        .replacen(
            &format!("height=\"{h}\""),
            &format!("height=\"{}\"", inches(h)),
            1,
        );
    format!("{head}{}", &svg[end..])
}

/// RGB `pixels` of a `w` × `h` picture as PNG, recording `dpi` where given.
pub(crate) fn encode_png(
    pixels: &[u8],
    (w, h): (u32, u32),
    dpi: Option<f64>,
) -> Result<Vec<u8>, png::EncodingError> {
    let mut out = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut out, w, h);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        if let Some(dpi) = dpi {
            // PNG records pixels per metre.
            let ppm = (dpi / 0.0254).round() as u32;
            encoder.set_pixel_dims(Some(png::PixelDimensions {
                xppu: ppm,
                yppu: ppm,
                unit: png::Unit::Meter,
            }));
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_svg_declares_its_size_in_inches_and_keeps_its_pixel_grid() {
        let svg = r#"<svg width="2100" height="750" viewBox="0 0 2100 750" xmlns="x"><rect width="2100"/></svg>"#;
        let out = svg_in_inches(svg, (2100, 750), 300.0);
        assert!(
            out.starts_with(r#"<svg width="7in" height="2.5in" viewBox="0 0 2100 750" xmlns="x">"#)
        );
        // Only the root's attributes change.
        assert!(out.contains(r#"<rect width="2100"/>"#), "{out}");
    }
}
