//! What the report reads from an output directory: the resolved sweep ([`SweepInfo`]), the
//! network of each dataset (as the runs tables recorded it), the per-snapshot scalars (through
//! the analysis crate's catalog, which reads no eigenvectors), the metrics, the runs' state
//! ([`SweepState`]), and projected columns of the analysis tables ([`read_columns`]).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use eigensweep_analysis::catalog::RunEntry;
use eigensweep_analysis::tables::ANALYSIS_DIR;
use eigensweep_analysis::Catalog;
use eigensweep_common::sweep::{DataShape, DataSource, RecordedConfig};
use eigensweep_worker::data::read_dir_shape;
use eigensweep_worker::mlp::Architecture;
use eigensweep_worker::output::{read_metric_rows, read_table, MetricRow, Row, RunsTables};

pub use crate::columns::read_columns;
use crate::state::SweepState;
pub use crate::sweep_info::{read_out_sweep, SweepInfo, SWEEP_FILE};
use crate::ReportError;

/// Everything the figures draw from, loaded once.
pub struct Inputs {
    /// The output directory.
    pub out: PathBuf,
    /// The sweep, if `OUT/sweep.yaml` is there and valid.
    pub sweep: Option<SweepInfo>,
    /// Why the sweep could not be read, if it could not.
    pub sweep_error: Option<String>,
    /// Runs and baselines with their per-snapshot scalars.
    pub catalog: Catalog,
    /// Metric rows per run (same order as `catalog.runs`).
    pub metrics: Vec<Vec<MetricRow>>,
    /// Every run's status, accuracy and eigen-solve convergence; [`Inputs::runs`] leaves out
    /// the runs it calls unusable (diverged, failed).
    pub state: SweepState,
    /// The network's widths per dataset (see [`network_widths`]).
    pub widths: BTreeMap<String, Vec<usize>>,
}

/// The network of each dataset, input width and classes included: as the launches recorded
/// it in the runs tables (`widths` in `config_json`), the way the runs were trained. Outputs
/// written before widths were recorded get them from the sweep and the data's shape: known
/// for the built-in sources, read from a directory's IDX headers and labels (cheap) — the
/// rule `run` applies, so the same network.
pub fn network_widths(out: &Path, sweep: Option<&SweepInfo>) -> BTreeMap<String, Vec<usize>> {
    let mut widths = BTreeMap::new();
    for (_, records) in RunsTables::read(out).tables {
        for record in records {
            if let Some(RecordedConfig {
                dataset,
                widths: Some(w),
                ..
            }) = RecordedConfig::parse(&record.config_json)
            {
                widths.insert(dataset, w);
            }
        }
    }
    let Some(s) = sweep else {
        return widths;
    };
    let resolved = s.sweep.resolved();
    for d in &resolved.datasets {
        if widths.contains_key(&d.name) {
            continue;
        }
        let shape = d.source.known_shape().or_else(|| match &d.source {
            DataSource::Directory(dir) => read_dir_shape(dir).ok().map(|s| DataShape {
                inputs: s.inputs(),
                classes: s.classes.count,
            }),
            _ => None,
        });
        if let Some(shape) = shape {
            widths.insert(d.name.clone(), resolved.model.widths(shape));
        }
    }
    widths
}

impl Inputs {
    /// Loads the sweep, the catalog and the metrics of `out`.
    pub fn load(out: &Path) -> Result<Self, ReportError> {
        let (sweep, sweep_error) = match read_out_sweep(out) {
            Ok(s) => (Some(s), None),
            Err(e) => (None, Some(e.to_string())),
        };
        let catalog = Catalog::scan(out, false)?;
        let metrics = catalog
            .runs
            .iter()
            .map(|r| read_metric_rows(&r.dirs.metrics))
            .collect::<Result<Vec<_>, _>>()?;
        let state = SweepState::load(out, sweep.as_ref(), &catalog, &metrics)?;
        let widths = network_widths(out, sweep.as_ref());
        Ok(Self {
            out: out.to_path_buf(),
            sweep,
            sweep_error,
            catalog,
            metrics,
            state,
            widths,
        })
    }

    /// The datasets: in sweep order where the sweep is known, then any others found.
    pub fn datasets(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .sweep
            .iter()
            .flat_map(|s| s.sweep.resolved().datasets.iter().map(|d| d.name.clone()))
            .collect();
        for r in &self.catalog.runs {
            if !names.contains(&r.dataset) {
                names.push(r.dataset.clone());
            }
        }
        names
    }

    /// Whether the run's data may enter figures: not diverged, not failed.
    pub fn usable(&self, run: &RunEntry) -> bool {
        self.usable_seed(&run.dataset, &run.optimizer, run.seed)
    }

    /// Whether the run (dataset, optimizer, seed) may enter figures (true where unknown).
    pub fn usable_seed(&self, dataset: &str, optimizer: &str, seed: u64) -> bool {
        self.state
            .find(dataset, optimizer, seed)
            .is_none_or(|s| s.status.usable())
    }

    /// The optimisers with usable runs on `dataset`, in sweep order with the variants of one
    /// kind side by side (a sweep of `sgd`, `adam`, `sgd-momentum` draws its panels as `sgd`,
    /// `sgd-momentum`, `adam`), then any others the runs table names.
    pub fn optimizers(&self, dataset: &str) -> Vec<String> {
        let mut names = grouped_by_kind(self.sweep.iter().flat_map(|s| {
            s.sweep
                .resolved()
                .optimizers
                .iter()
                .map(|o| (o.name.clone(), o.kind()))
        }));
        for r in &self.catalog.runs {
            if !names.contains(&r.optimizer) {
                names.push(r.optimizer.clone());
            }
        }
        names.retain(|o| {
            self.catalog
                .runs
                .iter()
                .any(|r| r.dataset == dataset && &r.optimizer == o && self.usable(r))
        });
        names
    }

    /// The usable runs (with their index into `catalog.runs`) of one dataset and optimiser,
    /// by seed: diverged and failed runs are left out of every figure and of the minima
    /// selection ([`SweepState::coverage`] says which).
    pub fn runs(&self, dataset: &str, optimizer: &str) -> Vec<(usize, &RunEntry)> {
        self.catalog
            .runs
            .iter()
            .enumerate()
            .filter(|(_, r)| r.dataset == dataset && r.optimizer == optimizer && self.usable(r))
            .collect()
    }

    /// The sweep's default number of eigenpairs per snapshot (`snapshots.top_k`), or the
    /// smallest k among the runs without a sweep: the indices every run has.
    pub fn common_k(&self) -> u32 {
        match &self.sweep {
            Some(s) => s.sweep.resolved().snapshots.top_k as u32,
            None => self.catalog.runs.iter().map(|r| r.k).min().unwrap_or(1),
        }
    }

    /// The network of `dataset` (its widths as recorded, see [`network_widths`]), if known.
    pub fn architecture(&self, dataset: &str) -> Option<Architecture> {
        Architecture::new(self.widths.get(dataset)?.clone()).ok()
    }

    /// N, the number of parameters of the network of `dataset`, if known.
    pub fn parameters(&self, dataset: &str) -> Option<usize> {
        Some(self.architecture(dataset)?.num_params())
    }

    /// `OUT/analysis`.
    pub fn analysis_dir(&self) -> PathBuf {
        self.out.join(ANALYSIS_DIR)
    }

    /// The directory of one run's parts of an analysis pair table.
    pub fn pair_table_dir(&self, table: &str, run: &RunEntry) -> PathBuf {
        self.analysis_dir()
            .join(table)
            .join(&run.dataset)
            .join(&run.optimizer)
            .join(format!("seed-{}", run.seed))
    }

    /// One of the small whole-sweep analysis tables, or `None` if it was not written.
    pub fn summary_table<R: Row>(&self, file: &str) -> Result<Option<Vec<R>>, ReportError> {
        let path = self.analysis_dir().join(file);
        if !path.exists() {
            return Ok(None);
        }
        Ok(Some(read_table::<R>(&path)?))
    }
}

/// Groups values by a key and averages them: the mean over seeds of a quantity per step.
pub fn mean_by<K: Ord>(items: impl Iterator<Item = (K, f64)>) -> BTreeMap<K, (f64, f64, f64)> {
    let mut acc: BTreeMap<K, (f64, f64, f64, usize)> = BTreeMap::new();
    for (k, v) in items {
        if !v.is_finite() {
            continue;
        }
        let e = acc
            .entry(k)
            .or_insert((0.0, f64::INFINITY, f64::NEG_INFINITY, 0));
        e.0 += v;
        e.1 = e.1.min(v);
        e.2 = e.2.max(v);
        e.3 += 1;
    }
    acc.into_iter()
        .map(|(k, (sum, lo, hi, n))| (k, (sum / n as f64, lo, hi)))
        .collect()
}

/// The names in their order, stably regrouped so that those of one kind follow the first of
/// that kind; a name given twice is kept once.
fn grouped_by_kind<K: PartialEq>(named: impl Iterator<Item = (String, K)>) -> Vec<String> {
    let mut groups: Vec<(K, Vec<String>)> = Vec::new();
    for (name, kind) in named {
        if groups.iter().any(|(_, names)| names.contains(&name)) {
            continue;
        }
        match groups.iter_mut().find(|(k, _)| *k == kind) {
            Some((_, names)) => names.push(name),
            None => groups.push((kind, vec![name])),
        }
    }
    groups.into_iter().flat_map(|(_, names)| names).collect()
}

#[cfg(test)]
mod grouping_tests {
    use super::grouped_by_kind;

    /// Variants of one kind are drawn side by side, in the order the sweep gives them, each
    /// kind where its first variant stands.
    #[test]
    fn variants_of_one_kind_stand_side_by_side() {
        let named = [
            ("sgd", "sgd"),
            ("adam-lr1e-3", "adam"),
            ("sgd-momentum", "sgd"),
            ("sam", "sam"),
            ("adam-lr3e-4", "adam"),
            ("sgd", "sgd"),
        ]
        .map(|(n, k)| (n.to_string(), k));
        assert_eq!(
            grouped_by_kind(named.into_iter()),
            ["sgd", "sgd-momentum", "adam-lr1e-3", "adam-lr3e-4", "sam"]
        );
    }
}
