//! The paper's figures, one builder per file. A builder turns the tables of one dataset into
//! a [`Figure`] (or a [`Heatmap`]) with one panel per optimiser, or says which setting would
//! have produced the data it lacks.

mod alignment;
mod convergence;
mod density;
mod eigenvector_map;
mod interpolation;
mod spectrum;
mod training;
mod two_time;

use crate::figure::Figure;
use crate::heatmap::Heatmap;
use crate::inputs::Inputs;
use crate::{ReportError, ReportOptions};

/// What a builder made of one dataset.
pub enum Built {
    /// A panel figure.
    Figure(Figure),
    /// Eigenvector heat maps.
    Heatmap(Heatmap),
    /// The data are missing; the text says what enables them.
    Missing(String),
    /// An optional quantity the sweep did not ask for (e.g. `snapshots.density` absent):
    /// nothing is drawn or listed.
    NotAsked,
}

/// What builders read from.
pub struct Context<'a> {
    /// The tables.
    pub inputs: &'a Inputs,
    /// The report's settings.
    pub opts: &'a ReportOptions,
}

impl Context<'_> {
    /// [`ReportError::Interrupted`] once a stop is requested: checked between figures and,
    /// inside the builders that read the pair tables, between runs (a run's table of a
    /// paper-size sweep holds millions of rows).
    pub fn check_stop(&self) -> Result<(), ReportError> {
        if self.opts.stop.is_requested() {
            return Err(ReportError::Interrupted { step: "the report" });
        }
        Ok(())
    }
}

/// One figure of the paper: its place in the report and how to build it.
pub struct FigureSpec {
    /// File stem, e.g. `fig01-displacement`.
    pub id: &'static str,
    /// The paper's figure number(s).
    pub number: &'static str,
    /// Short title.
    pub title: &'static str,
    /// Caption in the report (what is plotted, and how).
    pub caption: &'static str,
    /// The builder.
    pub build: fn(&Context<'_>, &str) -> Result<Built, ReportError>,
}

/// Every figure, in the paper's order.
pub const FIGURES: &[FigureSpec] = &[
    FigureSpec {
        id: "fig01-displacement",
        number: "1 / 9",
        title: "Two-time displacement of the leading eigenvector",
        caption: "Δ⁽¹⁾(t_w, t_w + t) = (2 − 2|v(t_w)·v(t_w + t)|)/N against the lag t on log–log axes, one curve per waiting time t_w (log-spaced among the snapshots; dark = early, bright = late), mean over seeds. Dashed red: the random-initialisation baseline τ⁽¹⁾.",
        build: two_time::displacement,
    },
    FigureSpec {
        id: "fig02-alignment",
        number: "2 / 13",
        title: "Mean gradient vs update alignment",
        caption: "Per run and eigen-index, the mean over training of |cos(v⁽ⁱ⁾, mini-batch gradient)| (x) against the mean of |cos(v⁽ⁱ⁾, update)| (y). Dashed grey: update = gradient.",
        build: alignment::mean_alignment,
    },
    FigureSpec {
        id: "fig03-ipr",
        number: "3",
        title: "Localisation (IPR) of the leading eigenvector",
        caption: "IPR(v⁽¹⁾) = Σ_j v_j⁴ over training: mean over seeds with the min–max band. Red dots: pairs that did not meet the eigensolver tolerance (residual > tol·|λ|). Dashed red: 1/N, a fully delocalised vector.",
        build: spectrum::ipr,
    },
    FigureSpec {
        id: "fig04-training-loss",
        number: "4",
        title: "Training loss",
        caption: "Mean cross-entropy on the full training set at the evaluation steps (the mini-batch loss where fewer than two evaluations exist), log scale: mean over seeds with the min–max band; the final values are printed under each panel.",
        build: training::loss,
    },
    FigureSpec {
        id: "fig05-test-accuracy",
        number: "5",
        title: "Test accuracy",
        caption: "Left: the final test accuracy of every seed, one colour per optimiser (the paper's Figure 5). Then test accuracy at the evaluation steps on a log step axis (step 0 is in the CSV, not drawn), one curve per seed; the final values are printed under each panel.",
        build: training::accuracy,
    },
    FigureSpec {
        id: "fig06-eigenvalues",
        number: "6",
        title: "Top Hessian eigenvalues",
        caption: "λ⁽ⁱ⁾ over training for the indices every run has: mean over seeds with the min–max band, log scale (non-positive values are in the CSV, not drawn). Red dots: pairs that did not meet the eigensolver tolerance.",
        build: spectrum::eigenvalues,
    },
    FigureSpec {
        id: "fig07-convergence",
        number: "7",
        title: "Convergence to the final eigenvector",
        caption: "|v⁽ⁱ⁾(t_final)·v⁽ⁱ⁾(t)| over training, mean over seeds, Gaussian-smoothed over snapshots (σ in the report settings) with the curve continued by point reflection past its ends, so each curve keeps its end values (1 at the final step, by definition); the CSV has the values before smoothing in y_raw.",
        build: convergence::convergence,
    },
    FigureSpec {
        id: "fig08-minima",
        number: "8",
        title: "Loss between the best minima",
        caption: "Train+test loss along α θ_A + (1 − α) θ_B, α ∈ [−1, 2], for every pair of optimisers' best runs (best final test accuracy over seeds); α = 1 is θ_A, α = 0 is θ_B. Right: λ1 and ε-sharpness (in %: (max L − L)/(1 + L) × 100 over the box ε(|θ| + 1)) at each minimum, with its test accuracy. Only finished runs are candidates; a comparison computed from other run states is not drawn (or marked stale).",
        build: interpolation::minima,
    },
    FigureSpec {
        id: "fig10-weight-displacement",
        number: "10",
        title: "Two-time weight displacement",
        caption: "Δ_w(t_w, t_w + t) = ‖θ(t_w) − θ(t_w + t)‖²/N against t on log–log axes, one curve per waiting time t_w, mean over seeds (not normalised by gradient noise).",
        build: two_time::weight_displacement,
    },
    FigureSpec {
        id: "fig11-update-alignment-two-time",
        number: "11",
        title: "Two-time update alignment",
        caption: "|v⁽¹⁾(t_w)·(θ(t_w + t) − θ(t_w))| / ‖θ(t_w + t) − θ(t_w)‖ against t (log axis), one curve per waiting time t_w, mean over seeds.",
        build: two_time::update_alignment,
    },
    FigureSpec {
        id: "fig12-raw-alignment",
        number: "12",
        title: "Raw alignment over training (chosen seed)",
        caption: "|cos| of the mini-batch gradient (solid) and of the update (dashed) with v⁽ⁱ⁾ at each snapshot of the chosen seed, Gaussian-smoothed over snapshots (σ in the report settings; at the ends the kernel is cut and renormalised, since each value is one mini-batch's); the CSV has the values before smoothing in y_raw.",
        build: alignment::raw_alignment,
    },
    FigureSpec {
        id: "fig14-alignment-top-k",
        number: "14",
        title: "Alignment of the top eigenvectors (chosen seed)",
        caption: "Mean over training of the gradient and update alignment with each eigenvector v⁽ⁱ⁾ of the chosen seed, against the index i.",
        build: alignment::alignment_by_index,
    },
    FigureSpec {
        id: "fig15-ipr-top-k",
        number: "15",
        title: "IPR of the top eigenvectors (chosen seed)",
        caption: "IPR(v⁽ⁱ⁾) over training for every eigenvector of the chosen seed (dark = v⁽¹⁾, bright = the last index), log scale. Red dots: pairs that did not meet the eigensolver tolerance.",
        build: spectrum::ipr_by_index,
    },
    FigureSpec {
        id: "fig16-eigenvector-map",
        number: "16",
        title: "Leading eigenvector on the weight matrices (chosen seed)",
        caption: "v⁽¹⁾ at the end of training, each layer's entries in the shape of its weight matrix (rows = outputs, columns = inputs) with its bias beside it. Each layer on its own symmetric colour scale, ±max |v| of that layer (printed in its label); a pixel shows the largest-magnitude entry it covers.",
        build: eigenvector_map::eigenvector_map,
    },
    FigureSpec {
        id: "figD-spectral-density",
        number: "D, beyond the paper",
        title: "Hessian spectral density (stochastic Lanczos quadrature)",
        caption: "φ(λ) = mean over probes and seeds of Σ_i w_i 𝒩(λ; λ_i, σ²), the Ritz nodes λ_i and weights w_i of each probe's Lanczos quadrature (`snapshots.density`) broadened by a Gaussian with σ = 1 % of the panel's node range (PyHessian's density plot), on a log density axis. One curve per step: the first and last density snapshots and two log-spaced ones between, or the steps given with `--density-steps` (dark = early, bright = late). Densities below 1e-6 of the panel's peak are drawn at that floor.",
        build: density::density,
    },
];

/// The seed of the single-run figures: the option, else the usable run (not diverged, not
/// failed) with the most indices, ties to the smallest seed.
pub(crate) fn chosen_seed(ctx: &Context<'_>, dataset: &str) -> Option<u64> {
    if let Some(seed) = ctx.opts.chosen_seed {
        return Some(seed);
    }
    ctx.inputs
        .catalog
        .runs
        .iter()
        .filter(|r| r.dataset == dataset && ctx.inputs.usable(r))
        .max_by_key(|r| (r.k, std::cmp::Reverse(r.seed)))
        .map(|r| r.seed)
}

/// What to tell a reader when the analysis tables are missing.
pub(crate) const NEEDS_ANALYSIS: &str = "analysis tables missing: run `eigensweep analyze OUT`";

/// Why a figure drawn from the analysis's pair tables has nothing for `dataset`, pointing at
/// what would help: the analysis not run; `store_weights` off (for the θ figures, and only
/// when it is off); runs with too few snapshots yet; or an analysis older than the runs.
pub(crate) fn why_no_pairs(ctx: &Context<'_>, dataset: &str, needs_theta: bool) -> String {
    use eigensweep_analysis::manifest::MANIFEST_FILE;
    if !ctx.inputs.analysis_dir().join(MANIFEST_FILE).exists() {
        return NEEDS_ANALYSIS.to_string();
    }
    let stores_theta = ctx
        .inputs
        .sweep
        .as_ref()
        .map(|s| s.sweep.resolved().snapshots.store_weights);
    if needs_theta && stores_theta == Some(false) {
        return "θ is not stored at every snapshot: set snapshots.store_weights: true in the \
                sweep file and run it into a new output (the runs' keys change), then \
                `eigensweep analyze OUT`"
            .to_string();
    }
    let optimizers = ctx.inputs.optimizers(dataset);
    let enough = optimizers.iter().any(|o| {
        ctx.inputs.runs(dataset, o).iter().any(|(_, r)| {
            let have = if needs_theta {
                r.theta_steps.len()
            } else {
                r.snapshots.len()
            };
            have >= 2
        })
    });
    if !enough {
        return "no run has two snapshots yet (runs not finished yet): run `eigensweep \
                analyze OUT` again when they have"
            .to_string();
    }
    "the analysis tables predate these runs' snapshots: run `eigensweep analyze OUT` again"
        .to_string()
}

/// Why the random baseline τ is absent for `dataset`.
pub(crate) fn why_no_baseline(ctx: &Context<'_>, dataset: &str) -> String {
    let wanted = ctx
        .inputs
        .sweep
        .as_ref()
        .map(|s| s.sweep.resolved().baseline.networks);
    let have = ctx
        .inputs
        .state
        .baselines
        .iter()
        .find(|b| b.dataset == dataset)
        .map_or(0, |b| b.networks);
    match wanted {
        Some(w) if w < 2 => {
            format!("no baseline τ: baseline.networks is {w}; set it ≥ 2 (the paper: 100)")
        }
        Some(w) if have < w => {
            format!("no baseline τ yet: {have} of {w} baseline networks done (not finished yet)")
        }
        Some(_) => "no baseline τ: run `eigensweep analyze OUT` (again)".to_string(),
        None => "no baseline τ (OUT/sweep.yaml unreadable)".to_string(),
    }
}
