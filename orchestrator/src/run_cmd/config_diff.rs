//! Which fields of a task's configuration changed: for the message that refuses outputs
//! written under another configuration, so that a user sees at once what differs (the
//! learning rate, the data) instead of two run keys.

use serde_json::Value;

/// Longest value shown in full; longer ones (long step lists) are cut with `…`.
const SHOWN: usize = 60;

/// The fields that differ between two configurations (canonical JSON texts, as in the runs
/// table's `config_json`), one `path: old → new` line each, paths as in the JSON
/// (`optimizer.lr`, `dataset.train_size`, `snapshot_steps`). A field only one side has shows
/// `(absent)` on the other. Empty if the texts are not JSON or do not differ.
pub(super) fn config_diff(old: &str, new: &str) -> Vec<String> {
    let (Ok(old), Ok(new)) = (
        serde_json::from_str::<Value>(old),
        serde_json::from_str::<Value>(new),
    ) else {
        return Vec::new();
    };
    let mut lines = Vec::new();
    diff(&mut lines, "", Some(&old), Some(&new));
    lines
}

fn diff(lines: &mut Vec<String>, path: &str, old: Option<&Value>, new: Option<&Value>) {
    match (old, new) {
        (Some(Value::Object(a)), Some(Value::Object(b))) => {
            let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
            keys.sort();
            keys.dedup();
            for k in keys {
                let child = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                diff(lines, &child, a.get(k), b.get(k));
            }
        }
        (a, b) if a == b => {}
        (a, b) => lines.push(format!("{path}: {} → {}", shown(a), shown(b))),
    }
}

fn shown(value: Option<&Value>) -> String {
    let Some(value) = value else {
        return "(absent)".into();
    };
    let text = value.to_string();
    if text.chars().count() <= SHOWN {
        text
    } else {
        let cut: String = text.chars().take(SHOWN).collect();
        format!("{cut}…")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_each_changed_field_with_old_and_new_values() {
        let old = r#"{"optimizer":{"kind":"sgd","lr":0.01},"seed":0,"steps":100}"#;
        let new = r#"{"optimizer":{"kind":"sgd","lr":0.02},"seed":0,"steps":100,"data_digest":"sha256:ab"}"#;
        assert_eq!(
            config_diff(old, new),
            vec![
                r#"data_digest: (absent) → "sha256:ab""#.to_string(),
                "optimizer.lr: 0.01 → 0.02".to_string(),
            ]
        );
        assert!(config_diff(old, old).is_empty());
        assert!(config_diff("not json", new).is_empty());
    }

    #[test]
    fn long_values_are_cut() {
        let steps: Vec<u64> = (0..100).collect();
        let old = format!(
            r#"{{"snapshot_steps":{}}}"#,
            serde_json::to_string(&steps).unwrap()
        );
        let lines = config_diff(&old, r#"{"snapshot_steps":[0]}"#);
        assert_eq!(lines.len(), 1);
        assert!(
            lines[0].starts_with("snapshot_steps: [0,1,2,"),
            "{}",
            lines[0]
        );
        assert!(lines[0].contains("… → [0]"), "{}", lines[0]);
    }
}
