//! The physical page of a figure: its size in inches, its text in points and the resolution
//! that turns both into pixels. Layout and drawing work in pixels of the PNG; the SVG is
//! drawn in the same pixels and declares its size in inches, so both print at the same size.

use crate::font;
use crate::ReportOptions;

/// Points per inch.
pub const PT_PER_IN: f64 = 72.0;

/// What a figure is drawn on, from [`ReportOptions`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Page {
    /// Width of every figure, inches.
    pub width_in: f64,
    /// Height of every figure, inches; `None`: as the figure's panels need.
    pub height_in: Option<f64>,
    /// Size of the axis labels and panel titles, points; the other text follows it
    /// ([`TextRole`]).
    pub font_pt: f64,
    /// Pixels per inch of the PNG (and of the SVG's coordinates).
    pub dpi: f64,
}

/// What a piece of text is, which sets its size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextRole {
    /// The figure's title: one point larger than the labels, bold.
    Title,
    /// Axis labels and panel titles: the font size asked for.
    Label,
    /// Tick labels, legends and notes: 7/8 of it (7 pt beside 8 pt labels).
    Small,
}

impl Page {
    /// The page the options ask for.
    pub fn new(opts: &ReportOptions) -> Self {
        Self {
            width_in: opts.width_in,
            height_in: opts.height_in,
            font_pt: opts.font_pt,
            dpi: f64::from(opts.dpi),
        }
    }

    /// Pixels per point.
    pub fn px_per_pt(&self) -> f64 {
        self.dpi / PT_PER_IN
    }

    /// `pt` points in pixels.
    pub fn px(&self, pt: f64) -> f64 {
        pt * self.px_per_pt()
    }

    /// The width in pixels.
    pub fn width_px(&self) -> u32 {
        inches_to_px(self.width_in, self.dpi)
    }

    /// The height in pixels, where one is asked for.
    pub fn height_px(&self) -> Option<u32> {
        self.height_in.map(|h| inches_to_px(h, self.dpi))
    }

    /// The size of text of `role`, points.
    pub fn text_pt(&self, role: TextRole) -> f64 {
        match role {
            TextRole::Title => self.font_pt + 1.0,
            TextRole::Label => self.font_pt,
            TextRole::Small => self.font_pt * 7.0 / 8.0,
        }
    }

    /// The em of text of `role`, pixels.
    pub fn em_px(&self, role: TextRole) -> f64 {
        self.px(self.text_pt(role))
    }

    /// A line `pt` points wide in whole pixels (at least one: a hairline at low resolution).
    pub fn stroke(&self, pt: f64) -> u32 {
        (self.px(pt).round() as u32).max(1)
    }
}

/// `inches` at `dpi` in whole pixels.
pub fn inches_to_px(inches: f64, dpi: f64) -> u32 {
    (inches * dpi).round() as u32
}

/// How a plotters backend sizes and places text, so that text of a given em lands at the
/// same size and baseline on both: plotters passes one "size" to the bitmap backend, which
/// scales the font's height (ascent − descent, 1.164 em for DejaVu Sans) to it, and to the
/// SVG backend, which writes `font-size = size / 1.24`; and a top-anchored text's baseline is
/// half that size below the anchor on the bitmap, 0.76 em (its `dy`) in the SVG.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TextBackend {
    /// Plotters' size per pixel of em.
    pub size_per_em: f64,
    /// Ems from a top-anchored text's anchor down to its baseline.
    pub baseline_per_em: f64,
}

impl TextBackend {
    /// The bitmap (PNG) backend.
    pub fn bitmap() -> Self {
        let h = font::height_per_em();
        Self {
            size_per_em: h,
            baseline_per_em: h / 2.0,
        }
    }

    /// The SVG backend.
    pub const SVG: Self = Self {
        size_per_em: 1.24,
        baseline_per_em: 0.76,
    };

    /// Plotters' size of text `em_px` pixels per em.
    pub fn size(&self, em_px: f64) -> f64 {
        em_px * self.size_per_em
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inches_and_points_become_pixels_at_the_resolution() {
        let page = Page {
            width_in: 7.0,
            height_in: Some(2.5),
            font_pt: 8.0,
            dpi: 300.0,
        };
        assert_eq!(page.width_px(), 2100);
        assert_eq!(page.height_px(), Some(750));
        // 8 pt at 300 dpi: 8/72 in = 33.3 px; ticks at 7 pt, the title at 9 pt.
        assert!((page.em_px(TextRole::Label) - 8.0 * 300.0 / 72.0).abs() < 1e-9);
        assert!((page.text_pt(TextRole::Small) - 7.0).abs() < 1e-9);
        assert!((page.text_pt(TextRole::Title) - 9.0).abs() < 1e-9);
        assert_eq!(page.stroke(1.0), 4);
        let screen = Page { dpi: 72.0, ..page };
        assert_eq!(screen.width_px(), 504);
        assert_eq!(screen.stroke(0.3), 1);
        // The bitmap backend's size is the font's height: 1.164 em for DejaVu Sans.
        assert!((TextBackend::bitmap().size(10.0) - 11.640625).abs() < 1e-6);
    }
}
