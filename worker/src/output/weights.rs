//! The `weights` table: θ at each snapshot of a run (when the sweep stores it).

use std::path::Path;

use super::read_parts;
use super::schema::run_key_description;
use crate::WorkerError;

crate::table! {
    /// The parameters of a run at one snapshot.
    pub struct WeightRow;
    table = "weights",
    description = "One row per eigen-snapshot of a run: the parameters θ there.",
    {
        run_key: String = Utf8 run_key_description!(),
        step: u64 = Int64 "Training step of the snapshot: the number of optimiser updates applied to θ.",
        theta: Vec<f32> = ListFloat32 "Flat parameter vector θ in PyTorch's parameters_to_vector layout (per layer: out×in weight row-major, then bias).",
    }
}

/// All weight rows of a run's `weights` directory, parts in order.
pub fn read_weight_rows(dir: &Path) -> Result<Vec<WeightRow>, WorkerError> {
    read_parts(dir)
}
