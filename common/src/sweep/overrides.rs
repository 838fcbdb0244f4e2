//! `--set key.path=value`: edits of the YAML tree before it is deserialised.
//!
//! Paths name mapping keys with dots and list entries with `[index]`
//! (`optimizers[1].lr=3e-4`; the index one past the end appends an entry); a list of named
//! entries can also be indexed by name (`optimizers.adam.lr=3e-4` or
//! `optimizers[adam].lr=3e-4`). The value is parsed as YAML
//! (`seeds=[0,1]`, `snapshots.hessian_samples=null`, `output=/tmp/x`). Missing mapping keys
//! are created, so unknown names are rejected later by the sweep format's
//! `deny_unknown_fields`, with the same message as in a file, but naming the `--set`
//! argument and suggesting the whole path it probably meant (`trainng.steps=300` →
//! `training.steps`).

use serde_yaml::{Mapping, Value};

use super::error::FieldError;

/// One step of an override path.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    /// A mapping key (or, on a list, the entry with that `name`).
    Key(String),
    /// A list position.
    Index(usize),
}

/// Applies `overrides` (`key.path=value`, in order) to `yaml`.
///
/// Fails on the first override that cannot be applied: no `=`, a malformed path, a value
/// that is not valid YAML, an index past the end of a list, a name no entry has, or a path
/// that goes through a number or a string.
pub fn apply_overrides(yaml: Value, overrides: &[String]) -> Result<Value, FieldError> {
    apply_traced(yaml, overrides).map(|(yaml, _)| yaml)
}

/// What one `--set` changed: the field path it reached, with list entries by position
/// (`optimizers[1].lr`, the form error paths take), and the argument as typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Applied {
    /// The field path, positions resolved.
    pub path: String,
    /// `--set KEY.PATH=VALUE` as typed.
    pub argument: String,
    /// The highest field the override created, where its path was not in the tree
    /// (`trainng` for `--set trainng.steps=300`): what is wrong with that field (an unknown
    /// name) is the override's too.
    pub created: Option<String>,
}

/// [`apply_overrides`], also returning what each override changed, so that an error in a
/// value it set can name the `--set` argument instead of the file.
pub(crate) fn apply_traced(
    mut yaml: Value,
    overrides: &[String],
) -> Result<(Value, Vec<Applied>), FieldError> {
    let mut applied = Vec::with_capacity(overrides.len());
    for text in overrides {
        let argument = format!("--set {text}");
        let Some((path, raw)) = text.split_once('=') else {
            return Err(FieldError {
                set_by: Some(argument),
                ..FieldError::new(
                    text.trim(),
                    "",
                    "expected KEY.PATH=VALUE, e.g. training.steps=200",
                )
            });
        };
        let (path, raw) = (path.trim(), raw.trim());
        let fail = |message: String| FieldError {
            set_by: Some(argument.clone()),
            ..FieldError::new(path, raw, message)
        };
        let segments = parse_path(path).map_err(fail)?;
        let value: Value = serde_yaml::from_str(raw)
            .map_err(|e| fail(format!("the value is not valid YAML ({e})")))?;
        let (reached, created) = set(&mut yaml, &segments, value).map_err(fail)?;
        applied.push(Applied {
            path: describe(&reached),
            argument,
            created: created.map(|depth| describe(&reached[..depth])),
        });
    }
    Ok((yaml, applied))
}

fn parse_path(path: &str) -> Result<Vec<Segment>, String> {
    let malformed = |why: &str| {
        Err(format!(
            "malformed path ({why}); expected keys joined by `.` with `[index]` for list entries, \
             e.g. optimizers[1].lr"
        ))
    };
    let mut segments = Vec::new();
    let mut rest = path;
    let mut expect_key = true;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix('[') {
            let Some(end) = after.find(']') else {
                return malformed("unclosed `[`");
            };
            let inner = after[..end].trim();
            if inner.is_empty() {
                return malformed("empty `[]`");
            }
            segments.push(match inner.parse::<usize>() {
                Ok(i) => Segment::Index(i),
                Err(_) => Segment::Key(inner.to_string()),
            });
            rest = &after[end + 1..];
            expect_key = false;
        } else if let Some(after) = rest.strip_prefix('.') {
            if expect_key {
                return malformed("empty key");
            }
            rest = after;
            expect_key = true;
            if rest.is_empty() {
                return malformed("empty key");
            }
        } else {
            if !expect_key {
                return malformed("`.` or `[` expected after `]`");
            }
            let end = rest.find(['.', '[']).unwrap_or(rest.len());
            segments.push(Segment::Key(rest[..end].to_string()));
            rest = &rest[end..];
            expect_key = false;
        }
    }
    if segments.is_empty() {
        return malformed("empty path");
    }
    Ok(segments)
}

fn describe(path: &[Segment]) -> String {
    let mut text = String::new();
    for seg in path {
        match seg {
            Segment::Key(k) if text.is_empty() => text.push_str(k),
            Segment::Key(k) => {
                text.push('.');
                text.push_str(k);
            }
            Segment::Index(i) => text.push_str(&format!("[{i}]")),
        }
    }
    text
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Sequence(_) => "a list",
        Value::Mapping(_) => "a mapping",
        Value::Tagged(_) => "a tagged value",
    }
}

/// Sets the field at `segments` to `new`; returns its path with list entries named by
/// position, and how many of its steps lead to the highest mapping key it created, if any.
fn set(
    root: &mut Value,
    segments: &[Segment],
    new: Value,
) -> Result<(Vec<Segment>, Option<usize>), String> {
    let mut reached = Vec::with_capacity(segments.len());
    let mut created = None;
    let mut node = root;
    for (depth, segment) in segments.iter().enumerate() {
        let last = depth + 1 == segments.len();
        let here = || describe(&segments[..depth]);
        if node.is_null() && matches!(segment, Segment::Key(_)) {
            // `baseline:` with nothing after it is an empty mapping to fill.
            *node = Value::Mapping(Mapping::new());
        }
        node = match (node, segment) {
            (Value::Mapping(map), Segment::Key(key)) => {
                reached.push(Segment::Key(key.clone()));
                let key = Value::String(key.clone());
                if created.is_none() && !map.contains_key(&key) {
                    created = Some(reached.len());
                }
                if last {
                    map.insert(key, new);
                    return Ok((reached, created));
                }
                map.entry(key).or_insert(Value::Null)
            }
            (Value::Sequence(list), Segment::Index(i)) => {
                let len = list.len();
                reached.push(Segment::Index(*i));
                if last && *i == len {
                    // One past the end appends: `--set datasets[1]={...}` adds a dataset.
                    list.push(new);
                    return Ok((reached, created));
                }
                match list.get_mut(*i) {
                    Some(entry) if last => {
                        *entry = new;
                        return Ok((reached, created));
                    }
                    Some(entry) => entry,
                    None => {
                        return Err(format!(
                            "index {i} is out of range: `{}` has {len} entr{}",
                            here(),
                            if len == 1 { "y" } else { "ies" }
                        ))
                    }
                }
            }
            (Value::Sequence(list), Segment::Key(name)) => {
                let wanted = Value::String(name.clone());
                let position = list.iter().position(|e| e.get("name") == Some(&wanted));
                let Some(position) = position else {
                    let names: Vec<String> = list
                        .iter()
                        .filter_map(|e| e.get("name").and_then(Value::as_str).map(str::to_string))
                        .collect();
                    return Err(format!(
                        "no entry of `{}` is named `{name}` (names: {})",
                        here(),
                        if names.is_empty() {
                            "none".into()
                        } else {
                            names.join(", ")
                        }
                    ));
                };
                reached.push(Segment::Index(position));
                if last {
                    list[position] = new;
                    return Ok((reached, created));
                }
                &mut list[position]
            }
            (other, Segment::Index(i)) => {
                return Err(format!(
                    "`{}` is {}, not a list, so it has no entry [{i}]",
                    here(),
                    kind_of(other)
                ))
            }
            (other, Segment::Key(key)) => {
                return Err(format!(
                    "`{}` is {}, not a mapping, so it has no field `{key}`",
                    here(),
                    kind_of(other)
                ))
            }
        };
    }
    unreachable!("the last segment returns")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn yaml(text: &str) -> Value {
        serde_yaml::from_str(text).unwrap()
    }

    fn apply(base: &str, sets: &[&str]) -> Result<Value, FieldError> {
        let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
        apply_overrides(yaml(base), &sets)
    }

    const BASE: &str = "
name: a
training: {steps: 10}
optimizers:
  - {name: sgd, kind: sgd, lr: 0.01}
  - {name: adam, kind: adam}
seeds: [0]
baseline:
";

    #[test]
    fn sets_nested_keys_list_entries_and_whole_lists() {
        let v = apply(
            BASE,
            &[
                "training.steps=200",
                "optimizers[1].lr=3e-4",
                "seeds=[0, 1]",
                "output=/tmp/x",
                "training.eval.every=5",
                "baseline.networks=0",
            ],
        )
        .unwrap();
        assert_eq!(v["training"]["steps"], yaml("200"));
        assert_eq!(v["optimizers"][1]["lr"].as_f64(), Some(3e-4));
        assert_eq!(v["seeds"], yaml("[0, 1]"));
        assert_eq!(v["output"].as_str(), Some("/tmp/x"));
        assert_eq!(v["training"]["eval"], yaml("{every: 5}"));
        assert_eq!(v["baseline"], yaml("{networks: 0}"));
        let v = apply(BASE, &["optimizers[2]={name: sam, kind: sam}"]).unwrap();
        assert_eq!(v["optimizers"][2]["name"].as_str(), Some("sam"));
    }

    #[test]
    fn list_entries_by_name() {
        let v = apply(
            BASE,
            &["optimizers.adam.lr=0.002", "optimizers[sgd].lr=0.1"],
        )
        .unwrap();
        assert_eq!(v["optimizers"][1]["lr"].as_f64(), Some(0.002));
        assert_eq!(v["optimizers"][0]["lr"].as_f64(), Some(0.1));
        let e = apply(BASE, &["optimizers.adm.lr=1"]).unwrap_err();
        assert_eq!(e.path, "optimizers.adm.lr");
        assert!(
            e.message
                .contains("no entry of `optimizers` is named `adm` (names: sgd, adam)"),
            "{e}"
        );
    }

    #[test]
    fn the_highest_field_an_override_created_is_recorded() {
        let sets: Vec<String> = [
            "trainng.steps=3",
            "training.eval.every=5",
            "training.steps=5",
            "seeds=[1]",
        ]
        .map(String::from)
        .into();
        let (_, applied) = apply_traced(yaml(BASE), &sets).unwrap();
        let created: Vec<Option<&str>> = applied.iter().map(|a| a.created.as_deref()).collect();
        assert_eq!(
            created,
            [Some("trainng"), Some("training.eval"), None, None]
        );
    }

    #[test]
    fn later_overrides_win() {
        let v = apply(BASE, &["training.steps=5", "training.steps=7"]).unwrap();
        assert_eq!(v["training"]["steps"], yaml("7"));
    }

    #[test]
    fn index_out_of_range_names_the_list_and_its_length() {
        let e = apply(BASE, &["optimizers[2].lr=1"]).unwrap_err();
        assert_eq!(
            (e.path.as_str(), e.value.as_str()),
            ("optimizers[2].lr", "1")
        );
        assert_eq!(
            e.to_string(),
            "`optimizers[2].lr`: index 2 is out of range: `optimizers` has 2 entries, got 1"
        );
        assert_eq!(e.set_by.as_deref(), Some("--set optimizers[2].lr=1"));
    }

    #[test]
    fn paths_through_scalars_are_type_errors() {
        let e = apply(BASE, &["training.steps.x=1"]).unwrap_err();
        assert!(
            e.message
                .contains("`training.steps` is a number, not a mapping"),
            "{e}"
        );
        let e = apply(BASE, &["name[0]=1"]).unwrap_err();
        assert!(e.message.contains("`name` is a string, not a list"), "{e}");
        let e = apply(BASE, &["training[0]=1"]).unwrap_err();
        assert!(
            e.message.contains("`training` is a mapping, not a list"),
            "{e}"
        );
    }

    #[test]
    fn malformed_overrides_are_rejected() {
        for bad in [
            "training.steps",
            "=3",
            "training..steps=3",
            "a[=1",
            "a[]=1",
            "a.=1",
            "a[0]b=1",
        ] {
            let e = apply(BASE, &[bad]).unwrap_err();
            assert_eq!(e.set_by, Some(format!("--set {bad}")), "{bad}: {e}");
        }
        let e = apply(BASE, &["seeds=[0, 1"]).unwrap_err();
        assert!(e.message.contains("not valid YAML"), "{e}");
    }
}
