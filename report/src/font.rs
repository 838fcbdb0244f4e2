//! The one font every figure uses, embedded in the binary, and its measurements.
//!
//! Plotters' `ttf` feature asks the system (fontconfig) for fonts, which a fresh machine or a
//! cluster node may not have; with `ab_glyph` it draws with whatever font is registered. We
//! register DejaVu Sans (from the `dejavu` crate: Bitstream Vera licence, DejaVu changes in
//! the public domain) because it has the Greek letters the labels use (λ, τ, Δ, θ, ε, α).
//!
//! Figures are laid out before they are drawn ([`crate::layout`]), so text is measured here
//! with the same font and the same advances the bitmap backend draws with.

use std::sync::{Once, OnceLock};

use ab_glyph::{Font, FontRef};
use plotters::style::FontStyle;

/// The family name figures ask for. Plotters looks the registered font up by this name and
/// writes it into SVGs as it is, so a viewer that has DejaVu Sans shows the SVG with the
/// font it was laid out with, and any other falls back to its own sans-serif.
pub const FAMILY: &str = "DejaVu Sans, sans-serif";

/// Registers the font once per process; later calls do nothing.
pub fn register() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // Both files are valid TrueType fonts shipped by the crate: failure is a build bug.
        plotters::style::register_font(FAMILY, FontStyle::Normal, dejavu::sans::regular())
            .unwrap_or_else(|_| panic!("embedded DejaVu Sans is not a valid font"));
        plotters::style::register_font(FAMILY, FontStyle::Bold, dejavu::sans::bold())
            .unwrap_or_else(|_| panic!("embedded DejaVu Sans Bold is not a valid font"));
    });
}

fn face(bold: bool) -> &'static FontRef<'static> {
    static REGULAR: OnceLock<FontRef<'static>> = OnceLock::new();
    static BOLD: OnceLock<FontRef<'static>> = OnceLock::new();
    let (cell, bytes) = if bold {
        (&BOLD, dejavu::sans::bold())
    } else {
        (&REGULAR, dejavu::sans::regular())
    };
    cell.get_or_init(|| {
        FontRef::try_from_slice(bytes)
            .unwrap_or_else(|_| panic!("embedded DejaVu Sans is not a valid font"))
    })
}

fn units_per_em(font: &FontRef<'_>) -> f64 {
    f64::from(font.units_per_em().unwrap_or(2048.0))
}

/// The font's height (ascent − descent) in ems. Plotters' bitmap text is scaled to this
/// height (ab_glyph's `PxScale`), not to the em that point sizes measure: text of `s` ems
/// needs the size `s × height_per_em()` there.
pub fn height_per_em() -> f64 {
    let font = face(false);
    f64::from(font.ascent_unscaled() - font.descent_unscaled()) / units_per_em(font)
}

/// How far the font's glyphs reach above and below the baseline, in ems (ascent, descent).
pub fn extent_per_em() -> (f64, f64) {
    let font = face(false);
    let em = units_per_em(font);
    (
        f64::from(font.ascent_unscaled()) / em,
        -f64::from(font.descent_unscaled()) / em,
    )
}

/// The width of `text` set at `em_px` pixels per em, with kerning.
pub fn advance(text: &str, em_px: f64, bold: bool) -> f64 {
    let font = face(bold);
    let mut units = 0.0f64;
    let mut previous = None;
    for c in text.chars() {
        let id = font.glyph_id(c);
        units += f64::from(font.h_advance_unscaled(id));
        if let Some(p) = previous {
            units += f64::from(font.kern_unscaled(p, id));
        }
        previous = Some(id);
    }
    units / units_per_em(font) * em_px
}

/// Whether the font draws `c` (rather than its empty box).
pub fn has_glyph(c: char) -> bool {
    c == ' ' || face(false).glyph_id(c).0 != 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_font_has_every_symbol_the_labels_use() {
        // Greek and mathematical symbols of the figures' labels, titles and legends; the
        // subscripts and superscripts of labels are drawn smaller (`math_text`), not taken
        // from Unicode's incomplete set of subscript letters (there is no subscript w).
        for c in "λτΔθεαφσ·‖|−–—×≤≥±⁽⁾¹²³⁴ⁱ∈%".chars() {
            assert!(has_glyph(c), "DejaVu Sans has no glyph for {c:?}");
        }
        // DejaVu Sans's vertical metrics: (1901 + 483) / 2048.
        assert!((height_per_em() - 2384.0 / 2048.0).abs() < 1e-9);
        // Advances scale with the em.
        let w = advance("step", 10.0, false);
        assert!((advance("step", 20.0, false) - 2.0 * w).abs() < 1e-9 && w > 15.0);
    }
}
