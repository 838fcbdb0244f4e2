//! Products and seconds per top-3 snapshot at tol 1e-3, cold start versus warm start, along a
//! real training trajectory: SGD (lr 1e-2, batch 128) on the MNIST training images, a snapshot
//! every 63 steps as in the paper's schedule, the Hessian over all training images.

use std::fmt::Write as _;
use std::time::Instant;

use candle_core::{DType, Device};
use eigensweep_worker::data::TrainTest;
use eigensweep_worker::eigen::{top_k_eigenpairs, EigenOptions};
use eigensweep_worker::mlp::{Architecture, BiasInit, HessianOperator, HessianOptions, Params};
use eigensweep_worker::optim::{OptimizerConfig, SgdConfig};
use eigensweep_worker::rng::{derived_seed, stream_rng, Stream};
use eigensweep_worker::snapshot::warm_start_vectors;
use eigensweep_worker::train::{DeviceData, Trainer};

const EVERY: u64 = 63;

/// `start`: SGD steps taken before the first snapshot (0 = from initialisation).
/// Returns the report and the mean products per snapshot, cold and warm.
pub(crate) fn measure(
    data: &TrainTest,
    snapshots: usize,
    start: u64,
) -> anyhow::Result<(String, f64, f64)> {
    let arch = Architecture::paper();
    let device = Device::Cpu;
    let train = DeviceData::new(&data.train, &arch, DType::F32, &device)?;
    let params = Params::init(
        &arch,
        BiasInit::Zero,
        &mut stream_rng(0, Stream::Init, 0),
        DType::F32,
        &device,
    )?;
    let config = OptimizerConfig::Sgd(SgdConfig::default());
    let mut trainer = Trainer::new(
        params.clone(),
        config.build(&params)?,
        train.clone(),
        128,
        0,
    );
    for _ in 0..start {
        trainer.step()?;
    }
    let mut report = format!(
        "### Eigensolver, top-3 at tol 1e-3, Hessian on {} MNIST images, snapshots every {EVERY} SGD steps from step {start}\n\n\
         | step | λ₁ | λ₃ | cold HVPs | cold s | warm HVPs | warm s | warm/cold | all converged |\n|---|---|---|---|---|---|---|---|---|\n",
        train.len()
    );
    let mut previous: Option<Vec<Vec<f64>>> = None;
    let (mut cold_total, mut warm_total, mut cold_secs, mut warm_secs) = (0usize, 0usize, 0.0, 0.0);
    let mut setup_secs = 0.0;
    for index in 0..=snapshots as u64 {
        let t = Instant::now();
        let mut op = HessianOperator::new(
            trainer.params(),
            &train.x,
            &train.onehot,
            &HessianOptions::default(),
        )?;
        setup_secs += t.elapsed().as_secs_f64();
        let options = EigenOptions {
            k: 3,
            tol: 1e-3,
            max_products: 2000,
            seed: derived_seed(0, Stream::EigenStart, index),
            ..EigenOptions::default()
        };
        let t = Instant::now();
        let cold = top_k_eigenpairs(&mut op, &options, None)?;
        let cold_s = t.elapsed().as_secs_f64();
        if let Some(prev) = previous.as_deref() {
            let t = Instant::now();
            let warm = top_k_eigenpairs(&mut op, &options, Some(prev))?;
            let warm_s = t.elapsed().as_secs_f64();
            cold_total += cold.products;
            warm_total += warm.products;
            cold_secs += cold_s;
            warm_secs += warm_s;
            let all = cold.pairs.iter().chain(&warm.pairs).all(|p| p.converged);
            let _ = writeln!(
                report,
                "| {} | {:.4} | {:.4} | {} | {:.2} | {} | {:.2} | {:.2} | {} |",
                trainer.steps(),
                warm.pairs[0].value,
                warm.pairs[2].value,
                cold.products,
                cold_s,
                warm.products,
                warm_s,
                warm.products as f64 / cold.products as f64,
                if all { "yes" } else { "no" }
            );
            previous = Some(warm_start_vectors(&warm));
        } else {
            previous = Some(warm_start_vectors(&cold));
        }
        for _ in 0..EVERY {
            trainer.step()?;
        }
    }
    let _ = writeln!(
        report,
        "\nTotal over {snapshots} snapshots: cold {cold_total} HVPs in {cold_secs:.1} s, warm {warm_total} HVPs in {warm_secs:.1} s: \
         warm needs **{:.0}%** of the cold products (target ≤ 60%). Operator set-up (loss, gradient, cached activations): {:.3} s per snapshot.\n",
        100.0 * warm_total as f64 / cold_total.max(1) as f64,
        setup_secs / (snapshots as f64 + 1.0)
    );
    let count = snapshots.max(1) as f64;
    Ok((report, cold_total as f64 / count, warm_total as f64 / count))
}
