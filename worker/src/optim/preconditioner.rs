//! Adam's diagonal preconditioner, for the preconditioned sharpness: the update
//! `Δθ = −P^(−1) m̂` with `P = diag(√v̂ + ε) / η` (PyTorch's Adam, bias-corrected
//! `v̂ = v / (1 − β2ᵗ)`), so the curvature the step sees is `P^(−1) H`, whose eigenvalues are
//! those of the symmetric `P^(−1/2) H P^(−1/2)` (Cohen et al. 2022, §3).

use super::AdamConfig;

/// The diagonal `D = P^(−1/2)`, `d_i = √(η / (√v̂_i + ε))`, from Adam's second moment `v`
/// (flat, the checkpoint's layout) after `steps` steps; `None` before the first step, where
/// `v̂` is undefined (0/0).
pub fn adam_preconditioner_scale(config: &AdamConfig, v: &[f64], steps: u64) -> Option<Vec<f64>> {
    if steps == 0 {
        return None;
    }
    let correction = 1.0 - config.beta2.powi(steps.min(i32::MAX as u64) as i32);
    Some(
        v.iter()
            .map(|&vi| (config.lr / ((vi / correction).sqrt() + config.eps)).sqrt())
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scale_is_the_inverse_square_root_of_adams_preconditioner() {
        let c = AdamConfig {
            lr: 1e-3,
            beta1: 0.9,
            beta2: 0.99,
            eps: 1e-8,
        };
        assert!(adam_preconditioner_scale(&c, &[1.0], 0).is_none());
        // After 2 steps v̂ = v / (1 − 0.99²) = v / 0.0199.
        let v = [0.0199 * 4.0, 0.0];
        let d = adam_preconditioner_scale(&c, &v, 2).unwrap();
        // √v̂ = 2 → P = (2 + 1e-8)/1e-3; D = 1/√P.
        assert!((d[0] - (1e-3f64 / (2.0 + 1e-8)).sqrt()).abs() < 1e-15);
        // v = 0 → P = ε/η: a direction Adam has not moved along is scaled by √(η/ε).
        assert!((d[1] - (1e-3f64 / 1e-8).sqrt()).abs() < 1e-9);
    }
}
