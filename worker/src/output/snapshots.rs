//! The `snapshots` table: one row per snapshot and eigen-index of a run.

use std::path::Path;

use arrow_array::{ArrayRef, RecordBatch};

use super::schema::{
    bools, col_bool, col_f32_lists, col_f64, col_u32, col_u64, col_utf8, f32_lists, f64s, int64s,
    utf8, ColumnSpec, ColumnType as T, TableRow, RUN_KEY_COLUMN,
};
use super::{read_parts, OutputError};

/// One eigenpair at one snapshot of one run, with its statistics.
///
/// The alignments are NaN where they are undefined and are stored as NaN (not null):
/// `grad_alignment` and `update_alignment` at a run's final snapshot, from which no step is
/// taken, and any alignment with a zero vector. Aggregate them with a `WHERE NOT isnan(...)`
/// filter in DuckDB.
#[derive(Debug, Clone, PartialEq)]
pub struct SnapshotRow {
    /// Key of the run (hash of its resolved configuration).
    pub run_key: String,
    /// Training step of the snapshot.
    pub step: u64,
    /// 1-based rank of the eigenpair (1 = largest eigenvalue).
    pub index: u32,
    /// Eigenvalue λ.
    pub eigenvalue: f64,
    /// ‖Hv − λv‖.
    pub residual: f64,
    /// Whether the pair met the tolerance.
    pub converged: bool,
    /// Hessian-vector products the snapshot's solve used.
    pub products: u32,
    /// Σ v_j⁴.
    pub ipr: f64,
    /// |cos(v, mini-batch gradient)|; NaN at the final step.
    pub grad_alignment: f64,
    /// |cos(v, full-batch gradient)|.
    pub full_grad_alignment: f64,
    /// |cos(v, θ_{t+1} − θ_t)|; NaN at the final step.
    pub update_alignment: f64,
    /// The unit eigenvector in the flat parameter layout.
    pub eigenvector: Vec<f32>,
}

const COLUMNS: &[ColumnSpec] = &[
    RUN_KEY_COLUMN,
    ColumnSpec::required("step", T::Int64, "Training step of the snapshot: the number of optimiser updates applied to θ."),
    ColumnSpec::required("index", T::Int64, "1-based rank of the eigenpair, by eigenvalue (1 = largest algebraic)."),
    ColumnSpec::required("eigenvalue", T::Float64, "Eigenvalue λ of the Hessian of the mean training loss over the Hessian's samples."),
    ColumnSpec::required("residual", T::Float64, "True residual ‖Hv − λv‖ of the pair when the solver stopped."),
    ColumnSpec::required("converged", T::Boolean, "Whether the pair met the tolerance: residual ≤ tol·|λ|."),
    ColumnSpec::required("products", T::Int64, "Hessian-vector products the eigensolver used for this snapshot (the same for every index)."),
    ColumnSpec::required("ipr", T::Float64, "Inverse participation ratio Σ v_j⁴ of the unit eigenvector, in [1/N, 1]."),
    ColumnSpec::required("grad_alignment", T::Float64, "|cos| between the eigenvector and the mini-batch gradient of the step taken from this θ; NaN at the run's final step (no step is taken from it)."),
    ColumnSpec::required("full_grad_alignment", T::Float64, "|cos| between the eigenvector and the full-batch gradient over the Hessian's samples; NaN if undefined."),
    ColumnSpec::required("update_alignment", T::Float64, "|cos| between the eigenvector and the update θ(t+1) − θ(t) of the step taken from this θ; NaN at the run's final step."),
    ColumnSpec::required("eigenvector", T::ListFloat32, "Unit eigenvector v in the flat parameter layout of PyTorch's parameters_to_vector (per layer: out×in weight row-major, then bias)."),
];

impl TableRow for SnapshotRow {
    const TABLE: &'static str = "snapshots";
    const DESCRIPTION: &'static str =
        "One row per eigen-snapshot and eigen-index of a training run: the Hessian eigenpair and its statistics.";

    fn columns() -> &'static [ColumnSpec] {
        COLUMNS
    }

    fn to_arrays(rows: &[Self]) -> Result<Vec<ArrayRef>, String> {
        Ok(vec![
            utf8(rows.iter().map(|r| r.run_key.as_str())),
            int64s("step", rows.iter().map(|r| r.step))?,
            int64s("index", rows.iter().map(|r| r.index))?,
            f64s(rows.iter().map(|r| r.eigenvalue)),
            f64s(rows.iter().map(|r| r.residual)),
            bools(rows.iter().map(|r| r.converged)),
            int64s("products", rows.iter().map(|r| r.products))?,
            f64s(rows.iter().map(|r| r.ipr)),
            f64s(rows.iter().map(|r| r.grad_alignment)),
            f64s(rows.iter().map(|r| r.full_grad_alignment)),
            f64s(rows.iter().map(|r| r.update_alignment)),
            f32_lists(rows.iter().map(|r| r.eigenvector.as_slice())),
        ])
    }

    fn from_batch(batch: &RecordBatch) -> Result<Vec<Self>, String> {
        let run_key = col_utf8(batch, "run_key")?;
        let step = col_u64(batch, "step")?;
        let index = col_u32(batch, "index")?;
        let eigenvalue = col_f64(batch, "eigenvalue")?;
        let residual = col_f64(batch, "residual")?;
        let converged = col_bool(batch, "converged")?;
        let products = col_u32(batch, "products")?;
        let ipr = col_f64(batch, "ipr")?;
        let grad_alignment = col_f64(batch, "grad_alignment")?;
        let full_grad_alignment = col_f64(batch, "full_grad_alignment")?;
        let update_alignment = col_f64(batch, "update_alignment")?;
        let eigenvector = col_f32_lists(batch, "eigenvector")?;
        Ok(run_key
            .into_iter()
            .zip(eigenvector)
            .enumerate()
            .map(|(i, (run_key, eigenvector))| SnapshotRow {
                run_key,
                step: step[i],
                index: index[i],
                eigenvalue: eigenvalue[i],
                residual: residual[i],
                converged: converged[i],
                products: products[i],
                ipr: ipr[i],
                grad_alignment: grad_alignment[i],
                full_grad_alignment: full_grad_alignment[i],
                update_alignment: update_alignment[i],
                eigenvector,
            })
            .collect())
    }
}

/// All snapshot rows of a run's `snapshots` directory, parts in order.
pub fn read_snapshot_rows(dir: &Path) -> Result<Vec<SnapshotRow>, OutputError> {
    read_parts(dir)
}
