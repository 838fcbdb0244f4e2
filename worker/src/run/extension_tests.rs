//! A finished run continued to more steps against the same run trained to the end at once:
//! every table must hold the same rows, bit for bit, however the continuation was interrupted.

use std::sync::atomic::{AtomicBool, Ordering};

use candle_core::Device;

use super::*;
use crate::data::{synthetic, TrainTest};
use crate::optim::{AdamConfig, OptimizerConfig};
use crate::output::{
    read_density_rows, read_metric_rows, read_preconditioned_rows, read_snapshot_rows,
    read_trace_rows, read_weight_rows,
};
use crate::run::{execute, run_tables, test_plan, RunPlan, RunStatus};

/// `base` as a run of `steps` steps under `key`, snapshots every 10 steps (and at the end),
/// an evaluation at every snapshot after step 0.
fn plan_of(base: &RunPlan, key: &str, steps: u64) -> RunPlan {
    let mut snapshots: Vec<u64> = (0..=steps).step_by(10).collect();
    if snapshots.last() != Some(&steps) {
        snapshots.push(steps);
    }
    RunPlan {
        key: key.into(),
        steps,
        eval_steps: snapshots.iter().copied().filter(|&s| s > 0).collect(),
        snapshot_steps: snapshots,
        ..base.clone()
    }
}

/// Every table of the run in `dir`, as Debug text: exact, and NaN-equal.
fn tables(dir: &Path) -> Vec<(&'static str, String)> {
    vec![
        (
            "snapshots",
            format!("{:?}", read_snapshot_rows(&dir.join("snapshots")).unwrap()),
        ),
        (
            "metrics",
            format!("{:?}", read_metric_rows(&dir.join("metrics")).unwrap()),
        ),
        (
            "weights",
            format!("{:?}", read_weight_rows(&dir.join("weights")).unwrap()),
        ),
        (
            "trace",
            format!("{:?}", read_trace_rows(&dir.join("trace")).unwrap()),
        ),
        (
            "density",
            format!("{:?}", read_density_rows(&dir.join("density")).unwrap()),
        ),
        (
            "preconditioned",
            format!(
                "{:?}",
                read_preconditioned_rows(&dir.join("preconditioned")).unwrap()
            ),
        ),
    ]
}

fn run_to_end(plan: &RunPlan, data: &TrainTest, dir: &Path) {
    let report = execute(plan, data, dir, &mut |_| {}, &AtomicBool::new(false)).unwrap();
    assert_eq!(report.status, RunStatus::Done, "{}", plan.key);
}

fn assert_same_tables(want: &Path, got: &Path, context: &str) {
    for ((table, a), (_, b)) in tables(want).into_iter().zip(tables(got)) {
        assert!(a == b, "{context}: {table} differ:\n{a}\n{b}");
    }
}

/// The continuations the tests run: the plain run of [`test_plan`] with a trace; Adam with θ
/// stored, the preconditioned spectrum and the density; a run whose last step is not a
/// snapshot step.
fn variants() -> Vec<(&'static str, RunPlan, u64)> {
    let base = test_plan(Device::Cpu);
    let mut traced = base.clone();
    traced.statistics.trace_probes = Some(2);
    let mut adam = base.clone();
    adam.optimizer = OptimizerConfig::Adam(AdamConfig::default());
    adam.store_weights = true;
    adam.statistics.preconditioned_top_k = Some(1);
    adam.statistics.density = Some(eigensweep_common::sweep::DensitySpec {
        probes: 1,
        steps: 5,
    });
    vec![
        ("sgd with a trace", traced, 20),
        ("adam storing θ, preconditioned, density", adam, 20),
        ("last step not a snapshot step", base, 25),
    ]
}

/// A run finished at `old_steps` in a fresh directory, and the continuation to 40 steps.
fn finished(base: &RunPlan, old_steps: u64, data: &TrainTest) -> (tempfile::TempDir, Continuation) {
    let dir = tempfile::tempdir().unwrap();
    let mut old = plan_of(base, "old", old_steps);
    if !old_steps.is_multiple_of(10) {
        // Snapshots on the 10-step grid only: the last step is not one.
        old.snapshot_steps.pop();
        old.eval_steps.pop();
    }
    run_to_end(&old, data, dir.path());
    let c = Continuation {
        old_key: "old".into(),
        new_key: "new".into(),
        old_steps,
    };
    (dir, c)
}

#[test]
fn a_continued_run_writes_the_tables_of_a_run_trained_to_the_end_at_once() {
    let data = synthetic(200, 50, 0);
    for (name, base, old_steps) in variants() {
        let new = plan_of(&base, "new", 40);
        let direct = tempfile::tempdir().unwrap();
        run_to_end(&new, &data, direct.path());

        let (dir, c) = finished(&base, old_steps, &data);
        let continued = continue_finished_run(dir.path(), &c).unwrap();
        assert_eq!(continued.step, old_steps, "{name}");
        assert!(!dir.path().join(SUCCESS_MARKER).exists(), "{name}");
        let saved = Checkpoint::load(&dir.path().join(CHECKPOINT_FILE))
            .unwrap()
            .unwrap();
        assert_eq!((saved.run_key.as_str(), saved.complete), ("new", false));
        // Nothing of the last step's rows that a longer run writes otherwise is left.
        let metrics = read_metric_rows(&dir.path().join("metrics")).unwrap();
        assert!(metrics
            .iter()
            .all(|m| m.step < old_steps && m.run_key == "new"));
        // Continuing it again changes nothing.
        assert_eq!(continue_finished_run(dir.path(), &c).unwrap(), continued);

        let report = execute(
            &new,
            &data,
            dir.path(),
            &mut |_| {},
            &AtomicBool::new(false),
        )
        .unwrap();
        assert_eq!(report.status, RunStatus::Done, "{name}");
        assert_eq!(report.resumed_from, Some(old_steps), "{name}");
        assert_same_tables(direct.path(), dir.path(), name);
        let snaps = read_snapshot_rows(&dir.path().join("snapshots")).unwrap();
        assert!(
            snaps
                .iter()
                .filter(|r| r.step == old_steps)
                .all(|r| r.update_alignment.is_finite() && r.grad_alignment.is_finite()),
            "{name}: the last snapshot's alignments are filled in"
        );
    }
}

/// Killed after any stage, the continuation finishes when called again, and the run ends
/// with the tables of the direct run.
#[test]
fn a_continuation_interrupted_after_any_stage_is_finished_by_the_next_call() {
    let data = synthetic(200, 50, 0);
    let (name, base, old_steps) = variants().swap_remove(1);
    let new = plan_of(&base, "new", 40);
    let direct = tempfile::tempdir().unwrap();
    run_to_end(&new, &data, direct.path());
    let (probe, c) = finished(&base, old_steps, &data);
    let count = stages(probe.path(), &c).unwrap().1.len();
    assert_eq!(count, 7, "marker, five tables, checkpoint");
    for done in 0..=count {
        let (dir, c) = finished(&base, old_steps, &data);
        let (_, all) = stages(dir.path(), &c).unwrap();
        for stage in &all[..done] {
            apply(dir.path(), &c, stage).unwrap();
        }
        // A stage done twice (killed before the next one could start) is harmless.
        if let Some(stage) = done.checked_sub(1).map(|i| &all[i]) {
            apply(dir.path(), &c, stage).unwrap();
        }
        continue_finished_run(dir.path(), &c).unwrap();
        run_to_end(&new, &data, dir.path());
        assert_same_tables(
            direct.path(),
            dir.path(),
            &format!("{name}, interrupted after {done} stages"),
        );
    }
}

/// The continued launch rewrites the part with the last snapshot's rows before its next
/// checkpoint; killed in between, the launch after it does the same again.
#[test]
fn a_launch_killed_before_its_first_checkpoint_completes_the_snapshot_again() {
    let data = synthetic(200, 50, 0);
    let (name, base, old_steps) = variants().swap_remove(0);
    let new = plan_of(&base, "new", 40);
    let direct = tempfile::tempdir().unwrap();
    run_to_end(&new, &data, direct.path());
    let (dir, c) = finished(&base, old_steps, &data);
    continue_finished_run(dir.path(), &c).unwrap();
    let checkpoint = dir.path().join(CHECKPOINT_FILE);
    let at_continuation = fs::read(&checkpoint).unwrap();
    // A stop before the launch starts: it takes the one step and checkpoints after it.
    let stop = AtomicBool::new(true);
    let report = execute(&new, &data, dir.path(), &mut |_| {}, &stop).unwrap();
    assert_eq!(
        (report.status, report.steps_done),
        (RunStatus::Stopped, old_steps + 1)
    );
    stop.store(false, Ordering::Relaxed);
    // As if killed before that checkpoint: the part is completed, the checkpoint is not.
    fs::write(&checkpoint, &at_continuation).unwrap();
    run_to_end(&new, &data, dir.path());
    assert_same_tables(direct.path(), dir.path(), name);
}

#[test]
fn only_the_finished_run_named_is_continued() {
    let data = synthetic(200, 50, 0);
    let base = test_plan(Device::Cpu);
    let (dir, c) = finished(&base, 20, &data);
    let err = |c: &Continuation| {
        continue_finished_run(dir.path(), c)
            .unwrap_err()
            .to_string()
    };
    let other = Continuation {
        old_key: "third".into(),
        ..c.clone()
    };
    assert!(
        err(&other).contains("belongs to run old"),
        "{}",
        err(&other)
    );
    let longer = Continuation {
        old_steps: 30,
        ..c.clone()
    };
    assert!(err(&longer).contains("finished at step 20, not at step 30"));
    // Nothing was changed by the refusals.
    assert!(dir.path().join(SUCCESS_MARKER).exists());

    // An unfinished run is not continued.
    let stopped = tempfile::tempdir().unwrap();
    let stop = AtomicBool::new(false);
    let old = plan_of(&base, "old", 20);
    execute(
        &old,
        &data,
        stopped.path(),
        &mut |p| {
            if p.step >= 5 {
                stop.store(true, Ordering::Relaxed);
            }
        },
        &stop,
    )
    .unwrap();
    let text = continue_finished_run(stopped.path(), &c)
        .unwrap_err()
        .to_string();
    assert!(text.contains("is not a finished run"), "{text}");
    let empty = tempfile::tempdir().unwrap();
    let text = continue_finished_run(empty.path(), &c)
        .unwrap_err()
        .to_string();
    assert!(text.contains("no checkpoint"), "{text}");
}

/// Every table a run may write can be continued: a statistic added later must be taught to
/// [`rekey_table`], or its rows would keep the old key.
#[test]
fn every_run_table_is_known_to_the_continuation() {
    let dir = tempfile::tempdir().unwrap();
    let c = Continuation {
        old_key: "a".into(),
        new_key: "b".into(),
        old_steps: 1,
    };
    for table in run_tables() {
        rekey_table(&dir.path().join(table), table, 0, &c).unwrap();
    }
    assert!(rekey_table(dir.path(), "unknown", 0, &c).is_err());
}
