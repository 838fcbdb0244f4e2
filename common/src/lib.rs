//! # eigensweep-common
//!
//! Small, stable types every eigensweep stage (and scripts driving the binary) can rely on:
//! the process exit codes ([`exit_codes`]), the optimisers' hyperparameters ([`optim`]), the sweep file with its expansion into runs
//! and their keys ([`sweep`]), the stop request that signals set ([`stop`]), how numbers read
//! in what people see ([`display`]), and who wrote an output ([`provenance`]).

pub mod device;
pub mod display;
mod error;
pub mod exit_codes;
pub mod optim;
pub mod provenance;
pub mod stop;
pub mod sweep;

pub use error::CommonError;
