//! The `alignment_summary` table (Fig. 2): run means of the alignments, over seeds.

eigensweep_worker::table! {
    /// The per-run mean alignments of one (dataset, optimiser, index), over its seeds.
    pub struct AlignmentSummaryRow;
    table = "alignment_summary",
    description = "One row per dataset, optimiser and eigen-index: the per-run mean alignments (run_alignment) averaged over seeds, with their spread.",
    {
        dataset: String = Utf8 "Dataset name.",
        optimizer: String = Utf8 "Optimiser name from the sweep file.",
        index: u32 = Int64 "1-based rank of the eigenpair.",
        runs: u64 = Int64 "Runs (seeds) with this index.",
        grad_alignment_mean: f64 = Float64 "Mean over runs of the run's mean gradient alignment.",
        grad_alignment_std: f64 = Float64 "Sample standard deviation over runs of the run's mean gradient alignment (NaN for one run).",
        update_alignment_mean: f64 = Float64 "Mean over runs of the run's mean update alignment.",
        update_alignment_std: f64 = Float64 "Sample standard deviation over runs of the run's mean update alignment (NaN for one run).",
    }
}
