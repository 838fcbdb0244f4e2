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

use std::path::PathBuf;

use serde::Serialize;

use super::file::ModelSpec;
use super::key::{canonical, canonical_config_json, config_value, short_hash};
use super::resolved::{DataSource, EigenSettings, NamedOptimizer, ResolvedDataset};
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
    /// Digest of the dataset's files, where it is read from a directory and the digest was
    /// set: then the key depends on it instead of on the directory's path.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_digest: Option<String>,
}

impl RunSpec {
    /// Canonical JSON of the run's configuration, the text its key hashes (for the runs
    /// table's config column).
    pub fn config_json(&self) -> String {
        canonical_config_json("run", self)
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
}

impl BaselineTask {
    /// Canonical JSON of the task's configuration, the text its key hashes.
    pub fn config_json(&self) -> String {
        canonical_config_json("baseline", self)
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
                        batch_size: s.training.batch_size,
                        log_every: s.training.log_every,
                        eval_steps: self.eval_steps.clone(),
                        optimizer: optimizer.clone(),
                        seed,
                        snapshot_steps: self.snapshot_steps.clone(),
                        eigen: s.eigen_for_seed(seed),
                        hessian_samples: s.snapshots.hessian_samples,
                        store_weights: s.snapshots.store_weights,
                        data_digest: self.data_digest(dataset),
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
                };
                task.key = short_hash(&task.key_json());
                tasks.push(task);
            }
        }
        tasks
    }
}
