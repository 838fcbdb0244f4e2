//! Eigen-decomposition of the small dense symmetric matrices of Rayleigh–Ritz.
//!
//! The projected matrix `T = Qᵀ A Q` is at most `max_basis × max_basis` (tens to ~100), so
//! the cost here is irrelevant next to one operator product; what matters is that it is
//! *robust* (clustered and exactly repeated eigenvalues, zero rows, tiny and huge scales) and
//! *deterministic* (bit-identical on every machine). The method is the classical
//! Householder reduction to tridiagonal form followed by the implicit QL algorithm with
//! Wilkinson-type shifts (EISPACK `tred2`/`tql2`, as in JAMA), in `f64`. Every operation is
//! IEEE basic arithmetic or `sqrt` (correctly rounded everywhere); `hypot` is written out
//! here instead of calling the platform `libm`, whose last bit may differ between systems.

/// Eigenvalues (descending) and orthonormal eigenvectors of a symmetric matrix.
#[derive(Debug, Clone)]
pub struct SymmetricEigen {
    /// The order `m` of the matrix.
    pub dim: usize,
    /// Eigenvalues, largest algebraic first.
    pub values: Vec<f64>,
    /// Eigenvectors stored column after column (`m × m`, column `j` belongs to `values[j]`).
    pub vectors: Vec<f64>,
}

impl SymmetricEigen {
    /// Column `j` (the eigenvector of `values[j]`).
    pub fn vector(&self, j: usize) -> &[f64] {
        &self.vectors[j * self.dim..(j + 1) * self.dim]
    }
}

/// `sqrt(a² + b²)` without destructive underflow or overflow, using only basic arithmetic
/// and `sqrt`, so that results do not depend on the platform's `libm`.
fn hypot(a: f64, b: f64) -> f64 {
    let (a, b) = (a.abs(), b.abs());
    let (big, small) = if a >= b { (a, b) } else { (b, a) };
    if big == 0.0 {
        return 0.0;
    }
    let r = small / big;
    big * (1.0 + r * r).sqrt()
}

/// Most QL sweeps one eigenvalue may take; with Wilkinson shifts 2–3 are typical and 30 is
/// EISPACK's historical limit. Reaching it only happens on non-finite input (NaN never
/// satisfies the deflation test), and the cap turns that into a finite loop.
const MAX_SWEEPS_PER_VALUE: usize = 60;

/// Eigen-decomposes the symmetric `m × m` matrix `a` (any storage order: only the lower
/// triangle, read as `a[i * m + j]` with `j <= i`, is used).
///
/// Returns `None` when `a` has a non-finite entry (the caller reports that as an operator
/// failure instead of returning garbage). `m = 0` gives an empty decomposition.
pub fn symmetric_eigen(a: &[f64], m: usize) -> Option<SymmetricEigen> {
    assert_eq!(a.len(), m * m, "symmetric_eigen: expected m*m entries");
    if a.iter().any(|x| !x.is_finite()) {
        return None;
    }
    if m == 0 {
        return Some(SymmetricEigen {
            dim: 0,
            values: Vec::new(),
            vectors: Vec::new(),
        });
    }
    // v is row-major: v[i * m + j] = V[i][j]; start from the (symmetrised) lower triangle.
    let mut v = vec![0.0; m * m];
    for i in 0..m {
        for j in 0..=i {
            v[i * m + j] = a[i * m + j];
            v[j * m + i] = a[i * m + j];
        }
    }
    let mut d = vec![0.0; m];
    let mut e = vec![0.0; m];
    tred2(m, &mut v, &mut d, &mut e);
    tql2(m, &mut v, &mut d, &mut e);
    if d.iter().chain(v.iter()).any(|x| !x.is_finite()) {
        return None;
    }
    // Sort descending; ties keep the QL order (a stable sort), which is deterministic.
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&x, &y| d[y].total_cmp(&d[x]));
    let values = order.iter().map(|&j| d[j]).collect();
    let mut vectors = vec![0.0; m * m];
    for (col, &j) in order.iter().enumerate() {
        for i in 0..m {
            vectors[col * m + i] = v[i * m + j];
        }
    }
    Some(SymmetricEigen {
        dim: m,
        values,
        vectors,
    })
}

/// Householder reduction of the symmetric matrix in `v` to tridiagonal form (diagonal `d`,
/// sub-diagonal `e[1..]`), accumulating the orthogonal transformation in `v`.
fn tred2(n: usize, v: &mut [f64], d: &mut [f64], e: &mut [f64]) {
    let at = |i: usize, j: usize| i * n + j;
    for j in 0..n {
        d[j] = v[at(n - 1, j)];
    }
    for i in (1..n).rev() {
        // Scale to avoid under/overflow.
        let scale: f64 = d[..i].iter().map(|x| x.abs()).sum();
        let mut h = 0.0;
        if scale == 0.0 {
            e[i] = d[i - 1];
            for j in 0..i {
                d[j] = v[at(i - 1, j)];
                v[at(i, j)] = 0.0;
                v[at(j, i)] = 0.0;
            }
        } else {
            for dk in d[..i].iter_mut() {
                *dk /= scale;
                h += *dk * *dk;
            }
            let mut f = d[i - 1];
            let mut g = h.sqrt();
            if f > 0.0 {
                g = -g;
            }
            e[i] = scale * g;
            h -= f * g;
            d[i - 1] = f - g;
            for ej in e[..i].iter_mut() {
                *ej = 0.0;
            }
            for j in 0..i {
                f = d[j];
                v[at(j, i)] = f;
                g = e[j] + v[at(j, j)] * f;
                for k in j + 1..i {
                    g += v[at(k, j)] * d[k];
                    e[k] += v[at(k, j)] * f;
                }
                e[j] = g;
            }
            f = 0.0;
            for j in 0..i {
                e[j] /= h;
                f += e[j] * d[j];
            }
            let hh = f / (h + h);
            for j in 0..i {
                e[j] -= hh * d[j];
            }
            for j in 0..i {
                f = d[j];
                g = e[j];
                for k in j..i {
                    v[at(k, j)] -= f * e[k] + g * d[k];
                }
                d[j] = v[at(i - 1, j)];
                v[at(i, j)] = 0.0;
            }
        }
        d[i] = h;
    }
    // Accumulate the transformations.
    for i in 0..n - 1 {
        v[at(n - 1, i)] = v[at(i, i)];
        v[at(i, i)] = 1.0;
        let h = d[i + 1];
        if h != 0.0 {
            for k in 0..=i {
                d[k] = v[at(k, i + 1)] / h;
            }
            for j in 0..=i {
                let mut g = 0.0;
                for k in 0..=i {
                    g += v[at(k, i + 1)] * v[at(k, j)];
                }
                for k in 0..=i {
                    v[at(k, j)] -= g * d[k];
                }
            }
        }
        for k in 0..=i {
            v[at(k, i + 1)] = 0.0;
        }
    }
    for j in 0..n {
        d[j] = v[at(n - 1, j)];
        v[at(n - 1, j)] = 0.0;
    }
    v[at(n - 1, n - 1)] = 1.0;
    e[0] = 0.0;
}

/// Implicit QL iterations on the tridiagonal `(d, e)`, accumulating rotations into `v`.
/// On return `d` holds the eigenvalues (unsorted) and the columns of `v` the eigenvectors.
fn tql2(n: usize, v: &mut [f64], d: &mut [f64], e: &mut [f64]) {
    let at = |i: usize, j: usize| i * n + j;
    for i in 1..n {
        e[i - 1] = e[i];
    }
    e[n - 1] = 0.0;
    let mut f = 0.0;
    let mut tst1: f64 = 0.0;
    let eps = f64::EPSILON;
    for l in 0..n {
        // Find a small sub-diagonal element.
        tst1 = tst1.max(d[l].abs() + e[l].abs());
        let mut m = l;
        while m < n - 1 && e[m].abs() > eps * tst1 {
            m += 1;
        }
        if m > l {
            let mut sweeps = 0;
            loop {
                sweeps += 1;
                // Implicit shift.
                let mut g = d[l];
                let mut p = (d[l + 1] - g) / (2.0 * e[l]);
                let mut r = hypot(p, 1.0);
                if p < 0.0 {
                    r = -r;
                }
                d[l] = e[l] / (p + r);
                d[l + 1] = e[l] * (p + r);
                let dl1 = d[l + 1];
                let mut h = g - d[l];
                for di in d[l + 2..n].iter_mut() {
                    *di -= h;
                }
                f += h;
                // Implicit QL transformation.
                p = d[m];
                let mut c = 1.0;
                let mut c2 = c;
                let mut c3 = c;
                let el1 = e[l + 1];
                let mut s = 0.0;
                let mut s2 = 0.0;
                for i in (l..m).rev() {
                    c3 = c2;
                    c2 = c;
                    s2 = s;
                    g = c * e[i];
                    h = c * p;
                    r = hypot(p, e[i]);
                    e[i + 1] = s * r;
                    s = e[i] / r;
                    c = p / r;
                    p = c * d[i] - s * g;
                    d[i + 1] = h + s * (c * g + s * d[i]);
                    for k in 0..n {
                        h = v[at(k, i + 1)];
                        v[at(k, i + 1)] = s * v[at(k, i)] + c * h;
                        v[at(k, i)] = c * v[at(k, i)] - s * h;
                    }
                }
                p = -s * s2 * c3 * el1 * e[l] / dl1;
                e[l] = s * p;
                d[l] = c * p;
                // The sweep cap also ends the loop should a NaN appear (it fails every test).
                if e[l].abs() <= eps * tst1 || sweeps >= MAX_SWEEPS_PER_VALUE {
                    break;
                }
            }
        }
        d[l] += f;
        e[l] = 0.0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn random_symmetric(m: usize, seed: u64) -> Vec<f64> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut a = vec![0.0; m * m];
        for i in 0..m {
            for j in 0..=i {
                let x: f64 = rng.gen_range(-1.0..1.0);
                a[i * m + j] = x;
                a[j * m + i] = x;
            }
        }
        a
    }

    /// Checks A V = V Λ, VᵀV = I and the descending order; returns the worst defect.
    fn check_decomposition(a: &[f64], m: usize, eig: &SymmetricEigen) -> f64 {
        let scale = a.iter().fold(1e-300f64, |s, x| s.max(x.abs()));
        let mut worst: f64 = 0.0;
        for j in 0..m {
            let vj = eig.vector(j);
            for i in 0..m {
                let avi: f64 = (0..m).map(|l| a[i * m + l] * vj[l]).sum();
                worst = worst.max((avi - eig.values[j] * vj[i]).abs() / scale);
            }
            for l in 0..m {
                let dot: f64 = vj.iter().zip(eig.vector(l)).map(|(x, y)| x * y).sum();
                let want = if l == j { 1.0 } else { 0.0 };
                worst = worst.max((dot - want).abs());
            }
        }
        for w in eig.values.windows(2) {
            assert!(w[0] >= w[1], "not descending: {:?}", eig.values);
        }
        worst
    }

    #[test]
    fn matches_nalgebra_on_random_matrices() {
        for (m, seed) in [(1, 1), (2, 2), (3, 3), (7, 4), (20, 5), (45, 6)] {
            let a = random_symmetric(m, seed);
            let eig = symmetric_eigen(&a, m).unwrap();
            assert!(check_decomposition(&a, m, &eig) < 1e-12);
            let reference = nalgebra::DMatrix::from_row_slice(m, m, &a).symmetric_eigen();
            let mut expect: Vec<f64> = reference.eigenvalues.iter().copied().collect();
            expect.sort_by(|x, y| y.total_cmp(x));
            for (got, want) in eig.values.iter().zip(&expect) {
                assert!((got - want).abs() < 1e-12, "m={m}: {got} vs {want}");
            }
        }
    }

    #[test]
    fn handles_repeated_zero_and_scaled_spectra() {
        // Exactly repeated eigenvalues in a rotated basis.
        let m = 6;
        let q = nalgebra::DMatrix::from_row_slice(m, m, &random_symmetric(m, 9))
            .qr()
            .q();
        let d = nalgebra::DMatrix::from_diagonal(&nalgebra::DVector::from_vec(vec![
            3.0, 3.0, 3.0, -1.0, 0.0, 0.0,
        ]));
        let a = &q * d * q.transpose();
        let a: Vec<f64> = (0..m * m).map(|x| a[(x / m, x % m)]).collect();
        let eig = symmetric_eigen(&a, m).unwrap();
        assert!(check_decomposition(&a, m, &eig) < 1e-12);
        for (got, want) in eig.values.iter().zip([3.0, 3.0, 3.0, 0.0, 0.0, -1.0]) {
            assert!((got - want).abs() < 1e-12);
        }
        // Zero matrix, diagonal matrix, and extreme scales.
        let zero = vec![0.0; 9];
        let eig = symmetric_eigen(&zero, 3).unwrap();
        assert!(eig.values.iter().all(|x| *x == 0.0));
        assert!(check_decomposition(&zero, 3, &eig) < 1e-15);
        for scale in [1e-150, 1e150] {
            let a: Vec<f64> = random_symmetric(8, 11).iter().map(|x| x * scale).collect();
            let eig = symmetric_eigen(&a, 8).unwrap();
            assert!(check_decomposition(&a, 8, &eig) < 1e-12);
        }
        let diag = vec![2.0, 0.0, 0.0, 0.0, -5.0, 0.0, 0.0, 0.0, 7.0];
        let eig = symmetric_eigen(&diag, 3).unwrap();
        assert_eq!(eig.values, vec![7.0, 2.0, -5.0]);
        assert_eq!(
            eig.vector(0).iter().map(|x| x.abs()).collect::<Vec<_>>(),
            [0.0, 0.0, 1.0]
        );
    }

    #[test]
    fn rejects_non_finite_input_and_accepts_empty() {
        let mut a = random_symmetric(4, 3);
        a[5] = f64::NAN;
        assert!(symmetric_eigen(&a, 4).is_none());
        a[5] = f64::INFINITY;
        assert!(symmetric_eigen(&a, 4).is_none());
        assert_eq!(symmetric_eigen(&[], 0).unwrap().values.len(), 0);
    }

    #[test]
    fn is_bit_deterministic() {
        let a = random_symmetric(30, 21);
        let x = symmetric_eigen(&a, 30).unwrap();
        let y = symmetric_eigen(&a, 30).unwrap();
        assert_eq!(x.values, y.values);
        assert_eq!(x.vectors, y.vectors);
    }
}
