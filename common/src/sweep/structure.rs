//! Every structural error of a sweep file at once: unknown keys, values of the wrong type,
//! missing required fields.
//!
//! serde stops at the first error. To find the others, the tree is deserialised again after
//! each one, mended where it failed so that the next attempt gets further: an unknown key is
//! removed; a wrong value, or a missing field, is replaced by a stand-in of the first shape
//! that fits (null, 0, a text, false, a mapping, a list, or the first name of a closed set).
//! The errors serde then finds inside a stand-in are the stand-in's, not the author's: they
//! are mended in the same way without being reported. The rules between fields are not
//! checked here; [`validate`](super::validate()) checks them once the structure is sound.

use serde::de::DeserializeOwned;
use serde_path_to_error::Segment;
use serde_yaml::{Mapping, Value};

use super::error::{within, FieldError};
use super::position::key_position;
use super::wording::{field_error, Fault};

/// Bound on the deserialisation attempts for one file (each one mends one fault); far above
/// what a hand-written file needs, it only stops a stand-in loop that does not converge.
const MAX_ATTEMPTS: usize = 2_000;

/// The stand-ins tried for a wrong or missing value, in order.
fn stand_in(attempt: usize) -> Option<Value> {
    Some(match attempt {
        0 => Value::Null,
        1 => Value::Number(0.into()),
        2 => Value::String("x".into()),
        3 => Value::Bool(false),
        4 => Value::Mapping(Mapping::new()),
        5 => Value::Sequence(Vec::new()),
        _ => return None,
    })
}

/// Deserialises `tree` as a `T`, or returns every structural error of it, in the order serde
/// meets them (file order; a missing field after the fields of its mapping). An unknown key
/// and a missing field are located in `text` (the file as written) at the key and at the
/// mapping; the caller places the others.
///
/// A missing field that an unknown key of the same mapping is a typo of is not reported
/// again: `trainig:` gives "unknown field `trainig` … did you mean training?", not also "the
/// field `training` is missing".
pub(crate) fn deserialize_all<T: DeserializeOwned>(
    mut tree: Value,
    text: &str,
) -> Result<T, Vec<FieldError>> {
    let mut errors: Vec<FieldError> = Vec::new();
    let mut stand_ins = StandIns::default();
    // (mapping path, field) pairs: an unknown key of the mapping was a typo of the field.
    let mut typos: Vec<(String, String)> = Vec::new();
    for _ in 0..MAX_ATTEMPTS {
        let e = match serde_path_to_error::deserialize::<_, T>(&tree) {
            Ok(value) if errors.is_empty() => return Ok(value),
            Ok(_) => return Err(errors),
            Err(e) => e,
        };
        let path = field_path(e.path());
        let mut error = field_error(&path, e.inner());
        let message = e.inner().to_string();
        let reported = !stand_ins.covers(&path);
        let Some(steps) = steps(e.path()) else {
            errors.push(error);
            return Err(errors);
        };
        match Fault::of(&message) {
            Fault::UnknownField { name, suggestion } => {
                if reported {
                    error.location = key_position(text, &path);
                    errors.push(error);
                }
                let Some((Step::Key(key), above)) = steps.split_last() else {
                    return Err(errors);
                };
                if let Some(field) = suggestion {
                    typos.push((describe(above), field.to_string()));
                }
                let removed = match node_at(&mut tree, above) {
                    Some(Value::Mapping(map)) if key == name => map.shift_remove(key.as_str()),
                    _ => None,
                };
                if removed.is_none() {
                    return Err(errors);
                }
            }
            Fault::MissingField(field) => {
                let typo = typos.iter().any(|(p, f)| *p == path && f == field);
                if reported && !typo {
                    error.location = key_position(text, &path);
                    errors.push(error);
                }
                let key = Value::String(field.to_string());
                let Some(node) = node_at(&mut tree, &steps) else {
                    return Err(errors);
                };
                if node.is_null() {
                    // serde_yaml reads `training:` with nothing after it as an empty mapping.
                    *node = Value::Mapping(Mapping::new());
                }
                match node {
                    Value::Mapping(map) if !map.contains_key(&key) => {
                        let field_path = join(&path, field);
                        let first = stand_ins.next(&field_path);
                        map.insert(key, stand_in(first).unwrap_or_default());
                    }
                    _ => return Err(errors),
                }
            }
            Fault::WrongValue { first_choice } => {
                if reported {
                    errors.push(error);
                }
                let value = match first_choice {
                    Some(choice) => {
                        stand_ins.mark(&path);
                        Some(Value::String(choice.to_string()))
                    }
                    None => stand_in(stand_ins.next(&path)),
                };
                // An empty path: the whole file is of the wrong shape, nothing more to find.
                match (value, node_at(&mut tree, &steps)) {
                    (Some(value), Some(node)) if !path.is_empty() => *node = value,
                    _ => return Err(errors),
                }
            }
        }
    }
    Err(errors)
}

/// The paths that hold a stand-in, each with the next stand-in to try there.
#[derive(Default)]
struct StandIns {
    at: Vec<(String, usize)>,
}

impl StandIns {
    /// Whether `path` is in a stand-in (its errors are not the file's).
    fn covers(&self, path: &str) -> bool {
        self.at.iter().any(|(at, _)| within(path, at))
    }

    /// Records a stand-in at `path`.
    fn mark(&mut self, path: &str) {
        if !self.at.iter().any(|(at, _)| at == path) {
            self.at.push((path.to_string(), 0));
        }
    }

    /// The stand-in to try next at `path` ([`stand_in`]'s attempt).
    fn next(&mut self, path: &str) -> usize {
        self.mark(path);
        let (_, next) = self
            .at
            .iter_mut()
            .find(|(at, _)| at == path)
            .expect("marked");
        *next += 1;
        *next - 1
    }
}

/// One step of a field path.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    Key(String),
    Index(usize),
}

/// serde_path_to_error's path as steps; `None` if it goes through something else (an enum).
fn steps(path: &serde_path_to_error::Path) -> Option<Vec<Step>> {
    path.iter()
        .map(|segment| match segment {
            Segment::Map { key } => Some(Step::Key(key.clone())),
            Segment::Seq { index } => Some(Step::Index(*index)),
            _ => None,
        })
        .collect()
}

/// `steps` as an error path spells them (`optimizers[0].lr`).
fn describe(steps: &[Step]) -> String {
    let mut text = String::new();
    for step in steps {
        match step {
            Step::Key(key) => text = join(&text, key),
            Step::Index(i) => text.push_str(&format!("[{i}]")),
        }
    }
    text
}

/// `parent.field`, or `field` at the root.
fn join(parent: &str, field: &str) -> String {
    if parent.is_empty() {
        field.to_string()
    } else {
        format!("{parent}.{field}")
    }
}

/// The node at `steps`, if every step of it exists.
fn node_at<'a>(tree: &'a mut Value, steps: &[Step]) -> Option<&'a mut Value> {
    let mut node = tree;
    for step in steps {
        node = match (node, step) {
            (Value::Mapping(map), Step::Key(key)) => map.get_mut(key.as_str())?,
            (Value::Sequence(list), Step::Index(index)) => list.get_mut(*index)?,
            _ => return None,
        };
    }
    Some(node)
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
