//! What the eigensolver reports: the pairs, how much it cost, and why it stopped.

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
