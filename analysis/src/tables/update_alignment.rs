//! The `update_alignment_two_time` table (Eq. 6, Fig. 11): does the eigenvector at t_w point
//! along the whole update accumulated over the next t steps?

use super::columns::analysis_table;

analysis_table! {
    /// |v(t_w)ᵀ (θ(t_w + t) − θ(t_w))| / ‖θ(t_w + t) − θ(t_w)‖ for one pair and index.
    UpdateAlignmentRow, table = "update_alignment_two_time",
    description = "One row per run, eigen-index and pair t_w < t_w + t of snapshots whose θ was stored: the two-time update alignment |v(t_w)·(θ(t_w + t) − θ(t_w))| / ‖θ(t_w + t) − θ(t_w)‖ (Eq. 6).",
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
        index: u32 = Int64 "1-based rank of the eigenpair whose eigenvector at t_w is used.",
        /// Earlier step.
        step_w: u64 = Int64 "Waiting time t_w: the step of the eigenvector and of the first θ.",
        /// Later step.
        step: u64 = Int64 "Step t_w + t of the second θ.",
        /// t.
        lag: u64 = Int64 "Lag t = step − step_w.",
        /// The alignment.
        alignment: f64 = Float64 "|v(t_w)·(θ(t_w + t) − θ(t_w))| / ‖θ(t_w + t) − θ(t_w)‖, in [0, 1]; NaN if θ did not move.",
    }
}
