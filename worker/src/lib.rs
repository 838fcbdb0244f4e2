//! # eigensweep-worker
//!
//! The numerical core of eigensweep: everything one run needs to train a network and look at
//! its loss Hessian.
//!
//! - [`device`] opens the CPU or a CUDA GPU from a `cpu`/`cuda`/`cuda:N` request.
//! - [`data`] reads MNIST-style IDX files (plain or gzip), makes a seeded synthetic dataset,
//!   finds datasets on disk and fetches the standard ones into a cache.
//! - [`eigen`] finds the top-k (largest algebraic) eigenpairs of a symmetric operator that is
//!   only available through products, with warm starts and honest convergence reports.
//! - [`mlp`] is the network: parameters, loss and gradient written out by hand, and the exact
//!   Hessian-vector product (Pearlmutter's R-operator) as an [`eigen::SymmetricOperator`].
//! - [`optim`] holds SGD, Adam and SAM with PyTorch semantics; [`train`] the batch order and
//!   the training step; [`rng`] the seeded streams everything random comes from.
//! - [`memory`] allocates the large buffers (the Hessian operator's cache, the Krylov basis,
//!   the data's copies) fallibly: running out of memory is a [`WorkerError::OutOfMemory`]
//!   naming the buffer, its size and the settings behind it, not an abort.
//! - [`snapshot`] takes one eigen-snapshot with its statistics (IPR, alignments).
//! - [`output`] writes and reads the Parquet tables; [`run`] executes one run (or baseline
//!   network) end to end with checkpoints, so a killed sweep resumes exactly.
//!
//! Every fallible function returns the crate's one error type, [`WorkerError`]: a failure is
//! raised once, as the variant that names what failed, and travels as itself.
//!
//! Definitions follow `METHOD.md` of the study this tool reproduces.

pub mod data;
pub mod device;
pub mod eigen;
mod error;
pub mod memory;
pub mod mlp;
pub mod optim;
pub mod output;
pub mod rng;
pub mod run;
pub mod snapshot;
pub mod train;

pub use error::WorkerError;
