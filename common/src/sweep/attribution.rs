//! Where an error found after parsing was written: the `--set`/`--out` argument that wrote
//! its field, else its line and column in the sweep file's text. Shared by the first
//! validation ([`parse_sweep`](super::parse_sweep)) and the checks that come later
//! ([`ValidatedSweep::attribute`](super::ValidatedSweep::attribute)).

use super::error::{within, FieldError};
use super::overrides::Applied;
use super::position::field_position;
use super::wording::replace_suggestion;

/// Says where the value of a rule violation (found after parsing, so without a position)
/// was written: the `--set`/`--out` argument that wrote it, else its line and column in
/// `text`, where it is written there.
pub(crate) fn place(error: &mut FieldError, text: &str, applied: &[Applied]) {
    blame_override(error, applied);
    if error.set_by.is_none() && error.location.is_none() {
        error.location = field_position(text, &error.path);
    }
}

/// Names the last override that wrote the field of `error` (or a field above it, or created
/// the misspelt field it is about) as its source: an error in a value typed on the command
/// line is not the file's. A misspelt field the override created is suggested as the whole
/// path it should have written (`trainng` in `trainng.steps=300` → `training.steps`).
fn blame_override(error: &mut FieldError, applied: &[Applied]) {
    let Some(a) = applied.iter().rev().find(|a| {
        within(&error.path, &a.path)
            || a.created
                .as_deref()
                .is_some_and(|created| within(&error.path, created))
    }) else {
        return;
    };
    error.set_by = Some(a.argument.clone());
    error.location = None;
    let below = a.path.strip_prefix(error.path.as_str()).unwrap_or("");
    if below.starts_with('.') || below.starts_with('[') {
        let above = error.path.rfind('.').map_or("", |dot| &error.path[..=dot]);
        error.message =
            replace_suggestion(&error.message, |field| format!("{above}{field}{below}"));
    }
}
