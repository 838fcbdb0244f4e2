//! From text to a [`ValidatedSweep`]: YAML syntax, overrides, types, then the rules.

use std::path::{Path, PathBuf};

use serde_yaml::Value;

use super::error::{FieldError, Location, SweepError};
use super::file::SweepFile;
use super::overrides::apply_overrides;
use super::validate::{validate, ValidatedSweep};

/// Command-line changes to a sweep file for one launch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Overrides {
    /// `key.path=value` edits, applied in order (see [`apply_overrides`]).
    pub set: Vec<String>,
    /// Replaces `output` (`--out DIR`), after the `set` edits.
    pub output: Option<PathBuf>,
}

impl Overrides {
    /// The overrides as they were typed, for the resolved sweep's record.
    pub fn describe(&self) -> Vec<String> {
        let mut all: Vec<String> = self.set.iter().map(|s| format!("--set {s}")).collect();
        if let Some(out) = &self.output {
            all.push(format!("--out {}", out.display()));
        }
        all
    }
}

/// Reads, overrides, deserialises and validates the sweep file at `path`.
pub fn read_sweep(path: &Path, overrides: &Overrides) -> Result<ValidatedSweep, SweepError> {
    let text = std::fs::read_to_string(path).map_err(|source| SweepError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse_sweep(&text, overrides).map_err(|errors| SweepError::Invalid {
        path: path.to_path_buf(),
        errors,
    })
}

/// [`read_sweep`] on the file's text. Syntax and type errors come first and alone (the
/// parser stops at them); once the file has the right shape, every rule violation is
/// reported together.
pub fn parse_sweep(text: &str, overrides: &Overrides) -> Result<ValidatedSweep, Vec<FieldError>> {
    let mut tree: Value = serde_yaml::from_str(text).map_err(|e| vec![yaml_error("", &e)])?;
    if tree.is_null() {
        return Err(vec![FieldError::new(
            "",
            "",
            "the file holds no sweep (expected name, datasets, training, optimizers, seeds \
             and snapshots)",
        )]);
    }
    tree = apply_overrides(tree, &overrides.set).map_err(|e| vec![e])?;
    if let (Some(out), Value::Mapping(map)) = (&overrides.output, &mut tree) {
        map.insert(
            Value::String("output".into()),
            Value::String(out.to_string_lossy().into_owned()),
        );
    }
    let file: SweepFile = serde_path_to_error::deserialize(tree).map_err(|e| {
        let path = field_path(e.path());
        let mut error = yaml_error(&path, e.inner());
        error.location = locate(text, &path);
        vec![error]
    })?;
    let mut sweep = validate(&file)?;
    sweep.resolved.overrides = overrides.describe();
    Ok(sweep)
}

/// serde_path_to_error writes the root as `.`; we leave it empty.
fn field_path(path: &serde_path_to_error::Path) -> String {
    let p = path.to_string();
    if p == "." {
        String::new()
    } else {
        p
    }
}

/// A serde_yaml error as a [`FieldError`], its location moved out of the message.
fn yaml_error(path: &str, e: &serde_yaml::Error) -> FieldError {
    let mut message = e.to_string();
    let location = e.location().map(|l| Location {
        line: l.line(),
        column: l.column(),
    });
    if let Some(Location { line, column }) = location {
        message = message.replace(&format!(" at line {line} column {column}"), "");
    }
    FieldError {
        location,
        ..FieldError::new(path, "", message)
    }
}

/// Where the parser meets the error at `path` when reading the text itself. Errors are
/// reported from the overridden tree (which has no positions); when the same field fails in
/// the text as written, its position is the one to show.
fn locate(text: &str, path: &str) -> Option<Location> {
    let de = serde_yaml::Deserializer::from_str(text);
    let e = serde_path_to_error::deserialize::<_, SweepFile>(de).err()?;
    if field_path(e.path()) != path {
        return None;
    }
    e.inner().location().map(|l| Location {
        line: l.line(),
        column: l.column(),
    })
}
