//! Tall-skinny kernels on blocks of column vectors (`n × c`, column after column in one
//! `Vec<f64>`), written for the solver's shapes: `n` up to ~1e5, a few dozen columns.
//!
//! Why not a BLAS: results must be bit-identical on every machine and thread count (the seed
//! fixes the numbers), so every sum has a fixed order: rows are processed in chunks of
//! [`CHUNK`] (which keeps the touched columns in cache and makes these kernels compute- rather
//! than memory-bound), and inside a chunk a dot product uses four interleaved accumulators.
//! Rust never contracts `a * b + c` into an FMA, so the order fully determines the result.

use crate::memory::{try_filled, Need};
use crate::WorkerError;

/// Rows per chunk: 512 rows × ~60 columns × 8 bytes fits in L2 comfortably.
pub const CHUNK: usize = 512;

/// `xᵀ y` with a fixed summation order.
pub fn dot(x: &[f64], y: &[f64]) -> f64 {
    debug_assert_eq!(x.len(), y.len());
    let mut acc = [0.0f64; 4];
    let mut xc = x.chunks_exact(4);
    let mut yc = y.chunks_exact(4);
    for (a, b) in (&mut xc).zip(&mut yc) {
        acc[0] += a[0] * b[0];
        acc[1] += a[1] * b[1];
        acc[2] += a[2] * b[2];
        acc[3] += a[3] * b[3];
    }
    let mut tail = 0.0;
    for (a, b) in xc.remainder().iter().zip(yc.remainder()) {
        tail += a * b;
    }
    ((acc[0] + acc[1]) + (acc[2] + acc[3])) + tail
}

/// Euclidean norm (plain `sqrt(xᵀx)`: vectors here are never near overflow).
pub fn norm(x: &[f64]) -> f64 {
    dot(x, x).sqrt()
}

/// `y += a x`.
pub fn axpy(a: f64, x: &[f64], y: &mut [f64]) {
    for (yi, xi) in y.iter_mut().zip(x) {
        *yi += a * xi;
    }
}

/// The `nx × ny` matrix `G[i * ny + j] = x_iᵀ y_j` for blocks `x` (nx columns) and `y`
/// (ny columns) of length-`n` vectors.
pub fn gram(x: &[f64], nx: usize, y: &[f64], ny: usize, n: usize) -> Vec<f64> {
    debug_assert_eq!(x.len(), nx * n);
    debug_assert_eq!(y.len(), ny * n);
    let mut g = vec![0.0; nx * ny];
    let mut start = 0;
    while start < n {
        let end = (start + CHUNK).min(n);
        for i in 0..nx {
            let xi = &x[i * n + start..i * n + end];
            for j in 0..ny {
                g[i * ny + j] += dot(xi, &y[j * n + start..j * n + end]);
            }
        }
        start = end;
    }
    g
}

/// `out_c (+)= Σ_i coeff[i * nc + c] · x_i` for `c < nc`: the block product `X · C` with
/// `C` an `nx × nc` row-major matrix. With `sign = -1.0` it subtracts instead (`out −= X C`).
pub fn combine_into(
    x: &[f64],
    nx: usize,
    coeff: &[f64],
    nc: usize,
    n: usize,
    sign: f64,
    out: &mut [f64],
) {
    debug_assert_eq!(x.len(), nx * n);
    debug_assert_eq!(coeff.len(), nx * nc);
    debug_assert_eq!(out.len(), nc * n);
    let mut start = 0;
    while start < n {
        let end = (start + CHUNK).min(n);
        for c in 0..nc {
            let oc = &mut out[c * n + start..c * n + end];
            for i in 0..nx {
                let a = coeff[i * nc + c];
                if a != 0.0 {
                    axpy(sign * a, &x[i * n + start..i * n + end], oc);
                }
            }
        }
        start = end;
    }
}

/// The block product `X · C` (see [`combine_into`]) as a new block of `nc` columns, allocated
/// fallibly (`need` describes the block if the memory is not there).
pub fn combine(
    x: &[f64],
    nx: usize,
    coeff: &[f64],
    nc: usize,
    n: usize,
    need: impl FnOnce() -> Need,
) -> Result<Vec<f64>, WorkerError> {
    let mut out = try_filled(nc * n, 0.0, need)?;
    combine_into(x, nx, coeff, nc, n, 1.0, &mut out);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernels_match_naive_loops() {
        let n = 1300; // spans several chunks and a ragged tail
        let x: Vec<f64> = (0..3 * n)
            .map(|i| ((i * 7919) % 101) as f64 / 50.0 - 1.0)
            .collect();
        let y: Vec<f64> = (0..2 * n)
            .map(|i| ((i * 104729) % 97) as f64 / 48.0 - 1.0)
            .collect();
        let g = gram(&x, 3, &y, 2, n);
        for i in 0..3 {
            for j in 0..2 {
                let naive: f64 = (0..n).map(|r| x[i * n + r] * y[j * n + r]).sum();
                assert!((g[i * 2 + j] - naive).abs() < 1e-10 * naive.abs().max(1.0));
            }
        }
        let coeff = [1.0, -2.0, 0.5, 0.0, 3.0, 1.5];
        let need = || Need {
            buffer: "a test block".into(),
            size: String::new(),
        };
        let out = combine(&x, 3, &coeff, 2, n, need).unwrap();
        for c in 0..2 {
            for r in 0..n {
                let naive: f64 = (0..3).map(|i| coeff[i * 2 + c] * x[i * n + r]).sum();
                assert!((out[c * n + r] - naive).abs() < 1e-12);
            }
        }
        let mut back = out.clone();
        combine_into(&x, 3, &coeff, 2, n, -1.0, &mut back);
        assert!(back.iter().all(|v| v.abs() < 1e-12));
        assert!((norm(&[3.0, 4.0]) - 5.0).abs() < 1e-15);
        assert_eq!(dot(&[1.0, 2.0, 3.0, 4.0, 5.0], &[1.0; 5]), 15.0);
    }
}
