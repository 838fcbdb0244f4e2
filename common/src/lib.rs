//! # eigensweep-common
//!
//! Small, stable types every eigensweep stage (and scripts driving the binary) can rely on:
//! the process exit codes ([`exit_codes`]) and the sweep file with its expansion into runs
//! and their keys ([`sweep`]).

pub mod exit_codes;
pub mod sweep;
