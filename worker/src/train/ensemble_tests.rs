//! A fused ensemble against the same runs trained one at a time on the tensor engine: every
//! optimiser, mixed in one ensemble, with short last batches, in f32 and f64, across a member's
//! removal and a resume. Equality is to the bit (the module's docs say why it can be).

use candle_core::DType;

use super::ensemble::{EnsembleTrainer, MemberSpec};
use super::*;
use crate::mlp::tests::{tensors, tiny};
use crate::optim::{AdamConfig, BaseOptimizer, LrDecay, RmspropConfig, SamConfig, SgdConfig};

/// Every optimiser kind the sweep offers, including SAM on two bases.
fn configs() -> Vec<OptimizerConfig> {
    vec![
        OptimizerConfig::Sgd(SgdConfig {
            lr: 0.2,
            ..SgdConfig::default()
        }),
        OptimizerConfig::Sgd(SgdConfig {
            lr: 0.1,
            momentum: 0.9,
            nesterov: true,
            weight_decay: 1e-3,
            ..SgdConfig::default()
        }),
        OptimizerConfig::Adam(AdamConfig {
            lr: 1e-2,
            ..AdamConfig::default()
        }),
        OptimizerConfig::Adam(AdamConfig {
            lr: 1e-2,
            weight_decay: 1e-2,
            decoupled: true,
            ..AdamConfig::default()
        }),
        OptimizerConfig::Rmsprop(RmspropConfig {
            lr: 1e-2,
            momentum: 0.5,
            ..RmspropConfig::default()
        }),
        OptimizerConfig::Sam(SamConfig::sgd(0.2, 0.1)),
        OptimizerConfig::Sam(SamConfig {
            rho: 0.1,
            base: BaseOptimizer::Adam(AdamConfig {
                lr: 1e-2,
                ..AdamConfig::default()
            }),
        }),
    ]
}

/// One member's start: its own θ (drawn from `seed`), optimiser and schedule.
struct Start {
    params: Params,
    config: OptimizerConfig,
    schedule: LrSchedule,
    seed: u64,
}

const WIDTHS: [usize; 4] = [6, 5, 4, 3];
/// 10 samples in batches of 4: every third step takes the short batch of 2.
const SAMPLES: usize = 10;
const BATCH: usize = 4;

fn starts(configs: &[OptimizerConfig], dtype: DType) -> (Vec<Start>, DeviceData) {
    let (_, x, onehot) = tensors(&tiny(40, &WIDTHS, SAMPLES), dtype);
    let data = DeviceData { x, onehot };
    let starts = configs
        .iter()
        .enumerate()
        .map(|(i, config)| {
            let (params, _, _) = tensors(&tiny(100 + i as u64, &WIDTHS, SAMPLES), dtype);
            Start {
                params,
                config: *config,
                // Every other member on a warm-up and step decay.
                schedule: if i % 2 == 1 {
                    LrSchedule {
                        warmup_steps: 2,
                        decay: LrDecay::Step {
                            every: 3,
                            gamma: 0.5,
                        },
                    }
                } else {
                    LrSchedule::default()
                },
                seed: 7 + i as u64,
            }
        })
        .collect();
    (starts, data)
}

fn alone(s: &Start, data: &DeviceData) -> Trainer {
    Trainer::with_engine(
        s.params.clone(),
        &s.config,
        data.clone(),
        BATCH,
        s.seed,
        TrainingEngine::Tensors,
    )
    .unwrap()
    .with_schedule(s.schedule)
}

fn ensemble(starts: &[Start], data: &DeviceData) -> EnsembleTrainer {
    EnsembleTrainer::new(
        starts
            .iter()
            .map(|s| MemberSpec {
                params: s.params.clone(),
                config: s.config,
                schedule: s.schedule,
                seed: s.seed,
                resume: None,
            })
            .collect(),
        data.clone(),
        BATCH,
    )
    .unwrap()
}

/// Member `i` of `e` equals `t` in θ, the last gradient and update, norms, optimiser state and
/// batch order, to the bit.
fn assert_member_is(e: &EnsembleTrainer, i: usize, t: &Trainer, context: &str) {
    assert_eq!(
        e.params_flat(i).unwrap(),
        t.params_flat().unwrap(),
        "θ, {context}"
    );
    assert_eq!(
        e.last_step_vectors(i).unwrap(),
        t.last_step_vectors().unwrap(),
        "g and update, {context}"
    );
    assert_eq!(
        e.last_norms(i).unwrap(),
        t.last_norms().unwrap(),
        "norms, {context}"
    );
    assert_eq!(
        e.optimizer_state(i).unwrap(),
        t.optimizer_state().unwrap(),
        "optimiser state, {context}"
    );
    assert_eq!(
        e.order_position(i),
        t.order_position(),
        "batch order, {context}"
    );
}

#[test]
fn every_optimiser_in_one_ensemble_follows_its_run_trained_alone_bit_for_bit() {
    for dtype in [DType::F32, DType::F64] {
        let (starts, data) = starts(&configs(), dtype);
        let mut runs: Vec<Trainer> = starts.iter().map(|s| alone(s, &data)).collect();
        let mut e = ensemble(&starts, &data);
        for step in 1..=7 {
            e.step().unwrap();
            let losses = e.losses().unwrap().unwrap();
            for (i, run) in runs.iter_mut().enumerate() {
                let record = run.step().unwrap();
                let context = format!(
                    "{dtype:?}, member {i} ({}), step {step}",
                    starts[i].config.kind().name()
                );
                assert_eq!(losses[i], record.loss, "loss, {context}");
                assert_member_is(&e, i, run, &context);
            }
        }
        assert_eq!(e.steps(), 7);
    }
}

#[test]
fn members_of_one_optimiser_share_a_group_and_still_follow_their_own_seeds() {
    // Three seeds of each of SGD and Adam: two groups of three.
    let configs: Vec<OptimizerConfig> = [configs()[0], configs()[2]]
        .into_iter()
        .flat_map(|c| [c; 3])
        .collect();
    let (mut starts, data) = starts(&configs, DType::F32);
    for s in &mut starts {
        s.schedule = LrSchedule::default();
    }
    let mut runs: Vec<Trainer> = starts.iter().map(|s| alone(s, &data)).collect();
    let mut e = ensemble(&starts, &data);
    for step in 1..=5 {
        e.step().unwrap();
        for (i, run) in runs.iter_mut().enumerate() {
            run.step().unwrap();
            assert_member_is(&e, i, run, &format!("member {i}, step {step}"));
        }
    }
    // Different seeds and starts: the members really differ.
    assert_ne!(e.params_flat(0).unwrap(), e.params_flat(1).unwrap());
}

#[test]
fn a_removed_member_leaves_the_others_unchanged() {
    let (starts, data) = starts(&configs(), DType::F32);
    let mut runs: Vec<Trainer> = starts.iter().map(|s| alone(s, &data)).collect();
    let mut e = ensemble(&starts, &data);
    for _ in 0..3 {
        e.step().unwrap();
        runs.iter_mut().for_each(|r| {
            r.step().unwrap();
        });
    }
    // Take out the momentum-SGD member (a group of its own) and one SAM member.
    e.remove_member(1).unwrap();
    runs.remove(1);
    e.remove_member(4).unwrap();
    runs.remove(4);
    assert_eq!(e.len(), runs.len());
    for step in 4..=7 {
        e.step().unwrap();
        for (i, run) in runs.iter_mut().enumerate() {
            run.step().unwrap();
            assert_member_is(
                &e,
                i,
                run,
                &format!("member {i} after removals, step {step}"),
            );
        }
    }
    assert!(e.remove_member(9).is_err());
}

#[test]
fn an_ensemble_resumed_from_its_members_checkpoints_continues_exactly() {
    let (starts, data) = starts(&configs(), DType::F32);
    let mut runs: Vec<Trainer> = starts.iter().map(|s| alone(s, &data)).collect();
    let mut e = ensemble(&starts, &data);
    for _ in 0..4 {
        e.step().unwrap();
        runs.iter_mut().for_each(|r| {
            r.step().unwrap();
        });
    }
    let specs: Vec<MemberSpec> = starts
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let (optimizer_state, optimizer_steps) = e.optimizer_state(i).unwrap();
            MemberSpec {
                params: e.member_params(i).unwrap(),
                config: s.config,
                schedule: s.schedule,
                seed: s.seed,
                resume: Some(ResumePoint {
                    step: e.steps(),
                    position: e.order_position(i),
                    optimizer_state,
                    optimizer_steps,
                }),
            }
        })
        .collect();
    let mut resumed = EnsembleTrainer::new(specs, data.clone(), BATCH).unwrap();
    for step in 5..=8 {
        resumed.step().unwrap();
        for (i, run) in runs.iter_mut().enumerate() {
            run.step().unwrap();
            assert_member_is(
                &resumed,
                i,
                run,
                &format!("resumed member {i}, step {step}"),
            );
        }
    }
}

#[test]
fn members_that_cannot_step_together_are_refused() {
    let (starts, data) = starts(&configs()[..2], DType::F32);
    let mut specs: Vec<MemberSpec> = starts
        .iter()
        .map(|s| MemberSpec {
            params: s.params.clone(),
            config: s.config,
            schedule: s.schedule,
            seed: s.seed,
            resume: None,
        })
        .collect();
    specs[1].resume = Some(ResumePoint {
        step: 3,
        position: OrderPosition {
            epoch: 0,
            offset: 2,
        },
        optimizer_state: vec![vec![0.0; 1]],
        optimizer_steps: 3,
    });
    let err = EnsembleTrainer::new(specs.clone(), data.clone(), BATCH).unwrap_err();
    assert!(err.to_string().contains("another step"), "{err}");
    let (other, _) = starts_of_width(&configs()[..1]);
    specs[1] = other;
    let err = EnsembleTrainer::new(specs, data, BATCH).unwrap_err();
    assert!(err.to_string().contains("architecture"), "{err}");
    assert!(EnsembleTrainer::new(Vec::new(), starts_data(), BATCH).is_err());
}

fn starts_of_width(configs: &[OptimizerConfig]) -> (MemberSpec, ()) {
    let (params, _, _) = tensors(&tiny(5, &[6, 7, 3], SAMPLES), DType::F32);
    (
        MemberSpec {
            params,
            config: configs[0],
            schedule: LrSchedule::default(),
            seed: 1,
            resume: None,
        },
        (),
    )
}

fn starts_data() -> DeviceData {
    starts(&configs()[..1], DType::F32).1
}
