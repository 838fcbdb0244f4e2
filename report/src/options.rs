//! What a caller can ask of [`crate::report`] and [`crate::minima`]. Plain structs with
//! `Default`: the defaults are the paper's choices.

use std::fmt;
use std::str::FromStr;

use eigensweep_common::stop::StopFlag;

use crate::ReportError;

/// Settings of the minima comparison (Appendix B.2, Fig. 8).
#[derive(Debug, Clone, PartialEq)]
pub struct MinimaOptions {
    /// Points of the α grid on [−1, 2] (α = 0 and α = 1 are always added, so the two minima
    /// themselves are on every curve).
    pub alpha_points: usize,
    /// ε of the ε-sharpness box |y_j| ≤ ε(|θ_j| + 1) (Keskar et al.: 1e-3).
    pub epsilon: f64,
    /// Projected gradient-ascent iterations of the ε-sharpness.
    pub sharpness_iterations: usize,
    /// Step of one ascent iteration as a fraction of the box's half-width (sign-gradient
    /// steps, as PGD under a box constraint).
    pub sharpness_step: f64,
    /// Relative tolerance of λ1 (as the snapshots' `tol`).
    pub eigen_tol: f64,
    /// Hessian-vector product budget of λ1.
    pub eigen_max_products: usize,
    /// Samples per chunk when evaluating losses and gradients (memory, not results).
    pub chunk: usize,
    /// Set (by a signal handler) to end the comparison early with
    /// [`ReportError::Interrupted`], writing nothing. Polled before every loss over the
    /// data, every Hessian product of λ1 and every ascent step of the ε-sharpness, so a stop
    /// is seen within one pass over the training set.
    pub stop: StopFlag,
}

impl Default for MinimaOptions {
    fn default() -> Self {
        Self {
            alpha_points: 31,
            epsilon: 1e-3,
            sharpness_iterations: 20,
            sharpness_step: 0.25,
            eigen_tol: 1e-3,
            eigen_max_products: 1000,
            chunk: 4096,
            stop: StopFlag::new(),
        }
    }
}

impl MinimaOptions {
    /// Rejects settings that cannot work, naming the option.
    pub fn validate(&self) -> Result<(), ReportError> {
        let bad = |option, reason: &str| {
            Err(ReportError::Option {
                option,
                reason: reason.to_string(),
            })
        };
        if self.alpha_points < 2 {
            return bad("alpha_points", "needs at least 2 points");
        }
        if !(self.epsilon >= 0.0 && self.epsilon.is_finite()) {
            return bad("epsilon", "must be a finite number ≥ 0");
        }
        if !(self.sharpness_step > 0.0 && self.sharpness_step.is_finite()) {
            return bad("sharpness_step", "must be positive");
        }
        if self.chunk == 0 {
            return bad("chunk", "must be at least 1 sample");
        }
        if self.eigen_tol.is_nan() || self.eigen_tol < 0.0 {
            return bad("eigen_tol", "must be ≥ 0");
        }
        Ok(())
    }
}

/// Settings of the report.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportOptions {
    /// Gaussian smoothing σ, in snapshots, of the convergence curves (Fig. 7; paper: 2).
    pub convergence_sigma: f64,
    /// Gaussian smoothing σ, in snapshots, of the raw alignments (Fig. 12; paper: 5).
    pub alignment_sigma: f64,
    /// How many waiting times t_w (log-spaced among the snapshot steps) get a curve in the
    /// two-time figures (1/9, 10, 11).
    pub waiting_times: usize,
    /// Seed of the single-run figures (12, 14/15, 16); `None`: the run with the most
    /// eigen-indices (the `extra_eigen` seed), ties broken by the smallest seed.
    pub chosen_seed: Option<u64>,
    /// Steps of the spectral-density figure (D), each drawn at the nearest density snapshot;
    /// empty: the first, the last and two log-spaced between.
    pub density_steps: Vec<u64>,
    /// Width of every figure, inches (a page's text width: 7 in for two-column papers' full
    /// width, 3.3 in for one column).
    pub width_in: f64,
    /// Height of every figure, inches; `None`: as its panels need (plots 0.7 as tall as
    /// wide, at most 2 in, plus title, axis labels, notes and legend: about 2.5 in for three
    /// panels 7 in wide). A figure whose legend and notes leave its plots less than 0.5 in
    /// grows beyond it.
    pub height_in: Option<f64>,
    /// Size of the axis labels and panel titles, points; ticks, legends and notes are 7/8 of
    /// it, the figure title one point larger.
    pub font_pt: f64,
    /// Resolution of the PNGs, pixels per inch (the SVG's coordinates use the same grid).
    pub dpi: u32,
    /// Which files each figure is written as (a CSV of its data always is).
    pub formats: Vec<ImageFormat>,
    /// Whether panels that compare optimisers on one quantity share their vertical axis.
    pub y_axes: YAxes,
    /// Draw Fig. 8 from minima tables computed from other run states than the present ones
    /// (marked stale in the figure) instead of listing it as not available.
    pub keep_stale_minima: bool,
    /// Set (by a signal handler) to end the report between two figures with
    /// [`ReportError::Interrupted`]; every file already written is complete.
    pub stop: StopFlag,
}

impl Default for ReportOptions {
    fn default() -> Self {
        Self {
            convergence_sigma: 2.0,
            alignment_sigma: 5.0,
            waiting_times: 6,
            chosen_seed: None,
            density_steps: Vec::new(),
            width_in: 7.0,
            height_in: None,
            font_pt: 8.0,
            dpi: 300,
            formats: vec![ImageFormat::Png, ImageFormat::Svg],
            y_axes: YAxes::Shared,
            keep_stale_minima: false,
            stop: StopFlag::new(),
        }
    }
}

impl ReportOptions {
    /// Rejects settings that cannot work, naming the option.
    pub fn validate(&self) -> Result<(), ReportError> {
        let bad = |option, reason: &str| {
            Err(ReportError::Option {
                option,
                reason: reason.to_string(),
            })
        };
        if !(self.convergence_sigma >= 0.0 && self.convergence_sigma.is_finite()) {
            return bad("convergence_sigma", "must be a finite number ≥ 0");
        }
        if !(self.alignment_sigma >= 0.0 && self.alignment_sigma.is_finite()) {
            return bad("alignment_sigma", "must be a finite number ≥ 0");
        }
        if self.waiting_times == 0 {
            return bad("waiting_times", "must be at least 1");
        }
        let inches = |v: f64| (MIN_INCHES..=MAX_INCHES).contains(&v);
        if !inches(self.width_in) {
            return bad(
                "width_in",
                &format!(
                    "must be {MIN_INCHES}–{MAX_INCHES} inches, got {}",
                    self.width_in
                ),
            );
        }
        if let Some(h) = self.height_in.filter(|&h| !inches(h)) {
            return bad(
                "height_in",
                &format!("must be {MIN_INCHES}–{MAX_INCHES} inches, got {h}"),
            );
        }
        if !(MIN_FONT_PT..=MAX_FONT_PT).contains(&self.font_pt) {
            return bad(
                "font_pt",
                &format!(
                    "must be {MIN_FONT_PT}–{MAX_FONT_PT} points, got {}",
                    self.font_pt
                ),
            );
        }
        if !(MIN_DPI..=MAX_DPI).contains(&self.dpi) {
            return bad(
                "dpi",
                &format!("must be {MIN_DPI}–{MAX_DPI}, got {}", self.dpi),
            );
        }
        let longest = self.width_in.max(self.height_in.unwrap_or(0.0));
        let px = longest * f64::from(self.dpi);
        if px > f64::from(MAX_PIXELS) {
            return bad(
                "dpi",
                &format!(
                    "{longest} in at {} dpi is {px:.0} pixels, more than {MAX_PIXELS}: lower \
                     the dpi or the size",
                    self.dpi
                ),
            );
        }
        if self.formats.is_empty() {
            return bad("formats", "needs at least one of png, svg");
        }
        Ok(())
    }
}

/// Limits of [`ReportOptions::width_in`] and [`ReportOptions::height_in`].
const MIN_INCHES: f64 = 1.0;
const MAX_INCHES: f64 = 40.0;
/// Limits of [`ReportOptions::font_pt`].
const MIN_FONT_PT: f64 = 4.0;
const MAX_FONT_PT: f64 = 24.0;
/// Limits of [`ReportOptions::dpi`].
const MIN_DPI: u32 = 36;
const MAX_DPI: u32 = 1200;
/// The longest side of a picture, pixels (a 40 in poster at 400 dpi).
const MAX_PIXELS: u32 = 16_000;

/// A file format of the figures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ImageFormat {
    /// PNG at [`ReportOptions::dpi`], with the resolution recorded in the file.
    Png,
    /// SVG, its size given in inches. Text is text: a viewer draws it in DejaVu Sans where it
    /// has it, in its own sans-serif otherwise. For a PDF, convert the SVG (`rsvg-convert -f
    /// pdf`, Inkscape): a PDF writer here would need a font-embedding PDF library.
    Svg,
}

impl ImageFormat {
    /// Every format.
    pub const ALL: [ImageFormat; 2] = [ImageFormat::Png, ImageFormat::Svg];

    /// The file extension.
    pub fn extension(self) -> &'static str {
        match self {
            ImageFormat::Png => "png",
            ImageFormat::Svg => "svg",
        }
    }
}

impl fmt::Display for ImageFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.extension())
    }
}

impl FromStr for ImageFormat {
    type Err = ReportError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.trim().to_ascii_lowercase().as_str() {
            "png" => Ok(ImageFormat::Png),
            "svg" => Ok(ImageFormat::Svg),
            other => Err(ReportError::Option {
                option: "format",
                reason: format!(
                    "expected png or svg, got `{other}`{}",
                    if other == "pdf" {
                        " (for a PDF, convert the SVG: rsvg-convert -f pdf, or Inkscape)"
                    } else {
                        ""
                    }
                ),
            }),
        }
    }
}

/// Vertical axes of a figure's panels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum YAxes {
    /// One range for the panels that compare optimisers on one quantity (all but Fig. 5's
    /// first panel, Fig. 8's and the spectral density's, whose panels differ in kind or in
    /// horizontal units), labelled on the first of them: a tenfold difference shows.
    Shared,
    /// Each panel its own range.
    Free,
}

impl fmt::Display for YAxes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            YAxes::Shared => "shared",
            YAxes::Free => "free",
        })
    }
}

impl FromStr for YAxes {
    type Err = ReportError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.trim().to_ascii_lowercase().as_str() {
            "shared" => Ok(YAxes::Shared),
            "free" => Ok(YAxes::Free),
            other => Err(ReportError::Option {
                option: "y_axes",
                reason: format!("expected shared or free, got `{other}`"),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figure_options_are_checked_naming_the_option() {
        assert!(ReportOptions::default().validate().is_ok());
        let option_of = |opts: ReportOptions| match opts.validate() {
            Err(ReportError::Option { option, reason }) => (option, reason),
            other => panic!("{other:?}"),
        };
        let base = ReportOptions::default;
        let cases = [
            (
                ReportOptions {
                    width_in: 0.5,
                    ..base()
                },
                "width_in",
            ),
            (
                ReportOptions {
                    width_in: f64::NAN,
                    ..base()
                },
                "width_in",
            ),
            (
                ReportOptions {
                    height_in: Some(100.0),
                    ..base()
                },
                "height_in",
            ),
            (
                ReportOptions {
                    font_pt: 2.0,
                    ..base()
                },
                "font_pt",
            ),
            (ReportOptions { dpi: 10, ..base() }, "dpi"),
            (
                ReportOptions {
                    width_in: 40.0,
                    dpi: 1200,
                    ..base()
                },
                "dpi",
            ),
            (
                ReportOptions {
                    formats: vec![],
                    ..base()
                },
                "formats",
            ),
        ];
        for (opts, want) in cases {
            let (option, reason) = option_of(opts);
            assert_eq!(option, want, "{reason}");
        }
        assert_eq!("SVG".parse::<ImageFormat>().unwrap(), ImageFormat::Svg);
        let err = "pdf".parse::<ImageFormat>().unwrap_err().to_string();
        assert!(
            err.contains("`format`") && err.contains("rsvg-convert"),
            "{err}"
        );
        assert_eq!("free".parse::<YAxes>().unwrap(), YAxes::Free);
        assert_eq!(YAxes::Shared.to_string(), "shared");
        assert!("both"
            .parse::<YAxes>()
            .unwrap_err()
            .to_string()
            .contains("y_axes"));
    }
}
