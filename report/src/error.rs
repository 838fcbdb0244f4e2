//! What can go wrong while reading a sweep's tables, computing the minima comparison or
//! writing the report; every message names the file or the quantity concerned.

use std::path::{Path, PathBuf};

use thiserror::Error;

/// Errors of [`crate::report`] and [`crate::minima`].
#[derive(Debug, Error)]
pub enum ReportError {
    /// A file-system operation failed.
    #[error("{action} {}: {source}", path.display())]
    Io {
        /// What was being done.
        action: &'static str,
        /// The path concerned.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A worker table could not be read or written.
    #[error(transparent)]
    Output(#[from] eigensweep_worker::WorkerError),
    /// The analysis crate could not scan the output directory.
    #[error(transparent)]
    Analysis(#[from] eigensweep_analysis::AnalysisError),
    /// A Parquet file could not be read.
    #[error("reading {}: {message}", path.display())]
    Parquet {
        /// The file.
        path: PathBuf,
        /// What parquet or arrow said.
        message: String,
    },
    /// `OUT/sweep.yaml` is missing or invalid.
    #[error("reading the sweep {}: {message}", path.display())]
    Sweep {
        /// The sweep file.
        path: PathBuf,
        /// Why it could not be used.
        message: String,
    },
    /// The output directory does not hold what the step needs.
    #[error("{}: {message}", path.display())]
    Data {
        /// The directory or file concerned.
        path: PathBuf,
        /// What is missing or inconsistent.
        message: String,
    },
    /// A model computation (loss, gradient, Hessian product) failed.
    #[error("{context}: {source}")]
    Model {
        /// Which minimum or interpolation point.
        context: String,
        /// The cause (boxed, so that it does not make every `Result<_, ReportError>` larger).
        #[source]
        source: Box<eigensweep_worker::WorkerError>,
    },
    /// The eigensolver failed on a minimum's Hessian.
    #[error("{context}: {source}")]
    Eigen {
        /// Which minimum.
        context: String,
        /// The cause (boxed, as [`ReportError::Model`]'s).
        #[source]
        source: Box<eigensweep_worker::WorkerError>,
    },
    /// Drawing a figure failed.
    #[error("drawing {figure}: {message}")]
    Draw {
        /// The figure's file stem.
        figure: String,
        /// What plotters said.
        message: String,
    },
    /// A stop was requested (a signal) and the step ended early. Nothing half-done was
    /// written: running it again redoes what is missing.
    #[error("{step} was stopped before it finished")]
    Interrupted {
        /// What was stopped ("the minima comparison", "the report").
        step: &'static str,
    },
    /// The seed chosen for the single-run figures is not one of the runs'.
    #[error(
        "seed {seed} (chosen for the single-run figures): no run with snapshots has it; the \
         runs' seeds are {}",
        seeds.iter().map(u64::to_string).collect::<Vec<_>>().join(", ")
    )]
    UnknownSeed {
        /// The seed asked for.
        seed: u64,
        /// The seeds of the runs with snapshots, ascending.
        seeds: Vec<u64>,
    },
    /// An option outside its valid range.
    #[error("option `{option}`: {reason}")]
    Option {
        /// The option.
        option: &'static str,
        /// Why it is rejected.
        reason: String,
    },
}

impl ReportError {
    pub(crate) fn io(action: &'static str, path: &Path, source: std::io::Error) -> Self {
        ReportError::Io {
            action,
            path: path.to_path_buf(),
            source,
        }
    }

    pub(crate) fn data(path: &Path, message: impl Into<String>) -> Self {
        ReportError::Data {
            path: path.to_path_buf(),
            message: message.into(),
        }
    }

    pub(crate) fn parquet(path: &Path, message: impl ToString) -> Self {
        ReportError::Parquet {
            path: path.to_path_buf(),
            message: message.to_string(),
        }
    }
}
