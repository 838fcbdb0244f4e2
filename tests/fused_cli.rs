//! End-to-end tests of fused ensembles (issue 24): `run --fuse on` trains the runs of one
//! dataset, network and batch size as one ensemble on the CPU, and each run's tables equal
//! the same run trained alone (`--fuse off`) to f32 tolerance; every run keeps its own row,
//! checkpoint and markers.

mod support;

use std::path::{Path, PathBuf};

use eigensweep_worker::output::{read_run_records, read_snapshot_rows, read_weight_rows};
use eigensweep_worker::run::Checkpoint;
use support::{eigensweep, stderr};

/// SGD, Adam and SAM × seeds 0 and 1 and a 2-network baseline on small synthetic data.
fn sweep(dir: &Path) -> PathBuf {
    let path = dir.join("fused.yaml");
    std::fs::write(
        &path,
        "name: fused
datasets:
  - {name: synthetic, source: synthetic, train_size: 300, test_size: 60}
model: {hidden: [16, 8]}
training: {steps: 40, batch_size: 32}
optimizers:
  - {name: sgd, kind: sgd, lr: 5.0e-2}
  - {name: adam, kind: adam, lr: 1.0e-3}
  - {name: sam, kind: sam, lr: 5.0e-2, rho: 0.05}
seeds: [0, 1]
snapshots: {schedule: {every: 10}, top_k: 2, tol: 1.0e-6, hessian_samples: 150, store_weights: true}
baseline: {networks: 2, top_k: 1}
",
    )
    .unwrap();
    path
}

fn launch(sweep: &Path, out: &Path, fuse: &str) -> std::process::Output {
    eigensweep(&[
        "run",
        sweep.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--threads-per-run",
        "1",
        "--fuse",
        fuse,
    ])
    .output()
    .unwrap()
}

fn run_dirs(out: &Path) -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    for opt in ["sgd", "adam", "sam"] {
        for seed in [0, 1] {
            dirs.push(out.join(format!(
                "runs/dataset=synthetic/optimizer={opt}/seed={seed}"
            )));
        }
    }
    dirs
}

fn max_relative(a: &[f64], b: &[f64]) -> f64 {
    let scale = b.iter().fold(1e-30f64, |m, v| m.max(v.abs()));
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
        / scale
}

#[test]
fn fused_runs_equal_the_same_runs_alone_and_keep_their_own_records() {
    let dir = tempfile::tempdir().unwrap();
    let file = sweep(dir.path());
    let (fused, alone) = (dir.path().join("fused"), dir.path().join("alone"));
    let o = launch(&file, &fused, "on");
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    // Batch logs (stderr is a pipe here) say which runs trained together.
    assert!(
        stderr(&o).contains("6 runs trained as one fused ensemble"),
        "{}",
        stderr(&o)
    );
    let o = launch(&file, &alone, "off");
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(!stderr(&o).contains("fused ensemble"), "{}", stderr(&o));

    for (f, a) in run_dirs(&fused).iter().zip(run_dirs(&alone)) {
        assert!(f.join("_SUCCESS").exists(), "{}", f.display());
        let c = Checkpoint::load(&f.join("checkpoint.bin"))
            .unwrap()
            .unwrap();
        assert_eq!(c.engine, "tensors", "{}", f.display());
        let values = |d: &Path| -> Vec<f64> {
            let mut rows = read_snapshot_rows(&d.join("snapshots")).unwrap();
            rows.sort_by_key(|r| (r.step, r.index));
            rows.iter().map(|r| r.eigenvalue).collect()
        };
        let (vf, va) = (values(f), values(&a));
        assert_eq!(vf.len(), 5 * 2, "{}", f.display());
        assert!(
            max_relative(&vf, &va) < 1e-4,
            "eigenvalues of {}: {vf:?} vs {va:?}",
            f.display()
        );
        let theta = |d: &Path| -> Vec<f64> {
            read_weight_rows(&d.join("weights"))
                .unwrap()
                .iter()
                .flat_map(|w| w.theta.iter().map(|&x| f64::from(x)))
                .collect()
        };
        let (tf, ta) = (theta(f), theta(&a));
        assert_eq!(tf.len(), ta.len());
        assert!(max_relative(&tf, &ta) < 1e-4, "θ of {}", f.display());
    }
    // One row per task, every one done, with its own host and steps.
    let rows = read_run_records(&fused.join("runs.parquet")).unwrap();
    assert_eq!(rows.len(), 8);
    for r in &rows {
        assert_eq!(r.status, "done", "{r:?}");
        assert!(r.host.is_some(), "{r:?}");
        if r.kind == "run" {
            assert_eq!(r.steps_done, Some(40), "{r:?}");
            assert_eq!(r.snapshots_done, Some(5), "{r:?}");
        }
    }
    // A second launch finds everything finished.
    let o = launch(&file, &fused, "on");
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stderr(&o).contains("8 tasks finished"), "{}", stderr(&o));
}
