//! The sweep file as written: serde types, every struct rejecting unknown fields.
//!
//! A complete example with every field (defaults noted; see `sweeps/*.yaml` for real ones):
//!
//! ```yaml
//! name: quickstart                 # required, [A-Za-z0-9_.-]+
//! output: out/quickstart           # default out/<name>; relative to the current directory
//! datasets:                        # at least one; names unique
//!   - name: synthetic              # the `dataset=` partition value, [A-Za-z0-9_.-]+
//!     source: synthetic            # synthetic | mnist | fashion-mnist | a directory of IDX files
//!                                  # (relative: to this file's folder; in --set: to the cwd)
//!     seed: 0                      # synthetic: the generator's seed (default 0); real data:
//!                                  # draw train_size/test_size samples with this seed
//!     train_size: 2000             # synthetic: generate N (default 2000); real data: N drawn
//!                                  # by `seed`, or the first N without a seed (default: all)
//!     test_size: 500               # synthetic: generate N (default 1000); else as train_size
//!     normalize: {mean: 0.1307, std: 0.3081}   # optional: (x - mean) / std
//! model:
//!   hidden: [100, 100]             # default [100, 100]; inputs and outputs from the data:
//!                                  # rows × cols of the images, largest training label + 1
//!   bias_init: zero                # zero (default) | pytorch
//! training:
//!   steps: 600                     # required, >= 1
//!   batch_size: 128                # default 128
//!   log_every: 1                   # a metrics row every K steps (default 1)
//!   eval: {every: 100}             # full train/test loss, accuracy (default: snapshot schedule)
//! optimizers:                      # at least one; names unique; a kind may appear several times
//!   - {name: sgd, kind: sgd, lr: 0.01}
//!   - {name: adam, kind: adam, lr: 0.001, beta1: 0.9, beta2: 0.999, eps: 1.0e-8}
//!   - {name: sam, kind: sam, lr: 0.01, rho: 0.05}   # base: sgd (default) | adam | adamw | rmsprop
//!   - {name: sgd-m, kind: sgd, lr: 0.01, momentum: 0.9, dampening: 0, nesterov: false,
//!      weight_decay: 0}
//!   - {name: adamw, kind: adamw, lr: 0.001, weight_decay: 0.01}   # and adam's fields
//!   - {name: rmsprop, kind: rmsprop, lr: 0.01, alpha: 0.99, eps: 1.0e-8, momentum: 0,
//!      centered: false, weight_decay: 0,
//!      lr_schedule: {kind: cosine, warmup_steps: 100, min_lr: 0}}  # every kind takes one;
//!                                  # kind: constant | step (every, gamma) | cosine (min_lr)
//! seeds: [0, 1, 2]                 # at least one, unique
//! snapshots:
//!   schedule: {every: 100, log: {count: 10}, linear: {count: 50}, steps: [5, 50]}
//!   top_k: 3                       # default 3
//!   tol: 1.0e-3                    # default 1e-3; 0 = machine precision
//!   max_products: 1000             # default 1000: Hessian-vector products per eigen-solve
//!   hessian_samples: null          # default null = the whole training set, else the first N
//!   store_weights: false           # default false: also store θ at every snapshot
//!   trace: {probes: 10}            # optional: Hutchinson estimate of tr(H) at every snapshot
//!   density: {probes: 4, steps: 30}  # optional: stochastic Lanczos quadrature of H's spectrum
//!   preconditioned: {top_k: 1}     # optional, Adam/AdamW/RMSprop runs: top eigenvalues of P^-1/2 H P^-1/2
//! extra_eigen:                     # optional: other eigen settings for some seeds' runs
//!   - {seeds: [0], top_k: 15, tol: 0.0}   # top_k, tol, max_products default to snapshots'
//! baseline:                        # random-init networks per dataset (paper Eq. 4)
//!   networks: 100                  # default 100; 0 disables the baseline
//!   top_k: 3                       # default 3
//!   tol: 1.0e-3                    # default 1e-3 (max_products: snapshots.max_products)
//! device: cpu                      # cpu (default) | cuda | cuda:N; --device overrides it;
//!                                  # `cuda` = node-local rank (or job) mod the visible GPUs
//! ```
//!
//! Optimiser hyperparameters left out take PyTorch's defaults, except where the study's
//! method (METHOD.md) sets its own: SGD lr 1e-2 (METHOD.md's; PyTorch ≥ 2.2 defaults to 1e-3,
//! older versions have no default); Adam lr 1e-3, β1 0.9, β2 0.999, ε 1e-8; SAM (not in
//! PyTorch) lr 1e-2, ρ 0.05; momentum, dampening and weight decay 0 (AdamW's weight decay
//! 1e-2); RMSprop lr 1e-2, α 0.99, ε 1e-8.
//!
//! These types only check shapes and types; the rules between fields (positive rates, unique
//! names, seeds that exist, …) are [`validate`](super::validate())'s job, which reports all
//! of them at once.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::grid::OptimizerEntry;
pub use super::optimizer_spec::{LrScheduleKind, LrScheduleSpec, OptimizerKind, OptimizerSpec};
use super::shape::DataShape;
pub use super::statistic_sections::{DensitySpec, PreconditionedSpec, TraceSpec};
use crate::device::DeviceRequest;

/// A whole sweep file (see the [module docs](self) for the format).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SweepFile {
    /// The sweep's name, `[A-Za-z0-9_.-]+`.
    pub name: String,
    /// Output directory, relative to the current directory (default `out/<name>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<PathBuf>,
    /// The datasets; every run is repeated on each.
    pub datasets: Vec<DatasetSpec>,
    /// The network.
    #[serde(default)]
    pub model: ModelSpec,
    /// Training length, batches and what is logged.
    pub training: TrainingSpec,
    /// The optimisers; every run is repeated with each (an entry with lists is a grid of
    /// variants, see [`OptimizerEntry`]).
    pub optimizers: Vec<OptimizerEntry>,
    /// The run seeds (init, data order, eigensolver start vectors).
    pub seeds: Vec<u64>,
    /// When and how the Hessian eigenpairs are computed.
    pub snapshots: SnapshotSpec,
    /// Other eigen settings for the runs of chosen seeds.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extra_eigen: Vec<ExtraEigenSpec>,
    /// The random-initialisation baseline.
    #[serde(default)]
    pub baseline: BaselineSpec,
    /// Where tensors live: `cpu` (default), `cuda` or `cuda:N`; `--device` overrides it. Not
    /// part of any run key: a run may continue on another device.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<DeviceRequest>,
}

/// One dataset of the sweep.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatasetSpec {
    /// The `dataset=` partition value, `[A-Za-z0-9_.-]+`.
    pub name: String,
    /// `synthetic`, `mnist`, `fashion-mnist` (from the cache) or a directory with IDX files
    /// ([`read_sweep`](super::read_sweep) reads a relative directory from the sweep file's
    /// folder, or, given with `--set`, from the current directory).
    pub source: String,
    /// Synthetic data: the generator's seed (default 0). Real data (with `train_size` or
    /// `test_size`): the seed of the subset, N samples drawn uniformly without replacement
    /// and kept in file order; without it the subset is the first N. Fixed per dataset so
    /// that every run and baseline network of the dataset sees the same samples.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// Synthetic: how many training samples to generate (default 2000). Otherwise: how many
    /// training samples to use, drawn by `seed` or the first N (default: all).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub train_size: Option<usize>,
    /// Synthetic: how many test samples to generate (default 1000). Otherwise: how many test
    /// samples to use, as `train_size` (default: all).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_size: Option<usize>,
    /// Pixel normalisation `(x − mean) / std` after scaling to [0, 1].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub normalize: Option<Normalize>,
}

/// `(x − mean) / std`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Normalize {
    /// Subtracted from every pixel.
    pub mean: f64,
    /// Divides every pixel; > 0.
    pub std: f64,
}

/// The MLP: `[inputs] + hidden + [classes]` widths, ReLU, Xavier-uniform weights. The first
/// and last widths are the data's ([`DataShape`]), so the same model spec gives each dataset
/// of a sweep its own network.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ModelSpec {
    /// Hidden layer widths (default `[100, 100]`).
    pub hidden: Vec<usize>,
    /// How biases start (default zero).
    pub bias_init: BiasInit,
}

impl Default for ModelSpec {
    fn default() -> Self {
        Self {
            hidden: vec![100, 100],
            bias_init: BiasInit::Zero,
        }
    }
}

impl ModelSpec {
    /// All layer widths on data of `shape`, input and output included: `[784, hidden…, 10]`
    /// on MNIST.
    pub fn widths(&self, shape: DataShape) -> Vec<usize> {
        let mut widths = Vec::with_capacity(self.hidden.len() + 2);
        widths.push(shape.inputs);
        widths.extend_from_slice(&self.hidden);
        widths.push(shape.classes);
        widths
    }

    /// Number of parameters N = Σ (in·out + out) over the layers on data of `shape` (89,610
    /// for 784-100-100-10).
    pub fn param_count(&self, shape: DataShape) -> u64 {
        self.widths(shape)
            .windows(2)
            // Saturating: absurd widths in a file must give an error message, not a panic.
            .map(|w| {
                (w[0] as u64)
                    .saturating_mul(w[1] as u64)
                    .saturating_add(w[1] as u64)
            })
            .fold(0, u64::saturating_add)
    }
}

/// Initial biases (METHOD.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BiasInit {
    /// All zero.
    #[default]
    Zero,
    /// PyTorch's `nn.Linear` default, U(−1/√fan_in, 1/√fan_in).
    Pytorch,
}

/// Training length, batches and what is logged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainingSpec {
    /// Optimiser steps, ≥ 1.
    pub steps: u64,
    /// Mini-batch size (default 128).
    #[serde(default = "default_batch_size")]
    pub batch_size: usize,
    /// Write a metrics row every K steps (default 1).
    #[serde(default = "default_log_every")]
    pub log_every: u64,
    /// When to compute full training and test loss and accuracy (default: at the snapshots).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eval: Option<Schedule>,
}

fn default_batch_size() -> usize {
    128
}

fn default_log_every() -> u64 {
    1
}

/// A set of training steps: the union of whichever parts are given, clipped to
/// `[0, steps]`, sorted, without duplicates (see [`schedule_steps`](super::schedule_steps)).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Schedule {
    /// `0, K, 2K, …` and the last step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub every: Option<u64>,
    /// `round(geomspace(1, steps, count))`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log: Option<Count>,
    /// `round(i · steps / (count − 1))` for `i` in `0..count`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub linear: Option<Count>,
    /// Explicit steps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub steps: Option<Vec<u64>>,
}

/// `{count: C}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Count {
    /// How many points.
    pub count: u64,
}

/// When and how the Hessian eigenpairs are computed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SnapshotSpec {
    /// The snapshot steps.
    pub schedule: Schedule,
    /// Number of top eigenpairs (default [`DEFAULT_TOP_K`]).
    #[serde(default = "default_top_k")]
    pub top_k: usize,
    /// Eigenvalue tolerance: residual ≤ tol·|λ| (default 1e-3; 0 = machine precision).
    #[serde(default = "default_tol")]
    pub tol: f64,
    /// Hessian-vector product budget of one eigen-solve (default 1000).
    #[serde(default = "default_max_products")]
    pub max_products: usize,
    /// Hessian on the first N training samples; `null` (default) = the whole training set.
    #[serde(default)]
    pub hessian_samples: Option<usize>,
    /// Also store θ at every snapshot (default false).
    #[serde(default)]
    pub store_weights: bool,
    /// Hutchinson's estimate of the Hessian's trace at every snapshot (off when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace: Option<TraceSpec>,
    /// The Hessian's eigenvalue density by stochastic Lanczos quadrature at every snapshot
    /// (off when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub density: Option<DensitySpec>,
    /// The top eigenvalues of the preconditioned Hessian at every snapshot of the runs of an
    /// optimiser with a diagonal preconditioner (Adam, AdamW, RMSprop, SAM on one of them; off
    /// when absent; other optimisers have no preconditioner and ignore it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preconditioned: Option<PreconditionedSpec>,
}

/// Top eigenpairs per snapshot when a sweep file, `train` or a library caller names none:
/// the paper's top 3 (every figure but 14–15).
pub const DEFAULT_TOP_K: usize = 3;
/// Eigenvalue tolerance when none is named: residual ≤ 1e-3·|λ| (METHOD.md, "Eigen-snapshots").
pub const DEFAULT_TOL: f64 = 1e-3;
/// Hessian-vector product budget of one eigen-solve when none is named.
pub const DEFAULT_MAX_PRODUCTS: usize = 1000;

fn default_top_k() -> usize {
    DEFAULT_TOP_K
}

fn default_tol() -> f64 {
    DEFAULT_TOL
}

fn default_max_products() -> usize {
    DEFAULT_MAX_PRODUCTS
}

/// Eigen settings that replace `snapshots`' for the runs of some seeds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExtraEigenSpec {
    /// The seeds whose runs use these settings (each must be one of the sweep's seeds).
    pub seeds: Vec<u64>,
    /// Number of top eigenpairs (default: `snapshots.top_k`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_k: Option<usize>,
    /// Tolerance (default: `snapshots.tol`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tol: Option<f64>,
    /// Product budget per solve (default: `snapshots.max_products`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_products: Option<usize>,
}

/// The random-initialisation baseline: per dataset, `networks` untrained networks (seed =
/// network index) and their top eigenvectors.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BaselineSpec {
    /// Networks per dataset (default 100; 0 disables the baseline).
    pub networks: usize,
    /// Number of top eigenpairs (default [`DEFAULT_TOP_K`]).
    pub top_k: usize,
    /// Tolerance (default 1e-3).
    pub tol: f64,
}

impl Default for BaselineSpec {
    fn default() -> Self {
        Self {
            networks: 100,
            top_k: DEFAULT_TOP_K,
            tol: DEFAULT_TOL,
        }
    }
}
