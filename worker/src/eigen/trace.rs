//! Hutchinson's estimator of the trace of a symmetric operator known only through products
//! (Hutchinson 1989; PyHessian's `trace`, Yao et al. 2020, Alg. 1):
//!
//! ```text
//! tr(A) = E[zᵀ A z] for z with independent Rademacher (±1) entries
//! ```
//!
//! Each probe costs one product. The estimate is the mean of `zᵢᵀ A zᵢ` over the probes and
//! its standard error the sample standard deviation over √probes (zero with one probe, where
//! it cannot be estimated: reported as NaN). With Rademacher probes the variance is
//! `2 Σ_{i≠j} A_ij²`, so a diagonal operator is estimated exactly by every probe.

use rand::Rng;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::operator::SymmetricOperator;
use crate::WorkerError;

/// Probes applied in one block (the Hessian operator batches a block through one pass).
const BLOCK: usize = 8;

/// A trace estimate and its uncertainty.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TraceEstimate {
    /// Mean of `zᵀ A z` over the probes: an unbiased estimate of tr(A).
    pub trace: f64,
    /// Standard error of the mean: sample standard deviation / √probes (NaN for one probe).
    pub std_error: f64,
    /// Probes used (= products).
    pub probes: usize,
}

/// Estimates tr(A) from `probes` Rademacher probes drawn from `seed` (ChaCha8, entry by entry,
/// probe after probe: the same seed gives the same probes on any device).
///
/// # Errors
/// [`WorkerError::OperatorFailed`] (or [`WorkerError::EigenInterrupted`],
/// [`WorkerError::OutOfMemory`]) from the operator; [`WorkerError::NonFinite`] when a product
/// is not finite; [`WorkerError::InvalidEigenOptions`] for zero probes.
pub fn hutchinson_trace<O: SymmetricOperator + ?Sized>(
    op: &mut O,
    probes: usize,
    seed: u64,
) -> Result<TraceEstimate, WorkerError> {
    if probes == 0 {
        return Err(WorkerError::InvalidEigenOptions(
            "Hutchinson's trace needs at least one probe".into(),
        ));
    }
    let n = op.dim();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut samples = Vec::with_capacity(probes);
    let mut done = 0;
    while done < probes {
        let count = BLOCK.min(probes - done);
        let z: Vec<f64> = (0..count * n)
            .map(|_| if rng.gen::<bool>() { 1.0 } else { -1.0 })
            .collect();
        let mut az = vec![0.0; count * n];
        op.apply_block(&z, &mut az, count)
            .map_err(WorkerError::from_operator)?;
        for j in 0..count {
            let range = j * n..(j + 1) * n;
            let q: f64 = z[range.clone()]
                .iter()
                .zip(&az[range])
                .map(|(a, b)| a * b)
                .sum();
            if !q.is_finite() {
                return Err(WorkerError::NonFinite(format!(
                    "Hutchinson probe {}: zᵀHz = {q}",
                    done + j
                )));
            }
            samples.push(q);
        }
        done += count;
    }
    let mean = samples.iter().sum::<f64>() / probes as f64;
    let std_error = if probes > 1 {
        let var =
            samples.iter().map(|q| (q - mean) * (q - mean)).sum::<f64>() / (probes - 1) as f64;
        (var / probes as f64).sqrt()
    } else {
        f64::NAN
    };
    Ok(TraceEstimate {
        trace: mean,
        std_error,
        probes,
    })
}

#[cfg(test)]
mod tests {
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    use super::*;
    use crate::eigen::{DenseSymmetric, DiagonalOperator};

    /// A seeded symmetric matrix with a dominant diagonal, and the matrix itself.
    fn dense(n: usize, seed: u64) -> (DenseSymmetric, Vec<f64>) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut a = vec![0.0; n * n];
        for i in 0..n {
            for j in 0..=i {
                let x: f64 = rng.gen_range(-1.0..1.0);
                a[i * n + j] = x + if i == j { 3.0 } else { 0.0 };
                a[j * n + i] = a[i * n + j];
            }
        }
        (DenseSymmetric::new(n, a.clone()), a)
    }

    #[test]
    fn a_diagonal_operator_is_estimated_exactly_by_every_probe() {
        // zᵀDz = Σ d_i z_i² = tr(D) for any ±1 vector z.
        let d: Vec<f64> = (0..50).map(|i| (i as f64 - 20.0) * 0.3).collect();
        let exact: f64 = d.iter().sum();
        let est = hutchinson_trace(&mut DiagonalOperator::new(d), 7, 3).unwrap();
        assert!((est.trace - exact).abs() < 1e-12, "{est:?} vs {exact}");
        assert!(est.std_error < 1e-12);
        assert_eq!(est.probes, 7);
    }

    #[test]
    fn a_dense_matrix_is_estimated_within_its_standard_error_which_matches_theory() {
        // Var(zᵀAz) = 2 (‖A‖_F² − Σ A_ii²) for Rademacher z.
        let n = 40;
        let probes = 2000;
        for seed in 0..4 {
            let (mut op, a) = dense(n, seed);
            let exact: f64 = (0..n).map(|i| a[i * n + i]).sum();
            let off: f64 = (0..n)
                .flat_map(|i| (0..n).filter(move |&j| j != i).map(move |j| (i, j)))
                .map(|(i, j)| a[i * n + j] * a[i * n + j])
                .sum();
            let se_theory = (2.0 * off / probes as f64).sqrt();
            let est = hutchinson_trace(&mut op, probes, 100 + seed).unwrap();
            assert!(
                (est.trace - exact).abs() <= 4.0 * est.std_error,
                "seed {seed}: {} vs exact {exact} (se {})",
                est.trace,
                est.std_error
            );
            let ratio = est.std_error / se_theory;
            assert!(
                (0.85..1.15).contains(&ratio),
                "seed {seed}: se ratio {ratio}"
            );
        }
    }

    #[test]
    fn the_same_seed_gives_the_same_probes_and_one_probe_has_no_error_bar() {
        let (mut op, _) = dense(30, 9);
        let a = hutchinson_trace(&mut op, 11, 5).unwrap();
        let b = hutchinson_trace(&mut op, 11, 5).unwrap();
        let c = hutchinson_trace(&mut op, 11, 6).unwrap();
        assert_eq!(a, b);
        assert_ne!(a.trace, c.trace);
        assert!(hutchinson_trace(&mut op, 1, 5).unwrap().std_error.is_nan());
        assert!(matches!(
            hutchinson_trace(&mut op, 0, 5),
            Err(WorkerError::InvalidEigenOptions(_))
        ));
    }
}
