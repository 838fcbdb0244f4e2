//! The `preconditioned` table: the top eigenpairs' values of Adam's preconditioned Hessian
//! `P^(−1/2) H P^(−1/2)` at each snapshot of an Adam run whose sweep asks for them
//! (`snapshots.preconditioned`), next to the plain λ of the snapshots table.

use std::path::Path;

use arrow_array::{ArrayRef, RecordBatch};

use super::schema::{
    bools, col_bool, col_f64, col_u64, col_utf8, f64s, int64s, utf8, ColumnSpec, ColumnType as T,
    TableRow,
};
use super::{read_parts, OutputError};

/// One eigenvalue of the preconditioned Hessian at one snapshot.
#[derive(Debug, Clone, PartialEq)]
pub struct PreconditionedRow {
    /// Key of the run.
    pub run_key: String,
    /// Training step of the snapshot.
    pub step: u64,
    /// Eigen-index (1 = largest).
    pub index: u32,
    /// The eigenvalue.
    pub eigenvalue: f64,
    /// ‖Av − λv‖ of the returned pair, A = P^(−1/2) H P^(−1/2).
    pub residual: f64,
    /// Whether the pair met the tolerance.
    pub converged: bool,
    /// Hessian-vector products of the solve.
    pub products: u64,
}

const COLUMNS: &[ColumnSpec] = &[
    ColumnSpec::required("run_key", T::Utf8, "Key of the run: hash of its fully resolved configuration; joins `key` in runs.parquet."),
    ColumnSpec::required("step", T::Int64, "Training step of the snapshot (θ after this many updates); joins `step` in the snapshots table."),
    ColumnSpec::required("index", T::Int64, "Eigen-index, 1 = largest."),
    ColumnSpec::required("eigenvalue", T::Float64, "Eigenvalue of P^(−1/2) H P^(−1/2), with Adam's preconditioner P = diag(√v̂ + ε)/lr at this step (v̂ the bias-corrected second moment): the eigenvalues of P⁻¹H, the curvature Adam's update sees (index 1: the preconditioned sharpness of Cohen et al. 2022). Not defined at step 0 (no row)."),
    ColumnSpec::required("residual", T::Float64, "‖Av − λv‖ of the pair returned by the solver (A the preconditioned Hessian), as for the plain eigenpairs."),
    ColumnSpec::required("converged", T::Boolean, "Whether the pair met residual ≤ tol·|λ| (the snapshot's tol)."),
    ColumnSpec::required("products", T::Int64, "Hessian-vector products of this (cold-started) solve."),
];

impl TableRow for PreconditionedRow {
    const TABLE: &'static str = "preconditioned";
    const DESCRIPTION: &'static str =
        "One row per snapshot and eigen-index of an Adam run with snapshots.preconditioned set: the top eigenvalues of the preconditioned Hessian.";

    fn columns() -> &'static [ColumnSpec] {
        COLUMNS
    }

    fn to_arrays(rows: &[Self]) -> Result<Vec<ArrayRef>, String> {
        Ok(vec![
            utf8(rows.iter().map(|r| r.run_key.as_str())),
            int64s("step", rows.iter().map(|r| r.step))?,
            int64s("index", rows.iter().map(|r| u64::from(r.index)))?,
            f64s(rows.iter().map(|r| r.eigenvalue)),
            f64s(rows.iter().map(|r| r.residual)),
            bools(rows.iter().map(|r| r.converged)),
            int64s("products", rows.iter().map(|r| r.products))?,
        ])
    }

    fn from_batch(batch: &RecordBatch) -> Result<Vec<Self>, String> {
        let run_key = col_utf8(batch, "run_key")?;
        let step = col_u64(batch, "step")?;
        let index = col_u64(batch, "index")?;
        let eigenvalue = col_f64(batch, "eigenvalue")?;
        let residual = col_f64(batch, "residual")?;
        let converged = col_bool(batch, "converged")?;
        let products = col_u64(batch, "products")?;
        run_key
            .into_iter()
            .enumerate()
            .map(|(i, run_key)| {
                Ok(PreconditionedRow {
                    run_key,
                    step: step[i],
                    index: u32::try_from(index[i]).map_err(|e| format!("index: {e}"))?,
                    eigenvalue: eigenvalue[i],
                    residual: residual[i],
                    converged: converged[i],
                    products: products[i],
                })
            })
            .collect()
    }
}

/// All rows of a run's `preconditioned` directory, parts in order (none when the directory is
/// missing).
pub fn read_preconditioned_rows(dir: &Path) -> Result<Vec<PreconditionedRow>, OutputError> {
    read_parts(dir)
}
