//! Stochastic gradient descent: θ ← θ − η g.

use super::{GradientFn, Optimizer, StepOutcome};
use crate::mlp::{ModelError, Params};
pub use eigensweep_common::optim::SgdConfig;

/// SGD.
#[derive(Debug, Clone)]
pub struct Sgd {
    config: SgdConfig,
}

impl Sgd {
    /// A new SGD optimiser.
    pub fn new(config: SgdConfig) -> Self {
        Self { config }
    }
}

/// θ − η g, tensor by tensor.
pub(super) fn descend(params: &Params, gradient: &Params, lr: f64) -> Result<Params, ModelError> {
    params.zip_map(gradient, |p, g| p - (g * lr)?)
}

impl Optimizer for Sgd {
    fn step(
        &mut self,
        params: &Params,
        grad: &mut GradientFn<'_>,
    ) -> Result<StepOutcome, ModelError> {
        let (loss, gradient) = grad(params)?;
        let params = descend(params, &gradient, self.config.lr)?;
        Ok(StepOutcome {
            params,
            loss,
            gradient,
        })
    }

    fn name(&self) -> &'static str {
        "sgd"
    }
}
