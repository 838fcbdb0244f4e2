//! Test operators with known spectra that apply in `O(n log n)`, so that tests can use
//! Hessian-sized structure (dense eigenvectors, thousands of dimensions) and stay fast.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::operator::{DenseSymmetric, OperatorError, SymmetricOperator};

/// In-place unnormalised fast Walsh–Hadamard transform (`x.len()` a power of two).
fn fwht(x: &mut [f64]) {
    let n = x.len();
    let mut h = 1;
    while h < n {
        for start in (0..n).step_by(2 * h) {
            for i in start..start + h {
                let (a, b) = (x[i], x[i + h]);
                x[i] = a + b;
                x[i + h] = a - b;
            }
        }
        h *= 2;
    }
}

/// `A = Q D Qᵀ` with the dense orthogonal `Q = (1/n) H S1 H S2` (`H` Walsh–Hadamard, `S`
/// random sign diagonals): every eigenvector is fully delocalised, products cost
/// `O(n log n)`, and eigenpair `i` is `(D_i, Q e_i)` exactly.
#[derive(Debug, Clone)]
pub struct RotatedDiagonal {
    pub diag: Vec<f64>,
    s1: Vec<f64>,
    s2: Vec<f64>,
}

impl RotatedDiagonal {
    pub fn new(diag: Vec<f64>, seed: u64) -> Self {
        let n = diag.len();
        assert!(n.is_power_of_two());
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut signs = || -> Vec<f64> {
            (0..n)
                .map(|_| if rng.gen::<bool>() { 1.0 } else { -1.0 })
                .collect()
        };
        let s1 = signs();
        let s2 = signs();
        Self { diag, s1, s2 }
    }

    fn q(&self, x: &mut [f64]) {
        let n = x.len() as f64;
        x.iter_mut().zip(&self.s2).for_each(|(v, s)| *v *= s);
        fwht(x);
        x.iter_mut().zip(&self.s1).for_each(|(v, s)| *v *= s);
        fwht(x);
        x.iter_mut().for_each(|v| *v /= n);
    }

    fn qt(&self, x: &mut [f64]) {
        let n = x.len() as f64;
        fwht(x);
        x.iter_mut().zip(&self.s1).for_each(|(v, s)| *v *= s);
        fwht(x);
        x.iter_mut().zip(&self.s2).for_each(|(v, s)| *v *= s / n);
    }

    /// The eigenvector `Q e_i` of `diag[i]`.
    pub fn eigenvector(&self, i: usize) -> Vec<f64> {
        let mut e = vec![0.0; self.diag.len()];
        e[i] = 1.0;
        self.q(&mut e);
        e
    }

    fn apply_add(&self, x: &[f64], scale: f64, y: &mut [f64]) {
        let mut t = x.to_vec();
        self.qt(&mut t);
        t.iter_mut().zip(&self.diag).for_each(|(v, d)| *v *= d);
        self.q(&mut t);
        y.iter_mut().zip(&t).for_each(|(yi, ti)| *yi += scale * ti);
    }
}

/// A sum `Σ scale_j · A_j` of rotated diagonals (a base matrix plus perturbations).
#[derive(Debug, Clone)]
pub struct SumOperator {
    pub terms: Vec<(f64, RotatedDiagonal)>,
}

impl SymmetricOperator for SumOperator {
    fn dim(&self) -> usize {
        self.terms[0].1.diag.len()
    }

    fn apply_block(
        &mut self,
        inputs: &[f64],
        outputs: &mut [f64],
        count: usize,
    ) -> Result<(), OperatorError> {
        let n = self.dim();
        outputs.iter_mut().for_each(|v| *v = 0.0);
        for j in 0..count {
            for (scale, term) in &self.terms {
                term.apply_add(
                    &inputs[j * n..(j + 1) * n],
                    *scale,
                    &mut outputs[j * n..(j + 1) * n],
                );
            }
        }
        Ok(())
    }
}

/// An MLP-Hessian-like spectrum: ten outliers (one per class, as for cross-entropy on
/// ten classes), then a bulk piled up near zero with a tail to 0.8 and −0.3.
pub fn mlp_like(n: usize, seed: u64) -> RotatedDiagonal {
    use rand::{Rng, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut d = vec![35.0, 22.0, 15.0, 11.0, 8.0, 6.0, 4.5, 3.5, 2.8, 2.2];
    d.extend((10..n).map(|_| {
        let x: f64 = rng.gen();
        if rng.gen::<f64>() < 0.7 {
            0.8 * x.powi(3)
        } else {
            -0.3 * x.powi(3)
        }
    }));
    RotatedDiagonal::new(d, seed)
}

/// The Hessian-like spectrum of the warm-start tests: outliers 50, 20, 19.9, 5, then a bulk
/// uniform in [−0.5, 0.5].
pub fn hessian_like(n: usize, seed: u64) -> RotatedDiagonal {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5eed);
    let mut diag = vec![50.0, 20.0, 19.9, 5.0];
    diag.extend((4..n).map(|_| rng.gen_range(-0.5..0.5)));
    RotatedDiagonal::new(diag, seed)
}

/// `base + size · E` with `E` a random symmetric matrix of norm ≤ 1 (dense eigenvectors).
pub fn perturbed(base: &RotatedDiagonal, size: f64, seed: u64) -> SumOperator {
    let n = base.diag.len();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let e: Vec<f64> = (0..n).map(|_| rng.gen_range(-1.0..1.0)).collect();
    SumOperator {
        terms: vec![
            (1.0, base.clone()),
            (size, RotatedDiagonal::new(e, seed + 1)),
        ],
    }
}

/// Wraps an operator, rounds every output to `f32` (the precision of a real Hessian-vector
/// product) and says so through `epsilon()`; also counts products independently.
pub struct F32Noise<O> {
    pub inner: O,
    pub calls: usize,
    pub products: usize,
}

impl<O: SymmetricOperator> SymmetricOperator for F32Noise<O> {
    fn dim(&self) -> usize {
        self.inner.dim()
    }

    fn apply_block(
        &mut self,
        inputs: &[f64],
        outputs: &mut [f64],
        count: usize,
    ) -> Result<(), OperatorError> {
        self.calls += 1;
        self.products += count;
        self.inner.apply_block(inputs, outputs, count)?;
        outputs.iter_mut().for_each(|v| *v = *v as f32 as f64);
        Ok(())
    }

    fn epsilon(&self) -> f64 {
        f32::EPSILON as f64
    }
}

/// Counts products (sum of `count`) independently of the solver, and can fail on demand.
pub struct Counting<O> {
    pub inner: O,
    pub products: usize,
    /// Fail on this call number (0-based), if set.
    pub fail_on_call: Option<usize>,
    /// Return a NaN on this call number, if set.
    pub nan_on_call: Option<usize>,
    pub calls: usize,
}

impl<O> Counting<O> {
    pub fn new(inner: O) -> Self {
        Self {
            inner,
            products: 0,
            fail_on_call: None,
            nan_on_call: None,
            calls: 0,
        }
    }
}

impl<O: SymmetricOperator> SymmetricOperator for Counting<O> {
    fn dim(&self) -> usize {
        self.inner.dim()
    }

    fn apply_block(
        &mut self,
        inputs: &[f64],
        outputs: &mut [f64],
        count: usize,
    ) -> Result<(), OperatorError> {
        assert_eq!(inputs.len(), count * self.dim());
        assert_eq!(outputs.len(), count * self.dim());
        let call = self.calls;
        self.calls += 1;
        if self.fail_on_call == Some(call) {
            return Err("simulated device failure".into());
        }
        self.products += count;
        self.inner.apply_block(inputs, outputs, count)?;
        if self.nan_on_call == Some(call) {
            outputs[0] = f64::NAN;
        }
        Ok(())
    }

    fn epsilon(&self) -> f64 {
        self.inner.epsilon()
    }
}

/// A seeded random symmetric `n × n` matrix (entries uniform in [−1, 1)).
pub fn random_dense(n: usize, seed: u64) -> DenseSymmetric {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut a = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..=i {
            let x: f64 = rng.gen_range(-1.0..1.0);
            a[i * n + j] = x;
            a[j * n + i] = x;
        }
    }
    DenseSymmetric::new(n, a)
}

pub fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// `‖A v − λ v‖` recomputed with one fresh product.
pub fn true_residual<O: SymmetricOperator + ?Sized>(op: &mut O, v: &[f64], value: f64) -> f64 {
    let mut av = vec![0.0; v.len()];
    op.apply_block(v, &mut av, 1).unwrap();
    av.iter()
        .zip(v)
        .map(|(a, x)| (a - value * x).powi(2))
        .sum::<f64>()
        .sqrt()
}

/// Wraps an operator and adds to every product `A v` a fresh pseudo-random vector of norm
/// `≈ sigma · ‖v‖` (spread over all directions), like an f32 Hessian-vector product whose
/// rounding is set by the per-sample terms summed over the data rather than by the top
/// eigenvalues. `epsilon()` says f32.
pub struct ScaleNoise<O> {
    pub inner: O,
    pub sigma: f64,
    pub rng: ChaCha8Rng,
}

impl<O: SymmetricOperator> SymmetricOperator for ScaleNoise<O> {
    fn dim(&self) -> usize {
        self.inner.dim()
    }

    fn apply_block(
        &mut self,
        inputs: &[f64],
        outputs: &mut [f64],
        count: usize,
    ) -> Result<(), OperatorError> {
        self.inner.apply_block(inputs, outputs, count)?;
        let n = self.dim();
        for j in 0..count {
            let v = &inputs[j * n..(j + 1) * n];
            let scale =
                self.sigma * v.iter().map(|x| x * x).sum::<f64>().sqrt() * (3.0 / n as f64).sqrt();
            for o in &mut outputs[j * n..(j + 1) * n] {
                *o += scale * self.rng.gen_range(-1.0..1.0);
            }
        }
        Ok(())
    }

    fn epsilon(&self) -> f64 {
        f32::EPSILON as f64
    }
}
