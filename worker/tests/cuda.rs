//! The CUDA device against the CPU on the same θ (issue 13): Hessian-vector products, the
//! top-3 eigenpairs, the training step of every optimiser and the full-data evaluation.
//!
//! Tolerances are f32's: eigenvalues within 1e-4 relative, eigenvectors |cos| > 0.999,
//! products within 1e-4 relative in norm. The CPU side runs the fused CPU engine, the GPU
//! side candle's tensor operations through cuBLAS, so the two are independent computations of
//! the same quantity; both are also held against the f64 CPU product.
//!
//! Without the `cuda` feature or without a GPU every test here says why it skipped and
//! passes, unless `EIGENSWEEP_REQUIRE_CUDA=1` is set (on a GPU node: `cluster/gpu-check.sh`),
//! in which case it fails instead.

use candle_core::{DType, Device};
use eigensweep_common::device::DeviceRequest;
use eigensweep_worker::data::synthetic;
use eigensweep_worker::device;
use eigensweep_worker::mlp::{
    evaluate, Architecture, BiasInit, HessianOperator, HessianOptions, Params,
};
use eigensweep_worker::optim::{AdamConfig, OptimizerConfig, SamConfig, SgdConfig};
use eigensweep_worker::rng::{stream_rng, Stream};
use eigensweep_worker::snapshot::{eigen_snapshot, SnapshotSettings};
use eigensweep_worker::train::{DeviceData, Trainer};

/// The GPU, or `None` (after saying why) when the test should skip.
fn gpu() -> Option<Device> {
    let required = std::env::var("EIGENSWEEP_REQUIRE_CUDA").is_ok_and(|v| v == "1");
    match device::open(DeviceRequest::Cuda(None), 0) {
        Ok(d) => {
            eprintln!("GPU test on {}", d.label);
            Some(d.device)
        }
        Err(e) if required => panic!("EIGENSWEEP_REQUIRE_CUDA=1 but no GPU: {e}"),
        Err(e) => {
            eprintln!("SKIPPED (no GPU; set EIGENSWEEP_REQUIRE_CUDA=1 to fail instead): {e}");
            None
        }
    }
}

fn rel(a: &[f64], b: &[f64]) -> f64 {
    let num: f64 = a
        .iter()
        .zip(b)
        .map(|(x, y)| (x - y).powi(2))
        .sum::<f64>()
        .sqrt();
    let den: f64 = b.iter().map(|y| y * y).sum::<f64>().sqrt();
    num / den.max(f64::MIN_POSITIVE)
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// A 784-100-100-10 network a few SGD steps into training on 3,000 synthetic digits-shaped
/// samples, on both devices, with the data on each.
struct Setup {
    arch: Architecture,
    theta: Vec<f64>,
    cpu: DeviceData,
    gpu: DeviceData,
}

fn setup(gpu_device: Device) -> Setup {
    let data = synthetic(3000, 500, 7);
    let arch = Architecture::new(vec![data.train.dim, 100, 100, data.train.classes]).unwrap();
    let cpu = DeviceData::new(&data.train, &arch, DType::F32, &Device::Cpu).unwrap();
    let gpu = DeviceData::new(&data.train, &arch, DType::F32, &gpu_device).unwrap();
    // θ after 200 SGD steps on the CPU: past initialisation, where eigenvalues separate.
    let init = Params::init(
        &arch,
        BiasInit::Zero,
        &mut stream_rng(3, Stream::Init, 0),
        DType::F32,
        &Device::Cpu,
    )
    .unwrap();
    let config = OptimizerConfig::Sgd(SgdConfig {
        lr: 0.05,
        ..SgdConfig::default()
    });
    let mut t = Trainer::new(init.clone(), &config, cpu.clone(), 128, 3).unwrap();
    for _ in 0..200 {
        t.step().unwrap();
    }
    Setup {
        theta: t.params_flat().unwrap(),
        arch,
        cpu,
        gpu,
    }
}

#[test]
fn hessian_vector_products_match_the_cpu() {
    let Some(dev) = gpu() else { return };
    let s = setup(dev.clone());
    let n = s.arch.num_params();
    let v: Vec<f64> = (0..n)
        .map(|i| ((i * 7919 % 1000) as f64 / 500.0) - 1.0)
        .collect();
    let product = |device: &Device, data: &DeviceData, dtype: DType| -> Vec<f64> {
        let p = Params::from_flat(&s.arch, &s.theta, dtype, device).unwrap();
        let x = data.x.to_dtype(dtype).unwrap();
        let y = data.onehot.to_dtype(dtype).unwrap();
        let mut op = HessianOperator::new(&p, &x, &y, &HessianOptions::default()).unwrap();
        let vp = Params::from_flat(&s.arch, &v, dtype, device).unwrap();
        op.product(&vp).unwrap().to_flat().unwrap()
    };
    let reference = product(&Device::Cpu, &s.cpu, DType::F64);
    let cpu = product(&Device::Cpu, &s.cpu, DType::F32);
    let gpu = product(&dev, &s.gpu, DType::F32);
    let (e_cpu, e_gpu, e_both) = (
        rel(&cpu, &reference),
        rel(&gpu, &reference),
        rel(&gpu, &cpu),
    );
    eprintln!(
        "HVP relative error: CPU f32 {e_cpu:.2e}, GPU f32 {e_gpu:.2e}, GPU vs CPU {e_both:.2e}"
    );
    assert!(
        e_gpu < 1e-4 && e_both < 1e-4,
        "GPU HVP off: {e_gpu:.2e} vs f64, {e_both:.2e} vs CPU"
    );
    // Also in f64 on the GPU (candle's CUDA kernels have f64 variants).
    let gpu64 = product(&dev, &s.gpu, DType::F64);
    assert!(
        rel(&gpu64, &reference) < 1e-10,
        "GPU f64 HVP off by {:.2e}",
        rel(&gpu64, &reference)
    );
}

#[test]
fn top3_eigenpairs_match_the_cpu() {
    let Some(dev) = gpu() else { return };
    let s = setup(dev.clone());
    let settings = SnapshotSettings {
        top_k: 3,
        tol: 1e-5,
        max_products: 600,
        ..SnapshotSettings::default()
    };
    let snap = |device: &Device, data: &DeviceData| {
        let p = Params::from_flat(&s.arch, &s.theta, DType::F32, device).unwrap();
        eigen_snapshot(&p, data, &settings, 0, 0, None).unwrap()
    };
    let cpu = snap(&Device::Cpu, &s.cpu);
    let gpu = snap(&dev, &s.gpu);
    for (i, (c, g)) in cpu.eigen.pairs.iter().zip(&gpu.eigen.pairs).enumerate() {
        let rel_value = ((g.value - c.value) / c.value).abs();
        let cos = dot(&c.vector, &g.vector).abs();
        eprintln!(
            "λ{}: CPU {:.6e} GPU {:.6e} (rel {rel_value:.1e}), |cos| {cos:.6}, products {} / {}",
            i + 1,
            c.value,
            g.value,
            cpu.eigen.products,
            gpu.eigen.products
        );
        assert!(rel_value < 1e-4, "λ{} differs by {rel_value:.2e}", i + 1);
        assert!(cos > 0.999, "v{} |cos| = {cos}", i + 1);
        assert!(g.converged, "GPU pair {} not converged", i + 1);
    }
    assert!((cpu.loss - gpu.loss).abs() < 1e-5 * cpu.loss.abs().max(1.0));
    assert!(rel(&gpu.full_gradient, &cpu.full_gradient) < 1e-4);
}

#[test]
fn training_steps_and_evaluation_match_the_cpu() {
    let Some(dev) = gpu() else { return };
    let s = setup(dev.clone());
    let data = synthetic(3000, 500, 7);
    for config in [
        OptimizerConfig::Sgd(SgdConfig {
            lr: 0.05,
            ..SgdConfig::default()
        }),
        OptimizerConfig::Adam(AdamConfig::default()),
        OptimizerConfig::Sam(SamConfig::default()),
    ] {
        let run = |device: &Device, train: &DeviceData| {
            let p = Params::from_flat(&s.arch, &s.theta, DType::F32, device).unwrap();
            let mut t = Trainer::new(p.clone(), &config, train.clone(), 128, 11).unwrap();
            let mut losses = Vec::new();
            for _ in 0..50 {
                losses.push(t.step().unwrap().loss);
            }
            let test = DeviceData::new(&data.test, &s.arch, DType::F32, device).unwrap();
            let eval = evaluate(&t.params().unwrap(), &test.x, &test.onehot, 4096).unwrap();
            (t.params_flat().unwrap(), losses, eval)
        };
        let (theta_c, loss_c, eval_c) = run(&Device::Cpu, &s.cpu);
        let (theta_g, loss_g, eval_g) = run(&dev, &s.gpu);
        let drift = rel(&theta_g, &theta_c);
        let worst_loss = loss_c
            .iter()
            .zip(&loss_g)
            .map(|(a, b)| ((a - b) / a).abs())
            .fold(0.0, f64::max);
        eprintln!("{config:?}: θ after 50 steps rel diff {drift:.2e}, worst step loss rel diff {worst_loss:.2e}, test loss {:.6} / {:.6}", eval_c.0, eval_g.0);
        assert!(drift < 1e-4, "{config:?}: θ drifted {drift:.2e}");
        assert!(
            worst_loss < 1e-4,
            "{config:?}: loss differs by {worst_loss:.2e}"
        );
        assert!(((eval_c.0 - eval_g.0) / eval_c.0).abs() < 1e-4);
        assert!(
            (eval_c.1 - eval_g.1).abs() <= 1.0 / 500.0 + 1e-12,
            "accuracy {} vs {}",
            eval_c.1,
            eval_g.1
        );
    }
}

#[test]
fn a_launcher_slot_picks_a_gpu_modulo_the_visible_ones() {
    let Some(_) = gpu() else { return };
    let visible = device::visible_gpus().unwrap();
    for slot in 0..(2 * visible) {
        let d = device::open(DeviceRequest::Cuda(None), slot).unwrap();
        assert_eq!(
            device::short_label(&d.device),
            format!("cuda:{}", slot % visible)
        );
    }
    let err = device::open(DeviceRequest::Cuda(Some(visible)), 0).unwrap_err();
    assert!(err.to_string().contains("does not exist"), "{err}");
}
