//! One optimiser as a sweep file writes it ([`OptimizerSpec`]): its kind, its
//! hyperparameters and its learning-rate schedule, each as written (defaults are resolved by
//! validation). An `optimizers` entry with lists ([`OptimizerEntry`](super::OptimizerEntry))
//! expands into several of these; the format is documented on [`file`](mod@super::file).

use serde::{Deserialize, Serialize};

/// One optimiser. Fields a kind does not use are rejected by validation; left out, each takes
/// PyTorch's default, except SGD's lr and SAM's settings: METHOD.md's (see the
/// [sweep file's docs](mod@super::file)).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OptimizerSpec {
    /// The `optimizer=` partition value, `[A-Za-z0-9_.-]+`.
    pub name: String,
    /// sgd, adam, adamw, rmsprop or sam.
    pub kind: OptimizerKind,
    /// Learning rate (default 1e-2 for SGD, RMSprop and SAM on SGD, 1e-3 for Adam and AdamW).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lr: Option<f64>,
    /// Adam's and AdamW's β1 (default 0.9).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub beta1: Option<f64>,
    /// Adam's and AdamW's β2 (default 0.999).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub beta2: Option<f64>,
    /// ε of Adam, AdamW and RMSprop (default 1e-8).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eps: Option<f64>,
    /// SAM's ρ (default 0.05).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rho: Option<f64>,
    /// Momentum μ of SGD and RMSprop, in [0, 1) (default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub momentum: Option<f64>,
    /// SGD's dampening τ, in [0, 1] (default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dampening: Option<f64>,
    /// SGD's Nesterov momentum (default false; needs momentum > 0 and dampening 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nesterov: Option<bool>,
    /// Weight decay ≥ 0: L2 on the gradient for SGD, Adam and RMSprop (default 0), decoupled
    /// for AdamW (default 1e-2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight_decay: Option<f64>,
    /// RMSprop's smoothing constant α, in [0, 1) (default 0.99).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alpha: Option<f64>,
    /// RMSprop's centred variant (default false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub centered: Option<bool>,
    /// SAM: the optimiser that takes the step, `sgd` (default), `adam`, `adamw` or `rmsprop`;
    /// its fields sit beside `rho`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base: Option<OptimizerKind>,
    /// Mini-batch size of this optimiser's runs (default `training.batch_size`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch_size: Option<usize>,
    /// The learning-rate schedule (default constant).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lr_schedule: Option<LrScheduleSpec>,
}

impl OptimizerSpec {
    /// An entry with only a name and kind (every setting at its default).
    pub fn new(name: impl Into<String>, kind: OptimizerKind) -> Self {
        Self {
            name: name.into(),
            kind,
            lr: None,
            beta1: None,
            beta2: None,
            eps: None,
            rho: None,
            momentum: None,
            dampening: None,
            nesterov: None,
            weight_decay: None,
            alpha: None,
            centered: None,
            base: None,
            batch_size: None,
            lr_schedule: None,
        }
    }

    /// The hyperparameter fields given (not `name`, `kind` or `lr_schedule`), as (field, value
    /// as written), in declaration order.
    pub fn given_settings(&self) -> Vec<(&'static str, String)> {
        let number = |x: Option<f64>| x.map(super::error::fmt_number);
        [
            ("lr", number(self.lr)),
            ("beta1", number(self.beta1)),
            ("beta2", number(self.beta2)),
            ("eps", number(self.eps)),
            ("rho", number(self.rho)),
            ("momentum", number(self.momentum)),
            ("dampening", number(self.dampening)),
            ("nesterov", self.nesterov.map(|b| b.to_string())),
            ("weight_decay", number(self.weight_decay)),
            ("alpha", number(self.alpha)),
            ("centered", self.centered.map(|b| b.to_string())),
            ("base", self.base.map(|k| k.name().to_string())),
        ]
        .into_iter()
        .filter_map(|(field, value)| value.map(|v| (field, v)))
        .collect()
    }
}

/// The optimiser families (PyTorch semantics, METHOD.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OptimizerKind {
    /// SGD with optional momentum and weight decay (`torch.optim.SGD`).
    Sgd,
    /// Bias-corrected Adam (`torch.optim.Adam`).
    Adam,
    /// Adam with decoupled weight decay (`torch.optim.AdamW`).
    Adamw,
    /// RMSprop (`torch.optim.RMSprop`).
    Rmsprop,
    /// Sharpness-aware minimisation on a base optimiser.
    Sam,
}

impl OptimizerKind {
    /// Every kind, in the order the docs list them.
    pub const ALL: [OptimizerKind; 5] = [
        OptimizerKind::Sgd,
        OptimizerKind::Adam,
        OptimizerKind::Adamw,
        OptimizerKind::Rmsprop,
        OptimizerKind::Sam,
    ];

    /// The name used in sweep files.
    pub fn name(self) -> &'static str {
        match self {
            OptimizerKind::Sgd => "sgd",
            OptimizerKind::Adam => "adam",
            OptimizerKind::Adamw => "adamw",
            OptimizerKind::Rmsprop => "rmsprop",
            OptimizerKind::Sam => "sam",
        }
    }

    /// Whether the kind keeps a diagonal preconditioner (Adam, AdamW, RMSprop), whose
    /// preconditioned Hessian `snapshots.preconditioned` computes.
    pub fn has_preconditioner(self) -> bool {
        matches!(
            self,
            OptimizerKind::Adam | OptimizerKind::Adamw | OptimizerKind::Rmsprop
        )
    }
}

/// A learning-rate schedule (PyTorch's `StepLR` / `CosineAnnealingLR`, after an optional
/// linear warm-up), e.g. `{kind: cosine, warmup_steps: 500, min_lr: 0.0}`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LrScheduleSpec {
    /// constant, step or cosine (after the warm-up).
    pub kind: LrScheduleKind,
    /// Steps of linear warm-up from lr/W to lr (default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warmup_steps: Option<u64>,
    /// step: steps between decays (required).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub every: Option<u64>,
    /// step: the factor per decay, > 0 (default 0.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gamma: Option<f64>,
    /// cosine: the final rate, in [0, lr] (default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_lr: Option<f64>,
}

/// The decay of a [`LrScheduleSpec`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LrScheduleKind {
    /// The rate stays at lr.
    Constant,
    /// lr · gamma^⌊t / every⌋.
    Step,
    /// Cosine annealing from lr to min_lr over the steps after the warm-up.
    Cosine,
}
