//! The error that fails a run, and how a marker file's I/O failure becomes one.

use std::path::{Path, PathBuf};

use thiserror::Error;

use super::checkpoint::CheckpointError;
use crate::eigen::EigenError;
use crate::memory::MemoryError;
use crate::mlp::ModelError;
use crate::output::OutputError;
use crate::snapshot::SnapshotError;

/// Errors that fail a run.
#[derive(Debug, Error)]
pub enum RunError {
    /// Model or tensor failure.
    #[error(transparent)]
    Model(#[from] ModelError),
    /// Eigen-snapshot failure.
    #[error(transparent)]
    Snapshot(#[from] SnapshotError),
    /// Writing a table failed.
    #[error(transparent)]
    Output(#[from] OutputError),
    /// Reading or writing the checkpoint failed.
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    /// File-system error on a marker file.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// The path.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The directory holds a checkpoint of a different configuration.
    #[error("{path} belongs to run {found}, not {expected}: refusing to mix outputs of different configurations")]
    ForeignCheckpoint {
        /// The checkpoint file.
        path: PathBuf,
        /// Its run key.
        found: String,
        /// This run's key.
        expected: String,
    },
    /// The run was started on another kind of device, whose arithmetic rounds differently.
    #[error("{path} was computed on {saved}, this launch uses {now}: resume with --device {saved} so the run's numbers come from one device (or remove the run's directory to restart it on {now})")]
    DeviceMismatch {
        /// The checkpoint file.
        path: PathBuf,
        /// Device kind of the earlier launch (`cpu` or `cuda`).
        saved: String,
        /// Device kind of this launch.
        now: String,
    },
    /// The run was started with another thread count, which changes its rounding.
    #[error("{path} was computed with {saved} threads per run, this launch uses {now}: resume with --threads-per-run {saved} so the run's numbers stay identical")]
    ThreadMismatch {
        /// The checkpoint file.
        path: PathBuf,
        /// Threads of the earlier launch.
        saved: u64,
        /// Threads of this launch.
        now: u64,
    },
    /// Inconsistent plan.
    #[error("invalid run plan: {0}")]
    Plan(String),
    /// The stop flag was set before the task could finish and it has nothing to checkpoint
    /// (a baseline network): nothing was written, the task is redone by the next launch.
    #[error("stopped by a signal before the task finished; nothing was written")]
    Interrupted,
    /// A large buffer of the task (its copy of the data) could not be allocated.
    #[error(transparent)]
    Memory(#[from] MemoryError),
}

impl RunError {
    /// The buffer that could not be allocated, where running out of memory is what failed
    /// the task (wherever it happened: the data's copy, the Hessian operator, the solver or
    /// its products).
    pub fn out_of_memory(&self) -> Option<&MemoryError> {
        fn model(e: &ModelError) -> Option<&MemoryError> {
            match e {
                ModelError::Memory(m) => Some(m),
                _ => None,
            }
        }
        match self {
            RunError::Memory(m) => Some(m),
            RunError::Model(e) => model(e),
            RunError::Snapshot(SnapshotError::Model(e)) => model(e),
            RunError::Snapshot(SnapshotError::Eigen(EigenError::Memory(m))) => Some(m),
            _ => None,
        }
    }
}

/// Turns an I/O failure on a marker file or the run's directory into [`RunError::Io`], naming
/// what was being done and the path, for a `map_err` at each call.
pub(super) fn marker_io<'a>(
    action: &'static str,
    path: &'a Path,
) -> impl FnOnce(std::io::Error) -> RunError + 'a {
    move |source| RunError::Io {
        action,
        path: path.to_path_buf(),
        source,
    }
}
