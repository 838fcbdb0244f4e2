//! The `run_alignment` table (Fig. 2, 13, 14 per run): alignments averaged over training.

eigensweep_worker::table! {
    /// Mean gradient and update alignment of one run and index over its snapshots.
    pub struct RunAlignmentRow;
    table = "run_alignment",
    description = "One row per run and eigen-index: the gradient and update alignments averaged over the run's snapshots (NaN values, at the final step, left out).",
    {
        run_key: String = Utf8 "Key of the run: joins `key` in runs.parquet.",
        dataset: String = Utf8 "Dataset name.",
        optimizer: String = Utf8 "Optimiser name from the sweep file.",
        seed: u64 = Int64 "Seed of the run.",
        index: u32 = Int64 "1-based rank of the eigenpair.",
        snapshots: u64 = Int64 "Snapshots with a defined (non-NaN) mini-batch gradient alignment.",
        mean_grad_alignment: f64 = Float64 "Mean over snapshots of |cos(v, mini-batch gradient)| (Eq. 7).",
        mean_update_alignment: f64 = Float64 "Mean over snapshots of |cos(v, θ(t+1) − θ(t))| (Eq. 8).",
        mean_full_grad_alignment: f64 = Float64 "Mean over snapshots of |cos(v, full-batch gradient)|.",
    }
}
