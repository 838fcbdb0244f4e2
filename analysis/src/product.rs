//! The tile products: all dot products between the rows of two tiles as one matrix product.
//!
//! Eigenvectors are unit f32 vectors of N = 89,610 entries. A dot product summed in f32 over
//! all N entries carries an error of order √N·ε_f32 ≈ 2e-5, which is visible in
//! Δ = (2 − 2|cos|)/N exactly where it matters (|cos| near 1 between close snapshots). So
//! [`gram_f32`] runs the f32 matrix product over slices of [`DEPTH_CHUNK`] entries and adds
//! the slices' results in f64: the error drops to about √DEPTH_CHUNK·ε_f32 per slice, below
//! the f32 rounding of the stored vectors themselves (measured in the tests against f64
//! loops), at ~1% extra cost.
//!
//! Anything involving θ goes through [`gram_f64`] instead: ‖θ(s) − θ(s')‖² is obtained as
//! ‖θ(s)‖² + ‖θ(s')‖² − 2θ(s)·θ(s'), which cancels catastrophically (‖θ‖² ≈ 300 against
//! displacements down to 1e-6), so those products need f64 accumulation throughout. Products
//! of two f32 numbers are exact in f64, so the f64 product of f32 data loses nothing but the
//! summation error ≈ ε_f64·‖θ‖².

use gemm::Parallelism;

/// Entries per slice of the depth of an f32 product (see the module docs).
pub const DEPTH_CHUNK: usize = 2048;

/// `out[i·n + j] = Σ_p a[i·depth + p]·b[j·depth + p]` for `i < m`, `j < n`: the Gram block of
/// the rows of `a` (m × depth, row-major) against the rows of `b` (n × depth), f32 products
/// summed in f32 within slices of [`DEPTH_CHUNK`] and in f64 across them.
pub fn gram_f32(a: &[f32], m: usize, b: &[f32], n: usize, depth: usize, out: &mut [f64]) {
    assert_eq!(a.len(), m * depth, "gram_f32: lhs is not {m}×{depth}");
    assert_eq!(b.len(), n * depth, "gram_f32: rhs is not {n}×{depth}");
    assert_eq!(out.len(), m * n, "gram_f32: out is not {m}×{n}");
    out.fill(0.0);
    if m == 0 || n == 0 {
        return;
    }
    let mut slice = vec![0f32; m * n];
    let mut start = 0;
    while start < depth {
        let len = DEPTH_CHUNK.min(depth - start);
        // SAFETY: lhs rows start at a[start], stride `depth`, `len` columns: the last element
        // read is a[(m-1)·depth + start + len - 1] < m·depth; likewise for b; dst is m×n.
        unsafe {
            gemm::gemm(
                m,
                n,
                len,
                slice.as_mut_ptr(),
                1,
                n as isize,
                false,
                a.as_ptr().add(start),
                1,
                depth as isize,
                b.as_ptr().add(start),
                depth as isize,
                1,
                0.0f32,
                1.0f32,
                false,
                false,
                false,
                Parallelism::None,
            );
        }
        for (o, &s) in out.iter_mut().zip(&slice) {
            *o += f64::from(s);
        }
        start += len;
    }
}

/// As [`gram_f32`], in f64 throughout.
pub fn gram_f64(a: &[f64], m: usize, b: &[f64], n: usize, depth: usize, out: &mut [f64]) {
    assert_eq!(a.len(), m * depth, "gram_f64: lhs is not {m}×{depth}");
    assert_eq!(b.len(), n * depth, "gram_f64: rhs is not {n}×{depth}");
    assert_eq!(out.len(), m * n, "gram_f64: out is not {m}×{n}");
    if m == 0 || n == 0 || depth == 0 {
        out.fill(0.0);
        return;
    }
    // SAFETY: as in gram_f32, with the whole depth in one call.
    unsafe {
        gemm::gemm(
            m,
            n,
            depth,
            out.as_mut_ptr(),
            1,
            n as isize,
            false,
            a.as_ptr(),
            1,
            depth as isize,
            b.as_ptr(),
            depth as isize,
            1,
            0.0f64,
            1.0f64,
            false,
            false,
            false,
            Parallelism::None,
        );
    }
}

/// The f32 product of the same shape in one plain gemm call (no slicing, f32 result): the
/// machine's matrix-multiply rate that the benchmark compares the tile products with.
pub fn plain_gemm_f32(a: &[f32], m: usize, b: &[f32], n: usize, depth: usize, out: &mut [f32]) {
    assert_eq!(a.len(), m * depth);
    assert_eq!(b.len(), n * depth);
    assert_eq!(out.len(), m * n);
    // SAFETY: shapes asserted above.
    unsafe {
        gemm::gemm(
            m,
            n,
            depth,
            out.as_mut_ptr(),
            1,
            n as isize,
            false,
            a.as_ptr(),
            1,
            depth as isize,
            b.as_ptr(),
            depth as isize,
            1,
            0.0f32,
            1.0f32,
            false,
            false,
            false,
            Parallelism::None,
        );
    }
}

/// Floating-point operations of an m × depth by depth × n product.
pub fn product_flops(m: usize, n: usize, depth: usize) -> f64 {
    2.0 * m as f64 * n as f64 * depth as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn unit_rows(rows: usize, depth: usize, seed: u64) -> Vec<f32> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut v: Vec<f32> = (0..rows * depth)
            .map(|_| rng.gen_range(-1.0f32..1.0))
            .collect();
        for r in v.chunks_mut(depth) {
            let norm = r.iter().map(|&x| f64::from(x).powi(2)).sum::<f64>().sqrt();
            r.iter_mut()
                .for_each(|x| *x = (f64::from(*x) / norm) as f32);
        }
        v
    }

    fn reference(a: &[f32], m: usize, b: &[f32], n: usize, depth: usize) -> Vec<f64> {
        let mut out = vec![0.0; m * n];
        for i in 0..m {
            for j in 0..n {
                out[i * n + j] = (0..depth)
                    .map(|p| f64::from(a[i * depth + p]) * f64::from(b[j * depth + p]))
                    .sum();
            }
        }
        out
    }

    #[test]
    fn sliced_f32_product_matches_f64_loops_at_the_papers_depth() {
        // N = 89,610 as in the paper; odd row counts exercise gemm's edge kernels.
        let (m, n, depth) = (5, 7, 89_610);
        let a = unit_rows(m, depth, 1);
        let b = unit_rows(n, depth, 2);
        let mut out = vec![0.0; m * n];
        gram_f32(&a, m, &b, n, depth, &mut out);
        let want = reference(&a, m, &b, n, depth);
        let worst = out
            .iter()
            .zip(&want)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, f64::max);
        // Unit vectors: |cos| ≤ 1; the sliced sum stays within 1e-6 (one f32 summation over
        // all 89,610 entries is typically off by ~1e-5).
        assert!(worst < 1e-6, "worst error {worst:e}");
        // A vector with itself: 1 to the same accuracy.
        let mut self_dot = vec![0.0; 1];
        gram_f32(&a[..depth], 1, &a[..depth], 1, depth, &mut self_dot);
        assert!((self_dot[0] - 1.0).abs() < 1e-6, "{}", self_dot[0]);
    }

    #[test]
    fn f64_product_matches_loops() {
        let (m, n, depth) = (3, 4, 1000);
        let a: Vec<f64> = unit_rows(m, depth, 3)
            .iter()
            .map(|&x| f64::from(x) * 17.0)
            .collect();
        let b: Vec<f64> = unit_rows(n, depth, 4)
            .iter()
            .map(|&x| f64::from(x) * 17.0)
            .collect();
        let mut out = vec![0.0; m * n];
        gram_f64(&a, m, &b, n, depth, &mut out);
        for i in 0..m {
            for j in 0..n {
                let want: f64 = (0..depth)
                    .map(|p| a[i * depth + p] * b[j * depth + p])
                    .sum();
                assert!((out[i * n + j] - want).abs() < 1e-10, "{i},{j}");
            }
        }
    }
}
