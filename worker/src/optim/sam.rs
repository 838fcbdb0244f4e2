//! Sharpness-aware minimisation (Foret et al. 2021) on plain SGD:
//!
//! ```text
//! g = ∇L_B(θ);  ε̂ = ρ g / (‖g‖ + 1e-12);  θ ← θ − η ∇L_B(θ + ε̂)
//! ```
//! Both gradients use the same mini-batch. The 1e-12 guard is the reference implementation's
//! (it keeps a zero gradient from dividing by zero); ‖g‖ is the norm over all parameters.

use super::sgd::descend;
use super::{GradientFn, Optimizer, StepOutcome};
use crate::mlp::{ModelError, Params};
pub use eigensweep_common::optim::SamConfig;

/// SAM.
#[derive(Debug, Clone)]
pub struct Sam {
    config: SamConfig,
}

impl Sam {
    /// A new SAM optimiser.
    pub fn new(config: SamConfig) -> Self {
        Self { config }
    }
}

impl Optimizer for Sam {
    fn step(
        &mut self,
        params: &Params,
        grad: &mut GradientFn<'_>,
    ) -> Result<StepOutcome, ModelError> {
        let (loss, gradient) = grad(params)?;
        let scale = self.config.rho / (gradient.squared_norm()?.sqrt() + 1e-12);
        let perturbed = params.zip_map(&gradient, |p, g| p + (g * scale)?)?;
        let (_, sharp_gradient) = grad(&perturbed)?;
        let params = descend(params, &sharp_gradient, self.config.lr)?;
        Ok(StepOutcome {
            params,
            loss,
            gradient,
        })
    }

    fn name(&self) -> &'static str {
        "sam"
    }
}
