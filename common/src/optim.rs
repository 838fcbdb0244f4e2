//! Optimiser hyperparameters and learning-rate schedules, defined once: the sweep file
//! resolves into them ([`crate::sweep`]), the worker's update rules take them, `train` builds
//! them from its flags. Semantics are PyTorch's (`torch.optim.SGD`, `Adam`, `AdamW`,
//! `RMSprop`; METHOD.md for the study's three); `Default` gives PyTorch's values, except
//! SGD's lr, 1e-2 as in METHOD.md (PyTorch ≥ 2.2 defaults to 1e-3), and SAM's (not in
//! PyTorch), METHOD.md's.

use crate::sweep::OptimizerKind;

/// SGD as `torch.optim.SGD`: with weight decay λ, momentum μ, dampening τ,
///
/// ```text
/// g ← g + λ θ;   b ← g (first step) or μ b + (1 − τ) g;   g ← g + μ b (Nesterov) or b;
/// θ ← θ − η g
/// ```
/// With μ = 0 and λ = 0 (the defaults) this is the study's θ ← θ − η g.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SgdConfig {
    /// Learning rate η.
    pub lr: f64,
    /// Momentum μ ∈ [0, 1).
    pub momentum: f64,
    /// Dampening τ ∈ [0, 1] of the gradient added to the momentum buffer.
    pub dampening: f64,
    /// Nesterov momentum (needs μ > 0 and τ = 0, as in PyTorch).
    pub nesterov: bool,
    /// L2 weight decay λ ≥ 0, added to the gradient.
    pub weight_decay: f64,
}

impl Default for SgdConfig {
    fn default() -> Self {
        Self {
            lr: 1e-2,
            momentum: 0.0,
            dampening: 0.0,
            nesterov: false,
            weight_decay: 0.0,
        }
    }
}

/// Adam with bias correction, as `torch.optim.Adam` (no amsgrad), or AdamW
/// (`torch.optim.AdamW`) when `decoupled`:
///
/// ```text
/// Adam:  g ← g + λ θ            AdamW: θ ← θ (1 − η λ)
/// m ← β1 m + (1−β1) g;   v ← β2 v + (1−β2) g²
/// θ ← θ − (η / (1−β1ᵗ)) · m / (√v / √(1−β2ᵗ) + ε)
/// ```
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
    /// Weight decay λ ≥ 0: L2 on the gradient (Adam) or decoupled (AdamW).
    pub weight_decay: f64,
    /// AdamW's decoupled weight decay instead of Adam's L2 term.
    pub decoupled: bool,
}

impl Default for AdamConfig {
    fn default() -> Self {
        Self {
            lr: 1e-3,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.0,
            decoupled: false,
        }
    }
}

impl AdamConfig {
    /// AdamW with PyTorch's defaults (weight decay 1e-2).
    pub fn adamw() -> Self {
        Self {
            weight_decay: 1e-2,
            decoupled: true,
            ..Self::default()
        }
    }
}

/// RMSprop as `torch.optim.RMSprop`:
///
/// ```text
/// g ← g + λ θ;   v ← α v + (1−α) g²;   centred: ḡ ← α ḡ + (1−α) g, d = √(v − ḡ²) + ε,
/// else d = √v + ε;   b ← μ b + g/d, θ ← θ − η b (μ > 0), else θ ← θ − η g/d
/// ```
/// The momentum buffer starts at zero (PyTorch), unlike SGD's.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RmspropConfig {
    /// Learning rate η.
    pub lr: f64,
    /// Smoothing constant α ∈ [0, 1).
    pub alpha: f64,
    /// ε added to the denominator.
    pub eps: f64,
    /// L2 weight decay λ ≥ 0.
    pub weight_decay: f64,
    /// Momentum μ ∈ [0, 1).
    pub momentum: f64,
    /// Divide by the centred second moment (an estimate of the gradient's variance).
    pub centered: bool,
}

impl Default for RmspropConfig {
    fn default() -> Self {
        Self {
            lr: 1e-2,
            alpha: 0.99,
            eps: 1e-8,
            weight_decay: 0.0,
            momentum: 0.0,
            centered: false,
        }
    }
}

/// An optimiser SAM can wrap: every kind but SAM itself.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum BaseOptimizer {
    /// SGD (with its momentum and weight decay).
    Sgd(SgdConfig),
    /// Adam or AdamW.
    Adam(AdamConfig),
    /// RMSprop.
    Rmsprop(RmspropConfig),
}

impl BaseOptimizer {
    /// The kind.
    pub fn kind(&self) -> OptimizerKind {
        match self {
            BaseOptimizer::Sgd(_) => OptimizerKind::Sgd,
            BaseOptimizer::Adam(c) if c.decoupled => OptimizerKind::Adamw,
            BaseOptimizer::Adam(_) => OptimizerKind::Adam,
            BaseOptimizer::Rmsprop(_) => OptimizerKind::Rmsprop,
        }
    }

    /// The base learning rate.
    pub fn lr(&self) -> f64 {
        match *self {
            BaseOptimizer::Sgd(SgdConfig { lr, .. })
            | BaseOptimizer::Adam(AdamConfig { lr, .. })
            | BaseOptimizer::Rmsprop(RmspropConfig { lr, .. }) => lr,
        }
    }

    /// Names of the per-parameter state vectors the rule keeps, in checkpoint order (PyTorch's
    /// state names): none for plain SGD, `momentum_buffer` for SGD with momentum, `exp_avg`
    /// and `exp_avg_sq` for Adam, `square_avg`, then `grad_avg` (centred) and
    /// `momentum_buffer` (μ > 0) for RMSprop.
    pub fn state_names(&self) -> Vec<&'static str> {
        match *self {
            BaseOptimizer::Sgd(c) if c.momentum == 0.0 => vec![],
            BaseOptimizer::Sgd(_) => vec!["momentum_buffer"],
            BaseOptimizer::Adam(_) => vec!["exp_avg", "exp_avg_sq"],
            BaseOptimizer::Rmsprop(c) => {
                let mut names = vec!["square_avg"];
                if c.centered {
                    names.push("grad_avg");
                }
                if c.momentum != 0.0 {
                    names.push("momentum_buffer");
                }
                names
            }
        }
    }
}

/// Sharpness-aware minimisation (Foret et al. 2021) on any base optimiser: the base rule
/// applied to the gradient at θ + ρ g/‖g‖ (both gradients on the same mini-batch).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SamConfig {
    /// Neighbourhood radius ρ.
    pub rho: f64,
    /// The optimiser that takes the step (the study's: SGD, lr 1e-2).
    pub base: BaseOptimizer,
}

impl Default for SamConfig {
    fn default() -> Self {
        Self {
            rho: 0.05,
            base: BaseOptimizer::Sgd(SgdConfig::default()),
        }
    }
}

impl SamConfig {
    /// SAM on plain SGD with learning rate `lr` and radius `rho` (the study's SAM).
    pub fn sgd(lr: f64, rho: f64) -> Self {
        Self {
            rho,
            base: BaseOptimizer::Sgd(SgdConfig {
                lr,
                ..SgdConfig::default()
            }),
        }
    }
}

/// An optimiser's kind and every hyperparameter.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum OptimizerConfig {
    /// SGD.
    Sgd(SgdConfig),
    /// Bias-corrected Adam, or AdamW when `decoupled`.
    Adam(AdamConfig),
    /// RMSprop.
    Rmsprop(RmspropConfig),
    /// SAM on a base optimiser.
    Sam(SamConfig),
}

impl OptimizerConfig {
    /// The kind.
    pub fn kind(&self) -> OptimizerKind {
        match self {
            OptimizerConfig::Sam(_) => OptimizerKind::Sam,
            other => other.base().kind(),
        }
    }

    /// The rule that takes the step: the optimiser itself, or SAM's base.
    pub fn base(&self) -> BaseOptimizer {
        match *self {
            OptimizerConfig::Sgd(c) => BaseOptimizer::Sgd(c),
            OptimizerConfig::Adam(c) => BaseOptimizer::Adam(c),
            OptimizerConfig::Rmsprop(c) => BaseOptimizer::Rmsprop(c),
            OptimizerConfig::Sam(c) => c.base,
        }
    }

    /// SAM's ρ; `None` for the others.
    pub fn sam_rho(&self) -> Option<f64> {
        match self {
            OptimizerConfig::Sam(c) => Some(c.rho),
            _ => None,
        }
    }

    /// The base learning rate (before any schedule).
    pub fn lr(&self) -> f64 {
        self.base().lr()
    }
}

/// How the learning rate decays after any warm-up (PyTorch's `StepLR` and
/// `CosineAnnealingLR`, stepped once per optimiser step).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum LrDecay {
    /// η_t = η.
    Constant,
    /// η_t = η γ^⌊t / every⌋.
    Step {
        /// Steps between decays, ≥ 1.
        every: u64,
        /// Factor per decay, > 0.
        gamma: f64,
    },
    /// η_t = η_min + (η − η_min)(1 + cos(π t / T))/2, T = the steps after the warm-up.
    Cosine {
        /// η_min ≥ 0.
        min_lr: f64,
        /// T ≥ 1: the steps over which the rate anneals.
        steps: u64,
    },
}

/// The learning rate at each step: a linear warm-up over the first `warmup_steps` steps,
/// η_t = η (t + 1)/W for t < W, then `decay` counted from the end of the warm-up. Step t is
/// 0-based: the rate of the step that turns θ_t into θ_{t+1}.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LrSchedule {
    /// W: steps of linear warm-up (0 = none).
    pub warmup_steps: u64,
    /// The decay after the warm-up.
    pub decay: LrDecay,
}

impl Default for LrSchedule {
    /// A constant rate, no warm-up (the study's).
    fn default() -> Self {
        Self {
            warmup_steps: 0,
            decay: LrDecay::Constant,
        }
    }
}

impl LrSchedule {
    /// Whether the rate never changes.
    pub fn is_constant(&self) -> bool {
        self.warmup_steps == 0 && self.decay == LrDecay::Constant
    }

    /// η_t for base rate `lr` at 0-based step `step`. Returns `lr` exactly (no arithmetic)
    /// for a constant schedule, so that runs without a schedule are bit-identical to the
    /// study's.
    pub fn lr(&self, lr: f64, step: u64) -> f64 {
        if step < self.warmup_steps {
            return lr * (step + 1) as f64 / self.warmup_steps as f64;
        }
        let t = step - self.warmup_steps;
        match self.decay {
            LrDecay::Constant => lr,
            LrDecay::Step { every, gamma } => {
                lr * gamma.powi((t / every.max(1)).min(i32::MAX as u64) as i32)
            }
            LrDecay::Cosine { min_lr, steps } => {
                let t = t.min(steps) as f64;
                min_lr
                    + (lr - min_lr) * (1.0 + (std::f64::consts::PI * t / steps.max(1) as f64).cos())
                        / 2.0
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedules_follow_their_closed_forms() {
        let constant = LrSchedule::default();
        assert!(constant.is_constant());
        assert_eq!(constant.lr(0.1, 12345), 0.1);

        let warm = LrSchedule {
            warmup_steps: 4,
            decay: LrDecay::Constant,
        };
        let rates: Vec<f64> = (0..6).map(|t| warm.lr(0.1, t)).collect();
        for (got, want) in rates.iter().zip([0.025, 0.05, 0.075, 0.1, 0.1, 0.1]) {
            assert!((got - want).abs() < 1e-15, "{rates:?}");
        }

        let step = LrSchedule {
            warmup_steps: 0,
            decay: LrDecay::Step {
                every: 10,
                gamma: 0.5,
            },
        };
        assert_eq!(step.lr(1.0, 9), 1.0);
        assert_eq!(step.lr(1.0, 10), 0.5);
        assert_eq!(step.lr(1.0, 25), 0.25);

        let cosine = LrSchedule {
            warmup_steps: 2,
            decay: LrDecay::Cosine {
                min_lr: 0.1,
                steps: 8,
            },
        };
        assert!((cosine.lr(1.0, 0) - 0.5).abs() < 1e-15, "warm-up first");
        assert!(
            (cosine.lr(1.0, 2) - 1.0).abs() < 1e-15,
            "then the full rate"
        );
        // Half-way through the anneal: (η + η_min)/2.
        assert!((cosine.lr(1.0, 6) - 0.55).abs() < 1e-12);
        assert!((cosine.lr(1.0, 10) - 0.1).abs() < 1e-15, "η_min at the end");
        assert!((cosine.lr(1.0, 50) - 0.1).abs() < 1e-15, "and after it");
    }

    #[test]
    fn state_names_follow_pytorchs() {
        assert!(BaseOptimizer::Sgd(SgdConfig::default())
            .state_names()
            .is_empty());
        let momentum = SgdConfig {
            momentum: 0.9,
            ..SgdConfig::default()
        };
        assert_eq!(
            BaseOptimizer::Sgd(momentum).state_names(),
            ["momentum_buffer"]
        );
        assert_eq!(
            BaseOptimizer::Adam(AdamConfig::adamw()).state_names(),
            ["exp_avg", "exp_avg_sq"]
        );
        let rms = RmspropConfig {
            centered: true,
            momentum: 0.5,
            ..RmspropConfig::default()
        };
        assert_eq!(
            BaseOptimizer::Rmsprop(rms).state_names(),
            ["square_avg", "grad_avg", "momentum_buffer"]
        );
        assert_eq!(
            OptimizerConfig::Sam(SamConfig::default()).kind(),
            OptimizerKind::Sam
        );
        assert_eq!(
            OptimizerConfig::Adam(AdamConfig::adamw()).kind(),
            OptimizerKind::Adamw
        );
    }
}
