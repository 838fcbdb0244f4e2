//! What is wrong with a sweep file, field by field.

use std::fmt;
use std::path::Path;

/// One problem with one field: where it is, what was written there and what was expected.
/// A record, not an error of its own: a sweep file's problems travel together as
/// [`crate::CommonError::SweepInvalid`].
///
/// Displayed as ``"`optimizers[1].lr`: expected a positive number, got -1"``.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// Field path, e.g. `optimizers[1].lr`; empty for the whole file.
    pub path: String,
    /// The offending value as written (YAML notation); empty when there is none to show.
    pub value: String,
    /// What was expected, e.g. `expected a positive number`.
    pub message: String,
    /// Line and column in the file, where the YAML parser knows them.
    pub location: Option<Location>,
    /// The `--set KEY.PATH=VALUE` argument that wrote the value, when it came from the
    /// command line rather than the file: the message then names it instead of the file.
    pub set_by: Option<String>,
}

/// A 1-based line and column in the sweep file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Location {
    /// Line, from 1.
    pub line: usize,
    /// Column, from 1.
    pub column: usize,
}

impl FieldError {
    /// An error about the field at `path` holding `value`.
    pub fn new(
        path: impl Into<String>,
        value: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            path: path.into(),
            value: value.into(),
            message: message.into(),
            location: None,
            set_by: None,
        }
    }

    /// The error prefixed by where the value was written ([`origin`](Self::origin)).
    pub fn in_file(&self, file: &Path) -> String {
        format!("{}: {self}", self.origin(file))
    }

    /// Where the value was written: `--set KEY.PATH=VALUE` when a command-line override wrote
    /// it, else the file, as `FILE:LINE:COLUMN` when the location is known (the form editors
    /// jump to) and `FILE` otherwise.
    pub fn origin(&self, file: &Path) -> String {
        if let Some(argument) = &self.set_by {
            return argument.clone();
        }
        match self.location {
            Some(Location { line, column }) => format!("{}:{line}:{column}", file.display()),
            None => file.display().to_string(),
        }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.path.is_empty() {
            write!(f, "`{}`: ", self.path)?;
        }
        f.write_str(&self.message)?;
        if !self.value.is_empty() {
            write!(f, ", got {}", self.value)?;
        }
        Ok(())
    }
}

/// Whether the field `path` is `prefix` or inside it (`optimizers[1].lr` is within
/// `optimizers[1]` and `optimizers`, not within `optim`); every path is within the root, `""`.
pub(crate) fn within(path: &str, prefix: &str) -> bool {
    prefix.is_empty()
        || path
            .strip_prefix(prefix)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('.') || rest.starts_with('['))
}

/// A number as a person would write it in YAML: `-1`, `0.001`, `1e-8`, `.nan`.
pub(crate) fn fmt_number(x: f64) -> String {
    if x.is_nan() {
        ".nan".into()
    } else if x.is_infinite() {
        if x > 0.0 { ".inf" } else { "-.inf" }.into()
    } else if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{}", x as i64)
    } else {
        format!("{x:?}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn displays_path_message_and_value() {
        let e = FieldError::new(
            "optimizers[1].lr",
            fmt_number(-1.0),
            "expected a positive number",
        );
        assert_eq!(
            e.to_string(),
            "`optimizers[1].lr`: expected a positive number, got -1"
        );
        let e = FieldError {
            location: Some(Location { line: 3, column: 7 }),
            ..FieldError::new("", "", "did not find expected key")
        };
        assert_eq!(
            e.in_file(Path::new("s.yaml")),
            "s.yaml:3:7: did not find expected key"
        );
    }

    #[test]
    fn paths_within_paths() {
        assert!(within("optimizers[1].lr", "optimizers[1]"));
        assert!(within("optimizers[1].lr", "optimizers"));
        assert!(within("optimizers", "optimizers"));
        assert!(within("seeds", ""));
        assert!(!within("optimizers", "optim"));
        assert!(!within("training", "training.steps"));
    }

    #[test]
    fn numbers_print_as_written() {
        assert_eq!(fmt_number(-1.0), "-1");
        assert_eq!(fmt_number(0.001), "0.001");
        assert_eq!(fmt_number(1e-8), "1e-8");
        assert_eq!(fmt_number(f64::NAN), ".nan");
        assert_eq!(fmt_number(f64::NEG_INFINITY), "-.inf");
    }
}
