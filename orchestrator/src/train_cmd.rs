//! `eigensweep train`: one run with eigen-snapshots, printed as a table. The smallest
//! end-to-end use of the numerical core (data → training → Hessian eigenpairs → statistics).

use std::path::Path;
use std::time::Instant;

use candle_core::DType;
use clap::ValueEnum;
use eigensweep_common::display::number;
use eigensweep_common::exit_codes;
use eigensweep_worker::data::{load_cached, load_dir, synthetic, DatasetKind, TrainTest};
use eigensweep_worker::mlp::{evaluate, Architecture, BiasInit, Params};
use eigensweep_worker::optim::{AdamConfig, OptimizerConfig, RmspropConfig, SamConfig, SgdConfig};
use eigensweep_worker::rng::{stream_rng, Stream};
use eigensweep_worker::snapshot::{
    alignment, eigen_snapshot, ipr, warm_start_vectors, SnapshotSettings,
};
use eigensweep_worker::train::{DeviceData, Trainer};

use crate::cli::{OptimizerName, TrainArgs};
use crate::failure::{Failure, WithExitCode};

/// Loads `spec` (`synthetic`, `mnist`, `fashion-mnist` or a directory), cut to `train_size`.
pub(crate) fn load_dataset(
    spec: &str,
    train_size: Option<usize>,
    seed: u64,
) -> Result<TrainTest, Failure> {
    let mut data = match spec {
        "synthetic" => synthetic(train_size.unwrap_or(2_000), 1_000, seed),
        "mnist" | "fashion-mnist" | "fashion_mnist" => {
            let kind: DatasetKind = spec.parse().exit_code(exit_codes::INPUT, "--data")?;
            load_cached(kind).exit_code(exit_codes::INPUT, format!("loading {}", kind.name()))?
        }
        dir => load_dir(Path::new(dir))
            .exit_code(exit_codes::INPUT, format!("loading dataset from {dir}"))?,
    };
    if let Some(n) = train_size {
        if spec != "synthetic" {
            data.train = data
                .train
                .subset(n)
                .exit_code(exit_codes::INPUT, "--train-size")?;
        }
    }
    Ok(data)
}

pub(crate) fn optimizer_config(name: OptimizerName, lr: Option<f64>, rho: f64) -> OptimizerConfig {
    match name {
        OptimizerName::Sgd => OptimizerConfig::Sgd(SgdConfig {
            lr: lr.unwrap_or(SgdConfig::default().lr),
            ..SgdConfig::default()
        }),
        OptimizerName::Adam => OptimizerConfig::Adam(AdamConfig {
            lr: lr.unwrap_or(AdamConfig::default().lr),
            ..AdamConfig::default()
        }),
        OptimizerName::Adamw => OptimizerConfig::Adam(AdamConfig {
            lr: lr.unwrap_or(AdamConfig::default().lr),
            ..AdamConfig::adamw()
        }),
        OptimizerName::Rmsprop => OptimizerConfig::Rmsprop(RmspropConfig {
            lr: lr.unwrap_or(RmspropConfig::default().lr),
            ..RmspropConfig::default()
        }),
        OptimizerName::Sam => {
            OptimizerConfig::Sam(SamConfig::sgd(lr.unwrap_or(SgdConfig::default().lr), rho))
        }
    }
}

pub(crate) fn run(args: TrainArgs) -> Result<(), Failure> {
    if args.snapshot_every == 0 {
        return Err(Failure {
            code: exit_codes::USAGE,
            error: anyhow::anyhow!("--snapshot-every must be at least 1"),
        });
    }
    let opened = eigensweep_worker::device::open(args.device, 0).map_err(|e| Failure {
        code: exit_codes::USAGE,
        error: anyhow::anyhow!("--device {}: {e}", args.device),
    })?;
    crate::console::note!("device: {}", opened.label);
    eigensweep_common::provenance::set_thread_device(&opened.label);
    let mut data = load_dataset(&args.data, args.train_size, args.seed)?;
    if let Some((mean, std)) = args.normalize {
        data.train
            .normalize(mean, std)
            .exit_code(exit_codes::INPUT, "--normalize")?;
        data.test
            .normalize(mean, std)
            .exit_code(exit_codes::INPUT, "--normalize")?;
    }
    let mut widths = vec![data.train.dim];
    widths.extend(&args.hidden);
    widths.push(data.train.classes);
    let arch = Architecture::new(widths).exit_code(exit_codes::USAGE, "--hidden")?;
    let device = opened.device;
    let numerical = |ctx: &'static str| {
        move |e: eigensweep_worker::mlp::ModelError| Failure {
            code: exit_codes::NUMERICAL,
            error: anyhow::Error::new(e).context(ctx),
        }
    };
    let train = DeviceData::new(&data.train, &arch, DType::F32, &device)
        .exit_code(exit_codes::INPUT, "training data")?;
    let test = DeviceData::new(&data.test, &arch, DType::F32, &device)
        .exit_code(exit_codes::INPUT, "test data")?;
    let hessian_data = match args.hessian_samples {
        Some(n) if n > train.len() || n == 0 => {
            return Err(Failure {
                code: exit_codes::USAGE,
                error: anyhow::anyhow!(
                    "--hessian-samples {n}: must be between 1 and the {} training samples",
                    train.len()
                ),
            })
        }
        Some(n) => train.head(n).map_err(numerical("Hessian subset"))?,
        None => train.clone(),
    };
    let params = Params::init(
        &arch,
        BiasInit::Zero,
        &mut stream_rng(args.seed, Stream::Init, 0),
        DType::F32,
        &device,
    )
    .map_err(numerical("initialising parameters"))?;
    let config = optimizer_config(args.optimizer, args.lr, args.rho);
    let mut trainer = Trainer::new(params, &config, train, 128, args.seed)
        .map_err(numerical("building the optimiser"))?;
    let settings = SnapshotSettings {
        top_k: args.top_k,
        tol: args.tol,
        ..SnapshotSettings::default()
    };

    crate::console::say!(
        "# {} on {} ({} train / {} test samples), N = {} parameters, Hessian on {} samples, top-{} at tol {:e}",
        args.optimizer.to_possible_value().map(|v| v.get_name().to_string()).unwrap_or_default(),
        args.data,
        data.train.len,
        data.test.len,
        arch.num_params(),
        hessian_data.len(),
        args.top_k,
        args.tol
    );
    crate::console::say!("{:>6} {:>9} {:>9} {:>7} {:>5} {:>6} {:>8}  eigenvalues (residual, IPR, |cos grad|, |cos update|)", "step", "loss", "test_acc", "HVPs", "conv", "sec", "steps/s");
    let started = Instant::now();
    let mut previous: Option<Vec<Vec<f64>>> = None;
    // Training time alone (snapshots excluded), for the steps/s column.
    let mut train_seconds = 0.0;
    let mut last_step = 0u64;
    let mut index = 0u64;
    loop {
        let step = trainer.steps();
        let snapshot_due = step.is_multiple_of(args.snapshot_every) || step == args.steps;
        let snapshot = if snapshot_due {
            let s = eigen_snapshot(
                &trainer.params().map_err(numerical("parameters"))?,
                &hessian_data,
                &settings,
                args.seed,
                index,
                previous.as_deref(),
            )
            .map_err(|e| Failure {
                code: exit_codes::NUMERICAL,
                error: anyhow::Error::new(e).context(format!("eigen-snapshot at step {step}")),
            })?;
            index += 1;
            Some(s)
        } else {
            None
        };
        // The alignments of a snapshot at θ_t use the gradient and update of step t → t+1.
        let step_started = Instant::now();
        let record = if step < args.steps {
            Some(trainer.step().map_err(numerical("training step"))?)
        } else {
            None
        };
        train_seconds += step_started.elapsed().as_secs_f64();
        if let Some(r) = &record {
            if !r.loss.is_finite() {
                return Err(Failure {
                    code: exit_codes::NUMERICAL,
                    error: anyhow::anyhow!("training diverged at step {}: loss {}", r.step, r.loss),
                });
            }
        }
        if let Some(s) = snapshot {
            let (grad, update) = match &record {
                Some(_) => trainer
                    .last_step_vectors()
                    .map_err(numerical("gradient and update"))?
                    .map(|v| (v.gradient, v.update))
                    .unzip(),
                None => (None, None),
            };
            let (_, test_acc) = evaluate(
                &trainer.params().map_err(numerical("parameters"))?,
                &test.x,
                &test.onehot,
                4096,
            )
            .map_err(numerical("evaluation"))?;
            let rate = (step - last_step) as f64 / train_seconds.max(1e-9);
            let converged = s.eigen.pairs.iter().filter(|p| p.converged).count();
            let pairs: Vec<String> = s
                .eigen
                .pairs
                .iter()
                .map(|p| {
                    let g = grad
                        .as_deref()
                        .map(|g| alignment(&p.vector, g))
                        .unwrap_or(f64::NAN);
                    let u = update
                        .as_deref()
                        .map(|u| alignment(&p.vector, u))
                        .unwrap_or(f64::NAN);
                    format!(
                        "{} ({}, {}, {:.3}, {:.3})",
                        number(p.value),
                        number(p.residual),
                        number(ipr(&p.vector)),
                        g,
                        u
                    )
                })
                .collect();
            crate::console::say!(
                "{:>6} {:>9} {:>9.4} {:>7} {:>3}/{} {:>6.2} {:>8.0}  {}",
                step,
                number(s.loss),
                test_acc,
                s.eigen.products,
                converged,
                s.eigen.pairs.len(),
                s.seconds,
                if step == 0 { f64::NAN } else { rate },
                pairs.join("  ")
            );
            previous = Some(warm_start_vectors(&s.eigen));
            train_seconds = 0.0;
            last_step = step;
        }
        if record.is_none() {
            break;
        }
    }
    crate::console::say!("# done in {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}
