//! One run, end to end: training with eigen-snapshots, statistics, Parquet parts, checkpoints.
//!
//! [`execute`] is what a sweep calls for every (dataset, optimiser, seed). It owns the run's
//! directory (`…/dataset=D/optimizer=O/seed=S/`) and guarantees:
//! - resumability: a checkpoint every few snapshots records the exact state (parameters,
//!   optimiser moments, batch-order position, warm-start vectors, parts written); a restarted
//!   run drops any part written after its last checkpoint and continues, so its final tables
//!   hold exactly the rows of an uninterrupted run with the same thread count;
//! - no torn files: parts and checkpoints are written to a temporary name and renamed;
//! - a clear end state: `_SUCCESS` or `_DIVERGED` markers, so a finished run is skipped;
//! - continuation: a finished run can be turned into the run of a longer configuration that
//!   resumes from its last step ([`continue_finished_run`]).

mod baseline;
mod checkpoint;
mod ensemble;
mod executor;
mod extension;
mod launch;
mod plan;
mod plan_from_spec;
mod progress;
mod report;
mod start;
pub(crate) mod statistics;
mod table;
mod tables;

pub use baseline::{baseline_done, execute_baseline, BaselinePlan};
pub use checkpoint::Checkpoint;
pub use ensemble::{execute_ensemble, fusible, EnsembleOutcome, Progress};
pub use executor::execute;
pub use extension::{continue_finished_run, Continuation, Continued};
pub use plan::RunPlan;
pub use plan_from_spec::Checkpointing;
pub use progress::RunProgress;
pub use report::{RunReport, RunStatus, StageSeconds};
pub use tables::run_tables;

#[cfg(test)]
use plan::test_plan;

use std::path::Path;

use crate::WorkerError;

/// Turns an I/O failure on a marker file or the run's directory into
/// [`WorkerError::MarkerIo`], naming what was being done and the path, for a `map_err` at each
/// call.
fn marker_io<'a>(
    action: &'static str,
    path: &'a Path,
) -> impl FnOnce(std::io::Error) -> WorkerError + 'a {
    move |source| WorkerError::MarkerIo {
        action,
        path: path.to_path_buf(),
        source,
    }
}
