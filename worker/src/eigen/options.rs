//! What the caller asks of the eigensolver, and the checks that turn bad requests into
//! errors instead of panics or endless loops.

use crate::WorkerError;

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
    /// With [`Start::Block`] (Krylov–Schur adds one direction per iteration): most residual
    /// directions added to the basis per iteration, the residuals of the
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
    /// How the Krylov space is built: one vector at a time from one start vector
    /// ([`Start::KrylovSchur`], the default) or in blocks of `k + guard` ([`Start::Block`]).
    pub start: Start,
}

/// How a solve builds its space, cold (no warm-start vectors) and warm.
///
/// Measured on the Hessian of the paper's MLP on the 60,000 MNIST digits along SGD, against
/// ARPACK (scipy `eigsh`) on the same operator (`eigensweep bench --eigen`, 2-core AMD EPYC,
/// BENCHMARKS.md), products per snapshot:
///
/// | | ARPACK cold | Krylov–Schur cold / warm | block cold / warm |
/// |---|---|---|---|
/// | top 3, tol 1e-3, steps 63–378 | 21 | 20 / 11–16 | 26–35 / 17–23 |
/// | top 3, tol 1e-3, steps 3,063–3,378 | 21 | 20 / 8–10 | 20–23 / 11–14 |
/// | top 15, tol 0, steps 63–189 | 72–113 | 61–103 / 60–96 | — / 173–264 |
/// | top 15, tol 0, steps 3,063–3,189 | 56 | 49–52 / 45–47 | — / 103–104 |
///
/// (At tol 0 ARPACK was given the tolerance ours resolves to, 10 f32 ulps.)
///
/// The block start wins where the warm vectors are already nearly exact (synthetic spectra
/// perturbed by 1e-3, `solver_bench::tuning_table`: 7 products against 17–20 on a cluster,
/// 19 against 121 for the top 15), and it finds an exactly repeated eigenvalue up to
/// multiplicity `k + guard`, which a single Krylov space cannot (it holds one copy; further
/// copies enter only through rounding, as in ARPACK). On clusters whose members the Krylov
/// space has not yet separated, Krylov–Schur cold starts sometimes return a lower eigenvalue
/// in place of a hidden member, like ARPACK (`solver_bench::cold_start_on_clusters`: spectrum
/// 10, 9.99, 9.98, 9, 8.99 over a bulk in [−4, 4], 5 seeds in 20; ARPACK 2 in 20; the block
/// start none).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Start {
    /// Single-vector thick-restart Lanczos (Krylov–Schur). Cold: from one seeded random
    /// vector, and nothing is accepted before ARPACK's default basis of `max(2k + 1, 20)`
    /// dimensions. Warm: from the sum of the first `k` (normalised) warm-start vectors plus a
    /// seeded random vector of a tenth of that norm (so that a direction absent from the
    /// previous vectors can grow), nothing accepted before `k + guard` dimensions; warm
    /// vectors after the first `k` only set the returned vectors' signs.
    #[default]
    KrylovSchur,
    /// A block of `k + guard` vectors (the warm-start vectors, filled up with seeded random
    /// ones), each iteration expanded by the residuals of the unconverged pairs.
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
            start: Start::KrylovSchur,
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
    ) -> Result<Resolved, WorkerError> {
        let bad = |msg: String| Err(WorkerError::InvalidEigenOptions(msg));
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
