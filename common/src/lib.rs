//! # eigensweep-common
//!
//! Small, stable types every eigensweep stage (and scripts driving the binary) can rely on.
//! For now: the process exit codes.

pub mod exit_codes;
