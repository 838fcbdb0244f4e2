//! The `metrics` table: per-step training metrics of a run, with evaluations at the eval
//! schedule.

use std::path::Path;

use super::read_parts;
use super::schema::run_key_description;
use crate::WorkerError;

crate::table! {
    /// The metrics of one training step; the evaluation fields are `Some` only at eval steps
    /// (null in the file otherwise).
    pub struct MetricRow;
    table = "metrics",
    description = "One row per logged training step of a run: mini-batch loss, gradient and update norms, and full evaluations at the eval schedule.",
    {
        run_key: String = Utf8 run_key_description!(),
        step: u64 = Int64 "Training step: the number of optimiser updates applied to θ before this step's update.",
        batch_loss: Option<f64> = Float64 "Mean cross-entropy on this step's mini-batch, before the update; null at the run's final step (no update is taken from it).",
        grad_norm: Option<f64> = Float64 "Euclidean norm of this step's mini-batch gradient; null at the final step.",
        update_norm: Option<f64> = Float64 "Euclidean norm of this step's parameter update θ(t+1) − θ(t); null at the final step.",
        train_loss: Option<f64> = Float64 "Mean cross-entropy on the full training set at θ(t); null except at eval steps.",
        train_accuracy: Option<f64> = Float64 "Accuracy (fraction in [0, 1]) on the full training set at θ(t); null except at eval steps.",
        test_loss: Option<f64> = Float64 "Mean cross-entropy on the test set at θ(t); null except at eval steps.",
        test_accuracy: Option<f64> = Float64 "Accuracy (fraction in [0, 1]) on the test set at θ(t); null except at eval steps.",
    }
}

/// All metric rows of a run's `metrics` directory, parts in order.
pub fn read_metric_rows(dir: &Path) -> Result<Vec<MetricRow>, WorkerError> {
    read_parts(dir)
}
