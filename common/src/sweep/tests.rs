//! Tests of the sweep passes together: text → validated sweep → runs, keys and estimates.

use std::collections::HashSet;

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
            &["datasets[0].source=mnist", "datasets[0].seed=1"],
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

// ---- keys ----------------------------------------------------------------------------------

#[test]
fn keys_are_fixed_for_a_fixed_configuration() {
    // A change here invalidates every existing output directory: only ever change it on
    // purpose, together with KEY_FORMAT_VERSION.
    let sweep = tiny(&[]);
    let run = &sweep.runs()[0];
    assert_eq!(
        run.config_json(),
        r#"{"batch_size":128,"dataset":{"name":"synth","seed":0,"source":"synthetic","test_size":50,"train_size":200},"eigen":{"max_products":1000,"tol":0.001,"top_k":3},"eval_steps":[0,5,10],"format_version":1,"hessian_samples":null,"log_every":1,"model":{"bias_init":"zero","hidden":[4]},"optimizer":{"kind":"sgd","lr":0.01,"name":"sgd"},"seed":0,"snapshot_steps":[0,5,10],"steps":10,"store_weights":false,"task":"run","widths":[784,4,10]}"#
    );
    // The widths follow from the data and are not hashed: keys written before they were
    // recorded stay valid.
    assert_eq!(run.key, "c700bdb12284de5f");
    let task = &sweep.baseline_tasks()[0];
    assert_eq!(
        task.config_json(),
        r#"{"dataset":{"name":"synth","seed":0,"source":"synthetic","test_size":50,"train_size":200},"eigen":{"max_products":1000,"tol":0.001,"top_k":1},"format_version":1,"hessian_samples":null,"model":{"bias_init":"zero","hidden":[4]},"network":0,"seed":0,"task":"baseline","widths":[784,4,10]}"#
    );
    assert_eq!(task.key, "1df0eb23300169c4");
}

#[test]
fn the_data_shape_gives_the_widths_and_n_but_not_the_key() {
    let on_dir = |shape: Option<DataShape>| {
        let mut sweep = tiny(&["datasets[0]={name: letters, source: /data/letters}"]);
        sweep.set_data_digest("letters", "sha256:aa".into());
        if let Some(shape) = shape {
            assert!(sweep.set_data_shape("letters", shape).is_empty());
        }
        sweep
    };
    let unknown = on_dir(None);
    let run = &unknown.runs()[0];
    assert_eq!(
        (run.shape, run.widths(), run.parameters()),
        (None, None, None)
    );
    assert!(!run.config_json().contains("widths"));
    assert_eq!(unknown.data_shape("letters"), None);
    // Estimated without vectors until the shape is known.
    assert_eq!(estimate_run(run).eigenvector_bytes, 0);

    let letters = DataShape {
        inputs: 1024,
        classes: 27,
    };
    let known = on_dir(Some(letters));
    assert_eq!(known.data_shape("letters"), Some(letters));
    let run = &known.runs()[0];
    assert_eq!(run.widths(), Some(vec![1024, 4, 27]));
    // N = 1024·4 + 4 + 4·27 + 27 = 4,235.
    assert_eq!(run.parameters(), Some(4235));
    assert!(
        run.config_json().contains(r#""widths":[1024,4,27]"#),
        "{}",
        run.config_json()
    );
    assert_eq!(estimate_run(run).eigenvector_bytes, 3 * 3 * 4235 * 4);
    // What the runs table records reads back.
    let recorded = RecordedConfig::parse(&run.config_json()).unwrap();
    assert_eq!(recorded.dataset, "letters");
    assert_eq!(recorded.data_digest.as_deref(), Some("sha256:aa"));
    assert_eq!(recorded.shape(), Some(letters));
    let old = RecordedConfig::parse(&unknown.runs()[0].config_json()).unwrap();
    assert_eq!((old.widths.clone(), old.shape()), (None, None));
    assert_eq!(RecordedConfig::parse("{}"), None);
    let task = &known.baseline_tasks()[0];
    assert_eq!(task.parameters(), Some(4235));
    assert_eq!(estimate_baseline(task).eigenvector_bytes, 4235 * 4);
    assert_eq!(keys(&known), keys(&unknown));
    assert_eq!(baseline_keys(&known), baseline_keys(&unknown));

    // A set shape replaces a built-in source's known one.
    let mut synth = tiny(&[]);
    assert_eq!(synth.data_shape("synth"), Some(DataShape::MNIST));
    assert_eq!(synth.runs()[0].parameters(), Some(3190));
    synth.set_data_shape("synth", letters);
    assert_eq!(synth.runs()[0].parameters(), Some(4235));
    assert_eq!(keys(&synth), keys(&tiny(&[])));
}

#[test]
fn more_eigenpairs_than_a_small_network_has_are_refused_once_its_shape_is_known() {
    // 2×2 images, 2 classes, hidden [1]: N = 4 + 1 + 2 + 2 = 9 parameters.
    let mut sweep = tiny(&[
        "datasets[0]={name: dots, source: /data/dots}",
        "model.hidden=[1]",
        "snapshots.top_k=10",
        "snapshots.max_products=100",
        "extra_eigen=[{seeds: [0], top_k: 4}]",
    ]);
    let errors = sweep.set_data_shape(
        "dots",
        DataShape {
            inputs: 4,
            classes: 2,
        },
    );
    let paths: Vec<&str> = errors.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(paths, ["snapshots.top_k"]);
    assert_eq!(
        errors[0].to_string(),
        "`snapshots.top_k`: expected at most the 9 parameters of the network on datasets[0] \
         (dots, 4-1-2), got 10"
    );
}

#[test]
fn a_directory_dataset_is_keyed_on_its_digest_not_its_path() {
    let on_dir = |dir: &str, digest: Option<&str>| {
        let mut sweep = tiny(&[&format!("datasets[0]={{name: synth, source: {dir}}}")]);
        if let Some(d) = digest {
            sweep.set_data_digest("synth", d.to_string());
        }
        sweep
    };
    let a = on_dir("/data/mnist", Some("sha256:aa"));
    let b = on_dir("../../elsewhere/mnist", Some("sha256:aa"));
    let c = on_dir("/data/mnist", Some("sha256:bb"));
    assert_eq!(keys(&a), keys(&b));
    assert_eq!(baseline_keys(&a), baseline_keys(&b));
    assert!(keys(&a).iter().zip(keys(&c)).all(|(x, y)| *x != y));
    assert!(baseline_keys(&a)
        .iter()
        .zip(baseline_keys(&c))
        .all(|(x, y)| *x != y));
    // The path stays in the configuration for people, beside the digest.
    let json = a.runs()[0].config_json();
    assert!(json.contains(r#""source":"/data/mnist""#), "{json}");
    assert!(json.contains(r#""data_digest":"sha256:aa""#), "{json}");
    // Without a digest (this crate reads no files) the path is what is keyed.
    assert_ne!(
        keys(&on_dir("/data/mnist", None)),
        keys(&on_dir("/x", None))
    );
    // Digests of synthetic data are ignored: it is keyed on its generator settings.
    let mut synthetic = tiny(&[]);
    synthetic.set_data_digest("synth", "sha256:aa".into());
    assert_eq!(keys(&synthetic), keys(&tiny(&[])));
}

#[test]
fn relative_directories_are_read_from_the_file_folder_and_set_ones_from_the_cwd() {
    let dir = std::env::temp_dir().join(format!("eigensweep-sweep-paths-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("sweeps")).unwrap();
    let file = dir.join("sweeps/s.yaml");
    std::fs::write(
        &file,
        TINY.replace(
            "source: synthetic, train_size: 200, test_size: 50",
            "source: ../data",
        ),
    )
    .unwrap();
    let source = |sets: &[&str]| {
        let overrides = Overrides {
            set: sets.iter().map(|s| s.to_string()).collect(),
            output: None,
        };
        let sweep = read_sweep(&file, &overrides).unwrap();
        sweep.resolved().datasets[0].source.clone()
    };
    let cwd = std::env::current_dir().unwrap();
    assert_eq!(
        source(&[]),
        DataSource::Directory(dir.join("sweeps").join("../data"))
    );
    assert_eq!(
        source(&["datasets[0].source=rel/data"]),
        DataSource::Directory(cwd.join("rel/data"))
    );
    assert_eq!(source(&["datasets[0].source=mnist"]), DataSource::Mnist);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn keys_ignore_the_sweep_name_output_and_spelling_of_defaults() {
    let base = tiny(&[]);
    for sets in [
        &["name=renamed"][..],
        &["output=/elsewhere"],
        &["optimizers[1]={name: adam, kind: adam, lr: 0.001, beta1: 0.9, beta2: 0.999, eps: 1.0e-8}"],
        &["snapshots.top_k=3", "snapshots.tol=1e-3", "training.batch_size=128"],
        &["snapshots.schedule={every: 5, steps: [0, 10, 99]}"],
        &["training.eval={linear: {count: 3}}"],
    ] {
        let other = tiny(sets);
        assert_eq!(keys(&other), keys(&base), "{sets:?}");
        assert_eq!(baseline_keys(&other), baseline_keys(&base), "{sets:?}");
    }
    // The same file read twice gives the same keys.
    assert_eq!(keys(&tiny(&[])), keys(&base));
}

#[test]
fn keys_change_when_anything_that_shapes_the_outputs_changes() {
    let base = tiny(&[]);
    let base_keys: HashSet<String> = keys(&base).into_iter().collect();
    assert_eq!(base_keys.len(), 4, "runs of one sweep have distinct keys");
    for sets in [
        &["datasets[0].name=synth2"][..],
        &["datasets[0].train_size=201"],
        &["datasets[0].test_size=51"],
        &["datasets[0].seed=1"],
        &["datasets[0].normalize={mean: 0.1, std: 0.3}"],
        &["model.hidden=[5]"],
        &["model.bias_init=pytorch"],
        &["training.steps=11"],
        &["training.batch_size=64"],
        &["training.log_every=2"],
        &["training.eval={every: 2}"],
        &["optimizers[0].lr=0.02", "optimizers[1].lr=0.002"],
        &["optimizers[0].name=sgd2", "optimizers[1].eps=1e-7"],
        &["optimizers[0].kind=sam", "optimizers[1].beta1=0.8"],
        &["seeds=[2, 3]"],
        &["snapshots.schedule.every=2"],
        &["snapshots.top_k=2"],
        &["snapshots.tol=1e-4"],
        &["snapshots.max_products=500"],
        &["snapshots.hessian_samples=100"],
        &["snapshots.store_weights=true"],
    ] {
        let changed: HashSet<String> = keys(&tiny(sets)).into_iter().collect();
        assert!(changed.is_disjoint(&base_keys), "{sets:?} kept a key");
    }
    // extra_eigen changes exactly the runs of its seeds.
    let extra = keys(&tiny(&["extra_eigen=[{seeds: [1], top_k: 4}]"]));
    let base = keys(&base);
    for (i, (a, b)) in base.iter().zip(&extra).enumerate() {
        assert_eq!(a == b, i % 2 == 0, "run {i}");
    }
    // Baseline keys follow their own settings and the data, not the runs'.
    let base_b = baseline_keys(&tiny(&[]));
    assert_eq!(
        baseline_keys(&tiny(&["optimizers[0].lr=0.5", "training.steps=3"])),
        base_b
    );
    for sets in [
        &["baseline.top_k=2"][..],
        &["baseline.tol=0.01"],
        &["datasets[0].train_size=150"],
        &["snapshots.hessian_samples=100"],
        &["model.hidden=[3]"],
    ] {
        let changed = baseline_keys(&tiny(sets));
        assert!(changed.iter().all(|k| !base_b.contains(k)), "{sets:?}");
    }
}

#[test]
fn resolved_yaml_round_trips_to_the_same_sweep_and_keys() {
    for (text, sets) in [
        (TINY, &[][..]),
        (
            TINY,
            &[
                "extra_eigen=[{seeds: [0], top_k: 5, tol: 0}]",
                "datasets[0].normalize={mean: 0.1307, std: 0.3081}",
            ],
        ),
        (include_str!("../../../sweeps/quickstart.yaml"), &[]),
        (include_str!("../../../sweeps/mnist-10k.yaml"), &[]),
        (
            include_str!("../../../sweeps/paper-mnist.yaml"),
            &["training.steps=1000"],
        ),
    ] {
        let sweep = parse(text, sets).unwrap();
        let yaml = sweep.to_yaml();
        let again = parse(&yaml, &[]).unwrap_or_else(|e| panic!("{yaml}\n{e:?}"));
        assert_eq!(keys(&again), keys(&sweep));
        assert_eq!(baseline_keys(&again), baseline_keys(&sweep));
        let mut expected = sweep.resolved().clone();
        expected.overrides.clear();
        assert_eq!(again.resolved(), &expected);
        // Resolving a resolved file changes nothing.
        assert_eq!(
            parse(&again.to_yaml(), &[]).unwrap().to_yaml(),
            again.to_yaml()
        );
    }
    let yaml = tiny(&["training.steps=20"]).to_yaml();
    assert!(yaml.contains("#   --set training.steps=20\n"), "{yaml}");
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
    // top-1: 20·3/5 → 12 cold, 11·3/5 → 7 warm; ⌈10/4⌉ = 3 metrics rows.
    assert_eq!(e.products, 12 + 2 * 7);
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
    assert_eq!((b.snapshots, b.products), (1, 12));
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
    assert_eq!(
        mnist.resolved().datasets[0].source,
        DataSource::Directory("../../shared/data/mnist-10k".into())
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
