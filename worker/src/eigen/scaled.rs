//! A symmetric operator conjugated by a diagonal: `x ↦ D A D x`. With `D = P^(−1/2)` for a
//! diagonal preconditioner `P` this is the preconditioned Hessian `P^(−1/2) H P^(−1/2)`,
//! whose top eigenvalue is the "preconditioned sharpness" of adaptive optimisers (Cohen et
//! al. 2022, "Adaptive gradient methods at the edge of stability"): it has the eigenvalues of
//! `P^(−1) H`, the curvature an update `−P^(−1) g` actually sees.

use super::operator::{OperatorError, SymmetricOperator};

/// `D A D` for a symmetric `A` and a diagonal `D` (its entries, one per dimension).
pub struct DiagonallyScaled<'a, O: SymmetricOperator + ?Sized> {
    /// The operator `A`.
    pub op: &'a mut O,
    /// The diagonal of `D`, `A.dim()` entries.
    pub scale: &'a [f64],
}

impl<O: SymmetricOperator + ?Sized> SymmetricOperator for DiagonallyScaled<'_, O> {
    fn dim(&self) -> usize {
        self.op.dim()
    }

    fn apply_block(
        &mut self,
        inputs: &[f64],
        outputs: &mut [f64],
        count: usize,
    ) -> Result<(), OperatorError> {
        let n = self.op.dim();
        if self.scale.len() != n {
            return Err(format!(
                "diagonal scaling has {} entries, the operator {n} dimensions",
                self.scale.len()
            )
            .into());
        }
        let scaled: Vec<f64> = inputs
            .chunks_exact(n)
            .flat_map(|x| x.iter().zip(self.scale).map(|(a, d)| a * d))
            .collect();
        self.op.apply_block(&scaled, outputs, count)?;
        for y in outputs.chunks_exact_mut(n) {
            for (a, d) in y.iter_mut().zip(self.scale) {
                *a *= d;
            }
        }
        Ok(())
    }

    fn epsilon(&self) -> f64 {
        self.op.epsilon()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eigen::{symmetric_eigen, top_k_eigenpairs, DenseSymmetric, EigenOptions};
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn top_eigenvalues_of_d_a_d_match_the_dense_conjugated_matrix() {
        let n = 80;
        let mut rng = ChaCha8Rng::seed_from_u64(4);
        let mut a = vec![0.0; n * n];
        for i in 0..n {
            for j in 0..=i {
                let x: f64 = rng.gen_range(-1.0..1.0);
                a[i * n + j] = x;
                a[j * n + i] = x;
            }
        }
        let d: Vec<f64> = (0..n).map(|_| rng.gen_range(0.2..3.0)).collect();
        let dad: Vec<f64> = (0..n * n).map(|ij| d[ij / n] * a[ij] * d[ij % n]).collect();
        let want = symmetric_eigen(&dad, n).unwrap().values;
        let mut inner = DenseSymmetric::new(n, a);
        let mut op = DiagonallyScaled {
            op: &mut inner,
            scale: &d,
        };
        let res = top_k_eigenpairs(
            &mut op,
            &EigenOptions {
                k: 3,
                tol: 1e-10,
                ..EigenOptions::default()
            },
            None,
        )
        .unwrap();
        for (p, w) in res.pairs.iter().zip(&want) {
            assert!((p.value - w).abs() < 1e-8 * w.abs(), "{} vs {w}", p.value);
        }
        let mut inner = DenseSymmetric::new(2, vec![1.0, 0.0, 0.0, 1.0]);
        let mut bad = DiagonallyScaled {
            op: &mut inner,
            scale: &[1.0],
        };
        let mut out = [0.0; 2];
        assert!(bad.apply_block(&[1.0, 1.0], &mut out, 1).is_err());
    }
}
