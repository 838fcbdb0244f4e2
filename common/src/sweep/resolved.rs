//! The sweep after validation: every default filled in, every choice explicit.
//!
//! [`ResolvedSweep::to_yaml`] writes it back in the sweep-file format (what `run` stores as
//! `OUT/sweep.yaml`); reading that file again gives the same sweep and the same run keys.

use std::fmt;
use std::path::PathBuf;

use serde::Serialize;

use super::file::{
    BaselineSpec, DatasetSpec, ExtraEigenSpec, ModelSpec, Normalize, Schedule, SnapshotSpec,
    SweepFile, TrainingSpec,
};
use super::shape::DataShape;
use crate::device::DeviceRequest;

/// A validated sweep with all defaults filled in.
#[derive(Debug, Clone, PartialEq)]
pub struct ResolvedSweep {
    /// The sweep's name.
    pub name: String,
    /// Output directory (relative to the current directory unless absolute).
    pub output: PathBuf,
    /// The datasets, in file order.
    pub datasets: Vec<ResolvedDataset>,
    /// The network.
    pub model: ModelSpec,
    /// Training settings.
    pub training: ResolvedTraining,
    /// The optimisers, in file order.
    pub optimizers: Vec<NamedOptimizer>,
    /// The run seeds, in file order.
    pub seeds: Vec<u64>,
    /// Snapshot settings (the defaults for every run).
    pub snapshots: SnapshotSpec,
    /// Eigen settings that replace `snapshots`' for some seeds.
    pub extra_eigen: Vec<ExtraEigen>,
    /// The random-init baseline.
    pub baseline: BaselineSpec,
    /// The `--set` / `--out` overrides this sweep was resolved with, for the record.
    pub overrides: Vec<String>,
    /// The sweep file's `device` (`None`: not set; `--device` or the CPU decides).
    pub device: Option<DeviceRequest>,
}

/// A dataset with its sizes resolved.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(into = "DatasetSpec")]
pub struct ResolvedDataset {
    /// The `dataset=` partition value.
    pub name: String,
    /// Where the samples come from.
    pub source: DataSource,
    /// Training samples: generated (synthetic), or of a real dataset the first N (no
    /// `subset_seed`) or N drawn by `subset_seed`; `None` = all of them.
    pub train_size: Option<usize>,
    /// Test samples, as `train_size`.
    pub test_size: Option<usize>,
    /// A real dataset's subset seed (the sweep file's `seed` on a non-synthetic dataset):
    /// `train_size` / `test_size` samples drawn uniformly without replacement, kept in file
    /// order (`Dataset::sample` in the worker). `None`: the first N. Always `None` for
    /// synthetic data, whose `seed` is the generator's (in [`DataSource::Synthetic`]).
    pub subset_seed: Option<u64>,
    /// `(x − mean) / std`, if any.
    pub normalize: Option<Normalize>,
}

/// Where a dataset's samples come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DataSource {
    /// The built-in seeded generator.
    Synthetic {
        /// Generator seed.
        seed: u64,
    },
    /// MNIST from the cache.
    Mnist,
    /// FashionMNIST from the cache.
    FashionMnist,
    /// A directory with the four IDX files: absolute after [`read_sweep`](super::read_sweep)
    /// (relative ones resolved, see there); as written after [`parse_sweep`](super::parse_sweep).
    Directory(PathBuf),
}

impl DataSource {
    /// Reads a `source:` value: `synthetic`, `mnist`, `fashion-mnist` (or `fashion_mnist`,
    /// any case) name the built-in sources; anything else is a directory.
    pub fn parse(source: &str, seed: Option<u64>) -> Self {
        match source.to_ascii_lowercase().as_str() {
            "synthetic" => DataSource::Synthetic {
                seed: seed.unwrap_or(0),
            },
            "mnist" => DataSource::Mnist,
            "fashion-mnist" | "fashion_mnist" => DataSource::FashionMnist,
            _ => DataSource::Directory(PathBuf::from(source)),
        }
    }

    /// Number of training samples, where known without reading any file.
    pub fn known_train_len(&self) -> Option<usize> {
        match self {
            DataSource::Mnist | DataSource::FashionMnist => Some(60_000),
            DataSource::Synthetic { .. } | DataSource::Directory(_) => None,
        }
    }

    /// Number of test samples, where known without reading any file.
    pub fn known_test_len(&self) -> Option<usize> {
        match self {
            DataSource::Mnist | DataSource::FashionMnist => Some(10_000),
            DataSource::Synthetic { .. } | DataSource::Directory(_) => None,
        }
    }

    /// The network's input width and classes, where known without reading any file: the
    /// built-in sources are 28 × 28 grey images of 10 classes; a directory's shape is in its
    /// files (see [`ValidatedSweep::set_data_shape`](super::ValidatedSweep::set_data_shape)).
    pub fn known_shape(&self) -> Option<DataShape> {
        match self {
            DataSource::Synthetic { .. } | DataSource::Mnist | DataSource::FashionMnist => {
                Some(DataShape::MNIST)
            }
            DataSource::Directory(_) => None,
        }
    }
}

impl fmt::Display for DataSource {
    /// The `source:` value: `synthetic`, `mnist`, `fashion-mnist` or the directory.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DataSource::Synthetic { .. } => f.write_str("synthetic"),
            DataSource::Mnist => f.write_str("mnist"),
            DataSource::FashionMnist => f.write_str("fashion-mnist"),
            DataSource::Directory(dir) => write!(f, "{}", dir.display()),
        }
    }
}

impl ResolvedDataset {
    /// Number of training samples the runs use, where known without reading any file.
    pub fn known_train_len(&self) -> Option<usize> {
        match self.train_size {
            Some(n) => Some(n),
            None => self.source.known_train_len(),
        }
    }
}

impl From<ResolvedDataset> for DatasetSpec {
    fn from(d: ResolvedDataset) -> Self {
        let seed = match d.source {
            DataSource::Synthetic { seed } => Some(seed),
            _ => d.subset_seed,
        };
        DatasetSpec {
            name: d.name,
            source: d.source.to_string(),
            seed,
            train_size: d.train_size,
            test_size: d.test_size,
            normalize: d.normalize,
        }
    }
}

/// Training settings with the eval schedule resolved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ResolvedTraining {
    /// Optimiser steps.
    pub steps: u64,
    /// Mini-batch size.
    pub batch_size: usize,
    /// A metrics row every K steps.
    pub log_every: u64,
    /// Full train/test evaluation schedule.
    pub eval: Schedule,
}

/// An optimiser under its sweep name.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(into = "OptimizerSpec")]
pub struct NamedOptimizer {
    /// The `optimizer=` partition value.
    pub name: String,
    /// Kind and hyperparameters.
    pub config: OptimizerConfig,
    /// The learning rate at each step.
    pub schedule: LrSchedule,
    /// Mini-batch size of its runs, where it sets one (else `training.batch_size`).
    pub batch_size: Option<usize>,
}

pub use crate::optim::OptimizerConfig;
use crate::optim::{AdamConfig, BaseOptimizer, LrDecay, LrSchedule, RmspropConfig, SgdConfig};

use super::grid::OptimizerEntry;
use super::optimizer_spec::{LrScheduleKind, LrScheduleSpec, OptimizerKind, OptimizerSpec};

/// The resolved optimiser as a sweep-file entry, which is what run keys hash. Settings that
/// did not exist before this round (momentum, weight decay, schedules, SAM's base) are written
/// only when they are on, so runs that do not use them keep their keys; the kinds that are new
/// (AdamW, RMSprop) write every setting.
impl From<NamedOptimizer> for OptimizerSpec {
    fn from(o: NamedOptimizer) -> Self {
        let mut spec = OptimizerSpec::new(o.name, o.config.kind());
        spec.lr = Some(o.config.lr());
        if let Some(rho) = o.config.sam_rho() {
            spec.rho = Some(rho);
            if !matches!(o.config.base(), BaseOptimizer::Sgd(_)) {
                spec.base = Some(o.config.base().kind());
            }
        }
        let some_if = |on: bool, x: f64| on.then_some(x);
        match o.config.base() {
            BaseOptimizer::Sgd(SgdConfig {
                momentum,
                dampening,
                nesterov,
                weight_decay,
                ..
            }) => {
                // Dampening and Nesterov act only through the momentum buffer: without
                // momentum they change nothing, and so not the key.
                let with_momentum = momentum != 0.0;
                spec.momentum = some_if(with_momentum, momentum);
                spec.dampening = some_if(with_momentum && dampening != 0.0, dampening);
                spec.nesterov = (with_momentum && nesterov).then_some(true);
                spec.weight_decay = some_if(weight_decay != 0.0, weight_decay);
            }
            BaseOptimizer::Adam(AdamConfig {
                beta1,
                beta2,
                eps,
                weight_decay,
                decoupled,
                ..
            }) => {
                spec.beta1 = Some(beta1);
                spec.beta2 = Some(beta2);
                spec.eps = Some(eps);
                spec.weight_decay = some_if(decoupled || weight_decay != 0.0, weight_decay);
            }
            BaseOptimizer::Rmsprop(RmspropConfig {
                alpha,
                eps,
                weight_decay,
                momentum,
                centered,
                ..
            }) => {
                spec.alpha = Some(alpha);
                spec.eps = Some(eps);
                spec.weight_decay = Some(weight_decay);
                spec.momentum = Some(momentum);
                spec.centered = Some(centered);
            }
        }
        if !o.schedule.is_constant() {
            spec.lr_schedule = Some(schedule_spec(&o.schedule));
        }
        spec.batch_size = o.batch_size;
        spec
    }
}

/// `schedule` as written in a sweep file (a cosine's length is implied by `training.steps`).
fn schedule_spec(schedule: &LrSchedule) -> LrScheduleSpec {
    let mut spec = LrScheduleSpec {
        kind: LrScheduleKind::Constant,
        warmup_steps: (schedule.warmup_steps > 0).then_some(schedule.warmup_steps),
        every: None,
        gamma: None,
        min_lr: None,
    };
    match schedule.decay {
        LrDecay::Constant => {}
        LrDecay::Step { every, gamma } => {
            spec.kind = LrScheduleKind::Step;
            spec.every = Some(every);
            spec.gamma = Some(gamma);
        }
        LrDecay::Cosine { min_lr, .. } => {
            spec.kind = LrScheduleKind::Cosine;
            spec.min_lr = Some(min_lr);
        }
    }
    spec
}

impl NamedOptimizer {
    /// Whether the optimiser keeps a diagonal preconditioner (Adam, AdamW, RMSprop, or SAM
    /// on one of them).
    pub fn has_preconditioner(&self) -> bool {
        self.config.base().kind().has_preconditioner()
    }

    /// The kind as the sweep file names it.
    pub fn kind(&self) -> OptimizerKind {
        self.config.kind()
    }
}

/// How one eigen-solve is run.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct EigenSettings {
    /// Number of top eigenpairs.
    pub top_k: usize,
    /// Residual ≤ tol·|λ|; 0 = machine precision.
    pub tol: f64,
    /// Hessian-vector product budget.
    pub max_products: usize,
}

/// Eigen settings for the runs of some seeds.
#[derive(Debug, Clone, PartialEq)]
pub struct ExtraEigen {
    /// The seeds.
    pub seeds: Vec<u64>,
    /// Their settings.
    pub eigen: EigenSettings,
}

impl ResolvedSweep {
    /// The eigen settings of `seed`'s runs: its `extra_eigen` entry, else `snapshots`'.
    pub fn eigen_for_seed(&self, seed: u64) -> EigenSettings {
        self.extra_eigen
            .iter()
            .find(|e| e.seeds.contains(&seed))
            .map(|e| e.eigen)
            .unwrap_or(EigenSettings {
                top_k: self.snapshots.top_k,
                tol: self.snapshots.tol,
                max_products: self.snapshots.max_products,
            })
    }

    /// The eigen settings of the baseline networks (budget: `snapshots.max_products`).
    pub fn baseline_eigen(&self) -> EigenSettings {
        EigenSettings {
            top_k: self.baseline.top_k,
            tol: self.baseline.tol,
            max_products: self.snapshots.max_products,
        }
    }

    /// The sweep in the file format, every field explicit.
    pub fn to_file(&self) -> SweepFile {
        SweepFile {
            name: self.name.clone(),
            output: Some(self.output.clone()),
            datasets: self
                .datasets
                .iter()
                .cloned()
                .map(DatasetSpec::from)
                .collect(),
            model: self.model.clone(),
            training: TrainingSpec {
                steps: self.training.steps,
                batch_size: self.training.batch_size,
                log_every: self.training.log_every,
                eval: Some(self.training.eval.clone()),
            },
            optimizers: self
                .optimizers
                .iter()
                .cloned()
                .map(|o| OptimizerEntry::from(OptimizerSpec::from(o)))
                .collect(),
            seeds: self.seeds.clone(),
            snapshots: self.snapshots.clone(),
            extra_eigen: self
                .extra_eigen
                .iter()
                .map(|e| ExtraEigenSpec {
                    seeds: e.seeds.clone(),
                    top_k: Some(e.eigen.top_k),
                    tol: Some(e.eigen.tol),
                    max_products: Some(e.eigen.max_products),
                })
                .collect(),
            baseline: self.baseline.clone(),
            device: self.device,
        }
    }

    /// The resolved sweep as a sweep file (what `run` writes to `OUT/sweep.yaml`), with a
    /// header comment naming the overrides it was resolved with. Parsing it back gives the
    /// same sweep and the same run keys.
    pub fn to_yaml(&self) -> String {
        let mut text = String::from(
            "# Resolved by eigensweep: the sweep as run, with every default filled in.\n",
        );
        if self.overrides.is_empty() {
            text.push_str("# No command-line overrides.\n");
        } else {
            text.push_str("# Command-line overrides:\n");
            for o in &self.overrides {
                text.push_str("#   ");
                text.push_str(&o.replace('\n', " "));
                text.push('\n');
            }
        }
        // Serialising plain structs of strings, numbers and lists cannot fail.
        text.push_str(&serde_yaml::to_string(&self.to_file()).expect("sweep serialises to YAML"));
        text
    }
}
