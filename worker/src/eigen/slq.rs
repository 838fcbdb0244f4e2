//! Stochastic Lanczos quadrature (SLQ) for the eigenvalue density of a symmetric operator
//! known only through products (Lin, Saad & Yang 2016; Ubaru, Chen & Saad 2017; PyHessian's
//! `density`, Yao et al. 2020, Alg. 2; Ghorbani et al. 2019).
//!
//! For each probe `v` (Rademacher, normalised), `m` Lanczos steps with full
//! reorthogonalisation give a tridiagonal `T_m`; its eigenvalues `θ_j` (the Ritz nodes) and the
//! squared first components `w_j` of its eigenvectors (the weights, summing to 1) form the
//! `m`-point Gauss quadrature of the spectral measure `μ_v = Σ_i (v·u_i)² δ(λ_i)`:
//!
//! ```text
//! Σ_j w_j θ_j^p = vᵀ H^p v   exactly for p ≤ 2m − 1
//! ```
//!
//! Averaged over probes, `Σ_j w_j f(θ_j)` estimates `tr f(H) / n`: the density is the mean of
//! the per-probe node/weight sets, to be broadened (e.g. Gaussian) when drawn. The nodes and
//! weights are returned per probe, so any broadening can be applied later.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::dense::symmetric_eigen;
use super::operator::SymmetricOperator;
use crate::WorkerError;

/// The Gauss quadrature of one probe.
#[derive(Debug, Clone, PartialEq)]
pub struct Quadrature {
    /// Ritz values of the probe's Lanczos tridiagonal, largest first.
    pub nodes: Vec<f64>,
    /// Their weights (squared first eigenvector components), summing to 1.
    pub weights: Vec<f64>,
}

/// Runs stochastic Lanczos quadrature: `probes` Rademacher probes from `seed` (ChaCha8), each
/// with up to `steps` Lanczos steps (fewer when the Krylov space is exhausted first: an
/// invariant subspace gives an exact quadrature with fewer nodes). All probes advance
/// together, one block product per step, so the cost is `steps` block products of `probes`
/// vectors.
///
/// # Errors
/// [`WorkerError::InvalidEigenOptions`] for zero probes or steps; operator failures, interruption
/// and non-finite products as [`WorkerError`].
pub fn lanczos_quadrature<O: SymmetricOperator + ?Sized>(
    op: &mut O,
    probes: usize,
    steps: usize,
    seed: u64,
) -> Result<Vec<Quadrature>, WorkerError> {
    if probes == 0 || steps == 0 {
        return Err(WorkerError::InvalidEigenOptions(format!(
            "stochastic Lanczos quadrature needs probes and steps ≥ 1 (got {probes}, {steps})"
        )));
    }
    let n = op.dim();
    let mut draw = RademacherProbes::new(n, seed);
    let mut out = Vec::with_capacity(probes);
    let mut done = 0;
    while done < probes {
        let count = PROBE_BLOCK.min(probes - done);
        let starts = (0..count).map(|_| draw.next_probe()).collect();
        out.extend(quadrature_block(op, starts, steps.min(n))?);
        done += count;
    }
    Ok(out)
}

/// Probes run together, one block product per Lanczos step; blocks run one after another, so
/// the memory is `steps × PROBE_BLOCK` basis vectors whatever the number of probes.
const PROBE_BLOCK: usize = 4;

/// Rademacher probes ±1/√n from ChaCha8, entry by entry, probe after probe.
struct RademacherProbes {
    n: usize,
    rng: ChaCha8Rng,
}

impl RademacherProbes {
    fn new(n: usize, seed: u64) -> Self {
        Self {
            n,
            rng: ChaCha8Rng::seed_from_u64(seed),
        }
    }

    fn next_probe(&mut self) -> Vec<f64> {
        let s = 1.0 / (self.n as f64).sqrt();
        (0..self.n)
            .map(|_| if self.rng.gen::<bool>() { s } else { -s })
            .collect()
    }
}

/// Lanczos from each of `starts` (unit vectors) together, up to `steps` steps each.
fn quadrature_block<O: SymmetricOperator + ?Sized>(
    op: &mut O,
    starts: Vec<Vec<f64>>,
    steps: usize,
) -> Result<Vec<Quadrature>, WorkerError> {
    let n = op.dim();
    let probes = starts.len();
    // The bases grow to `steps` vectors per probe (plus a block of inputs and products):
    // checked before the first product, so that a density the memory cannot hold is refused
    // by name instead of aborting mid-way.
    let vectors = probes.saturating_mul(steps + 2);
    crate::memory::ensure_available(
        crate::memory::bytes_of::<f64>(n).saturating_mul(vectors as u64),
        || crate::memory::Need {
            buffer: "the Lanczos bases of the spectral density (snapshots.density)".into(),
            size: format!(
                "{probes} probes at a time × ({steps} Lanczos steps + 2) × {} entries (the \
                 network's parameters) × 8 bytes",
                crate::memory::thousands(n as u64)
            ),
        },
    )?;
    // Per probe: the Lanczos basis (step after step), α, β, and whether it has stopped.
    let mut bases: Vec<Vec<Vec<f64>>> = starts.into_iter().map(|v| vec![v]).collect();
    let mut alphas = vec![Vec::with_capacity(steps); probes];
    let mut betas = vec![Vec::with_capacity(steps); probes];
    let mut active: Vec<bool> = vec![true; probes];
    for _ in 0..steps {
        let live: Vec<usize> = (0..probes).filter(|&p| active[p]).collect();
        if live.is_empty() {
            break;
        }
        let mut input = Vec::with_capacity(live.len() * n);
        for &p in &live {
            input.extend_from_slice(bases[p].last().expect("a start vector"));
        }
        let mut output = vec![0.0; live.len() * n];
        op.apply_block(&input, &mut output, live.len())
            .map_err(WorkerError::from_operator)?;
        if let Some(i) = output.iter().position(|x| !x.is_finite()) {
            return Err(WorkerError::NonFinite(format!(
                "entry {i} of a Lanczos quadrature block"
            )));
        }
        for (slot, &p) in live.iter().enumerate() {
            let mut w = output[slot * n..(slot + 1) * n].to_vec();
            let q = bases[p].last().expect("a start vector");
            let alpha: f64 = q.iter().zip(&w).map(|(a, b)| a * b).sum();
            alphas[p].push(alpha);
            // Full reorthogonalisation (twice: "twice is enough") against the whole basis,
            // which also removes the α q and β q_prev terms of the three-term recurrence.
            for _ in 0..2 {
                for b in &bases[p] {
                    let c: f64 = b.iter().zip(&w).map(|(x, y)| x * y).sum();
                    for (wi, bi) in w.iter_mut().zip(b) {
                        *wi -= c * bi;
                    }
                }
            }
            let beta = w.iter().map(|x| x * x).sum::<f64>().sqrt();
            let scale = alpha
                .abs()
                .max(betas[p].last().copied().unwrap_or(0.0))
                .max(1e-300);
            if alphas[p].len() == steps || beta <= 1e-12 * scale {
                // Done, or the Krylov space is invariant: the quadrature is exact as it is.
                active[p] = false;
            } else {
                betas[p].push(beta);
                bases[p].push(w.into_iter().map(|x| x / beta).collect());
            }
        }
    }
    (0..probes)
        .map(|p| {
            let m = alphas[p].len();
            let mut t = vec![0.0; m * m];
            for i in 0..m {
                t[i * m + i] = alphas[p][i];
                if i + 1 < m {
                    t[(i + 1) * m + i] = betas[p][i];
                    t[i * m + i + 1] = betas[p][i];
                }
            }
            let e = symmetric_eigen(&t, m).ok_or_else(|| {
                WorkerError::NonFinite("the Lanczos tridiagonal of a quadrature probe".into())
            })?;
            let weights = (0..m).map(|j| e.vector(j)[0] * e.vector(j)[0]).collect();
            Ok(Quadrature {
                nodes: e.values,
                weights,
            })
        })
        .collect()
}

/// The probes [`lanczos_quadrature`] draws for `seed`, in order.
#[cfg(test)]
pub(crate) fn rademacher_unit_probes(n: usize, probes: usize, seed: u64) -> Vec<Vec<f64>> {
    let mut draw = RademacherProbes::new(n, seed);
    (0..probes).map(|_| draw.next_probe()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eigen::{DenseSymmetric, DiagonalOperator};

    fn dense(n: usize, seed: u64) -> (DenseSymmetric, Vec<f64>) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut a = vec![0.0; n * n];
        for i in 0..n {
            for j in 0..=i {
                let x: f64 = rng.gen_range(-1.0..1.0);
                a[i * n + j] = x;
                a[j * n + i] = x;
            }
        }
        (DenseSymmetric::new(n, a.clone()), a)
    }

    fn matvec(a: &[f64], v: &[f64]) -> Vec<f64> {
        let n = v.len();
        (0..n)
            .map(|i| (0..n).map(|j| a[i * n + j] * v[j]).sum())
            .collect()
    }

    #[test]
    fn each_probe_is_a_gauss_quadrature_exact_to_degree_2m_minus_1() {
        let (n, m) = (60, 6);
        let (mut op, a) = dense(n, 3);
        let quads = lanczos_quadrature(&mut op, 3, m, 11).unwrap();
        // Probes are independent of how they are blocked: the first 3 of 6 are the same.
        assert_eq!(
            lanczos_quadrature(&mut op, 6, m, 11).unwrap()[..3],
            quads[..]
        );
        for (q, v) in quads.iter().zip(rademacher_unit_probes(n, 3, 11)) {
            assert_eq!(q.nodes.len(), m);
            assert!((q.weights.iter().sum::<f64>() - 1.0).abs() < 1e-12);
            // vᵀ A^p v against Σ w θ^p for p = 0 … 2m − 1.
            let mut apv = v.clone();
            for p in 0..2 * m {
                let exact: f64 = v.iter().zip(&apv).map(|(x, y)| x * y).sum();
                let quad: f64 = q
                    .nodes
                    .iter()
                    .zip(&q.weights)
                    .map(|(t, w)| w * t.powi(p as i32))
                    .sum();
                let scale = 1.0f64.max(exact.abs());
                assert!(
                    (quad - exact).abs() < 1e-9 * scale,
                    "p = {p}: {quad} vs {exact}"
                );
                apv = matvec(&a, &apv);
            }
        }
    }

    #[test]
    fn the_mean_over_probes_estimates_the_normalised_moments() {
        // Σ_j w_j θ_j averaged over probes → tr(A)/n, Σ w θ² → tr(A²)/n = ‖A‖_F²/n.
        let n = 50;
        let (mut op, a) = dense(n, 5);
        let quads = lanczos_quadrature(&mut op, 400, 4, 2).unwrap();
        let moment = |p: i32| {
            quads
                .iter()
                .map(|q| {
                    q.nodes
                        .iter()
                        .zip(&q.weights)
                        .map(|(t, w)| w * t.powi(p))
                        .sum::<f64>()
                })
                .collect::<Vec<_>>()
        };
        for (p, exact) in [
            (1, (0..n).map(|i| a[i * n + i]).sum::<f64>() / n as f64),
            (2, a.iter().map(|x| x * x).sum::<f64>() / n as f64),
        ] {
            let samples = moment(p);
            let mean = samples.iter().sum::<f64>() / samples.len() as f64;
            let var = samples.iter().map(|s| (s - mean).powi(2)).sum::<f64>()
                / (samples.len() - 1) as f64;
            let se = (var / samples.len() as f64).sqrt();
            assert!(
                (mean - exact).abs() <= 4.0 * se + 1e-12,
                "p = {p}: {mean} vs {exact} (se {se})"
            );
        }
    }

    #[test]
    fn an_invariant_subspace_stops_early_with_an_exact_quadrature() {
        // Three distinct eigenvalues: the Krylov space of any probe has dimension ≤ 3.
        let d: Vec<f64> = (0..30).map(|i| [2.0, -1.0, 0.5][i % 3]).collect();
        let quads = lanczos_quadrature(&mut DiagonalOperator::new(d), 2, 10, 1).unwrap();
        for q in &quads {
            assert_eq!(q.nodes.len(), 3, "{q:?}");
            for (t, want) in q.nodes.iter().zip([2.0, 0.5, -1.0]) {
                assert!((t - want).abs() < 1e-10, "{q:?}");
            }
            // Each value holds a third of the entries: weight 1/3 each.
            assert!(
                q.weights.iter().all(|w| (w - 1.0 / 3.0).abs() < 1e-10),
                "{q:?}"
            );
        }
        assert!(matches!(
            lanczos_quadrature(&mut DiagonalOperator::new(vec![1.0; 4]), 0, 3, 1),
            Err(WorkerError::InvalidEigenOptions(_))
        ));
    }
}
