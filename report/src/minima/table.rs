//! The minima comparison's tables under `OUT/minima/`, in the worker's table conventions
//! (column descriptions in the metadata, written to a temporary name and renamed).

use arrow_array::{ArrayRef, RecordBatch};
use eigensweep_worker::output::schema::{
    bools, col_bool, col_f64, col_u32, col_u64, col_utf8, f64s, int64s, utf8, ColumnSpec,
    ColumnType as T,
};
use eigensweep_worker::output::TableRow;

/// Directory (under `OUT`) of the minima tables.
pub const MINIMA_DIR: &str = "minima";
/// File (under `OUT/minima`) of [`MinimumRow`]s.
pub const MINIMA_FILE: &str = "minima.parquet";
/// File (under `OUT/minima`) of [`InterpolationRow`]s.
pub const INTERPOLATION_FILE: &str = "interpolation.parquet";

/// The chosen minimum of one (dataset, optimiser) and its sharpness.
#[derive(Debug, Clone, PartialEq)]
pub struct MinimumRow {
    /// Dataset name.
    pub dataset: String,
    /// Optimiser name.
    pub optimizer: String,
    /// Seed of the run with the best final test accuracy.
    pub seed: u64,
    /// Its run key.
    pub run_key: String,
    /// Step of θ (the run's last).
    pub step: u64,
    /// Final test accuracy of the run (from its metrics).
    pub test_accuracy: f64,
    /// Mean cross-entropy on the training set at θ.
    pub train_loss: f64,
    /// Mean cross-entropy on the test set at θ.
    pub test_loss: f64,
    /// Mean cross-entropy on train+test (every sample weighted equally).
    pub loss: f64,
    /// λ1 of the training-loss Hessian (over the sweep's Hessian samples).
    pub lambda1: f64,
    /// ‖Hv − λ1 v‖.
    pub lambda1_residual: f64,
    /// Whether λ1 met the tolerance.
    pub lambda1_converged: bool,
    /// Hessian samples λ1 was computed on.
    pub hessian_samples: u64,
    /// ε of the box.
    pub epsilon: f64,
    /// Projected gradient-ascent iterations.
    pub sharpness_iterations: u32,
    /// max L(θ + y) found in the box, training set.
    pub sharpness_max_loss: f64,
    /// ε-sharpness: (max L(θ + y) − L(θ)) / (1 + L(θ)) × 100, training set.
    pub sharpness: f64,
}

const MINIMUM_COLUMNS: &[ColumnSpec] = &[
    ColumnSpec::required("dataset", T::Utf8, "Dataset name."),
    ColumnSpec::required("optimizer", T::Utf8, "Optimiser name from the sweep file."),
    ColumnSpec::required("seed", T::Int64, "Seed of the optimiser's run with the best final test accuracy (ties: smallest seed)."),
    ColumnSpec::required("run_key", T::Utf8, "Key of that run: joins `key` in runs.parquet."),
    ColumnSpec::required("step", T::Int64, "Training step of θ: the run's last step (θ there is always stored)."),
    ColumnSpec::required("test_accuracy", T::Float64, "The run's final test accuracy, from its metrics table."),
    ColumnSpec::required("train_loss", T::Float64, "Mean cross-entropy on the training set at θ (float64)."),
    ColumnSpec::required("test_loss", T::Float64, "Mean cross-entropy on the test set at θ (float64)."),
    ColumnSpec::required("loss", T::Float64, "Mean cross-entropy on train+test at θ, every sample weighted equally (Fig. 8's loss at α = 0 or 1)."),
    ColumnSpec::required("lambda1", T::Float64, "Largest eigenvalue of the Hessian of the training loss over the sweep's Hessian samples."),
    ColumnSpec::required("lambda1_residual", T::Float64, "Residual ‖Hv − λ1 v‖ when the solver stopped."),
    ColumnSpec::required("lambda1_converged", T::Boolean, "Whether λ1 met the tolerance residual ≤ tol·|λ1|."),
    ColumnSpec::required("hessian_samples", T::Int64, "Training samples the Hessian averages over."),
    ColumnSpec::required("epsilon", T::Float64, "ε of the ε-sharpness box |y_j| ≤ ε(|θ_j| + 1)."),
    ColumnSpec::required("sharpness_iterations", T::Int64, "Projected gradient-ascent iterations of the ε-sharpness."),
    ColumnSpec::required("sharpness_max_loss", T::Float64, "Largest training loss L(θ + y) found in the box."),
    ColumnSpec::required("sharpness", T::Float64, "ε-sharpness (Keskar et al.): (max_y L(θ + y) − L(θ)) / (1 + L(θ)) × 100 on the training set."),
];

/// One point of the loss along the line between two minima.
#[derive(Debug, Clone, PartialEq)]
pub struct InterpolationRow {
    /// Dataset name.
    pub dataset: String,
    /// Optimiser of θ_A.
    pub optimizer_a: String,
    /// Optimiser of θ_B.
    pub optimizer_b: String,
    /// α: θ = α θ_A + (1 − α) θ_B.
    pub alpha: f64,
    /// Mean cross-entropy on the training set.
    pub train_loss: f64,
    /// Mean cross-entropy on the test set.
    pub test_loss: f64,
    /// Mean cross-entropy on train+test.
    pub loss: f64,
    /// Accuracy on train+test.
    pub accuracy: f64,
}

const INTERPOLATION_COLUMNS: &[ColumnSpec] = &[
    ColumnSpec::required("dataset", T::Utf8, "Dataset name."),
    ColumnSpec::required(
        "optimizer_a",
        T::Utf8,
        "Optimiser whose minimum θ_A is reached at α = 1.",
    ),
    ColumnSpec::required(
        "optimizer_b",
        T::Utf8,
        "Optimiser whose minimum θ_B is reached at α = 0.",
    ),
    ColumnSpec::required(
        "alpha",
        T::Float64,
        "α of θ = α θ_A + (1 − α) θ_B (Eq. 5), in [−1, 2].",
    ),
    ColumnSpec::required(
        "train_loss",
        T::Float64,
        "Mean cross-entropy on the training set at θ.",
    ),
    ColumnSpec::required(
        "test_loss",
        T::Float64,
        "Mean cross-entropy on the test set at θ.",
    ),
    ColumnSpec::required(
        "loss",
        T::Float64,
        "Mean cross-entropy on train+test at θ, every sample weighted equally.",
    ),
    ColumnSpec::required("accuracy", T::Float64, "Accuracy on train+test at θ."),
];

impl TableRow for MinimumRow {
    const TABLE: &'static str = "minima";
    const DESCRIPTION: &'static str = "One row per dataset and optimiser: the run with the best final test accuracy, the losses at its final θ, λ1 and the ε-sharpness there (Appendix B.2).";

    fn columns() -> &'static [ColumnSpec] {
        MINIMUM_COLUMNS
    }

    fn to_arrays(rows: &[Self]) -> Result<Vec<ArrayRef>, String> {
        Ok(vec![
            utf8(rows.iter().map(|r| r.dataset.as_str())),
            utf8(rows.iter().map(|r| r.optimizer.as_str())),
            int64s("seed", rows.iter().map(|r| r.seed))?,
            utf8(rows.iter().map(|r| r.run_key.as_str())),
            int64s("step", rows.iter().map(|r| r.step))?,
            f64s(rows.iter().map(|r| r.test_accuracy)),
            f64s(rows.iter().map(|r| r.train_loss)),
            f64s(rows.iter().map(|r| r.test_loss)),
            f64s(rows.iter().map(|r| r.loss)),
            f64s(rows.iter().map(|r| r.lambda1)),
            f64s(rows.iter().map(|r| r.lambda1_residual)),
            bools(rows.iter().map(|r| r.lambda1_converged)),
            int64s("hessian_samples", rows.iter().map(|r| r.hessian_samples))?,
            f64s(rows.iter().map(|r| r.epsilon)),
            int64s(
                "sharpness_iterations",
                rows.iter().map(|r| r.sharpness_iterations),
            )?,
            f64s(rows.iter().map(|r| r.sharpness_max_loss)),
            f64s(rows.iter().map(|r| r.sharpness)),
        ])
    }

    fn from_batch(batch: &RecordBatch) -> Result<Vec<Self>, String> {
        let dataset = col_utf8(batch, "dataset")?;
        let optimizer = col_utf8(batch, "optimizer")?;
        let seed = col_u64(batch, "seed")?;
        let run_key = col_utf8(batch, "run_key")?;
        let step = col_u64(batch, "step")?;
        let test_accuracy = col_f64(batch, "test_accuracy")?;
        let train_loss = col_f64(batch, "train_loss")?;
        let test_loss = col_f64(batch, "test_loss")?;
        let loss = col_f64(batch, "loss")?;
        let lambda1 = col_f64(batch, "lambda1")?;
        let lambda1_residual = col_f64(batch, "lambda1_residual")?;
        let converged = col_bool(batch, "lambda1_converged")?;
        let hessian_samples = col_u64(batch, "hessian_samples")?;
        let epsilon = col_f64(batch, "epsilon")?;
        let iterations = col_u32(batch, "sharpness_iterations")?;
        let max_loss = col_f64(batch, "sharpness_max_loss")?;
        let sharpness = col_f64(batch, "sharpness")?;
        Ok((0..batch.num_rows())
            .map(|i| MinimumRow {
                dataset: dataset[i].clone(),
                optimizer: optimizer[i].clone(),
                seed: seed[i],
                run_key: run_key[i].clone(),
                step: step[i],
                test_accuracy: test_accuracy[i],
                train_loss: train_loss[i],
                test_loss: test_loss[i],
                loss: loss[i],
                lambda1: lambda1[i],
                lambda1_residual: lambda1_residual[i],
                lambda1_converged: converged[i],
                hessian_samples: hessian_samples[i],
                epsilon: epsilon[i],
                sharpness_iterations: iterations[i],
                sharpness_max_loss: max_loss[i],
                sharpness: sharpness[i],
            })
            .collect())
    }
}

impl TableRow for InterpolationRow {
    const TABLE: &'static str = "interpolation";
    const DESCRIPTION: &'static str = "One row per dataset, pair of optimisers and α: the loss and accuracy at α θ_A + (1 − α) θ_B between the two optimisers' best minima (Eq. 5, Fig. 8).";

    fn columns() -> &'static [ColumnSpec] {
        INTERPOLATION_COLUMNS
    }

    fn to_arrays(rows: &[Self]) -> Result<Vec<ArrayRef>, String> {
        Ok(vec![
            utf8(rows.iter().map(|r| r.dataset.as_str())),
            utf8(rows.iter().map(|r| r.optimizer_a.as_str())),
            utf8(rows.iter().map(|r| r.optimizer_b.as_str())),
            f64s(rows.iter().map(|r| r.alpha)),
            f64s(rows.iter().map(|r| r.train_loss)),
            f64s(rows.iter().map(|r| r.test_loss)),
            f64s(rows.iter().map(|r| r.loss)),
            f64s(rows.iter().map(|r| r.accuracy)),
        ])
    }

    fn from_batch(batch: &RecordBatch) -> Result<Vec<Self>, String> {
        let dataset = col_utf8(batch, "dataset")?;
        let a = col_utf8(batch, "optimizer_a")?;
        let b = col_utf8(batch, "optimizer_b")?;
        let alpha = col_f64(batch, "alpha")?;
        let train_loss = col_f64(batch, "train_loss")?;
        let test_loss = col_f64(batch, "test_loss")?;
        let loss = col_f64(batch, "loss")?;
        let accuracy = col_f64(batch, "accuracy")?;
        Ok((0..batch.num_rows())
            .map(|i| InterpolationRow {
                dataset: dataset[i].clone(),
                optimizer_a: a[i].clone(),
                optimizer_b: b[i].clone(),
                alpha: alpha[i],
                train_loss: train_loss[i],
                test_loss: test_loss[i],
                loss: loss[i],
                accuracy: accuracy[i],
            })
            .collect())
    }
}
