//! The `density` table: the Hessian's eigenvalue density at each snapshot of a run whose sweep
//! asks for it (`snapshots.density`), as the Gauss quadrature nodes and weights of stochastic
//! Lanczos quadrature, one row per node of each probe, so that any broadening can be applied
//! when reading.

use std::path::Path;

use arrow_array::{ArrayRef, RecordBatch};

use super::schema::{
    col_f64, col_u64, col_utf8, f64s, int64s, utf8, ColumnSpec, ColumnType as T, TableRow,
};
use super::{read_parts, OutputError};

/// One Ritz node of one probe's quadrature at one snapshot.
#[derive(Debug, Clone, PartialEq)]
pub struct DensityRow {
    /// Key of the run.
    pub run_key: String,
    /// Training step of the snapshot.
    pub step: u64,
    /// Probe number (1-based).
    pub probe: u64,
    /// A Ritz value of the probe's Lanczos tridiagonal (an eigenvalue estimate).
    pub node: f64,
    /// Its quadrature weight; a probe's weights sum to 1.
    pub weight: f64,
}

const COLUMNS: &[ColumnSpec] = &[
    ColumnSpec::required("run_key", T::Utf8, "Key of the run: hash of its fully resolved configuration; joins `key` in runs.parquet."),
    ColumnSpec::required("step", T::Int64, "Training step of the snapshot (θ after this many updates); joins `step` in the snapshots table."),
    ColumnSpec::required("probe", T::Int64, "Probe number (1-based) of stochastic Lanczos quadrature (Ubaru, Chen & Saad 2017; PyHessian's density): a Rademacher vector from the run seed's density stream, one sub-stream per snapshot."),
    ColumnSpec::required("node", T::Float64, "A Ritz node: an eigenvalue of the probe's Lanczos tridiagonal (snapshots.density.steps steps, full reorthogonalisation) of the loss Hessian on the snapshot's Hessian samples."),
    ColumnSpec::required("weight", T::Float64, "The node's Gauss quadrature weight (squared first component of its tridiagonal eigenvector); a probe's weights sum to 1. The density is the mean over probes of Σ weight·δ(λ − node), broadened (e.g. Gaussian) when drawn."),
];

impl TableRow for DensityRow {
    const TABLE: &'static str = "density";
    const DESCRIPTION: &'static str =
        "One row per Ritz node of each stochastic Lanczos quadrature probe at each snapshot of a run with snapshots.density set: the Hessian's eigenvalue density before broadening.";

    fn columns() -> &'static [ColumnSpec] {
        COLUMNS
    }

    fn to_arrays(rows: &[Self]) -> Result<Vec<ArrayRef>, String> {
        Ok(vec![
            utf8(rows.iter().map(|r| r.run_key.as_str())),
            int64s("step", rows.iter().map(|r| r.step))?,
            int64s("probe", rows.iter().map(|r| r.probe))?,
            f64s(rows.iter().map(|r| r.node)),
            f64s(rows.iter().map(|r| r.weight)),
        ])
    }

    fn from_batch(batch: &RecordBatch) -> Result<Vec<Self>, String> {
        let run_key = col_utf8(batch, "run_key")?;
        let step = col_u64(batch, "step")?;
        let probe = col_u64(batch, "probe")?;
        let node = col_f64(batch, "node")?;
        let weight = col_f64(batch, "weight")?;
        Ok(run_key
            .into_iter()
            .enumerate()
            .map(|(i, run_key)| DensityRow {
                run_key,
                step: step[i],
                probe: probe[i],
                node: node[i],
                weight: weight[i],
            })
            .collect())
    }
}

/// All density rows of a run's `density` directory, parts in order (none when the directory
/// is missing: the run did not ask for the density).
pub fn read_density_rows(dir: &Path) -> Result<Vec<DensityRow>, OutputError> {
    read_parts(dir)
}
