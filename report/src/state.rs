//! The state of a sweep's runs as the report tells it: per run its status (done; diverged
//! at step S; failed with its error; unfinished at step S of T; not started), its final test
//! accuracy, the share of its eigenpairs that met the tolerance and the Hessian-vector
//! products its snapshots took. Every figure is drawn from the runs this module calls usable:
//! diverged and failed runs are left out of means, bands and the minima selection, and are
//! listed in the page and in the figures' captions instead of silently missing.
//!
//! Sources, in order of trust: the run directory's end markers (`_SUCCESS`, `_DIVERGED`
//! holding its step), the rows of every runs table (`runs.parquet`, `runs-shard-*.parquet`:
//! status, error, progress), the snapshot and metrics tables, and `OUT/sweep.yaml` for the
//! runs no launch has started yet.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::Path;

use eigensweep_analysis::Catalog;
use eigensweep_common::provenance::Provenance;
use eigensweep_worker::output::state::prefer;
use eigensweep_worker::output::{
    ChosenRow, MetricRow, RunDirState, RunRecord, RunsTables, TaskStatus,
};

use crate::columns::read_columns;
use crate::sweep_info::SweepInfo;
use crate::ReportError;

/// What became of one run.
#[derive(Debug, Clone, PartialEq)]
pub enum RunStatus {
    /// Trained to its last step (`_SUCCESS`).
    Done,
    /// Stopped on a non-finite loss at `step` (when known).
    Diverged {
        /// The step whose loss was not finite.
        step: Option<u64>,
    },
    /// Stopped by an error.
    Failed {
        /// The error as recorded.
        error: String,
    },
    /// Started but not finished (running now, or stopped and resumable).
    Unfinished {
        /// Last step reached (recorded progress, else the last snapshot).
        step: Option<u64>,
        /// The run's steps.
        total: Option<u64>,
        /// Whether a launch reports it running.
        running: bool,
    },
    /// In the sweep, but no launch has started it.
    NotStarted,
}

impl RunStatus {
    /// Whether the run's data enter figures (diverged and failed runs do not).
    pub fn usable(&self) -> bool {
        !matches!(self, RunStatus::Diverged { .. } | RunStatus::Failed { .. })
    }

    /// One word: done, diverged, failed, unfinished or not started.
    pub fn word(&self) -> &'static str {
        match self {
            RunStatus::Done => "done",
            RunStatus::Diverged { .. } => "diverged",
            RunStatus::Failed { .. } => "failed",
            RunStatus::Unfinished { .. } => "unfinished",
            RunStatus::NotStarted => "not started",
        }
    }

    /// A short phrase: "done", "diverged at step 4", "failed: …", "unfinished at step 250 of
    /// 1500", "not started".
    pub fn describe(&self) -> String {
        match self {
            RunStatus::Done => "done".into(),
            RunStatus::Diverged { step: Some(s) } => format!("diverged at step {s}"),
            RunStatus::Diverged { step: None } => "diverged".into(),
            RunStatus::Failed { error } => format!("failed: {}", first_line(error)),
            RunStatus::Unfinished {
                step,
                total,
                running,
            } => {
                let mut text = String::from(if *running { "running" } else { "unfinished" });
                if let Some(s) = step {
                    let _ = write!(text, " at step {s}");
                    if let Some(t) = total {
                        let _ = write!(text, " of {t}");
                    }
                }
                text
            }
            RunStatus::NotStarted => "not started".into(),
        }
    }
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or("")
}

/// One run of the sweep with what the report says of it.
#[derive(Debug, Clone, PartialEq)]
pub struct RunState {
    /// Dataset name.
    pub dataset: String,
    /// Optimiser name.
    pub optimizer: String,
    /// Seed.
    pub seed: u64,
    /// Run key, where a table or the run's rows give it.
    pub key: Option<String>,
    /// Its status.
    pub status: RunStatus,
    /// Index into the catalog's runs, if the run has snapshots.
    pub catalog_index: Option<usize>,
    /// The last evaluation with a test accuracy: (step, accuracy in [0, 1]).
    pub final_test_accuracy: Option<(u64, f64)>,
    /// Snapshots written, and the run's total where known.
    pub snapshots: (usize, Option<u64>),
    /// Eigenpairs written, and how many of them met the tolerance (residual ≤ tol·|λ|).
    pub pairs: (usize, usize),
    /// Median and maximum Hessian-vector products per snapshot.
    pub products: Option<(f64, u64)>,
    /// The (step, eigen-index) of every pair that did not meet the tolerance.
    pub unconverged: BTreeSet<(u64, u32)>,
    /// λ₁ at the run's last snapshot.
    pub last_lambda1: Option<f64>,
    /// Who ran its last attempt (the runs table's provenance columns); `None` before it
    /// starts and for outputs written before they existed.
    pub provenance: Option<Provenance>,
    /// Who ran its earlier attempts when a later one ran on another build, device or machine.
    pub earlier_provenance: Option<String>,
}

impl RunState {
    /// `dataset/optimizer/seed`.
    pub fn label(&self) -> String {
        format!("{}/{}/{}", self.dataset, self.optimizer, self.seed)
    }

    /// "0.9790 (step 100000)", or "-".
    pub fn accuracy_text(&self) -> String {
        self.final_test_accuracy
            .map(|(step, a)| format!("{a:.4} (step {step})"))
            .unwrap_or_else(|| "-".into())
    }

    /// "66 / 68" (snapshots written / the run's total), or the count alone.
    pub fn snapshots_text(&self) -> String {
        match self.snapshots {
            (n, Some(t)) => format!("{n} / {t}"),
            (n, None) => n.to_string(),
        }
    }

    /// "97.5 % (663 of 680)", or "-".
    pub fn converged_text(&self) -> String {
        match (self.converged_share(), self.pairs) {
            (Some(share), (all, ok)) => format!("{:.1} % ({ok} of {all})", 100.0 * share),
            (None, _) => "-".into(),
        }
    }

    /// "17 / 38" (median / max products per snapshot), or "-".
    pub fn products_text(&self) -> String {
        self.products
            .map(|(median, max)| format!("{median} / {max}"))
            .unwrap_or_else(|| "-".into())
    }

    /// Share of the eigenpairs that converged, if any were written.
    pub fn converged_share(&self) -> Option<f64> {
        let (all, ok) = self.pairs;
        (all > 0).then(|| ok as f64 / all as f64)
    }
}

/// The random-initialisation baseline of one dataset.
#[derive(Debug, Clone, PartialEq)]
pub struct BaselineState {
    /// Dataset name.
    pub dataset: String,
    /// Networks written.
    pub networks: usize,
    /// Networks the sweep asks for, if the sweep is known.
    pub total: Option<usize>,
}

/// Every run of the sweep (sweep order, then runs found that the sweep does not list) and
/// every dataset's baseline.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SweepState {
    /// The runs.
    pub runs: Vec<RunState>,
    /// The baselines, per dataset of the sweep (or found).
    pub baselines: Vec<BaselineState>,
}

/// The row of each run among every runs table, by the one rule of
/// [`RunsTables::best`](eigensweep_worker::output::RunsTables::best) (and of `status`); a
/// run directory that two configurations have used keeps the row the same rule prefers.
fn best_rows(out: &Path) -> BTreeMap<(String, String, u64), RunRecord> {
    let mut rows: BTreeMap<(String, String, u64), ChosenRow> = BTreeMap::new();
    for (_, row) in RunsTables::read(out).best() {
        let r = &row.record;
        if r.kind != "run" {
            continue;
        }
        let (Some(optimizer), Some(seed)) = (r.optimizer.clone(), r.seed) else {
            continue;
        };
        let id = (r.dataset.clone(), optimizer, seed);
        match rows.get(&id) {
            Some(old) if !prefer(&row, old) => {}
            _ => {
                rows.insert(id, row);
            }
        }
    }
    rows.into_iter().map(|(id, row)| (id, row.record)).collect()
}

impl SweepState {
    /// Reads the state of the sweep in `out` from its markers, runs tables and the already
    /// loaded catalog and metrics (same order as `catalog.runs`).
    pub fn load(
        out: &Path,
        sweep: Option<&SweepInfo>,
        catalog: &Catalog,
        metrics: &[Vec<MetricRow>],
    ) -> Result<Self, ReportError> {
        let rows = best_rows(out);
        // Every run the sweep lists, then the runs found on disk or in a table.
        let mut ids: Vec<(String, String, u64)> = Vec::new();
        let mut totals: BTreeMap<(String, String, u64), (u64, u64)> = BTreeMap::new();
        if let Some(s) = sweep {
            for spec in s.sweep.runs() {
                let id = (
                    spec.dataset.name.clone(),
                    spec.optimizer.name.clone(),
                    spec.seed,
                );
                let snapshots = spec
                    .snapshot_steps
                    .iter()
                    .filter(|&&t| t <= spec.steps)
                    .count() as u64;
                totals.insert(id.clone(), (spec.steps, snapshots));
                ids.push(id);
            }
        }
        let found = catalog
            .runs
            .iter()
            .map(|r| (r.dataset.clone(), r.optimizer.clone(), r.seed))
            .chain(rows.keys().cloned());
        for id in found {
            if !ids.contains(&id) {
                ids.push(id);
            }
        }

        let mut runs = Vec::with_capacity(ids.len());
        for id in ids {
            let index = catalog
                .runs
                .iter()
                .position(|r| (&r.dataset, &r.optimizer, r.seed) == (&id.0, &id.1, id.2));
            let entry = index.map(|i| &catalog.runs[i]);
            let row = rows.get(&id);
            let (steps_total, snapshots_total) = match totals.get(&id) {
                Some(&(s, n)) => (Some(s), Some(n)),
                None => (
                    row.and_then(|r| r.steps_total),
                    row.and_then(|r| r.snapshots_total),
                ),
            };
            let last_snapshot = entry.and_then(|e| e.snapshots.last().map(|s| s.step));
            let markers = entry.map(|e| RunDirState::read(&e.dirs.root));
            let status = if markers == Some(RunDirState::Done) {
                RunStatus::Done
            } else if let Some(RunDirState::Diverged(step)) = markers {
                RunStatus::Diverged { step }
            } else {
                match row.map(RunRecord::task_status) {
                    Some(Some(TaskStatus::Done)) => RunStatus::Done,
                    Some(Some(TaskStatus::Diverged)) => RunStatus::Diverged {
                        step: row.and_then(|r| r.steps_done),
                    },
                    Some(Some(TaskStatus::Failed)) => RunStatus::Failed {
                        error: row
                            .and_then(|r| r.error.clone())
                            .unwrap_or_else(|| "no error recorded".into()),
                    },
                    None if entry.is_none() => RunStatus::NotStarted,
                    Some(Some(TaskStatus::Pending))
                        if entry.is_none() && row.and_then(|r| r.steps_done).is_none() =>
                    {
                        RunStatus::NotStarted
                    }
                    status => RunStatus::Unfinished {
                        step: row.and_then(|r| r.steps_done).or(last_snapshot),
                        total: steps_total,
                        running: status == Some(Some(TaskStatus::Running)),
                    },
                }
            };
            let final_test_accuracy = index.and_then(|i| {
                metrics[i]
                    .iter()
                    .filter_map(|m| Some((m.step, m.test_accuracy?)))
                    .max_by_key(|&(s, _)| s)
            });
            let (pairs, products, unconverged) = match entry {
                Some(e) => convergence(&e.dirs.snapshots)?,
                None => ((0, 0), None, BTreeSet::new()),
            };
            runs.push(RunState {
                key: entry
                    .map(|e| e.run_key.clone())
                    .or_else(|| row.map(|r| r.key.clone())),
                dataset: id.0,
                optimizer: id.1,
                seed: id.2,
                status,
                catalog_index: index,
                final_test_accuracy,
                snapshots: (entry.map_or(0, |e| e.snapshots.len()), snapshots_total),
                pairs,
                products,
                unconverged,
                last_lambda1: entry
                    .and_then(|e| e.snapshots.last())
                    .and_then(|s| s.pairs.iter().find(|p| p.index == 1))
                    .map(|p| p.eigenvalue),
                provenance: row.and_then(RunRecord::last_attempt),
                earlier_provenance: row.and_then(|r| r.provenance.earlier.clone()),
            });
        }

        let mut baselines: Vec<BaselineState> = Vec::new();
        if let Some(s) = sweep {
            let r = s.sweep.resolved();
            for d in &r.datasets {
                if r.baseline.networks > 0 {
                    baselines.push(BaselineState {
                        dataset: d.name.clone(),
                        networks: 0,
                        total: Some(r.baseline.networks),
                    });
                }
            }
        }
        for b in &catalog.baselines {
            match baselines.iter_mut().find(|x| x.dataset == b.dataset) {
                Some(x) => x.networks = b.networks.len(),
                None => baselines.push(BaselineState {
                    dataset: b.dataset.clone(),
                    networks: b.networks.len(),
                    total: None,
                }),
            }
        }
        Ok(Self { runs, baselines })
    }

    /// The runs of one dataset.
    pub fn of_dataset<'a>(&'a self, dataset: &'a str) -> impl Iterator<Item = &'a RunState> {
        self.runs.iter().filter(move |r| r.dataset == dataset)
    }

    /// Whether the pair (step, index) of the run (dataset, optimizer, seed) met the tolerance
    /// (true where the run is unknown).
    pub fn converged(
        &self,
        dataset: &str,
        optimizer: &str,
        seed: u64,
        step: u64,
        index: u32,
    ) -> bool {
        self.find(dataset, optimizer, seed)
            .is_none_or(|r| !r.unconverged.contains(&(step, index)))
    }

    /// The state of the run (dataset, optimizer, seed), if the sweep or the output has it.
    pub fn find(&self, dataset: &str, optimizer: &str, seed: u64) -> Option<&RunState> {
        self.runs
            .iter()
            .find(|r| r.dataset == dataset && r.optimizer == optimizer && r.seed == seed)
    }

    /// Whether every run is done and every baseline complete.
    pub fn complete(&self) -> bool {
        self.runs.iter().all(|r| r.status == RunStatus::Done)
            && self
                .baselines
                .iter()
                .all(|b| b.total.is_none_or(|t| b.networks >= t))
    }

    /// What a figure of one optimiser's runs on `dataset` should say about them, or `None`
    /// when every run of it is done: left-out runs (diverged, failed), unfinished ones (drawn
    /// up to where they are) and runs not started.
    pub fn coverage(&self, dataset: &str, optimizer: &str) -> Option<String> {
        let runs: Vec<&RunState> = self
            .of_dataset(dataset)
            .filter(|r| r.optimizer == optimizer)
            .collect();
        let mut parts = Vec::new();
        let left_out: Vec<String> = runs
            .iter()
            .filter(|r| !r.status.usable())
            .map(|r| format!("seed {} ({})", r.seed, r.status.describe()))
            .collect();
        if !left_out.is_empty() {
            parts.push(format!("left out: {}", left_out.join(", ")));
        }
        let unfinished: Vec<String> = runs
            .iter()
            .filter(|r| matches!(r.status, RunStatus::Unfinished { .. }))
            .map(|r| format!("seed {} ({})", r.seed, r.status.describe()))
            .collect();
        if !unfinished.is_empty() {
            parts.push(format!(
                "unfinished, drawn as far as they are: {}",
                unfinished.join(", ")
            ));
        }
        let waiting: Vec<String> = runs
            .iter()
            .filter(|r| r.status == RunStatus::NotStarted)
            .map(|r| format!("seed {}", r.seed))
            .collect();
        if !waiting.is_empty() {
            parts.push(format!("not started: {}", waiting.join(", ")));
        }
        (!parts.is_empty()).then(|| format!("{optimizer}: {}", parts.join("; ")))
    }

    /// The optimisers of `dataset` (sweep order) that have no usable run with data: they
    /// appear in no panel, so the page says why.
    pub fn optimizers_without_data(&self, dataset: &str) -> Vec<(String, String)> {
        let mut names: Vec<String> = Vec::new();
        for r in self.of_dataset(dataset) {
            if !names.contains(&r.optimizer) {
                names.push(r.optimizer.clone());
            }
        }
        names
            .into_iter()
            .filter_map(|o| {
                let runs: Vec<&RunState> = self
                    .of_dataset(dataset)
                    .filter(|r| r.optimizer == o)
                    .collect();
                if runs
                    .iter()
                    .any(|r| r.status.usable() && r.catalog_index.is_some())
                {
                    return None;
                }
                let why = runs
                    .iter()
                    .map(|r| format!("seed {} {}", r.seed, r.status.describe()))
                    .collect::<Vec<_>>()
                    .join(", ");
                Some((o, why))
            })
            .collect()
    }
}

impl SweepState {
    /// The state as a plain-text table (one header line, one line per run, then the
    /// baselines), as `eigensweep run` prints it at the end: status, final test accuracy,
    /// snapshots, the share of eigenpairs that met the tolerance, the median and maximum
    /// Hessian-vector products per snapshot, and λ₁ of the last snapshot.
    pub fn text_table(&self) -> Vec<String> {
        let width = self
            .runs
            .iter()
            .map(|r| r.label().chars().count())
            .max()
            .unwrap_or(0)
            .max(28);
        let mut lines = vec![format!(
            "{:<width$}  {:<28} {:>16} {:>9} {:>10} {:>16} {:>13}",
            "run (dataset/optimizer/seed)",
            "status",
            "test_acc (step)",
            "snapshots",
            "converged",
            "products med/max",
            "last λ1"
        )];
        for r in &self.runs {
            let conv = r
                .converged_share()
                .map(|c| format!("{:.1} %", 100.0 * c))
                .unwrap_or_else(|| "-".into());
            let mut status = r.status.describe();
            if status.chars().count() > 28 {
                status = status.chars().take(27).collect::<String>() + "…";
            }
            let lambda1 = r
                .last_lambda1
                .map(eigensweep_common::display::number)
                .unwrap_or_else(|| "-".into());
            lines.push(format!(
                "{:<width$}  {:<28} {:>16} {:>9} {:>10} {:>16} {:>13}",
                r.label(),
                status,
                r.accuracy_text().replace(" (step ", " (").to_string(),
                r.snapshots_text().replace(" / ", "/"),
                conv,
                r.products_text().replace(" / ", "/"),
                lambda1
            ));
        }
        for b in &self.baselines {
            lines.push(match b.total {
                Some(t) => format!("baseline {}: {} of {t} networks", b.dataset, b.networks),
                None => format!("baseline {}: {} networks", b.dataset, b.networks),
            });
        }
        lines
    }
}

/// (eigenpairs, converged ones), (median, max) products per snapshot and the unconverged
/// (step, index) pairs of one run's snapshot tables.
type Convergence = ((usize, usize), Option<(f64, u64)>, BTreeSet<(u64, u32)>);

fn convergence(dir: &Path) -> Result<Convergence, ReportError> {
    let cols = read_columns(dir, &["step", "converged", "products", "index"])?;
    let pairs = cols[1].len();
    let converged = cols[1].iter().filter(|&&c| c > 0.5).count();
    let unconverged = cols[0]
        .iter()
        .zip(&cols[1])
        .zip(&cols[3])
        .filter(|((_, &c), _)| c <= 0.5)
        .map(|((&step, _), &index)| (step as u64, index as u32))
        .collect();
    let mut per_step: BTreeMap<u64, u64> = BTreeMap::new();
    for (&step, &p) in cols[0].iter().zip(&cols[2]) {
        if step.is_finite() && p.is_finite() {
            per_step.insert(step as u64, p as u64);
        }
    }
    let mut products: Vec<u64> = per_step.into_values().collect();
    products.sort_unstable();
    let summary = match products.len() {
        0 => None,
        n => {
            let median = if n % 2 == 1 {
                products[n / 2] as f64
            } else {
                (products[n / 2 - 1] + products[n / 2]) as f64 / 2.0
            };
            Some((median, products[n - 1]))
        }
    };
    Ok(((pairs, converged), summary, unconverged))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_read_as_a_reader_expects() {
        assert_eq!(RunStatus::Done.describe(), "done");
        assert_eq!(
            RunStatus::Diverged { step: Some(4) }.describe(),
            "diverged at step 4"
        );
        assert_eq!(
            RunStatus::Unfinished {
                step: Some(250),
                total: Some(1500),
                running: false
            }
            .describe(),
            "unfinished at step 250 of 1500"
        );
        assert_eq!(
            RunStatus::Failed {
                error: "out of memory\nmore".into()
            }
            .describe(),
            "failed: out of memory"
        );
        assert!(!RunStatus::Diverged { step: None }.usable());
        assert!(!RunStatus::Failed {
            error: String::new()
        }
        .usable());
        assert!(RunStatus::Unfinished {
            step: None,
            total: None,
            running: true
        }
        .usable());
    }
}
