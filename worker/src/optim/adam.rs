//! Adam with bias correction, exactly as `torch.optim.Adam` computes it (no weight decay,
//! no amsgrad):
//!
//! ```text
//! m ← β1 m + (1−β1) g          v ← β2 v + (1−β2) g²
//! θ ← θ − (η / (1−β1ᵗ)) · m / (√v / √(1−β2ᵗ) + ε)
//! ```
//! The grouping of the last line is PyTorch's, so that results match it to rounding.

use super::{GradientFn, Optimizer, StepOutcome};
use crate::mlp::{ModelError, Params};
pub use eigensweep_common::optim::AdamConfig;

/// Adam and its moment estimates.
#[derive(Debug, Clone)]
pub struct Adam {
    config: AdamConfig,
    m: Params,
    v: Params,
    t: u64,
}

impl Adam {
    /// Zero moments shaped like `like`.
    pub fn new(config: AdamConfig, like: &Params) -> Result<Self, ModelError> {
        let zeros = Params::zeros(like.architecture(), like.dtype(), like.device())?;
        Ok(Self {
            config,
            m: zeros.clone(),
            v: zeros,
            t: 0,
        })
    }

    /// Steps taken so far (t of the bias correction).
    pub fn steps(&self) -> u64 {
        self.t
    }

    /// First and second moment estimates.
    pub fn moments(&self) -> (&Params, &Params) {
        (&self.m, &self.v)
    }
}

impl Optimizer for Adam {
    fn step(
        &mut self,
        params: &Params,
        grad: &mut GradientFn<'_>,
    ) -> Result<StepOutcome, ModelError> {
        let (loss, gradient) = grad(params)?;
        let AdamConfig {
            lr,
            beta1,
            beta2,
            eps,
        } = self.config;
        self.t += 1;
        let t = self.t as i32;
        self.m = self
            .m
            .zip_map(&gradient, |m, g| (m * beta1)? + (g * (1.0 - beta1))?)?;
        self.v = self
            .v
            .zip_map(&gradient, |v, g| (v * beta2)? + (g.sqr()? * (1.0 - beta2))?)?;
        let bias_correction1 = 1.0 - beta1.powi(t);
        let bias_correction2_sqrt = (1.0 - beta2.powi(t)).sqrt();
        let step_size = lr / bias_correction1;
        let denom = self.v.map(|v| (v.sqrt()? / bias_correction2_sqrt)? + eps)?;
        let update = self.m.zip_map(&denom, |m, d| (m / d)? * step_size)?;
        let params = params.zip_map(&update, |p, u| p - u)?;
        Ok(StepOutcome {
            params,
            loss,
            gradient,
        })
    }

    fn name(&self) -> &'static str {
        "adam"
    }

    fn state(&self) -> Result<(Vec<Vec<f64>>, u64), ModelError> {
        Ok((vec![self.m.to_flat()?, self.v.to_flat()?], self.t))
    }

    fn restore(&mut self, state: &[Vec<f64>], steps: u64) -> Result<(), ModelError> {
        let [m, v] = state else {
            return Err(ModelError::Shape(format!(
                "Adam state needs 2 tensors (m, v), the checkpoint holds {}",
                state.len()
            )));
        };
        let (arch, dtype, device) = (
            self.m.architecture().clone(),
            self.m.dtype(),
            self.m.device().clone(),
        );
        self.m = Params::from_flat(&arch, m, dtype, &device)?;
        self.v = Params::from_flat(&arch, v, dtype, &device)?;
        self.t = steps;
        Ok(())
    }
}
