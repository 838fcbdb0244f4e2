//! Top-k eigenpairs of symmetric operators (owned by the eigensolver work).
//!
//! [`top_k_eigenpairs`] finds the largest-algebraic eigenpairs of a [`SymmetricOperator`]
//! known only through (block) products — in eigensweep, the loss Hessian through exact
//! Hessian-vector products, where every product is expensive and the number of products is
//! the cost. See [`solver`](self::top_k_eigenpairs) for the method, [`EigenOptions`] for the
//! knobs and [`align_signs`] for the sign convention of `METHOD.md`.
mod dense;
mod linalg;
mod operator;
mod options;
mod result;
mod sign;
mod solver;

#[cfg(test)]
mod solver_tests;
#[cfg(test)]
mod test_ops;

pub use dense::{symmetric_eigen, SymmetricEigen};
pub use operator::{DenseSymmetric, DiagonalOperator, OperatorError, SymmetricOperator};
pub use options::{auto_max_basis, EigenOptions, TOL_ZERO_FACTOR};
pub use result::{EigenError, EigenPair, EigenResult, StopReason};
pub use sign::align_signs;
pub use solver::{top_k_eigenpairs, STAGNATION_PATIENCE};
