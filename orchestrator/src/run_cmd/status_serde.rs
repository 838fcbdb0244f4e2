//! A [`TaskStatus`] in the messages between ranks (serde), as the runs tables spell it:
//! `"pending"`, `"running"`, `"done"`, `"failed"`, `"diverged"`. The worker crate, which
//! defines the type, has no serde.

use eigensweep_worker::output::TaskStatus;
use serde::{de::Error as _, Deserialize, Deserializer, Serializer};

pub(super) fn serialize<S: Serializer>(status: &TaskStatus, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(status.as_str())
}

pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<TaskStatus, D::Error> {
    let text = String::deserialize(d)?;
    TaskStatus::parse(&text).ok_or_else(|| D::Error::custom(format!("no task status {text:?}")))
}

/// The same for an `Option<TaskStatus>` (`null` for none).
pub(super) mod option {
    use super::*;

    pub(in crate::run_cmd) fn serialize<S: Serializer>(
        status: &Option<TaskStatus>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match status {
            Some(status) => s.serialize_some(status.as_str()),
            None => s.serialize_none(),
        }
    }

    pub(in crate::run_cmd) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<TaskStatus>, D::Error> {
        Option::<String>::deserialize(d)?
            .map(|text| {
                TaskStatus::parse(&text)
                    .ok_or_else(|| D::Error::custom(format!("no task status {text:?}")))
            })
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Serialize;

    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    struct Message {
        #[serde(with = "super")]
        status: TaskStatus,
        #[serde(with = "super::option")]
        update: Option<TaskStatus>,
    }

    #[test]
    fn statuses_travel_as_their_table_text() {
        for status in TaskStatus::ALL {
            let m = Message {
                status,
                update: Some(status),
            };
            let text = serde_json::to_string(&m).unwrap();
            assert!(text.contains(&format!("\"{status}\"")), "{text}");
            assert_eq!(serde_json::from_str::<Message>(&text).unwrap(), m);
        }
        let none = r#"{"status":"done","update":null}"#;
        assert_eq!(serde_json::from_str::<Message>(none).unwrap().update, None);
        assert!(serde_json::from_str::<Message>(r#"{"status":"gone","update":null}"#).is_err());
    }
}
