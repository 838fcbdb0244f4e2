//! The `convergence` table (Fig. 7): how close each eigenvector already is to the one the run
//! ends with.

use super::columns::analysis_table;

analysis_table! {
    /// |v(t_final)·v(t)| for one snapshot and index of a run.
    ConvergenceRow, table = "convergence",
    description = "One row per run, eigen-index and snapshot t: |v(t_final)·v(t)| with the run's last snapshot t_final (the latest one so far for a run in progress).",
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
        /// t.
        step: u64 = Int64 "Step t of the snapshot.",
        /// t_final.
        final_step: u64 = Int64 "Step t_final of the run's last snapshot.",
        /// The similarity.
        abs_cos: f64 = Float64 "|v(t_final)·v(t)| (1 at t = t_final).",
    }
}
