//! Training steps per second at batch 128 on one thread, for the hand-written step of each
//! optimiser and, as the reference point, the same SGD step through candle's autograd.

use std::fmt::Write as _;
use std::time::Instant;

use candle_core::{DType, Device, Tensor, Var, D};
use eigensweep_worker::data::TrainTest;
use eigensweep_worker::mlp::{Architecture, Params};
use eigensweep_worker::optim::{
    AdamConfig, BaseOptimizer, OptimizerConfig, RmspropConfig, SamConfig, SgdConfig,
};
use eigensweep_worker::train::{DeviceData, Trainer, TrainingEngine};

/// The Markdown section, and the host engine's SGD, Adam and SAM rates.
pub(crate) fn measure(data: &TrainTest, steps: usize) -> anyhow::Result<(String, [f64; 3])> {
    one_thread(|| measure_single_thread(data, steps))
}

/// Runs `f` with candle's CPU work on one thread (it reads `RAYON_NUM_THREADS` at every
/// operation), then restores the setting.
pub(crate) fn one_thread<T>(f: impl FnOnce() -> T) -> T {
    let previous = std::env::var("RAYON_NUM_THREADS").ok();
    std::env::set_var("RAYON_NUM_THREADS", "1");
    let result = f();
    match previous {
        Some(v) => std::env::set_var("RAYON_NUM_THREADS", v),
        None => std::env::remove_var("RAYON_NUM_THREADS"),
    }
    result
}

fn measure_single_thread(data: &TrainTest, steps: usize) -> anyhow::Result<(String, [f64; 3])> {
    let arch = Architecture::paper();
    let device = Device::Cpu;
    let train = DeviceData::new(&data.train, &arch, DType::F32, &device)?;
    let params = super::initial_params(&arch, &device)?;
    let mut out = String::from(
        "### Training step (batch 128, 1 thread, f32)\n\n\
         The host engine (fused `gemm` calls and one optimiser pass on host vectors) is what \
         `run` trains with on the CPU; the tensor engine (candle operations) is what CUDA runs, here on \
         the CPU for comparison.\n\n\
         | optimiser | host engine, steps/s | tensor engine, steps/s | host / tensor |\n|---|---|---|---|\n",
    );
    let mut rates = [0.0; 3];
    for (i, (name, config)) in [
        ("SGD", OptimizerConfig::Sgd(SgdConfig::default())),
        ("Adam", OptimizerConfig::Adam(AdamConfig::default())),
        (
            "SAM (two gradients per step)",
            OptimizerConfig::Sam(SamConfig::default()),
        ),
        // Beyond the study (issue 14): the same rules file, more state per parameter.
        (
            "SGD, momentum 0.9, weight decay 1e-4",
            OptimizerConfig::Sgd(SgdConfig {
                momentum: 0.9,
                weight_decay: 1e-4,
                ..SgdConfig::default()
            }),
        ),
        ("AdamW", OptimizerConfig::Adam(AdamConfig::adamw())),
        (
            "RMSprop, centred, momentum 0.9",
            OptimizerConfig::Rmsprop(RmspropConfig {
                centered: true,
                momentum: 0.9,
                ..RmspropConfig::default()
            }),
        ),
        (
            "SAM on Adam",
            OptimizerConfig::Sam(SamConfig {
                base: BaseOptimizer::Adam(AdamConfig::default()),
                ..SamConfig::default()
            }),
        ),
    ]
    .into_iter()
    .enumerate()
    {
        // Interleaved, so that a slow spell of the shared machine hits both engines.
        let (mut host, mut tensors) = (0.0f64, 0.0f64);
        for _ in 0..2 {
            host = host.max(steps_per_second(
                &params,
                &config,
                &train,
                steps,
                TrainingEngine::Host,
            )?);
            tensors = tensors.max(steps_per_second(
                &params,
                &config,
                &train,
                steps,
                TrainingEngine::Tensors,
            )?);
        }
        if let Some(rate) = rates.get_mut(i) {
            *rate = host;
        }
        let _ = writeln!(
            out,
            "| {name} | {host:.0} | {tensors:.0} | {:.2}× |",
            host / tensors
        );
    }
    let (bound, gflops) = gemm_bound_rate(&data.train.images, 500);
    let autograd = autograd_sgd_rate(&train, &params, steps)?;
    let _ = writeln!(
        out,
        "\n| reference | steps/s |\n|---|---|\n\
         | GEMM bound: the SGD step's 8 matrix products alone ({:.1} MFLOP at {gflops:.0} GFLOP/s) | {bound:.0} |\n\
         | SGD through candle autograd | {autograd:.0} |",
        SGD_STEP_FLOPS / 1e6
    );
    let _ = writeln!(
        out,
        "\nHost-engine SGD step / GEMM bound: **{:.0} %** (issue 12's target: ≥ 70 %); / autograd step: **{:.2}×**.\n",
        100.0 * rates[0] / bound,
        rates[0] / autograd,
    );
    Ok((out, rates))
}

/// Training steps per second of `config` at batch 128 from `params` on `engine`, on the
/// calling thread's settings: 20 warm-up steps, then the best of three runs of `steps`.
pub(crate) fn steps_per_second(
    params: &Params,
    config: &OptimizerConfig,
    train: &DeviceData,
    steps: usize,
    engine: TrainingEngine,
) -> anyhow::Result<f64> {
    let mut trainer = Trainer::with_engine(params.clone(), config, train.clone(), 128, 0, engine)?;
    for _ in 0..20 {
        trainer.step()?;
    }
    let mut best = 0.0f64;
    for _ in 0..3 {
        let t = Instant::now();
        for _ in 0..steps {
            trainer.step()?;
        }
        best = best.max(steps as f64 / t.elapsed().as_secs_f64());
    }
    Ok(best)
}

/// Floating-point operations of the matrix products of one SGD step of 784-100-100-10 at
/// batch 128: forward `X·W₁ᵀ`, `A₁·W₂ᵀ`, `A₂·W₃ᵀ`; backward the three weight gradients `δᵀ·A`
/// and the two back-propagated errors `δ₃·W₃`, `δ₂·W₂` (2 · 128 · (2 · 78,400 + 3 · 10,000 +
/// 3 · 1,000)).
const SGD_STEP_FLOPS: f64 = 2.0 * 128.0 * (2.0 * 78_400.0 + 3.0 * 10_000.0 + 3.0 * 1_000.0);

/// The rate (steps/s) at which one thread does nothing but the 8 matrix products of an SGD
/// step (with the `gemm` library the CPU engines use), and its GFLOP/s: the bound a training
/// step's other work (activations, softmax, the update, allocation) is measured against, and
/// the machine's speed that `plan` scales the built-in calibration by. `images`: at least 128
/// of 784 values; best of 3 rounds of `reps` steps, after `reps / 10` (at least 5) unmeasured.
pub(crate) fn gemm_bound_rate(images: &[f32], reps: usize) -> (f64, f64) {
    use super::hvp::gemm_f32;
    let b = 128;
    let x = &images[..b * 784];
    let w1: Vec<f32> = (0..100 * 784)
        .map(|i| ((i % 97) as f32 - 48.0) * 1e-3)
        .collect();
    let w2: Vec<f32> = (0..100 * 100)
        .map(|i| ((i % 89) as f32 - 44.0) * 1e-3)
        .collect();
    let w3: Vec<f32> = (0..10 * 100)
        .map(|i| ((i % 83) as f32 - 41.0) * 1e-3)
        .collect();
    let (mut z1, mut z2, mut z3) = (vec![0f32; b * 100], vec![0f32; b * 100], vec![0f32; b * 10]);
    let (mut g1, mut g2, mut g3) = (
        vec![0f32; 100 * 784],
        vec![0f32; 100 * 100],
        vec![0f32; 10 * 100],
    );
    let (mut d2, mut d1) = (vec![0f32; b * 100], vec![0f32; b * 100]);
    let mut step = || {
        gemm_f32(b, 100, 784, &mut z1, x, (784, 1), &w1, (1, 784), 1);
        gemm_f32(b, 100, 100, &mut z2, &z1, (100, 1), &w2, (1, 100), 1);
        gemm_f32(b, 10, 100, &mut z3, &z2, (100, 1), &w3, (1, 100), 1);
        gemm_f32(10, 100, b, &mut g3, &z3, (1, 10), &z2, (100, 1), 1);
        gemm_f32(b, 100, 10, &mut d2, &z3, (10, 1), &w3, (100, 1), 1);
        gemm_f32(100, 100, b, &mut g2, &d2, (1, 100), &z1, (100, 1), 1);
        gemm_f32(b, 100, 100, &mut d1, &d2, (100, 1), &w2, (100, 1), 1);
        gemm_f32(100, 784, b, &mut g1, &d1, (1, 100), x, (784, 1), 1);
    };
    for _ in 0..(reps / 10).max(5) {
        step();
    }
    let reps = reps.max(1);
    let mut best = f64::INFINITY;
    for _ in 0..3 {
        let t = Instant::now();
        for _ in 0..reps {
            step();
        }
        best = best.min(t.elapsed().as_secs_f64() / reps as f64);
    }
    (1.0 / best, SGD_STEP_FLOPS / best / 1e9)
}

/// The same SGD step written with candle `Var`s and `backward()`.
fn autograd_sgd_rate(train: &DeviceData, params: &Params, steps: usize) -> anyhow::Result<f64> {
    let vars: Vec<Var> = params
        .tensors()
        .map(Var::from_tensor)
        .collect::<candle_core::Result<_>>()?;
    let layers = vars.len() / 2;
    let step = |batch: usize| -> anyhow::Result<()> {
        let n = train.len();
        let idx: Vec<u32> = (0..128).map(|i| ((batch * 128 + i) % n) as u32).collect();
        let (x, y) = train.batch(&idx)?;
        let mut a = x;
        for l in 0..layers {
            let z = a
                .matmul(&vars[2 * l].as_tensor().t()?)?
                .broadcast_add(vars[2 * l + 1].as_tensor())?;
            a = if l + 1 < layers { z.relu()? } else { z };
        }
        let m = a.max_keepdim(D::Minus1)?;
        let lse = (a.broadcast_sub(&m)?.exp()?.sum_keepdim(D::Minus1)?.log()? + m)?;
        let loss = (lse - (&a * &y)?.sum_keepdim(D::Minus1)?)?.mean_all()?;
        let grads = loss.backward()?;
        for v in &vars {
            let g = grads
                .get(v)
                .ok_or_else(|| anyhow::anyhow!("missing gradient"))?;
            v.set(&(v.as_tensor() - (g * 1e-2)?)?)?;
        }
        Ok(())
    };
    for b in 0..20 {
        step(b)?;
    }
    let mut best = 0.0f64;
    for _ in 0..3 {
        let t = Instant::now();
        for b in 0..steps {
            step(b)?;
        }
        best = best.max(steps as f64 / t.elapsed().as_secs_f64());
    }
    let _ = Tensor::zeros(1, DType::F32, &Device::Cpu)?;
    Ok(best)
}
