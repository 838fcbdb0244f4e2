//! The `run_alignment` table (Fig. 2, 13, 14 per run): alignments averaged over training.

use super::columns::analysis_table;

analysis_table! {
    /// Mean gradient and update alignment of one run and index over its snapshots.
    RunAlignmentRow, table = "run_alignment",
    description = "One row per run and eigen-index: the gradient and update alignments averaged over the run's snapshots (NaN values, at the final step, left out).",
    {
        /// Key of the run.
        run_key: str = Utf8 "Key of the run: joins `key` in runs.parquet.",
        /// Dataset name.
        dataset: str = Utf8 "Dataset name.",
        /// Optimiser name.
        optimizer: str = Utf8 "Optimiser name from the sweep file.",
        /// Seed.
        seed: u64 = Int64 "Seed of the run.",
        /// Eigen-index.
        index: u32 = Int64 "1-based rank of the eigenpair.",
        /// Snapshots averaged.
        snapshots: u64 = Int64 "Snapshots with a defined (non-NaN) mini-batch gradient alignment.",
        /// Mean a_grad.
        mean_grad_alignment: f64 = Float64 "Mean over snapshots of |cos(v, mini-batch gradient)| (Eq. 7).",
        /// Mean a_upd.
        mean_update_alignment: f64 = Float64 "Mean over snapshots of |cos(v, θ(t+1) − θ(t))| (Eq. 8).",
        /// Mean full-batch alignment.
        mean_full_grad_alignment: f64 = Float64 "Mean over snapshots of |cos(v, full-batch gradient)|.",
    }
}
