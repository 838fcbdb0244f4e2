//! # eigensweep-worker
//!
//! The numerical core of eigensweep: everything one run needs to train a network and look at
//! its loss Hessian.
//!
//! - [`data`] reads MNIST-style IDX files (plain or gzip), makes a seeded synthetic dataset,
//!   finds datasets on disk and fetches the standard ones into a cache.
//! - [`eigen`] finds the top-k (largest algebraic) eigenpairs of a symmetric operator that is
//!   only available through products, with warm starts and honest convergence reports.
//!
//! Definitions follow `METHOD.md` of the study this tool reproduces.

pub mod data;
pub mod eigen;
pub mod mlp;
pub mod optim;
pub mod output;
pub mod rng;
pub mod run;
pub mod snapshot;
pub mod train;
