//! Gaussian smoothing of a curve sampled at snapshots (Fig. 7 and 12 of the paper).

/// Smooths `values` with a Gaussian kernel of standard deviation `sigma`, in samples (not
/// steps: snapshots may be unevenly spaced, and the paper smooths over snapshots). The kernel
/// is cut at 4σ and renormalised near the ends, so the curve is not pulled towards zero
/// there; NaN values are skipped. `sigma = 0` returns the values unchanged.
pub fn gaussian_smooth(values: &[f64], sigma: f64) -> Vec<f64> {
    if sigma <= 0.0 {
        return values.to_vec();
    }
    let radius = (4.0 * sigma).ceil() as isize;
    let weights: Vec<f64> = (-radius..=radius)
        .map(|d| (-0.5 * (d as f64 / sigma).powi(2)).exp())
        .collect();
    let n = values.len() as isize;
    (0..n)
        .map(|i| {
            let (mut sum, mut norm) = (0.0, 0.0);
            for (w, d) in weights.iter().zip(-radius..=radius) {
                let j = i + d;
                if (0..n).contains(&j) && values[j as usize].is_finite() {
                    sum += w * values[j as usize];
                    norm += w;
                }
            }
            if norm > 0.0 {
                sum / norm
            } else {
                f64::NAN
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_stays_constant_and_mass_is_local() {
        let flat = gaussian_smooth(&[2.0; 20], 3.0);
        assert!(flat.iter().all(|v| (v - 2.0).abs() < 1e-12));
        let mut spike = vec![0.0; 41];
        spike[20] = 1.0;
        let s = gaussian_smooth(&spike, 2.0);
        assert!((s.iter().sum::<f64>() - 1.0).abs() < 1e-6);
        assert!(s[20] > s[22] && s[22] > s[24] && s[0] < 1e-9);
        assert_eq!(gaussian_smooth(&[1.0, 5.0], 0.0), vec![1.0, 5.0]);
        let with_nan = gaussian_smooth(&[1.0, f64::NAN, 1.0], 1.0);
        assert!(with_nan.iter().all(|v| (v - 1.0).abs() < 1e-12));
    }
}
