//! Gaussian smoothing of a curve sampled at snapshots (Fig. 7 and 12 of the paper).

/// What the smoothing does at the two ends of a curve, where the kernel runs out of values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ends {
    /// Continue the curve past each end by point reflection through its end value
    /// (v[n + d] = 2 v[n] − v[n − d]): the smoothed curve keeps its end values exactly and
    /// follows a trend into the ends. For curves whose end values are exact, as Fig. 7's,
    /// which is 1 at the final step by definition (a kernel cut and renormalised there
    /// averaged it with the lower values before it: 0.753 for Adam's v1 in issue 26).
    Keep,
    /// Cut the kernel and renormalise it: an end value is the weighted mean of its
    /// neighbourhood. For noisy curves (Fig. 12's alignments, one mini-batch each), whose end
    /// values are draws like any other: keeping them would pin the curve to one draw.
    Average,
}

/// Smooths `values` with a Gaussian kernel of standard deviation `sigma`, in samples (not
/// steps: snapshots may be unevenly spaced, and the paper smooths over snapshots), cut at
/// 4σ, treating the ends as `ends` says. NaN values are skipped (with their reflections);
/// leading and trailing NaNs stay NaN. `sigma = 0` returns the values unchanged.
pub fn gaussian_smooth(values: &[f64], sigma: f64, ends: Ends) -> Vec<f64> {
    if sigma <= 0.0 {
        return values.to_vec();
    }
    let mut out = vec![f64::NAN; values.len()];
    let Some(first) = values.iter().position(|v| v.is_finite()) else {
        return out;
    };
    let last = values.iter().rposition(|v| v.is_finite()).unwrap_or(first);
    let span = &values[first..=last];
    if span.len() == 1 {
        out[first] = span[0];
        return out;
    }
    let radius = (4.0 * sigma).ceil() as isize;
    let weights: Vec<f64> = (-radius..=radius)
        .map(|d| (-0.5 * (d as f64 / sigma).powi(2)).exp())
        .collect();
    for (i, slot) in out[first..=last].iter_mut().enumerate() {
        let (mut sum, mut norm) = (0.0, 0.0);
        for (w, d) in weights.iter().zip(-radius..=radius) {
            let j = i as isize + d;
            let v = match ends {
                Ends::Keep => extended(span, j),
                Ends::Average if (0..span.len() as isize).contains(&j) => span[j as usize],
                Ends::Average => f64::NAN,
            };
            if v.is_finite() {
                sum += w * v;
                norm += w;
            }
        }
        *slot = if norm > 0.0 { sum / norm } else { f64::NAN };
    }
    if ends == Ends::Keep {
        // The reflection makes the end values exact in arithmetic; set them so in floating
        // point too (the sum comes back 1 ulp away).
        out[first] = span[0];
        out[last] = span[span.len() - 1];
    }
    out
}

/// `span[j]`, continued past both ends by point reflection through the end values (again
/// through the other end where a kernel is wider than the curve, so that the continuation is
/// symmetric about each end and the end values are kept exactly). `span` has at least two
/// values, the first and last finite.
fn extended(span: &[f64], j: isize) -> f64 {
    let end = span.len() as isize - 1;
    if j < 0 {
        2.0 * span[0] - extended(span, -j)
    } else if j > end {
        2.0 * span[end as usize] - extended(span, 2 * end - j)
    } else {
        span[j as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_stays_constant_and_mass_is_local() {
        for ends in [Ends::Keep, Ends::Average] {
            constant_and_spike(ends);
        }
    }

    fn constant_and_spike(ends: Ends) {
        let flat = gaussian_smooth(&[2.0; 20], 3.0, ends);
        assert!(flat.iter().all(|v| (v - 2.0).abs() < 1e-12));
        let mut spike = vec![0.0; 41];
        spike[20] = 1.0;
        let s = gaussian_smooth(&spike, 2.0, ends);
        assert!((s.iter().sum::<f64>() - 1.0).abs() < 1e-6);
        assert!(s[20] > s[22] && s[22] > s[24] && s[0] < 1e-9);
        assert_eq!(gaussian_smooth(&[1.0, 5.0], 0.0, ends), vec![1.0, 5.0]);
        let with_nan = gaussian_smooth(&[1.0, f64::NAN, 1.0], 1.0, ends);
        assert!(with_nan.iter().all(|v| (v - 1.0).abs() < 1e-12));
    }

    /// Issue 26.3: Fig. 7's Adam v1 ended at 0.753 although |v(t_final)·v(t_final)| = 1: the
    /// kernel, renormalised at the end, averaged the last value with the lower ones before it.
    #[test]
    fn smoothing_keeps_the_end_values_a_curve_has_by_definition() {
        // A convergence curve rising to 1 at the final snapshot, as Fig. 7 draws it (11
        // snapshots, σ = 2).
        let curve = [0.2, 0.25, 0.3, 0.32, 0.4, 0.45, 0.5, 0.6, 0.7, 0.8, 1.0];
        let s = gaussian_smooth(&curve, 2.0, Ends::Keep);
        assert_eq!(s[10], 1.0);
        assert!((s[0] - 0.2).abs() < 1e-12, "{}", s[0]);
        // Smoothing still happens inside, and the curve stays below its end.
        assert!((s[5] - curve[5]).abs() > 1e-3);
        assert!(s[..10].iter().all(|&v| v < 1.0), "{s:?}");
        // A straight line is kept as it is, ends included.
        let line: Vec<f64> = (0..12).map(|i| 0.5 + 0.1 * f64::from(i)).collect();
        for (a, b) in gaussian_smooth(&line, 3.0, Ends::Keep).iter().zip(&line) {
            assert!((a - b).abs() < 1e-12, "{a} vs {b}");
        }
        // A trailing NaN (the final snapshot takes no step in Fig. 12) stays NaN, and the
        // last finite value is kept.
        let s = gaussian_smooth(&[0.1, 0.5, 0.2, 0.9, f64::NAN], 1.5, Ends::Keep);
        assert!(s[4].is_nan() && (s[3] - 0.9).abs() < 1e-12, "{s:?}");
        // Shorter than the kernel.
        assert_eq!(gaussian_smooth(&[0.3], 5.0, Ends::Keep), vec![0.3]);
        // Averaged ends: the old behaviour, the end pulled towards its neighbours.
        let s = gaussian_smooth(&curve, 2.0, Ends::Average);
        assert!(s[10] < 0.9, "{}", s[10]);
    }

    /// Fig. 12's noisy alignments: averaged ends stay near the level of the data, where kept
    /// ends would pin the curve to one noisy draw.
    #[test]
    fn averaged_ends_are_not_pinned_to_a_noisy_last_value() {
        let noisy = [0.25, 0.16, 0.29, 0.02, 0.08, 0.05, 0.03, 0.43, 0.26, 0.41];
        let mean = noisy.iter().sum::<f64>() / noisy.len() as f64;
        let s = gaussian_smooth(&noisy, 5.0, Ends::Average);
        assert!((s[9] - mean).abs() < 0.1, "{} vs {mean}", s[9]);
        assert_eq!(gaussian_smooth(&noisy, 5.0, Ends::Keep)[9], 0.41);
    }
}
