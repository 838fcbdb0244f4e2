//! The one error type of the output tables. Every message names the file or directory.

use std::io;
use std::path::{Path, PathBuf};

use arrow_schema::ArrowError;
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
    /// Rows could not be turned into Arrow arrays: an integer above `i64::MAX` (the schemas
    /// are fixed, so anything else is a bug).
    #[error("building the Arrow batch for {}: {problem}", path.display())]
    Batch {
        /// The file that was to be written.
        path: PathBuf,
        /// What went wrong, e.g. [`OutputError::IntegerOverflow`].
        problem: Box<OutputError>,
    },
    /// A column of a file does not hold what its table declares (missing, of another type,
    /// with nulls where it is required, or an integer out of the field's range).
    #[error("reading {}: {problem}", path.display())]
    Column {
        /// The file.
        path: PathBuf,
        /// What does not match, e.g. [`OutputError::NullValues`].
        problem: Box<OutputError>,
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
    /// An integer field too large for its `Int64` column (the Rust fields are unsigned).
    /// Found while building a batch; [`OutputError::Batch`] names the file.
    #[error("column `{column}`: {value} does not fit a signed 64-bit integer (at most {max})", max = i64::MAX)]
    IntegerOverflow {
        /// The column.
        column: String,
        /// The value.
        value: String,
    },
    /// A declared column that a batch or file lacks. Found while reading a batch;
    /// [`OutputError::Column`] names the file.
    #[error("missing column `{column}`")]
    MissingColumn {
        /// The column.
        column: String,
    },
    /// A column of another Arrow type than its declaration's.
    #[error("column `{column}` has type {found}, expected {expected}")]
    ColumnType {
        /// The column.
        column: String,
        /// The type found.
        found: String,
        /// The type expected.
        expected: String,
    },
    /// Nulls in a required column.
    #[error("column `{column}` has {count} null values but is required")]
    NullValues {
        /// The column.
        column: String,
        /// How many nulls.
        count: usize,
    },
    /// A nullable field in a file for a column declared required.
    #[error("column `{column}` is nullable but should be required")]
    NullableColumn {
        /// The column.
        column: String,
    },
    /// A stored integer outside the range of its Rust field (a negative step, an index
    /// beyond `u32`), never wrapped.
    #[error("column `{column}` holds {value}, outside the range of {target}")]
    OutOfRange {
        /// The column.
        column: String,
        /// The stored value.
        value: i64,
        /// The Rust type of the field.
        target: &'static str,
    },
    /// A list column whose items are not `Float32`.
    #[error("column `{column}` is not a list of float32")]
    NotFloatList {
        /// The column.
        column: String,
    },
    /// Arrow refused the columns as a record batch (a bug: the schemas are fixed).
    #[error("{0}")]
    Arrow(ArrowError),
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
            OutputError::Schema { .. }
            | OutputError::FormatVersion { .. }
            | OutputError::Column { .. }
            | OutputError::MissingColumn { .. }
            | OutputError::ColumnType { .. }
            | OutputError::NullValues { .. }
            | OutputError::NullableColumn { .. }
            | OutputError::OutOfRange { .. }
            | OutputError::NotFloatList { .. } => true,
            OutputError::Parquet { action, .. } => *action == "reading",
            OutputError::Io { action, .. } => matches!(*action, "opening" | "reading directory"),
            OutputError::Batch { .. }
            | OutputError::IntegerOverflow { .. }
            | OutputError::Arrow(_)
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

    /// A problem with a column of the file at `path` ([`OutputError::Column`]).
    pub(crate) fn column(path: &Path, problem: OutputError) -> Self {
        OutputError::Column {
            path: path.to_path_buf(),
            problem: Box::new(problem),
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
