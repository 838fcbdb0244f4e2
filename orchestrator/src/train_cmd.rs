//! `eigensweep train`: one run with eigen-snapshots, printed as a table. The smallest
//! end-to-end use of the numerical core (data → training → Hessian eigenpairs → statistics).
//!
//! `train` has no run loop of its own: its options become a one-run sweep (the same parser,
//! validation and defaults as a sweep file), and the run goes through the worker's run loop
//! ([`eigensweep_worker::run::execute`]) into a temporary run directory, exactly as `run`
//! trains it. The table is read back from that run's own snapshot and metrics parts as they
//! are written (a checkpoint after every snapshot), so what `train` prints is what a sweep
//! with the same settings stores.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::time::Instant;

use clap::ValueEnum;
use eigensweep_common::display::number;
use eigensweep_common::exit_codes;
use eigensweep_common::sweep::{parse_sweep, FieldError, Overrides, RunSpec};
use eigensweep_worker::mlp::Architecture;
use eigensweep_worker::output::{list_parts, read_table, MetricRow, Row, RunDirs, SnapshotRow};
use eigensweep_worker::run::{execute, Checkpointing, RunPlan, RunProgress, RunStatus};

use crate::cli::{OptimizerName, TrainArgs};
use crate::failure::{Failure, WithExitCode};

/// The name of the optimiser and sweep that `train` runs (a partition value of its temporary
/// run directory).
const NAME: &str = "train";

/// The name of `train`'s one dataset, which its errors name: the built-in source's own, else
/// `data`.
fn dataset_name(args: &TrainArgs) -> &'static str {
    match args.data.as_str() {
        "synthetic" => "synthetic",
        "mnist" => "mnist",
        "fashion-mnist" => "fashion-mnist",
        _ => "data",
    }
}

/// The one-run sweep file that `args` describe. Only what the user set is written, so every
/// default is the sweep file's own; the evaluation schedule defaults to the snapshot schedule,
/// which gives each printed snapshot its test accuracy.
fn sweep_text(args: &TrainArgs) -> String {
    let quoted = |s: &str| serde_json::Value::String(s.to_string()).to_string();
    let mut dataset = format!(
        "{{name: {}, source: {}",
        dataset_name(args),
        quoted(&args.data)
    );
    if args.data == "synthetic" {
        // train's synthetic data differs per seed (a sweep's is fixed per dataset).
        dataset += &format!(", seed: {}", args.seed);
    }
    if let Some(n) = args.train_size {
        dataset += &format!(", train_size: {n}");
    }
    if let Some((mean, std)) = args.normalize {
        dataset += &format!(", normalize: {{mean: {mean}, std: {std}}}");
    }
    dataset += "}";
    let kind = args
        .optimizer
        .to_possible_value()
        .map(|v| v.get_name().to_string())
        .unwrap_or_default();
    let mut optimizer = format!("{{name: {NAME}, kind: {kind}");
    if let Some(lr) = args.lr {
        optimizer += &format!(", lr: {lr:e}");
    }
    if args.optimizer == OptimizerName::Sam {
        optimizer += &format!(", rho: {:e}", args.rho);
    }
    optimizer += "}";
    let hidden: Vec<String> = args.hidden.iter().map(|h| h.to_string()).collect();
    let mut snapshots = format!(
        "{{schedule: {{every: {}}}, top_k: {}, tol: {:e}",
        args.snapshot_every, args.top_k, args.tol
    );
    if let Some(n) = args.hessian_samples {
        snapshots += &format!(", hessian_samples: {n}");
    }
    snapshots += "}";
    format!(
        "name: {NAME}\ndatasets: [{dataset}]\nmodel: {{hidden: [{}]}}\n\
         training: {{steps: {}}}\noptimizers: [{optimizer}]\nseeds: [{}]\n\
         snapshots: {snapshots}\nbaseline: {{networks: 0}}\n",
        hidden.join(", "),
        args.steps,
        args.seed,
    )
}

/// The `train` option that set the sweep field `path`, so a refused value is reported in the
/// words the user typed.
fn option_for(path: &str) -> &str {
    const OPTIONS: &[(&str, &str)] = &[
        ("datasets[0].source", "--data"),
        ("datasets[0].train_size", "--train-size"),
        ("datasets[0].normalize", "--normalize"),
        ("model.hidden", "--hidden"),
        ("training.steps", "--steps"),
        ("optimizers[0].lr", "--lr"),
        ("optimizers[0].rho", "--rho"),
        ("seeds", "--seed"),
        ("snapshots.schedule.every", "--snapshot-every"),
        ("snapshots.top_k", "--top-k"),
        ("snapshots.tol", "--tol"),
        ("snapshots.hessian_samples", "--hessian-samples"),
    ];
    OPTIONS
        .iter()
        .find(|(field, _)| {
            path.strip_prefix(field)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with(['.', '[']))
        })
        .map_or(path, |(_, option)| option)
}

fn refused(args: &TrainArgs, errors: &[FieldError]) -> Failure {
    let lines: Vec<String> = errors
        .iter()
        .map(|e| {
            // The sweep's words for its one dataset mean nothing to a `train` user.
            let message = e
                .message
                .replace(&format!(" of datasets[0] ({})", dataset_name(args)), "");
            match e.value.is_empty() {
                true => format!("{}: {message}", option_for(&e.path)),
                false => format!("{} {}: {message}", option_for(&e.path), e.value),
            }
        })
        .collect();
    Failure {
        code: exit_codes::USAGE,
        error: anyhow::anyhow!("{}", lines.join("\n")),
    }
}

/// The one run that `args` describe, resolved as a sweep resolves it.
fn run_spec(args: &TrainArgs) -> Result<RunSpec, Failure> {
    if args.snapshot_every == 0 {
        return Err(Failure {
            code: exit_codes::USAGE,
            error: anyhow::anyhow!("--snapshot-every must be at least 1"),
        });
    }
    let sweep =
        parse_sweep(&sweep_text(args), &Overrides::default()).map_err(|e| refused(args, &e))?;
    sweep.runs().into_iter().next().ok_or_else(|| Failure {
        code: exit_codes::INTERNAL,
        error: anyhow::anyhow!("the one-run sweep of `train` expanded to no run"),
    })
}

pub(crate) fn run(args: TrainArgs) -> Result<(), Failure> {
    let spec = run_spec(&args)?;
    let opened = eigensweep_worker::device::open(args.device, 0).map_err(|e| Failure {
        code: exit_codes::USAGE,
        error: anyhow::anyhow!("--device {}: {e}", args.device),
    })?;
    crate::console::note!("device: {}", opened.label);
    eigensweep_common::provenance::set_thread_device(&opened.label);
    let data = crate::run_cmd::load_dataset(&spec.dataset)?;
    let mut widths = vec![data.train.dim];
    widths.extend(&spec.model.hidden);
    widths.push(data.train.classes);
    let arch = Architecture::new(widths).exit_code(exit_codes::USAGE, "--hidden")?;
    let hessian_samples = match spec.hessian_samples {
        Some(n) if n > data.train.len || n == 0 => {
            return Err(Failure {
                code: exit_codes::USAGE,
                error: anyhow::anyhow!(
                    "--hessian-samples {n}: must be between 1 and the {} training samples",
                    data.train.len
                ),
            })
        }
        Some(n) => n,
        None => data.train.len,
    };
    let parameters = arch.num_params();
    let plan = RunPlan::from_spec(
        &spec,
        arch,
        // Parts after every snapshot, so each row is printed as soon as it is stored.
        Checkpointing {
            every_snapshots: 1,
            seconds: f64::INFINITY,
        },
        opened.device,
    );
    crate::console::say!(
        "# {} on {} ({} train / {} test samples), N = {} parameters, Hessian on {} samples, top-{} at tol {:e}",
        args.optimizer.to_possible_value().map(|v| v.get_name().to_string()).unwrap_or_default(),
        args.data,
        data.train.len,
        data.test.len,
        parameters,
        hessian_samples,
        plan.snapshot.top_k,
        plan.snapshot.tol
    );
    crate::console::say!("{:>6} {:>9} {:>9} {:>7} {:>5} {:>6} {:>8}  eigenvalues (residual, IPR, |cos grad|, |cos update|)", "step", "loss", "test_acc", "HVPs", "conv", "sec", "steps/s");

    let tmp = tempfile::Builder::new()
        .prefix("eigensweep-train-")
        .tempdir()
        .exit_code(exit_codes::OUTPUT, "creating a temporary run directory")?;
    let dirs = RunDirs::new(tmp.path(), NAME, NAME, spec.seed)
        .exit_code(exit_codes::INTERNAL, "the temporary run directory")?;
    let stop = crate::run_cmd::install_signal_flag()?;
    let started = Instant::now();
    let mut table = Table::new(&plan);
    let mut read_error = None;
    let result = execute(
        &plan,
        &data,
        &dirs.root,
        &mut |p| {
            table.progress(p);
            if p.checkpointed && read_error.is_none() {
                read_error = table.print_stored(&dirs).err();
            }
        },
        &stop,
    );
    let report = result.map_err(|e| {
        let code = if e.out_of_memory().is_some() {
            exit_codes::INTERNAL
        } else {
            exit_codes::NUMERICAL
        };
        Failure {
            code,
            error: anyhow::Error::new(e).context("training"),
        }
    })?;
    if let Some(e) = read_error {
        return Err(e);
    }
    table.print_stored(&dirs)?;
    match report.status {
        RunStatus::Done => {
            crate::console::say!("# done in {:.1} s", started.elapsed().as_secs_f64());
            Ok(())
        }
        RunStatus::Diverged { step } => Err(Failure {
            code: exit_codes::NUMERICAL,
            error: anyhow::anyhow!(
                "training diverged at step {step}: the mini-batch loss was not finite"
            ),
        }),
        RunStatus::Stopped if stop.load(Ordering::SeqCst) => Err(Failure {
            code: exit_codes::INTERRUPTED,
            error: anyhow::anyhow!("stopped by a signal at step {}", report.steps_done),
        }),
        RunStatus::Stopped => Err(Failure {
            code: exit_codes::INTERNAL,
            error: anyhow::anyhow!("the run stopped at step {} unasked", report.steps_done),
        }),
    }
}

/// What is printed, row by row: the stored snapshots not printed yet, with the snapshot's wall
/// time and the training rate since the previous snapshot, which only the progress callbacks
/// see.
struct Table {
    snapshot_steps: Vec<u64>,
    /// Per snapshot step: its seconds and the training steps/s that led to it.
    timing: BTreeMap<u64, (f64, f64)>,
    /// The next part index to read of the snapshots and metrics tables.
    next_parts: (u32, u32),
    /// Per evaluated step: its loss on the training set and test accuracy.
    evaluated: BTreeMap<u64, (Option<f64>, Option<f64>)>,
    snapshots_seen: u64,
    last: (Instant, u64),
}

impl Table {
    fn new(plan: &RunPlan) -> Self {
        Self {
            snapshot_steps: plan.snapshot_steps.clone(),
            timing: BTreeMap::new(),
            next_parts: (0, 0),
            evaluated: BTreeMap::new(),
            snapshots_seen: 0,
            last: (Instant::now(), 0),
        }
    }

    /// Notes the seconds of a snapshot just taken and the steps/s before it (the snapshot's own
    /// time excluded).
    fn progress(&mut self, p: &RunProgress) {
        if p.snapshots_done <= self.snapshots_seen || p.snapshots_done == 0 {
            return;
        }
        self.snapshots_seen = p.snapshots_done;
        let Some(&step) = self.snapshot_steps.get(p.snapshots_done as usize - 1) else {
            return;
        };
        let (at, from) = self.last;
        let training = at.elapsed().as_secs_f64() - p.last_snapshot_seconds;
        let rate = if step > from {
            (step - from) as f64 / training.max(1e-9)
        } else {
            f64::NAN
        };
        self.timing.insert(step, (p.last_snapshot_seconds, rate));
        self.last = (Instant::now(), step);
    }

    /// Prints the snapshots of the parts written to `dirs` since the last call. Each part is
    /// final once it has its name (a run writes a part whole, then renames it), so only the new
    /// ones are read: a long `train` does not read its eigenvectors again at every snapshot.
    fn print_stored(&mut self, dirs: &RunDirs) -> Result<(), Failure> {
        for row in new_rows::<MetricRow>(&dirs.metrics, &mut self.next_parts.1)? {
            if row.train_loss.is_some() || row.test_accuracy.is_some() {
                self.evaluated
                    .insert(row.step, (row.train_loss, row.test_accuracy));
            }
        }
        let snapshots = new_rows::<SnapshotRow>(&dirs.snapshots, &mut self.next_parts.0)?;
        let mut by_step: BTreeMap<u64, Vec<&SnapshotRow>> = BTreeMap::new();
        for row in &snapshots {
            by_step.entry(row.step).or_default().push(row);
        }
        for (&step, rows) in &by_step {
            let (loss, accuracy) = self.evaluated.get(&step).copied().unwrap_or((None, None));
            let (seconds, rate) = self
                .timing
                .get(&step)
                .copied()
                .unwrap_or((f64::NAN, f64::NAN));
            let converged = rows.iter().filter(|r| r.converged).count();
            let pairs: Vec<String> = rows
                .iter()
                .map(|r| {
                    format!(
                        "{} ({}, {}, {:.3}, {:.3})",
                        number(r.eigenvalue),
                        number(r.residual),
                        number(r.ipr),
                        r.grad_alignment,
                        r.update_alignment
                    )
                })
                .collect();
            crate::console::say!(
                "{:>6} {:>9} {:>9.4} {:>7} {:>3}/{} {:>6.2} {:>8.0}  {}",
                step,
                number(loss.unwrap_or(f64::NAN)),
                accuracy.unwrap_or(f64::NAN),
                rows.first().map_or(0, |r| r.products),
                converged,
                rows.len(),
                seconds,
                if step == 0 { f64::NAN } else { rate },
                pairs.join("  ")
            );
        }
        Ok(())
    }
}

/// The rows of the parts in `dir` from index `next` on, advancing `next` past them.
fn new_rows<R: Row>(dir: &Path, next: &mut u32) -> Result<Vec<R>, Failure> {
    let context = || format!("reading the run's tables in {}", dir.display());
    let mut rows = Vec::new();
    for (index, path) in list_parts(dir).exit_code(exit_codes::OUTPUT, context())? {
        if index >= *next {
            rows.extend(read_table::<R>(&path).exit_code(exit_codes::OUTPUT, context())?);
            *next = index + 1;
        }
    }
    Ok(rows)
}
