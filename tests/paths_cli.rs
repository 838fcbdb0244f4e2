//! End-to-end tests of where a sweep's paths point and what its keys depend on (issue 7):
//! dataset directories relative to the sweep file, absolute in `OUT/sweep.yaml`, commands
//! run from other directories, keys on the data's content, refusals that name the changed
//! fields, and output paths DuckDB would misread.

#[path = "support/mod.rs"]
mod support;

use std::path::{Path, PathBuf};
use std::process::Output;

use eigensweep_common::exit_codes;
use eigensweep_worker::data::{read_labels, write_idx_labels};
use support::{eigensweep, stderr};

/// The small real MNIST extract the tests read.
fn mnist_dir() -> PathBuf {
    std::env::var_os("EIGENSWEEP_TEST_MNIST_DIR")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| support::repo_root().join("../shared/data/mnist-10k"))
}

/// `eigensweep ARGS` run in `cwd`.
fn run_in(cwd: &Path, args: &[&str]) -> Output {
    eigensweep(args)
        .current_dir(cwd)
        .output()
        .expect("running eigensweep")
}

/// A tiny sweep on real digits: two optimisers, one seed, a few snapshots.
const TINY: &str = "
name: tiny-digits
datasets:
  - {name: digits, source: ../data, train_size: 300, test_size: 100}
model: {hidden: [8]}
training: {steps: 20, batch_size: 32}
optimizers:
  - {name: sgd, kind: sgd, lr: 0.01}
  - {name: adam, kind: adam}
seeds: [0]
snapshots: {schedule: {every: 10}, top_k: 1, hessian_samples: 100, store_weights: true}
baseline: {networks: 1, top_k: 1}
";

/// `ROOT/sweeps/tiny.yaml` naming `../data`, a copy of the digits in `ROOT/data`, and an
/// unrelated current directory `ROOT/elsewhere`.
fn layout(root: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let (sweeps, data, elsewhere) = (
        root.join("sweeps"),
        root.join("data"),
        root.join("elsewhere"),
    );
    for d in [&sweeps, &data, &elsewhere] {
        std::fs::create_dir(d).unwrap();
    }
    for entry in std::fs::read_dir(mnist_dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.to_string_lossy().contains("ubyte") {
            std::fs::copy(&path, data.join(path.file_name().unwrap())).unwrap();
        }
    }
    let file = sweeps.join("tiny.yaml");
    std::fs::write(&file, TINY).unwrap();
    (file, data, elsewhere)
}

#[test]
fn relative_data_is_read_from_the_sweep_folder_and_keys_follow_the_files() {
    let tmp = tempfile::tempdir().unwrap();
    let (file, data, elsewhere) = layout(tmp.path());
    let out = tmp.path().join("out");
    let (file_s, out_s) = (file.to_str().unwrap(), out.to_str().unwrap());

    // Run from a directory that is neither the repository nor the sweep's folder.
    // `--threads` is the process's budget, shared by the jobs (it used not to limit them).
    let o = run_in(
        &elsewhere,
        &[
            "run",
            file_s,
            "--out",
            out_s,
            "--jobs",
            "2",
            "--threads",
            "2",
        ],
    );
    assert_eq!(o.status.code(), Some(exit_codes::SUCCESS), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("(2 jobs × 1 threads, device cpu)"),
        "{}",
        stderr(&o)
    );
    let recorded = std::fs::read_to_string(out.join("sweep.yaml")).unwrap();
    let data_abs = data.canonicalize().unwrap();
    assert!(
        recorded.contains(&format!("source: {}", data_abs.display())),
        "OUT/sweep.yaml must hold the absolute data path:\n{recorded}"
    );

    // `plan` prints the keys `run` used (both key the data on its files' digest).
    let o = run_in(tmp.path(), &["plan", file_s, "--out", out_s]);
    let plan = String::from_utf8_lossy(&o.stdout).into_owned();
    let records = eigensweep_worker::output::read_run_records(&out.join("runs.parquet")).unwrap();
    assert_eq!(records.len(), 3);
    for r in &records {
        assert!(plan.contains(&r.key), "{} not in the plan:\n{plan}", r.key);
        assert!(
            r.config_json.contains("\"data_digest\":\"sha256:"),
            "{}",
            r.config_json
        );
    }

    // The same files named by an absolute path, and through a link with another name: the
    // same keys, so the finished sweep is simply found finished.
    let link = tmp.path().join("digits-link");
    std::os::unix::fs::symlink(&data, &link).unwrap();
    for source in [data_abs.clone(), link] {
        let set = format!("datasets[0].source={}", source.display());
        let o = run_in(&elsewhere, &["run", file_s, "--out", out_s, "--set", &set]);
        assert_eq!(
            o.status.code(),
            Some(exit_codes::SUCCESS),
            "{set}: {}",
            stderr(&o)
        );
    }
    // A relative path in --set is read from the current directory.
    let o = run_in(
        &elsewhere,
        &[
            "plan",
            file_s,
            "--out",
            out_s,
            "--set",
            "datasets[0].source=../data",
        ],
    );
    assert_eq!(o.status.code(), Some(exit_codes::SUCCESS), "{}", stderr(&o));
    let o = run_in(
        tmp.path(),
        &[
            "plan",
            file_s,
            "--out",
            out_s,
            "--set",
            "datasets[0].source=../data",
        ],
    );
    assert_eq!(o.status.code(), Some(exit_codes::INPUT), "{}", stderr(&o));

    // A changed learning rate is refused, naming the field with its old and new values.
    let o = run_in(
        &elsewhere,
        &[
            "run",
            file_s,
            "--out",
            out_s,
            "--set",
            "optimizers[0].lr=0.02",
        ],
    );
    assert_eq!(o.status.code(), Some(exit_codes::INPUT), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("optimizer.lr: 0.01 → 0.02"),
        "{}",
        stderr(&o)
    );

    // The report, from yet another directory, finds the data for Figure 8.
    let o = run_in(
        tmp.path(),
        &[
            "report",
            out_s,
            "--alpha-points",
            "3",
            "--sharpness-iterations",
            "1",
        ],
    );
    assert_eq!(o.status.code(), Some(exit_codes::SUCCESS), "{}", stderr(&o));
    assert!(
        !stderr(&o).contains("no minima comparison"),
        "{}",
        stderr(&o)
    );
    assert!(out.join("report/digits/fig08-minima.svg").is_file());

    // An OUT/sweep.yaml of an earlier version, whose relative path meant the current
    // directory, still finds its data from there.
    let yaml = out.join("sweep.yaml");
    let old = std::fs::read_to_string(&yaml)
        .unwrap()
        .replace(&format!("source: {}", data_abs.display()), "source: data");
    std::fs::write(&yaml, old).unwrap();
    let minima = [
        "minima",
        out_s,
        "--alpha-points",
        "3",
        "--sharpness-iterations",
        "1",
    ];
    let o = run_in(tmp.path(), &minima);
    assert_eq!(o.status.code(), Some(exit_codes::SUCCESS), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("reading data from the current directory"),
        "{}",
        stderr(&o)
    );
    let o = run_in(&elsewhere, &minima);
    assert_eq!(o.status.code(), Some(exit_codes::INPUT), "{}", stderr(&o));
}

#[test]
fn other_files_under_the_same_path_are_another_configuration() {
    let tmp = tempfile::tempdir().unwrap();
    let (file, data, elsewhere) = layout(tmp.path());
    let out = tmp.path().join("out");
    let (file_s, out_s) = (file.to_str().unwrap(), out.to_str().unwrap());
    // The plan up to its time estimate: the keys and sizes (the time scales the calibration
    // by a matrix-product probe of this machine, which varies from call to call).
    let plan = |cwd: &Path| {
        let o = run_in(cwd, &["plan", file_s, "--out", out_s]);
        assert_eq!(o.status.code(), Some(exit_codes::SUCCESS), "{}", stderr(&o));
        let text = String::from_utf8_lossy(&o.stdout).into_owned();
        let end = text.find("\ntime (").expect("a time section");
        text[..end].to_string()
    };
    let before = plan(&elsewhere);
    assert_eq!(
        before,
        plan(tmp.path()),
        "keys depend on the current directory"
    );
    // Swap the training labels for others (the test labels of the same extract are fewer):
    // still a valid file (commands read the labels, so a corrupt one would be refused).
    let labels = std::fs::read_dir(&data)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().contains("train-labels"))
        .unwrap();
    let mut values = read_labels(&labels).unwrap();
    let last = values.len() - 1;
    values[last] = (values[last] + 1) % 10;
    let gzip = labels.extension().is_some_and(|e| e == "gz");
    write_idx_labels(&labels, &values, gzip).unwrap();
    assert_ne!(
        before,
        plan(&elsewhere),
        "keys must follow the files' content"
    );
}

#[test]
fn an_output_below_a_key_value_folder_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("seed=3/out");
    let out_s = out.to_str().unwrap();
    for command in ["validate", "plan", "run"] {
        let o = run_in(
            &support::repo_root(),
            &[command, "sweeps/quickstart.yaml", "--out", out_s],
        );
        assert_eq!(
            o.status.code(),
            Some(exit_codes::INPUT),
            "{command}: {}",
            stderr(&o)
        );
        let text = stderr(&o);
        assert!(
            text.contains(&format!("--out {out_s}")),
            "{command}: {text}"
        );
        assert!(
            text.contains("`seed=3`") && text.contains("hive"),
            "{command}: {text}"
        );
    }
    assert!(
        !tmp.path().join("seed=3").exists(),
        "nothing may be created"
    );
}

#[test]
fn a_missing_dataset_leaves_no_output_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let empty_cache = tmp.path().join("cache");
    std::fs::create_dir(&empty_cache).unwrap();
    let o = eigensweep(&[
        "run",
        "sweeps/quickstart.yaml",
        "--out",
        out.to_str().unwrap(),
        "--set",
        "datasets[0].source=mnist",
    ])
    .env("EIGENSWEEP_DATA", &empty_cache)
    .output()
    .unwrap();
    assert_eq!(o.status.code(), Some(exit_codes::INPUT), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("eigensweep data fetch mnist"),
        "{}",
        stderr(&o)
    );
    assert!(!out.exists(), "{} was created", out.display());
}

#[test]
fn run_options_are_grouped_and_each_bad_one_is_named_alone() {
    let o = run_in(&support::repo_root(), &["run", "--help"]);
    let help = String::from_utf8_lossy(&o.stdout).into_owned();
    let headings: Vec<usize> = [
        "Sweep:",
        "Output:",
        "Parallelism:",
        "Checkpoints:",
        "Cluster:",
    ]
    .iter()
    .map(|h| help.find(h).unwrap_or_else(|| panic!("no {h} in:\n{help}")))
    .collect();
    assert!(headings.windows(2).all(|w| w[0] < w[1]), "{help}");
    assert!(!help.contains("--threads-per-rank"), "{help}");

    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let out_s = out.to_str().unwrap();
    for (args, named, not_named) in [
        (&["--jobs", "0"][..], "--jobs", "--checkpoint"),
        (&["--threads", "0"][..], "--threads", "--jobs"),
        (
            &["--checkpoint-every", "0"][..],
            "--checkpoint-every",
            "--jobs",
        ),
        (
            &["--threads", "1", "--threads-per-run", "2"][..],
            "--threads 1",
            "--checkpoint",
        ),
        (
            &["--threads", "2", "--jobs", "3"][..],
            "--jobs 3",
            "--checkpoint",
        ),
    ] {
        let mut all = vec!["run", "sweeps/quickstart.yaml", "--out", out_s];
        all.extend_from_slice(args);
        let o = run_in(&support::repo_root(), &all);
        assert_eq!(
            o.status.code(),
            Some(exit_codes::USAGE),
            "{args:?}: {}",
            stderr(&o)
        );
        let text = stderr(&o);
        assert!(text.contains(named), "{args:?}: {text}");
        assert!(!text.contains(not_named), "{args:?}: {text}");
        assert!(!out.exists(), "{args:?}: nothing may be written");
    }
}
