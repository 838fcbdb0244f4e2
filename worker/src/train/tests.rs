//! The host training engine against independent computations: the scalar f64 reference
//! gradient (`mlp::reference`), and the tensor engine step for step in f64 for every
//! optimiser, including the short last batch of an epoch and a resume from a checkpoint.

use candle_core::{DType, Tensor};

use super::*;
use crate::mlp::tests::{tensors, tiny, Tiny};
use crate::mlp::{reference, Architecture, CpuGradient};
use crate::optim::{AdamConfig, SamConfig, SgdConfig};

fn data(t: &Tiny, dtype: DType) -> (Params, DeviceData) {
    let (params, x, onehot) = tensors(t, dtype);
    (params, DeviceData { x, onehot })
}

fn max_rel_diff(a: &[f64], b: &[f64]) -> f64 {
    let scale = b.iter().fold(0.0f64, |m, v| m.max(v.abs())).max(1e-300);
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
        / scale
}

/// The same trainer (θ, optimiser, batch order) on the host and on the tensor engine.
fn both_engines(
    t: &Tiny,
    config: &OptimizerConfig,
    dtype: DType,
    batch: usize,
    seed: u64,
) -> (Trainer, Trainer) {
    let (params, d) = data(t, dtype);
    let host = Trainer::with_engine(
        params.clone(),
        config,
        d.clone(),
        batch,
        seed,
        TrainingEngine::Host,
    )
    .unwrap();
    let tensors =
        Trainer::with_engine(params, config, d, batch, seed, TrainingEngine::Tensors).unwrap();
    (host, tensors)
}

fn configs() -> [OptimizerConfig; 5] {
    [
        OptimizerConfig::Sgd(SgdConfig {
            lr: 0.2,
            ..SgdConfig::default()
        }),
        OptimizerConfig::Adam(AdamConfig {
            lr: 1e-2,
            ..AdamConfig::default()
        }),
        OptimizerConfig::Sam(SamConfig::sgd(0.2, 0.1)),
        OptimizerConfig::Sgd(SgdConfig {
            lr: 0.1,
            momentum: 0.9,
            nesterov: true,
            weight_decay: 1e-3,
            ..SgdConfig::default()
        }),
        OptimizerConfig::Sam(SamConfig {
            rho: 0.1,
            base: crate::optim::BaseOptimizer::Rmsprop(crate::optim::RmspropConfig {
                centered: true,
                momentum: 0.5,
                ..Default::default()
            }),
        }),
    ]
}

#[test]
fn host_gradient_matches_the_scalar_reference_on_a_gathered_batch() {
    let t = tiny(31, &[6, 5, 4, 3], 12);
    let indices = [7u32, 0, 11, 3, 3];
    let (x, onehot) = (t.x.clone(), {
        let mut y = vec![0.0; 12 * 3];
        for (i, &l) in t.labels.iter().enumerate() {
            y[i * 3 + l] = 1.0;
        }
        y
    });
    let mut kernel = CpuGradient::<f64>::new(&t.widths, 2);
    kernel.load_batch(&x, &onehot, &indices);
    let mut grad = vec![0.0; t.theta.len()];
    let loss = kernel.loss_and_gradient(&t.theta, &mut grad);
    let bx: Vec<f64> = indices
        .iter()
        .flat_map(|&i| t.x[i as usize * 6..(i as usize + 1) * 6].to_vec())
        .collect();
    let bl: Vec<usize> = indices.iter().map(|&i| t.labels[i as usize]).collect();
    let (ref_loss, ref_grad) = reference::loss_and_gradient(&t.widths, &t.theta, &bx, &bl);
    assert!((loss - ref_loss).abs() < 1e-13 * ref_loss.abs().max(1.0));
    assert!(max_rel_diff(&grad, &ref_grad) < 1e-12, "gradient differs");
    assert!(grad.iter().any(|g| g.abs() > 1e-3), "a real gradient");
}

#[test]
fn host_engine_follows_the_tensor_engine_for_every_optimiser_in_f64() {
    // 10 samples in batches of 4: every third step takes the short batch of 2.
    let t = tiny(32, &[6, 5, 4, 3], 10);
    for config in configs() {
        let (mut host, mut tensors) = both_engines(&t, &config, DType::F64, 4, 5);
        assert_eq!(host.engine(), TrainingEngine::Host);
        assert!(host.last_norms().unwrap().is_none(), "no step yet");
        for step in 1..=12 {
            let (a, b) = (host.step().unwrap(), tensors.step().unwrap());
            assert_eq!(a.step, step);
            assert!(
                (a.loss - b.loss).abs() < 1e-12 * b.loss.abs(),
                "{config:?} step {step}: loss {} vs {}",
                a.loss,
                b.loss
            );
            let h = host.last_step_vectors().unwrap().unwrap();
            let t = tensors.last_step_vectors().unwrap().unwrap();
            assert!(
                max_rel_diff(&h.gradient, &t.gradient) < 1e-11,
                "{config:?} gradient"
            );
            assert!(
                max_rel_diff(&h.update, &t.update) < 1e-9,
                "{config:?} update"
            );
            let (hn, tn) = (
                host.last_norms().unwrap().unwrap(),
                tensors.last_norms().unwrap().unwrap(),
            );
            assert!((hn.0 - tn.0).abs() < 1e-11 * tn.0 && (hn.1 - tn.1).abs() < 1e-9 * tn.1);
        }
        let (hp, tp) = (host.params_flat().unwrap(), tensors.params_flat().unwrap());
        assert!(max_rel_diff(&hp, &tp) < 1e-12, "{config:?} θ");
        assert!(max_rel_diff(&hp, &t.theta) > 1e-3, "{config:?} moved θ");
        assert_eq!(
            host.params().unwrap().to_flat().unwrap(),
            hp,
            "params() and params_flat() agree"
        );
        let (hs, tsv) = (
            host.optimizer_state().unwrap(),
            tensors.optimizer_state().unwrap(),
        );
        assert_eq!(hs.1, tsv.1, "{config:?} optimiser steps");
        assert_eq!(hs.0.len(), tsv.0.len());
        for (a, b) in hs.0.iter().zip(&tsv.0) {
            assert!(max_rel_diff(a, b) < 1e-11, "{config:?} optimiser state");
        }
    }
}

#[test]
fn host_engine_in_f32_stays_close_to_the_tensor_engine() {
    let t = tiny(33, &[6, 5, 4, 3], 16);
    for config in configs() {
        let (mut host, mut tensors) = both_engines(&t, &config, DType::F32, 8, 1);
        for _ in 0..10 {
            host.step().unwrap();
            tensors.step().unwrap();
        }
        let (hp, tp) = (host.params_flat().unwrap(), tensors.params_flat().unwrap());
        assert!(
            max_rel_diff(&hp, &tp) < 1e-5,
            "{config:?}: {}",
            max_rel_diff(&hp, &tp)
        );
    }
}

#[test]
fn host_engine_resumes_bit_identically_from_its_checkpoint_state() {
    let t = tiny(34, &[6, 5, 4, 3], 10);
    // A warm-up into a step decay, so that the resumed trainer must pick the schedule up at
    // the right step.
    let schedule = crate::optim::LrSchedule {
        warmup_steps: 3,
        decay: crate::optim::LrDecay::Step {
            every: 4,
            gamma: 0.5,
        },
    };
    for config in configs() {
        let (params, d) = data(&t, DType::F32);
        let mut straight = Trainer::new(params.clone(), &config, d.clone(), 4, 9)
            .unwrap()
            .with_schedule(schedule);
        let mut first = Trainer::new(params, &config, d.clone(), 4, 9)
            .unwrap()
            .with_schedule(schedule);
        for _ in 0..7 {
            straight.step().unwrap();
            first.step().unwrap();
        }
        let (optimizer_state, optimizer_steps) = first.optimizer_state().unwrap();
        let point = ResumePoint {
            step: first.steps(),
            position: first.order_position(),
            optimizer_state,
            optimizer_steps,
        };
        let arch = Architecture::new(t.widths.clone()).unwrap();
        let theta = Params::from_flat(
            &arch,
            &first.params_flat().unwrap(),
            DType::F32,
            &candle_core::Device::Cpu,
        )
        .unwrap();
        let mut resumed = Trainer::resume(theta, &config, d, (4, 9), &point, TrainingEngine::Host)
            .unwrap()
            .with_schedule(schedule);
        assert_eq!(resumed.steps(), 7);
        assert_eq!(resumed.next_lr(), straight.next_lr());
        assert_eq!(
            resumed.next_lr(),
            config.lr() * 0.5,
            "step 7: one decay after the warm-up"
        );
        for _ in 0..6 {
            let (a, b) = (straight.step().unwrap(), resumed.step().unwrap());
            assert_eq!(a.loss.to_bits(), b.loss.to_bits(), "{config:?}");
        }
        assert_eq!(
            straight.params_flat().unwrap(),
            resumed.params_flat().unwrap(),
            "{config:?}"
        );
    }
}

#[test]
fn host_engine_refuses_state_of_another_optimiser_and_other_dtypes() {
    let t = tiny(35, &[6, 5, 4, 3], 10);
    let (params, d) = data(&t, DType::F32);
    let adam = OptimizerConfig::Adam(AdamConfig::default());
    let point = ResumePoint {
        step: 3,
        position: OrderPosition {
            epoch: 0,
            offset: 3,
        },
        optimizer_state: vec![vec![0.0; 5]],
        optimizer_steps: 3,
    };
    let err = Trainer::resume(
        params.clone(),
        &adam,
        d.clone(),
        (4, 0),
        &point,
        TrainingEngine::Host,
    )
    .err()
    .expect("one tensor is not Adam's state");
    assert!(err.to_string().contains("adam state needs 2"), "{err}");
    let sgd = OptimizerConfig::Sgd(SgdConfig::default());
    let err = Trainer::resume(
        params.clone(),
        &sgd,
        d.clone(),
        (4, 0),
        &point,
        TrainingEngine::Host,
    )
    .err()
    .expect("SGD keeps no state");
    assert!(err.to_string().contains("keeps no state"), "{err}");
    let half = Params::from_flat_tensor(
        params.architecture(),
        &Tensor::zeros(
            params.architecture().num_params(),
            DType::F16,
            &candle_core::Device::Cpu,
        )
        .unwrap(),
    )
    .unwrap();
    let err = Trainer::new(half, &sgd, d, 4, 0)
        .err()
        .expect("f16 is refused");
    assert!(err.to_string().contains("f32 or f64"), "{err}");
}
