//! Reading a sweep and settling what a launch has to do: the task list, the datasets, the
//! device, the fused ensembles. What the output directory must hold before the launch writes
//! is checked in `output_checks.rs`; its starting runs table is made in `runs_tables.rs`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use eigensweep_common::device::DeviceRequest;
use eigensweep_common::exit_codes;
use eigensweep_common::sweep::plan::{estimate_baseline, estimate_run};
use eigensweep_common::sweep::{
    BaselineTask, DataShape, DataSource, ResolvedDataset, RunSpec, ValidatedSweep,
};
use eigensweep_worker::data::{load_cached, load_dir, synthetic, DatasetKind, TrainTest};
use eigensweep_worker::output::runs_table_path;

use crate::cli::{FuseMode, RunArgs};
use crate::failure::{Failure, WithExitCode};
use crate::output_lock::{self, OutputLock, Scope};

/// One unit of work.
pub(super) enum Task {
    Run(RunSpec),
    Baseline(BaselineTask),
}

impl Task {
    /// The key of its row in the runs table.
    pub(super) fn key(&self) -> &str {
        match self {
            Task::Run(s) => &s.key,
            Task::Baseline(t) => &t.key,
        }
    }

    /// `dataset/optimizer/seed` or `baseline dataset/network`, for people.
    pub(super) fn label(&self) -> String {
        match self {
            Task::Run(s) => format!("{}/{}/{}", s.dataset.name, s.optimizer.name, s.seed),
            Task::Baseline(t) => format!("baseline {}/{}", t.dataset.name, t.network),
        }
    }

    /// Relative cost (floating-point work, roughly), for longest-first dispatch and the ETA:
    /// Hessian-vector products × samples × parameters, plus training.
    pub(super) fn cost(&self, datasets: &BTreeMap<String, Arc<TrainTest>>) -> f64 {
        let samples = |name: &str, hessian: Option<usize>| {
            let n = datasets.get(name).map_or(1, |d| d.train.len);
            hessian.unwrap_or(n).min(n).max(1) as f64
        };
        match self {
            Task::Run(s) => run_cost(s, samples(&s.dataset.name, s.hessian_samples)),
            Task::Baseline(t) => baseline_cost(t, samples(&t.dataset.name, t.hessian_samples)),
        }
    }
}

/// N for the cost estimates: the network's on its data. Where the data's shape is unknown
/// (`status` on an output whose runs table predates recorded widths) it counts as 1: every
/// term but the constant scales with N, so the tasks of one dataset still weigh right
/// against each other.
fn cost_parameters(parameters: Option<u64>) -> f64 {
    parameters.unwrap_or(1) as f64
}

/// [`Task::cost`] of a run whose Hessian is taken on `samples` samples.
pub(crate) fn run_cost(s: &RunSpec, samples: f64) -> f64 {
    let params = cost_parameters(s.parameters());
    let hvp = estimate_run(s).products as f64 * samples * params * 4.0;
    let train = s.steps as f64 * s.batch_size as f64 * params * 6.0;
    hvp + train + 1.0
}

/// [`Task::cost`] of a baseline network whose Hessian is taken on `samples` samples.
pub(crate) fn baseline_cost(t: &BaselineTask, samples: f64) -> f64 {
    estimate_baseline(t).products as f64 * samples * cost_parameters(t.parameters()) * 4.0 + 1.0
}

/// Everything every process of a launch knows before work starts.
pub(super) struct Prepared {
    /// The validated sweep (with overrides applied).
    pub sweep: ValidatedSweep,
    /// The sweep's name.
    pub name: String,
    /// The output directory.
    pub out: PathBuf,
    /// This launch's tasks (its shard): runs first, then baseline networks.
    pub tasks: Vec<Task>,
    /// Runs among `tasks`.
    pub runs: usize,
    /// Every dataset of the sweep, loaded once.
    pub datasets: BTreeMap<String, Arc<TrainTest>>,
    /// Where the runs table of this launch lives.
    pub table_path: PathBuf,
    /// `--shard I/K` as (I, K); `None` for a whole-sweep launch.
    pub shard: Option<(usize, usize)>,
    /// Runs (indices into `tasks`) that train as one fused ensemble, each list led by its
    /// first index: the unit of work the dispatch hands out for all of them.
    pub ensembles: Vec<Vec<usize>>,
    /// Where this launch's tasks compute (checked usable at start).
    pub device: DeviceRequest,
    /// `--extend`: continue the output's finished runs of another step count as this sweep's.
    pub extend: bool,
    /// This launch's hold on the output (or its shard) while it lives; `None` in the processes
    /// that do not own the launch (MPI ranks other than 0) and with `--no-lock`.
    pub _lock: Option<OutputLock>,
}

/// Parses `--shard I/K` (0 ≤ I < K).
fn parse_shard(text: &str) -> Result<(usize, usize), Failure> {
    let parsed = text.split_once('/').and_then(|(i, k)| {
        Some((
            i.trim().parse::<usize>().ok()?,
            k.trim().parse::<usize>().ok()?,
        ))
    });
    match parsed {
        Some((i, k)) if k > 0 && i < k => Ok((i, k)),
        _ => Err(Failure {
            code: exit_codes::USAGE,
            error: anyhow::anyhow!("--shard {text}: expected I/K with 0 ≤ I < K, e.g. 0/4"),
        }),
    }
}

/// Checks the options, reads the sweep, makes sure the output directory is writable and loads
/// the datasets. Every process of a launch does this; nothing here writes outputs. The
/// process that owns the launch (`owner`: the only one, or MPI rank 0) also takes the output's
/// lock (`OUT/.eigensweep-lock*`, see `output_lock.rs`), before the datasets load when the
/// output exists, so that a second launch is refused at once.
pub(super) fn prepare(args: &RunArgs, owner: bool) -> Result<Prepared, Failure> {
    let shard = args.shard.as_deref().map(parse_shard).transpose()?;
    crate::threads::check_parallelism(args.jobs, args.threads, args.threads_per_run)?;
    let sweep = crate::sweep_cmd::load(&args.sweep)?;
    let resolved = sweep.resolved();
    // The device is checked before any data loads or the output is touched: a GPU request on
    // a machine (or build) without one is refused at once, never run on the CPU.
    let device = check_device(args.device, resolved.device, &args.sweep.file)?;
    let out = resolved.output.clone();
    let take_lock = || -> Result<Option<output_lock::OutputLock>, Failure> {
        if !owner {
            Ok(None)
        } else if args.no_lock {
            crate::console::note!(
                "warning: --no-lock: nothing stops another launch from using {} at the same time",
                out.display()
            );
            Ok(None)
        } else {
            let scope = match shard {
                None => Scope::Sweep,
                Some((index, count)) => Scope::Shard { index, count },
            };
            Ok(Some(output_lock::acquire(&out, scope)?))
        }
    };
    // An existing output may have an owner: ask before loading any data, so that a second
    // launch is refused at once. A new one cannot, and is created only once the data load, so
    // that a launch that cannot read a dataset leaves no output directory behind.
    let existed = out.is_dir();
    if !existed && out.exists() {
        // A file (often the sweep file itself, typed after --out): refused before any data
        // load, naming it as a file rather than failing to create a directory over it.
        return Err(Failure {
            code: exit_codes::INPUT,
            error: anyhow::anyhow!(
                "{} is a file, not a directory: the output (`--out`, or the sweep's `output`) \
                 is the directory the runs write",
                out.display()
            ),
        });
    }
    let mut lock = if existed { take_lock()? } else { None };
    let mut datasets = BTreeMap::new();
    for d in &resolved.datasets {
        let data = load_dataset(d)?;
        check_loaded_shape(&sweep, d, &data)?;
        datasets.insert(d.name.clone(), Arc::new(data));
    }
    std::fs::create_dir_all(&out).exit_code(
        exit_codes::OUTPUT,
        format!("creating output directory {}", out.display()),
    )?;
    // One probe name per process: ranks of one job probe the same shared directory at once.
    let probe = out.join(format!(".eigensweep-write-test-{}", std::process::id()));
    std::fs::write(&probe, b"").exit_code(
        exit_codes::OUTPUT,
        format!("output directory {} is not writable", out.display()),
    )?;
    let _ = std::fs::remove_file(&probe);
    if !existed {
        lock = take_lock()?;
    }

    // Shards split the task list (runs first, then baseline networks) round-robin.
    let in_shard = |i: usize| shard.is_none_or(|(s, k)| i % k == s);
    let all_runs = sweep.runs();
    let run_count = all_runs.len();
    let mut tasks: Vec<Task> = all_runs
        .into_iter()
        .enumerate()
        .filter(|(i, _)| in_shard(*i))
        .map(|(_, r)| Task::Run(r))
        .collect();
    let runs = tasks.len();
    tasks.extend(
        sweep
            .baseline_tasks()
            .into_iter()
            .enumerate()
            .filter(|(i, _)| in_shard(run_count + i))
            .map(|(_, t)| Task::Baseline(t)),
    );

    // Shards run as separate jobs: each keeps its own runs table (read them all with
    // read_parquet('OUT/runs*.parquet')).
    let table_path = match shard {
        None => runs_table_path(&out),
        Some((i, k)) => out.join(format!("runs-shard-{i}-of-{k}.parquet")),
    };
    let ensembles = ensembles(&tasks, args.fuse, device);
    Ok(Prepared {
        name: resolved.name.clone(),
        sweep,
        out,
        tasks,
        runs,
        datasets,
        ensembles,
        table_path,
        shard,
        device,
        extend: args.extend,
        _lock: lock,
    })
}

/// At most this many runs in one fused ensemble: 64 runs of the paper's network are
/// 64 × 89,610 parameters and 64 mini-batches per step (issue 24's largest measured size);
/// more fusible runs form further ensembles.
pub(crate) const MAX_ENSEMBLE: usize = 64;

/// The fused ensembles of this launch's runs (see [`Prepared::ensembles`]): with `--fuse on`,
/// or `auto` on a GPU, runs of one dataset, hidden widths and batch size, in task order,
/// at most [`MAX_ENSEMBLE`] each; none of one run.
fn ensembles(tasks: &[Task], fuse: FuseMode, device: DeviceRequest) -> Vec<Vec<usize>> {
    let fused = match fuse {
        FuseMode::On => true,
        FuseMode::Off => false,
        FuseMode::Auto => device.is_cuda(),
    };
    if !fused {
        return Vec::new();
    }
    let mut groups: BTreeMap<(String, Vec<usize>, usize), Vec<usize>> = BTreeMap::new();
    for (i, task) in tasks.iter().enumerate() {
        if let Task::Run(spec) = task {
            groups
                .entry((
                    spec.dataset.name.clone(),
                    spec.model.hidden.clone(),
                    spec.batch_size,
                ))
                .or_default()
                .push(i);
        }
    }
    groups
        .into_values()
        .flat_map(|g| {
            g.chunks(MAX_ENSEMBLE)
                .filter(|c| c.len() > 1)
                .map(<[usize]>::to_vec)
                .collect::<Vec<_>>()
        })
        .collect()
}

impl Prepared {
    /// The ensemble task `index` leads (its members, itself first), if it leads one.
    pub(super) fn ensemble_led_by(&self, index: usize) -> Option<&[usize]> {
        self.ensembles
            .iter()
            .find(|e| e[0] == index)
            .map(Vec::as_slice)
    }

    /// Whether task `index` is a member of an ensemble that another task leads (the dispatch
    /// does not hand it out by itself).
    pub(super) fn follows_in_an_ensemble(&self, index: usize) -> bool {
        self.ensembles
            .iter()
            .any(|e| e[0] != index && e.contains(&index))
    }
}

/// The launch's device: `--device` (or `EIGENSWEEP_DEVICE`), else the sweep file's `device`,
/// else the CPU. A CUDA request must be satisfiable on this machine: the binary has CUDA, the
/// driver sees a GPU, an explicit ordinal exists. Exit 2 (`--device`) or 3 (the sweep file)
/// otherwise, naming where the request came from.
pub(crate) fn check_device(
    flag: Option<DeviceRequest>,
    field: Option<DeviceRequest>,
    file: &std::path::Path,
) -> Result<DeviceRequest, Failure> {
    let (request, origin, code) = match (flag, field) {
        (Some(d), _) => (d, format!("--device {d}"), exit_codes::USAGE),
        (None, Some(d)) => (
            d,
            format!("{}: device: {d}", file.display()),
            exit_codes::INPUT,
        ),
        (None, None) => return Ok(DeviceRequest::Cpu),
    };
    if !request.is_cuda() {
        return Ok(request);
    }
    let visible = eigensweep_worker::device::visible_gpus().map_err(|e| Failure {
        code,
        error: anyhow::anyhow!("{origin}: {e}"),
    })?;
    if let DeviceRequest::Cuda(Some(n)) = request {
        if n >= visible {
            return Err(Failure {
                code,
                error: anyhow::anyhow!(
                    "{origin}: GPU ordinal {n} does not exist: {visible} GPU(s) visible (cuda:0 … cuda:{}; CUDA_VISIBLE_DEVICES={})",
                    visible - 1,
                    std::env::var("CUDA_VISIBLE_DEVICES").unwrap_or_else(|_| "(unset)".into())
                ),
            });
        }
    }
    Ok(request)
}

/// The networks' widths were set from the dataset's headers and labels when the sweep was
/// read, and are what the runs table records: the data loaded since must have that shape (a
/// file replaced in between would otherwise train a network other than the one recorded).
fn check_loaded_shape(
    sweep: &ValidatedSweep,
    d: &ResolvedDataset,
    data: &TrainTest,
) -> Result<(), Failure> {
    let loaded = DataShape {
        inputs: data.train.dim,
        classes: data.train.classes,
    };
    match sweep.data_shape(&d.name) {
        Some(read) if read != loaded => Err(Failure {
            code: exit_codes::INPUT,
            error: anyhow::anyhow!(
                "dataset `{}`: its files changed while the sweep started: {} inputs and {} \
                 classes when first read, {} and {} when loaded; run again",
                d.name,
                read.inputs,
                read.classes,
                loaded.inputs,
                loaded.classes
            ),
        }),
        _ => Ok(()),
    }
}

/// Loads a dataset as the sweep describes it (subsets and normalisation applied).
pub(crate) fn load_dataset(d: &ResolvedDataset) -> Result<TrainTest, Failure> {
    let ctx = || format!("dataset `{}`", d.name);
    let mut data = match &d.source {
        DataSource::Synthetic { seed } => synthetic(
            d.train_size.unwrap_or(2_000),
            d.test_size.unwrap_or(1_000),
            *seed,
        ),
        DataSource::Mnist | DataSource::FashionMnist => {
            let kind = if d.source == DataSource::Mnist {
                DatasetKind::Mnist
            } else {
                DatasetKind::FashionMnist
            };
            load_cached(kind).exit_code(exit_codes::INPUT, ctx())?
        }
        DataSource::Directory(dir) => load_dir(dir).exit_code(exit_codes::INPUT, ctx())?,
    };
    if !matches!(d.source, DataSource::Synthetic { .. }) {
        // The first N, or N drawn by the dataset's seed (train and test on their own streams).
        for (field, set, size, stream) in [
            ("train_size", &mut data.train, d.train_size, 0),
            ("test_size", &mut data.test, d.test_size, 1),
        ] {
            let Some(n) = size else { continue };
            let chosen = match d.subset_seed {
                Some(seed) => set.sample(n, seed, stream),
                None => set.subset(n),
            };
            *set = chosen.exit_code(exit_codes::INPUT, format!("{}: {field}", ctx()))?;
        }
    }
    if let Some(n) = &d.normalize {
        data.train
            .normalize(n.mean as f32, n.std as f32)
            .exit_code(exit_codes::INPUT, format!("{}: normalize", ctx()))?;
        data.test
            .normalize(n.mean as f32, n.std as f32)
            .exit_code(exit_codes::INPUT, format!("{}: normalize", ctx()))?;
    }
    Ok(data)
}

impl Prepared {
    /// Writes the resolved sweep beside its outputs (`OUT/sweep.yaml`), atomically.
    pub(super) fn write_sweep_file(&self) -> Result<(), Failure> {
        let yaml_path = self.out.join("sweep.yaml");
        let yaml = self.sweep.to_yaml();
        // Shards of one sweep launch side by side and write the same file: each through its
        // own temporary name, and not at all when it already holds this text.
        if std::fs::read_to_string(&yaml_path).is_ok_and(|old| old == yaml) {
            return Ok(());
        }
        let tmp = self
            .out
            .join(format!(".sweep.yaml.{}.tmp", std::process::id()));
        let written = std::fs::write(&tmp, yaml)
            .exit_code(exit_codes::OUTPUT, format!("writing {}", tmp.display()))
            .and_then(|()| {
                std::fs::rename(&tmp, &yaml_path).exit_code(
                    exit_codes::OUTPUT,
                    format!("writing {}", yaml_path.display()),
                )
            });
        if written.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        written
    }
}
