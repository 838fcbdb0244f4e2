//! The `weight_displacement` table (Fig. 10): how far θ moved between two snapshots.

use super::columns::analysis_table;

analysis_table! {
    /// (1/N)‖θ(t_w) − θ(t_w + t)‖² for one pair of snapshots with stored weights.
    WeightDisplacementRow, table = "weight_displacement",
    description = "One row per run and pair t_w < t_w + t of snapshots whose θ was stored: the weight displacement ‖θ(t_w) − θ(t_w + t)‖²/N.",
    {
        /// Key of the run.
        run_key: str = Utf8 "Key of the run: joins `key` in runs.parquet.",
        /// Dataset name.
        dataset: str = Utf8 "Dataset name.",
        /// Optimiser name.
        optimizer: str = Utf8 "Optimiser name from the sweep file.",
        /// Seed.
        seed: u64 = Int64 "Seed of the run.",
        /// Earlier step.
        step_w: u64 = Int64 "Waiting time t_w: the step of the earlier snapshot.",
        /// Later step.
        step: u64 = Int64 "Step t_w + t of the later snapshot.",
        /// t.
        lag: u64 = Int64 "Lag t = step − step_w.",
        /// Δ_w.
        delta_w: f64 = Float64 "Weight displacement ‖θ(t_w) − θ(t_w + t)‖² / N (not normalised by gradient noise).",
    }
}
