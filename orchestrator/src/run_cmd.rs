//! `eigensweep run SWEEP.yaml`: every run and baseline network of a sweep on this machine,
//! in parallel, resumable, writing the hive-partitioned Parquet dataset.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use eigensweep_common::exit_codes;
use eigensweep_common::sweep::{
    BaselineTask, BiasInit as SpecBias, DataSource, OptimizerConfig as SpecOptimizer,
    ResolvedDataset, RunSpec,
};
use eigensweep_worker::data::{cached_dataset_dir, load_dir, synthetic, DatasetKind, TrainTest};
use eigensweep_worker::mlp::{Architecture, BiasInit, HessianOptions};
use eigensweep_worker::optim::{AdamConfig, OptimizerConfig, SamConfig, SgdConfig};
use eigensweep_worker::output::{
    baseline_dir, list_parts, read_run_records, read_table, run_dir, runs_table_path,
    write_table_atomically, BaselineRow, RunRecord,
};
use eigensweep_worker::run::{
    execute, execute_baseline, BaselinePlan, Checkpoint, RunPlan, RunStatus, StageSeconds,
};
use eigensweep_worker::snapshot::SnapshotSettings;
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

use crate::cli::RunArgs;
use crate::failure::{Failure, WithExitCode};

/// One unit of work.
enum Task {
    Run(RunSpec),
    Baseline(BaselineTask),
}

fn bias(b: SpecBias) -> BiasInit {
    match b {
        SpecBias::Zero => BiasInit::Zero,
        SpecBias::Pytorch => BiasInit::PyTorchUniform,
    }
}

fn optimizer(o: &SpecOptimizer) -> OptimizerConfig {
    match *o {
        SpecOptimizer::Sgd { lr } => OptimizerConfig::Sgd(SgdConfig { lr }),
        SpecOptimizer::Adam {
            lr,
            beta1,
            beta2,
            eps,
        } => OptimizerConfig::Adam(AdamConfig {
            lr,
            beta1,
            beta2,
            eps,
        }),
        SpecOptimizer::Sam { lr, rho } => OptimizerConfig::Sam(SamConfig { lr, rho }),
    }
}

/// Loads a dataset as the sweep describes it (subsets and normalisation applied).
fn load_dataset(d: &ResolvedDataset) -> Result<TrainTest, Failure> {
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
            let dir = cached_dataset_dir(kind).exit_code(exit_codes::INPUT, ctx())?;
            load_dir(&dir).exit_code(
                exit_codes::INPUT,
                format!(
                    "{} (run `eigensweep data fetch {}` first)",
                    ctx(),
                    kind.name()
                ),
            )?
        }
        DataSource::Directory(dir) => load_dir(dir).exit_code(exit_codes::INPUT, ctx())?,
    };
    if !matches!(d.source, DataSource::Synthetic { .. }) {
        if let Some(n) = d.train_size {
            data.train = data
                .train
                .subset(n)
                .exit_code(exit_codes::INPUT, format!("{}: train_size", ctx()))?;
        }
        if let Some(n) = d.test_size {
            data.test = data
                .test
                .subset(n)
                .exit_code(exit_codes::INPUT, format!("{}: test_size", ctx()))?;
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

fn arch_for(data: &TrainTest, hidden: &[usize]) -> Result<Architecture, Failure> {
    let mut widths = vec![data.train.dim];
    widths.extend(hidden);
    widths.push(data.train.classes);
    Architecture::new(widths).exit_code(exit_codes::INPUT, "model.hidden")
}

fn run_plan(
    spec: &RunSpec,
    arch: Architecture,
    checkpoint_every: u64,
    checkpoint_seconds: f64,
) -> RunPlan {
    RunPlan {
        key: spec.key.clone(),
        arch,
        bias_init: bias(spec.model.bias_init),
        optimizer: optimizer(&spec.optimizer.config),
        seed: spec.seed,
        steps: spec.steps,
        batch_size: spec.batch_size,
        log_every: spec.log_every,
        snapshot_steps: spec.snapshot_steps.clone(),
        eval_steps: spec.eval_steps.clone(),
        snapshot: SnapshotSettings {
            top_k: spec.eigen.top_k,
            tol: spec.eigen.tol,
            max_products: spec.eigen.max_products,
            hessian: HessianOptions::default(),
        },
        hessian_samples: spec.hessian_samples,
        store_weights: spec.store_weights,
        checkpoint_every,
        checkpoint_seconds,
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn host() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|s| s.trim().to_string())
        .or_else(|| std::env::var("HOSTNAME").ok())
}

/// The runs table, kept in memory and rewritten atomically whenever a status changes.
struct RunsTable {
    path: PathBuf,
    records: Mutex<BTreeMap<String, RunRecord>>,
}

impl RunsTable {
    fn update(&self, key: &str, f: impl FnOnce(&mut RunRecord)) -> Result<(), Failure> {
        let mut records = self.records.lock().expect("runs table lock");
        if let Some(r) = records.get_mut(key) {
            f(r);
        }
        let rows: Vec<RunRecord> = records.values().cloned().collect();
        write_table_atomically(&self.path, &rows).exit_code(
            exit_codes::OUTPUT,
            format!("writing {}", self.path.display()),
        )
    }
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

pub(crate) fn run(args: RunArgs) -> Result<(), Failure> {
    let shard = args.shard.as_deref().map(parse_shard).transpose()?;
    if args.checkpoint_every == 0
        || !(args.checkpoint_minutes > 0.0 && args.checkpoint_minutes.is_finite())
        || args.jobs == 0
    {
        return Err(Failure {
            code: exit_codes::USAGE,
            error: anyhow::anyhow!(
                "--jobs ({}), --checkpoint-every ({}) and --checkpoint-minutes ({}) must be positive",
                args.jobs,
                args.checkpoint_every,
                args.checkpoint_minutes
            ),
        });
    }
    let sweep = crate::sweep_cmd::load(&args.sweep)?;
    let resolved = sweep.resolved();
    let out = resolved.output.clone();
    std::fs::create_dir_all(&out).exit_code(
        exit_codes::OUTPUT,
        format!("creating output directory {}", out.display()),
    )?;
    let probe = out.join(".eigensweep-write-test");
    std::fs::write(&probe, b"").exit_code(
        exit_codes::OUTPUT,
        format!("output directory {} is not writable", out.display()),
    )?;
    let _ = std::fs::remove_file(&probe);

    // Shards split the task list (runs first, then baseline networks) round-robin.
    let in_shard = |i: usize| shard.is_none_or(|(s, k)| i % k == s);
    let all_runs = sweep.runs();
    let run_count = all_runs.len();
    let runs: Vec<RunSpec> = all_runs
        .into_iter()
        .enumerate()
        .filter(|(i, _)| in_shard(*i))
        .map(|(_, r)| r)
        .collect();
    let all_baseline = sweep.baseline_tasks();
    let baseline: Vec<BaselineTask> = all_baseline
        .iter()
        .cloned()
        .enumerate()
        .filter(|(i, _)| in_shard(run_count + i))
        .map(|(_, t)| t)
        .collect();
    // Refuse before any work if a run directory holds another configuration's checkpoint.
    let mut foreign = Vec::new();
    for spec in &runs {
        let dir = out.join("runs").join(spec.partition());
        if let Ok(Some(c)) = Checkpoint::load(&dir.join("checkpoint.bin")) {
            if c.run_key != spec.key {
                foreign.push(format!(
                    "{} holds run {} but this sweep's run there is {}",
                    dir.display(),
                    c.run_key,
                    spec.key
                ));
            }
        }
    }
    for d in &resolved.datasets {
        // Against the whole sweep, not this shard: other shards' parts are legitimate.
        let networks: Vec<&BaselineTask> = all_baseline
            .iter()
            .filter(|t| t.dataset.name == d.name)
            .collect();
        let dir = out.join("baseline").join(format!("dataset={}", d.name));
        let parts =
            list_parts(&dir).exit_code(exit_codes::INPUT, format!("listing {}", dir.display()))?;
        for (index, path) in parts {
            match networks.iter().find(|t| t.network as u32 == index) {
                None => foreign.push(format!(
                    "{} is network {index}, but this sweep has {} baseline networks",
                    path.display(),
                    networks.len()
                )),
                Some(task) => {
                    let rows: Vec<BaselineRow> = read_table(&path)
                        .exit_code(exit_codes::INPUT, format!("reading {}", path.display()))?;
                    if let Some(r) = rows.iter().find(|r| r.task_key != task.key) {
                        foreign.push(format!(
                            "{} holds baseline task {} but this sweep's is {}",
                            path.display(),
                            r.task_key,
                            task.key
                        ));
                    }
                }
            }
        }
    }
    if !foreign.is_empty() {
        return Err(Failure {
            code: exit_codes::INPUT,
            error: anyhow::anyhow!(
                "outputs in {} were written under another configuration:\n  {}\nuse another --out, or delete those directories to recompute them",
                out.display(),
                foreign.join("\n  ")
            ),
        });
    }
    let yaml_path = out.join("sweep.yaml");
    let tmp = out.join(".sweep.yaml.tmp");
    std::fs::write(&tmp, sweep.to_yaml())
        .exit_code(exit_codes::OUTPUT, format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, &yaml_path).exit_code(
        exit_codes::OUTPUT,
        format!("writing {}", yaml_path.display()),
    )?;

    // Datasets, once each.
    let mut datasets: BTreeMap<String, Arc<TrainTest>> = BTreeMap::new();
    for d in &resolved.datasets {
        datasets.insert(d.name.clone(), Arc::new(load_dataset(d)?));
    }
    let jobs = args.jobs.max(1);
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let threads = args.threads_per_run.unwrap_or((cores / jobs).max(1));
    // candle and the HVP engine read the thread count from here on every operation.
    std::env::set_var("RAYON_NUM_THREADS", threads.to_string());

    // Shards run as separate jobs: each keeps its own runs table (read them all with
    // read_parquet('OUT/runs*.parquet')).
    let table_path = match shard {
        None => runs_table_path(&out),
        Some((i, k)) => out.join(format!("runs-shard-{i}-of-{k}.parquet")),
    };
    let table = RunsTable {
        path: table_path,
        records: Mutex::new(BTreeMap::new()),
    };
    // Finished tasks keep their recorded history (host, times, steps) across launches.
    let previous: BTreeMap<String, RunRecord> = if table.path.exists() {
        read_run_records(&table.path)
            .exit_code(
                exit_codes::INPUT,
                format!("reading {}", table.path.display()),
            )?
            .into_iter()
            .map(|r| (r.key.clone(), r))
            .collect()
    } else {
        BTreeMap::new()
    };
    let keep_history = |fresh: RunRecord| match previous.get(&fresh.key) {
        Some(old)
            if old.status == fresh.status && (old.status == "done" || old.status == "diverged") =>
        {
            old.clone()
        }
        _ => fresh,
    };
    let mut tasks = Vec::new();
    {
        let mut records = table.records.lock().expect("runs table lock");
        for spec in &runs {
            let dir = out.join("runs").join(spec.partition());
            let status = if dir.join("_SUCCESS").exists() {
                "done"
            } else if dir.join("_DIVERGED").exists() {
                "diverged"
            } else {
                "pending"
            };
            records.insert(
                spec.key.clone(),
                keep_history(RunRecord {
                    key: spec.key.clone(),
                    kind: "run".into(),
                    dataset: spec.dataset.name.clone(),
                    optimizer: Some(spec.optimizer.name.clone()),
                    seed: spec.seed,
                    config_json: spec.config_json(),
                    status: status.into(),
                    error: None,
                    host: None,
                    start_time: None,
                    end_time: None,
                    steps_done: 0,
                    snapshots_done: 0,
                    wall_seconds: 0.0,
                }),
            );
            tasks.push(Task::Run(spec.clone()));
        }
        for task in &baseline {
            let dir = out.join("baseline").join(task.partition());
            let done = dir
                .join(format!("part-{:05}.parquet", task.network))
                .exists();
            records.insert(
                task.key.clone(),
                keep_history(RunRecord {
                    key: task.key.clone(),
                    kind: "baseline".into(),
                    dataset: task.dataset.name.clone(),
                    optimizer: None,
                    seed: task.seed,
                    config_json: task.config_json(),
                    status: if done { "done" } else { "pending" }.into(),
                    error: None,
                    host: None,
                    start_time: None,
                    end_time: None,
                    steps_done: 0,
                    snapshots_done: 0,
                    wall_seconds: 0.0,
                }),
            );
            tasks.push(Task::Baseline(task.clone()));
        }
    }
    table.update("", |_| {})?;
    eprintln!(
        "sweep `{}`: {} runs and {} baseline networks → {} ({} jobs × {} threads)",
        resolved.name,
        runs.len(),
        baseline.len(),
        out.display(),
        jobs,
        threads
    );

    let bars = MultiProgress::new();
    let total_bar = bars.add(ProgressBar::new(tasks.len() as u64));
    total_bar.set_style(ProgressStyle::with_template("{prefix:>8} [{bar:30}] {pos}/{len} tasks  {elapsed_precise} elapsed, ETA {eta_precise}").expect("template").progress_chars("=> "));
    total_bar.set_prefix("sweep");
    let next = AtomicUsize::new(0);
    // SIGTERM / SIGUSR1 (Slurm's preemption warning) / SIGINT: every running run checkpoints
    // at its next step and returns; no new task starts.
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [
        signal_hook::consts::SIGTERM,
        signal_hook::consts::SIGUSR1,
        signal_hook::consts::SIGINT,
    ] {
        signal_hook::flag::register(signal, Arc::clone(&stop))
            .exit_code(exit_codes::INTERNAL, "installing signal handlers")?;
    }

    let stages = Mutex::new(StageSeconds::default());
    let failures = Mutex::new(Vec::<String>::new());
    let summaries = Mutex::new(Vec::<String>::new());
    let fatal = Mutex::new(None::<Failure>);
    std::thread::scope(|scope| {
        for _ in 0..jobs {
            scope.spawn(|| loop {
                // After a fatal error no new task starts.
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(task) = tasks.get(i) else { break };
                let result = match task {
                    Task::Run(spec) => run_one(
                        spec,
                        &datasets,
                        &out,
                        &table,
                        &bars,
                        &stop,
                        args.checkpoint_every,
                        args.checkpoint_minutes,
                        &stages,
                        &summaries,
                    ),
                    Task::Baseline(t) => baseline_one(t, &datasets, &out, &table),
                };
                match result {
                    Ok(Some(problem)) => failures.lock().expect("lock").push(problem),
                    Ok(None) => {}
                    Err(f) => {
                        *fatal.lock().expect("lock") = Some(f);
                        stop.store(true, Ordering::SeqCst);
                        break;
                    }
                }
                total_bar.inc(1);
            });
        }
    });
    total_bar.finish();
    if let Some(f) = fatal.into_inner().expect("lock") {
        return Err(f);
    }
    if stop.load(Ordering::SeqCst) {
        return Err(Failure {
            code: exit_codes::INTERRUPTED,
            error: anyhow::anyhow!(
                "stopped by a signal: running runs wrote checkpoints; run the same command again to continue the sweep"
            ),
        });
    }
    let mut summaries = summaries.into_inner().expect("lock");
    if !summaries.is_empty() {
        summaries.sort();
        println!(
            "{:<40} {:>9} {:>9} {:>9}  last eigenvalues",
            "run (dataset/optimizer/seed)", "status", "snapshots", "test_acc"
        );
        for line in summaries {
            println!("{line}");
        }
    }
    let s = stages.into_inner().expect("lock");
    eprintln!(
        "time in this launch: training {:.1} s, eigen-solves {:.1} s, evaluation {:.1} s, writing {:.1} s",
        s.training, s.eigen, s.evaluation, s.writing
    );
    let failures = failures.into_inner().expect("lock");
    if failures.is_empty() {
        println!("sweep `{}` complete: {}", resolved.name, out.display());
        Ok(())
    } else {
        Err(Failure {
            code: exit_codes::RUNS_FAILED,
            error: anyhow::anyhow!(
                "{} of {} tasks did not finish:\n  {}\n(see {})",
                failures.len(),
                tasks.len(),
                failures.join("\n  "),
                runs_table_path(&out).display()
            ),
        })
    }
}

/// Executes one run; `Ok(Some(text))` for a run that failed or diverged (the sweep goes on).
#[allow(clippy::too_many_arguments)]
fn run_one(
    spec: &RunSpec,
    datasets: &BTreeMap<String, Arc<TrainTest>>,
    out: &Path,
    table: &RunsTable,
    bars: &MultiProgress,
    stop: &AtomicBool,
    checkpoint_every: u64,
    checkpoint_minutes: f64,
    stages: &Mutex<StageSeconds>,
    summaries: &Mutex<Vec<String>>,
) -> Result<Option<String>, Failure> {
    let data = &datasets[&spec.dataset.name];
    let label = format!(
        "{}/{}/{}",
        spec.dataset.name, spec.optimizer.name, spec.seed
    );
    let arch = match arch_for(data, &spec.model.hidden) {
        Ok(a) => a,
        Err(f) => return Ok(Some(format!("{label}: {:#}", f.error))),
    };
    let plan = run_plan(spec, arch, checkpoint_every, checkpoint_minutes * 60.0);
    let dir = match run_dir(out, &spec.dataset.name, &spec.optimizer.name, spec.seed) {
        Ok(d) => d,
        Err(e) => return Ok(Some(format!("{label}: {e}"))),
    };
    let started = now_ms();
    // A finished run keeps its record; only runs with work left become "running".
    if !dir.join("_SUCCESS").exists() && !dir.join("_DIVERGED").exists() {
        table.update(&spec.key, |r| {
            r.status = "running".into();
            r.host = host();
            r.start_time.get_or_insert(started);
        })?;
    }
    let bar = bars.add(ProgressBar::new(plan.steps));
    bar.set_style(
        ProgressStyle::with_template("{prefix:>8} [{bar:30}] step {pos}/{len}  {msg}  ETA {eta}")
            .expect("template")
            .progress_chars("=> "),
    );
    bar.set_prefix(label.clone());
    let result = execute(
        &plan,
        data,
        &dir,
        &mut |p| {
            bar.set_position(p.step);
            bar.set_message(format!(
                "snapshots {}/{}, {} HVPs last",
                p.snapshots_done, p.snapshots, p.last_products
            ));
        },
        stop,
    );
    bar.finish_and_clear();
    let ended = now_ms();
    match result {
        Ok(report) if report.already_finished => Ok(match report.status {
            RunStatus::Diverged { step } => Some(format!(
                "{label}: diverged (non-finite loss at step {step})"
            )),
            _ => None,
        }),
        Ok(report) => {
            {
                let mut s = stages.lock().expect("lock");
                s.training += report.stages.training;
                s.eigen += report.stages.eigen;
                s.evaluation += report.stages.evaluation;
                s.writing += report.stages.writing;
            }
            let status = match report.status {
                RunStatus::Done => "done",
                RunStatus::Diverged { .. } => "diverged",
                RunStatus::Stopped => "pending",
            };
            table.update(&spec.key, |r| {
                r.status = status.into();
                r.end_time = Some(ended);
                r.steps_done = report.steps_done;
                r.snapshots_done = report.snapshots_done;
                r.wall_seconds = report.wall_seconds;
                if let RunStatus::Diverged { step } = report.status {
                    r.error = Some(format!("non-finite loss at step {step}"));
                }
            })?;
            if !report.already_finished {
                summaries.lock().expect("lock").push(format!(
                    "{:<40} {:>9} {:>9} {:>9}  {}",
                    label,
                    status,
                    report.snapshots_done,
                    report
                        .last_test_accuracy
                        .map(|a| format!("{a:.4}"))
                        .unwrap_or_else(|| "-".into()),
                    report
                        .last_eigenvalues
                        .iter()
                        .map(|v| format!("{v:.6e}"))
                        .collect::<Vec<_>>()
                        .join(" ")
                ));
            }
            Ok(match report.status {
                RunStatus::Diverged { step } => Some(format!(
                    "{label}: diverged (non-finite loss at step {step})"
                )),
                _ => None,
            })
        }
        Err(e) => {
            let text = format!("{e}");
            table.update(&spec.key, |r| {
                r.status = "failed".into();
                r.end_time = Some(ended);
                r.error = Some(text.clone());
            })?;
            Ok(Some(format!("{label}: failed: {text}")))
        }
    }
}

fn baseline_one(
    task: &BaselineTask,
    datasets: &BTreeMap<String, Arc<TrainTest>>,
    out: &Path,
    table: &RunsTable,
) -> Result<Option<String>, Failure> {
    let data = &datasets[&task.dataset.name];
    let label = format!("baseline {}/{}", task.dataset.name, task.network);
    let arch = match arch_for(data, &task.model.hidden) {
        Ok(a) => a,
        Err(f) => return Ok(Some(format!("{label}: {:#}", f.error))),
    };
    let dir = match baseline_dir(out, &task.dataset.name) {
        Ok(d) => d,
        Err(e) => return Ok(Some(format!("{label}: {e}"))),
    };
    let plan = BaselinePlan {
        key: task.key.clone(),
        dataset: task.dataset.name.clone(),
        network: task.network as u32,
        arch,
        bias_init: bias(task.model.bias_init),
        snapshot: SnapshotSettings {
            top_k: task.eigen.top_k,
            tol: task.eigen.tol,
            max_products: task.eigen.max_products,
            hessian: HessianOptions::default(),
        },
        hessian_samples: task.hessian_samples,
    };
    let started = now_ms();
    let clock = Instant::now();
    let result = execute_baseline(&plan, data, &dir);
    let ended = now_ms();
    match result {
        Ok(None) => Ok(None),
        Ok(Some(_)) => {
            table.update(&task.key, |r| {
                r.status = "done".into();
                r.host = host();
                r.start_time.get_or_insert(started);
                r.end_time = Some(ended);
                r.snapshots_done = 1;
                r.wall_seconds += clock.elapsed().as_secs_f64();
            })?;
            Ok(None)
        }
        Err(e) => {
            let text = format!("{e}");
            table.update(&task.key, |r| {
                r.status = "failed".into();
                r.error = Some(text.clone());
            })?;
            Ok(Some(format!("{label}: failed: {text}")))
        }
    }
}
