//! The sign convention for eigenvectors.
//!
//! An eigenvector is only defined up to sign, but the study compares eigenvectors across
//! snapshots (displacements, alignments, convergence to the final vector), so the sign must
//! be fixed reproducibly: `METHOD.md` asks for `v(t)·v(t_prev) ≥ 0` for the same index within
//! a run, and a positive largest-magnitude entry at a run's first snapshot.

/// Fixes the sign of each vector in place.
///
/// For index `i`: if `previous` has an `i`-th vector, `vectors[i]` is negated when
/// `vectors[i] · previous[i] < 0` (a zero product leaves it alone); otherwise it is negated
/// when its largest-magnitude entry (the first one on ties) is negative. The comparison is
/// by index, never by best match: a pair that swapped order between snapshots is the
/// caller's business (the solver always orders by eigenvalue).
///
/// A previous vector of a different length is treated as absent for that index rather than
/// panicking, so a caller that changed the model between snapshots still gets a convention.
pub fn align_signs(vectors: &mut [Vec<f64>], previous: Option<&[Vec<f64>]>) {
    for (i, v) in vectors.iter_mut().enumerate() {
        let reference = previous
            .and_then(|p| p.get(i))
            .filter(|p| p.len() == v.len());
        let flip = match reference {
            Some(p) => dot(v, p) < 0.0,
            None => largest_entry(v).is_some_and(|x| x < 0.0),
        };
        if flip {
            v.iter_mut().for_each(|x| *x = -*x);
        }
    }
}

/// The entry of largest magnitude, the first one on ties; `None` for an empty vector.
fn largest_entry(v: &[f64]) -> Option<f64> {
    let mut best: Option<f64> = None;
    for &x in v {
        if best.is_none_or(|b| x.abs() > b.abs()) {
            best = Some(x);
        }
    }
    best
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn largest_magnitude_entry_becomes_positive() {
        let mut v = vec![
            vec![0.1, -0.9, 0.3],
            vec![0.5, 0.2],
            vec![-0.7, 0.7],
            vec![0.0, 0.0],
        ];
        align_signs(&mut v, None);
        assert_eq!(v[0], [-0.1, 0.9, -0.3]);
        assert_eq!(v[1], [0.5, 0.2]);
        // Tie in magnitude: the first such entry decides.
        assert_eq!(v[2], [0.7, -0.7]);
        assert_eq!(v[3], [0.0, 0.0]);
    }

    #[test]
    fn previous_vectors_decide_by_index() {
        let previous = vec![vec![1.0, 0.0], vec![0.0, 1.0]];
        let mut v = vec![vec![-0.9, 0.1], vec![0.2, -0.8], vec![0.1, -0.3]];
        align_signs(&mut v, Some(&previous));
        assert_eq!(v[0], [0.9, -0.1]);
        assert_eq!(v[1], [-0.2, 0.8]);
        // No previous vector for index 2: largest-magnitude rule.
        assert_eq!(v[2], [-0.1, 0.3]);
        // The previous sign wins even where the largest-entry rule would disagree.
        let mut w = vec![vec![0.2, -0.9]];
        align_signs(&mut w, Some(&[vec![1.0, 0.0]]));
        assert_eq!(w[0], [0.2, -0.9]);
        // An orthogonal previous vector (product exactly 0) leaves the vector alone.
        let mut z = vec![vec![0.0, -1.0]];
        align_signs(&mut z, Some(&[vec![1.0, 0.0]]));
        assert_eq!(z[0], [0.0, -1.0]);
    }

    #[test]
    fn mismatched_previous_length_falls_back() {
        let mut v = vec![vec![0.1, -0.9]];
        align_signs(&mut v, Some(&[vec![1.0, 0.0, 0.0]]));
        assert_eq!(v[0], [-0.1, 0.9]);
    }
}
