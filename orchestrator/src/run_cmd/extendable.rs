//! Whether a finished run can be continued as a run of the new configuration (`run
//! --extend`): whether training it further from its last step gives exactly the run that the
//! new configuration trains from step 0.
//!
//! That holds when the two configurations differ only in what grows with the step count:
//! `steps` (more, never fewer), and the step lists `eval_steps` and `snapshot_steps`, which
//! must select the same steps before the finished run's last step, and a snapshot at that
//! step only if the new list has one too (its rows are kept; an evaluation there is redone).
//! Two things make the same settings train differently when the step count changes, and are
//! refused by name: a cosine learning-rate schedule (it anneals over `training.steps`, so
//! every rate after the warm-up moves), and the preconditioned spectrum at the last snapshot
//! where the schedule's rate changes at that step (that snapshot used the previous step's
//! rate, since no step followed it).

use eigensweep_common::optim::LrDecay;
use eigensweep_common::sweep::RunSpec;
use serde_json::Value;

use super::config_diff::config_diff;

/// The fields of a run's configuration that grow with its step count.
const STEP_FIELDS: [&str; 3] = ["steps", "eval_steps", "snapshot_steps"];

/// A finished run's step count, and the new configuration's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Growth {
    /// The finished run's steps (its last step).
    pub old_steps: u64,
    /// The new configuration's.
    pub new_steps: u64,
}

/// Whether the finished run recorded with configuration `old_json` (the runs table's
/// `config_json`) can be continued as `new`; every reason it cannot otherwise, each naming
/// the field (`optimizer.lr: 0.01 → 0.02`, `optimizer.lr_schedule.kind: "cosine": …`).
pub(super) fn check(old_json: &str, new: &RunSpec) -> Result<Growth, Vec<String>> {
    let new_json = new.config_json();
    let (Ok(old), Ok(current)) = (
        serde_json::from_str::<Value>(old_json),
        serde_json::from_str::<Value>(&new_json),
    ) else {
        return Err(vec!["its recorded configuration cannot be read".into()]);
    };
    let mut problems: Vec<String> = config_diff(
        &without_step_fields(&old, &current).to_string(),
        &without_step_fields(&current, &old).to_string(),
    );
    let Some(old_steps) = old.get("steps").and_then(Value::as_u64) else {
        problems.push("steps: not recorded".into());
        return Err(problems);
    };
    let new_steps = new.steps;
    if new_steps <= old_steps {
        problems.push(format!(
            "steps: {old_steps} → {new_steps}: a run is continued to more steps only"
        ));
    }
    let steps_of =
        |field: &str| -> Option<Vec<u64>> { serde_json::from_value(old.get(field)?.clone()).ok() };
    match steps_of("eval_steps") {
        Some(was) => problems.extend(same_before("eval_steps", &was, &new.eval_steps, old_steps)),
        None => problems.push("eval_steps: not recorded".into()),
    }
    match steps_of("snapshot_steps") {
        Some(was) => {
            problems.extend(same_before(
                "snapshot_steps",
                &was,
                &new.snapshot_steps,
                old_steps,
            ));
            if was.contains(&old_steps) && !new.snapshot_steps.contains(&old_steps) {
                problems.push(format!(
                    "snapshot_steps: the run took a snapshot at its last step {old_steps}, which the new schedule does not have ({MOVING})"
                ));
            }
        }
        None => problems.push("snapshot_steps: not recorded".into()),
    }
    let schedule = new.optimizer.schedule;
    if let LrDecay::Cosine { .. } = schedule.decay {
        problems.push(
            "optimizer.lr_schedule.kind: \"cosine\": the cosine anneals over training.steps, so \
             the learning rate of every step after the warm-up changes with the step count"
                .into(),
        );
    } else if new.statistics.preconditioned_top_k.is_some() && old_steps > 0 {
        let lr = new.optimizer.config.lr();
        let (used, continued) = (schedule.lr(lr, old_steps - 1), schedule.lr(lr, old_steps));
        if used.to_bits() != continued.to_bits() {
            problems.push(format!(
                "snapshots.preconditioned: the run's last snapshot (step {old_steps}) was preconditioned with the learning rate of step {} ({used}), the continued run's takes that of step {old_steps} ({continued}) (optimizer.lr_schedule changes the rate there)",
                old_steps - 1
            ));
        }
    }
    if problems.is_empty() {
        Ok(Growth {
            old_steps,
            new_steps,
        })
    } else {
        Err(problems)
    }
}

/// Why log-spaced and linear schedules are refused, for the messages.
const MOVING: &str =
    "log-spaced and linear schedules, and `every` with the step count, move with training.steps";

/// `config` without the fields that grow with the step count, and without `widths` where
/// `other` lacks them (outputs written before they were recorded; they are not keyed).
fn without_step_fields(config: &Value, other: &Value) -> Value {
    let mut config = config.clone();
    if let Value::Object(map) = &mut config {
        for field in STEP_FIELDS {
            map.remove(field);
        }
        if other.get("widths").is_none() {
            map.remove("widths");
        }
    }
    config
}

/// A problem if the lists `was` and `now` select different steps before `last`, naming the
/// first step where they differ.
fn same_before(field: &str, was: &[u64], now: &[u64], last: u64) -> Option<String> {
    let before = |steps: &[u64]| -> Vec<u64> {
        let mut v: Vec<u64> = steps.iter().copied().filter(|&s| s < last).collect();
        v.sort_unstable();
        v
    };
    let (was, now) = (before(was), before(now));
    if was == now {
        return None;
    }
    let first = was
        .iter()
        .zip(&now)
        .find(|(a, b)| a != b)
        .map(|(&a, &b)| a.min(b))
        .unwrap_or_else(|| {
            let shorter = was.len().min(now.len());
            was.get(shorter).or(now.get(shorter)).copied().unwrap_or(0)
        });
    let verb = if field == "eval_steps" {
        "evaluates"
    } else {
        "takes a snapshot"
    };
    let (who, whom) = if now.contains(&first) {
        ("the new schedule", "the run did not")
    } else {
        ("the run", "the new schedule does not")
    };
    let verb = if who == "the run" {
        verb.replace("evaluates", "evaluated")
            .replace("takes", "took")
    } else {
        verb.to_string()
    };
    Some(format!(
        "{field}: {who} {verb} at step {first}, before the run's last step {last}, and {whom} ({MOVING})"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use eigensweep_common::sweep::{parse_sweep, Overrides};

    /// The runs of a small sweep with these `training`, `snapshots` and optimiser sections.
    fn runs(training: &str, snapshots: &str, optimizer: &str) -> Vec<RunSpec> {
        let yaml = format!(
            "name: t\noutput: out\ndatasets:\n  - {{name: s, source: synthetic, train_size: 100, test_size: 50}}\n\
             model: {{hidden: [4]}}\ntraining: {training}\noptimizers:\n  - {optimizer}\nseeds: [0]\n\
             snapshots: {snapshots}\nbaseline: {{networks: 0}}\n"
        );
        parse_sweep(&yaml, &Overrides::default())
            .unwrap_or_else(|e| panic!("{e:?}\n{yaml}"))
            .runs()
    }

    fn one(training: &str, snapshots: &str, optimizer: &str) -> RunSpec {
        runs(training, snapshots, optimizer).remove(0)
    }

    const SGD: &str = "{name: sgd, kind: sgd, lr: 0.01}";
    const EVERY_30: &str = "{schedule: {every: 30}, top_k: 1}";

    #[test]
    fn more_steps_on_the_same_grid_is_a_continuation() {
        let old = one("{steps: 120, batch_size: 8}", EVERY_30, SGD);
        let new = one("{steps: 240, batch_size: 8}", EVERY_30, SGD);
        assert_ne!(old.key, new.key);
        assert_eq!(
            check(&old.config_json(), &new),
            Ok(Growth {
                old_steps: 120,
                new_steps: 240
            })
        );
        // A last step off the grid that the new grid reaches is fine: nothing was taken
        // there that the longer run does not take.
        let explicit = "{schedule: {steps: [0, 30, 60, 90]}, top_k: 1}";
        let old = one("{steps: 100, batch_size: 8}", explicit, SGD);
        let new = one(
            "{steps: 200, batch_size: 8}",
            "{schedule: {steps: [0, 30, 60, 90, 100, 200]}, top_k: 1}",
            SGD,
        );
        assert!(check(&old.config_json(), &new).is_ok());
    }

    #[test]
    fn fewer_steps_other_settings_and_moving_schedules_are_refused_by_name() {
        let old = one("{steps: 240, batch_size: 8}", EVERY_30, SGD);
        let shorter = one("{steps: 120, batch_size: 8}", EVERY_30, SGD);
        let problems = check(&old.config_json(), &shorter).unwrap_err();
        assert!(
            problems.iter().any(|p| p.starts_with("steps: 240 → 120")),
            "{problems:?}"
        );

        let old = one("{steps: 120, batch_size: 8}", EVERY_30, SGD);
        let other_lr = one(
            "{steps: 240, batch_size: 8}",
            EVERY_30,
            "{name: sgd, kind: sgd, lr: 0.02}",
        );
        assert_eq!(
            check(&old.config_json(), &other_lr).unwrap_err(),
            vec!["optimizer.lr: 0.01 → 0.02".to_string()]
        );

        // The last step 250 of `every: 100` is not on the longer run's grid.
        let every_100 = "{schedule: {every: 100}, top_k: 1}";
        let old = one("{steps: 250, batch_size: 8}", every_100, SGD);
        let new = one("{steps: 400, batch_size: 8}", every_100, SGD);
        let problems = check(&old.config_json(), &new).unwrap_err();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0].starts_with(
                "snapshot_steps: the run took a snapshot at its last step 250, which the new schedule does not have"
            ),
            "{problems:?}"
        );

        // Log-spaced snapshots move with the step count (and the evaluations with them).
        let log = "{schedule: {log: {count: 4}}, top_k: 1}";
        let old = one("{steps: 100, batch_size: 8}", log, SGD);
        let new = one("{steps: 1000, batch_size: 8}", log, SGD);
        let problems = check(&old.config_json(), &new).unwrap_err();
        assert!(
            problems
                .iter()
                .any(|p| p.starts_with("snapshot_steps: the run took a snapshot at step 5,")),
            "{problems:?}"
        );
        assert!(
            problems.iter().any(|p| p.starts_with("eval_steps:")),
            "{problems:?}"
        );
    }

    #[test]
    fn a_cosine_schedule_is_refused_and_a_step_schedule_is_not() {
        let cosine =
            "{name: sgd, kind: sgd, lr: 0.01, lr_schedule: {kind: cosine, warmup_steps: 10}}";
        let old = one("{steps: 120, batch_size: 8}", EVERY_30, cosine);
        let new = one("{steps: 240, batch_size: 8}", EVERY_30, cosine);
        let problems = check(&old.config_json(), &new).unwrap_err();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0].starts_with("optimizer.lr_schedule.kind: \"cosine\""),
            "{problems:?}"
        );
        let step =
            "{name: sgd, kind: sgd, lr: 0.01, lr_schedule: {kind: step, every: 100, gamma: 0.5}}";
        let old = one("{steps: 120, batch_size: 8}", EVERY_30, step);
        let new = one("{steps: 240, batch_size: 8}", EVERY_30, step);
        assert!(check(&old.config_json(), &new).is_ok());
    }

    #[test]
    fn the_preconditioned_last_snapshot_must_have_had_the_continued_rate() {
        let adam = |every: u64| {
            format!(
                "{{name: adam, kind: adam, lr: 0.001, lr_schedule: {{kind: step, every: {every}, gamma: 0.5}}}}"
            )
        };
        let snapshots = "{schedule: {every: 30}, top_k: 1, preconditioned: {top_k: 1}}";
        // The rate halves at step 120, the finished run's last step.
        let old = one("{steps: 120, batch_size: 8}", snapshots, &adam(60));
        let new = one("{steps: 240, batch_size: 8}", snapshots, &adam(60));
        let problems = check(&old.config_json(), &new).unwrap_err();
        assert!(
            problems[0].starts_with("snapshots.preconditioned: the run's last snapshot (step 120)"),
            "{problems:?}"
        );
        // It does not change at step 120 with a decay every 50 steps.
        let old = one("{steps: 120, batch_size: 8}", snapshots, &adam(50));
        let new = one("{steps: 240, batch_size: 8}", snapshots, &adam(50));
        assert!(check(&old.config_json(), &new).is_ok());
    }

    #[test]
    fn first_difference_names_the_side_that_has_the_step() {
        let text = same_before("eval_steps", &[0, 10, 20], &[0, 15, 20], 30).unwrap();
        assert!(
            text.starts_with("eval_steps: the run evaluated at step 10,"),
            "{text}"
        );
        let text = same_before("snapshot_steps", &[0, 10], &[0, 10, 20], 30).unwrap();
        assert!(
            text.starts_with("snapshot_steps: the new schedule takes a snapshot at step 20,"),
            "{text}"
        );
        assert_eq!(
            same_before("eval_steps", &[0, 10, 30], &[0, 10, 40], 30),
            None
        );
    }
}
