//! The `weight_displacement` table (Fig. 10): how far θ moved between two snapshots.

eigensweep_worker::table! {
    /// (1/N)‖θ(t_w) − θ(t_w + t)‖² for one pair of snapshots with stored weights.
    pub struct WeightDisplacementRow;
    table = "weight_displacement",
    description = "One row per run and pair t_w < t_w + t of snapshots whose θ was stored: the weight displacement ‖θ(t_w) − θ(t_w + t)‖²/N.",
    {
        run_key: String = Utf8 "Key of the run: joins `key` in runs.parquet.",
        dataset: String = Utf8 "Dataset name.",
        optimizer: String = Utf8 "Optimiser name from the sweep file.",
        seed: u64 = Int64 "Seed of the run.",
        step_w: u64 = Int64 "Waiting time t_w: the step of the earlier snapshot.",
        step: u64 = Int64 "Step t_w + t of the later snapshot.",
        lag: u64 = Int64 "Lag t = step − step_w.",
        delta_w: f64 = Float64 "Weight displacement ‖θ(t_w) − θ(t_w + t)‖² / N (not normalised by gradient noise).",
    }
}
