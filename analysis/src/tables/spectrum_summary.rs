//! The `spectrum_summary` table (Fig. 3, 6, 15): IPR and eigenvalue over seeds, per step.

use super::columns::analysis_table;

analysis_table! {
    /// IPR and eigenvalue statistics over the runs of one (dataset, optimiser, index, step).
    SpectrumSummaryRow, table = "spectrum_summary",
    description = "One row per dataset, optimiser, eigen-index and snapshot step: IPR and eigenvalue mean, min and max over the runs (seeds) that have that snapshot.",
    {
        /// Dataset name.
        dataset: str = Utf8 "Dataset name.",
        /// Optimiser name.
        optimizer: str = Utf8 "Optimiser name from the sweep file.",
        /// Eigen-index.
        index: u32 = Int64 "1-based rank of the eigenpair.",
        /// Step.
        step: u64 = Int64 "Training step of the snapshot.",
        /// Runs.
        runs: u64 = Int64 "Runs (seeds) with a snapshot at this step.",
        /// IPR mean.
        ipr_mean: f64 = Float64 "Mean IPR Σ v_j⁴ over the runs.",
        /// IPR min.
        ipr_min: f64 = Float64 "Minimum IPR over the runs.",
        /// IPR max.
        ipr_max: f64 = Float64 "Maximum IPR over the runs.",
        /// λ mean.
        eigenvalue_mean: f64 = Float64 "Mean eigenvalue over the runs.",
        /// λ min.
        eigenvalue_min: f64 = Float64 "Minimum eigenvalue over the runs.",
        /// λ max.
        eigenvalue_max: f64 = Float64 "Maximum eigenvalue over the runs.",
    }
}
