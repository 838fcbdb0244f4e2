//! A validated sweep as units of work: runs (dataset × optimiser × seed) and baseline
//! networks, each with a stable key.
//!
//! A key is the first 16 hex digits of SHA-256 of the canonical JSON of everything that
//! determines the task's outputs ([`RunSpec::config_json`]): the dataset (name, source,
//! sizes, normalisation), the model, the training settings with the evaluation steps as an
//! explicit list, the optimiser (name and every hyperparameter), the seed, the snapshot
//! steps as an explicit list, the eigen settings, the Hessian data and whether weights are
//! stored. The sweep's name and output directory are not part of it: renaming a sweep or
//! moving its outputs keeps its keys, while changing any number gives new ones. The dataset
//! and optimiser names are, because they are where the outputs live (`dataset=…/optimizer=…`).
//!
//! A dataset read from a directory is keyed on its files' digest
//! ([`ValidatedSweep::set_data_digest`]), not on the directory's path, which still appears in
//! the configuration JSON for people: the key hashes that JSON without `dataset.source`.
//!
//! The network's full widths (`widths`: input, hidden, classes) are in the configuration JSON
//! too, once the data's shape is known ([`ValidatedSweep::set_data_shape`]): it is where the
//! stages after `run` (`status`, `report`) read the network without loading data. They are not
//! hashed: they follow from the data, which the key covers already (its digest, or the name
//! of a built-in source), so runs written before the widths were recorded keep their keys.

use std::path::PathBuf;

use serde::Serialize;

use super::file::ModelSpec;
use super::key::{canonical, config_value, short_hash};
use super::resolved::{DataSource, EigenSettings, NamedOptimizer, ResolvedDataset};
use super::shape::DataShape;
use super::statistics::SnapshotStatistics;
use super::validate::ValidatedSweep;

/// One training run: everything a worker needs, and its key.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunSpec {
    /// Stable key: hash of [`config_json`](Self::config_json).
    #[serde(skip)]
    pub key: String,
    /// The data.
    pub dataset: ResolvedDataset,
    /// The network.
    pub model: ModelSpec,
    /// Optimiser steps.
    pub steps: u64,
    /// Mini-batch size.
    pub batch_size: usize,
    /// A metrics row every K steps.
    pub log_every: u64,
    /// Steps at which full training and test loss and accuracy are computed, sorted.
    pub eval_steps: Vec<u64>,
    /// The optimiser.
    pub optimizer: NamedOptimizer,
    /// Seed of the initial weights, the data order and the eigensolver's start vectors.
    pub seed: u64,
    /// Steps at which eigenpairs are computed, sorted.
    pub snapshot_steps: Vec<u64>,
    /// The eigen settings of this run (after `extra_eigen`).
    pub eigen: EigenSettings,
    /// Hessian on the first N training samples; `None` = the whole training set.
    pub hessian_samples: Option<usize>,
    /// Whether θ is stored at every snapshot.
    pub store_weights: bool,
    /// The statistics measured at each snapshot besides the eigenpairs (flattened: each
    /// absent from the key when off).
    #[serde(flatten)]
    pub statistics: SnapshotStatistics,
    /// Digest of the dataset's files, where it is read from a directory and the digest was
    /// set: then the key depends on it instead of on the directory's path.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_digest: Option<String>,
    /// The data's input width and classes, where known (see
    /// [`ValidatedSweep::data_shape`]); recorded as `widths`, not hashed.
    #[serde(skip)]
    pub shape: Option<DataShape>,
}

impl RunSpec {
    /// Canonical JSON of the run's configuration (for the runs table's config column): the
    /// text its key hashes, with the network's `widths` once they are known.
    pub fn config_json(&self) -> String {
        config_json("run", self, self.widths())
    }

    /// The network's widths, input and classes included, once the data's shape is known.
    pub fn widths(&self) -> Option<Vec<usize>> {
        self.shape.map(|shape| self.model.widths(shape))
    }

    /// N, the number of parameters of the network, once the data's shape is known.
    pub fn parameters(&self) -> Option<u64> {
        self.shape.map(|shape| self.model.param_count(shape))
    }

    /// The text the key hashes: [`config_json`](Self::config_json) without the dataset's
    /// path when its digest stands for it.
    fn key_json(&self) -> String {
        key_json(config_value("run", self))
    }

    /// Output folder of the run, relative to the sweep's output directory's `runs/`:
    /// `dataset=D/optimizer=O/seed=S` (hive partitioning).
    pub fn partition(&self) -> PathBuf {
        PathBuf::from(format!(
            "dataset={}/optimizer={}/seed={}",
            self.dataset.name, self.optimizer.name, self.seed
        ))
    }
}

/// One network of the random-initialisation baseline.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BaselineTask {
    /// Stable key: hash of [`config_json`](Self::config_json).
    #[serde(skip)]
    pub key: String,
    /// The data the Hessian is taken on.
    pub dataset: ResolvedDataset,
    /// The network.
    pub model: ModelSpec,
    /// Index of the network among its dataset's baseline networks, from 0.
    pub network: usize,
    /// Seed of its initial weights and start vectors (= `network`).
    pub seed: u64,
    /// Eigen settings.
    pub eigen: EigenSettings,
    /// Hessian on the first N training samples; `None` = the whole training set.
    pub hessian_samples: Option<usize>,
    /// Digest of the dataset's files (see [`RunSpec::data_digest`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_digest: Option<String>,
    /// The data's input width and classes, where known (see [`RunSpec::shape`]).
    #[serde(skip)]
    pub shape: Option<DataShape>,
}

impl BaselineTask {
    /// Canonical JSON of the task's configuration: the text its key hashes, with the
    /// network's `widths` once they are known.
    pub fn config_json(&self) -> String {
        config_json("baseline", self, self.widths())
    }

    /// The network's widths, input and classes included, once the data's shape is known.
    pub fn widths(&self) -> Option<Vec<usize>> {
        self.shape.map(|shape| self.model.widths(shape))
    }

    /// N, the number of parameters of the network, once the data's shape is known.
    pub fn parameters(&self) -> Option<u64> {
        self.shape.map(|shape| self.model.param_count(shape))
    }

    /// The text the key hashes (see [`RunSpec::key_json`]).
    fn key_json(&self) -> String {
        key_json(config_value("baseline", self))
    }

    /// Output folder relative to the sweep's output directory's `baseline/`: `dataset=D`.
    pub fn partition(&self) -> PathBuf {
        PathBuf::from(format!("dataset={}", self.dataset.name))
    }
}

/// What a task's recorded configuration (the runs table's `config_json`, written by
/// [`RunSpec::config_json`] or [`BaselineTask::config_json`]) says of its data and network:
/// how the stages after `run` learn them without loading data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedConfig {
    /// The dataset's name.
    pub dataset: String,
    /// Its files' digest, for a directory dataset whose digest keyed the task.
    pub data_digest: Option<String>,
    /// The network's widths, input and classes included; `None` in outputs written before
    /// they were recorded.
    pub widths: Option<Vec<usize>>,
}

impl RecordedConfig {
    /// Reads a recorded configuration; `None` for text that is not one.
    pub fn parse(config_json: &str) -> Option<RecordedConfig> {
        let v: serde_json::Value = serde_json::from_str(config_json).ok()?;
        Some(RecordedConfig {
            dataset: v.pointer("/dataset/name")?.as_str()?.to_string(),
            data_digest: v
                .get("data_digest")
                .and_then(|d| d.as_str())
                .map(str::to_string),
            widths: v
                .get("widths")
                .and_then(|w| serde_json::from_value(w.clone()).ok()),
        })
    }

    /// The data's input width and classes, from the recorded widths.
    pub fn shape(&self) -> Option<DataShape> {
        DataShape::of_widths(self.widths.as_deref()?)
    }
}

/// Canonical JSON of a task's configuration with the network's `widths`, if known.
fn config_json<T: Serialize>(task: &'static str, config: &T, widths: Option<Vec<usize>>) -> String {
    let mut value = config_value(task, config);
    if let (Some(widths), serde_json::Value::Object(map)) = (widths, &mut value) {
        map.insert("widths".into(), widths.into());
    }
    canonical(&value)
}

/// Canonical JSON of a task's configuration `value` without `dataset.source` when a
/// `data_digest` identifies the data.
fn key_json(mut value: serde_json::Value) -> String {
    if value.get("data_digest").is_some() {
        if let Some(serde_json::Value::Object(dataset)) = value.get_mut("dataset") {
            dataset.remove("source");
        }
    }
    canonical(&value)
}

impl ValidatedSweep {
    /// The digest that keys `dataset`, if it is read from a directory and has one.
    fn data_digest(&self, dataset: &ResolvedDataset) -> Option<String> {
        match dataset.source {
            DataSource::Directory(_) => self.data_digests.get(&dataset.name).cloned(),
            _ => None,
        }
    }

    /// Every run, datasets outermost, then optimisers, then seeds (file order within each).
    pub fn runs(&self) -> Vec<RunSpec> {
        let s = &self.resolved;
        let mut runs = Vec::with_capacity(s.datasets.len() * s.optimizers.len() * s.seeds.len());
        for dataset in &s.datasets {
            for optimizer in &s.optimizers {
                for &seed in &s.seeds {
                    let mut run = RunSpec {
                        key: String::new(),
                        dataset: dataset.clone(),
                        model: s.model.clone(),
                        steps: s.training.steps,
                        batch_size: optimizer.batch_size.unwrap_or(s.training.batch_size),
                        log_every: s.training.log_every,
                        eval_steps: self.eval_steps.clone(),
                        optimizer: optimizer.clone(),
                        seed,
                        snapshot_steps: self.snapshot_steps.clone(),
                        eigen: s.eigen_for_seed(seed),
                        hessian_samples: s.snapshots.hessian_samples,
                        store_weights: s.snapshots.store_weights,
                        statistics: SnapshotStatistics::for_run(&s.snapshots, optimizer),
                        data_digest: self.data_digest(dataset),
                        shape: self.data_shape(&dataset.name),
                    };
                    run.key = short_hash(&run.key_json());
                    runs.push(run);
                }
            }
        }
        runs
    }

    /// Every baseline network: per dataset (file order), networks `0..baseline.networks`.
    pub fn baseline_tasks(&self) -> Vec<BaselineTask> {
        let s = &self.resolved;
        let mut tasks = Vec::with_capacity(s.datasets.len() * s.baseline.networks);
        for dataset in &s.datasets {
            for network in 0..s.baseline.networks {
                let mut task = BaselineTask {
                    key: String::new(),
                    dataset: dataset.clone(),
                    model: s.model.clone(),
                    network,
                    seed: network as u64,
                    eigen: s.baseline_eigen(),
                    hessian_samples: s.snapshots.hessian_samples,
                    data_digest: self.data_digest(dataset),
                    shape: self.data_shape(&dataset.name),
                };
                task.key = short_hash(&task.key_json());
                tasks.push(task);
            }
        }
        tasks
    }
}
