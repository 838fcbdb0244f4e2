//! Top-k eigenpairs of symmetric operators (owned by the eigensolver work).
//!
//! [`top_k_eigenpairs`] finds the largest-algebraic eigenpairs of a [`SymmetricOperator`]
//! known only through (block) products — in eigensweep the loss Hessian, through exact
//! Hessian-vector products, where every product is expensive and the number of products is
//! the cost. The method (single-vector thick-restart Lanczos, i.e. Krylov–Schur, or a block
//! variant, with exact Rayleigh–Ritz, true residuals, honest stop reasons) is described in the
//! `solver` module source; [`EigenOptions`] holds the knobs and their measured defaults,
//! [`align_signs`] the sign convention of `METHOD.md`.
//!
//! Typical use along a training run, warm-starting each snapshot from the previous one (the
//! Krylov space starts from the sum of the previous vectors plus a seeded random part, so
//! that an eigenvalue that rose into the top `k` is not missed):
//!
//! ```no_run
//! # use eigensweep_worker::eigen::*;
//! # fn hessian_at(_step: usize) -> DiagonalOperator { DiagonalOperator::new(vec![1.0; 10]) }
//! let opts = EigenOptions { k: 3, tol: 1e-3, seed: 7, ..EigenOptions::default() };
//! let mut previous: Option<Vec<Vec<f64>>> = None;
//! for step in [0, 100, 200] {
//!     let mut h = hessian_at(step);
//!     let res = top_k_eigenpairs(&mut h, &opts, previous.as_deref())?;
//!     // res.pairs: λ1 ≥ λ2 ≥ λ3, unit vectors, residuals, converged flags; res.products.
//!     previous = Some(res.pairs.iter().map(|p| p.vector.clone()).collect());
//! }
//! # Ok::<(), eigensweep_worker::WorkerError>(())
//! ```
mod dense;
mod linalg;
mod operator;
mod options;
mod result;
mod scaled;
mod sign;
mod slq;
mod solver;
mod trace;

#[cfg(test)]
mod solver_bench;
#[cfg(test)]
mod solver_tests;
#[cfg(test)]
mod test_ops;

pub use dense::{symmetric_eigen, SymmetricEigen};
pub use operator::{
    DenseSymmetric, DiagonalOperator, Interrupted, Interruptible, OperatorError, SymmetricOperator,
};
pub use options::{auto_max_basis, EigenOptions, Start, TOL_ZERO_FACTOR};
pub use result::{EigenPair, EigenResult, StopReason};
pub use scaled::DiagonallyScaled;
pub use sign::align_signs;
#[cfg(test)]
pub(crate) use slq::rademacher_unit_probes;
pub use slq::{lanczos_quadrature, Quadrature};
pub use solver::{top_k_eigenpairs, STAGNATION_PATIENCE};
pub use trace::{hutchinson_trace, TraceEstimate};
