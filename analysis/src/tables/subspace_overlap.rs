//! The `subspace_overlap` table: how much of the top-k space survives between two snapshots,
//! robust to eigenvectors swapping or rotating inside it.

eigensweep_worker::table! {
    /// ‖V(t_w)ᵀV(t_w + t)‖_F²/k for one snapshot pair of a run.
    pub struct SubspaceOverlapRow;
    table = "subspace_overlap",
    description = "One row per run and snapshot pair t_w < t_w + t: the overlap ‖V(t_w)ᵀ V(t_w + t)‖_F² / k of the top-k eigenvector blocks (1 = same subspace, ≈ k/N = unrelated).",
    {
        run_key: String = Utf8 "Key of the run: joins `key` in runs.parquet.",
        dataset: String = Utf8 "Dataset name.",
        optimizer: String = Utf8 "Optimiser name from the sweep file.",
        seed: u64 = Int64 "Seed of the run.",
        k: u32 = Int64 "Number of eigenvectors in each block: the indices present at both snapshots.",
        step_w: u64 = Int64 "Waiting time t_w: the step of the earlier snapshot.",
        step: u64 = Int64 "Step t_w + t of the later snapshot.",
        lag: u64 = Int64 "Lag t = step − step_w.",
        overlap: f64 = Float64 "‖V(t_w)ᵀ V(t_w + t)‖_F² / k = Σ_ij (v_i(t_w)·v_j(t_w + t))² / k, in [0, 1].",
    }
}
