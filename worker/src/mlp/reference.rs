//! An independent, deliberately plain implementation of the MLP's loss and gradient for tests:
//! scalar loops in f64 (or complex f64), no candle, no shared code with the real path.
//!
//! Generic over the scalar so that the same loops run on complex numbers: the complex-step
//! derivative H e_j = Im ∇L(θ + i·h·e_j) / h is exact to rounding for any h (no subtraction),
//! and because ReLU decides on the real part it never crosses a kink — unlike finite
//! differences, which the issue limits to steps ≤ 1e-8 for that reason.

use std::ops::{Add, Div, Mul, Neg, Sub};

/// Arithmetic the reference needs.
pub trait Scalar:
    Copy
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + Neg<Output = Self>
{
    fn from_f64(x: f64) -> Self;
    fn re(self) -> f64;
    fn exp(self) -> Self;
    fn ln(self) -> Self;
}

impl Scalar for f64 {
    fn from_f64(x: f64) -> Self {
        x
    }
    fn re(self) -> f64 {
        self
    }
    fn exp(self) -> Self {
        f64::exp(self)
    }
    fn ln(self) -> Self {
        f64::ln(self)
    }
}

/// A minimal complex number (re, im).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Cx(pub f64, pub f64);

impl Add for Cx {
    type Output = Cx;
    fn add(self, o: Cx) -> Cx {
        Cx(self.0 + o.0, self.1 + o.1)
    }
}
impl Sub for Cx {
    type Output = Cx;
    fn sub(self, o: Cx) -> Cx {
        Cx(self.0 - o.0, self.1 - o.1)
    }
}
impl Mul for Cx {
    type Output = Cx;
    fn mul(self, o: Cx) -> Cx {
        Cx(self.0 * o.0 - self.1 * o.1, self.0 * o.1 + self.1 * o.0)
    }
}
impl Div for Cx {
    type Output = Cx;
    fn div(self, o: Cx) -> Cx {
        let d = o.0 * o.0 + o.1 * o.1;
        Cx(
            (self.0 * o.0 + self.1 * o.1) / d,
            (self.1 * o.0 - self.0 * o.1) / d,
        )
    }
}
impl Neg for Cx {
    type Output = Cx;
    fn neg(self) -> Cx {
        Cx(-self.0, -self.1)
    }
}
impl Scalar for Cx {
    fn from_f64(x: f64) -> Self {
        Cx(x, 0.0)
    }
    fn re(self) -> f64 {
        self.0
    }
    fn exp(self) -> Self {
        let r = self.0.exp();
        Cx(r * self.1.cos(), r * self.1.sin())
    }
    fn ln(self) -> Self {
        Cx(
            (self.0 * self.0 + self.1 * self.1).sqrt().ln(),
            self.1.atan2(self.0),
        )
    }
}

/// Mean cross-entropy and its gradient for widths `widths`, flat parameters `theta` (per layer
/// weight `out × in` row-major, then bias), inputs `x` (n × widths[0]) and labels.
pub fn loss_and_gradient<T: Scalar>(
    widths: &[usize],
    theta: &[T],
    x: &[f64],
    labels: &[usize],
) -> (T, Vec<T>) {
    let n = labels.len();
    let layers = widths.len() - 1;
    let mut offsets = Vec::new();
    let mut o = 0;
    for l in 0..layers {
        offsets.push(o);
        o += widths[l] * widths[l + 1] + widths[l + 1];
    }
    assert_eq!(o, theta.len());
    let mut grad = vec![T::from_f64(0.0); theta.len()];
    let mut loss = T::from_f64(0.0);
    let inv_n = T::from_f64(1.0 / n as f64);
    for s in 0..n {
        // Forward, keeping every layer's output.
        let mut acts: Vec<Vec<T>> = vec![x[s * widths[0]..(s + 1) * widths[0]]
            .iter()
            .map(|&v| T::from_f64(v))
            .collect()];
        for l in 0..layers {
            let (fi, fo) = (widths[l], widths[l + 1]);
            let w = &theta[offsets[l]..offsets[l] + fi * fo];
            let b = &theta[offsets[l] + fi * fo..offsets[l] + fi * fo + fo];
            let a = &acts[l];
            let mut z = vec![T::from_f64(0.0); fo];
            for j in 0..fo {
                let mut acc = b[j];
                for i in 0..fi {
                    acc = acc + w[j * fi + i] * a[i];
                }
                z[j] = if l + 1 < layers && acc.re() <= 0.0 {
                    T::from_f64(0.0)
                } else {
                    acc
                };
            }
            acts.push(z);
        }
        let z = &acts[layers];
        let max = z.iter().map(|v| v.re()).fold(f64::NEG_INFINITY, f64::max);
        let exps: Vec<T> = z.iter().map(|&v| (v - T::from_f64(max)).exp()).collect();
        let mut sum = T::from_f64(0.0);
        for &e in &exps {
            sum = sum + e;
        }
        loss = loss + (sum.ln() + T::from_f64(max) - z[labels[s]]) * inv_n;
        // Backward.
        let mut delta: Vec<T> = exps
            .iter()
            .enumerate()
            .map(|(j, &e)| (e / sum - T::from_f64(if j == labels[s] { 1.0 } else { 0.0 })) * inv_n)
            .collect();
        for l in (0..layers).rev() {
            let (fi, fo) = (widths[l], widths[l + 1]);
            let a = &acts[l];
            for j in 0..fo {
                for i in 0..fi {
                    grad[offsets[l] + j * fi + i] = grad[offsets[l] + j * fi + i] + delta[j] * a[i];
                }
                grad[offsets[l] + fi * fo + j] = grad[offsets[l] + fi * fo + j] + delta[j];
            }
            if l > 0 {
                let w = &theta[offsets[l]..offsets[l] + fi * fo];
                let mut up = vec![T::from_f64(0.0); fi];
                for (i, u) in up.iter_mut().enumerate() {
                    for j in 0..fo {
                        *u = *u + w[j * fi + i] * delta[j];
                    }
                    if a[i].re() <= 0.0 {
                        *u = T::from_f64(0.0);
                    }
                }
                delta = up;
            }
        }
    }
    (loss, grad)
}

/// The dense Hessian (row-major N × N) by complex-step differentiation of the gradient.
pub fn dense_hessian(widths: &[usize], theta: &[f64], x: &[f64], labels: &[usize]) -> Vec<f64> {
    let n = theta.len();
    let h = 1e-30;
    let mut out = vec![0.0; n * n];
    for j in 0..n {
        let perturbed: Vec<Cx> = theta
            .iter()
            .enumerate()
            .map(|(k, &t)| Cx(t, if k == j { h } else { 0.0 }))
            .collect();
        let (_, g) = loss_and_gradient(widths, &perturbed, x, labels);
        for i in 0..n {
            out[i * n + j] = g[i].1 / h;
        }
    }
    out
}
