//! Tests of run and baseline keys: what shapes them, what does not, and their fixed values.

use std::collections::HashSet;

use super::super::*;
use super::*;

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
fn a_real_dataset_seed_draws_its_subset_and_shapes_the_key() {
    let mnist = ["datasets[0].source=mnist", "datasets[0].train_size=8000"];
    let first_n = tiny(&mnist);
    assert_eq!(first_n.resolved().datasets[0].subset_seed, None);
    let drawn = tiny(&[&mnist[..], &["datasets[0].seed=4"]].concat());
    let d = &drawn.resolved().datasets[0];
    assert_eq!(
        (d.source.clone(), d.subset_seed),
        (DataSource::Mnist, Some(4))
    );
    let other = tiny(&[&mnist[..], &["datasets[0].seed=5"]].concat());
    let sets: Vec<HashSet<String>> = [&first_n, &drawn, &other]
        .iter()
        .map(|s| keys(s).into_iter().collect())
        .collect();
    assert!(sets[0].is_disjoint(&sets[1]) && sets[1].is_disjoint(&sets[2]));
    // The seed is recorded where the run's config is, so a reader rebuilds the same subset.
    assert!(keys(&drawn).len() == 4);
    assert!(drawn.runs()[0]
        .config_json()
        .contains(r#""seed":4,"source":"mnist""#));
    // A seed with no size to draw is refused, naming the field.
    assert_eq!(
        error_paths(&["datasets[0]={name: m, source: mnist, seed: 1}"]),
        ["datasets[0].seed"]
    );
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
