//! The `metrics` table: per-step training metrics of a run, with evaluations at the eval
//! schedule.

use std::path::Path;

use arrow_array::{ArrayRef, RecordBatch};

use super::schema::{
    col_f64_opt, col_u64, col_utf8, f64_opt, int64s, utf8, ColumnSpec, ColumnType as T, TableRow,
    RUN_KEY_COLUMN,
};
use super::{read_parts, OutputError};

/// The metrics of one training step; the evaluation fields are `Some` only at eval steps
/// (null in the file otherwise).
#[derive(Debug, Clone, PartialEq)]
pub struct MetricRow {
    /// Key of the run.
    pub run_key: String,
    /// Training step.
    pub step: u64,
    /// Mini-batch loss of the step (`None` at the final step, from which no step is taken).
    pub batch_loss: Option<f64>,
    /// ‖mini-batch gradient‖ (`None` at the final step).
    pub grad_norm: Option<f64>,
    /// ‖θ_{t+1} − θ_t‖ (`None` at the final step).
    pub update_norm: Option<f64>,
    /// Full training-set loss (eval steps only).
    pub train_loss: Option<f64>,
    /// Full training-set accuracy (eval steps only).
    pub train_accuracy: Option<f64>,
    /// Test-set loss (eval steps only).
    pub test_loss: Option<f64>,
    /// Test-set accuracy (eval steps only).
    pub test_accuracy: Option<f64>,
}

const COLUMNS: &[ColumnSpec] = &[
    RUN_KEY_COLUMN,
    ColumnSpec::required("step", T::Int64, "Training step: the number of optimiser updates applied to θ before this step's update."),
    ColumnSpec::optional("batch_loss", T::Float64, "Mean cross-entropy on this step's mini-batch, before the update; null at the run's final step (no update is taken from it)."),
    ColumnSpec::optional("grad_norm", T::Float64, "Euclidean norm of this step's mini-batch gradient; null at the final step."),
    ColumnSpec::optional("update_norm", T::Float64, "Euclidean norm of this step's parameter update θ(t+1) − θ(t); null at the final step."),
    ColumnSpec::optional("train_loss", T::Float64, "Mean cross-entropy on the full training set at θ(t); null except at eval steps."),
    ColumnSpec::optional("train_accuracy", T::Float64, "Accuracy (fraction in [0, 1]) on the full training set at θ(t); null except at eval steps."),
    ColumnSpec::optional("test_loss", T::Float64, "Mean cross-entropy on the test set at θ(t); null except at eval steps."),
    ColumnSpec::optional("test_accuracy", T::Float64, "Accuracy (fraction in [0, 1]) on the test set at θ(t); null except at eval steps."),
];

impl TableRow for MetricRow {
    const TABLE: &'static str = "metrics";
    const DESCRIPTION: &'static str =
        "One row per logged training step of a run: mini-batch loss, gradient and update norms, and full evaluations at the eval schedule.";

    fn columns() -> &'static [ColumnSpec] {
        COLUMNS
    }

    fn to_arrays(rows: &[Self]) -> Result<Vec<ArrayRef>, String> {
        Ok(vec![
            utf8(rows.iter().map(|r| r.run_key.as_str())),
            int64s("step", rows.iter().map(|r| r.step))?,
            f64_opt(rows.iter().map(|r| r.batch_loss)),
            f64_opt(rows.iter().map(|r| r.grad_norm)),
            f64_opt(rows.iter().map(|r| r.update_norm)),
            f64_opt(rows.iter().map(|r| r.train_loss)),
            f64_opt(rows.iter().map(|r| r.train_accuracy)),
            f64_opt(rows.iter().map(|r| r.test_loss)),
            f64_opt(rows.iter().map(|r| r.test_accuracy)),
        ])
    }

    fn from_batch(batch: &RecordBatch) -> Result<Vec<Self>, String> {
        let run_key = col_utf8(batch, "run_key")?;
        let step = col_u64(batch, "step")?;
        let batch_loss = col_f64_opt(batch, "batch_loss")?;
        let grad_norm = col_f64_opt(batch, "grad_norm")?;
        let update_norm = col_f64_opt(batch, "update_norm")?;
        let train_loss = col_f64_opt(batch, "train_loss")?;
        let train_accuracy = col_f64_opt(batch, "train_accuracy")?;
        let test_loss = col_f64_opt(batch, "test_loss")?;
        let test_accuracy = col_f64_opt(batch, "test_accuracy")?;
        Ok(run_key
            .into_iter()
            .enumerate()
            .map(|(i, run_key)| MetricRow {
                run_key,
                step: step[i],
                batch_loss: batch_loss[i],
                grad_norm: grad_norm[i],
                update_norm: update_norm[i],
                train_loss: train_loss[i],
                train_accuracy: train_accuracy[i],
                test_loss: test_loss[i],
                test_accuracy: test_accuracy[i],
            })
            .collect())
    }
}

/// All metric rows of a run's `metrics` directory, parts in order.
pub fn read_metric_rows(dir: &Path) -> Result<Vec<MetricRow>, OutputError> {
    read_parts(dir)
}
