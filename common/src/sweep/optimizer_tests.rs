//! Tests of the `optimizers` section beyond the study's three: momentum, weight decay, AdamW,
//! RMSprop, SAM on any base, learning-rate schedules — resolution, keys and refusals.

use super::super::plan::estimate_run;
use super::{error_paths, errors, keys, tiny, TINY};
use crate::optim::{
    AdamConfig, BaseOptimizer, LrDecay, LrSchedule, OptimizerConfig, RmspropConfig, SamConfig,
    SgdConfig,
};

#[test]
fn every_kind_resolves_pytorchs_defaults_and_the_given_settings() {
    let sweep = tiny(&[
        "optimizers[0]={name: m, kind: sgd, momentum: 0.9, nesterov: true, weight_decay: 5e-4}",
        "optimizers[1]={name: w, kind: adamw}",
        "optimizers[2]={name: r, kind: rmsprop, centered: true, momentum: 0.5}",
        "optimizers[3]={name: s, kind: sam, base: adam, lr: 3e-4, rho: 0.1, weight_decay: 0.1}",
    ]);
    let configs: Vec<_> = sweep
        .resolved()
        .optimizers
        .iter()
        .map(|o| o.config)
        .collect();
    assert_eq!(
        configs[0],
        OptimizerConfig::Sgd(SgdConfig {
            lr: 1e-2,
            momentum: 0.9,
            dampening: 0.0,
            nesterov: true,
            weight_decay: 5e-4,
        })
    );
    assert_eq!(configs[1], OptimizerConfig::Adam(AdamConfig::adamw()));
    assert_eq!(
        configs[2],
        OptimizerConfig::Rmsprop(RmspropConfig {
            centered: true,
            momentum: 0.5,
            ..RmspropConfig::default()
        })
    );
    assert_eq!(
        configs[3],
        OptimizerConfig::Sam(SamConfig {
            rho: 0.1,
            base: BaseOptimizer::Adam(AdamConfig {
                lr: 3e-4,
                weight_decay: 0.1,
                ..AdamConfig::default()
            }),
        })
    );
    // Only the kinds with a diagonal preconditioner get the preconditioned spectrum.
    let with = tiny(&[
        "optimizers[0]={name: w, kind: adamw}",
        "optimizers[1]={name: r, kind: rmsprop}",
        "optimizers[2]={name: s, kind: sam, base: rmsprop}",
        "optimizers[3]={name: m, kind: sgd, momentum: 0.9}",
        "snapshots.preconditioned={top_k: 2}",
    ]);
    let top_k: Vec<_> = with
        .runs()
        .iter()
        .filter(|r| r.seed == 0)
        .map(|r| r.statistics.preconditioned_top_k)
        .collect();
    assert_eq!(top_k, [Some(2), Some(2), Some(2), None]);
}

#[test]
fn settings_that_are_off_leave_the_study_keys_alone() {
    let plain = keys(&tiny(&[]));
    // Written out at their defaults, the new settings change no key.
    let explicit = tiny(&[
        "optimizers[0]={name: sgd, kind: sgd, lr: 0.01, momentum: 0, dampening: 0, \
         nesterov: false, weight_decay: 0, lr_schedule: {kind: constant}}",
        "optimizers[1]={name: adam, kind: adam, weight_decay: 0}",
    ]);
    assert_eq!(keys(&explicit), plain);
    // Switched on, each changes the key of its own runs only.
    for (set, changed) in [
        ("optimizers[0].momentum=0.9", 0),
        ("optimizers[0].weight_decay=1e-4", 0),
        ("optimizers[1].weight_decay=1e-4", 1),
        ("optimizers[0].lr_schedule={kind: cosine}", 0),
        (
            "optimizers[1].lr_schedule={kind: constant, warmup_steps: 2}",
            1,
        ),
    ] {
        let other = keys(&tiny(&[set]));
        for (i, (a, b)) in plain.iter().zip(&other).enumerate() {
            // Runs are optimisers × seeds (2 seeds each).
            assert_eq!(a != b, i / 2 == changed, "{set}: run {i}");
        }
    }
    // The resolved sweep re-reads to the same keys (the output records it).
    let sweep = tiny(&[
        "optimizers[0]={name: r, kind: rmsprop, lr_schedule: {kind: step, every: 3}}",
        "optimizers[1]={name: s, kind: sam, base: adamw}",
    ]);
    let again = super::super::parse_sweep(&sweep.to_yaml(), &Default::default()).unwrap();
    assert_eq!(keys(&again), keys(&sweep));
}

#[test]
fn schedules_resolve_against_the_training_length() {
    let sweep = tiny(&[
        "optimizers[0].lr_schedule={kind: cosine, warmup_steps: 2, min_lr: 0.001}",
        "optimizers[1].lr_schedule={kind: step, every: 4}",
    ]);
    let o = &sweep.resolved().optimizers;
    assert_eq!(
        o[0].schedule,
        LrSchedule {
            warmup_steps: 2,
            decay: LrDecay::Cosine {
                min_lr: 0.001,
                steps: 8
            }
        }
    );
    assert_eq!(
        o[1].schedule.decay,
        LrDecay::Step {
            every: 4,
            gamma: 0.1
        },
        "PyTorch's γ by default"
    );
    assert!(o[0].schedule.lr(0.01, 9) > 0.001 && o[0].schedule.lr(0.01, 10) == 0.001);
}

#[test]
fn wrong_settings_name_the_field() {
    for (sets, paths) in [
        (
            &["optimizers[0].momentum=1"][..],
            &["optimizers[0].momentum"][..],
        ),
        (
            &["optimizers[0].momentum=-0.1"],
            &["optimizers[0].momentum"],
        ),
        (
            &["optimizers[0].dampening=1.5"],
            &["optimizers[0].dampening"],
        ),
        (
            &["optimizers[0].nesterov=true"],
            &["optimizers[0].nesterov"],
        ),
        (
            &["optimizers[0]={name: n, kind: sgd, momentum: 0.9, dampening: 0.1, nesterov: true}"],
            &["optimizers[0].nesterov"],
        ),
        (
            &["optimizers[0].weight_decay=-1"],
            &["optimizers[0].weight_decay"],
        ),
        (&["optimizers[0].alpha=0.9"], &["optimizers[0].alpha"]),
        (&["optimizers[0].eps=1e-8"], &["optimizers[0].eps"]),
        (&["optimizers[1].momentum=0.9"], &["optimizers[1].momentum"]),
        (&["optimizers[1].base=sgd"], &["optimizers[1].base"]),
        (
            &["optimizers[1]={name: r, kind: rmsprop, alpha: 1}"],
            &["optimizers[1].alpha"],
        ),
        (
            &["optimizers[1]={name: r, kind: rmsprop, beta1: 0.9}"],
            &["optimizers[1].beta1"],
        ),
        (
            &["optimizers[1]={name: s, kind: sam, base: sam}"],
            &["optimizers[1].base"],
        ),
        (
            &["optimizers[1]={name: s, kind: sam, base: sgd, beta2: 0.9}"],
            &["optimizers[1].beta2"],
        ),
        (
            &["optimizers[0].lr_schedule={kind: step}"],
            &["optimizers[0].lr_schedule.every"],
        ),
        (
            &["optimizers[0].lr_schedule={kind: step, every: 0}"],
            &["optimizers[0].lr_schedule.every"],
        ),
        (
            &["optimizers[0].lr_schedule={kind: step, every: 2, gamma: 0}"],
            &["optimizers[0].lr_schedule.gamma"],
        ),
        (
            &["optimizers[0].lr_schedule={kind: cosine, min_lr: 1}"],
            &["optimizers[0].lr_schedule.min_lr"],
        ),
        (
            &["optimizers[0].lr_schedule={kind: constant, warmup_steps: 10}"],
            &["optimizers[0].lr_schedule.warmup_steps"],
        ),
        (
            &["optimizers[0].lr_schedule={kind: cosine, every: 3}"],
            &["optimizers[0].lr_schedule.every"],
        ),
    ] {
        assert_eq!(error_paths(sets), paths, "{sets:?}");
    }
    let e = errors(
        TINY,
        &["optimizers[1]={name: s, kind: sam, base: rmsprop, beta1: 0.9}"],
    );
    assert_eq!(
        e[0].to_string(),
        "`optimizers[1].beta1`: not a setting of kind sam on rmsprop (it takes lr, alpha, eps, \
         momentum, centered, weight_decay, rho, base, batch_size, lr_schedule), got 0.9"
    );
    let unknown = errors(TINY, &["optimizers[0].lr_schedule={kind: linear}"]);
    assert!(
        unknown[0].to_string().contains("constant, step, cosine"),
        "{unknown:?}"
    );
}

#[test]
fn stateful_rules_are_priced_as_adam_and_sam_adds_its_second_gradient() {
    let time = |set: &str| {
        let sweep = tiny(&["training.steps=10000", set]);
        let c = super::super::cost::Calibration::builtin();
        let run = &sweep.runs()[0];
        let samples = super::super::cost::Samples {
            train: 200,
            test: 50,
        };
        super::super::cost::run_time(run, &estimate_run(run), samples, &c)
            .unwrap()
            .serial
    };
    let sgd = time("optimizers[0].lr=0.01");
    let momentum = time("optimizers[0].momentum=0.9");
    let adam = time("optimizers[0]={name: a, kind: adam}");
    let sam = time("optimizers[0]={name: s, kind: sam}");
    let sam_adam = time("optimizers[0]={name: s, kind: sam, base: adam}");
    assert!(sgd < momentum && (momentum - adam).abs() < 1e-12 * adam);
    assert!(((sam_adam - adam) - (sam - sgd)).abs() < 1e-9 * sam);
}

#[test]
fn lists_expand_into_named_variants_with_stable_keys() {
    let sweep = tiny(&[
        "optimizers[1]={name: adam, kind: adam, lr: [1e-3, 3e-4], weight_decay: [0, 0.1]}",
        "optimizers[2]={name: sgd-m, kind: sgd, nesterov: [true, false], momentum: 0.9, \
         batch_size: [32, 64]}",
    ]);
    let names: Vec<&str> = sweep
        .resolved()
        .optimizers
        .iter()
        .map(|o| o.name.as_str())
        .collect();
    assert_eq!(
        names,
        [
            "sgd",
            "adam-lr1e-3-wd0",
            "adam-lr1e-3-wd0.1",
            "adam-lr3e-4-wd0",
            "adam-lr3e-4-wd0.1",
            "sgd-m-nesterov_on-bs32",
            "sgd-m-nesterov_on-bs64",
            "sgd-m-nesterov_off-bs32",
            "sgd-m-nesterov_off-bs64",
        ]
    );
    // Each variant carries its values; batch_size becomes its runs' batch size.
    let o = &sweep.resolved().optimizers;
    assert_eq!(o[3].config.lr(), 3e-4);
    let runs = sweep.runs();
    let batch = |name: &str| {
        runs.iter()
            .find(|r| r.optimizer.name == name)
            .map(|r| r.batch_size)
    };
    assert_eq!(batch("sgd-m-nesterov_off-bs64"), Some(64));
    assert_eq!(batch("sgd"), Some(128), "training.batch_size elsewhere");
    // Names are partition values the output can hold.
    assert!(runs.iter().all(|r| r
        .optimizer
        .name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))));

    // Adding a value to a list, or another entry, keeps every other variant's key.
    let key_of = |sweep: &crate::sweep::ValidatedSweep| {
        sweep
            .runs()
            .into_iter()
            .map(|r| ((r.optimizer.name.clone(), r.seed), r.key))
            .collect::<std::collections::BTreeMap<_, _>>()
    };
    let before = key_of(&sweep);
    let more = tiny(&[
        "optimizers[1]={name: adam, kind: adam, lr: [1e-3, 3e-4, 1e-4], weight_decay: [0, 0.1]}",
        "optimizers[2]={name: sgd-m, kind: sgd, nesterov: [true, false], momentum: 0.9, \
         batch_size: [32, 64]}",
        "optimizers[3]={name: w, kind: adamw}",
    ]);
    let after = key_of(&more);
    assert_eq!(after.len(), before.len() + 2 * 2 + 2);
    for (id, key) in &before {
        assert_eq!(after.get(id), Some(key), "{id:?}");
    }
    // A one-value entry is the entry itself: the study's keys do not move.
    assert_eq!(keys(&tiny(&["optimizers[1].lr=0.001"])), keys(&tiny(&[])));
    // The resolved sweep re-reads to the same runs.
    let again = super::super::parse_sweep(&sweep.to_yaml(), &Default::default()).unwrap();
    assert_eq!(keys(&again), keys(&sweep));
}

#[test]
fn a_bad_value_in_a_list_names_its_element() {
    assert_eq!(
        error_paths(&["optimizers[1].lr=[1e-3, -1, 2e-3]"]),
        ["optimizers[1].lr[1]"]
    );
    assert_eq!(
        error_paths(&["optimizers[0]={name: s, kind: sgd, batch_size: [0, 8]}"]),
        ["optimizers[0].batch_size[0]"]
    );
    // A bad scalar beside a list is reported once, not once per variant.
    assert_eq!(
        error_paths(&["optimizers[1]={name: a, kind: adam, lr: [1e-3, 2e-3], beta1: 2}"]),
        ["optimizers[1].beta1"]
    );
    // Two entries whose variants collide.
    assert_eq!(
        error_paths(&[
            "optimizers[0]={name: a-lr0.1, kind: sgd}",
            "optimizers[1]={name: a, kind: sgd, lr: [0.1, 0.2]}",
        ]),
        ["optimizers[1].name"]
    );
    let empty = errors(TINY, &["optimizers[1].lr=[]"]);
    assert!(empty[0].to_string().contains("non-empty list"), "{empty:?}");
    let typed = errors(TINY, &["optimizers[1].lr=[1e-3, fast]"]);
    assert!(typed[0].to_string().contains("fast"), "{typed:?}");
}

#[test]
fn a_huge_grid_is_refused_before_it_is_built_and_inert_settings_do_not_key() {
    // 100^4 = 10^8 variants: refused by counting, not by expanding.
    let hundred: Vec<String> = (1..=100).map(|i| format!("{i}e-4")).collect();
    let list = format!("[{}]", hundred.join(", "));
    let set = format!(
        "optimizers[1]={{name: a, kind: adam, lr: {list}, beta1: {list}, eps: {list}, \
         weight_decay: {list}}}"
    );
    let e = errors(TINY, &[&set]);
    assert_eq!(e[0].path, "optimizers[1]");
    assert!(e[0].message.contains("100000000"), "{e:?}");
    // Dampening acts through the momentum buffer only: without momentum it is not keyed.
    assert_eq!(
        keys(&tiny(&["optimizers[0].dampening=0.5"])),
        keys(&tiny(&[]))
    );
}
