//! The one font every figure uses, embedded in the binary.
//!
//! Plotters' `ttf` feature asks the system (fontconfig) for fonts, which a fresh machine or a
//! cluster node may not have; with `ab_glyph` it draws with whatever font is registered. We
//! register DejaVu Sans (from the `dejavu` crate: Bitstream Vera licence, DejaVu changes in
//! the public domain) because it has the Greek letters the labels use (λ, τ, Δ, θ, ε, α).

use std::sync::Once;

use plotters::style::FontStyle;

/// The family name figures ask for.
pub const FAMILY: &str = "sans-serif";

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
