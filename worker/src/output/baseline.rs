//! The `baseline` table: top eigenpairs of the Hessian at random initialisations.

use std::path::Path;

use arrow_array::{ArrayRef, RecordBatch};

use super::schema::{
    bools, col_bool, col_f32_lists, col_f64, col_u32, col_utf8, f32_lists, f64s, int64s, utf8,
    ColumnSpec, ColumnType as T, TableRow,
};
use super::{read_parts, OutputError};

/// One eigenpair of one random-init network.
#[derive(Debug, Clone, PartialEq)]
pub struct BaselineRow {
    /// Dataset whose training samples define the Hessian.
    pub dataset: String,
    /// Number of the network within the dataset's baseline.
    pub network: u32,
    /// Key of the baseline task.
    pub task_key: String,
    /// 1-based rank of the eigenpair.
    pub index: u32,
    /// Eigenvalue λ.
    pub eigenvalue: f64,
    /// ‖Hv − λv‖.
    pub residual: f64,
    /// Whether the pair met the tolerance.
    pub converged: bool,
    /// Hessian-vector products the solve used.
    pub products: u32,
    /// Σ v_j⁴.
    pub ipr: f64,
    /// The unit eigenvector in the flat parameter layout.
    pub eigenvector: Vec<f32>,
}

const COLUMNS: &[ColumnSpec] = &[
    ColumnSpec::required("dataset", T::Utf8, "Dataset whose training samples define the Hessian (equals the `dataset` hive partition)."),
    ColumnSpec::required("network", T::Int64, "Number of the random-initialisation network within the dataset's baseline."),
    ColumnSpec::required("task_key", T::Utf8, "Key of the baseline task: hash of its resolved configuration; joins `key` in runs.parquet."),
    ColumnSpec::required("index", T::Int64, "1-based rank of the eigenpair, by eigenvalue (1 = largest algebraic)."),
    ColumnSpec::required("eigenvalue", T::Float64, "Eigenvalue λ of the Hessian of the mean training loss at the random initialisation."),
    ColumnSpec::required("residual", T::Float64, "True residual ‖Hv − λv‖ of the pair when the solver stopped."),
    ColumnSpec::required("converged", T::Boolean, "Whether the pair met the tolerance: residual ≤ tol·|λ|."),
    ColumnSpec::required("products", T::Int64, "Hessian-vector products the eigensolver used for this network (the same for every index)."),
    ColumnSpec::required("ipr", T::Float64, "Inverse participation ratio Σ v_j⁴ of the unit eigenvector, in [1/N, 1]."),
    ColumnSpec::required("eigenvector", T::ListFloat32, "Unit eigenvector v in the flat parameter layout of PyTorch's parameters_to_vector (per layer: out×in weight row-major, then bias)."),
];

impl TableRow for BaselineRow {
    const TABLE: &'static str = "baseline";
    const DESCRIPTION: &'static str =
        "One row per random-initialisation network and eigen-index: the Hessian eigenpair at initialisation.";

    fn columns() -> &'static [ColumnSpec] {
        COLUMNS
    }

    fn to_arrays(rows: &[Self]) -> Result<Vec<ArrayRef>, String> {
        Ok(vec![
            utf8(rows.iter().map(|r| r.dataset.as_str())),
            int64s("network", rows.iter().map(|r| r.network))?,
            utf8(rows.iter().map(|r| r.task_key.as_str())),
            int64s("index", rows.iter().map(|r| r.index))?,
            f64s(rows.iter().map(|r| r.eigenvalue)),
            f64s(rows.iter().map(|r| r.residual)),
            bools(rows.iter().map(|r| r.converged)),
            int64s("products", rows.iter().map(|r| r.products))?,
            f64s(rows.iter().map(|r| r.ipr)),
            f32_lists(rows.iter().map(|r| r.eigenvector.as_slice())),
        ])
    }

    fn from_batch(batch: &RecordBatch) -> Result<Vec<Self>, String> {
        let dataset = col_utf8(batch, "dataset")?;
        let network = col_u32(batch, "network")?;
        let task_key = col_utf8(batch, "task_key")?;
        let index = col_u32(batch, "index")?;
        let eigenvalue = col_f64(batch, "eigenvalue")?;
        let residual = col_f64(batch, "residual")?;
        let converged = col_bool(batch, "converged")?;
        let products = col_u32(batch, "products")?;
        let ipr = col_f64(batch, "ipr")?;
        let eigenvector = col_f32_lists(batch, "eigenvector")?;
        Ok(dataset
            .into_iter()
            .zip(task_key)
            .zip(eigenvector)
            .enumerate()
            .map(|(i, ((dataset, task_key), eigenvector))| BaselineRow {
                dataset,
                network: network[i],
                task_key,
                index: index[i],
                eigenvalue: eigenvalue[i],
                residual: residual[i],
                converged: converged[i],
                products: products[i],
                ipr: ipr[i],
                eigenvector,
            })
            .collect())
    }
}

/// All baseline rows of a `baseline/dataset=D` directory, parts in order.
pub fn read_baseline_rows(dir: &Path) -> Result<Vec<BaselineRow>, OutputError> {
    read_parts(dir)
}
