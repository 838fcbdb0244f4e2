//! End-to-end tests of `eigensweep run`: outputs, DuckDB, resume after SIGKILL, bad input,
//! divergence.

#[path = "support/mod.rs"]
mod support;

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use eigensweep_common::exit_codes;
use eigensweep_worker::output::{
    read_density_rows, read_metric_rows, read_preconditioned_rows, read_run_records,
    read_snapshot_rows, read_trace_rows, read_weight_rows,
};
use support::{assert_same_tables, eigensweep, repo_root, run, run_dirs, small_sweep_args, stderr};

#[test]
fn sweep_writes_documented_tables_that_duckdb_reads() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let o = run(&small_sweep_args(out.to_str().unwrap(), &[]));
    assert!(o.status.success(), "{}", stderr(&o));
    let stdout = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(out.join("sweep.yaml").is_file());
    let records = read_run_records(&out.join("runs.parquet")).unwrap();
    assert_eq!(records.iter().filter(|r| r.kind == "run").count(), 3);
    assert!(records.iter().all(|r| r.status == "done"), "{records:?}");
    for dir in run_dirs(&out) {
        let snaps = read_snapshot_rows(&dir.join("snapshots")).unwrap();
        // Steps 0, 30, …, 240: 9 snapshots × top-3.
        assert_eq!(snaps.len(), 27, "{}", dir.display());
        assert!(snaps
            .iter()
            .all(|r| r.eigenvector.len() == 89_610 && r.converged));
        let metrics = read_metric_rows(&dir.join("metrics")).unwrap();
        assert_eq!(metrics.len(), 241);
        // θ at the final step is always kept.
        let weights = read_weight_rows(&dir.join("weights")).unwrap();
        assert_eq!(weights.last().map(|w| w.step), Some(240));
    }
    // DuckDB over the hive layout must see what the run printed.
    if !support::duckdb_available() {
        return;
    }
    let query = format!(
        "import duckdb\n\
         rows = duckdb.sql(\"\"\"select optimizer, eigenvalue from read_parquet('{}/runs/**/snapshots/*.parquet', hive_partitioning=true) \
         where index = 1 and step = 240 order by optimizer\"\"\").fetchall()\n\
         for o, v in rows: print(o, repr(v))\n",
        out.display()
    );
    let printed = support::python(&["-c", &query]);
    let lines: Vec<&str> = printed.lines().collect();
    assert_eq!(lines.len(), 3, "{printed}");
    for line in lines {
        let (opt, value) = line.split_once(' ').unwrap();
        let value: f64 = value.parse().unwrap();
        // The run's summary printed λ1 of its last snapshot, last, with 4 significant digits
        // (`eigensweep_common::display::number`).
        let row = stdout
            .lines()
            .find(|l| l.starts_with(&format!("synthetic/{opt}/0")))
            .unwrap_or_else(|| panic!("{stdout}"));
        let printed_l1: f64 = row.split_whitespace().last().unwrap().parse().unwrap();
        assert!(
            (printed_l1 - value).abs() <= 5e-4 * value.abs(),
            "{opt}: printed {printed_l1}, duckdb {value}"
        );
    }
}

#[test]
fn killed_runs_resume_to_identical_outputs() {
    let tmp = tempfile::tempdir().unwrap();
    let reference = tmp.path().join("reference");
    let o = run(&small_sweep_args(reference.to_str().unwrap(), &[]));
    assert!(o.status.success(), "{}", stderr(&o));
    for (i, delay_ms) in [300u64, 1200, 2500].into_iter().enumerate() {
        let out = tmp.path().join(format!("killed-{i}"));
        let args = small_sweep_args(out.to_str().unwrap(), &[]);
        let mut child = eigensweep(&args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        let o = run(&args);
        assert!(
            o.status.success(),
            "resume after kill at {delay_ms} ms: {}",
            stderr(&o)
        );
        assert_same_tables(&reference, &out, &format!("kill at {delay_ms} ms"));
    }
}

/// `snapshots.trace`, `snapshots.density` and `snapshots.preconditioned` add Hutchinson's
/// trace (one row per snapshot), the stochastic Lanczos quadrature of the spectrum (one row
/// per node, probe and snapshot) and Adam's preconditioned eigenvalues in their own tables, resumed identically after SIGKILL and read by DuckDB; runs
/// without them keep their keys and get no such directories.
#[test]
fn trace_density_and_preconditioned_spectra_are_resumable_tables_that_duckdb_reads() {
    let tmp = tempfile::tempdir().unwrap();
    let trace = [
        "--set",
        "snapshots.trace={probes: 4}",
        "--set",
        "snapshots.density={probes: 2, steps: 6}",
        "--set",
        "snapshots.preconditioned={top_k: 2}",
    ];
    let reference = tmp.path().join("reference");
    let o = run(&small_sweep_args(reference.to_str().unwrap(), &trace));
    assert!(o.status.success(), "{}", stderr(&o));
    for dir in run_dirs(&reference) {
        let rows = read_trace_rows(&dir.join("trace")).unwrap();
        let steps: Vec<u64> = rows.iter().map(|r| r.step).collect();
        assert_eq!(
            steps,
            (0..=240).step_by(30).collect::<Vec<_>>(),
            "{}",
            dir.display()
        );
        assert!(
            rows.iter().all(|r| r.probes == 4
                && r.trace.is_finite()
                && r.trace_std_error.is_finite()
                && r.trace_std_error > 0.0),
            "{rows:?}"
        );
        // Adam's preconditioned Hessian: top 2 at every snapshot after step 0 (no v̂ there);
        // the other optimisers have no preconditioner and no table.
        let pre = read_preconditioned_rows(&dir.join("preconditioned")).unwrap();
        if dir.to_string_lossy().contains("optimizer=adam") {
            let steps: Vec<(u64, u32)> = pre.iter().map(|r| (r.step, r.index)).collect();
            let want: Vec<(u64, u32)> = (30..=240)
                .step_by(30)
                .flat_map(|s| [(s, 1), (s, 2)])
                .collect();
            assert_eq!(steps, want);
            assert!(pre
                .iter()
                .all(|r| r.converged && r.eigenvalue.is_finite() && r.products > 0));
            assert!(pre.chunks(2).all(|p| p[0].eigenvalue >= p[1].eigenvalue));
        } else {
            assert!(pre.is_empty() && !dir.join("preconditioned").exists());
        }
        // At initialisation the trace of this cross-entropy Hessian is positive.
        assert!(rows[0].trace > 0.0, "{rows:?}");
        // Density: 9 snapshots × 2 probes × 6 nodes, each probe's weights summing to 1, and
        // the largest node of each probe at most λ1 of the same snapshot (Ritz values of H).
        let density = read_density_rows(&dir.join("density")).unwrap();
        assert_eq!(density.len(), 9 * 2 * 6, "{}", dir.display());
        let snaps = read_snapshot_rows(&dir.join("snapshots")).unwrap();
        for step in (0..=240).step_by(30) {
            let lambda1 = snaps
                .iter()
                .find(|r| r.step == step && r.index == 1)
                .unwrap()
                .eigenvalue;
            for probe in [1, 2] {
                let nodes: Vec<_> = density
                    .iter()
                    .filter(|r| r.step == step && r.probe == probe)
                    .collect();
                let total: f64 = nodes.iter().map(|r| r.weight).sum();
                assert!(
                    (total - 1.0).abs() < 1e-9,
                    "step {step} probe {probe}: {total}"
                );
                let top = nodes.iter().map(|r| r.node).fold(f64::MIN, f64::max);
                assert!(
                    top <= lambda1 * (1.0 + 1e-3),
                    "step {step}: node {top} > λ1 {lambda1}"
                );
            }
        }
    }
    let out = tmp.path().join("killed");
    let args = small_sweep_args(out.to_str().unwrap(), &trace);
    let mut child = eigensweep(&args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1200));
    child.kill().unwrap();
    child.wait().unwrap();
    let o = run(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    support::assert_same_tables(&reference, &out, "trace run killed at 1200 ms");
    // Without the option: no trace directory, and the run keys of a sweep without it.
    let plain = tmp.path().join("plain");
    let o = run(&small_sweep_args(plain.to_str().unwrap(), &[]));
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(run_dirs(&plain)
        .iter()
        .all(|d| !d.join("trace").exists() && !d.join("density").exists()));
    let keys = |out: &std::path::Path| {
        let mut k: Vec<String> = read_run_records(&out.join("runs.parquet"))
            .unwrap()
            .into_iter()
            .filter(|r| r.kind == "run")
            .map(|r| r.key)
            .collect();
        k.sort();
        k
    };
    assert_ne!(
        keys(&plain),
        keys(&reference),
        "the trace is part of a run's key"
    );
    if !support::duckdb_available() {
        return;
    }
    let query = format!(
        "import duckdb\n\
         print(duckdb.sql(\"\"\"select count(*), min(probes), count(distinct optimizer) from read_parquet('{}/runs/**/trace/*.parquet', hive_partitioning=true)\"\"\").fetchall())\n",
        reference.display()
    );
    assert_eq!(support::python(&["-c", &query]).trim(), "[(27, 4, 3)]");
    let query = format!(
        "import duckdb\n\
         print(duckdb.sql(\"\"\"select count(*), round(sum(weight)) from read_parquet('{}/runs/**/density/*.parquet', hive_partitioning=true)\"\"\").fetchall())\n",
        reference.display()
    );
    // 3 runs × 9 snapshots × 2 probes of weights summing to 1.
    assert_eq!(support::python(&["-c", &query]).trim(), "[(324, 54.0)]");
}

#[test]
fn changed_configuration_never_mixes_with_old_outputs() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let o = run(&small_sweep_args(
        out.to_str().unwrap(),
        &["--set", "training.steps=60"],
    ));
    assert!(o.status.success(), "{}", stderr(&o));
    let o = run(&small_sweep_args(
        out.to_str().unwrap(),
        &["--set", "training.steps=90"],
    ));
    assert_eq!(o.status.code(), Some(exit_codes::INPUT), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("another configuration"),
        "{}",
        stderr(&o)
    );
    // The message says what changed, old → new (issue 7).
    assert!(stderr(&o).contains("steps: 60 → 90"), "{}", stderr(&o));
}

#[test]
fn bad_inputs_get_documented_exit_codes() {
    let tmp = tempfile::tempdir().unwrap();
    // Missing sweep file.
    let o = run(&["run", "/nonexistent/sweep.yaml"]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(stderr(&o).contains("/nonexistent/sweep.yaml"));
    // Malformed YAML.
    let bad = tmp.path().join("bad.yaml");
    std::fs::write(&bad, "name: [unclosed\n").unwrap();
    let o = run(&["run", bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    // Unwritable output directory (a path under a regular file).
    let file = tmp.path().join("a-file");
    std::fs::write(&file, "x").unwrap();
    let o = run(&[
        "run",
        "sweeps/quickstart.yaml",
        "--out",
        file.join("out").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
    // A dataset directory whose files have the wrong size.
    let data = tmp.path().join("data");
    std::fs::create_dir(&data).unwrap();
    let mnist = std::env::var_os("EIGENSWEEP_TEST_MNIST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("../shared/data/mnist-10k"));
    for name in [
        "train-images-idx3-ubyte.gz",
        "train-labels-idx1-ubyte.gz",
        "t10k-images-idx3-ubyte.gz",
    ] {
        std::fs::copy(mnist.join(name), data.join(name)).unwrap();
    }
    std::fs::write(
        data.join("t10k-labels-idx1-ubyte"),
        [0u8, 0, 8, 1, 0, 0, 7, 208, 1, 2, 3],
    )
    .unwrap();
    let o = run(&[
        "run",
        "sweeps/quickstart.yaml",
        "--out",
        tmp.path().join("o2").to_str().unwrap(),
        "--set",
        &format!("datasets[0].source={}", data.display()),
    ]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("t10k-labels-idx1-ubyte"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn a_diverging_run_is_marked_and_the_others_finish() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let o = run(&small_sweep_args(
        out.to_str().unwrap(),
        &[
            "--set",
            "optimizers[0].lr=1.0e12",
            "--set",
            "training.steps=60",
        ],
    ));
    assert_eq!(o.status.code(), Some(7), "{}", stderr(&o));
    assert!(stderr(&o).contains("diverged"), "{}", stderr(&o));
    let records = read_run_records(&out.join("runs.parquet")).unwrap();
    let status = |opt: &str| {
        records
            .iter()
            .find(|r| r.optimizer.as_deref() == Some(opt))
            .unwrap()
            .status
            .clone()
    };
    assert_eq!(status("sgd"), "diverged");
    assert_eq!(status("adam"), "done");
    assert_eq!(status("sam"), "done");
    // The diverged run's directory belongs to its configuration: a changed learning rate is
    // refused rather than reported as that old divergence.
    let o = run(&small_sweep_args(
        out.to_str().unwrap(),
        &[
            "--set",
            "optimizers[0].lr=1.0e-2",
            "--set",
            "training.steps=60",
        ],
    ));
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
}

#[test]
fn divergence_on_a_snapshot_step_is_divergence_not_failure() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let o = run(&small_sweep_args(
        out.to_str().unwrap(),
        &[
            "--set",
            "optimizers[0].lr=1.0e12",
            "--set",
            "training.steps=20",
            "--set",
            "snapshots.schedule={every: 1}",
            "--set",
            "baseline.networks=0",
        ],
    ));
    assert_eq!(o.status.code(), Some(7), "{}", stderr(&o));
    let records = read_run_records(&out.join("runs.parquet")).unwrap();
    let sgd = records
        .iter()
        .find(|r| r.optimizer.as_deref() == Some("sgd"))
        .unwrap();
    assert_eq!(sgd.status, "diverged", "{sgd:?}");
    // The step named is the one whose metrics row holds the first non-finite loss.
    let metrics =
        read_metric_rows(&out.join("runs/dataset=synthetic/optimizer=sgd/seed=0/metrics")).unwrap();
    let first_bad = metrics
        .iter()
        .find(|m| m.batch_loss.is_some_and(|l| !l.is_finite()));
    let marker =
        std::fs::read_to_string(out.join("runs/dataset=synthetic/optimizer=sgd/seed=0/_DIVERGED"))
            .unwrap();
    match first_bad {
        Some(m) => assert_eq!(marker.trim(), m.step.to_string()),
        // Or θ itself overflowed first, found before a snapshot at that step.
        None => assert!(marker.trim().parse::<u64>().unwrap() <= 20),
    }
}

#[test]
fn baseline_parts_of_another_configuration_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let args = [
        "--set",
        "training.steps=30",
        "--set",
        "optimizers=[{name: sgd, kind: sgd}]",
    ];
    let o = run(&small_sweep_args(out.to_str().unwrap(), &args));
    assert!(o.status.success(), "{}", stderr(&o));
    let before = read_run_records(&out.join("runs.parquet")).unwrap();
    // Relaunching the same sweep keeps the recorded history of finished tasks.
    let o = run(&small_sweep_args(out.to_str().unwrap(), &args));
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        format!("{before:?}"),
        format!("{:?}", read_run_records(&out.join("runs.parquet")).unwrap())
    );
    let mut changed = args.to_vec();
    changed.extend(["--set", "baseline.top_k=2"]);
    let o = run(&small_sweep_args(out.to_str().unwrap(), &changed));
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(stderr(&o).contains("baseline task"), "{}", stderr(&o));
}

#[test]
fn the_quickstart_sweep_finishes() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("quickstart");
    let o = run(&[
        "run",
        "sweeps/quickstart.yaml",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let records = read_run_records(&out.join("runs.parquet")).unwrap();
    assert_eq!(records.len(), 3 + 4, "3 runs and 4 baseline networks");
    assert!(records.iter().all(|r| r.status == "done"), "{records:?}");
    assert!(
        stderr(&o).contains("eigen-solves"),
        "the stage split is printed: {}",
        stderr(&o)
    );
    // The README's quickstart goes on with the analysis and the report.
    let o = run(&["analyze", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = run(&["report", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(!text.contains("not available"), "{text}");
    assert!(out.join("report/index.html").is_file());
}

#[test]
fn nonsensical_run_options_are_usage_errors() {
    for args in [
        ["--jobs", "0"],
        ["--checkpoint-every", "0"],
        ["--checkpoint-minutes", "-1"],
    ] {
        let mut all = vec!["run", "sweeps/quickstart.yaml"];
        all.extend(args);
        let o = run(&all);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
    }
}

#[test]
fn sigterm_checkpoints_exits_8_and_the_relaunch_completes_identically() {
    let tmp = tempfile::tempdir().unwrap();
    let reference = tmp.path().join("reference");
    let o = run(&small_sweep_args(reference.to_str().unwrap(), &[]));
    assert!(o.status.success(), "{}", stderr(&o));
    let out = tmp.path().join("out");
    let args = small_sweep_args(out.to_str().unwrap(), &[]);
    let child = eigensweep(&args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1200));
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(8), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("run the same command again"),
        "{}",
        stderr(&o)
    );
    let o = run(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_same_tables(&reference, &out, "after SIGTERM and relaunch");
}

#[test]
fn shards_cover_the_sweep_exactly_once() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let short = ["--set", "training.steps=30"];
    let mut keys = Vec::new();
    for shard in ["0/3", "1/3", "2/3"] {
        let mut extra = short.to_vec();
        extra.extend(["--shard", shard]);
        let o = run(&small_sweep_args(out.to_str().unwrap(), &extra));
        assert!(o.status.success(), "{shard}: {}", stderr(&o));
        let (i, k) = shard.split_once('/').unwrap();
        let records =
            read_run_records(&out.join(format!("runs-shard-{i}-of-{k}.parquet"))).unwrap();
        assert!(records.iter().all(|r| r.status == "done"));
        keys.extend(records.into_iter().map(|r| r.key));
    }
    // 3 runs + 4 baseline networks, each in exactly one shard.
    let total = keys.len();
    keys.sort();
    keys.dedup();
    assert_eq!((total, keys.len()), (7, 7));
    for dir in run_dirs(&out) {
        assert!(dir.join("_SUCCESS").exists(), "{}", dir.display());
    }
    assert_eq!(
        std::fs::read_dir(out.join("baseline/dataset=synthetic"))
            .unwrap()
            .count(),
        4
    );
    let o = run(&["run", "sweeps/quickstart.yaml", "--shard", "3/3"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
}

#[test]
fn one_of_several_launcher_tasks_without_mpi_is_refused() {
    // mpirun -np 3 of a binary built without the `mpi` feature: every rank would run the
    // whole sweep into the same directory. The same for MVAPICH2 and for PMIx launchers that
    // publish only the rank (issue 7: these ran the whole sweep in every task).
    if cfg!(feature = "mpi") {
        return; // this binary would join the MPI job instead
    }
    let launches: &[&[(&str, &str)]] = &[
        &[("OMPI_COMM_WORLD_SIZE", "3")],
        &[("PMIX_RANK", "0")],
        &[("MV2_COMM_WORLD_SIZE", "2"), ("MV2_COMM_WORLD_RANK", "0")],
    ];
    for vars in launches {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("out");
        let o = eigensweep(&small_sweep_args(out.to_str().unwrap(), &[]))
            .envs(vars.iter().copied())
            .output()
            .unwrap();
        assert_eq!(
            o.status.code(),
            Some(exit_codes::USAGE),
            "{vars:?}: {}",
            stderr(&o)
        );
        assert!(
            stderr(&o).contains("--features mpi"),
            "{vars:?}: {}",
            stderr(&o)
        );
        assert!(!out.exists(), "{vars:?}: nothing may be written");
    }
}
