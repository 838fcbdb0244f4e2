//! serde's words in a person's words.
//!
//! serde and serde_yaml describe a type error in Rust terms (`invalid type: floating point
//! `1.5`, expected u64`, `unknown variant `sgdd`, expected one of `sgd`, `adam`, `sam``).
//! A sweep file's author writes YAML, not Rust: they read "expected a whole number ≥ 0, got
//! 1.5" and "expected one of sgd, adam, sam — did you mean sgd?".

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

/// `` `sgdd`, expected one of `sgd`, `adam`, `sam` `` (or `expected `a` or `b``, or
/// `there are no variants`) → "unknown value `sgdd`: expected one of sgd, adam, sam — did you
/// mean sgd?".
fn unknown(what: &str, rest: &str) -> String {
    let (given, expected) = rest.split_once(", ").unwrap_or((rest, ""));
    let name = given.trim_matches('`');
    let choices: Vec<&str> = expected
        .split('`')
        .skip(1)
        .step_by(2)
        .filter(|c| !c.is_empty())
        .collect();
    let mut text = format!("unknown {what} `{name}`");
    if choices.is_empty() {
        return text;
    }
    text.push_str(&format!(": expected one of {}", choices.join(", ")));
    if let Some(best) = suggestion(name, &choices) {
        text.push_str(&format!(" — did you mean {best}?"));
    }
    text
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
    fn other_messages_are_kept() {
        assert_eq!(
            plain("did not find expected key"),
            "did not find expected key"
        );
    }
}
