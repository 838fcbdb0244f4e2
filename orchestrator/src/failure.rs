//! An error together with the exit code it should produce.

use std::fmt::Display;

use eigensweep_common::exit_codes;

/// A failed command: the error (printed with its cause chain) and its exit code.
#[derive(Debug)]
pub struct Failure {
    /// One of [`exit_codes`].
    pub code: i32,
    /// What went wrong, with context.
    pub error: anyhow::Error,
}

impl From<anyhow::Error> for Failure {
    fn from(error: anyhow::Error) -> Self {
        Self {
            code: exit_codes::INTERNAL,
            error,
        }
    }
}

/// `error` and its causes as one line, `outer: cause: cause`, for people.
///
/// Like anyhow's `{:#}`, but a cause whose text the message already holds is not repeated:
/// many error types (ours through thiserror's implicit `source` field, and those of our
/// dependencies) both print their cause and return it as `source()`, which would show the
/// operating system's words twice ("No such file or directory (os error 2): No such file or
/// directory (os error 2)"). Every message the binary prints goes through here.
pub fn chain(error: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in error.chain() {
        let part = cause.to_string();
        if text.contains(&part) {
            continue;
        }
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&part);
    }
    text
}

/// Attaches an exit code and a context line to any error.
pub trait WithExitCode<T> {
    /// Maps the error to a [`Failure`] with `code`, adding `context` as the outer message.
    fn exit_code<C: Display + Send + Sync + 'static>(
        self,
        code: i32,
        context: C,
    ) -> Result<T, Failure>;
}

impl<T, E: Into<anyhow::Error>> WithExitCode<T> for Result<T, E> {
    fn exit_code<C: Display + Send + Sync + 'static>(
        self,
        code: i32,
        context: C,
    ) -> Result<T, Failure> {
        self.map_err(|e| Failure {
            code,
            error: e.into().context(context),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An error that prints its cause and also returns it, as thiserror's `source` fields do.
    #[derive(Debug)]
    struct Reading {
        path: &'static str,
        source: std::io::Error,
    }

    impl std::fmt::Display for Reading {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "reading {}: {}", self.path, self.source)
        }
    }

    impl std::error::Error for Reading {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.source)
        }
    }

    #[test]
    fn the_os_error_is_printed_once() {
        let e = anyhow::Error::new(Reading {
            path: "/x/a.gz",
            source: std::io::Error::from(std::io::ErrorKind::NotFound),
        })
        .context("dataset `d`");
        let text = chain(&e);
        assert_eq!(text.matches("not found").count(), 1, "{text}");
        assert!(text.starts_with("dataset `d`: reading /x/a.gz: "), "{text}");
        // Causes that add something are kept.
        let e = anyhow::anyhow!("inner").context("outer");
        assert_eq!(chain(&e), "outer: inner");
    }
}
