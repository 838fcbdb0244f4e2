//! The `spectrum_summary` table (Fig. 3, 6, 15): IPR and eigenvalue over seeds, per step.

eigensweep_worker::table! {
    /// IPR and eigenvalue statistics over the runs of one (dataset, optimiser, index, step).
    pub struct SpectrumSummaryRow;
    table = "spectrum_summary",
    description = "One row per dataset, optimiser, eigen-index and snapshot step: IPR and eigenvalue mean, min and max over the runs (seeds) that have that snapshot.",
    {
        dataset: String = Utf8 "Dataset name.",
        optimizer: String = Utf8 "Optimiser name from the sweep file.",
        index: u32 = Int64 "1-based rank of the eigenpair.",
        step: u64 = Int64 "Training step of the snapshot.",
        runs: u64 = Int64 "Runs (seeds) with a snapshot at this step.",
        ipr_mean: f64 = Float64 "Mean IPR Σ v_j⁴ over the runs.",
        ipr_min: f64 = Float64 "Minimum IPR over the runs.",
        ipr_max: f64 = Float64 "Maximum IPR over the runs.",
        eigenvalue_mean: f64 = Float64 "Mean eigenvalue over the runs.",
        eigenvalue_min: f64 = Float64 "Minimum eigenvalue over the runs.",
        eigenvalue_max: f64 = Float64 "Maximum eigenvalue over the runs.",
    }
}
