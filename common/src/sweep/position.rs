//! Where a field is in the sweep file's text, for rule violations found after parsing.
//!
//! serde_yaml keeps no positions in the values it builds, but it marks an error raised while
//! a node is being deserialised with that node's line and column. So the text is parsed once
//! more by a probe that walks down the field path, skipping everything else, and fails on
//! purpose at the field: the error's mark is the field's position. Only the rule checks
//! (`validate`) need this; type errors come with their position already.

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
    let steps = parse(path)?;
    let de = serde_yaml::Deserializer::from_str(text);
    let e = Probe { steps: &steps }.deserialize(de).err()?;
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

/// Deserialises the node reached so far: descends along `steps`, fails at their end.
struct Probe<'a> {
    steps: &'a [Step],
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
        while let Some(key) = map.next_key::<serde_yaml::Value>()? {
            if key.as_str() == Some(wanted) {
                return map.next_value_seed(Probe { steps: rest });
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
        seq.next_element_seed(Probe { steps: rest })?;
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
    fn fields_not_written_have_no_position() {
        assert_eq!(at("snapshots.top_k"), None);
        assert_eq!(at("optimizers[5].lr"), None);
        assert_eq!(at("name.x"), None);
        assert_eq!(at(""), None);
    }
}
