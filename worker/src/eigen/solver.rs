//! Top-k largest-algebraic eigenpairs of a symmetric operator known only through products.
//!
//! # Method: thick-restart Krylov with exact Rayleigh–Ritz (Krylov–Schur, or block Lanczos)
//!
//! The solver keeps an orthonormal basis `Q` (`n × m`) **and** `W = A Q`. Storing `W` costs
//! memory (`n m` doubles) but no products, and buys two things: the projected matrix
//! `T = Qᵀ W` is exact (no three-term recurrence whose rounding errors would need selective
//! reorthogonalisation), and the *true* residual `A x − θ x = W y − θ Q y` of every Ritz pair
//! `x = Q y` is available without a product, so convergence is judged honestly.
//!
//! Each iteration:
//! 1. eigen-decompose the small `T` ([`dense`](super::dense)); Ritz values descending;
//! 2. for the `b = k + guard` leading Ritz pairs form `x`, `A x` and `r = A x − θ x`;
//!    pair `i` is converged when `‖r_i‖ ≤ tol·|θ_i|` (ARPACK's test, true residual);
//! 3. stop when the `k` wanted pairs are converged, the budget is spent, or the residuals
//!    stagnate at the operator's noise floor;
//! 4. expand `Q` by one residual (Krylov–Schur, the default: see below), or by the
//!    residuals of the unconverged pairs among the leading `b` (block start: at most
//!    `opts.expand` of them; by default all),
//!    orthogonalised twice against `Q` (block classical Gram–Schmidt, full
//!    reorthogonalisation, a third pass if the second still cancelled a lot). Ritz residuals
//!    of a block Krylov space span its next block, so this *is* block Lanczos (with a
//!    random start) but with converged directions dropped from the block and exact
//!    Rayleigh–Ritz;
//! 5. if `m` would exceed `max_basis`, thick-restart first: `Q ← Q Y_keep`, `W ← W Y_keep`
//!    with the `keep` leading Ritz vectors — no product is spent, and the Krylov–Schur
//!    structure (residuals of kept Ritz vectors lie in the next block) is preserved.
//!
//! Residual directions that collapse under orthogonalisation (relative norm < 1e-10) are
//! dropped; if a whole block collapses (an invariant subspace was found, e.g. an exactly
//! repeated eigenvalue of multiplicity above the block rank) seeded random vectors replace
//! it, so further copies of the eigenvalue are still found. Unconverged pairs whose residual
//! is already at the noise floor go last in the expansion order (their residual is noise).
//!
//! # Krylov–Schur (the default, [`Start::KrylovSchur`])
//!
//! The basis starts from one vector and each iteration adds one: the residual of a leading
//! Ritz pair. In a single Krylov space all Ritz residuals are parallel to the next Lanczos
//! vector, and a thick restart onto Ritz vectors keeps that structure, so this is
//! single-vector thick-restart Lanczos (Krylov–Schur) with exact Rayleigh–Ritz. Each product
//! buys a full new Krylov direction, where a block spends most of its columns on directions
//! that converge anyway: on the MNIST Hessian (`eigensweep bench --eigen`) a cold top-3 solve
//! takes 20 products against 38 for a random block (ARPACK: 21), a warm top-15 solve at
//! tol 0 45–96 against 104–264 for the block of previous vectors.
//! - Cold, the start vector is seeded random and, as in ARPACK, nothing is accepted before
//!   the basis has ARPACK's default `ncv = max(2k + 1, 20)` dimensions: a smaller Krylov space
//!   may not yet separate the members of a cluster, and then a lower eigenvalue passes the
//!   residual test in place of the hidden member (spectrum 10, 9.99, 9.98, 5, bulk in
//!   [−2, 2], tol 1e-3: 9 of 20 seeds wrong when accepting as soon as the residuals pass,
//!   none from 15 dimensions on).
//! - Warm, the start vector is the sum of the first `k` normalised warm vectors (the previous
//!   top k) plus a seeded random vector of a tenth of its norm: its Krylov space reaches the
//!   previous top directions in `k` products (nothing is accepted before `k + guard`), and
//!   the random part gives a direction none of them holds — an eigenvalue that rose into the
//!   top k — a start to grow from. Warm vectors after the first `k` (a previous solve's guard
//!   pairs) are left out of the sum: they are Ritz vectors far from converged, and what they
//!   add is mostly the bulk of the spectrum. On the MNIST Hessian along SGD (`bench --eigen`,
//!   top 3, tol 1e-3) leaving the two guard vectors out took warm solves from 14.7 to 13.7
//!   products early and from 10.3 to 9.7 late; summing 8 or 12 previous Ritz vectors cost
//!   more (17 / 15 early, 12–13 late).
//!
//! A single Krylov space holds one copy of an exactly repeated eigenvalue (further copies
//! enter only through rounding, as in ARPACK); [`Start::Block`] finds multiplicities up to
//! `b`.
//!
//! # Block start ([`Start::Block`])
//!
//! The start block has `b` columns (more if more warm vectors are given): the warm-start
//! vectors first, then seeded random vectors (uniform in [−1, 1), from a `ChaCha8Rng` seeded
//! by `opts.seed` — pure integer arithmetic, so identical everywhere; all sums here have a
//! fixed order, see [`linalg`](super::linalg)). The random fill is not cosmetic: between
//! snapshots near-degenerate pairs swap order and new eigenvalues rise into the top `k`; a
//! block of only the previous vectors has no component along a newcomer, and would happily
//! re-converge onto the stale set. Two checks make the random columns count:
//! - convergence is never accepted on the first Rayleigh–Ritz (the start block alone) unless
//!   all `b` leading pairs converged: one expansion with the residuals of the random guard
//!   pairs (`guard` products) amplifies a newcomer enough to be seen;
//! - a guard pair whose inclusion interval `[θ − r, θ + r]` reaches above the `k`-th Ritz
//!   value while its residual is over `10·tol·|θ_k|` may hide a top-k eigenvalue: iterate on
//!   (at most [`GUARD_PATIENCE`] extra iterations once the wanted pairs are converged; this
//!   check applies to Krylov–Schur too).
//!
//! # Stopping honestly
//!
//! `tol = 0` means `10·epsilon()` of the operator. An `f32` operator cannot reach that for
//! eigenvalues much smaller than `‖A‖` (the noise of one product is ~`eps·‖A‖`), so besides
//! the budget the solver stops as [`StopReason::Stagnated`] when the worst unconverged
//! residual of the wanted pairs has not improved by 10 % (by half once at the noise floor,
//! where rounding and thick restarts alone move it by tens of per cent) over [`STAGNATION_PATIENCE`]
//! iterations (Krylov–Schur: `min(k, 3)` times as many, since each adds one vector where a
//! block iteration adds up to `k`; with 5 single-vector iterations a late-Adam top-3 solve at
//! tol 1e-3 stopped 36 % above the tolerance it reached with 15, while waiting 75 for the top
//! 15 doubled its products for the same eigenvalues) **and** those residuals are at the noise floor: `≤ 1000·eps·‖A‖` (`‖A‖`
//! estimated by the extreme Ritz values) or `≤ 10 σ`, with σ the noise of one product as
//! measured from the asymmetry of `Qᵀ(AQ)` (symmetric for exact products). The measured σ
//! matters for f32 Hessians late in training, whose top eigenvalues (Adam: 1e-5) sit far
//! below the scale that sets the products' rounding. It also stops so when the basis spans the whole
//! space (the answer is then exact up to rounding). The budget is never exceeded: the last
//! block is cut to what is left.
//!
//! # Choices measured (`solver_bench`, ignored tests)
//!
//! Products (mean of 3 seeds) at `n = 4096` for rotated-diagonal spectra: "hessian" (50, 20,
//! 19.9, 5, bulk in [−0.5, 0.5]), "cluster" (10, 9.99, 9.98, 9, 8.99, bulk in [−4, 4]) and
//! "mlp" (ten outliers 35 … 2.2, bulk piled at 0 with tails to 0.8 / −0.3); warm = the top-k
//! of `A + 1e-3·E` (`‖E‖ ≤ 1`; for k = 15 and tol 1e-6, of `A + 1e-2·E`), tol 1e-3 unless
//! noted, automatic basis, cold / warm:
//!
//! | guard | hessian k3 | cluster k3 | mlp k3  | mlp k3, tol 1e-6 | mlp k15   |
//! |-------|------------|------------|---------|------------------|-----------|
//! | 1     | 16 / 5     | 42 / 5     | 21 / 5  | 28 / 15          | 346 / 94  |
//! | 2     | 20 / 7     | 44 / 7     | 24 / 7  | 34 / 18          | 385 / 116 |
//! | 3     | 24 / 9     | 53 / 9     | 29 / 9  | 40 / 22          | 409 / 138 |
//!
//! - `max_basis` (guard 2, cold): cluster k3 56 / 45 / 44 / 44 products at 12 / 20 / 30 /
//!   60 columns; mlp k3 tol 1e-6 41 / 34 / 34 / 34; mlp k15 762 / 448 / 390 / 385 / 379 at
//!   40 / 60 / 90 / 102 / 120. Hence the default `max(6 (k + guard), 30)`.
//! - restart (mlp k15, guard 2, 102 columns): keeping all but the next block 497 products,
//!   `b + 2` vectors 423, a third 391, **half 385**, two thirds 392 (at 60 columns: 702 /
//!   494 / 488 / **448** / 493). Hence thick restarts keep half the basis.
//! - expansion size: residuals of one pair per iteration (`expand = 1`) cost 30–50 % fewer
//!   products (hessian 12, cluster 30, mlp 14, mlp k15 203 cold), but misplaced eigenvalues
//!   in the cluster runs (1–2 of 18 solves at guard 1 or 3) and once at k = 15, which full
//!   blocks never did. Hence full blocks by default, `expand` as an option.
//! - guard: each guard vector costs ~15 % more cold products and `1` more warm product per
//!   solve; 2 is kept as the default for the margin it gives on clusters around λ_k.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::dense::{symmetric_eigen, SymmetricEigen};
use super::linalg::{combine, combine_into, gram, norm};
use super::operator::SymmetricOperator;
use super::options::{EigenOptions, Resolved, Start};
use super::result::{EigenPair, EigenResult, StopReason};
use super::sign::align_signs;
use crate::memory::{thousands, try_copy, try_filled, try_with_capacity, Need};
use crate::WorkerError;

/// Iterations without a 10 % improvement (at the noise floor) before declaring stagnation
/// (block iterations; Krylov–Schur waits `min(k, KRYLOV_PATIENCE_MAX_K)` times as many
/// single-vector iterations).
pub const STAGNATION_PATIENCE: usize = 5;
/// Krylov–Schur waits `STAGNATION_PATIENCE · min(k, KRYLOV_PATIENCE_MAX_K)` single-vector
/// iterations. On late-Adam θ of the 60,000 digits (λ₁ = 1.8e-5 … 6.9e-4, f32 products), a
/// top-15 tol-0 solve with `k` uncapped (75 iterations) stopped after 114–119 products, with
/// 15 iterations after 54–59, with the same fifteen eigenvalues to 1e-6 relative; top-15 SGD
/// solves, which converge, took the same products either way (BENCHMARKS.md, 2026-11-30).
const KRYLOV_PATIENCE_MAX_K: usize = 3;
/// Required improvement factor of the worst unconverged wanted residual.
const STAGNATION_FACTOR: f64 = 0.9;
/// The same at the noise floor, where rounding alone moves residuals by tens of per cent.
const STAGNATION_FACTOR_AT_FLOOR: f64 = 0.5;
/// A guard pair with a residual below `GUARD_SLACK · tol · |θ_k|` cannot hold back the
/// stop, even if its inclusion interval overlaps the `k`-th Ritz value (clusters).
const GUARD_SLACK: f64 = 10.0;
/// Most extra iterations spent verifying converged wanted pairs (see `guards_ok`).
const GUARD_PATIENCE: usize = 4;
/// A worst residual this many times above the best so far means the wanted set changed
/// (an eigenvalue was discovered); the stagnation count restarts from there.
const JUMP_RESET: f64 = 10.0;
/// Residuals below `NOISE_FLOOR_FACTOR · eps · ‖A‖` are at the operator's noise floor.
/// Generous on purpose (a real f32 Hessian-vector product is noisier than one rounding):
/// it only *allows* a stagnation stop, which still needs the residuals to stop improving.
const NOISE_FLOOR_FACTOR: f64 = 1e3;
/// Residuals below `MEASURED_NOISE_FACTOR ·` the measured product noise are at the floor:
/// a Ritz residual combines the noise of several products, and a few times the one-product
/// noise is as low as it can get.
const MEASURED_NOISE_FACTOR: f64 = 10.0;

/// ARPACK's default Krylov dimension for `k` wanted pairs (scipy `eigsh`'s `ncv`); `plan`
/// prices a cold solve at no fewer products (`cold_solve_floor`, kept equal by a test).
pub(super) fn arpack_ncv(k: usize) -> usize {
    (2 * k + 1).max(20)
}

/// Whether the worst unconverged residual `worst` improves on the best so far enough to
/// restart the stagnation count: by 10 %, or by half at the noise floor, where residuals
/// wander by tens of per cent with the rounding (a thick restart alone moved a late-Adam
/// residual from 1.32e-8 to 1.13e-8; real convergence halves it in a few products). A jump
/// of 10× upwards also counts: a new direction entered the wanted set.
pub(super) fn is_progress(worst: f64, best: f64, at_floor: bool) -> bool {
    let factor = if at_floor {
        STAGNATION_FACTOR_AT_FLOOR
    } else {
        STAGNATION_FACTOR
    };
    worst < factor * best || worst > JUMP_RESET * best
}

/// The residual below which a wanted pair is at the operator's noise floor: the larger of
/// `NOISE_FLOOR_FACTOR · eps · ‖A‖` (‖A‖ from the extreme Ritz values) and
/// `MEASURED_NOISE_FACTOR ·` the product noise measured from the asymmetry of `Qᵀ(AQ)`.
fn noise_floor(eps: f64, anorm: f64, measured: f64) -> f64 {
    (NOISE_FLOOR_FACTOR * eps * anorm).max(MEASURED_NOISE_FACTOR * measured)
}

/// A new direction whose norm falls below this fraction of its original norm under
/// orthogonalisation is numerically in span(Q) and is dropped.
const DROP_TOL: f64 = 1e-10;

/// How many Ritz vectors a thick restart keeps (crate-private knob for measurements; the
/// alternatives to `Percent(50)` are only constructed by `solver_bench`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) enum RestartKeep {
    /// Keep all but the room the next expansion block needs (`max_basis − p`).
    MaxRoom,
    /// Keep `k + guard + extra` Ritz vectors.
    Block(usize),
    /// Keep this fraction (percent) of `max_basis`, at least `k + guard`.
    Percent(usize),
}

/// Internal knobs, measured by `solver_bench::tuning_table`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Tuning {
    pub keep: RestartKeep,
}

impl Default for Tuning {
    fn default() -> Self {
        Self {
            keep: RestartKeep::Percent(50),
        }
    }
}

/// Finds the `opts.k` largest-algebraic eigenpairs of `op` (see the module docs for the
/// method). `warm_start` vectors (any number, each of length `n`, not necessarily
/// orthonormal) seed the start block; the returned vectors' signs follow
/// [`align_signs`] against the same `warm_start`.
///
/// Never panics on bad input: invalid options or warm vectors give
/// [`WorkerError::InvalidEigenOptions`]; an operator error, or a non-finite value in a product,
/// gives [`WorkerError::OperatorFailed`]. Otherwise the result always comes back, with
/// [`StopReason`] and per-pair `converged` flags saying how good it is.
pub fn top_k_eigenpairs<O: SymmetricOperator + ?Sized>(
    op: &mut O,
    opts: &EigenOptions,
    warm_start: Option<&[Vec<f64>]>,
) -> Result<EigenResult, WorkerError> {
    solve(op, opts, warm_start, Tuning::default())
}

/// One Ritz pair of the current basis, with its residual vector.
struct Ritz {
    value: f64,
    x: Vec<f64>,
    r: Vec<f64>,
    res: f64,
}

/// What sets the size of a solve's buffers, for the message when one cannot be allocated.
#[derive(Debug, Clone, Copy)]
struct Sizing {
    /// Wanted pairs.
    k: usize,
    /// Ritz pairs tracked: `k` + guard pairs.
    block: usize,
    /// Largest basis before a thick restart.
    max_basis: usize,
    /// Columns reserved for `Q` and `W`: the largest basis, or the product budget if smaller
    /// (every column has its product).
    room: usize,
}

impl Sizing {
    /// Where the basis size comes from: `the basis holds up to 132 columns = max(6 (k +
    /// guard), 30) for k = 20 wanted pairs and 2 guard pairs`.
    fn basis_text(&self) -> String {
        let guard = self.block - self.k;
        let rule = if self.max_basis == super::options::auto_max_basis(self.k, guard) {
            " = max(6 (k + guard), 30)"
        } else {
            ""
        };
        let budget = if self.room < self.max_basis {
            format!(
                " (capped at the product budget, {})",
                thousands(self.room as u64)
            )
        } else {
            String::new()
        };
        format!(
            "the basis holds up to {} columns{rule} for k = {} wanted pairs and {guard} guard \
             pairs{budget}",
            thousands(self.max_basis as u64),
            thousands(self.k as u64),
        )
    }

    /// The description of a block of `columns` vectors of length `n` named `what`.
    fn need(&self, what: &str, columns: usize, n: usize) -> Need {
        Need {
            buffer: format!("the eigensolver's {what}"),
            size: format!(
                "{} vectors × {} entries (the network's parameters) × 8 bytes; {}",
                thousands(columns as u64),
                thousands(n as u64),
                self.basis_text()
            ),
        }
    }
}

/// The basis, its products and the projected matrix.
struct Space {
    n: usize,
    m: usize,
    /// Sizes of the solve, for messages.
    sizing: Sizing,
    /// `n × m`, column-contiguous, orthonormal.
    q: Vec<f64>,
    /// `A Q`, same layout.
    w: Vec<f64>,
    /// `sym(Qᵀ W)`, `m × m` row-major.
    t: Vec<f64>,
    /// Sum of squares and count of the asymmetries `q_i·w_j − q_j·w_i` seen so far: exact
    /// products make `Qᵀ W` symmetric, so these measure the operator's real product noise.
    asym: (f64, usize),
}

impl Space {
    fn new(n: usize, sizing: Sizing) -> Self {
        Self {
            n,
            m: 0,
            sizing,
            q: Vec::new(),
            w: Vec::new(),
            t: Vec::new(),
            asym: (0.0, 0),
        }
    }

    /// Reserves `Q` and `W` for the largest basis the solve may hold (exactly: `Vec`'s
    /// doubling growth would ask for up to twice as much, and abort when refused), so that a
    /// basis the memory cannot hold is refused, naming it, before the first product is spent.
    fn reserve_basis(&mut self, columns: usize) -> Result<(), WorkerError> {
        let n = self.n;
        let columns = columns.max(self.sizing.room);
        let total = columns.saturating_mul(n);
        let refused = |_| {
            let bytes = 2 * crate::memory::bytes_of::<f64>(total);
            Need {
                buffer: "the eigensolver's Krylov basis Q and its products W = HQ".into(),
                size: format!(
                    "2 × {} columns × {} entries (the network's parameters) × 8 bytes; {}",
                    thousands(columns as u64),
                    thousands(n as u64),
                    self.sizing.basis_text()
                ),
            }
            .error(bytes)
        };
        for v in [&mut self.q, &mut self.w] {
            if v.capacity() < total {
                v.try_reserve_exact(total - v.len()).map_err(refused)?;
            }
        }
        Ok(())
    }

    /// The norm of one product's noise for a unit vector, as measured by the asymmetry of
    /// `Qᵀ W`: with `w_j = A q_j + e_j`, `q_i·w_j − q_j·w_i = q_i·e_j − q_j·e_i`, which for
    /// noise spread over all n directions has variance `2‖e‖²/n`. Zero before two columns.
    ///
    /// This is what bounds the residuals an f32 Hessian-vector product can reach: its
    /// rounding follows the magnitude of the per-sample terms summed over the data (the full
    /// Hessian's scale), which can be orders above the top Ritz values late in training (Adam:
    /// λ1 ≈ 1e-5), so `eps·max|θ|` alone would put the floor far too low.
    fn product_noise(&self) -> f64 {
        let (sum, count) = self.asym;
        if count == 0 {
            return 0.0;
        }
        (sum / count as f64 * self.n as f64 / 2.0).sqrt()
    }

    /// Appends orthonormal columns `v` with their products `av`, extending `T`.
    fn append(&mut self, v: &[f64], av: &[f64], p: usize) -> Result<(), WorkerError> {
        let (n, m) = (self.n, self.m);
        let mp = m + p;
        self.reserve_basis(mp)?;
        // Q_allᵀ W_new ((m+p) × p) and Q_newᵀ W_old (p × m): T stays sym(Qᵀ W) exactly.
        self.q.extend_from_slice(v);
        let qw_new = gram(&self.q, mp, av, p, n);
        let qnew_wold = gram(v, p, &self.w, m, n);
        self.w.extend_from_slice(av);
        let mut t = vec![0.0; mp * mp];
        for i in 0..m {
            t[i * mp..i * mp + m].copy_from_slice(&self.t[i * m..(i + 1) * m]);
        }
        for j in 0..p {
            for i in 0..mp {
                let mut x = qw_new[i * p + j];
                let other = if i < m {
                    qnew_wold[j * m + i]
                } else {
                    qw_new[(j + m) * p + (i - m)]
                };
                // Each off-diagonal pair once (i < m + j); the diagonal has no partner.
                if i < m + j {
                    self.asym.0 += (x - other) * (x - other);
                    self.asym.1 += 1;
                }
                x = 0.5 * (x + other);
                t[i * mp + (m + j)] = x;
                t[(m + j) * mp + i] = x;
            }
        }
        self.t = t;
        self.m = mp;
        Ok(())
    }

    /// Thick restart onto the `keep` leading Ritz vectors. Costs no product; `T` becomes
    /// the diagonal of their Ritz values (exact up to rounding since `Yᵀ T Y = Θ`).
    fn restart(&mut self, eig: &SymmetricEigen, keep: usize) -> Result<(), WorkerError> {
        let (n, m) = (self.n, self.m);
        let mut y = vec![0.0; m * keep];
        for c in 0..keep {
            for (i, yi) in eig.vector(c).iter().enumerate() {
                y[i * keep + c] = *yi;
            }
        }
        // Into the reserved buffers again (a new, smaller `Vec` would have to grow back,
        // infallibly, to the full basis).
        let sizing = self.sizing;
        let need = || sizing.need("thick restart (the kept Ritz vectors)", keep, n);
        let q = combine(&self.q, m, &y, keep, n, need)?;
        self.q.clear();
        self.q.extend_from_slice(&q);
        drop(q);
        let w = combine(&self.w, m, &y, keep, n, need)?;
        self.w.clear();
        self.w.extend_from_slice(&w);
        self.t = vec![0.0; keep * keep];
        for c in 0..keep {
            self.t[c * keep + c] = eig.values[c];
        }
        self.m = keep;
        Ok(())
    }

    /// The leading `count` Ritz pairs, normalised, with true residuals.
    fn ritz_pairs(&self, eig: &SymmetricEigen, count: usize) -> Result<Vec<Ritz>, WorkerError> {
        let (n, m) = (self.n, self.m);
        let mut y = vec![0.0; m * count];
        for c in 0..count {
            for (i, yi) in eig.vector(c).iter().enumerate() {
                y[i * count + c] = *yi;
            }
        }
        let sizing = self.sizing;
        let xs = combine(&self.q, m, &y, count, n, || {
            sizing.need("Ritz vectors", count, n)
        })?;
        let axs = combine(&self.w, m, &y, count, n, || {
            sizing.need("products of the Ritz vectors", count, n)
        })?;
        // The pairs' normalised vectors and residuals (2 × count more vectors), checked at once.
        crate::memory::ensure_available(2 * crate::memory::bytes_of::<f64>(count * n), || {
            sizing.need("Ritz pairs (vectors and residuals)", 2 * count, n)
        })?;
        Ok((0..count)
            .map(|c| {
                let value = eig.values[c];
                let mut x = xs[c * n..(c + 1) * n].to_vec();
                let scale = 1.0 / norm(&x);
                x.iter_mut().for_each(|v| *v *= scale);
                let r: Vec<f64> = axs[c * n..(c + 1) * n]
                    .iter()
                    .zip(&x)
                    .map(|(ax, xi)| ax * scale - value * xi)
                    .collect();
                let res = norm(&r);
                Ritz { value, x, r, res }
            })
            .collect())
    }

    /// Orthonormalises the `p` candidate columns of `v` against `Q` and each other (block
    /// CGS2, then CGS2 inside the block). Returns the surviving columns, contiguous.
    fn orthonormalise(&self, mut v: Vec<f64>, p: usize) -> Result<(Vec<f64>, usize), WorkerError> {
        let (n, m) = (self.n, self.m);
        let original: Vec<f64> = (0..p).map(|j| norm(&v[j * n..(j + 1) * n])).collect();
        if m > 0 {
            let mut before = original.clone();
            for pass in 0..3 {
                let c = gram(&self.q, m, &v, p, n);
                combine_into(&self.q, m, &c, p, n, -1.0, &mut v);
                let after: Vec<f64> = (0..p).map(|j| norm(&v[j * n..(j + 1) * n])).collect();
                // Twice is enough unless the second pass still removed a lot.
                let cancelled = after.iter().zip(&before).any(|(a, b)| *a < 0.5 * b);
                before = after;
                if pass == 1 && !cancelled {
                    break;
                }
            }
        }
        let mut out: Vec<f64> =
            try_with_capacity(p * n, || self.sizing.need("new basis vectors", p, n))?;
        let mut kept = 0;
        for j in 0..p {
            let mut x = v[j * n..(j + 1) * n].to_vec();
            if !(original[j] > 0.0 && original[j].is_finite()) {
                continue;
            }
            for _ in 0..2 {
                if kept > 0 {
                    let c = gram(&out, kept, &x, 1, n);
                    combine_into(&out, kept, &c, 1, n, -1.0, &mut x);
                }
            }
            let nx = norm(&x);
            if nx > DROP_TOL * original[j] {
                x.iter_mut().for_each(|e| *e /= nx);
                out.extend_from_slice(&x);
                kept += 1;
            }
        }
        Ok((out, kept))
    }
}

/// Counts products, checks their outputs, and turns operator failures into errors.
struct Counter<'a, O: SymmetricOperator + ?Sized> {
    op: &'a mut O,
    products: usize,
    sizing: Sizing,
}

impl<O: SymmetricOperator + ?Sized> Counter<'_, O> {
    fn apply(&mut self, v: &[f64], p: usize) -> Result<Vec<f64>, WorkerError> {
        let n = self.op.dim();
        let mut out = try_filled(v.len(), 0.0, || self.sizing.need("products", p, n))?;
        self.op
            .apply_block(v, &mut out, p)
            .map_err(WorkerError::from_operator)?;
        self.products += p;
        if let Some(i) = out.iter().position(|x| !x.is_finite()) {
            return Err(WorkerError::NonFinite(format!("entry {i} of the block")));
        }
        Ok(out)
    }
}

/// Relative norm of the random part of a warm Krylov–Schur start vector.
const WARM_RANDOM_PART: f64 = 0.1;

/// The start vector of a warm Krylov–Schur solve: the sum of the normalised warm vectors,
/// plus a seeded random vector of [`WARM_RANDOM_PART`] of that norm. The Krylov space of a
/// vector rich in the previous top directions reaches them in as many products as there are
/// vectors; the random part keeps a direction that none of them holds (an eigenvalue that
/// rose into the top k) from starting at zero.
fn warm_start_vector(warm: &[Vec<f64>], rng: &mut ChaCha8Rng) -> Vec<f64> {
    let n = warm[0].len();
    let mut v0 = vec![0.0; n];
    for w in warm {
        let size = norm(w);
        if size > 0.0 {
            v0.iter_mut().zip(w).for_each(|(a, b)| *a += b / size);
        }
    }
    let z = random_block(rng, n, 1);
    let sum = norm(&v0);
    // All-zero (or cancelling) warm vectors: the random vector alone.
    let scale = if sum > 0.0 {
        WARM_RANDOM_PART * sum
    } else {
        1.0
    } / norm(&z);
    v0.iter_mut().zip(&z).for_each(|(a, b)| *a += scale * b);
    v0
}

fn random_block(rng: &mut ChaCha8Rng, n: usize, p: usize) -> Vec<f64> {
    (0..n * p).map(|_| 2.0 * rng.gen::<f64>() - 1.0).collect()
}

/// Orthonormal random columns (at most `p`) against the current basis; a few draws in case
/// some collapse (they only do when the basis nearly spans the space).
fn random_fill(
    space: &Space,
    rng: &mut ChaCha8Rng,
    p: usize,
) -> Result<(Vec<f64>, usize), WorkerError> {
    let p = p.min(space.n - space.m);
    let mut block = Vec::new();
    let mut got = 0;
    for _ in 0..3 {
        if got >= p {
            break;
        }
        let columns = space.m + got;
        let need = || {
            space
                .sizing
                .need("copy of the basis (random fill)", columns, space.n)
        };
        let mut q = try_with_capacity(columns * space.n, need)?;
        q.extend_from_slice(&space.q[..space.m * space.n]);
        q.extend_from_slice(&block);
        let trial = Space {
            n: space.n,
            m: columns,
            sizing: space.sizing,
            q,
            w: Vec::new(),
            t: Vec::new(),
            asym: (0.0, 0),
        };
        let (v, k) = trial.orthonormalise(random_block(rng, space.n, p - got), p - got)?;
        block.extend_from_slice(&v);
        got += k;
    }
    Ok((block, got))
}

pub(crate) fn solve<O: SymmetricOperator + ?Sized>(
    op: &mut O,
    opts: &EigenOptions,
    warm_start: Option<&[Vec<f64>]>,
    tuning: Tuning,
) -> Result<EigenResult, WorkerError> {
    let n = op.dim();
    let cfg: Resolved = opts.resolve(n, op.epsilon(), warm_start)?;
    let mut rng = ChaCha8Rng::seed_from_u64(opts.seed);
    let sizing = Sizing {
        k: cfg.k,
        block: cfg.block,
        max_basis: cfg.max_basis,
        room: cfg.max_basis.min(cfg.max_products),
    };
    let mut counter = Counter {
        op,
        products: 0,
        sizing,
    };
    let mut space = Space::new(n, sizing);
    // The whole basis first: a solve the memory cannot hold stops here, before any product.
    space.reserve_basis(0)?;

    // Start block: warm vectors first, random fill up to the block size.
    let warm = warm_start.unwrap_or(&[]);
    let n_warm = warm
        .len()
        .min(cfg.block.max(cfg.max_basis - cfg.block))
        .min(cfg.max_products);
    // Krylov–Schur (see the module docs): `krylov` says the basis is still one Krylov space,
    // whose Ritz residuals are all parallel, so one of them is the whole next direction.
    let single = opts.start == Start::KrylovSchur;
    let cold = single && n_warm == 0;
    let mut krylov = single;
    let start = if single { 1 } else { cfg.block.max(n_warm) };
    let v: Vec<f64> = if !single {
        let mut v: Vec<f64> = warm[..n_warm].iter().flatten().copied().collect();
        v.extend(random_block(&mut rng, n, start - n_warm));
        v
    } else if cold {
        random_block(&mut rng, n, 1)
    } else {
        // Only the first `k` warm vectors (a previous solve's top k): the vectors after them
        // (its guard pairs, Ritz vectors far from converged) carry the bulk of the spectrum
        // into the start, and on the MNIST Hessian summing them cost a product per snapshot
        // (module docs); the block start uses them all.
        warm_start_vector(&warm[..n_warm.min(cfg.k)], &mut rng)
    };
    let (mut block, mut p) = space.orthonormalise(v, start)?;
    if p < start {
        let tmp = Space {
            n,
            m: p,
            sizing,
            q: try_copy(&block, || sizing.need("start block", p, n))?,
            w: Vec::new(),
            t: Vec::new(),
            asym: (0.0, 0),
        };
        let (extra, e) = random_fill(&tmp, &mut rng, start - p)?;
        block.extend_from_slice(&extra);
        p += e;
    }
    let av = counter.apply(&block, p)?;
    space.append(&block, &av, p)?;

    let mut iterations = 0;
    let mut anorm: f64 = 0.0;
    let mut best = f64::INFINITY;
    let mut stale = 0;
    let mut checks = 0;
    loop {
        iterations += 1;
        let eig = symmetric_eigen(&space.t, space.m)
            .ok_or_else(|| WorkerError::NonFinite("the projected matrix".into()))?;
        let m = space.m;
        anorm = anorm.max(eig.values[0].abs()).max(eig.values[m - 1].abs());
        let nr = cfg.block.min(m);
        let ritz = space.ritz_pairs(&eig, nr)?;
        let converged: Vec<bool> = ritz
            .iter()
            .map(|p| p.res <= cfg.tol * p.value.abs())
            .collect();
        let wanted = cfg.k.min(nr);

        // The first Rayleigh–Ritz only sees the start block. After a warm start the wanted
        // pairs may all pass the test there while an eigenvalue that rose above them has no
        // weight in the block; one expansion with the (unconverged) random guard pairs'
        // residuals amplifies such a newcomer enough to be seen, for `guard` products.
        // A Krylov–Schur start (cold or warm) is verified by the size of its Krylov space
        // (`early`, below).
        let verified = single || m == n || iterations > 1 || converged.iter().all(|c| *c);
        // A guard pair whose interval [θ − r, θ + r] (it holds an eigenvalue) reaches above
        // the k-th Ritz value, with a residual far above the tolerance, may hide an
        // eigenvalue that belongs in the top k: keep going until it is resolved.
        let theta_k = ritz[wanted - 1].value;
        let guards_ok = (wanted..nr).all(|i| {
            let g = &ritz[i];
            g.value + g.res <= theta_k || g.res <= GUARD_SLACK * cfg.tol * theta_k.abs()
        });
        // Early in a cold start the basis holds fewer than `k` vectors: nothing to accept yet.
        let all_wanted = wanted == cfg.k.min(n) && converged[..wanted].iter().all(|c| *c);
        let checked = (verified && guards_ok) || checks >= GUARD_PATIENCE;
        // ARPACK's safeguard, kept: a cold Krylov space is not trusted before it has
        // ARPACK's default `ncv = max(2k + 1, 20)` dimensions. Earlier,
        // a cluster whose members the Krylov space has not yet separated can hide one of them
        // while every wanted residual passes the test (module docs).
        // A warm Krylov space is not trusted before it holds `k + guard` directions.
        let min_dims = if cold { arpack_ncv(cfg.k) } else { cfg.block };
        let early = krylov && m < min_dims.min(n) && counter.products < cfg.max_products;
        let stop = if all_wanted && early {
            None
        } else if all_wanted && (checked || m == n || counter.products >= cfg.max_products) {
            Some(StopReason::Converged)
        } else if all_wanted {
            // Converged but not yet verified: a few more (cheap: guard-only) expansions.
            checks += 1;
            None
        } else {
            // Stagnation bookkeeping on the unconverged wanted pairs. The measure is the
            // absolute residual: relative ones jump while Ritz values are still moving.
            let floor = noise_floor(cfg.eps, anorm, space.product_noise());
            let unconverged = || (0..wanted).filter(|&i| !converged[i]);
            let worst = unconverged().map(|i| ritz[i].res).fold(0.0, f64::max);
            let at_floor = unconverged().all(|i| ritz[i].res <= floor);
            if is_progress(worst, best, at_floor) {
                // Progress, or a new direction entered the wanted set: start counting anew.
                best = worst;
                stale = 0;
            } else {
                stale += 1;
            }
            // With m = n the Ritz pairs are exact up to rounding: nothing left to gain.
            // Patience in products: a Krylov–Schur iteration adds one vector, a block
            // iteration up to k.
            let patience = if krylov {
                STAGNATION_PATIENCE * cfg.k.min(KRYLOV_PATIENCE_MAX_K)
            } else {
                STAGNATION_PATIENCE
            };
            if (stale >= patience && at_floor) || m == n {
                Some(StopReason::Stagnated)
            } else if counter.products >= cfg.max_products {
                Some(StopReason::MaxProducts)
            } else {
                None
            }
        };
        if let Some(stop) = stop {
            return Ok(finish(
                ritz,
                &converged,
                cfg.k,
                stop,
                counter.products,
                iterations,
                cfg.tol,
                warm_start,
            ));
        }

        // Expansion block: residuals of the unconverged leading pairs.
        let budget = cfg.max_products - counter.products;
        // Pairs at the noise floor come last: their residuals are rounding noise, and
        // expanding with them would spend products without helping anyone.
        let noise = noise_floor(cfg.eps, anorm, space.product_noise());
        let mut order: Vec<usize> = (0..nr).filter(|&i| !converged[i]).collect();
        if krylov {
            // All residuals lie along the next Lanczos vector: take the largest, which
            // carries that direction with the least rounding (converged pairs included:
            // before ARPACK's dimension is reached the Krylov space grows regardless).
            order = (0..nr).collect();
            order.sort_by(|&a, &b| ritz[b].res.total_cmp(&ritz[a].res));
            order.truncate(1);
        } else {
            order.sort_by_key(|&i| ritz[i].res <= noise);
            order.truncate(budget.min(cfg.expand));
        }
        let mut cand: Vec<f64> = Vec::with_capacity(order.len() * n);
        for &i in &order {
            cand.extend_from_slice(&ritz[i].r);
        }
        let mut p = order.len();
        if cfg.max_basis >= n {
            // The whole space fits: never restart, just do not overshoot n.
            p = p.min(n - m);
            cand.truncate(p * n);
        } else if m + p > cfg.max_basis {
            let keep = match tuning.keep {
                RestartKeep::MaxRoom => cfg.max_basis - p,
                RestartKeep::Block(extra) => (cfg.block + extra).min(cfg.max_basis - p),
                RestartKeep::Percent(pc) => (cfg.max_basis * pc / 100).min(cfg.max_basis - p),
            };
            space.restart(&eig, keep.max(cfg.block).min(m))?;
        }
        let (mut block, mut got) = space.orthonormalise(cand, p)?;
        if got == 0 {
            // Invariant subspace (or exact degeneracy): continue from random directions.
            (block, got) = random_fill(&space, &mut rng, p.max(1).min(budget))?;
            krylov = false;
        }
        if got == 0 {
            return Ok(finish(
                ritz,
                &converged,
                cfg.k,
                StopReason::Stagnated,
                counter.products,
                iterations,
                cfg.tol,
                warm_start,
            ));
        }
        let av = counter.apply(&block, got)?;
        space.append(&block, &av, got)?;
    }
}

/// Packages the leading Ritz pairs as the answer, with signs aligned to `previous`.
#[allow(clippy::too_many_arguments)]
fn finish(
    ritz: Vec<Ritz>,
    converged: &[bool],
    k: usize,
    stop: StopReason,
    products: usize,
    iterations: usize,
    tol: f64,
    previous: Option<&[Vec<f64>]>,
) -> EigenResult {
    let mut vectors: Vec<Vec<f64>> = Vec::with_capacity(ritz.len());
    let mut rest = Vec::with_capacity(ritz.len());
    for r in ritz {
        vectors.push(r.x);
        rest.push((r.value, r.res));
    }
    align_signs(&mut vectors, previous);
    let mut pairs: Vec<EigenPair> = vectors
        .into_iter()
        .zip(rest)
        .zip(converged)
        .map(|((vector, (value, residual)), &converged)| EigenPair {
            value,
            vector,
            residual,
            converged,
        })
        .collect();
    let guard_pairs = pairs.split_off(k.min(pairs.len()));
    EigenResult {
        pairs,
        products,
        iterations,
        stop,
        tol,
        guard_pairs,
    }
}
