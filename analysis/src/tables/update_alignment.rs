//! The `update_alignment_two_time` table (Eq. 6, Fig. 11): does the eigenvector at t_w point
//! along the whole update accumulated over the next t steps?

eigensweep_worker::table! {
    /// |v(t_w)ᵀ (θ(t_w + t) − θ(t_w))| / ‖θ(t_w + t) − θ(t_w)‖ for one pair and index.
    pub struct UpdateAlignmentRow;
    table = "update_alignment_two_time",
    description = "One row per run, eigen-index and pair t_w < t_w + t of snapshots whose θ was stored: the two-time update alignment |v(t_w)·(θ(t_w + t) − θ(t_w))| / ‖θ(t_w + t) − θ(t_w)‖ (Eq. 6).",
    {
        run_key: String = Utf8 "Key of the run: joins `key` in runs.parquet.",
        dataset: String = Utf8 "Dataset name.",
        optimizer: String = Utf8 "Optimiser name from the sweep file.",
        seed: u64 = Int64 "Seed of the run.",
        index: u32 = Int64 "1-based rank of the eigenpair whose eigenvector at t_w is used.",
        step_w: u64 = Int64 "Waiting time t_w: the step of the eigenvector and of the first θ.",
        step: u64 = Int64 "Step t_w + t of the second θ.",
        lag: u64 = Int64 "Lag t = step − step_w.",
        alignment: f64 = Float64 "|v(t_w)·(θ(t_w + t) − θ(t_w))| / ‖θ(t_w + t) − θ(t_w)‖, in [0, 1]; NaN if θ did not move.",
    }
}
