//! From text to a [`ValidatedSweep`]: YAML syntax, overrides, types, then the rules.

use std::path::{Path, PathBuf};

use serde_yaml::Value;

use super::attribution::place;
use super::error::FieldError;
use super::file::SweepFile;
use super::overrides::{apply_traced, Applied};
use super::resolved::DataSource;
use super::structure::deserialize_all;
use super::validate::{validate, ValidatedSweep};
use super::wording::field_error;
use crate::CommonError;

/// Command-line changes to a sweep file for one launch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Overrides {
    /// `key.path=value` edits, applied in order (see [`apply_overrides`](super::apply_overrides)).
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
///
/// Dataset directories end up absolute: a relative `source` written in the file is read from
/// the file's folder (so a sweep file works from any current directory, as config-driven
/// tools do), while one given with `--set` is read from the current directory, where the
/// user typed it. `OUT/sweep.yaml` thus records where the data really was.
pub fn read_sweep(path: &Path, overrides: &Overrides) -> Result<ValidatedSweep, CommonError> {
    let text = std::fs::read_to_string(path).map_err(|source| CommonError::SweepRead {
        path: path.to_path_buf(),
        source,
    })?;
    let folder = path.parent().unwrap_or(Path::new(""));
    let invalid = |errors| CommonError::SweepInvalid {
        path: path.to_path_buf(),
        errors,
    };
    let mut sweep = parse(&text, overrides, Some(folder)).map_err(invalid)?;
    for d in &mut sweep.resolved.datasets {
        if let DataSource::Directory(dir) = &mut d.source {
            // The real path where the folder exists (no `sweeps/../..` in OUT/sweep.yaml);
            // otherwise the current directory prefixed, for the message that it is missing.
            if let Ok(abs) = dir.canonicalize().or_else(|_| std::path::absolute(&*dir)) {
                *dir = abs;
            }
        }
    }
    Ok(sweep)
}

/// [`read_sweep`] on the file's text. A YAML syntax error comes alone (the parser stops at
/// it); then every structural error (unknown field, wrong type, missing field) is reported
/// together, and once the file has the right shape, every rule violation together. Dataset
/// directories are kept as written.
pub fn parse_sweep(text: &str, overrides: &Overrides) -> Result<ValidatedSweep, Vec<FieldError>> {
    parse(text, overrides, None)
}

/// [`parse_sweep`], with the relative dataset directories of the text (not those of the
/// overrides) joined to `folder`.
fn parse(
    text: &str,
    overrides: &Overrides,
    folder: Option<&Path>,
) -> Result<ValidatedSweep, Vec<FieldError>> {
    let mut tree: Value = serde_yaml::from_str(text).map_err(|e| vec![field_error("", &e)])?;
    if tree.is_null() {
        return Err(vec![FieldError::new(
            "",
            "",
            "the file holds no sweep (expected name, datasets, training, optimizers, seeds \
             and snapshots)",
        )]);
    }
    if let Some(folder) = folder {
        resolve_sources(&mut tree, folder);
    }
    let (mut tree, mut applied) = apply_traced(tree, &overrides.set).map_err(|e| vec![e])?;
    if let (Some(out), Value::Mapping(map)) = (&overrides.output, &mut tree) {
        map.insert(
            Value::String("output".into()),
            Value::String(out.to_string_lossy().into_owned()),
        );
        applied.push(Applied {
            path: "output".into(),
            argument: format!("--out {}", out.display()),
            created: None,
        });
    }
    let placed = |mut errors: Vec<FieldError>| {
        for e in &mut errors {
            place(e, text, &applied);
        }
        errors
    };
    let file: SweepFile = deserialize_all(tree, text).map_err(placed)?;
    let mut sweep = validate(&file).map_err(placed)?;
    sweep.resolved.overrides = overrides.describe();
    sweep.warnings = placed(std::mem::take(&mut sweep.warnings));
    sweep.applied = applied;
    sweep.text = text.to_string();
    Ok(sweep)
}

/// Joins every relative dataset directory (`datasets[i].source` that is not a built-in
/// source) of the tree to `folder`. Anything of the wrong shape is left for the parser to
/// report.
fn resolve_sources(tree: &mut Value, folder: &Path) {
    let Some(Value::Sequence(datasets)) = tree.get_mut("datasets") else {
        return;
    };
    for d in datasets {
        let Some(Value::String(source)) = d.get_mut("source") else {
            continue;
        };
        if source.trim().is_empty() {
            continue;
        }
        if let DataSource::Directory(dir) = DataSource::parse(source, None) {
            if dir.is_relative() {
                *source = folder.join(dir).to_string_lossy().into_owned();
            }
        }
    }
}
