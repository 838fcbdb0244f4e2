//! The shipped sweep files on a fresh clone (issue 26.1): each validates with nothing beside
//! the repository, names its data by a built-in source (never a folder outside the clone),
//! and the real-data ones run from the data cache, their smaller sets a seeded selection from
//! the standard MNIST files.

mod support;

use std::path::{Path, PathBuf};

use eigensweep_common::exit_codes;
use eigensweep_worker::output::read_run_records;
use support::{eigensweep, repo_root, stderr};

/// Every file in `sweeps/`, with the runs and baseline tasks `validate` must report: a new
/// sweep file fails the test until it is listed here.
const SHIPPED: &[(&str, usize, usize)] = &[
    ("mnist-10k.yaml", 6, 10),
    ("momentum.yaml", 8, 10),
    ("paper-fashion-mnist.yaml", 15, 100),
    ("paper-mnist-60k.yaml", 15, 100),
    ("paper-mnist-full.yaml", 15, 100),
    ("paper-mnist.yaml", 15, 100),
    ("quickstart.yaml", 3, 4),
];

/// A command whose data cache is `cache` and whose home is elsewhere: what a fresh machine
/// (or one with only what the test put there) sees.
fn fresh(args: &[&str], cache: &Path) -> std::process::Command {
    let mut cmd = eigensweep(args);
    cmd.env("EIGENSWEEP_DATA", cache)
        .env("HOME", cache)
        .env_remove("XDG_CACHE_HOME");
    cmd
}

#[test]
fn every_shipped_sweep_validates_without_anything_beside_the_clone() {
    let mut files: Vec<String> = std::fs::read_dir(repo_root().join("sweeps"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".yaml"))
        .collect();
    files.sort();
    let listed: Vec<&str> = SHIPPED.iter().map(|(f, _, _)| *f).collect();
    assert_eq!(files, listed, "list every shipped sweep in SHIPPED");
    let empty = tempfile::tempdir().unwrap();
    for (file, runs, tasks) in SHIPPED {
        let path = format!("sweeps/{file}");
        let text = std::fs::read_to_string(repo_root().join(&path)).unwrap();
        for line in text
            .lines()
            .filter(|l| l.trim_start().starts_with("source:"))
        {
            let source = line.trim_start()["source:".len()..].trim();
            assert!(
                ["synthetic", "mnist", "fashion-mnist"].contains(&source),
                "{path}: `{source}` is a folder a fresh clone may not have; name a built-in \
                 source (the cache) instead"
            );
        }
        let out = fresh(&["validate", &path], empty.path()).output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{path}: {}", stderr(&out));
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            format!("{path}: ok ({runs} runs, {tasks} baseline tasks)\n")
        );
    }
}

/// The full MNIST the tests read (`$EIGENSWEEP_TEST_MNIST_FULL_DIR`, set by `.ci/run` from
/// `../shared/data/mnist`); a test that needs it fails, naming the variable, without it.
fn full_mnist() -> PathBuf {
    let dir = std::env::var_os("EIGENSWEEP_TEST_MNIST_FULL_DIR")
        .map(PathBuf::from)
        .expect(
            "set EIGENSWEEP_TEST_MNIST_FULL_DIR to a folder with the four standard MNIST files \
             (.ci/run uses ../shared/data/mnist)",
        );
    assert!(dir.is_dir(), "{} is not a directory", dir.display());
    dir
}

/// Shortens mnist-10k.yaml to seconds: one seed, one optimiser, 10 steps, one snapshot on 500
/// of the drawn digits, one baseline network.
const SHORT: &[&str] = &[
    "--set",
    "seeds=[0]",
    "--set",
    "optimizers=[{name: sgd, kind: sgd, lr: 0.01}]",
    "--set",
    "training.steps=10",
    "--set",
    "snapshots.schedule={steps: [10]}",
    "--set",
    "snapshots.hessian_samples=500",
    "--set",
    "baseline.networks=1",
];

#[test]
fn mnist_10k_runs_from_the_cache_on_a_seeded_selection_of_the_standard_files() {
    let cache = tempfile::tempdir().unwrap();
    let out_dir = tempfile::tempdir().unwrap();
    let out = out_dir.path().join("out");
    let out_s = out.to_str().unwrap();
    let args = |extra: &[&'static str]| {
        let mut v = vec!["run", "sweeps/mnist-10k.yaml", "--out", out_s];
        v.extend_from_slice(SHORT);
        v.extend_from_slice(extra);
        v
    };

    // An empty cache: exit 3 before anything is written, saying once what to run.
    let o = fresh(&args(&[]), cache.path()).output().unwrap();
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(exit_codes::INPUT), "{err}");
    assert!(err.contains("eigensweep data fetch mnist"), "{err}");
    for line in err.lines() {
        assert!(
            line.matches("data fetch").count() <= 1,
            "the advice at most once a line: {line}"
        );
    }

    // The standard files in the cache, as `data fetch mnist` leaves them.
    std::os::unix::fs::symlink(full_mnist(), cache.path().join("mnist")).unwrap();
    let o = fresh(&args(&[]), cache.path()).output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let records = read_run_records(&out.join("runs.parquet")).unwrap();
    assert_eq!(records.len(), 2, "one run and one baseline network");
    for r in &records {
        assert_eq!(r.status, "done", "{r:?}");
        assert!(
            r.config_json.contains(
                r#""dataset":{"name":"mnist-10k","seed":0,"source":"mnist","test_size":2000,"train_size":8000}"#
            ),
            "the selection is part of the task's recorded configuration: {}",
            r.config_json
        );
    }

    // Another seed draws other digits: other tasks, so the same output refuses them and
    // names the change rather than mixing two selections under one dataset name.
    let o = fresh(&args(&["--set", "datasets[0].seed=1"]), cache.path())
        .output()
        .unwrap();
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(exit_codes::INPUT), "{err}");
    assert!(err.contains("changed: dataset.seed: 0 → 1"), "{err}");
    assert_eq!(
        read_run_records(&out.join("runs.parquet")).unwrap(),
        records
    );
}
