//! The `alignment_summary` table (Fig. 2): run means of the alignments, over seeds.

use super::columns::analysis_table;

analysis_table! {
    /// The per-run mean alignments of one (dataset, optimiser, index), over its seeds.
    AlignmentSummaryRow, table = "alignment_summary",
    description = "One row per dataset, optimiser and eigen-index: the per-run mean alignments (run_alignment) averaged over seeds, with their spread.",
    {
        /// Dataset name.
        dataset: str = Utf8 "Dataset name.",
        /// Optimiser name.
        optimizer: str = Utf8 "Optimiser name from the sweep file.",
        /// Eigen-index.
        index: u32 = Int64 "1-based rank of the eigenpair.",
        /// Runs.
        runs: u64 = Int64 "Runs (seeds) with this index.",
        /// Mean a_grad.
        grad_alignment_mean: f64 = Float64 "Mean over runs of the run's mean gradient alignment.",
        /// Std a_grad.
        grad_alignment_std: f64 = Float64 "Sample standard deviation over runs of the run's mean gradient alignment (NaN for one run).",
        /// Mean a_upd.
        update_alignment_mean: f64 = Float64 "Mean over runs of the run's mean update alignment.",
        /// Std a_upd.
        update_alignment_std: f64 = Float64 "Sample standard deviation over runs of the run's mean update alignment (NaN for one run).",
    }
}
