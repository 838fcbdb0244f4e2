//! Products and seconds per top-k snapshot, cold start versus warm start, along a real
//! training trajectory: SGD (lr 1e-2, batch 128) on the MNIST training images, a snapshot
//! every 63 steps as in the paper's schedule, the Hessian over all training images. Where
//! python3 has scipy, ARPACK (`eigsh`, the paper's solver) solves the same operator cold from
//! the same kind of seeded random start, in the same run ([`super::arpack`]).

use std::fmt::Write as _;
use std::time::Instant;

use candle_core::{DType, Device};
use eigensweep_worker::data::TrainTest;
use eigensweep_worker::eigen::{top_k_eigenpairs, EigenOptions, TOL_ZERO_FACTOR};
use eigensweep_worker::mlp::{Architecture, HessianOperator, HessianOptions};
use eigensweep_worker::optim::{OptimizerConfig, SgdConfig};
use eigensweep_worker::rng::{derived_seed, Stream};
use eigensweep_worker::snapshot::warm_start_vectors;
use eigensweep_worker::train::{DeviceData, Trainer};

const EVERY: u64 = 63;

/// What one eigensolver measurement solves.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Spec {
    /// Eigenpairs per snapshot.
    pub k: usize,
    /// The solver's relative tolerance (0 = machine precision).
    pub tol: f64,
    /// Also run ARPACK cold on each snapshot's operator (skipped where scipy is missing).
    pub arpack: bool,
}

/// Mean products per compared snapshot.
pub(crate) struct Means {
    pub cold: f64,
    pub warm: f64,
    /// The first snapshot's cold solve: products, and seconds including the operator's set-up.
    pub first_cold: (usize, f64),
}

/// `start`: SGD steps taken before the first snapshot (0 = from initialisation).
/// Returns the report and the mean products per snapshot.
pub(crate) fn measure(
    data: &TrainTest,
    snapshots: usize,
    start: u64,
    spec: Spec,
) -> anyhow::Result<(String, Means)> {
    let scipy = if spec.arpack {
        super::arpack::available()
    } else {
        None
    };
    let arch = Architecture::paper();
    let device = Device::Cpu;
    let train = DeviceData::new(&data.train, &arch, DType::F32, &device)?;
    let params = super::initial_params(&arch, &device)?;
    let config = OptimizerConfig::Sgd(SgdConfig::default());
    let mut trainer = Trainer::new(params.clone(), &config, train.clone(), 128, 0)?;
    for _ in 0..start {
        trainer.step()?;
    }
    let (k, tol) = (spec.k, spec.tol);
    // Our tol 0 is a few f32 ulps (TOL_ZERO_FACTOR · f32 eps), what an f32 product supports;
    // eigsh's tol 0 is f64 machine precision, which it "reaches" only in its own Ritz
    // estimates. ARPACK gets the tolerance ours resolves to, so both aim at the same accuracy.
    let arpack_tol = if tol == 0.0 {
        TOL_ZERO_FACTOR * f64::from(f32::EPSILON)
    } else {
        tol
    };
    let mut report = format!(
        "### Eigensolver, top-{k} at tol {tol:e}, Hessian on {} MNIST images, snapshots every {EVERY} SGD steps from step {start}\n\n{}\
         | step | λ₁ | λ_k | ARPACK HVPs | ARPACK s | cold HVPs | cold s | warm HVPs | warm s | warm/cold | warm/ARPACK | all converged | max rel. diff vs ARPACK |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|\n",
        train.len(),
        match (&scipy, spec.arpack) {
            (Some(v), _) => format!("ARPACK: scipy {v} `eigsh(which=\"LA\", tol={arpack_tol:e})` on the same operator through a pipe, default ncv, seeded uniform v0.\n\n"),
            (None, true) => "ARPACK: not measured (python3 cannot import numpy and scipy).\n\n".into(),
            (None, false) => String::new(),
        }
    );
    let mut arpack_total = 0usize;
    let mut arpack_secs = 0.0;
    let mut previous: Option<Vec<Vec<f64>>> = None;
    let (mut cold_total, mut warm_total, mut cold_secs, mut warm_secs) = (0usize, 0usize, 0.0, 0.0);
    let mut setup_secs = 0.0;
    let mut first_cold = (0, 0.0);
    for index in 0..=snapshots as u64 {
        let t = Instant::now();
        let mut op = HessianOperator::new(
            &trainer.params()?,
            &train.x,
            &train.onehot,
            &HessianOptions::default(),
        )?;
        setup_secs += t.elapsed().as_secs_f64();
        let options = EigenOptions {
            k,
            tol,
            max_products: 2000,
            seed: derived_seed(0, Stream::EigenStart, index),
            ..EigenOptions::default()
        };
        let t = Instant::now();
        let cold = top_k_eigenpairs(&mut op, &options, None)?;
        let cold_s = t.elapsed().as_secs_f64();
        if index == 0 {
            first_cold = (cold.products, cold_s + setup_secs);
        }
        let arpack = match scipy {
            Some(_) => Some(super::arpack::solve(&mut op, k, arpack_tol, options.seed)?),
            None => None,
        };
        let warm = match previous.as_deref() {
            Some(prev) => {
                let t = Instant::now();
                let warm = top_k_eigenpairs(&mut op, &options, Some(prev))?;
                Some((warm, t.elapsed().as_secs_f64()))
            }
            None => None,
        };
        // The first snapshot has no warm start: its row compares cold with ARPACK only, and
        // it stays out of the means (which compare warm with cold on the same snapshots).
        if let Some((warm, _)) = &warm {
            cold_total += cold.products;
            cold_secs += cold_s;
            warm_total += warm.products;
        }
        let best = warm.as_ref().map_or(&cold, |(w, _)| w);
        let diff = arpack.as_ref().map(|a| {
            best.pairs
                .iter()
                .chain(&cold.pairs)
                .zip(a.values.iter().chain(&a.values))
                .map(|(p, v)| (p.value - v).abs() / v.abs().max(f64::MIN_POSITIVE))
                .fold(0.0, f64::max)
        });
        if let (Some(a), Some(_)) = (&arpack, &warm) {
            arpack_total += a.products;
            arpack_secs += a.seconds;
        }
        let dash = || "—".to_string();
        let all = cold.pairs.iter().chain(&best.pairs).all(|p| p.converged);
        let _ = writeln!(
            report,
            "| {} | {:.4} | {:.4} | {} | {} | {} | {:.2} | {} | {} | {} | {} | {} | {} |",
            trainer.steps(),
            best.pairs[0].value,
            best.pairs[k - 1].value,
            arpack
                .as_ref()
                .map_or_else(dash, |a| a.products.to_string()),
            arpack
                .as_ref()
                .map_or_else(dash, |a| format!("{:.2}", a.seconds)),
            cold.products,
            cold_s,
            warm.as_ref()
                .map_or_else(dash, |(w, _)| w.products.to_string()),
            warm.as_ref().map_or_else(dash, |(_, s)| format!("{s:.2}")),
            warm.as_ref().map_or_else(dash, |(w, _)| format!(
                "{:.2}",
                w.products as f64 / cold.products as f64
            )),
            match (&warm, &arpack) {
                (Some((w, _)), Some(a)) => format!("{:.2}", w.products as f64 / a.products as f64),
                _ => dash(),
            },
            if all { "yes" } else { "no" },
            diff.map_or_else(dash, |d| format!("{d:.1e}")),
        );
        if let Some((_, s)) = &warm {
            warm_secs += s;
        }
        previous = Some(warm_start_vectors(best));
        for _ in 0..EVERY {
            trainer.step()?;
        }
    }
    let count = snapshots.max(1) as f64;
    let _ = writeln!(
        report,
        "\nMeans over {snapshots} snapshots: cold {:.1} HVPs ({:.2} s), warm {:.1} HVPs ({:.2} s): \
         warm needs **{:.0}%** of our cold products.{} Operator set-up (loss, gradient, cached activations): {:.3} s per snapshot.\n",
        cold_total as f64 / count,
        cold_secs / count,
        warm_total as f64 / count,
        warm_secs / count,
        100.0 * warm_total as f64 / cold_total.max(1) as f64,
        if scipy.is_some() {
            format!(
                " ARPACK cold {:.1} HVPs ({:.2} s): our cold needs **{:.0}%**, our warm **{:.0}%** of ARPACK's products.",
                arpack_total as f64 / count,
                arpack_secs / count,
                100.0 * cold_total as f64 / arpack_total.max(1) as f64,
                100.0 * warm_total as f64 / arpack_total.max(1) as f64
            )
        } else {
            String::new()
        },
        setup_secs / (snapshots as f64 + 1.0)
    );
    Ok((
        report,
        Means {
            cold: cold_total as f64 / count,
            warm: warm_total as f64 / count,
            first_cold,
        },
    ))
}
