//! What the caller asks of the eigensolver, and the checks that turn bad requests into
//! errors instead of panics or endless loops.

use super::result::EigenError;

/// Options of [`top_k_eigenpairs`](super::top_k_eigenpairs).
#[derive(Debug, Clone)]
pub struct EigenOptions {
    /// How many eigenpairs (largest algebraic eigenvalues) are wanted. At least 1.
    pub k: usize,
    /// Relative tolerance: a pair is converged when `‖A v − λ v‖ ≤ tol·|λ|` (scipy `eigsh` /
    /// ARPACK's criterion, with the true residual). `0` means "machine precision": a small
    /// multiple ([`TOL_ZERO_FACTOR`]) of the operator's
    /// [`epsilon`](super::SymmetricOperator::epsilon). A positive tol below that is raised to
    /// it, since the operator cannot deliver more.
    pub tol: f64,
    /// Budget of operator products (vectors multiplied, summed over all calls). The solver
    /// never exceeds it; it must allow at least one start block (`k + guard` products).
    pub max_products: usize,
    /// Extra Ritz pairs carried beside the wanted `k` (block size `k + guard`). They protect
    /// against missing an eigenvalue of multiplicity or cluster larger than `k`, speed up
    /// convergence of the `k`-th pair, and give warm starts fresh random directions.
    pub guard: usize,
    /// Largest basis (columns of `Q`) before a thick restart. `0` = automatic:
    /// [`auto_max_basis`]. Otherwise it must be at least `2 (k + guard)`, unless the
    /// dimension `n` is smaller (values above `n` are clamped to `n`).
    pub max_basis: usize,
    /// Most residual directions added to the basis per iteration: the residuals of the
    /// first `expand` unconverged pairs among the leading `k + guard`. `0` (the default) =
    /// `k`: every unconverged wanted pair is expanded each iteration and the guard pairs fill
    /// the slots that converged pairs free. On a real SGD trajectory (MNIST, top-3, tol 1e-3,
    /// `eigensweep bench`) this needed 11 products per warm-started snapshot against 18 for
    /// the full `k + guard` block, and 20 against 25 cold; any value ≥ `k + guard` gives the
    /// full block (plain block Krylov). Smaller values (down to 1,
    /// Lanczos-like) needed 30–50 % fewer products on cold starts in the measurements of the
    /// solver docs, but only the directions that are expanded get amplified, so a cluster of
    /// eigenvalues can be under-resolved: with `expand = 1` and tol 1e-3 the spectrum
    /// 10, 9.99, 9.98, 5, … returned 9.9986, 9.982, 5.0 — "converged" by the residual test,
    /// yet missing one eigenvalue. Use it only where that risk is acceptable.
    pub expand: usize,
    /// Seed of the random start / fill vectors. Same seed, same operator: bit-identical
    /// results on any machine.
    pub seed: u64,
    /// How a solve without warm-start vectors begins (see [`ColdStart`]).
    pub cold_start: ColdStart,
}

/// The method of a cold start (no warm-start vectors).
///
/// Measured on the Hessian of the paper's MLP on the 60,000 MNIST digits at initialisation
/// (top 3, tol 1e-3, `eigensweep bench --eigen`, 2-core AMD EPYC): Krylov–Schur 20 products,
/// block 38, ARPACK (scipy `eigsh`, same operator) 21. On synthetic clusters
/// (`solver_bench::cold_start_on_clusters`, 20 seeds) the block start was never wrong, while
/// Krylov–Schur, like ARPACK, sometimes returned a lower eigenvalue in place of an unresolved
/// cluster member (spectrum 10, 9.99, 9.98, 9, 8.99 over a bulk in [−4, 4]: 5 solves in 20
/// for Krylov–Schur, 2 in 20 for ARPACK, none for the block start).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ColdStart {
    /// Single-vector thick-restart Lanczos (Krylov–Schur) from one seeded random vector,
    /// not accepted before ARPACK's default basis of `max(2k + 1, 20)` dimensions. Like
    /// ARPACK, it holds one copy of an exactly repeated eigenvalue (a Krylov space from one
    /// vector cannot hold more; ARPACK finds further copies only through rounding): the
    /// returned pairs are still true eigenpairs, but the copies are missing from the top k.
    #[default]
    KrylovSchur,
    /// A random block of `k + guard` vectors, expanded like a warm start: finds
    /// multiplicities up to `k + guard` and resolves clusters best, for more products.
    Block,
}

impl Default for EigenOptions {
    fn default() -> Self {
        Self {
            k: 3,
            tol: 1e-3,
            max_products: 1000,
            guard: 2,
            max_basis: 0,
            expand: 0,
            seed: 0,
            cold_start: ColdStart::KrylovSchur,
        }
    }
}

/// `tol = 0` is interpreted as `TOL_ZERO_FACTOR · epsilon()`: residuals of a few ulps of
/// `|λ|` are the best a product computed in that precision can support for the largest
/// eigenvalues (smaller ones stop by stagnation, and are reported unconverged).
pub const TOL_ZERO_FACTOR: f64 = 10.0;

/// The automatic basis limit: `max(6 (k + guard), 30)` columns.
///
/// Measured (solver module docs): below ~4 blocks restarts cost products (k = 15: 762
/// products at 40 columns, 448 at 60, 385 at 102); beyond ~6 blocks the gain is small
/// while host memory (`2 n m` doubles: 146 MB for n = 89,610 and k = 15) and host work per
/// iteration (`O(n m b)`) keep growing.
pub fn auto_max_basis(k: usize, guard: usize) -> usize {
    (6 * (k + guard)).max(30)
}

/// Options checked against the operator and turned into the numbers the solver uses.
#[derive(Debug, Clone)]
pub(crate) struct Resolved {
    pub k: usize,
    /// `k + guard`: Ritz pairs tracked each iteration, and the largest expansion block.
    pub block: usize,
    pub max_basis: usize,
    /// Effective relative tolerance (never below `epsilon()`).
    pub tol: f64,
    pub max_products: usize,
    /// Most residual directions added per iteration (1 ..= block).
    pub expand: usize,
    /// The operator's unit round-off.
    pub eps: f64,
}

impl EigenOptions {
    /// Checks the options for an operator of dimension `n` and unit round-off `eps`, and the
    /// warm-start vectors, with messages that say what to change.
    pub(crate) fn resolve(
        &self,
        n: usize,
        eps: f64,
        warm_start: Option<&[Vec<f64>]>,
    ) -> Result<Resolved, EigenError> {
        let bad = |msg: String| Err(EigenError::InvalidOptions(msg));
        if n == 0 {
            return bad("the operator has dimension 0".into());
        }
        if self.k == 0 {
            return bad("k must be at least 1".into());
        }
        let block = match self.k.checked_add(self.guard) {
            Some(b) if b <= n => b,
            _ => {
                return bad(format!(
                    "k + guard = {} + {} exceeds the dimension n = {n}",
                    self.k, self.guard
                ))
            }
        };
        if !self.tol.is_finite() || self.tol < 0.0 {
            return bad(format!("tol must be finite and >= 0, got {}", self.tol));
        }
        if !(eps.is_finite() && eps > 0.0 && eps < 1.0) {
            return bad(format!(
                "the operator's epsilon() must be in (0, 1), got {eps}"
            ));
        }
        if self.max_products < block {
            return bad(format!(
                "max_products = {} is less than one start block (k + guard = {block})",
                self.max_products
            ));
        }
        let min_basis = (2 * block).min(n);
        let max_basis = if self.max_basis == 0 {
            auto_max_basis(self.k, self.guard).min(n)
        } else if self.max_basis < min_basis {
            return bad(format!(
                "max_basis = {} is below 2 (k + guard) = {min_basis} (use 0 for automatic)",
                self.max_basis
            ));
        } else {
            self.max_basis.min(n)
        };
        if let Some(warm) = warm_start {
            for (i, v) in warm.iter().enumerate() {
                if v.len() != n {
                    return bad(format!(
                        "warm-start vector {i} has length {}, expected n = {n}",
                        v.len()
                    ));
                }
                if let Some(j) = v.iter().position(|x| !x.is_finite()) {
                    return bad(format!(
                        "warm-start vector {i} has a non-finite entry at {j}"
                    ));
                }
            }
        }
        let tol = self.tol.max(if self.tol == 0.0 {
            TOL_ZERO_FACTOR * eps
        } else {
            eps
        });
        Ok(Resolved {
            k: self.k,
            block,
            max_basis,
            tol,
            max_products: self.max_products,
            expand: if self.expand == 0 {
                self.k.min(block)
            } else {
                self.expand.min(block)
            },
            eps,
        })
    }
}
