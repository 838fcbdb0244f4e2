//! serde's words in a person's words.
//!
//! serde and serde_yaml describe a type error in Rust terms (`invalid type: floating point
//! `1.5`, expected u64`, `unknown variant `sgdd`, expected one of `sgd`, `adam`, `sam``).
//! A sweep file's author writes YAML, not Rust: they read "expected a whole number ≥ 0, got
//! 1.5" and "expected one of sgd, adam, sam — did you mean sgd?".

use super::error::{FieldError, Location};

/// `message` (a serde/serde_yaml error text, location already removed) in plain words.
/// Texts it does not recognise are returned unchanged.
pub(crate) fn plain(message: &str) -> String {
    if let Some(rest) = message.strip_prefix("unknown variant ") {
        return unknown("value", rest);
    }
    if let Some(rest) = message.strip_prefix("unknown field ") {
        return unknown("field", rest);
    }
    for prefix in ["invalid type: ", "invalid value: "] {
        if let Some(rest) = message.strip_prefix(prefix) {
            if let Some((got, expected)) = rest.split_once(", expected ") {
                return format!(
                    "expected {}, got {}",
                    expected_words(expected),
                    got_words(got)
                );
            }
        }
    }
    if let Some(field) = message.strip_prefix("missing field ") {
        return format!("the field {field} is missing (it has no default)");
    }
    message.to_string()
}

/// How [`plain`] offers the closest choice: `… — did you mean sgd?`.
const DID_YOU_MEAN: (&str, &str) = (" — did you mean ", "?");

/// `` `sgdd`, expected one of `sgd`, `adam`, `sam` `` (or `expected `a` or `b``, or
/// `there are no variants`) → "unknown value `sgdd`: expected one of sgd, adam, sam — did you
/// mean sgd?".
fn unknown(what: &str, rest: &str) -> String {
    let (name, choices) = name_and_choices(rest);
    let mut text = format!("unknown {what} `{name}`");
    if choices.is_empty() {
        return text;
    }
    text.push_str(&format!(": expected one of {}", choices.join(", ")));
    if let Some(best) = suggestion(name, &choices) {
        text.push_str(&format!("{}{best}{}", DID_YOU_MEAN.0, DID_YOU_MEAN.1));
    }
    text
}

/// `` `sgdd`, expected one of `sgd`, `adam` `` → (`sgdd`, [`sgd`, `adam`]).
fn name_and_choices(rest: &str) -> (&str, Vec<&str>) {
    let (given, expected) = rest.split_once(", ").unwrap_or((rest, ""));
    let choices = expected
        .split('`')
        .skip(1)
        .step_by(2)
        .filter(|c| !c.is_empty())
        .collect();
    (given.trim_matches('`'), choices)
}

/// What serde's `message` (before [`plain`]) says is structurally wrong.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Fault<'a> {
    /// `unknown field `name``, with the closest of the fields the mapping takes, if any.
    UnknownField {
        /// The key as written.
        name: &'a str,
        /// The field it is probably a typo of.
        suggestion: Option<&'a str>,
    },
    /// `missing field `name``.
    MissingField(&'a str),
    /// A value of the wrong type or an unknown name of a closed set (`unknown variant`), with
    /// the first of the names the set holds.
    WrongValue {
        /// A value that would have been accepted, when the message lists them.
        first_choice: Option<&'a str>,
    },
}

impl<'a> Fault<'a> {
    /// The fault `message` describes; anything not about a missing or unknown field is a
    /// wrong value.
    pub(crate) fn of(message: &'a str) -> Self {
        if let Some(rest) = message.strip_prefix("unknown field ") {
            let (name, choices) = name_and_choices(rest);
            return Fault::UnknownField {
                name,
                suggestion: suggestion(name, &choices),
            };
        }
        if let Some(field) = message.strip_prefix("missing field ") {
            return Fault::MissingField(field.trim_matches('`'));
        }
        let first_choice = message
            .strip_prefix("unknown variant ")
            .and_then(|rest| name_and_choices(rest).1.first().copied());
        Fault::WrongValue { first_choice }
    }
}

/// `message` with the name it suggests (`… — did you mean X?`) replaced by `better(X)`;
/// unchanged when it suggests nothing.
pub(crate) fn replace_suggestion(message: &str, better: impl FnOnce(&str) -> String) -> String {
    let (open, close) = DID_YOU_MEAN;
    let Some((before, rest)) = message.rsplit_once(open) else {
        return message.to_string();
    };
    let Some(suggested) = rest.strip_suffix(close) else {
        return message.to_string();
    };
    format!("{before}{open}{}{close}", better(suggested))
}

/// A serde_yaml error about the field at `path` as a [`FieldError`], in plain words, its
/// location moved out of the message into the error.
pub(crate) fn field_error(path: &str, e: &serde_yaml::Error) -> FieldError {
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
        ..FieldError::new(path, "", plain(&message))
    }
}

/// The choice closest to `given`, if it is close enough to be a typo of it.
pub(crate) fn suggestion<'a>(given: &str, choices: &[&'a str]) -> Option<&'a str> {
    let given = given.to_ascii_lowercase();
    choices
        .iter()
        .map(|c| {
            (
                strsim::damerau_levenshtein(&given, &c.to_ascii_lowercase()),
                *c,
            )
        })
        .filter(|(d, c)| *d <= 2.max(c.len() / 3) && *d < c.len().max(given.len()))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// serde's name of the expected type → words.
fn expected_words(expected: &str) -> String {
    let words = match expected {
        "u8" | "u16" | "u32" | "u64" | "u128" | "usize" => "a whole number ≥ 0",
        "i8" | "i16" | "i32" | "i64" | "i128" | "isize" => "a whole number",
        "f32" | "f64" => "a number",
        "a boolean" | "bool" => "true or false",
        "a string" | "string" | "a char" => "a text",
        "a sequence" => "a list",
        "a map" => "a mapping",
        other if other.starts_with("struct ") => "a mapping of fields",
        other if other.starts_with("enum ") => "one of its listed values",
        other => return other.replace('`', ""),
    };
    words.to_string()
}

/// serde's description of the value found → words (`integer `-5`` → `-5`).
fn got_words(got: &str) -> String {
    for prefix in ["integer ", "floating point ", "boolean ", "string "] {
        if let Some(value) = got.strip_prefix(prefix) {
            let value = value.trim_matches('`');
            return if prefix == "string " {
                format!("the text {value}")
            } else {
                value.to_string()
            };
        }
    }
    match got {
        "sequence" => "a list".into(),
        "map" => "a mapping".into(),
        "unit value" => "nothing (null)".into(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rust_type_names_become_words() {
        assert_eq!(
            plain("invalid type: floating point `1.5`, expected u64"),
            "expected a whole number ≥ 0, got 1.5"
        );
        assert_eq!(
            plain("invalid value: integer `-5`, expected u64"),
            "expected a whole number ≥ 0, got -5"
        );
        assert_eq!(
            plain("invalid type: string \"ten\", expected f64"),
            "expected a number, got the text \"ten\""
        );
        assert_eq!(
            plain("invalid type: sequence, expected u64"),
            "expected a whole number ≥ 0, got a list"
        );
    }

    #[test]
    fn unknown_names_list_the_choices_and_suggest_the_closest() {
        assert_eq!(
            plain("unknown variant `sgdd`, expected one of `sgd`, `adam`, `sam`"),
            "unknown value `sgdd`: expected one of sgd, adam, sam — did you mean sgd?"
        );
        assert_eq!(
            plain("unknown field `stpes`, expected one of `steps`, `batch_size`"),
            "unknown field `stpes`: expected one of steps, batch_size — did you mean steps?"
        );
        assert_eq!(
            plain("unknown variant `lbfgs`, expected one of `sgd`, `adam`, `sam`"),
            "unknown value `lbfgs`: expected one of sgd, adam, sam"
        );
        assert_eq!(
            plain("unknown variant `x`, expected `a` or `b`"),
            "unknown value `x`: expected one of a, b"
        );
    }

    #[test]
    fn faults_are_told_apart() {
        assert_eq!(
            Fault::of("unknown field `trainig`, expected one of `name`, `training`"),
            Fault::UnknownField {
                name: "trainig",
                suggestion: Some("training")
            }
        );
        assert_eq!(
            Fault::of("missing field `seeds`"),
            Fault::MissingField("seeds")
        );
        assert_eq!(
            Fault::of("unknown variant `sgdd`, expected one of `sgd`, `adam`"),
            Fault::WrongValue {
                first_choice: Some("sgd")
            }
        );
        assert_eq!(
            Fault::of("invalid type: string \"1e-2\", expected f64"),
            Fault::WrongValue { first_choice: None }
        );
    }

    #[test]
    fn a_suggestion_can_be_replaced() {
        let message = plain("unknown field `trainng`, expected one of `training`, `seeds`");
        assert_eq!(
            replace_suggestion(&message, |s| format!("{s}.steps")),
            "unknown field `trainng`: expected one of training, seeds — did you mean \
             training.steps?"
        );
        assert_eq!(
            replace_suggestion("no suggestion", |s| s.into()),
            "no suggestion"
        );
    }

    #[test]
    fn other_messages_are_kept() {
        assert_eq!(
            plain("did not find expected key"),
            "did not find expected key"
        );
    }
}
