//! The one error type of the output tables. Every message names the file or directory.

use std::io;
use std::path::{Path, PathBuf};

use parquet::errors::ParquetError;
use thiserror::Error;

/// What can go wrong while writing or reading the output tables.
#[derive(Debug, Error)]
pub enum OutputError {
    /// An operating-system error on a file or directory, e.g.
    /// `writing /out/runs/…/part-00003.parquet: No space left on device (os error 28)`.
    #[error("{action} {}: {source}", path.display())]
    Io {
        /// What was being done ("writing", "creating directory", …).
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// The Parquet encoder or decoder failed (other than by an I/O error).
    #[error("{action} {}: {source}", path.display())]
    Parquet {
        /// What was being done.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: ParquetError,
    },
    /// Rows could not be turned into Arrow arrays (a bug: the schemas are fixed).
    #[error("building the Arrow batch for {}: {message}", path.display())]
    Batch {
        /// The file that was to be written.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// A file does not hold the table it should (wrong table, missing or mistyped column,
    /// unexpected nulls, unsupported format version).
    #[error("reading {}: {message}", path.display())]
    Schema {
        /// The file.
        path: PathBuf,
        /// What does not match.
        message: String,
    },
    /// A file's table format version is not one this build reads (a newer one, or none).
    #[error("reading {}: {}", path.display(), format_version_text(found.as_deref()))]
    FormatVersion {
        /// The file.
        path: PathBuf,
        /// The version in its `eigensweep.format_version` metadata, if any.
        found: Option<String>,
    },
    /// A part that is about to be written already exists (two writers on one directory, or
    /// a resume that did not call `remove_parts_from` first).
    #[error("refusing to overwrite existing part {}", path.display())]
    PartExists {
        /// The existing part.
        path: PathBuf,
    },
    /// A hive partition value that would break the directory layout.
    #[error("invalid {name} partition value {value:?}: {reason}")]
    InvalidPartition {
        /// The partition column ("dataset", "optimizer").
        name: &'static str,
        /// The offending value.
        value: String,
        /// Why it is rejected.
        reason: &'static str,
    },
}

fn format_version_text(found: Option<&str>) -> String {
    let reads = format!(
        "this build reads versions {} and {} (writing {})",
        super::schema::FORMAT_VERSION,
        super::format::FORMAT_VERSION_1,
        super::schema::FORMAT_VERSION
    );
    match found {
        Some(v) => format!(
            "table format version {v:?}; {reads}: the file was written by a newer eigensweep, \
             read it with that one"
        ),
        None => format!(
            "no `{}` metadata: not an eigensweep table ({reads})",
            super::schema::FORMAT_VERSION_KEY
        ),
    }
}

impl OutputError {
    /// Whether the error is about reading an existing table (a torn or foreign file, one of
    /// a newer format, a file or directory that cannot be opened or listed), not about writing
    /// one: commands exit 3 (bad input) for these and 4 only for outputs they cannot write,
    /// so that a script that retries on 4 ("disk full") does not loop on a damaged input.
    pub fn is_reading(&self) -> bool {
        match self {
            OutputError::Schema { .. } | OutputError::FormatVersion { .. } => true,
            OutputError::Parquet { action, .. } => *action == "reading",
            OutputError::Io { action, .. } => matches!(*action, "opening" | "reading directory"),
            OutputError::Batch { .. }
            | OutputError::PartExists { .. }
            | OutputError::InvalidPartition { .. } => false,
        }
    }

    pub(crate) fn io(action: &'static str, path: &Path, source: io::Error) -> Self {
        OutputError::Io {
            action,
            path: path.to_path_buf(),
            source,
        }
    }

    /// Wraps a Parquet error; an I/O error inside it becomes [`OutputError::Io`] so that the
    /// message reads "writing PATH: No space left on device" rather than "External: …".
    pub(crate) fn parquet(action: &'static str, path: &Path, source: ParquetError) -> Self {
        match source {
            ParquetError::External(e) => match e.downcast::<io::Error>() {
                Ok(io) => OutputError::io(action, path, *io),
                Err(e) => OutputError::Parquet {
                    action,
                    path: path.to_path_buf(),
                    source: ParquetError::External(e),
                },
            },
            source => OutputError::Parquet {
                action,
                path: path.to_path_buf(),
                source,
            },
        }
    }

    pub(crate) fn schema(path: &Path, message: impl Into<String>) -> Self {
        OutputError::Schema {
            path: path.to_path_buf(),
            message: message.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_inside_parquet_error_reads_as_plain_io_error() {
        let enospc = io::Error::from_raw_os_error(28);
        let path =
            Path::new("/x/runs/dataset=mnist/optimizer=sgd/seed=0/snapshots/part-00003.parquet");
        let err = OutputError::parquet("writing", path, ParquetError::from(enospc));
        let msg = err.to_string();
        assert!(
            msg.starts_with("writing /x/runs/dataset=mnist/optimizer=sgd/seed=0/snapshots/part-00003.parquet: No space left on device"),
            "{msg}"
        );
        assert!(matches!(err, OutputError::Io { .. }));
    }

    #[test]
    fn other_parquet_errors_keep_their_text_and_the_path() {
        let err = OutputError::parquet(
            "reading",
            Path::new("/y/p.parquet"),
            ParquetError::General("bad footer".into()),
        );
        let msg = err.to_string();
        assert!(
            msg.contains("/y/p.parquet") && msg.contains("bad footer"),
            "{msg}"
        );
    }
}
