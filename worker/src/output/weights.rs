//! The `weights` table: θ at each snapshot of a run (when the sweep stores it).

use std::path::Path;

use arrow_array::{ArrayRef, RecordBatch};

use super::schema::{
    col_f32_lists, col_u64, col_utf8, f32_lists, int64s, utf8, ColumnSpec, ColumnType as T,
    TableRow, RUN_KEY_COLUMN,
};
use super::{read_parts, OutputError};

/// The parameters of a run at one snapshot.
#[derive(Debug, Clone, PartialEq)]
pub struct WeightRow {
    /// Key of the run.
    pub run_key: String,
    /// Training step of the snapshot.
    pub step: u64,
    /// The flat parameter vector.
    pub theta: Vec<f32>,
}

const COLUMNS: &[ColumnSpec] = &[
    RUN_KEY_COLUMN,
    ColumnSpec::required("step", T::Int64, "Training step of the snapshot: the number of optimiser updates applied to θ."),
    ColumnSpec::required("theta", T::ListFloat32, "Flat parameter vector θ in PyTorch's parameters_to_vector layout (per layer: out×in weight row-major, then bias)."),
];

impl TableRow for WeightRow {
    const TABLE: &'static str = "weights";
    const DESCRIPTION: &'static str =
        "One row per eigen-snapshot of a run: the parameters θ there.";

    fn columns() -> &'static [ColumnSpec] {
        COLUMNS
    }

    fn to_arrays(rows: &[Self]) -> Result<Vec<ArrayRef>, String> {
        Ok(vec![
            utf8(rows.iter().map(|r| r.run_key.as_str())),
            int64s("step", rows.iter().map(|r| r.step))?,
            f32_lists(rows.iter().map(|r| r.theta.as_slice())),
        ])
    }

    fn from_batch(batch: &RecordBatch) -> Result<Vec<Self>, String> {
        let run_key = col_utf8(batch, "run_key")?;
        let step = col_u64(batch, "step")?;
        let theta = col_f32_lists(batch, "theta")?;
        Ok(run_key
            .into_iter()
            .zip(step)
            .zip(theta)
            .map(|((run_key, step), theta)| WeightRow {
                run_key,
                step,
                theta,
            })
            .collect())
    }
}

/// All weight rows of a run's `weights` directory, parts in order.
pub fn read_weight_rows(dir: &Path) -> Result<Vec<WeightRow>, OutputError> {
    read_parts(dir)
}
