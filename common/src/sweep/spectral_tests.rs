//! Tests of the optional per-snapshot spectral quantities (`snapshots.trace`,
//! `snapshots.density`, `snapshots.preconditioned`): validation, keys and plan counts.

use super::super::plan::estimate_run;
use super::super::OptimizerKind;
use super::{error_paths, errors, keys, tiny, TINY};

#[test]
fn the_trace_option_is_checked_keyed_and_counted() {
    let sweep = tiny(&["snapshots.trace={probes: 6}"]);
    let runs = sweep.runs();
    assert!(runs.iter().all(|r| r.statistics.trace_probes == Some(6)));
    // Off by default, and then the keys are those of a file that never mentioned it.
    let plain = tiny(&[]);
    assert!(plain
        .runs()
        .iter()
        .all(|r| r.statistics.trace_probes.is_none()));
    assert_ne!(keys(&sweep), keys(&plain));
    assert_ne!(keys(&sweep), keys(&tiny(&["snapshots.trace={probes: 7}"])));
    assert_eq!(
        tiny(&["snapshots.trace={}"]).runs()[0]
            .statistics
            .trace_probes,
        Some(10),
        "10 probes by default"
    );
    // Each probe is one product at every snapshot, in the plan.
    let with = estimate_run(&runs[0]).products;
    let without = estimate_run(&plain.runs()[0]).products;
    assert_eq!(with - without, 6 * runs[0].snapshot_steps.len() as u64);
    // Bad values name the field.
    assert_eq!(
        error_paths(&["snapshots.trace={probes: 0}"]),
        ["snapshots.trace.probes"]
    );
    let big = errors(TINY, &["snapshots.trace={probes: 20000}"]);
    assert_eq!(big[0].path, "snapshots.trace.probes");
    assert!(big[0].message.contains("at most 10000"), "{:?}", big[0]);
    let unknown = errors(TINY, &["snapshots.trace={probs: 3}"]);
    assert!(
        unknown.iter().any(|e| e.message.contains("probs")),
        "{unknown:?}"
    );
}

#[test]
fn the_density_option_is_checked_keyed_and_counted() {
    let sweep = tiny(&["snapshots.density={probes: 3, steps: 20}"]);
    let run = &sweep.runs()[0];
    let d = run.statistics.density.expect("density on");
    assert_eq!((d.probes, d.steps), (3, 20));
    let plain = tiny(&[]);
    assert!(plain.runs()[0].statistics.density.is_none());
    assert_ne!(keys(&sweep), keys(&plain));
    let defaults = tiny(&["snapshots.density={}"]).runs()[0]
        .statistics
        .density
        .unwrap();
    assert_eq!((defaults.probes, defaults.steps), (4, 30));
    let with = estimate_run(run).products;
    let without = estimate_run(&plain.runs()[0]).products;
    assert_eq!(with - without, 3 * 20 * run.snapshot_steps.len() as u64);
    assert_eq!(
        error_paths(&["snapshots.density={probes: 0, steps: 0}"]),
        ["snapshots.density.probes", "snapshots.density.steps"]
    );
    let big = errors(TINY, &["snapshots.density={steps: 5000}"]);
    assert_eq!(big[0].path, "snapshots.density.steps");
    assert!(big[0].message.contains("at most 300"), "{:?}", big[0]);
}

#[test]
fn the_preconditioned_option_applies_to_adam_runs_only() {
    let sweep = tiny(&["snapshots.preconditioned={top_k: 2}"]);
    let plain = tiny(&[]);
    for (with, without) in sweep.runs().iter().zip(plain.runs()) {
        if with.optimizer.config.kind() == OptimizerKind::Adam {
            assert_eq!(with.statistics.preconditioned_top_k, Some(2));
            assert_ne!(with.key, without.key);
            // Snapshots at steps 0, 5, 10: none at step 0, a cold solve at 5, a warm one at
            // 10 (top-2 at tol 1e-3).
            let eigen = crate::sweep::EigenSettings {
                top_k: 2,
                ..with.eigen
            };
            assert_eq!(with.snapshot_steps, [0, 5, 10]);
            assert_eq!(
                estimate_run(with).products - estimate_run(&without).products,
                crate::sweep::plan::products_per_solve(&eigen, false)
                    + crate::sweep::plan::products_per_solve(&eigen, true)
            );
        } else {
            // No preconditioner: nothing computed, the key unchanged.
            assert_eq!(with.statistics.preconditioned_top_k, None);
            assert_eq!(with.key, without.key);
        }
    }
    assert!(sweep
        .runs()
        .iter()
        .any(|r| r.optimizer.config.kind() == OptimizerKind::Adam));
    assert_eq!(
        tiny(&["snapshots.preconditioned={}"])
            .runs()
            .iter()
            .find_map(|r| r.statistics.preconditioned_top_k),
        Some(1)
    );
    assert_eq!(
        error_paths(&["snapshots.preconditioned={top_k: 0}"]),
        ["snapshots.preconditioned.top_k"]
    );
    // The solve shares the snapshot's budget, the smallest of snapshots and extra_eigen: a
    // top_k that cannot start in it is refused here, not at the run's second snapshot.
    let budget = errors(
        TINY,
        &[
            "snapshots.preconditioned={top_k: 20}",
            "snapshots.max_products=5",
        ],
    );
    assert_eq!(
        budget[0].path, "snapshots.preconditioned.top_k",
        "{budget:?}"
    );
    assert!(
        budget[0].message.contains("at most max_products − 2 = 3"),
        "{budget:?}"
    );
    let extra = errors(
        TINY,
        &[
            "snapshots.preconditioned={top_k: 20}",
            "extra_eigen=[{seeds: [0], max_products: 10}]",
        ],
    );
    assert!(
        extra[0].message.contains("= 8"),
        "the extra_eigen budget counts: {extra:?}"
    );
}
