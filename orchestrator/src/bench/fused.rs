//! `eigensweep bench --fused`: training throughput of a fused ensemble (M runs stacked into
//! one step, `worker::train::EnsembleTrainer`) against one run at a time, on one device, in
//! one process, measured side by side (issue 24's curve for M = 1, 4, 16, 64).
//!
//! The unit is model-steps per second: M members each taking a step is M model-steps. One run
//! at a time is measured on the tensor engine (what a GPU runs) and, on the CPU, on the host
//! engine (what `run` trains with there).

use std::fmt::Write as _;
use std::time::Instant;

use candle_core::{DType, Device};
use eigensweep_common::device::DeviceRequest;
use eigensweep_worker::data::TrainTest;
use eigensweep_worker::mlp::{Architecture, BiasInit, Params};
use eigensweep_worker::optim::{AdamConfig, LrSchedule, OptimizerConfig, SgdConfig};
use eigensweep_worker::rng::{stream_rng, Stream};
use eigensweep_worker::train::{DeviceData, EnsembleTrainer, MemberSpec, TrainingEngine};

/// Model-steps per second of an ensemble of `members` runs of `config` (seeds 0…M−1, each its
/// own initial θ) at batch 128 on `device`: a few warm-up steps, then the best of two timed
/// stretches of `steps` ensemble steps (the losses read back once at the end of each, as a
/// log interval would).
fn ensemble_rate(
    arch: &Architecture,
    config: OptimizerConfig,
    train: &DeviceData,
    members: usize,
    steps: usize,
    device: &Device,
) -> anyhow::Result<f64> {
    let specs = (0..members)
        .map(|seed| {
            Ok(MemberSpec {
                params: Params::init(
                    arch,
                    BiasInit::Zero,
                    &mut stream_rng(seed as u64, Stream::Init, 0),
                    DType::F32,
                    device,
                )?,
                config,
                schedule: LrSchedule::default(),
                seed: seed as u64,
                resume: None,
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let mut ensemble = EnsembleTrainer::new(specs, train.clone(), 128)?;
    for _ in 0..3 {
        ensemble.step()?;
    }
    ensemble.losses()?;
    let mut best = 0.0f64;
    for _ in 0..2 {
        let t = Instant::now();
        for _ in 0..steps {
            ensemble.step()?;
        }
        ensemble.losses()?;
        best = best.max((steps * members) as f64 / t.elapsed().as_secs_f64());
    }
    Ok(best)
}

/// The Markdown section for `members` (e.g. 1, 4, 16, 64) on `request` (cpu or cuda[:N]).
pub(crate) fn measure(
    data: &TrainTest,
    request: DeviceRequest,
    members: &[usize],
    quick: bool,
) -> anyhow::Result<String> {
    let device = eigensweep_worker::device::open(request, 0)?.device;
    let arch = Architecture::paper();
    let train = DeviceData::new(&data.train, &arch, DType::F32, &device)?;
    let cpu = device.is_cpu();
    let budget = if quick { 200 } else { 2_000 };
    let mut out = format!(
        "### Fused ensembles: training throughput (784-100-100-10, batch 128, f32, {})\n\n\
         M runs stacked into one step (`EnsembleTrainer`) against one run at a time. Model-steps/s \
         = M × ensemble steps/s. Members have their own seeds and initial θ.\n\n",
        if cpu {
            format!(
                "CPU, {} threads for tensor work",
                candle_core::utils::get_num_threads()
            )
        } else {
            format!("device {request}")
        }
    );
    let params = super::initial_params(&arch, &device)?;
    for (name, config) in [
        ("SGD", OptimizerConfig::Sgd(SgdConfig::default())),
        ("Adam", OptimizerConfig::Adam(AdamConfig::default())),
    ] {
        let alone_steps = budget.max(100);
        let tensor = super::training::steps_per_second(
            &params,
            &config,
            &train,
            alone_steps,
            TrainingEngine::Tensors,
        )?;
        let host = if cpu {
            Some(super::training::steps_per_second(
                &params,
                &config,
                &train,
                alone_steps,
                TrainingEngine::Host,
            )?)
        } else {
            None
        };
        let _ = writeln!(
            out,
            "**{name}**: one run at a time, tensor engine {tensor:.0} steps/s{}.\n",
            host.map_or(String::new(), |h| format!(", host engine {h:.0} steps/s"))
        );
        let _ = writeln!(
            out,
            "| M | fused model-steps/s | / one run on the tensor engine |{}\n|---|---|---|{}",
            if cpu {
                " / one run on the host engine |"
            } else {
                ""
            },
            if cpu { "---|" } else { "" }
        );
        for &m in members {
            crate::console::note!("fused {name}, M = {m} …");
            let steps = (budget / m).max(10);
            let rate = ensemble_rate(&arch, config, &train, m, steps, &device)?;
            let _ = writeln!(
                out,
                "| {m} | {rate:.0} | {:.2}× |{}",
                rate / tensor,
                host.map_or(String::new(), |h| format!(" {:.2}× |", rate / h))
            );
        }
        out.push('\n');
    }
    Ok(out)
}
