//! Checks a [`SweepFile`] and resolves its defaults, reporting every problem at once.

use std::collections::{BTreeMap, HashMap};

use super::attribution::place;
use super::checker::Checker;
use super::error::{fmt_number, FieldError};
use super::file::{Schedule, SweepFile};
use super::optimizers::check_optimizers;
use super::overrides::Applied;
use super::resolved::{
    DataSource, EigenSettings, ExtraEigen, ResolvedDataset, ResolvedSweep, ResolvedTraining,
};
use super::schedule::schedule_steps;
use super::shape::DataShape;
use super::solve::SOLVER_GUARD;
use super::statistics::check_statistics;

/// Most points a schedule part may ask for (a `count`, or `steps / every`): a typo with extra
/// zeros should be an error, not a schedule that exhausts memory.
pub const MAX_SCHEDULE_COUNT: u64 = 10_000_000;

/// Most baseline networks per dataset (the paper uses 100; every pair is compared).
pub const MAX_BASELINE_NETWORKS: usize = 100_000;

/// Generated training samples of a synthetic dataset when `train_size` is left out.
pub const DEFAULT_SYNTHETIC_TRAIN: usize = 2_000;
/// Generated test samples of a synthetic dataset when `test_size` is left out.
pub const DEFAULT_SYNTHETIC_TEST: usize = 1_000;

/// A sweep that passed [`validate`]: resolved, with its schedules expanded. Turn it into work
/// with [`runs`](ValidatedSweep::runs) and [`baseline_tasks`](ValidatedSweep::baseline_tasks).
#[derive(Debug, Clone, PartialEq)]
pub struct ValidatedSweep {
    pub(crate) resolved: ResolvedSweep,
    pub(crate) snapshot_steps: Vec<u64>,
    pub(crate) eval_steps: Vec<u64>,
    /// Content digests of directory datasets, by dataset name (see
    /// [`set_data_digest`](ValidatedSweep::set_data_digest)).
    pub(crate) data_digests: BTreeMap<String, String>,
    /// Input widths and classes read from the datasets' files, by dataset name (see
    /// [`set_data_shape`](ValidatedSweep::set_data_shape)).
    pub(crate) data_shapes: BTreeMap<String, DataShape>,
    /// Settings that are valid but probably not what was meant (printed by every command that
    /// reads the sweep; they change nothing).
    pub(crate) warnings: Vec<FieldError>,
    /// The optimiser entries written with lists: (entry name, its variants' names).
    pub(crate) grids: Vec<(String, Vec<String>)>,
    /// What each command-line override wrote, to blame errors found later on it.
    pub(crate) applied: Vec<Applied>,
    /// The file's text, to locate errors found later (empty when built from a file tree).
    pub(crate) text: String,
}

impl ValidatedSweep {
    /// The sweep with every default filled in.
    pub fn resolved(&self) -> &ResolvedSweep {
        &self.resolved
    }

    /// The `optimizers` entries written with lists, each with the names of the variants it
    /// expands to (what `validate` and `plan` show); empty when no entry has a list.
    pub fn optimizer_grids(&self) -> &[(String, Vec<String>)] {
        &self.grids
    }

    /// Valid settings that are probably not what was meant, e.g. a snapshot step past the
    /// last training step (dropped).
    pub fn warnings(&self) -> &[FieldError] {
        &self.warnings
    }

    /// `error` (found by a later check, e.g. on the file system) attributed to the `--set` or
    /// `--out` argument that wrote its field, if one did (the message then names that
    /// argument instead of the file), else placed at its line and column in the file.
    pub fn attribute(&self, mut error: FieldError) -> FieldError {
        place(&mut error, &self.text, &self.applied);
        error
    }

    /// Keys the runs and baseline networks of the dataset `name` on `digest`, the identity of
    /// its files, instead of on its directory's path: the same files named by another path
    /// (absolute, relative, through a link) give the same keys, and other files under the
    /// same path give new ones. This crate reads no files: whoever can (the command line)
    /// computes the digest, and every command that prints or uses keys must set it.
    pub fn set_data_digest(&mut self, name: &str, digest: String) {
        self.data_digests.insert(name.to_string(), digest);
    }

    /// Gives the networks of the dataset `name` the input width and classes its files have
    /// (read by whoever can read files: the command line reads a directory's IDX headers and
    /// labels), so that [`runs`](Self::runs) and [`baseline_tasks`](Self::baseline_tasks)
    /// carry their true widths and N. Built-in sources have a shape known without reading
    /// ([`DataSource::known_shape`]); a set shape replaces it.
    ///
    /// Returns, as errors placed like [`validate`]'s, the eigen settings that ask for more
    /// eigenpairs than this network has parameters (checked here for data whose shape
    /// [`validate`] could not know).
    pub fn set_data_shape(&mut self, name: &str, shape: DataShape) -> Vec<FieldError> {
        self.data_shapes.insert(name.to_string(), shape);
        let r = &self.resolved;
        let Some(i) = r.datasets.iter().position(|d| d.name == name) else {
            return Vec::new();
        };
        let params = r.model.param_count(shape);
        let mut asked = vec![("snapshots.top_k".to_string(), r.snapshots.top_k)];
        for (j, e) in r.extra_eigen.iter().enumerate() {
            asked.push((format!("extra_eigen[{j}].top_k"), e.eigen.top_k));
        }
        if r.baseline.networks > 0 {
            asked.push(("baseline.top_k".to_string(), r.baseline.top_k));
        }
        let widths = r
            .model
            .widths(shape)
            .iter()
            .map(usize::to_string)
            .collect::<Vec<_>>()
            .join("-");
        asked
            .into_iter()
            .filter(|&(_, k)| k as u64 > params)
            .map(|(path, k)| {
                self.attribute(FieldError::new(
                    path,
                    k.to_string(),
                    format!(
                        "expected at most the {params} parameters of the network on \
                         datasets[{i}] ({name}, {widths})"
                    ),
                ))
            })
            .collect()
    }

    /// The input width and classes of the dataset `name`: as set by
    /// [`set_data_shape`](Self::set_data_shape), else as its source is known without reading
    /// any file; `None` for a directory not read (or a name not in the sweep).
    pub fn data_shape(&self, name: &str) -> Option<DataShape> {
        if let Some(shape) = self.data_shapes.get(name) {
            return Some(*shape);
        }
        self.resolved
            .datasets
            .iter()
            .find(|d| d.name == name)?
            .source
            .known_shape()
    }

    /// The snapshot steps shared by every run, sorted.
    pub fn snapshot_steps(&self) -> &[u64] {
        &self.snapshot_steps
    }

    /// The full-evaluation steps shared by every run, sorted.
    pub fn eval_steps(&self) -> &[u64] {
        &self.eval_steps
    }

    /// The resolved sweep as YAML (see [`ResolvedSweep::to_yaml`]).
    pub fn to_yaml(&self) -> String {
        self.resolved.to_yaml()
    }
}

/// Checks every rule of the sweep format and fills in the defaults.
///
/// Returns every problem found, in file order, each with the path of its field, the value
/// as written and what was expected; nothing is reported only after another is fixed.
pub fn validate(file: &SweepFile) -> Result<ValidatedSweep, Vec<FieldError>> {
    let mut c = Checker::default();
    c.name("name", &file.name);
    let output = file
        .output
        .clone()
        .unwrap_or_else(|| ["out", file.name.as_str()].iter().collect());
    if output.as_os_str().is_empty() {
        c.fail("output", "\"\"", "expected a directory path");
    }

    for (i, &w) in file.model.hidden.iter().enumerate() {
        if w == 0 {
            c.fail(
                format!("model.hidden[{i}]"),
                "0",
                "expected a layer width of at least 1",
            );
        }
    }

    let datasets = check_datasets(&mut c, file);
    // The number of parameters bounds every top_k: here that of the smallest network whose
    // data has a shape known without reading (the built-in sources); a directory's is checked
    // once its shape is read (`set_data_shape`).
    let params = datasets
        .iter()
        .filter_map(|d| d.source.known_shape())
        .map(|shape| file.model.param_count(shape))
        .min()
        .unwrap_or(u64::MAX);

    let t = &file.training;
    c.at_least("training.steps", t.steps, 1);
    c.fits_a_table("training.steps", t.steps);
    c.at_least("training.batch_size", t.batch_size as u64, 1);
    c.at_least("training.log_every", t.log_every, 1);
    let eval = match &t.eval {
        Some(eval) => {
            check_schedule(&mut c, "training.eval", eval, t.steps);
            eval.clone()
        }
        None => file.snapshots.schedule.clone(),
    };

    let optimizers = check_optimizers(&mut c, &file.optimizers, t.steps);

    c.non_empty("seeds", file.seeds.is_empty(), "at least one seed");
    c.unique("seeds", "seed", file.seeds.iter().map(u64::to_string));
    for (i, &seed) in file.seeds.iter().enumerate() {
        c.fits_a_table(&format!("seeds[{i}]"), seed);
    }

    let s = &file.snapshots;
    check_schedule(&mut c, "snapshots.schedule", &s.schedule, t.steps);
    c.eigen("snapshots", s.top_k, s.tol, s.max_products, params);
    // The smallest product budget of any seed's solves (the preconditioned solve shares it).
    let budget = file
        .extra_eigen
        .iter()
        .filter_map(|e| e.max_products)
        .chain([s.max_products])
        .min()
        .unwrap_or(s.max_products);
    check_statistics(&mut c, s, budget, params);
    if let Some(n) = s.hessian_samples {
        c.at_least("snapshots.hessian_samples", n as u64, 1);
        for (i, d) in datasets.iter().enumerate() {
            if let Some(len) = d.known_train_len().filter(|&len| n > len) {
                c.fail(
                    "snapshots.hessian_samples",
                    n.to_string(),
                    format!(
                        "expected at most the {len} training samples of datasets[{i}] ({})",
                        d.name
                    ),
                );
            }
        }
    }

    let extra_eigen = check_extra_eigen(&mut c, file, params);

    let b = &file.baseline;
    if b.networks > MAX_BASELINE_NETWORKS {
        c.fail(
            "baseline.networks",
            b.networks.to_string(),
            format!("expected at most {MAX_BASELINE_NETWORKS} networks"),
        );
    }
    if b.networks > 0 {
        c.eigen_k("baseline.top_k", b.top_k, params);
        c.tol("baseline.tol", b.tol);
        if b.top_k.saturating_add(SOLVER_GUARD) > s.max_products && b.top_k <= params as usize {
            c.fail(
                "baseline.top_k",
                b.top_k.to_string(),
                format!(
                    "expected at most snapshots.max_products − {SOLVER_GUARD} = {} (the baseline \
                     shares the runs' product budget)",
                    s.max_products.saturating_sub(SOLVER_GUARD)
                ),
            );
        }
    }

    if !c.errors.is_empty() {
        return Err(c.errors);
    }
    let resolved = ResolvedSweep {
        name: file.name.clone(),
        output,
        datasets,
        model: file.model.clone(),
        training: ResolvedTraining {
            steps: t.steps,
            batch_size: t.batch_size,
            log_every: t.log_every,
            eval,
        },
        optimizers,
        seeds: file.seeds.clone(),
        snapshots: file.snapshots.clone(),
        extra_eigen,
        baseline: file.baseline.clone(),
        overrides: Vec::new(),
        device: file.device,
    };
    let grids = file
        .optimizers
        .iter()
        .map(|entry| (entry, entry.variants()))
        .filter(|(_, variants)| variants.iter().any(|v| !v.listed.is_empty()))
        .map(|(entry, variants)| {
            let names = variants.into_iter().map(|v| v.spec.name).collect();
            (entry.name.clone(), names)
        })
        .collect();
    Ok(ValidatedSweep {
        grids,
        snapshot_steps: schedule_steps(&resolved.snapshots.schedule, t.steps),
        eval_steps: schedule_steps(&resolved.training.eval, t.steps),
        resolved,
        data_digests: BTreeMap::new(),
        data_shapes: BTreeMap::new(),
        warnings: c.warnings,
        applied: Vec::new(),
        text: String::new(),
    })
}

fn check_datasets(c: &mut Checker, file: &SweepFile) -> Vec<ResolvedDataset> {
    c.non_empty("datasets", file.datasets.is_empty(), "at least one dataset");
    c.unique(
        "datasets",
        "dataset name",
        file.datasets.iter().map(|d| d.name.clone()),
    );
    let mut resolved = Vec::with_capacity(file.datasets.len());
    for (i, d) in file.datasets.iter().enumerate() {
        let at = |field: &str| format!("datasets[{i}].{field}");
        c.name(&at("name"), &d.name);
        if d.source.trim().is_empty() {
            c.fail(
                at("source"),
                format!("{:?}", d.source),
                "expected synthetic, mnist, fashion-mnist or a directory with IDX files",
            );
        }
        let source = DataSource::parse(&d.source, d.seed);
        let synthetic = matches!(source, DataSource::Synthetic { .. });
        if let (false, Some(seed)) = (synthetic, d.seed) {
            if d.train_size.is_none() && d.test_size.is_none() {
                c.fail(
                    at("seed"),
                    seed.to_string(),
                    "a real dataset's seed draws its train_size / test_size samples; give \
                     one of them, or leave the seed out to use every sample",
                );
            }
        }
        for (field, size, known) in [
            ("train_size", d.train_size, source.known_train_len()),
            ("test_size", d.test_size, source.known_test_len()),
        ] {
            let Some(n) = size else { continue };
            c.at_least(&at(field), n as u64, 1);
            if let Some(len) = known.filter(|&len| n > len) {
                c.fail(
                    at(field),
                    n.to_string(),
                    format!("expected at most {len} (all of {source})"),
                );
            }
        }
        if let Some(norm) = d.normalize {
            // The images are normalised in f32: a value must survive that rounding, as the
            // launch will check it (`std: 1e-300` is 0 in f32).
            if !(norm.mean.is_finite() && (norm.mean as f32).is_finite()) {
                c.fail(
                    at("normalize.mean"),
                    fmt_number(norm.mean),
                    format!(
                        "expected a finite number within the f32 range (|mean| ≤ {:e}): the data are normalised in f32",
                        f32::MAX
                    ),
                );
            }
            c.positive_f32(&at("normalize.std"), norm.std);
        }
        resolved.push(ResolvedDataset {
            name: d.name.clone(),
            train_size: d
                .train_size
                .or(synthetic.then_some(DEFAULT_SYNTHETIC_TRAIN)),
            test_size: d.test_size.or(synthetic.then_some(DEFAULT_SYNTHETIC_TEST)),
            subset_seed: d.seed.filter(|_| !synthetic),
            source,
            normalize: d.normalize,
        });
    }
    resolved
}

fn check_extra_eigen(c: &mut Checker, file: &SweepFile, params: u64) -> Vec<ExtraEigen> {
    let s = &file.snapshots;
    let mut claimed: HashMap<u64, usize> = HashMap::new();
    let mut resolved = Vec::with_capacity(file.extra_eigen.len());
    for (i, e) in file.extra_eigen.iter().enumerate() {
        let at = |field: &str| format!("extra_eigen[{i}].{field}");
        c.non_empty(&at("seeds"), e.seeds.is_empty(), "at least one seed");
        for (j, seed) in e.seeds.iter().enumerate() {
            if !file.seeds.contains(seed) {
                c.fail(
                    format!("extra_eigen[{i}].seeds[{j}]"),
                    seed.to_string(),
                    "expected one of the sweep's seeds",
                );
            } else if let Some(&other) = claimed.get(seed) {
                if other != i {
                    c.fail(
                        format!("extra_eigen[{i}].seeds[{j}]"),
                        seed.to_string(),
                        format!(
                            "expected a seed without other extra settings \
                             (extra_eigen[{other}] has it)"
                        ),
                    );
                }
            } else {
                claimed.insert(*seed, i);
            }
        }
        let eigen = EigenSettings {
            top_k: e.top_k.unwrap_or(s.top_k),
            tol: e.tol.unwrap_or(s.tol),
            max_products: e.max_products.unwrap_or(s.max_products),
        };
        c.eigen(
            &format!("extra_eigen[{i}]"),
            eigen.top_k,
            eigen.tol,
            eigen.max_products,
            params,
        );
        resolved.push(ExtraEigen {
            seeds: e.seeds.clone(),
            eigen,
        });
    }
    resolved
}

fn check_schedule(c: &mut Checker, at: &str, schedule: &Schedule, total_steps: u64) {
    if *schedule == Schedule::default() {
        c.fail(
            at,
            "{}",
            "expected at least one of every, log, linear, steps",
        );
        return;
    }
    if let Some(k) = schedule.every {
        c.at_least(&format!("{at}.every"), k, 1);
        if k > 0 && total_steps / k >= MAX_SCHEDULE_COUNT {
            c.fail(
                format!("{at}.every"),
                k.to_string(),
                format!(
                    "expected a step giving fewer than {MAX_SCHEDULE_COUNT} points over \
                     {total_steps} steps"
                ),
            );
        }
    }
    for (part, count, min) in [("log", schedule.log, 1), ("linear", schedule.linear, 2)] {
        let Some(count) = count else { continue };
        let path = format!("{at}.{part}.count");
        c.at_least(&path, count.count, min);
        if count.count > MAX_SCHEDULE_COUNT {
            c.fail(
                path,
                count.count.to_string(),
                format!("expected at most {MAX_SCHEDULE_COUNT}"),
            );
        }
    }
    // An explicit step past the end is dropped, not an error: shortening a sweep with
    // `--set training.steps=…` should not require editing its step lists. But it is said.
    for (i, &step) in schedule.steps.iter().flatten().enumerate() {
        if step > total_steps {
            c.warnings.push(FieldError::new(
                format!("{at}.steps[{i}]"),
                "",
                format!(
                    "step {step} is past the last training step (training.steps = \
                     {total_steps}) and is not taken; remove it or raise training.steps"
                ),
            ));
        }
    }
    if total_steps > 0
        && c.errors_under(at) == 0
        && schedule_steps(schedule, total_steps).is_empty()
    {
        c.fail(
            at,
            "",
            format!("selects no step in [0, {total_steps}] (training.steps)"),
        );
    }
}
