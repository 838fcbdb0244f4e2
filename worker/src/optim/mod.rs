//! Optimisers with PyTorch semantics: SGD, Adam, and SAM on top of SGD.
//!
//! Hyperparameters are eigensweep-common's ([`OptimizerConfig`]: one definition for the sweep
//! file, `train` and the worker), with `Default` set to METHOD.md's values. An optimiser
//! receives the current parameters and a closure that evaluates the mini-batch loss and
//! gradient at any parameters (SAM needs two evaluations on the same batch), and returns the
//! new parameters together with the gradient it saw at θ_t, which the alignment statistics use.

mod adam;
mod host;
mod preconditioner;
mod sam;
mod sgd;

pub use adam::{Adam, AdamConfig};
pub use sam::{Sam, SamConfig};
pub use sgd::{Sgd, SgdConfig};

pub(crate) use host::HostOptimizer;
pub use preconditioner::adam_preconditioner_scale;

use crate::mlp::{ModelError, Params};

/// Evaluates (mean mini-batch loss, gradient) at the given parameters.
pub type GradientFn<'a> = dyn FnMut(&Params) -> Result<(f64, Params), ModelError> + 'a;

/// What one optimiser step did.
#[derive(Debug, Clone)]
pub struct StepOutcome {
    /// θ_{t+1}.
    pub params: Params,
    /// Mini-batch loss at θ_t.
    pub loss: f64,
    /// Mini-batch gradient g_t = ∇L_B(θ_t). For SAM this is the first gradient (at θ_t, not
    /// at the perturbed point): the gradient the paper's Eq. 7 aligns eigenvectors with.
    pub gradient: Params,
}

/// One optimiser.
pub trait Optimizer: Send {
    /// Takes one step from `params` using `grad` on the current mini-batch.
    fn step(
        &mut self,
        params: &Params,
        grad: &mut GradientFn<'_>,
    ) -> Result<StepOutcome, ModelError>;

    /// Short name for logs ("sgd", "adam", "sam").
    fn name(&self) -> &'static str;

    /// The state a checkpoint must keep (flattened tensors, in a fixed order) and the step
    /// counter. Stateless optimisers return nothing.
    fn state(&self) -> Result<(Vec<Vec<f64>>, u64), ModelError> {
        Ok((Vec::new(), 0))
    }

    /// Restores what [`Optimizer::state`] returned.
    fn restore(&mut self, state: &[Vec<f64>], steps: u64) -> Result<(), ModelError> {
        if state.is_empty() && steps == 0 {
            Ok(())
        } else {
            Err(ModelError::Shape(format!(
                "{} keeps no state, but a checkpoint holds {} tensors",
                self.name(),
                state.len()
            )))
        }
    }
}

pub use eigensweep_common::optim::OptimizerConfig;

/// A fresh tensor optimiser (zero state) for `config` and parameters shaped like `like`.
///
/// # Errors
/// A tensor error while allocating Adam's moments.
pub fn build(config: &OptimizerConfig, like: &Params) -> Result<Box<dyn Optimizer>, ModelError> {
    Ok(match *config {
        OptimizerConfig::Sgd(c) => Box::new(Sgd::new(c)),
        OptimizerConfig::Adam(c) => Box::new(Adam::new(c, like)?),
        OptimizerConfig::Sam(c) => Box::new(Sam::new(c)),
    })
}

#[cfg(test)]
mod tests;
