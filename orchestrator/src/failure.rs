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
