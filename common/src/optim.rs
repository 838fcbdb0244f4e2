//! Optimiser hyperparameters, defined once: the sweep file resolves into them
//! ([`crate::sweep`]), the worker's optimisers take them, `train` builds them from its flags.
//! Semantics are PyTorch's (METHOD.md); `Default` gives METHOD.md's values.

use crate::sweep::OptimizerKind;

/// SGD: θ ← θ − η g (no momentum, no weight decay, as in the study).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SgdConfig {
    /// Learning rate η.
    pub lr: f64,
}

impl Default for SgdConfig {
    fn default() -> Self {
        Self { lr: 1e-2 }
    }
}

/// Adam with bias correction, as `torch.optim.Adam` (no weight decay, no amsgrad).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdamConfig {
    /// Learning rate η.
    pub lr: f64,
    /// First-moment decay β1.
    pub beta1: f64,
    /// Second-moment decay β2.
    pub beta2: f64,
    /// ε added to the denominator.
    pub eps: f64,
}

impl Default for AdamConfig {
    fn default() -> Self {
        Self {
            lr: 1e-3,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
        }
    }
}

/// Sharpness-aware minimisation (Foret et al. 2021) on plain SGD.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SamConfig {
    /// Learning rate η of the SGD step.
    pub lr: f64,
    /// Neighbourhood radius ρ.
    pub rho: f64,
}

impl Default for SamConfig {
    fn default() -> Self {
        Self {
            lr: 1e-2,
            rho: 0.05,
        }
    }
}

/// An optimiser's kind and every hyperparameter.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum OptimizerConfig {
    /// Plain SGD.
    Sgd(SgdConfig),
    /// Bias-corrected Adam.
    Adam(AdamConfig),
    /// SAM on SGD.
    Sam(SamConfig),
}

impl OptimizerConfig {
    /// The kind.
    pub fn kind(&self) -> OptimizerKind {
        match self {
            OptimizerConfig::Sgd(_) => OptimizerKind::Sgd,
            OptimizerConfig::Adam(_) => OptimizerKind::Adam,
            OptimizerConfig::Sam(_) => OptimizerKind::Sam,
        }
    }

    /// The learning rate.
    pub fn lr(&self) -> f64 {
        match *self {
            OptimizerConfig::Sgd(SgdConfig { lr })
            | OptimizerConfig::Adam(AdamConfig { lr, .. })
            | OptimizerConfig::Sam(SamConfig { lr, .. }) => lr,
        }
    }
}
