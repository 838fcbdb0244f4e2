//! The one error type of the analysis. Every message names the file, run or option at fault,
//! so that the CLI can print the chain and a person knows what to fix.

use std::path::PathBuf;

use eigensweep_worker::WorkerError;
use thiserror::Error;

/// What can go wrong while analysing an output directory.
#[derive(Debug, Error)]
pub enum AnalysisError {
    /// Reading or writing one of the Parquet tables failed (the inner error names the file).
    #[error(transparent)]
    Output(#[from] WorkerError),
    /// An operating-system error outside the table writers (listing directories, the
    /// manifest), with the path.
    #[error("{action} {}: {source}", path.display())]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A table holds data the analysis cannot use (mixed run keys in one run directory,
    /// eigenvectors of different lengths, a column of the wrong type).
    #[error("{}: {message}", path.display())]
    Data {
        /// The file or directory.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// `OUT` does not look like a sweep's output directory.
    #[error("{} is not a sweep output directory: {reason}", path.display())]
    NotAnOutput {
        /// The directory given.
        path: PathBuf,
        /// Why it is rejected.
        reason: String,
    },
    /// An option is out of range, e.g. `tile = 0`.
    #[error("invalid analysis option `{option}`: {reason}")]
    Option {
        /// The option's name.
        option: &'static str,
        /// Why it is rejected.
        reason: String,
    },
    /// The timely workers could not be started or one of them panicked.
    #[error("dataflow engine: {0}")]
    Engine(String),
    /// A tile-pair job failed. Jobs run on any worker of any process and only their message
    /// travels back to the leader, so the cause is text; `output` says whether it was an I/O
    /// error that ends the whole launch (full disk, quota, read-only or failing filesystem).
    #[error("{}: job {message}", dir.display())]
    Job {
        /// The analysis directory.
        dir: PathBuf,
        /// The job's name and its error.
        message: String,
        /// Whether the cause was a fatal output error
        /// ([`is_fatal_io`](eigensweep_worker::output::is_fatal_io)).
        output: bool,
    },
    /// A stop was requested ([`AnalyzeOptions::stop`](crate::AnalyzeOptions::stop)) and the
    /// analysis ended early; the manifest records only the jobs that were written, so running
    /// it again continues where it stopped.
    #[error("the analysis was stopped before it finished ({jobs_done} of {jobs_todo} tile-pair jobs done)")]
    Interrupted {
        /// Jobs of this analysis that were written (and recorded as done).
        jobs_done: usize,
        /// Jobs this analysis had to compute.
        jobs_todo: usize,
    },
}

impl AnalysisError {
    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
        source: std::io::Error,
    ) -> Self {
        AnalysisError::Io {
            action,
            path: path.into(),
            source,
        }
    }

    pub(crate) fn data(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        AnalysisError::Data {
            path: path.into(),
            message: message.into(),
        }
    }
}
