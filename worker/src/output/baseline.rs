//! The `baseline` table: top eigenpairs of the Hessian at random initialisations.

use std::path::Path;

use super::read_parts;
use crate::WorkerError;

crate::table! {
    /// One eigenpair of one random-init network.
    pub struct BaselineRow;
    table = "baseline",
    description = "One row per random-initialisation network and eigen-index: the Hessian eigenpair at initialisation.",
    {
        dataset: String = Utf8 "Dataset whose training samples define the Hessian (equals the `dataset` hive partition).",
        network: u32 = Int64 "Number of the random-initialisation network within the dataset's baseline.",
        task_key: String = Utf8 "Key of the baseline task: hash of its resolved configuration; joins `key` in runs.parquet.",
        index: u32 = Int64 "1-based rank of the eigenpair, by eigenvalue (1 = largest algebraic).",
        eigenvalue: f64 = Float64 "Eigenvalue λ of the Hessian of the mean training loss at the random initialisation.",
        residual: f64 = Float64 "True residual ‖Hv − λv‖ of the pair when the solver stopped.",
        converged: bool = Boolean "Whether the pair met the tolerance: residual ≤ tol·|λ|.",
        products: u32 = Int64 "Hessian-vector products the eigensolver used for this network (the same for every index).",
        ipr: f64 = Float64 "Inverse participation ratio Σ v_j⁴ of the unit eigenvector, in [1/N, 1].",
        eigenvector: Vec<f32> = ListFloat32 "Unit eigenvector v in the flat parameter layout of PyTorch's parameters_to_vector (per layer: out×in weight row-major, then bias).",
    }
}

/// All baseline rows of a `baseline/dataset=D` directory, parts in order.
pub fn read_baseline_rows(dir: &Path) -> Result<Vec<BaselineRow>, WorkerError> {
    read_parts(dir)
}
