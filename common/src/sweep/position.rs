//! Where a field is in the sweep file's text, for errors found in the tree built from it.
//!
//! serde_yaml keeps no positions in the values it builds, but it marks an error raised while
//! a node is being deserialised with that node's line and column. So the text is parsed once
//! more by a probe that walks down the field path, skipping everything else, and fails on
//! purpose at the field (or at its key): the error's mark is the field's position. Every
//! error is found in the tree, after the `--set` overrides edited it, so every error is
//! placed this way.

use std::fmt;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::error::Location;

/// The error text the probe fails with at the field, to tell it from any other error.
const HERE: &str = "eigensweep: the field is here";

/// One step of a field path (`optimizers[1].lr` → `optimizers`, `1`, `lr`).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    Key(String),
    Index(usize),
}

/// The line and column of the field at `path` (as validation errors spell it:
/// `optimizers[1].lr`) in the YAML `text`, if it is written there.
pub(crate) fn field_position(text: &str, path: &str) -> Option<Location> {
    probe(text, &parse(path)?, false)
}

/// The line and column of the key of the field at `path` (an unknown field is shown where
/// its name is written), or of the whole document for the empty path.
pub(crate) fn key_position(text: &str, path: &str) -> Option<Location> {
    if path.is_empty() {
        return probe(text, &[], false);
    }
    let steps = parse(path)?;
    if !matches!(steps.last(), Some(Step::Key(_))) {
        return probe(text, &steps, false);
    }
    probe(text, &steps, true)
}

fn probe(text: &str, steps: &[Step], at_key: bool) -> Option<Location> {
    let de = serde_yaml::Deserializer::from_str(text);
    let e = Probe { steps, at_key }.deserialize(de).err()?;
    if !e.to_string().contains(HERE) {
        return None;
    }
    e.location().map(|l| Location {
        line: l.line(),
        column: l.column(),
    })
}

fn parse(path: &str) -> Option<Vec<Step>> {
    let mut steps = Vec::new();
    for part in path.split('.') {
        let (key, mut rest) = part.split_once('[').map_or((part, ""), |(k, r)| (k, r));
        if !key.is_empty() {
            steps.push(Step::Key(key.to_string()));
        }
        while !rest.is_empty() {
            let (index, after) = rest.split_once(']')?;
            steps.push(Step::Index(index.parse().ok()?));
            rest = after.strip_prefix('[').unwrap_or(after);
        }
    }
    (!steps.is_empty()).then_some(steps)
}

/// Deserialises the node reached so far: descends along `steps`, fails at their end (or, with
/// `at_key`, at the key of the last step).
struct Probe<'a> {
    steps: &'a [Step],
    at_key: bool,
}

/// Deserialises a mapping key: fails if it is `wanted`.
struct KeyProbe<'a> {
    wanted: &'a str,
}

impl<'de> DeserializeSeed<'de> for KeyProbe<'_> {
    type Value = ();

    // Fails inside the key's own deserialisation, where serde_yaml marks it with the key's
    // position (failing after it would mark the enclosing mapping).
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for KeyProbe<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a mapping key")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<(), E> {
        if key == self.wanted {
            Err(E::custom(HERE))
        } else {
            Ok(())
        }
    }

    // Other keys (numbers, true, null) are not field names: skipped.
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
}

impl<'de> DeserializeSeed<'de> for Probe<'_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Probe<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML node")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let Some((Step::Key(wanted), rest)) = self.steps.split_first() else {
            return Err(de::Error::custom(HERE));
        };
        if rest.is_empty() && self.at_key {
            while map.next_key_seed(KeyProbe { wanted })?.is_some() {
                map.next_value::<IgnoredAny>()?;
            }
            return Ok(());
        }
        let at_key = self.at_key;
        while let Some(key) = map.next_key::<serde_yaml::Value>()? {
            if key.as_str() == Some(wanted) {
                return map.next_value_seed(Probe {
                    steps: rest,
                    at_key,
                });
            }
            map.next_value::<IgnoredAny>()?;
        }
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let Some((Step::Index(wanted), rest)) = self.steps.split_first() else {
            return Err(de::Error::custom(HERE));
        };
        for _ in 0..*wanted {
            if seq.next_element::<IgnoredAny>()?.is_none() {
                return Ok(());
            }
        }
        seq.next_element_seed(Probe {
            steps: rest,
            at_key: self.at_key,
        })?;
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(())
    }

    // Any scalar: here if the path ends here, else the path does not exist in the text.
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        self.scalar()
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        self.scalar()
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        self.scalar()
    }
    fn visit_i128<E: de::Error>(self, _: i128) -> Result<(), E> {
        self.scalar()
    }
    fn visit_u128<E: de::Error>(self, _: u128) -> Result<(), E> {
        self.scalar()
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        self.scalar()
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        self.scalar()
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.scalar()
    }
    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        self.scalar()
    }
}

impl Probe<'_> {
    fn scalar<E: de::Error>(self) -> Result<(), E> {
        if self.steps.is_empty() {
            Err(E::custom(HERE))
        } else {
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "name: x
training: {steps: 10}
optimizers:
  - {name: sgd, kind: sgd, lr: -1}
  - name: adam
    kind: adam
    beta2: 1.5
extra_eigen: [{seeds: [0, 7]}]
";

    fn at(path: &str) -> Option<(usize, usize)> {
        field_position(TEXT, path).map(|l| (l.line, l.column))
    }

    #[test]
    fn finds_fields_in_block_and_flow_style() {
        assert_eq!(at("name"), Some((1, 7)));
        assert_eq!(at("training.steps"), Some((2, 19)));
        assert_eq!(at("optimizers[0].lr"), Some((4, 32)));
        assert_eq!(at("optimizers[1].beta2"), Some((7, 12)));
        assert_eq!(at("extra_eigen[0].seeds[1]"), Some((8, 27)));
        assert_eq!(at("optimizers[1]"), Some((5, 5)));
    }

    #[test]
    fn keys_are_found_where_their_name_is_written() {
        let key = |path| key_position(TEXT, path).map(|l| (l.line, l.column));
        assert_eq!(key("training.steps"), Some((2, 12)));
        assert_eq!(key("optimizers[1].beta2"), Some((7, 5)));
        assert_eq!(key("optimizers"), Some((3, 1)));
        assert_eq!(key(""), Some((1, 1)));
        assert_eq!(key("training.stpes"), None);
    }

    #[test]
    fn fields_not_written_have_no_position() {
        assert_eq!(at("snapshots.top_k"), None);
        assert_eq!(at("optimizers[5].lr"), None);
        assert_eq!(at("name.x"), None);
        assert_eq!(at(""), None);
    }
}
