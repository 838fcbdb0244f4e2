//! The one error type of the common crate, [`CommonError`]: a sweep file that cannot be read
//! or turned into runs, and a device text that names no device.

use std::path::{Path, PathBuf};

use thiserror::Error;

use crate::sweep::FieldError;

/// What can go wrong in the types every stage shares.
#[derive(Debug, Error)]
pub enum CommonError {
    /// The sweep file could not be read.
    #[error("cannot read sweep file {}: {source}", path.display())]
    SweepRead {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The sweep file was read but is malformed or inconsistent: every problem found, each
    /// naming its field, the value written there and what was expected.
    #[error("{}", invalid_summary(path, errors))]
    SweepInvalid {
        /// The file.
        path: PathBuf,
        /// Every problem, in file order as far as possible.
        errors: Vec<FieldError>,
    },
    /// A device text that is not `cpu`, `cuda` or `cuda:N` (`--device`, a sweep's `device`).
    #[error("unknown device {value:?}: expected `cpu`, `cuda` or `cuda:N` (N = 0, 1, … among the visible GPUs)")]
    UnknownDevice {
        /// The text as given.
        value: String,
    },
}

fn invalid_summary(path: &Path, errors: &[FieldError]) -> String {
    let mut text = format!(
        "sweep file {} has {} error{}:",
        path.display(),
        errors.len(),
        if errors.len() == 1 { "" } else { "s" }
    );
    for e in errors {
        text.push('\n');
        text.push_str(&e.in_file(path));
    }
    text
}
