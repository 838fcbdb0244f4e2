//! The minima comparison's tables under `OUT/minima/`, in the worker's table conventions
//! (column descriptions in the metadata, written to a temporary name and renamed), each
//! declared once with [`eigensweep_worker::table!`].

/// Directory (under `OUT`) of the minima tables.
pub const MINIMA_DIR: &str = "minima";
/// File (under `OUT/minima`) of [`MinimumRow`]s.
pub const MINIMA_FILE: &str = "minima.parquet";
/// File (under `OUT/minima`) of [`InterpolationRow`]s.
pub const INTERPOLATION_FILE: &str = "interpolation.parquet";

eigensweep_worker::table! {
    /// The chosen minimum of one (dataset, optimiser) and its sharpness.
    pub struct MinimumRow;
    table = "minima",
    description = "One row per dataset and optimiser: the run with the best final test accuracy, the losses at its final θ, λ1 and the ε-sharpness there (Appendix B.2).",
    {
        dataset: String = Utf8 "Dataset name.",
        optimizer: String = Utf8 "Optimiser name from the sweep file.",
        seed: u64 = Int64 "Seed of the optimiser's run with the best final test accuracy (ties: smallest seed).",
        run_key: String = Utf8 "Key of that run: joins `key` in runs.parquet.",
        step: u64 = Int64 "Training step of θ: the run's last step (θ there is always stored).",
        test_accuracy: f64 = Float64 "The run's final test accuracy, from its metrics table.",
        train_loss: f64 = Float64 "Mean cross-entropy on the training set at θ (float64).",
        test_loss: f64 = Float64 "Mean cross-entropy on the test set at θ (float64).",
        loss: f64 = Float64 "Mean cross-entropy on train+test at θ, every sample weighted equally (Fig. 8's loss at α = 0 or 1).",
        lambda1: f64 = Float64 "Largest eigenvalue of the Hessian of the training loss over the sweep's Hessian samples.",
        lambda1_residual: f64 = Float64 "Residual ‖Hv − λ1 v‖ when the solver stopped.",
        lambda1_converged: bool = Boolean "Whether λ1 met the tolerance residual ≤ tol·|λ1|.",
        hessian_samples: u64 = Int64 "Training samples the Hessian averages over.",
        epsilon: f64 = Float64 "ε of the ε-sharpness box |y_j| ≤ ε(|θ_j| + 1).",
        sharpness_iterations: u32 = Int64 "Projected gradient-ascent iterations of the ε-sharpness.",
        sharpness_max_loss: f64 = Float64 "Largest training loss L(θ + y) found in the box.",
        sharpness: f64 = Float64 "ε-sharpness (Keskar et al.): (max_y L(θ + y) − L(θ)) / (1 + L(θ)) × 100 on the training set.",
    }
}

eigensweep_worker::table! {
    /// One point of the loss along the line between two minima.
    pub struct InterpolationRow;
    table = "interpolation",
    description = "One row per dataset, pair of optimisers and α: the loss and accuracy at α θ_A + (1 − α) θ_B between the two optimisers' best minima (Eq. 5, Fig. 8).",
    {
        dataset: String = Utf8 "Dataset name.",
        optimizer_a: String = Utf8 "Optimiser whose minimum θ_A is reached at α = 1.",
        optimizer_b: String = Utf8 "Optimiser whose minimum θ_B is reached at α = 0.",
        alpha: f64 = Float64 "α of θ = α θ_A + (1 − α) θ_B (Eq. 5), in [−1, 2].",
        train_loss: f64 = Float64 "Mean cross-entropy on the training set at θ.",
        test_loss: f64 = Float64 "Mean cross-entropy on the test set at θ.",
        loss: f64 = Float64 "Mean cross-entropy on train+test at θ, every sample weighted equally.",
        accuracy: f64 = Float64 "Accuracy on train+test at θ.",
    }
}

#[cfg(test)]
mod tests {
    use eigensweep_worker::output::schema::ColumnType;
    use eigensweep_worker::output::Row;

    use super::*;

    fn layout<R: Row>() -> Vec<(&'static str, ColumnType, bool)> {
        R::columns()
            .iter()
            .map(|c| (c.name, c.ty, c.nullable))
            .collect()
    }

    /// The files' column order and types, as they were before the tables were declared with
    /// `table!` (a reordering would change every minima file).
    #[test]
    fn columns_keep_their_order_and_types() {
        use ColumnType::{Boolean as B, Float64 as F, Int64 as I, Utf8 as U};
        assert_eq!(MinimumRow::TABLE, "minima");
        assert_eq!(
            layout::<MinimumRow>(),
            [
                ("dataset", U),
                ("optimizer", U),
                ("seed", I),
                ("run_key", U),
                ("step", I),
                ("test_accuracy", F),
                ("train_loss", F),
                ("test_loss", F),
                ("loss", F),
                ("lambda1", F),
                ("lambda1_residual", F),
                ("lambda1_converged", B),
                ("hessian_samples", I),
                ("epsilon", F),
                ("sharpness_iterations", I),
                ("sharpness_max_loss", F),
                ("sharpness", F),
            ]
            .map(|(n, t)| (n, t, false))
        );
        assert_eq!(InterpolationRow::TABLE, "interpolation");
        assert_eq!(
            layout::<InterpolationRow>(),
            [
                ("dataset", U),
                ("optimizer_a", U),
                ("optimizer_b", U),
                ("alpha", F),
                ("train_loss", F),
                ("test_loss", F),
                ("loss", F),
                ("accuracy", F),
            ]
            .map(|(n, t)| (n, t, false))
        );
    }

    #[test]
    fn rows_round_trip_through_a_batch() {
        let minima = vec![MinimumRow {
            dataset: "mnist".into(),
            optimizer: "sam".into(),
            seed: 3,
            run_key: "abc".into(),
            step: 1000,
            test_accuracy: 0.98,
            lambda1_converged: true,
            hessian_samples: 2048,
            sharpness_iterations: 10,
            sharpness: 1.5,
            ..MinimumRow::default()
        }];
        let batch = MinimumRow::to_batch(&minima).unwrap();
        assert_eq!(MinimumRow::from_batch(&batch).unwrap(), minima);
        let points = vec![InterpolationRow {
            dataset: "mnist".into(),
            optimizer_a: "sgd".into(),
            optimizer_b: "adam".into(),
            alpha: -0.5,
            accuracy: 0.5,
            ..InterpolationRow::default()
        }];
        let batch = InterpolationRow::to_batch(&points).unwrap();
        assert_eq!(InterpolationRow::from_batch(&batch).unwrap(), points);
    }

    #[test]
    fn a_seed_beyond_the_column_is_an_error_naming_it() {
        let row = MinimumRow {
            seed: u64::MAX,
            ..MinimumRow::default()
        };
        let err = MinimumRow::to_batch(&[row]).unwrap_err().to_string();
        assert!(err.contains("`seed`"), "{err}");
    }
}
