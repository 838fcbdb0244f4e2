//! `eigensweep bench --calibrate`: the few rates `plan` turns products and steps into time
//! with ([`Calibration`]), measured on this machine on the paper's 784-100-100-10 network.
//!
//! Training steps/s on one thread (as `run` trains: more threads do not help at batch 128),
//! for SGD, Adam and SAM; one Hessian-vector product, a snapshot's operator set-up and an
//! evaluation pass over the training images on all threads, as core-seconds per sample and
//! parameter (threads × seconds / (samples × parameters); for the product, the threads it
//! uses: one per chunk of samples at most); the eigensolver's own work per product, on a
//! diagonal operator whose products cost nothing. Best of three each: the machines are
//! shared.

use std::fmt::Write as _;

use candle_core::{DType, Device};
use eigensweep_common::sweep::cost::{hessian_threads, Calibration, CALIBRATION_VERSION};
use eigensweep_worker::data::TrainTest;
use eigensweep_worker::eigen::{
    top_k_eigenpairs, DiagonalOperator, EigenOptions, SymmetricOperator,
};
use eigensweep_worker::mlp::{evaluate, Architecture, HessianOperator, HessianOptions};
use eigensweep_worker::optim::{AdamConfig, OptimizerConfig, SamConfig, SgdConfig};
use eigensweep_worker::train::{DeviceData, TrainingEngine};

use super::best_of;
use super::training::one_thread;

/// Measures the calibration; `steps` training steps per timed repetition.
pub(crate) fn measure(
    data: &TrainTest,
    steps: usize,
    stamp: &str,
) -> anyhow::Result<(Calibration, String)> {
    let arch = Architecture::paper();
    let device = Device::Cpu;
    let train = DeviceData::new(&data.train, &arch, DType::F32, &device)?;
    let params = super::initial_params(&arch, &device)?;
    let mut rates = [0.0f64; 3];
    one_thread(|| -> anyhow::Result<()> {
        for (rate, config) in rates.iter_mut().zip([
            OptimizerConfig::Sgd(SgdConfig::default()),
            OptimizerConfig::Adam(AdamConfig::default()),
            OptimizerConfig::Sam(SamConfig::default()),
        ]) {
            *rate = super::training::steps_per_second(
                &params,
                &config,
                &train,
                steps,
                TrainingEngine::for_device(&Device::Cpu),
            )?;
        }
        Ok(())
    })?;

    let threads = candle_core::utils::get_num_threads();
    let n = arch.num_params();
    let samples = train.len();
    let per = threads as f64 / (samples as f64 * n as f64);
    // A product runs on one thread per chunk of samples at most (what `plan` divides by).
    let per_product = hessian_threads(samples as u64, threads) as f64 / (samples as f64 * n as f64);
    let mut op = None;
    let setup = best_of(3, || {
        op = Some(HessianOperator::new(
            &params,
            &train.x,
            &train.onehot,
            &HessianOptions::default(),
        )?);
        Ok(())
    })?;
    let mut op = op.expect("set up at least once");
    let v: Vec<f64> = (0..n)
        .map(|i| ((i * 7919) % 2001) as f64 / 1000.0 - 1.0)
        .collect();
    let mut out = vec![0.0; n];
    let hvp = best_of(3, || {
        op.apply_block(&v, &mut out, 1)
            .map_err(|e| anyhow::anyhow!(e))
    })?;
    let eval = best_of(3, || {
        evaluate(&params, &train.x, &train.onehot, 4096)?;
        Ok(())
    })?;
    // The solver's own work per product: a cold top-3 solve on a diagonal operator of the
    // network's N, whose products cost next to nothing beside it.
    let diagonal: Vec<f64> = (0..n).map(|i| 1.0 / (1.0 + i as f64)).collect();
    let mut diagonal = DiagonalOperator::new(diagonal);
    let options = EigenOptions {
        k: 3,
        tol: 1e-3,
        ..EigenOptions::default()
    };
    let mut solved = 0;
    let solve = best_of(3, || {
        solved = top_k_eigenpairs(&mut diagonal, &options, None)?.products;
        Ok(())
    })?;
    let block = (options.k + options.guard) as f64;
    let c = Calibration {
        version: CALIBRATION_VERSION,
        cpu: format!("{} ({threads} threads)", super::gpu::cpu_model()),
        measured: format!("eigensweep bench --calibrate, {stamp}, {samples} training images"),
        sgd_steps_per_second: rates[0],
        adam_steps_per_second: rates[1],
        sam_steps_per_second: rates[2],
        hvp_core_seconds: hvp * per_product,
        setup_core_seconds: setup * per,
        eval_core_seconds: eval * per,
        solver_core_seconds: solve / (solved.max(1) as f64 * n as f64 * block),
    };
    let mut report = String::new();
    let _ = writeln!(
        report,
        "| quantity | measured | calibration |\n|---|---|---|\n\
         | SGD step, batch 128, 1 thread | {:.0} steps/s | `sgd_steps_per_second` |\n\
         | Adam step | {:.0} steps/s | `adam_steps_per_second` |\n\
         | SAM step | {:.0} steps/s | `sam_steps_per_second` |\n\
         | one HVP, {samples} images, {threads} threads | {:.1} ms | `hvp_core_seconds` = {:.3e} per sample·parameter |\n\
         | snapshot set-up (loss, gradient, activations) | {:.1} ms | `setup_core_seconds` = {:.3e} |\n\
         | evaluation pass (loss and accuracy) | {:.1} ms | `eval_core_seconds` = {:.3e} |\n\
         | eigensolver's own work, top-3 ({solved} products, one thread) | {:.1} ms | `solver_core_seconds` = {:.3e} per product·parameter·column |\n",
        rates[0],
        rates[1],
        rates[2],
        hvp * 1e3,
        c.hvp_core_seconds,
        setup * 1e3,
        c.setup_core_seconds,
        eval * 1e3,
        c.eval_core_seconds,
        solve * 1e3,
        c.solver_core_seconds,
    );
    Ok((c, report))
}
