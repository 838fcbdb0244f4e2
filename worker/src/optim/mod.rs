//! Optimisers with PyTorch semantics: SGD (momentum, dampening, Nesterov, weight decay), Adam,
//! AdamW, RMSprop, and SAM on any of them, at a scheduled learning rate.
//!
//! Hyperparameters are eigensweep-common's ([`OptimizerConfig`]: one definition for the sweep
//! file, `train` and the worker). The update rules are written once (`rule.rs`, generic over
//! one element or one tensor) and run by two engines: [`TensorOptimizer`] on candle tensors
//! (any device) and the host engine's fused pass on flat vectors (the CPU default). An
//! optimiser step receives the current parameters and a closure that evaluates the mini-batch
//! loss and gradient at any parameters (SAM needs two evaluations on the same batch), and
//! returns the new parameters together with the gradient it saw at θ_t, which the alignment
//! statistics use.

mod host;
mod preconditioner;
pub(crate) mod rule;
pub(crate) mod tensor;

pub(crate) use host::HostOptimizer;
pub use preconditioner::preconditioner_scale;
pub use tensor::TensorOptimizer;

pub use eigensweep_common::optim::{
    AdamConfig, BaseOptimizer, LrDecay, LrSchedule, OptimizerConfig, RmspropConfig, SamConfig,
    SgdConfig,
};

use crate::mlp::Params;
use crate::WorkerError;

/// Evaluates (mean mini-batch loss, gradient) at the given parameters.
pub type GradientFn<'a> = dyn FnMut(&Params) -> Result<(f64, Params), WorkerError> + 'a;

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

#[cfg(test)]
mod tests;
