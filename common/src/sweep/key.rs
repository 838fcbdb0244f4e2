//! Stable keys: a short SHA-256 of a configuration's canonical JSON.

use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

/// Version of the hashed configuration's layout. Bump it when the meaning of a field changes
/// without its value changing, so that old outputs are never mistaken for new ones.
pub const KEY_FORMAT_VERSION: u32 = 1;

/// `config` with its layout version and task kind, as hashed.
#[derive(Serialize)]
struct Versioned<'a, T> {
    format_version: u32,
    task: &'static str,
    #[serde(flatten)]
    config: &'a T,
}

/// `config` as a JSON tree tagged with [`KEY_FORMAT_VERSION`] and `task`; [`canonical`] writes
/// it as the text keys hash.
pub(crate) fn config_value<T: Serialize>(task: &'static str, config: &T) -> Value {
    serde_json::to_value(Versioned {
        format_version: KEY_FORMAT_VERSION,
        task,
        config,
    })
    // The configurations are plain structs with string keys: conversion cannot fail.
    .expect("configuration serialises to JSON")
}

/// `value` as canonical JSON text: object keys sorted at every level, no whitespace, numbers
/// as serde_json writes them (shortest round-trip form). The same configuration gives the
/// same text on every machine.
pub(crate) fn canonical(value: &Value) -> String {
    let mut out = String::new();
    write_canonical(value, &mut out);
    out
}

/// The first 16 hex digits (64 bits) of SHA-256 of `text`. A key is printed whole wherever
/// eigensweep prints it (`plan`'s tables, `run`'s log lines), as the runs table and every
/// `run_key` column hold it, so that a key copied from a log matches a query with `=`
/// (issue 26.6: logs cut keys to 12 digits while `plan` printed 16).
pub(crate) fn short_hash(text: &str) -> String {
    Sha256::digest(text.as_bytes())[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Writes `value` with object keys sorted, whatever map order serde_json was built with
/// (its `preserve_order` feature may be switched on by any crate in the build).
fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<_> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (i, (k, v)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                write_canonical(v, out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(v, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_json_sorts_keys_at_every_level() {
        let mut out = String::new();
        let v: Value =
            serde_json::from_str(r#"{"b": [ {"z": 1, "a": 0.5} ], "a": "x\"y", "c": null}"#)
                .unwrap();
        write_canonical(&v, &mut out);
        assert_eq!(out, r#"{"a":"x\"y","b":[{"a":0.5,"z":1}],"c":null}"#);
    }

    #[test]
    fn short_hash_is_sha256_prefix() {
        // SHA-256("abc") = ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad.
        assert_eq!(short_hash("abc"), "ba7816bf8f01cfea");
    }
}
