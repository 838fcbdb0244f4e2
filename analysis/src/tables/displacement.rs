//! The `displacement` table (Eq. 3, Fig. 1 and 9): every snapshot pair of a run and index.

eigensweep_worker::table! {
    /// The sign-invariant displacement of eigenvector `index` between two snapshots of a run.
    pub struct DisplacementRow;
    table = "displacement",
    description = "One row per run, eigen-index and snapshot pair t_w < t_w + t: |cos| between v(t_w) and v(t_w + t) and the displacement Δ = (2 − 2|cos|)/N.",
    {
        run_key: String = Utf8 "Key of the run: joins `key` in runs.parquet and `run_key` in the snapshots table.",
        dataset: String = Utf8 "Dataset name (the `dataset` partition of the run's tables).",
        optimizer: String = Utf8 "Optimiser name from the sweep file (the `optimizer` partition).",
        seed: u64 = Int64 "Seed of the run.",
        index: u32 = Int64 "1-based rank of the eigenpair (1 = largest eigenvalue).",
        step_w: u64 = Int64 "Waiting time t_w: the step of the earlier snapshot.",
        step: u64 = Int64 "Step t_w + t of the later snapshot.",
        lag: u64 = Int64 "Lag t = step − step_w (> 0).",
        abs_cos: f64 = Float64 "|v(t_w)·v(t_w + t)| of the two unit eigenvectors (sign-invariant).",
        delta: f64 = Float64 "Displacement Δ = min(‖v − v'‖², ‖v + v'‖²)/N = (2 − 2·abs_cos)/N (Eq. 3 with the sign choice of Appendix B.3).",
    }
}
