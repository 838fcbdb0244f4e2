//! Tests of the sweep passes together: text → validated sweep → runs, keys and estimates.

use super::plan::{estimate_baseline, estimate_run, Plan, METRICS_ROW_BYTES, SNAPSHOT_ROW_BYTES};
use super::*;

/// A small but complete sweep; tests change it with overrides.
pub(super) const TINY: &str = "
name: tiny
output: out/tiny
datasets:
  - {name: synth, source: synthetic, train_size: 200, test_size: 50}
model: {hidden: [4]}
training: {steps: 10}
optimizers:
  - {name: sgd, kind: sgd, lr: 0.01}
  - {name: adam, kind: adam}
seeds: [0, 1]
snapshots:
  schedule: {every: 5}
baseline: {networks: 2, top_k: 1}
";

pub(super) fn parse(text: &str, sets: &[&str]) -> Result<ValidatedSweep, Vec<FieldError>> {
    let overrides = Overrides {
        set: sets.iter().map(|s| s.to_string()).collect(),
        output: None,
    };
    parse_sweep(text, &overrides)
}

pub(super) fn tiny(sets: &[&str]) -> ValidatedSweep {
    parse(TINY, sets).unwrap_or_else(|e| panic!("{sets:?}: {e:?}"))
}

pub(super) fn errors(text: &str, sets: &[&str]) -> Vec<FieldError> {
    match parse(text, sets) {
        Ok(_) => panic!("expected errors for {sets:?}"),
        Err(e) => e,
    }
}

/// The paths of the errors `--set` edits of TINY produce.
pub(super) fn error_paths(sets: &[&str]) -> Vec<String> {
    errors(TINY, sets).into_iter().map(|e| e.path).collect()
}

pub(super) fn keys(sweep: &ValidatedSweep) -> Vec<String> {
    sweep.runs().into_iter().map(|r| r.key).collect()
}

fn baseline_keys(sweep: &ValidatedSweep) -> Vec<String> {
    sweep.baseline_tasks().into_iter().map(|t| t.key).collect()
}

// ---- resolution --------------------------------------------------------------------------

#[test]
fn defaults_are_filled_in() {
    let sweep = tiny(&[]);
    let r = sweep.resolved();
    assert_eq!(r.datasets[0].source, DataSource::Synthetic { seed: 0 });
    assert_eq!(r.training.batch_size, 128);
    assert_eq!(r.training.log_every, 1);
    assert_eq!(r.training.eval, r.snapshots.schedule);
    assert_eq!(
        r.optimizers[1].config,
        OptimizerConfig::Adam(crate::optim::AdamConfig {
            lr: 1e-3,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.0,
            decoupled: false,
        })
    );
    assert_eq!(
        (r.snapshots.top_k, r.snapshots.tol, r.snapshots.max_products),
        (3, 1e-3, 1000)
    );
    assert_eq!(r.snapshots.hessian_samples, None);
    assert!(!r.snapshots.store_weights);
    assert_eq!(r.model.bias_init, BiasInit::Zero);

    let minimal = "
name: m
datasets: [{name: s, source: synthetic}, {name: d, source: some/dir}]
training: {steps: 3}
optimizers: [{name: sam, kind: sam}]
seeds: [7]
snapshots: {schedule: {steps: [1]}}
";
    let sweep = parse(minimal, &[]).unwrap();
    let r = sweep.resolved();
    assert_eq!(r.output, std::path::Path::new("out/m"));
    assert_eq!(r.model.hidden, vec![100, 100]);
    assert_eq!(
        (r.datasets[0].train_size, r.datasets[0].test_size),
        (Some(2000), Some(1000))
    );
    assert_eq!(
        r.datasets[1].source,
        DataSource::Directory("some/dir".into())
    );
    assert_eq!(
        (r.datasets[1].train_size, r.datasets[1].test_size),
        (None, None)
    );
    assert_eq!(
        r.optimizers[0].config,
        OptimizerConfig::Sam(crate::optim::SamConfig::sgd(1e-2, 0.05))
    );
    assert_eq!(
        (r.baseline.networks, r.baseline.top_k, r.baseline.tol),
        (100, 3, 1e-3)
    );
    assert_eq!(sweep.baseline_tasks().len(), 200);
}

#[test]
fn runs_nest_dataset_optimizer_seed_and_carry_their_settings() {
    let sweep = tiny(&[
        "datasets[1]={name: other, source: synthetic, seed: 3}",
        "extra_eigen=[{seeds: [1], top_k: 5, tol: 0}]",
        "training.eval={steps: [2]}",
    ]);
    let runs = sweep.runs();
    let order: Vec<(&str, &str, u64)> = runs
        .iter()
        .map(|r| (r.dataset.name.as_str(), r.optimizer.name.as_str(), r.seed))
        .collect();
    assert_eq!(
        order,
        vec![
            ("synth", "sgd", 0),
            ("synth", "sgd", 1),
            ("synth", "adam", 0),
            ("synth", "adam", 1),
            ("other", "sgd", 0),
            ("other", "sgd", 1),
            ("other", "adam", 0),
            ("other", "adam", 1),
        ]
    );
    assert_eq!(runs[0].snapshot_steps, vec![0, 5, 10]);
    assert_eq!(runs[0].eval_steps, vec![2]);
    assert_eq!((runs[0].eigen.top_k, runs[0].eigen.tol), (3, 1e-3));
    assert_eq!((runs[1].eigen.top_k, runs[1].eigen.tol), (5, 0.0));
    assert_eq!(runs[4].dataset.source, DataSource::Synthetic { seed: 3 });
    assert_eq!(
        runs[5].partition(),
        std::path::Path::new("dataset=other/optimizer=sgd/seed=1")
    );

    let tasks = sweep.baseline_tasks();
    let order: Vec<(&str, usize, u64)> = tasks
        .iter()
        .map(|t| (t.dataset.name.as_str(), t.network, t.seed))
        .collect();
    assert_eq!(
        order,
        vec![
            ("synth", 0, 0),
            ("synth", 1, 1),
            ("other", 0, 0),
            ("other", 1, 1)
        ]
    );
    assert_eq!(tasks[0].eigen.top_k, 1);
    assert_eq!(tasks[3].partition(), std::path::Path::new("dataset=other"));
    assert!(tiny(&["baseline.networks=0"]).baseline_tasks().is_empty());
}

// ---- validation: every rule, with its path ---------------------------------------------

#[test]
fn each_rule_reports_its_field_path() {
    let cases: &[(&[&str], &[&str])] = &[
        (&["name=a/b"], &["name"]),
        (&["name=.."], &["name"]),
        (&["output=''"], &["output"]),
        (&["datasets=[]"], &["datasets"]),
        (&["datasets[0].name='x y'"], &["datasets[0].name"]),
        (
            &["datasets[1]={name: synth, source: synthetic}"],
            &["datasets[1].name"],
        ),
        (&["datasets[0].source=''"], &["datasets[0].source"]),
        (
            &["datasets[0]={name: m, source: mnist, seed: 1}"],
            &["datasets[0].seed"],
        ),
        (&["datasets[0].train_size=0"], &["datasets[0].train_size"]),
        (&["datasets[0].test_size=0"], &["datasets[0].test_size"]),
        (
            &["datasets[0].source=mnist", "datasets[0].train_size=60001"],
            &["datasets[0].train_size"],
        ),
        (
            &[
                "datasets[0].source=fashion-mnist",
                "datasets[0].test_size=10001",
            ],
            &["datasets[0].test_size"],
        ),
        (
            &["datasets[0].normalize={mean: 0.1, std: 0}"],
            &["datasets[0].normalize.std"],
        ),
        (
            &["datasets[0].normalize={mean: .nan, std: 1}"],
            &["datasets[0].normalize.mean"],
        ),
        // Issue 27: values that round to 0 or overflow in f32, where the data are normalised.
        (
            &["datasets[0].normalize={mean: 0.1, std: 1e-300}"],
            &["datasets[0].normalize.std"],
        ),
        (
            &["datasets[0].normalize={mean: 0.1, std: 1e-40}"],
            &["datasets[0].normalize.std"],
        ),
        (
            &["datasets[0].normalize={mean: 1e300, std: 1}"],
            &["datasets[0].normalize.mean"],
        ),
        (&["model.hidden=[4, 0]"], &["model.hidden[1]"]),
        (&["training.steps=0"], &["training.steps"]),
        (&["training.batch_size=0"], &["training.batch_size"]),
        (&["training.log_every=0"], &["training.log_every"]),
        (&["training.eval={}"], &["training.eval"]),
        (&["training.eval={every: 0}"], &["training.eval.every"]),
        (&["optimizers=[]"], &["optimizers"]),
        (&["optimizers[1].name=sgd"], &["optimizers[1].name"]),
        (&["optimizers[0].name=''"], &["optimizers[0].name"]),
        (&["optimizers[0].lr=-1"], &["optimizers[0].lr"]),
        (&["optimizers[0].lr=0"], &["optimizers[0].lr"]),
        (&["optimizers[0].lr=.inf"], &["optimizers[0].lr"]),
        (&["optimizers[1].beta1=1"], &["optimizers[1].beta1"]),
        (&["optimizers[1].beta2=0"], &["optimizers[1].beta2"]),
        (&["optimizers[1].eps=0"], &["optimizers[1].eps"]),
        (
            &["optimizers[0]={name: s, kind: sam, rho: -0.1}"],
            &["optimizers[0].rho"],
        ),
        (&["optimizers[0].rho=0.05"], &["optimizers[0].rho"]),
        (&["optimizers[1].rho=0.05"], &["optimizers[1].rho"]),
        (
            &["optimizers[0]={name: s, kind: sam, eps: 1e-8}"],
            &["optimizers[0].eps"],
        ),
        (&["seeds=[]"], &["seeds"]),
        (&["seeds=[1, 2, 1]"], &["seeds[2]"]),
        // Issue 11 §4: the tables store integers as BIGINT.
        (&["seeds=[0, 9223372036854775808]"], &["seeds[1]"]),
        (
            &[
                "training.steps=9223372036854775808",
                "snapshots.schedule={steps: [10]}",
            ],
            &["training.steps"],
        ),
        (&["snapshots.schedule={}"], &["snapshots.schedule"]),
        (
            &["snapshots.schedule={every: 0}"],
            &["snapshots.schedule.every"],
        ),
        (
            &["snapshots.schedule={log: {count: 0}}"],
            &["snapshots.schedule.log.count"],
        ),
        (
            &["snapshots.schedule={linear: {count: 1}}"],
            &["snapshots.schedule.linear.count"],
        ),
        (
            &["snapshots.schedule={linear: {count: 10000001}}"],
            &["snapshots.schedule.linear.count"],
        ),
        (
            &["snapshots.schedule={steps: [11, 20]}"],
            &["snapshots.schedule"],
        ),
        (&["snapshots.top_k=0"], &["snapshots.top_k"]),
        (
            &["snapshots.top_k=3191", "snapshots.max_products=5000"],
            &["snapshots.top_k"],
        ),
        (&["snapshots.tol=-0.1"], &["snapshots.tol"]),
        (&["snapshots.tol=.nan"], &["snapshots.tol"]),
        (&["snapshots.max_products=4"], &["snapshots.max_products"]),
        (
            &["snapshots.hessian_samples=0"],
            &["snapshots.hessian_samples"],
        ),
        (
            &["snapshots.hessian_samples=201"],
            &["snapshots.hessian_samples"],
        ),
        (&["extra_eigen=[{seeds: []}]"], &["extra_eigen[0].seeds"]),
        (
            &["extra_eigen=[{seeds: [0, 9]}]"],
            &["extra_eigen[0].seeds[1]"],
        ),
        (
            &["extra_eigen=[{seeds: [0]}, {seeds: [1, 0]}]"],
            &["extra_eigen[1].seeds[1]"],
        ),
        (
            &["extra_eigen=[{seeds: [0], top_k: 0}]"],
            &["extra_eigen[0].top_k"],
        ),
        (
            &["extra_eigen=[{seeds: [0], tol: -1}]"],
            &["extra_eigen[0].tol"],
        ),
        (
            &["extra_eigen=[{seeds: [0], top_k: 15, max_products: 16}]"],
            &["extra_eigen[0].max_products"],
        ),
        (&["baseline.top_k=0"], &["baseline.top_k"]),
        (&["baseline.top_k=999"], &["baseline.top_k"]),
        (&["baseline.tol=-1"], &["baseline.tol"]),
        (&["baseline.networks=1000000000000"], &["baseline.networks"]),
    ];
    for (sets, paths) in cases {
        assert_eq!(error_paths(sets), *paths, "--set {sets:?}");
    }
    // A disabled baseline is not checked.
    tiny(&["baseline={networks: 0, top_k: 0}"]);
    // Explicit steps past the end are clipped, not errors.
    assert_eq!(
        tiny(&["snapshots.schedule.steps=[3, 500]"]).snapshot_steps(),
        &[0, 3, 5, 10]
    );
}

#[test]
fn messages_show_what_was_expected_and_the_value() {
    let e = errors(TINY, &["optimizers[1].lr=-1"]);
    assert_eq!(
        e[0].to_string(),
        "`optimizers[1].lr`: expected a positive number, got -1"
    );
    let e = errors(TINY, &["optimizers[1].name=sgd"]);
    assert_eq!(
        e[0].to_string(),
        "`optimizers[1].name`: expected a unique optimizer name (optimizers[0] has it too), got sgd"
    );
    let e = errors(TINY, &["snapshots.hessian_samples=500"]);
    assert_eq!(
        e[0].to_string(),
        "`snapshots.hessian_samples`: expected at most the 200 training samples of datasets[0] \
         (synth), got 500"
    );
    let e = errors(TINY, &["optimizers[0].beta1=0.9"]);
    assert_eq!(
        e[0].to_string(),
        "`optimizers[0].beta1`: not a setting of kind sgd (it takes lr, momentum, dampening, nesterov, weight_decay, batch_size, lr_schedule), got 0.9"
    );
}

#[test]
fn every_error_is_reported_at_once() {
    let broken = "
name: bad name
datasets:
  - {name: d, source: synthetic, train_size: 0}
  - {name: d, source: synthetic}
training: {steps: 0, batch_size: 0}
optimizers:
  - {name: sgd, kind: sgd, lr: -1}
  - {name: adam, kind: adam, beta1: 1.5, eps: 0}
seeds: [0, 0]
snapshots: {schedule: {}, top_k: 0, tol: -1}
extra_eigen: [{seeds: [3]}]
";
    let paths: Vec<String> = errors(broken, &[]).into_iter().map(|e| e.path).collect();
    assert_eq!(
        paths,
        vec![
            "name",
            "datasets[1].name",
            "datasets[0].train_size",
            "training.steps",
            "training.batch_size",
            "optimizers[0].lr",
            "optimizers[1].beta1",
            "optimizers[1].eps",
            "seeds[1]",
            "snapshots.schedule",
            "snapshots.top_k",
            "snapshots.tol",
            "extra_eigen[0].seeds[0]",
            "extra_eigen[0].top_k",
            "extra_eigen[0].tol",
        ]
    );
}

// ---- YAML and type errors ----------------------------------------------------------------

#[test]
fn syntax_errors_have_a_location() {
    let e = errors("name: a\ntraining: [\n", &[]);
    assert_eq!(e.len(), 1);
    assert_eq!(e[0].path, "");
    assert_eq!(e[0].location.map(|l| l.line), Some(3));
    assert!(!e[0].message.contains(" at line "), "{}", e[0].message);
    let e = errors("", &[]);
    assert!(e[0].message.contains("holds no sweep"), "{}", e[0]);
}

#[test]
fn type_errors_have_the_field_path_and_location() {
    let text = TINY.replace("steps: 10}", "steps: ten}");
    let e = errors(&text, &[]);
    assert_eq!(e.len(), 1);
    assert_eq!(e[0].path, "training.steps");
    assert_eq!(e[0].location.map(|l| l.line), Some(7));
    assert_eq!(
        e[0].message,
        "expected a whole number ≥ 0, got the text \"ten\""
    );
    assert_eq!(e[0].set_by, None);

    let e = errors(TINY, &["optimizers[0].kind=adm"]);
    assert_eq!(e[0].path, "optimizers[0].kind");
    assert_eq!(
        e[0].message,
        "unknown value `adm`: expected one of sgd, adam, adamw, rmsprop, sam — did you mean adam?"
    );
    // The value came from --set, not from the file: no location to show, the argument named.
    assert_eq!(e[0].location, None);
    assert_eq!(e[0].set_by.as_deref(), Some("--set optimizers[0].kind=adm"));

    let e = errors(TINY, &["snapshots.store_weights=maybe"]);
    assert_eq!(e[0].path, "snapshots.store_weights");
    assert!(e[0].message.contains("expected true or false"), "{}", e[0]);

    let e = errors(TINY, &["training.steps=-5"]);
    assert_eq!(e[0].path, "training.steps");
    assert_eq!(e[0].message, "expected a whole number ≥ 0, got -5");
}

#[test]
fn errors_in_overridden_values_name_the_override() {
    // A rule broken by a --set value (found after deserialisation) is the override's.
    let e = errors(TINY, &["training.steps=5", "optimizers.adam.lr=-1"]);
    assert_eq!(e.len(), 1, "{e:?}");
    assert_eq!(e[0].path, "optimizers[1].lr");
    assert_eq!(e[0].set_by.as_deref(), Some("--set optimizers.adam.lr=-1"));
    assert_eq!(
        e[0].in_file(std::path::Path::new("s.yaml")),
        "--set optimizers.adam.lr=-1: `optimizers[1].lr`: expected a positive number, got -1"
    );
    // A whole entry replaced by --set owns the errors inside it.
    let e = errors(TINY, &["optimizers[0]={name: sgd, kind: sgd, lr: 0}"]);
    assert_eq!(
        e[0].set_by.as_deref(),
        Some("--set optimizers[0]={name: sgd, kind: sgd, lr: 0}")
    );
    // The same rule broken in the file is the file's.
    let e = errors(&TINY.replace("lr: 0.01", "lr: -1"), &["training.steps=5"]);
    assert_eq!(
        (e[0].path.as_str(), e[0].set_by.as_ref()),
        ("optimizers[0].lr", None)
    );
}

#[test]
fn rule_errors_in_the_file_have_a_location() {
    let e = errors(&TINY.replace("lr: 0.01", "lr: -1"), &[]);
    assert_eq!(e[0].path, "optimizers[0].lr");
    assert_eq!(
        e[0].location,
        Some(Location {
            line: 9,
            column: 32
        })
    );
    // Errors found later (the data on disk) are placed too, or blamed on their --set.
    let later = FieldError::new("datasets[0].source", "", "missing");
    let placed = tiny(&[]).attribute(later.clone());
    assert_eq!(
        placed.location,
        Some(Location {
            line: 5,
            column: 27
        })
    );
    let blamed = tiny(&["datasets[0].source=/x"]).attribute(later);
    assert_eq!(
        (blamed.location, blamed.set_by.as_deref()),
        (None, Some("--set datasets[0].source=/x"))
    );
}

#[test]
fn a_snapshot_step_past_the_end_is_a_warning() {
    let sweep = tiny(&["snapshots.schedule={every: 5, steps: [3, 12]}"]);
    assert_eq!(sweep.snapshot_steps(), &[0, 3, 5, 10]);
    let w = sweep.warnings();
    assert_eq!(w.len(), 1, "{w:?}");
    assert_eq!(w[0].path, "snapshots.schedule.steps[1]");
    assert!(
        w[0].message
            .contains("step 12 is past the last training step (training.steps = 10)"),
        "{}",
        w[0]
    );
    assert!(tiny(&[]).warnings().is_empty());
}

#[test]
fn unknown_fields_are_rejected_by_name() {
    let text = TINY.replace("training: {steps: 10}", "training: {steps: 10, stpes: 3}");
    let e = errors(&text, &[]);
    assert_eq!(e[0].path, "training.stpes");
    assert!(e[0].message.contains("unknown field `stpes`"), "{}", e[0]);
    assert_eq!(e[0].location.map(|l| l.line), Some(7));
    let e = errors(TINY, &["optimizer.lr=1"]);
    assert_eq!(e[0].path, "optimizer");
    assert!(
        e[0].message.contains("unknown field `optimizer`"),
        "{}",
        e[0]
    );
    let e = errors(TINY, &["snapshots.schedule.evry=5"]);
    assert_eq!(e[0].path, "snapshots.schedule.evry");
}

#[test]
fn missing_required_fields_are_named() {
    let text = TINY.replace("seeds: [0, 1]\n", "");
    let e = errors(&text, &[]);
    assert_eq!(
        (e[0].path.as_str(), e[0].message.as_str()),
        ("", "the field `seeds` is missing (it has no default)")
    );
    let e = errors(TINY, &["training={batch_size: 3}"]);
    assert_eq!(
        (e[0].path.as_str(), e[0].message.as_str()),
        (
            "training",
            "the field `steps` is missing (it has no default)"
        )
    );
}

/// Issue 26.4: an unknown key, a text where a number belongs and a word where a count belongs
/// took three rounds of `validate`; they are reported in one, each at its place.
#[test]
fn every_structural_error_is_reported_at_once_issue_26() {
    let text = TINY
        .replace("training: {steps: 10}", "trainig: {steps: 10}")
        .replace(
            "{name: sgd, kind: sgd, lr: 0.01}",
            "{name: sgd, kind: sgd, lr: \"1e-2\"}",
        )
        .replace(
            "schedule: {every: 5}",
            "schedule: {every: 5}\n  top_k: three",
        );
    // As `validate` prints them, each at its line and column.
    let shown: Vec<String> = errors(&text, &[])
        .iter()
        .map(|e| e.in_file(std::path::Path::new("s.yaml")))
        .collect();
    assert_eq!(
        shown,
        [
            "s.yaml:7:1: `trainig`: unknown field `trainig`: expected one of name, output, \
             datasets, model, training, optimizers, seeds, snapshots, extra_eigen, baseline, \
             device — did you mean training?",
            "s.yaml:9:32: `optimizers[0].lr`: expected a number, got the text \"1e-2\"",
            "s.yaml:14:10: `snapshots.top_k`: expected a whole number ≥ 0, got the text \"three\"",
        ],
    );
    // `training` is missing, but only because it is misspelt: that is said once, above. The
    // errors come in file order.
}

#[test]
fn every_missing_required_field_is_reported_at_once() {
    let text = TINY
        .replace("seeds: [0, 1]\n", "")
        .replace("training: {steps: 10}", "training: {batch_size: 4}")
        .replace("{name: adam, kind: adam}", "{name: adam}");
    let e = errors(&text, &[]);
    let shown: Vec<(&str, &str)> = e
        .iter()
        .map(|e| (e.path.as_str(), e.message.as_str()))
        .collect();
    assert_eq!(
        shown,
        [
            (
                "training",
                "the field `steps` is missing (it has no default)"
            ),
            (
                "optimizers[1]",
                "the field `kind` is missing (it has no default)"
            ),
            ("", "the field `seeds` is missing (it has no default)"),
        ]
    );
    // At the mapping that lacks the field.
    assert_eq!(e[0].location.map(|l| l.line), Some(7));
    assert_eq!(e[1].location.map(|l| l.line), Some(10));
    assert_eq!(e[2].location.map(|l| (l.line, l.column)), Some((2, 1)));
    // Two missing at the top level, a missing required list, wrong values inside stand-ins:
    // only the author's faults are reported.
    let e = errors(
        "name: x\ndatasets: [{name: d, source: synthetic}]\nmodel: 3\n",
        &[],
    );
    let paths: Vec<(&str, &str)> = e
        .iter()
        .map(|e| (e.path.as_str(), e.message.as_str()))
        .collect();
    assert_eq!(
        paths,
        [
            ("model", "expected a mapping of fields, got 3"),
            ("", "the field `training` is missing (it has no default)"),
            ("", "the field `optimizers` is missing (it has no default)"),
            ("", "the field `seeds` is missing (it has no default)"),
            ("", "the field `snapshots` is missing (it has no default)"),
        ]
    );
}

#[test]
fn a_misspelt_override_path_is_the_overrides_with_the_whole_path_suggested() {
    // Issue 26.4: `--set trainng.steps=300` was blamed on the file.
    let e = errors(TINY, &["trainng.steps=300"]);
    assert_eq!(e.len(), 1, "{e:?}");
    assert_eq!(e[0].set_by.as_deref(), Some("--set trainng.steps=300"));
    assert_eq!(e[0].location, None);
    assert!(
        e[0].message
            .starts_with("unknown field `trainng`: expected one of name, output,"),
        "{}",
        e[0]
    );
    assert!(
        e[0].message.ends_with(" — did you mean training.steps?"),
        "{}",
        e[0]
    );
    let e = errors(TINY, &["snapshots.schedul.every=3"]);
    assert_eq!(
        e[0].set_by.as_deref(),
        Some("--set snapshots.schedul.every=3")
    );
    assert!(
        e[0].message
            .ends_with(" — did you mean snapshots.schedule.every?"),
        "{}",
        e[0]
    );
    // A misspelt last key names the field alone, as in a file.
    let e = errors(TINY, &["training.stpes=3"]);
    assert!(e[0].message.ends_with(" — did you mean steps?"), "{}", e[0]);
}

#[test]
fn override_errors_stop_before_deserialisation() {
    let e = errors(TINY, &["optimizers[5].lr=1"]);
    assert_eq!(e.len(), 1);
    assert!(e[0].message.contains("index 5 is out of range"), "{}", e[0]);
}

#[test]
fn out_replaces_output_after_set() {
    let overrides = Overrides {
        set: vec!["output=/a".into()],
        output: Some("/tmp/b: c".into()),
    };
    let sweep = parse_sweep(TINY, &overrides).unwrap();
    assert_eq!(sweep.resolved().output, std::path::Path::new("/tmp/b: c"));
    assert_eq!(
        sweep.resolved().overrides,
        vec!["--set output=/a", "--out /tmp/b: c"]
    );
}

// ---- plan ----------------------------------------------------------------------------------

#[test]
fn run_estimates_by_hand() {
    // hidden [4]: N = 784·4 + 4 + 4·10 + 10 = 3,190. Snapshots at 0, 5, 10.
    let sweep = tiny(&[]);
    let run = &sweep.runs()[0];
    assert_eq!(run.parameters(), Some(3190));
    let e = estimate_run(run);
    assert_eq!(e.snapshots, 3);
    assert_eq!(e.products, 20 + 2 * 11);
    assert_eq!(e.eigenvector_bytes, 3 * 3 * 3190 * 4);
    assert_eq!(e.weight_bytes, 0);
    assert_eq!(
        e.table_bytes,
        10 * METRICS_ROW_BYTES + 9 * SNAPSHOT_ROW_BYTES
    );
    assert_eq!(e.bytes(), 114_840 + 640 + 864);

    let sweep = tiny(&[
        "snapshots.store_weights=true",
        "training.log_every=4",
        "snapshots.top_k=1",
    ]);
    let e = estimate_run(&sweep.runs()[0]);
    // top-1: 20·3/5 → 12 cold, raised to the cold floor of 20; 11·3/5 → 7 warm; ⌈10/4⌉ = 3
    // metrics rows.
    assert_eq!(e.products, 20 + 2 * 7);
    assert_eq!(e.eigenvector_bytes, 3 * 3190 * 4);
    assert_eq!(e.weight_bytes, 3 * 3190 * 4);
    assert_eq!(
        e.table_bytes,
        3 * METRICS_ROW_BYTES + 3 * SNAPSHOT_ROW_BYTES
    );

    // tol 0: twice the tol-1e-3 estimate (40 cold, 22 warm), within the budget.
    let sweep = tiny(&["snapshots.tol=0", "snapshots.max_products=30"]);
    assert_eq!(estimate_run(&sweep.runs()[0]).products, 30 + 2 * 22);

    let task = &tiny(&[]).baseline_tasks()[0];
    let b = estimate_baseline(task);
    // A cold top-1 solve: the cold floor of 20 products.
    assert_eq!((b.snapshots, b.products), (1, 20));
    assert_eq!(b.bytes(), 3190 * 4 + SNAPSHOT_ROW_BYTES);

    let plan = Plan::new(&tiny(&[]));
    assert_eq!(plan.runs.len(), 4);
    assert_eq!(plan.runs_total().products, 4 * 42);
    assert_eq!(
        plan.baseline_total().bytes(),
        2 * (3190 * 4 + SNAPSHOT_ROW_BYTES)
    );
}

#[test]
fn paper_sweep_matches_the_study() {
    for text in [
        include_str!("../../../sweeps/paper-mnist.yaml"),
        include_str!("../../../sweeps/paper-fashion-mnist.yaml"),
    ] {
        let sweep = parse(text, &[]).unwrap();
        assert_eq!(sweep.snapshot_steps().len(), 1584);
        let plan = Plan::new(&sweep);
        assert_eq!(plan.runs.len(), 15);
        assert_eq!(plan.baseline.len(), 100);
        for (run, e) in &plan.runs {
            assert_eq!(run.parameters(), Some(89_610));
            assert_eq!(run.steps, 100_000);
            let (k, tol) = if run.seed == 0 { (15, 0.0) } else { (3, 1e-3) };
            assert_eq!((run.eigen.top_k, run.eigen.tol), (k, tol));
            // The issue's "~1.7 GB per run": 1,584 × 3 × 89,610 × 4 bytes = 1.703 GB.
            assert_eq!(e.eigenvector_bytes, 1584 * k as u64 * 89_610 * 4);
        }
        let top3 = plan.runs.iter().find(|(r, _)| r.seed == 1).unwrap().1;
        assert_eq!(plan::human_bytes(top3.eigenvector_bytes), "1.70 GB");
        // 12 top-3 runs, 3 top-15 runs, θ at every snapshot of all 15.
        let total = plan.runs_total().bytes();
        assert!((54_000_000_000..55_000_000_000).contains(&total), "{total}");
    }
}

#[test]
fn shipped_small_sweeps_have_the_advertised_shape() {
    let quick = parse(include_str!("../../../sweeps/quickstart.yaml"), &[]).unwrap();
    assert_eq!(quick.runs().len(), 3);
    assert_eq!(
        quick.snapshot_steps(),
        &[0, 1, 5, 24, 100, 121, 200, 300, 400, 500, 600]
    );
    assert_eq!(quick.baseline_tasks().len(), 4);
    let mnist = parse(include_str!("../../../sweeps/mnist-10k.yaml"), &[]).unwrap();
    assert_eq!(mnist.runs().len(), 6);
    assert_eq!(mnist.snapshot_steps().len(), 50);
    let d = &mnist.resolved().datasets[0];
    assert_eq!(
        (&d.source, d.train_size, d.test_size, d.subset_seed),
        (&DataSource::Mnist, Some(8000), Some(2000), Some(0))
    );
    assert_eq!(mnist.baseline_tasks().len(), 10);
}

#[test]
fn absurd_sizes_are_errors_or_estimates_never_panics() {
    let huge = tiny(&[
        "model.hidden=[18446744073709551615]",
        "snapshots.top_k=18446744073709551615",
        "snapshots.max_products=18446744073709551615",
    ]);
    assert_eq!(Plan::new(&huge).runs_total().products, u64::MAX);
    let sweep = tiny(&[
        "model.hidden=[18446744073709551615]",
        "snapshots.top_k=100000000",
        "snapshots.max_products=18446744073709551615",
    ]);
    let plan = Plan::new(&sweep);
    assert_eq!(plan.runs_total().bytes(), u64::MAX);
    let e = errors(TINY, &["snapshots.top_k=18446744073709551615"]);
    assert_eq!(e[0].path, "snapshots.top_k");
}

#[path = "spectral_tests.rs"]
mod spectral_tests;

#[path = "optimizer_tests.rs"]
mod optimizer_tests;

#[path = "key_tests.rs"]
mod key_tests;
