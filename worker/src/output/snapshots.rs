//! The `snapshots` table: one row per snapshot and eigen-index of a run.

use std::path::Path;

use super::read_parts;
use super::schema::run_key_description;
use crate::WorkerError;

crate::table! {
    /// One eigenpair at one snapshot of one run, with its statistics.
    ///
    /// The alignments are NaN where they are undefined and are stored as NaN (not null):
    /// `grad_alignment` and `update_alignment` at a run's final snapshot, from which no step is
    /// taken, and any alignment with a zero vector. Aggregate them with a `WHERE NOT isnan(...)`
    /// filter in DuckDB.
    pub struct SnapshotRow;
    table = "snapshots",
    description = "One row per eigen-snapshot and eigen-index of a training run: the Hessian eigenpair and its statistics.",
    {
        run_key: String = Utf8 run_key_description!(),
        step: u64 = Int64 "Training step of the snapshot: the number of optimiser updates applied to θ.",
        index: u32 = Int64 "1-based rank of the eigenpair, by eigenvalue (1 = largest algebraic).",
        eigenvalue: f64 = Float64 "Eigenvalue λ of the Hessian of the mean training loss over the Hessian's samples.",
        residual: f64 = Float64 "True residual ‖Hv − λv‖ of the pair when the solver stopped.",
        converged: bool = Boolean "Whether the pair met the tolerance: residual ≤ tol·|λ|.",
        products: u32 = Int64 "Hessian-vector products the eigensolver used for this snapshot (the same for every index).",
        ipr: f64 = Float64 "Inverse participation ratio Σ v_j⁴ of the unit eigenvector, in [1/N, 1].",
        grad_alignment: f64 = Float64 "|cos| between the eigenvector and the mini-batch gradient of the step taken from this θ; NaN at the run's final step (no step is taken from it).",
        full_grad_alignment: f64 = Float64 "|cos| between the eigenvector and the full-batch gradient over the Hessian's samples; NaN if undefined.",
        update_alignment: f64 = Float64 "|cos| between the eigenvector and the update θ(t+1) − θ(t) of the step taken from this θ; NaN at the run's final step.",
        eigenvector: Vec<f32> = ListFloat32 "Unit eigenvector v in the flat parameter layout of PyTorch's parameters_to_vector (per layer: out×in weight row-major, then bias).",
    }
}

/// All snapshot rows of a run's `snapshots` directory, parts in order.
pub fn read_snapshot_rows(dir: &Path) -> Result<Vec<SnapshotRow>, WorkerError> {
    read_parts(dir)
}
