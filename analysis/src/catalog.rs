//! What an output directory holds, without its vectors: the runs and baseline datasets, the
//! snapshot steps and per-snapshot scalars of each, and which Parquet part holds which step.
//!
//! Reading only the scalar columns (a Parquet projection) keeps this pass cheap even at the
//! paper's scale, where the eigenvectors of one run are ~1.7 GB: the vectors are read later,
//! a tile at a time, by the worker that needs them.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use arrow_array::{Array, Float64Array, Int64Array, RecordBatch, StringArray};
use eigensweep_worker::output::paths::{BASELINE_DIR, RUNS_DIR};
use eigensweep_worker::output::{list_parts, RunDirState, RunDirs, TableFile};

use crate::AnalysisError;

/// The scalars of one eigenpair at one snapshot (or of one baseline network).
#[derive(Debug, Clone, PartialEq)]
pub struct PairMeta {
    /// 1-based eigen-index.
    pub index: u32,
    /// λ.
    pub eigenvalue: f64,
    /// ‖Hv − λv‖.
    pub residual: f64,
    /// Σ v_j⁴.
    pub ipr: f64,
    /// Mini-batch gradient alignment (NaN where undefined; baseline: NaN).
    pub grad_alignment: f64,
    /// Update alignment (NaN where undefined; baseline: NaN).
    pub update_alignment: f64,
    /// Full-batch gradient alignment (baseline: NaN).
    pub full_grad_alignment: f64,
}

/// One snapshot (or baseline network) and its eigenpairs, sorted by index.
#[derive(Debug, Clone, PartialEq)]
pub struct SnapshotMeta {
    /// Training step (baseline: network number).
    pub step: u64,
    /// The eigenpairs present.
    pub pairs: Vec<PairMeta>,
    /// Whether θ was stored at this step.
    pub has_theta: bool,
}

/// A Parquet part and the steps (or networks) it holds.
#[derive(Debug, Clone, PartialEq)]
pub struct PartSteps {
    /// The part file.
    pub path: PathBuf,
    /// Its steps.
    pub steps: BTreeSet<u64>,
}

/// One training run found under `OUT/runs`.
#[derive(Debug, Clone, PartialEq)]
pub struct RunEntry {
    /// Key of the run (from its rows).
    pub run_key: String,
    /// Dataset (from the directory name).
    pub dataset: String,
    /// Optimiser (from the directory name).
    pub optimizer: String,
    /// Seed (from the directory name).
    pub seed: u64,
    /// The run's table directories.
    pub dirs: RunDirs,
    /// Whether the run is done ([`RunDirState::Done`]: `_SUCCESS`, and no continuation under
    /// way).
    pub finished: bool,
    /// Whether it diverged ([`RunDirState::Diverged`]): the run stopped on a non-finite loss. Its pairs are
    /// analysed (up to the divergence) but it is left out of the summaries over seeds.
    pub diverged: bool,
    /// Snapshots sorted by step.
    pub snapshots: Vec<SnapshotMeta>,
    /// Largest eigen-index of the run (rows per snapshot in a tile).
    pub k: u32,
    /// Snapshot parts and their steps.
    pub snapshot_parts: Vec<PartSteps>,
    /// Weight parts and their steps.
    pub weight_parts: Vec<PartSteps>,
    /// Steps at which θ was stored.
    pub theta_steps: BTreeSet<u64>,
}

/// The random-init networks of one dataset under `OUT/baseline`.
#[derive(Debug, Clone, PartialEq)]
pub struct BaselineEntry {
    /// Dataset name.
    pub dataset: String,
    /// Directory `OUT/baseline/dataset=D`.
    pub dir: PathBuf,
    /// Networks sorted by number (`step` holds the network number).
    pub networks: Vec<SnapshotMeta>,
    /// Largest eigen-index.
    pub k: u32,
    /// Parts and their network numbers.
    pub parts: Vec<PartSteps>,
}

/// Everything the analysis will look at.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Catalog {
    /// Runs with at least one snapshot, sorted by (dataset, optimizer, seed).
    pub runs: Vec<RunEntry>,
    /// Baselines with at least one network, sorted by dataset.
    pub baselines: Vec<BaselineEntry>,
}

impl Catalog {
    /// Scans `out`. With `only_finished`, runs without `_SUCCESS` are left out.
    pub fn scan(out: &Path, only_finished: bool) -> Result<Self, AnalysisError> {
        if !out.is_dir() {
            return Err(AnalysisError::NotAnOutput {
                path: out.to_path_buf(),
                reason: "no such directory".into(),
            });
        }
        let runs_root = out.join(RUNS_DIR);
        let baseline_root = out.join(BASELINE_DIR);
        if !runs_root.is_dir() && !baseline_root.is_dir() {
            return Err(AnalysisError::NotAnOutput {
                path: out.to_path_buf(),
                reason: format!("neither {RUNS_DIR}/ nor {BASELINE_DIR}/ is there"),
            });
        }
        let mut catalog = Catalog::default();
        for (dataset, d_dir) in partitions(&runs_root, "dataset")? {
            for (optimizer, o_dir) in partitions(&d_dir, "optimizer")? {
                for (seed, s_dir) in partitions(&o_dir, "seed")? {
                    let seed: u64 = seed.parse().map_err(|_| {
                        AnalysisError::data(&s_dir, format!("seed {seed:?} is not a number"))
                    })?;
                    let dirs = RunDirs::new(out, &dataset, &optimizer, seed)?;
                    // The worker's one reading of a run directory's markers: a run being
                    // continued (`_EXTENDING`) is unfinished whatever marker is still there.
                    let state = RunDirState::read(&dirs.root);
                    if only_finished && state != RunDirState::Done {
                        continue;
                    }
                    if let Some(run) =
                        read_run(dataset.clone(), optimizer.clone(), seed, dirs, state)?
                    {
                        catalog.runs.push(run);
                    }
                }
            }
        }
        for (dataset, dir) in partitions(&baseline_root, "dataset")? {
            let (networks, parts) = read_scalars(&dir, ScalarKind::Baseline)?;
            if networks.is_empty() {
                continue;
            }
            let k = max_index(&networks);
            catalog.baselines.push(BaselineEntry {
                dataset,
                dir,
                networks,
                k,
                parts,
            });
        }
        Ok(catalog)
    }
}

fn max_index(snapshots: &[SnapshotMeta]) -> u32 {
    snapshots
        .iter()
        .flat_map(|s| s.pairs.iter().map(|p| p.index))
        .max()
        .unwrap_or(0)
}

/// The `name=value` sub-directories of `dir`, sorted by value; none if `dir` is missing.
fn partitions(dir: &Path, name: &str) -> Result<Vec<(String, PathBuf)>, AnalysisError> {
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(AnalysisError::io("reading directory", dir, e)),
    };
    let prefix = format!("{name}=");
    let mut found = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| AnalysisError::io("reading directory", dir, e))?;
        let file_name = entry.file_name();
        let Some(value) = file_name.to_str().and_then(|n| n.strip_prefix(&prefix)) else {
            continue;
        };
        if entry.path().is_dir() {
            found.push((value.to_string(), entry.path()));
        }
    }
    found.sort();
    Ok(found)
}

fn read_run(
    dataset: String,
    optimizer: String,
    seed: u64,
    dirs: RunDirs,
    state: RunDirState,
) -> Result<Option<RunEntry>, AnalysisError> {
    let (mut snapshots, snapshot_parts) = read_scalars(&dirs.snapshots, ScalarKind::Snapshots)?;
    if snapshots.is_empty() {
        return Ok(None);
    }
    let keys = read_keys(&snapshot_parts, "run_key")?;
    if keys.len() != 1 {
        return Err(AnalysisError::data(
            &dirs.snapshots,
            format!(
                "holds rows of {} run keys ({keys:?}); expected one",
                keys.len()
            ),
        ));
    }
    let run_key = keys.into_iter().next().unwrap_or_default();
    let (weights, weight_parts) = read_scalars(&dirs.weights, ScalarKind::Weights)?;
    let theta_steps: BTreeSet<u64> = weights.iter().map(|w| w.step).collect();
    for s in &mut snapshots {
        s.has_theta = theta_steps.contains(&s.step);
    }
    let k = max_index(&snapshots);
    Ok(Some(RunEntry {
        run_key,
        dataset,
        optimizer,
        seed,
        dirs,
        finished: state == RunDirState::Done,
        diverged: matches!(state, RunDirState::Diverged(_)),
        snapshots,
        k,
        snapshot_parts,
        weight_parts,
        theta_steps,
    }))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum ScalarKind {
    Snapshots,
    Baseline,
    Weights,
}

impl ScalarKind {
    fn step_column(self) -> &'static str {
        match self {
            ScalarKind::Baseline => "network",
            _ => "step",
        }
    }

    fn columns(self) -> &'static [&'static str] {
        match self {
            ScalarKind::Snapshots => &[
                "step",
                "index",
                "eigenvalue",
                "residual",
                "ipr",
                "grad_alignment",
                "update_alignment",
                "full_grad_alignment",
            ],
            ScalarKind::Baseline => &["network", "index", "eigenvalue", "residual", "ipr"],
            ScalarKind::Weights => &["step"],
        }
    }
}

/// Reads `columns` of one part (a projection: other columns are not decoded), in the current
/// layout whatever the part's format version (a format-1 part's unsigned integers come as
/// `Int64`; see `eigensweep_worker::output::format`).
pub(crate) fn read_columns(
    path: &Path,
    columns: &[&str],
) -> Result<Vec<RecordBatch>, AnalysisError> {
    Ok(TableFile::open(path)?.read(Some(columns))?)
}

fn read_scalars(
    dir: &Path,
    kind: ScalarKind,
) -> Result<(Vec<SnapshotMeta>, Vec<PartSteps>), AnalysisError> {
    let mut by_step: BTreeMap<u64, Vec<PairMeta>> = BTreeMap::new();
    let mut parts = Vec::new();
    for (_, path) in list_parts(dir)? {
        let mut steps = BTreeSet::new();
        for batch in read_columns(&path, kind.columns())? {
            let step: Vec<u64> = int_column(&batch, &path, kind.step_column())?;
            if kind == ScalarKind::Weights {
                for s in step {
                    steps.insert(s);
                    by_step.entry(s).or_default();
                }
                continue;
            }
            let index: Vec<u32> = int_column(&batch, &path, "index")?;
            let f = |name| -> Result<Option<&Float64Array>, AnalysisError> {
                if kind.columns().contains(&name) {
                    column::<Float64Array>(&batch, &path, name).map(Some)
                } else {
                    Ok(None)
                }
            };
            let (eigenvalue, residual, ipr) = (f("eigenvalue")?, f("residual")?, f("ipr")?);
            let (grad, update, full) = (
                f("grad_alignment")?,
                f("update_alignment")?,
                f("full_grad_alignment")?,
            );
            let get = |a: Option<&Float64Array>, i: usize| a.map_or(f64::NAN, |a| a.value(i));
            for (i, &s) in step.iter().enumerate() {
                steps.insert(s);
                let pairs = by_step.entry(s).or_default();
                let idx = index[i];
                if pairs.iter().any(|p| p.index == idx) {
                    return Err(AnalysisError::data(
                        &path,
                        format!("step {s} index {idx} appears twice"),
                    ));
                }
                pairs.push(PairMeta {
                    index: idx,
                    eigenvalue: get(eigenvalue, i),
                    residual: get(residual, i),
                    ipr: get(ipr, i),
                    grad_alignment: get(grad, i),
                    update_alignment: get(update, i),
                    full_grad_alignment: get(full, i),
                });
            }
        }
        parts.push(PartSteps { path, steps });
    }
    let snapshots = by_step
        .into_iter()
        .map(|(step, mut pairs)| {
            pairs.sort_by_key(|p| p.index);
            SnapshotMeta {
                step,
                pairs,
                has_theta: false,
            }
        })
        .collect();
    Ok((snapshots, parts))
}

fn read_keys(parts: &[PartSteps], name: &str) -> Result<BTreeSet<String>, AnalysisError> {
    let mut keys = BTreeSet::new();
    for part in parts {
        for batch in read_columns(&part.path, &[name])? {
            let a = column::<StringArray>(&batch, &part.path, name)?;
            keys.extend(a.iter().flatten().map(str::to_string));
        }
    }
    Ok(keys)
}

/// An integer column (stored as `Int64`) as the Rust type `T` (`u64`, `u32`); a null, a
/// negative or a too large value is an error naming the file and the column.
pub(crate) fn int_column<T: TryFrom<i64>>(
    batch: &RecordBatch,
    path: &Path,
    name: &str,
) -> Result<Vec<T>, AnalysisError> {
    column::<Int64Array>(batch, path, name)?
        .values()
        .iter()
        .map(|&v| {
            T::try_from(v).map_err(|_| {
                AnalysisError::data(path, format!("column `{name}` holds {v}, out of range"))
            })
        })
        .collect()
}

pub(crate) fn column<'a, T: Array + 'static>(
    batch: &'a RecordBatch,
    path: &Path,
    name: &str,
) -> Result<&'a T, AnalysisError> {
    let c = batch
        .column_by_name(name)
        .ok_or_else(|| AnalysisError::data(path, format!("missing column `{name}`")))?;
    let typed = c.as_any().downcast_ref::<T>().ok_or_else(|| {
        AnalysisError::data(path, format!("column `{name}` has type {}", c.data_type()))
    })?;
    if typed.null_count() > 0 {
        return Err(AnalysisError::data(
            path,
            format!("column `{name}` has nulls"),
        ));
    }
    Ok(typed)
}
