//! What the eigensolver reports: the pairs, how much it cost, and why it stopped.

use super::operator::OperatorError;
use crate::memory::MemoryError;

/// One eigenpair estimate (a Ritz pair).
#[derive(Debug, Clone)]
pub struct EigenPair {
    /// The eigenvalue estimate (Rayleigh quotient of `vector`).
    pub value: f64,
    /// Unit-norm eigenvector estimate, sign fixed by [`align_signs`](super::align_signs).
    pub vector: Vec<f64>,
    /// `‖A v − λ v‖` for this `v` and `λ`, computed from stored products (no extra product).
    pub residual: f64,
    /// `residual ≤ tol·|value|` with the effective tolerance [`EigenResult::tol`].
    pub converged: bool,
}

/// Why the solver stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    /// All `k` wanted pairs met the tolerance.
    Converged,
    /// The product budget `max_products` is spent.
    MaxProducts,
    /// The residuals stopped decreasing at the operator's noise floor (its precision cannot
    /// support the tolerance), or the basis already spans the whole space. The pairs are as
    /// good as this operator allows; their `converged` flags say which met the tolerance.
    Stagnated,
}

/// The answer of [`top_k_eigenpairs`](super::top_k_eigenpairs).
#[derive(Debug, Clone)]
pub struct EigenResult {
    /// The `k` pairs, largest eigenvalue first.
    pub pairs: Vec<EigenPair>,
    /// Operator products used (the sum of `count` over all `apply_block` calls).
    pub products: usize,
    /// Rayleigh–Ritz iterations performed.
    pub iterations: usize,
    /// Why the solver stopped.
    pub stop: StopReason,
    /// The relative tolerance actually applied (the requested one, or the machine-precision
    /// substitute when the request was 0 or below the operator's precision).
    pub tol: f64,
    /// The guard pairs (Ritz pairs `k+1 ..= k+guard`, usually less accurate). Passing
    /// `pairs` followed by these as the next warm start gives the next solve a head start on
    /// an eigenvalue that is about to enter the top `k`.
    pub guard_pairs: Vec<EigenPair>,
}

impl EigenResult {
    /// Whether every wanted pair converged.
    pub fn all_converged(&self) -> bool {
        self.pairs.iter().all(|p| p.converged)
    }
}

/// Errors of the eigensolver.
#[derive(Debug, thiserror::Error)]
pub enum EigenError {
    /// The operator failed.
    #[error("operator product failed: {0}")]
    Operator(#[source] OperatorError),
    /// A product (or the projected matrix) had non-finite entries: the matrix is not
    /// representable at this point (for a Hessian: the parameters have blown up).
    #[error("the operator returned non-finite values: {0}")]
    NonFinite(String),
    /// The solve was abandoned because its stop flag was set (an
    /// [`Interruptible`](super::Interruptible) operator); no result exists.
    #[error("eigen-solve stopped by a signal")]
    Interrupted,
    /// The options (or warm-start vectors) do not fit the operator.
    #[error("invalid eigensolver options: {0}")]
    InvalidOptions(String),
    /// A buffer of the solve (its Krylov basis, Ritz vectors) or of the operator's products
    /// could not be allocated.
    #[error(transparent)]
    Memory(#[from] MemoryError),
}

impl EigenError {
    /// An operator's failure: [`EigenError::Interrupted`] for its stop request,
    /// [`EigenError::Memory`] for a buffer it could not allocate, else
    /// [`EigenError::Operator`].
    pub(crate) fn from_operator(e: OperatorError) -> Self {
        if e.is::<super::operator::Interrupted>() {
            return EigenError::Interrupted;
        }
        match e.downcast::<MemoryError>() {
            Ok(memory) => EigenError::Memory(*memory),
            Err(e) => EigenError::Operator(e),
        }
    }
}
