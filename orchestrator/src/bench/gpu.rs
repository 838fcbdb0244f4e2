//! `eigensweep bench --gpu`: the CUDA device against this machine's CPU in one run (issue 13):
//! one Hessian-vector product on `samples` images, training steps per second at batch 128, one
//! top-3 snapshot at initialisation, throughput with 1, 2 and 4 runs sharing the GPU, and
//! whether the same work twice on the GPU gives the same bits.
//!
//! GPU times include the copy of each product's result vector back to the host (what the
//! eigensolver pays); the training step includes its per-step loss read-back (what a run pays
//! for its metrics row).

use std::fmt::Write as _;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use candle_core::{DType, Device};
use eigensweep_common::device::DeviceRequest;
use eigensweep_worker::data::TrainTest;
use eigensweep_worker::device::{self, OpenedDevice};
use eigensweep_worker::eigen::SymmetricOperator;
use eigensweep_worker::mlp::{Architecture, HessianOperator, HessianOptions};
use eigensweep_worker::optim::{AdamConfig, OptimizerConfig, SamConfig, SgdConfig};
use eigensweep_worker::snapshot::{eigen_snapshot_interruptible, SnapshotSettings};
use eigensweep_worker::train::{DeviceData, Trainer};

use super::best_of;
use super::hvp::tiled;

/// The CPU model as `/proc/cpuinfo` names it (as in every output's provenance).
pub(crate) fn cpu_model() -> String {
    eigensweep_common::provenance::cpu_model().to_string()
}

/// Seconds per product, single vector and per vector in a block of 5 (best of `reps`).
fn hvp_seconds(
    arch: &Architecture,
    data: &DeviceData,
    device: &Device,
    reps: usize,
) -> anyhow::Result<(f64, f64)> {
    let params = super::initial_params(arch, device)?;
    let mut op = HessianOperator::new(&params, &data.x, &data.onehot, &HessianOptions::default())?;
    let n = arch.num_params();
    let v: Vec<f64> = (0..5 * n)
        .map(|i| ((i % 97) as f64 - 48.0) / 48.0)
        .collect();
    let mut out = vec![0.0; 5 * n];
    let e = |e| anyhow::anyhow!("{e}");
    op.apply_block(&v[..n], &mut out[..n], 1).map_err(e)?; // warm-up (kernels, cuBLAS handles)
    let one = best_of(reps, || {
        op.apply_block(&v[..n], &mut out[..n], 1).map_err(e)
    })?;
    let five = best_of(reps, || op.apply_block(&v, &mut out, 5).map_err(e))? / 5.0;
    Ok((one, five))
}

/// Steps per second of `config` at batch 128 over `steps` steps (after 20 warm-up steps).
fn steps_per_second(
    arch: &Architecture,
    train: &DeviceData,
    device: &Device,
    config: &OptimizerConfig,
    steps: usize,
) -> anyhow::Result<f64> {
    let params = super::initial_params(arch, device)?;
    let mut t = Trainer::new(params.clone(), config, train.clone(), 128, 0)?;
    for _ in 0..20 {
        t.step()?;
    }
    let clock = Instant::now();
    for _ in 0..steps {
        t.step()?;
    }
    Ok(steps as f64 / clock.elapsed().as_secs_f64())
}

/// A top-3 snapshot at initialisation, tol 1e-3: (products, seconds).
fn snapshot(
    arch: &Architecture,
    data: &DeviceData,
    device: &Device,
) -> anyhow::Result<(usize, f64, Vec<f64>)> {
    let params = super::initial_params(arch, device)?;
    let settings = SnapshotSettings::default();
    let clock = Instant::now();
    let s = eigen_snapshot_interruptible(
        &params,
        data,
        &settings,
        0,
        0,
        None,
        &AtomicBool::new(false),
    )?;
    Ok((
        s.eigen.products,
        clock.elapsed().as_secs_f64(),
        s.eigen.pairs.iter().map(|p| p.value).collect(),
    ))
}

/// One "run" of `steps` SGD steps and one top-3 snapshot on the 60k Hessian, on its own
/// thread's stream of GPU `ordinal`.
fn mini_run(
    request: DeviceRequest,
    data: &TrainTest,
    hessian: &TrainTest,
    steps: usize,
) -> anyhow::Result<()> {
    let OpenedDevice { device, .. } = device::open(request, 0)?;
    let arch = Architecture::paper();
    let train = DeviceData::new(&data.train, &arch, DType::F32, &device)?;
    let h = DeviceData::new(&hessian.train, &arch, DType::F32, &device)?;
    let params = super::initial_params(&arch, &device)?;
    let config = OptimizerConfig::Sgd(SgdConfig::default());
    let mut t = Trainer::new(params.clone(), &config, train, 128, 0)?;
    for _ in 0..steps {
        t.step()?;
    }
    let settings = SnapshotSettings::default();
    eigen_snapshot_interruptible(
        &t.params()?,
        &h,
        &settings,
        0,
        0,
        None,
        &AtomicBool::new(false),
    )?;
    Ok(())
}

/// The whole GPU report (Markdown).
pub(crate) fn measure(
    request: DeviceRequest,
    data: &TrainTest,
    samples: usize,
    quick: bool,
) -> anyhow::Result<String> {
    let gpu = device::open(request, 0)?;
    let arch = Architecture::paper();
    let threads = candle_core::utils::get_num_threads();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "GPU: {}. CPU: {} ({} threads for CPU tensor work). Data: {} train images, tiled to {samples} for the Hessian.\n",
        gpu.label,
        cpu_model(),
        threads,
        data.train.len
    );
    let big = tiled(data, samples)?;
    let big = TrainTest {
        train: big.clone(),
        test: big,
    };
    let reps = if quick { 2 } else { 5 };

    crate::console::note!("[gpu 1/5] Hessian-vector product …");
    let h_gpu = DeviceData::new(&big.train, &arch, DType::F32, &gpu.device)?;
    let h_cpu = DeviceData::new(&big.train, &arch, DType::F32, &Device::Cpu)?;
    let (g1, g5) = hvp_seconds(&arch, &h_gpu, &gpu.device, reps)?;
    let (c1, c5) = hvp_seconds(&arch, &h_cpu, &Device::Cpu, reps.min(3))?;
    let _ = writeln!(
        out,
        "### One Hessian-vector product, {samples} samples, f32\n\n| | single vector | per vector in a block of 5 |\n|---|---|---|\n| GPU | {:.2} ms | {:.2} ms |\n| CPU ({threads} threads) | {:.1} ms | {:.1} ms |\n| CPU / GPU | {:.1}× | {:.1}× |\n",
        g1 * 1e3,
        g5 * 1e3,
        c1 * 1e3,
        c5 * 1e3,
        c1 / g1,
        c5 / g5
    );

    crate::console::note!("[gpu 2/5] training steps per second …");
    let steps = if quick { 200 } else { 2000 };
    let t_gpu = DeviceData::new(&data.train, &arch, DType::F32, &gpu.device)?;
    let t_cpu = DeviceData::new(&data.train, &arch, DType::F32, &Device::Cpu)?;
    let _ = writeln!(
        out,
        "### Training steps per second (batch 128, f32, per-step loss read back)\n\n| optimiser | GPU | CPU ({threads} threads) | CPU (1 thread) | GPU / CPU {threads} threads | GPU / CPU 1 thread |\n|---|---|---|---|---|---|"
    );
    for (name, config) in [
        ("SGD", OptimizerConfig::Sgd(SgdConfig::default())),
        ("Adam", OptimizerConfig::Adam(AdamConfig::default())),
        ("SAM", OptimizerConfig::Sam(SamConfig::default())),
    ] {
        let g = steps_per_second(&arch, &t_gpu, &gpu.device, &config, steps)?;
        let c = steps_per_second(&arch, &t_cpu, &Device::Cpu, &config, steps / 2)?;
        // One CPU thread is the CPU's best rate at batch 128 (more threads only add overhead
        // on such small products) and what a run per core gets in a sweep.
        let c1 = super::training::one_thread(|| {
            steps_per_second(&arch, &t_cpu, &Device::Cpu, &config, steps / 2)
        })?;
        let _ = writeln!(
            out,
            "| {name} | {g:.0} | {c:.0} | {c1:.0} | {:.2}× | {:.2}× |",
            g / c,
            g / c1
        );
    }
    out.push('\n');

    crate::console::note!("[gpu 3/5] a top-3 snapshot at initialisation …");
    let (gp, gs, gv) = snapshot(&arch, &h_gpu, &gpu.device)?;
    let (cp, cs, cv) = snapshot(&arch, &h_cpu, &Device::Cpu)?;
    let worst = gv
        .iter()
        .zip(&cv)
        .map(|(g, c)| ((g - c) / c).abs())
        .fold(0.0, f64::max);
    let _ = writeln!(
        out,
        "### One top-3 snapshot at initialisation (tol 1e-3, {samples} samples)\n\n| | products | seconds |\n|---|---|---|\n| GPU | {gp} | {gs:.2} |\n| CPU | {cp} | {cs:.2} |\n\nEigenvalues GPU vs CPU: worst relative difference {worst:.1e} (λ1 = {:.5e} / {:.5e}).\n",
        gv.first().copied().unwrap_or(f64::NAN),
        cv.first().copied().unwrap_or(f64::NAN)
    );

    crate::console::note!("[gpu 4/5] runs sharing one GPU …");
    let run_steps = if quick { 300 } else { 2000 };
    let _ = writeln!(
        out,
        "### Runs sharing one GPU (each: {run_steps} SGD steps + one top-3 snapshot on {samples} samples, own thread and stream)\n\n| runs at once | wall seconds | runs per minute | throughput vs 1 |\n|---|---|---|---|"
    );
    let ordinal = device::short_label(&gpu.device);
    let shared: DeviceRequest = ordinal.parse().map_err(anyhow::Error::new)?;
    let mut base = 0.0;
    for k in [1usize, 2, 4] {
        let clock = Instant::now();
        std::thread::scope(|scope| -> anyhow::Result<()> {
            let handles: Vec<_> = (0..k)
                .map(|_| scope.spawn(|| mini_run(shared, data, &big, run_steps)))
                .collect();
            for h in handles {
                h.join()
                    .map_err(|_| anyhow::anyhow!("a benchmark run panicked"))??;
            }
            Ok(())
        })?;
        let wall = clock.elapsed().as_secs_f64();
        let per_min = k as f64 * 60.0 / wall;
        if k == 1 {
            base = per_min;
        }
        let _ = writeln!(
            out,
            "| {k} | {wall:.1} | {per_min:.1} | {:.2}× |",
            per_min / base
        );
    }
    out.push('\n');

    crate::console::note!("[gpu 5/5] bit-reproducibility on the GPU …");
    let again = |device: &Device| -> anyhow::Result<(Vec<f64>, Vec<f64>)> {
        let params = super::initial_params(&arch, device)?;
        let config = OptimizerConfig::Adam(AdamConfig::default());
        let mut t = Trainer::new(params.clone(), &config, t_gpu.clone(), 128, 0)?;
        for _ in 0..200 {
            t.step()?;
        }
        let s = eigen_snapshot_interruptible(
            &t.params()?,
            &h_gpu,
            &SnapshotSettings::default(),
            0,
            0,
            None,
            &AtomicBool::new(false),
        )?;
        Ok((
            t.params_flat()?,
            s.eigen.pairs.iter().map(|p| p.value).collect(),
        ))
    };
    let (theta_a, values_a) = again(&gpu.device)?;
    let (theta_b, values_b) = again(&gpu.device)?;
    let theta_diff = theta_a
        .iter()
        .zip(&theta_b)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    let _ = writeln!(
        out,
        "### Bit-reproducibility\n\nThe same 200 Adam steps and top-3 snapshot twice on the GPU: θ {} (max |Δθ| = {theta_diff:.1e}), eigenvalues {}.\n",
        if theta_a == theta_b { "bit-identical" } else { "NOT bit-identical" },
        if values_a == values_b { "bit-identical" } else { "NOT bit-identical" },
    );
    Ok(out)
}
