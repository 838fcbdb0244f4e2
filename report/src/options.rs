//! What a caller can ask of [`crate::report`] and [`crate::minima`]. Plain structs with
//! `Default`: the defaults are the paper's choices.

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
    /// Width and height of every panel in pixels (PNG) or SVG units.
    pub panel_size: (u32, u32),
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
            panel_size: (460, 380),
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
        if self.panel_size.0 < 200 || self.panel_size.1 < 150 {
            return bad("panel_size", "must be at least 200 × 150");
        }
        Ok(())
    }
}
