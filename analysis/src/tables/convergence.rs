//! The `convergence` table (Fig. 7): how close each eigenvector already is to the one the run
//! ends with.

eigensweep_worker::table! {
    /// |v(t_final)·v(t)| for one snapshot and index of a run.
    pub struct ConvergenceRow;
    table = "convergence",
    description = "One row per run, eigen-index and snapshot t: |v(t_final)·v(t)| with the run's last snapshot t_final (the latest one so far for a run in progress).",
    {
        run_key: String = Utf8 "Key of the run: joins `key` in runs.parquet.",
        dataset: String = Utf8 "Dataset name.",
        optimizer: String = Utf8 "Optimiser name from the sweep file.",
        seed: u64 = Int64 "Seed of the run.",
        index: u32 = Int64 "1-based rank of the eigenpair.",
        step: u64 = Int64 "Step t of the snapshot.",
        final_step: u64 = Int64 "Step t_final of the run's last snapshot.",
        abs_cos: f64 = Float64 "|v(t_final)·v(t)| (1 at t = t_final).",
    }
}
