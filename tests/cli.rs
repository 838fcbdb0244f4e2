//! End-to-end tests: run the `eigensweep` binary as a user would and check what it prints and
//! how it exits.

#[path = "support/mod.rs"]
mod support;

use std::path::{Path, PathBuf};
use std::process::Output;

fn eigensweep(args: &[&str], envs: &[(&str, &Path)]) -> Output {
    let mut cmd = support::eigensweep(args);
    for (k, v) in envs {
        cmd.env(k, v);
    }
    cmd.output().expect("running eigensweep")
}

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn mnist_dir() -> PathBuf {
    match std::env::var_os("EIGENSWEEP_TEST_MNIST_DIR") {
        Some(d) => PathBuf::from(d),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/mnist-10k"),
    }
}

/// Parses the snapshot rows of `train`'s table: (step, loss, HVPs, converged, k, λ1).
fn snapshot_rows(stdout: &str) -> Vec<(u64, f64, usize, usize, usize, f64)> {
    stdout
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim_start().starts_with("step"))
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let (conv, k) = f[4].split_once('/').unwrap();
            (
                f[0].parse().unwrap(),
                f[1].parse().unwrap(),
                f[3].parse().unwrap(),
                conv.parse().unwrap(),
                k.parse().unwrap(),
                f[7].parse().unwrap(),
            )
        })
        .collect()
}

#[test]
fn train_on_synthetic_data_prints_converged_snapshots_and_is_reproducible() {
    let args = [
        "train",
        "--threads",
        "2",
        "--steps",
        "120",
        "--snapshot-every",
        "60",
        "--train-size",
        "600",
        "--top-k",
        "2",
    ];
    let out = eigensweep(&args, &[]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "stderr: {stderr}");
    let rows = snapshot_rows(&stdout);
    assert_eq!(
        rows.iter().map(|r| r.0).collect::<Vec<_>>(),
        vec![0, 60, 120]
    );
    for r in &rows {
        assert_eq!(
            (r.3, r.4),
            (2, 2),
            "all pairs converge at tol 1e-3: {stdout}"
        );
        assert!(r.5 > 0.0 && r.5.is_finite());
    }
    assert!(rows[2].1 < rows[0].1, "training lowers the loss: {stdout}");
    // Same seed, same threads: identical numbers (timings aside).
    let again = eigensweep(&args, &[]);
    let strip = |s: &str| {
        snapshot_rows(s)
            .iter()
            .map(|r| (r.0, r.1.to_bits(), r.2, r.5.to_bits()))
            .collect::<Vec<_>>()
    };
    assert_eq!(strip(&stdout), strip(&text(&again).0));
}

/// Issue 25.1: `train` has no run loop of its own. It is one run of a sweep, trained by `run`'s
/// loop: what it prints is what `run` stores for the same settings, to the last printed digit.
#[test]
fn train_prints_what_run_stores_for_the_same_settings() {
    let tmp = tempfile::tempdir().unwrap();
    let out = eigensweep(
        &[
            "train",
            "--threads",
            "1",
            "--optimizer",
            "adam",
            "--seed",
            "3",
            "--steps",
            "40",
            "--snapshot-every",
            "20",
            "--train-size",
            "300",
            "--hidden",
            "16",
            "--top-k",
            "2",
        ],
        &[],
    );
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "stderr: {stderr}");
    let printed = snapshot_rows(&stdout);
    assert_eq!(printed.iter().map(|r| r.0).collect::<Vec<_>>(), [0, 20, 40]);

    let sweep = tmp.path().join("one.yaml");
    std::fs::write(
        &sweep,
        "name: one\ndatasets: [{name: synthetic, source: synthetic, seed: 3, train_size: 300}]\n\
         model: {hidden: [16]}\ntraining: {steps: 40}\noptimizers: [{name: train, kind: adam}]\n\
         seeds: [3]\nsnapshots: {schedule: {every: 20}, top_k: 2}\nbaseline: {networks: 0}\n",
    )
    .unwrap();
    let dir = tmp.path().join("out");
    let run = eigensweep(
        &[
            "run",
            sweep.to_str().unwrap(),
            "--out",
            dir.to_str().unwrap(),
            "--threads",
            "1",
        ],
        &[],
    );
    assert!(run.status.success(), "{}", text(&run).1);
    let stored = eigensweep_worker::output::read_snapshot_rows(
        &dir.join("runs/dataset=synthetic/optimizer=train/seed=3/snapshots"),
    )
    .unwrap();
    let metrics = eigensweep_worker::output::read_metric_rows(
        &dir.join("runs/dataset=synthetic/optimizer=train/seed=3/metrics"),
    )
    .unwrap();
    for (step, loss, products, converged, k, lambda1) in printed {
        let evaluated = metrics.iter().find(|m| m.step == step).unwrap();
        let stored_loss: f64 = eigensweep_common::display::number(evaluated.train_loss.unwrap())
            .parse()
            .unwrap();
        assert_eq!(loss, stored_loss, "step {step}: {stdout}");
        let rows: Vec<_> = stored.iter().filter(|r| r.step == step).collect();
        assert_eq!(k, rows.len(), "step {step}");
        assert_eq!(converged, rows.iter().filter(|r| r.converged).count());
        assert_eq!(products, rows[0].products as usize, "step {step}");
        let top = rows.iter().find(|r| r.index == 1).unwrap();
        let shown: f64 = eigensweep_common::display::number(top.eigenvalue)
            .parse()
            .unwrap();
        assert_eq!(lambda1, shown, "step {step}: {stdout}");
    }
}

/// A value `train` refuses is named by the option that set it, not by the one-run sweep's field.
#[test]
fn train_names_the_option_of_a_refused_value() {
    for (args, said) in [
        (&["--lr=-1"][..], "--lr -1: expected a positive number"),
        (&["--hidden", "0"][..], "--hidden 0:"),
        (&["--top-k", "0"][..], "--top-k 0:"),
        (&["--steps", "0"][..], "--steps 0:"),
        (&["--tol=-1"][..], "--tol -1"),
    ] {
        let out = eigensweep(&[&["train"][..], args].concat(), &[]);
        let (_, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(said), "{args:?}: {stderr}");
        assert!(!stderr.contains("datasets[0]"), "{args:?}: {stderr}");
    }
}

#[test]
fn train_on_real_mnist_digits() {
    let dir = mnist_dir();
    assert!(
        dir.is_dir(),
        "set EIGENSWEEP_TEST_MNIST_DIR to a directory with MNIST IDX files (tried {})",
        dir.display()
    );
    let out = eigensweep(
        &[
            "train",
            "--data",
            dir.to_str().unwrap(),
            "--optimizer",
            "adam",
            "--steps",
            "60",
            "--snapshot-every",
            "60",
            "--hessian-samples",
            "1000",
        ],
        &[],
    );
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "stderr: {stderr}");
    assert!(stdout.contains("8000 train / 2000 test"), "{stdout}");
    assert_eq!(snapshot_rows(&stdout).len(), 2);
}

#[test]
fn missing_dataset_directory_is_an_input_error_naming_the_path() {
    let out = eigensweep(&["train", "--data", "/nonexistent/mnist-dir"], &[]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("/nonexistent/mnist-dir"), "{stderr}");
}

#[test]
fn truncated_idx_file_is_an_input_error_naming_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let src = mnist_dir();
    for name in [
        "train-images-idx3-ubyte.gz",
        "train-labels-idx1-ubyte.gz",
        "t10k-images-idx3-ubyte.gz",
        "t10k-labels-idx1-ubyte.gz",
    ] {
        std::fs::copy(src.join(name), tmp.path().join(name)).unwrap();
    }
    // Replace the test labels with a file whose header promises more labels than it holds.
    let mut bad = vec![0, 0, 8, 1, 0, 0, 7, 208];
    bad.extend([1u8; 10]);
    std::fs::remove_file(tmp.path().join("t10k-labels-idx1-ubyte.gz")).unwrap();
    std::fs::write(tmp.path().join("t10k-labels-idx1-ubyte"), bad).unwrap();
    let out = eigensweep(
        &[
            "train",
            "--data",
            tmp.path().to_str().unwrap(),
            "--steps",
            "1",
        ],
        &[],
    );
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("t10k-labels-idx1-ubyte"), "{stderr}");
    assert!(stderr.contains("truncated"), "{stderr}");
}

#[test]
fn fetch_without_network_exits_5_and_explains_the_manual_route() {
    let tmp = tempfile::tempdir().unwrap();
    // An unroutable proxy makes the download fail fast whether or not this machine is online.
    let out = support::eigensweep(&[
        "data",
        "fetch",
        "mnist",
        "--dir",
        tmp.path().to_str().unwrap(),
    ])
    .env("HTTPS_PROXY", "http://127.0.0.1:9")
    .env("HTTP_PROXY", "http://127.0.0.1:9")
    .env("https_proxy", "http://127.0.0.1:9")
    .env("http_proxy", "http://127.0.0.1:9")
    .output()
    .unwrap();
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(5), "{stderr}");
    assert!(stderr.contains("train-images-idx3-ubyte.gz"), "{stderr}");
    assert!(stderr.contains(tmp.path().to_str().unwrap()), "{stderr}");
    // Nothing half-downloaded is left under a final name.
    assert!(!tmp.path().join("train-images-idx3-ubyte.gz").exists());
}

/// Issue 26.4: `train --normalize 0.1307,0.3081`, the form its `--help` shows, exited 2.
#[test]
fn train_normalize_takes_the_form_its_help_shows() {
    let help = text(&eigensweep(&["train", "--help"], &[])).0;
    assert!(help.contains("--normalize <MEAN,STD>"), "{help}");
    assert!(help.contains("e.g. 0.1307,0.3081"), "{help}");
    let args = [
        "train",
        "--threads",
        "1",
        "--steps",
        "4",
        "--snapshot-every",
        "4",
        "--train-size",
        "200",
        "--hidden",
        "8",
        "--top-k",
        "1",
        "--normalize",
        "0.1307,0.3081",
    ];
    let out = eigensweep(&args, &[]);
    assert!(out.status.success(), "stderr: {}", text(&out).1);
    assert_eq!(snapshot_rows(&text(&out).0).len(), 2);
    let out = eigensweep(&["train", "--normalize", "0.1307"], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out).1.contains("expected MEAN,STD"),
        "{}",
        text(&out).1
    );
}

#[test]
fn bad_arguments_are_usage_errors() {
    let out = eigensweep(&["train", "--optimizer", "lion"], &[]);
    assert_eq!(out.status.code(), Some(2));
    let out = eigensweep(&["train", "--snapshot-every", "0"], &[]);
    assert_eq!(out.status.code(), Some(2));
    let out = eigensweep(
        &[
            "train",
            "--hessian-samples",
            "999999",
            "--train-size",
            "100",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).1.contains("--hessian-samples 999999"));
    let out = eigensweep(&["data", "fetch", "cifar"], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out).1.contains("mnist"),
        "the error lists the valid names"
    );
}

#[test]
fn help_documents_exit_codes() {
    let out = eigensweep(&["--help"], &[]);
    assert!(out.status.success());
    let stdout = text(&out).0;
    assert!(stdout.contains("Exit codes"), "{stdout}");
    for (code, meaning) in eigensweep_common::exit_codes::ALL {
        assert!(
            stdout.contains(&format!("{code} {meaning}")),
            "{code}: {stdout}"
        );
    }
}

#[test]
fn bench_quick_runs_and_reports_every_section() {
    let tmp = tempfile::tempdir().unwrap();
    let report = tmp.path().join("bench.md");
    let out = eigensweep(
        &[
            "bench",
            "--quick",
            "--mnist-dir",
            mnist_dir().to_str().unwrap(),
            "--write",
            report.to_str().unwrap(),
        ],
        &[],
    );
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "stderr: {stderr}");
    let written = std::fs::read_to_string(&report).unwrap();
    assert_eq!(written.trim(), stdout.trim());
    for section in [
        "### Training step",
        "### Hessian-vector product",
        "### Eigensolver",
        "PyTorch",
    ] {
        assert!(written.contains(section), "missing {section}: {written}");
    }
}

/// `bench --hvp` measures the product alone, with its GEMM floor beside it, and a repetition
/// count out of range is a usage error.
#[test]
fn bench_hvp_measures_the_product_against_its_floor() {
    let dir = mnist_dir();
    let args = |reps: &'static str| {
        vec![
            "bench".to_string(),
            "--hvp".into(),
            "--quick".into(),
            "--hvp-reps".into(),
            reps.into(),
            "--mnist-dir".into(),
            dir.to_str().unwrap().into(),
        ]
    };
    let run = |reps| {
        let a = args(reps);
        eigensweep(&a.iter().map(String::as_str).collect::<Vec<_>>(), &[])
    };
    let out = run("1");
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "stderr: {stderr}");
    assert!(
        stdout.contains("## `eigensweep bench --hvp --hvp-reps 1 --quick`"),
        "{stdout}"
    );
    assert!(
        stdout.contains("| GEMM floor: X·Wᵀ + Dᵀ·X via `gemm`"),
        "{stdout}"
    );
    assert!(
        stdout.contains("| HVP, CPU engine, one vector |"),
        "{stdout}"
    );
    assert!(!stdout.contains("### Training step"), "{stdout}");
    let out = run("0");
    assert_eq!(out.status.code(), Some(2), "{:?}", text(&out));
}

/// Issue 24 item 3: `bench --shared-hvp` measures two runs' products in one shared pass
/// against `--jobs 2` and one run after the other, with the load average beside each row; a
/// block size of 0 is a usage error.
#[test]
fn bench_shared_hvp_compares_the_shared_pass_with_jobs_2() {
    let dir = mnist_dir();
    let run = |blocks: &str| {
        eigensweep(
            &[
                "bench",
                "--shared-hvp",
                "--quick",
                "--shared-hvp-blocks",
                blocks,
                "--mnist-dir",
                dir.to_str().unwrap(),
            ],
            &[],
        )
    };
    let out = run("1,2");
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "stderr: {stderr}");
    assert!(
        stdout.contains("## `eigensweep bench --shared-hvp --shared-hvp-blocks 1,2 --hvp-reps 2"),
        "{stdout}"
    );
    assert!(stdout.contains("| (b) / (a), wall |"), "{stdout}");
    for k in ["| 1 |", "| 2 |"] {
        assert!(stdout.contains(k), "row {k} missing: {stdout}");
    }
    let out = run("0");
    assert_eq!(out.status.code(), Some(2), "{:?}", text(&out));
}

#[test]
fn bench_calibrate_stores_what_plan_estimates_time_with() {
    let tmp = tempfile::tempdir().unwrap();
    let calibration = tmp.path().join("nodes/calibration.json");
    let out = eigensweep(
        &[
            "bench",
            "--calibrate",
            "--quick",
            "--mnist-dir",
            mnist_dir().to_str().unwrap(),
            "--calibration",
            calibration.to_str().unwrap(),
        ],
        &[],
    );
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "stderr: {stderr}");
    assert!(stdout.contains("steps/s"), "{stdout}");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&calibration).unwrap()).unwrap();
    assert!(json["hvp_core_seconds"].as_f64().unwrap() > 0.0, "{json}");
    assert!(
        json["sgd_steps_per_second"].as_f64().unwrap() > 0.0,
        "{json}"
    );

    // `plan` reads it from the environment variable (as from the cache directory) and
    // names it; the layout changes the wall time, not the core-hours.
    let quickstart = Path::new(env!("CARGO_MANIFEST_DIR")).join("../sweeps/quickstart.yaml");
    let quickstart = quickstart.to_str().unwrap();
    let plan = |extra: &[&str]| {
        let mut args = vec!["plan", quickstart];
        args.extend_from_slice(extra);
        let out = eigensweep(&args, &[("EIGENSWEEP_CALIBRATION", &calibration)]);
        let (stdout, stderr) = text(&out);
        assert!(out.status.success(), "stderr: {stderr}");
        stdout
    };
    let one = plan(&["--jobs", "1", "--threads", "1"]);
    assert!(
        one.contains(&format!("time (calibration: {}", calibration.display())),
        "{one}"
    );
    assert!(one.contains("wall time ≈"), "{one}");
    assert!(one.contains("1 rank × 1 job × 1 thread per job"), "{one}");
    let three = plan(&["--jobs", "3", "--threads", "3"]);
    assert!(
        three.contains("1 rank × 3 jobs × 1 thread per job"),
        "{three}"
    );

    // Without a calibration file the built-in one is used, and says whose machine it is.
    let absent = tmp.path().join("absent.json");
    let out = eigensweep(
        &["plan", quickstart],
        &[("EIGENSWEEP_CALIBRATION", &absent)],
    );
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "stderr: {stderr}");
    assert!(
        stdout.contains("calibration: built-in (AMD EPYC"),
        "{stdout}"
    );
    // Scaled to this machine's speed, which it names (issue 26.4).
    assert!(
        stdout.contains(" GFLOP/s on one thread, the built-in's at 203"),
        "{stdout}"
    );

    // A broken one is an input error naming the file and the field, not a silent default.
    std::fs::write(&calibration, "{\"version\": 1, \"cpu\": \"x\"}").unwrap();
    let out = eigensweep(
        &[
            "plan",
            quickstart,
            "--calibration",
            calibration.to_str().unwrap(),
        ],
        &[],
    );
    let (_, stderr) = text(&out);
    assert_eq!(
        out.status.code(),
        Some(eigensweep_common::exit_codes::INPUT),
        "{stderr}"
    );
    assert!(stderr.contains("calibration.json"), "{stderr}");
    assert!(stderr.contains("missing field"), "{stderr}");
}

/// Issue 26.4: `plan` priced `--jobs 16 --threads 8`, a layout `run` refuses; it now refuses
/// what `run` refuses, with the same message and exit code, and prices what `run` accepts.
#[test]
fn issue_26_4_plan_refuses_the_layouts_run_refuses() {
    let tmp = tempfile::tempdir().unwrap();
    let quickstart = Path::new(env!("CARGO_MANIFEST_DIR")).join("../sweeps/quickstart.yaml");
    let quickstart = quickstart.to_str().unwrap();
    let out = tmp.path().join("out");
    for (jobs, threads) in [("16", "8"), ("3", "2")] {
        let layout = ["--jobs", jobs, "--threads", threads];
        let mut plan_args = vec!["plan", quickstart];
        plan_args.extend_from_slice(&layout);
        let mut run_args = vec!["run", quickstart, "--out", out.to_str().unwrap()];
        run_args.extend_from_slice(&layout);
        let (plan, run) = (eigensweep(&plan_args, &[]), eigensweep(&run_args, &[]));
        assert_eq!(
            plan.status.code(),
            Some(eigensweep_common::exit_codes::USAGE),
            "{:?}",
            text(&plan)
        );
        assert_eq!(plan.status.code(), run.status.code());
        let (plan_out, plan_err) = text(&plan);
        assert!(plan_out.is_empty(), "{plan_out}");
        assert_eq!(plan_err, text(&run).1);
        assert!(
            plan_err.contains(&format!("--jobs {jobs} (one thread each at least) need {jobs} threads, more than --threads {threads}")),
            "{plan_err}"
        );
    }
    assert!(!out.exists(), "a refused launch writes nothing");
    let fits = eigensweep(&["plan", quickstart, "--jobs", "2", "--threads", "2"], &[]);
    let (stdout, stderr) = text(&fits);
    assert!(fits.status.success(), "{stderr}");
    assert!(
        stdout.contains("1 rank × 2 jobs × 1 thread per job"),
        "{stdout}"
    );
}
