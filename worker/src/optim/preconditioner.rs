//! The diagonal preconditioner of an adaptive optimiser, for the preconditioned sharpness.
//!
//! Adam's update is `Δθ = −P^(−1) m̂` with `P = diag(√v̂ + ε) / η` (PyTorch's Adam and AdamW,
//! bias-corrected `v̂ = v / (1 − β2ᵗ)`); RMSprop's is `Δθ = −P^(−1) g` with
//! `P = diag(√v + ε) / η` (centred: `√(v − ḡ²) + ε`, no bias correction). The curvature the
//! step sees is `P^(−1) H`, whose eigenvalues are those of the symmetric `P^(−1/2) H P^(−1/2)`
//! (Cohen et al. 2022, "Adaptive gradient methods at the edge of stability", §3).

use super::BaseOptimizer;

/// The diagonal `D = P^(−1/2)`, `d_i = √(η / p_i)` with `p_i` the denominator above, from the
/// optimiser's checkpoint state (`state`, the slots of [`BaseOptimizer::state_names`], flat)
/// after `steps` steps, at learning rate `lr` (the schedule's rate for the next step).
/// `None` for SGD (no preconditioner) and before the first step (Adam's `v̂` is 0/0 there,
/// RMSprop's `v` has seen no gradient).
pub fn preconditioner_scale(
    rule: &BaseOptimizer,
    lr: f64,
    state: &[Vec<f64>],
    steps: u64,
) -> Option<Vec<f64>> {
    if steps == 0 {
        return None;
    }
    let scale = |denominator: f64| (lr / denominator).sqrt();
    match rule {
        BaseOptimizer::Sgd(_) => None,
        BaseOptimizer::Adam(c) => {
            let correction = 1.0 - c.beta2.powi(steps.min(i32::MAX as u64) as i32);
            let v = state.get(1)?;
            Some(
                v.iter()
                    .map(|&vi| scale((vi / correction).sqrt() + c.eps))
                    .collect(),
            )
        }
        BaseOptimizer::Rmsprop(c) => {
            let v = state.first()?;
            if c.centered {
                let mean = state.get(1)?;
                Some(
                    v.iter()
                        .zip(mean)
                        .map(|(&vi, &gi)| scale((vi - gi * gi).max(0.0).sqrt() + c.eps))
                        .collect(),
                )
            } else {
                Some(v.iter().map(|&vi| scale(vi.sqrt() + c.eps)).collect())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::optim::{AdamConfig, RmspropConfig, SgdConfig};

    #[test]
    fn the_scale_is_the_inverse_square_root_of_the_preconditioner() {
        let c = AdamConfig {
            lr: 1e-3,
            beta2: 0.99,
            ..AdamConfig::default()
        };
        let adam = BaseOptimizer::Adam(c);
        let m = vec![0.0, 0.0];
        assert!(preconditioner_scale(&adam, 1e-3, &[m.clone(), vec![1.0, 1.0]], 0).is_none());
        // After 2 steps v̂ = v / (1 − 0.99²) = v / 0.0199.
        let v = vec![0.0199 * 4.0, 0.0];
        let d = preconditioner_scale(&adam, 1e-3, &[m, v], 2).unwrap();
        // √v̂ = 2 → P = (2 + 1e-8)/1e-3; D = 1/√P.
        assert!((d[0] - (1e-3f64 / (2.0 + 1e-8)).sqrt()).abs() < 1e-15);
        // v = 0 → P = ε/η: a direction Adam has not moved along is scaled by √(η/ε).
        assert!((d[1] - (1e-3f64 / 1e-8).sqrt()).abs() < 1e-9);

        // RMSprop: no bias correction; centred subtracts the mean's square. At a halved
        // (scheduled) rate P doubles.
        let rms = RmspropConfig::default();
        let d = preconditioner_scale(&BaseOptimizer::Rmsprop(rms), 5e-3, &[vec![9.0]], 4).unwrap();
        assert!((d[0] - (5e-3f64 / (3.0 + 1e-8)).sqrt()).abs() < 1e-15);
        let centred = BaseOptimizer::Rmsprop(RmspropConfig {
            centered: true,
            ..rms
        });
        let d = preconditioner_scale(&centred, 1e-2, &[vec![9.0], vec![5f64.sqrt()]], 4).unwrap();
        assert!((d[0] - (1e-2f64 / (2.0 + 1e-8)).sqrt()).abs() < 1e-15);

        let sgd = BaseOptimizer::Sgd(SgdConfig::default());
        assert!(preconditioner_scale(&sgd, 1e-2, &[], 5).is_none());
    }
}
