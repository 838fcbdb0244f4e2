//! A small synthetic sweep output for the tests, written with the worker's own writers, and
//! kept in memory so the tests can compute every quantity again with plain f64 loops.

use std::collections::BTreeMap;
use std::path::Path;

use eigensweep_worker::output::{
    baseline_dir, BaselineRow, PartWriter, RunDirs, SnapshotRow, WeightRow,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// One synthetic run.
#[derive(Debug, Clone)]
pub struct SynthRun {
    pub dataset: String,
    pub optimizer: String,
    pub seed: u64,
    pub run_key: String,
    pub k: usize,
    /// step → eigenvectors by index (index 1 first).
    pub vectors: BTreeMap<u64, Vec<Vec<f32>>>,
    /// step → θ (where stored).
    pub theta: BTreeMap<u64, Vec<f32>>,
    /// step → (grad, update, full) alignments by index.
    pub alignments: BTreeMap<u64, Vec<(f64, f64, f64)>>,
    pub finished: bool,
}

/// The synthetic sweep.
#[derive(Debug, Clone)]
pub struct Synth {
    pub n: usize,
    pub runs: Vec<SynthRun>,
    /// dataset → networks → eigenvectors by index.
    pub baseline: BTreeMap<String, Vec<Vec<Vec<f32>>>>,
}

pub fn unit(rng: &mut ChaCha8Rng, n: usize) -> Vec<f32> {
    let mut v: Vec<f32> = (0..n).map(|_| rng.gen_range(-1.0f32..1.0)).collect();
    let norm = v.iter().map(|&x| f64::from(x).powi(2)).sum::<f64>().sqrt();
    v.iter_mut()
        .for_each(|x| *x = (f64::from(*x) / norm) as f32);
    v
}

/// A unit vector near `v` (so |cos| spans the range from ~1 to unrelated).
fn drift(rng: &mut ChaCha8Rng, v: &[f32], amount: f32) -> Vec<f32> {
    let mut w: Vec<f32> = v
        .iter()
        .map(|&x| x + amount * rng.gen_range(-1.0f32..1.0))
        .collect();
    let norm = w.iter().map(|&x| f64::from(x).powi(2)).sum::<f64>().sqrt();
    w.iter_mut()
        .for_each(|x| *x = (f64::from(*x) / norm) as f32);
    w
}

pub fn make_run(
    rng: &mut ChaCha8Rng,
    n: usize,
    (dataset, optimizer, seed): (&str, &str, u64),
    k: usize,
    steps: &[u64],
    theta_every_snapshot: bool,
) -> SynthRun {
    let mut vectors = BTreeMap::new();
    let mut theta = BTreeMap::new();
    let mut alignments = BTreeMap::new();
    let mut current: Vec<Vec<f32>> = (0..k).map(|_| unit(rng, n)).collect();
    let mut th: Vec<f32> = (0..n).map(|_| rng.gen_range(-0.3f32..0.3)).collect();
    for (pos, &step) in steps.iter().enumerate() {
        current = current
            .iter()
            .map(|v| drift(rng, v, 0.05 + 0.1 * (pos % 3) as f32))
            .collect();
        for x in th.iter_mut() {
            *x += 0.01 * rng.gen_range(-1.0f32..1.0);
        }
        vectors.insert(step, current.clone());
        if theta_every_snapshot || pos + 1 == steps.len() {
            theta.insert(step, th.clone());
        }
        let last = pos + 1 == steps.len();
        alignments.insert(
            step,
            (0..k)
                .map(|_| {
                    let g = if last {
                        f64::NAN
                    } else {
                        rng.gen_range(0.0..1.0)
                    };
                    let u = if last {
                        f64::NAN
                    } else {
                        rng.gen_range(0.0..1.0)
                    };
                    (g, u, rng.gen_range(0.0..1.0))
                })
                .collect(),
        );
    }
    SynthRun {
        dataset: dataset.into(),
        optimizer: optimizer.into(),
        seed,
        run_key: format!("key-{dataset}-{optimizer}-{seed}"),
        k,
        vectors,
        theta,
        alignments,
        finished: true,
    }
}

impl Synth {
    /// The standard test sweep: two optimisers × two seeds (one run with θ at every snapshot,
    /// one with top-2 only, one with an uneven schedule), and a 7-network baseline.
    pub fn standard() -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let n = 50;
        let steps: Vec<u64> = (0..8).map(|i| i * 10).collect();
        let uneven = [0, 1, 2, 4, 8, 16, 32, 64, 100, 101, 150];
        let runs = vec![
            make_run(&mut rng, n, ("synth", "sgd", 0), 3, &steps, true),
            make_run(&mut rng, n, ("synth", "sgd", 1), 3, &uneven, false),
            make_run(&mut rng, n, ("synth", "adam", 0), 2, &steps, true),
            make_run(&mut rng, n, ("synth", "adam", 1), 3, &steps[..5], false),
        ];
        let baseline = BTreeMap::from([(
            "synth".to_string(),
            (0..7)
                .map(|_| (0..2).map(|_| unit(&mut rng, n)).collect())
                .collect(),
        )]);
        Synth { n, runs, baseline }
    }

    /// Writes the sweep into `out`, each run's snapshots in parts of three snapshots.
    pub fn write(&self, out: &Path) {
        for run in &self.runs {
            write_run(out, run, 0);
        }
        for (dataset, networks) in &self.baseline {
            let mut w =
                PartWriter::<BaselineRow>::open(baseline_dir(out, dataset).unwrap(), 0).unwrap();
            let rows: Vec<BaselineRow> = networks
                .iter()
                .enumerate()
                .flat_map(|(m, vs)| {
                    vs.iter().enumerate().map(move |(i, v)| BaselineRow {
                        dataset: dataset.clone(),
                        network: m as u32,
                        task_key: "baseline".into(),
                        index: i as u32 + 1,
                        eigenvalue: 1.0 + m as f64 + 0.1 * i as f64,
                        residual: 0.0,
                        converged: true,
                        products: 1,
                        ipr: ipr(v),
                        eigenvector: v.clone(),
                    })
                })
                .collect();
            w.write_part(&rows[..6]).unwrap();
            w.write_part(&rows[6..]).unwrap();
        }
    }
}

pub fn ipr(v: &[f32]) -> f64 {
    v.iter().map(|&x| f64::from(x).powi(4)).sum()
}

/// Writes `run`'s snapshots (and θ) as parts of three snapshots, starting at part `first`
/// with the snapshots from position `first·3` on.
pub fn write_run(out: &Path, run: &SynthRun, first: u32) {
    let dirs = RunDirs::new(out, &run.dataset, &run.optimizer, run.seed).unwrap();
    let mut snaps = PartWriter::<SnapshotRow>::open(&dirs.snapshots, first).unwrap();
    let mut weights = PartWriter::<WeightRow>::open(&dirs.weights, first).unwrap();
    let steps: Vec<u64> = run.vectors.keys().copied().collect();
    for chunk in steps.chunks(3).skip(first as usize) {
        let mut rows = Vec::new();
        let mut wrows = Vec::new();
        for &step in chunk {
            for (i, v) in run.vectors[&step].iter().enumerate() {
                let (g, u, f) = run.alignments[&step][i];
                rows.push(SnapshotRow {
                    run_key: run.run_key.clone(),
                    step,
                    index: i as u32 + 1,
                    eigenvalue: 10.0 - i as f64 + step as f64 * 1e-3,
                    residual: 1e-4,
                    converged: true,
                    products: 7,
                    ipr: ipr(v),
                    grad_alignment: g,
                    full_grad_alignment: f,
                    update_alignment: u,
                    eigenvector: v.clone(),
                });
            }
            if let Some(t) = run.theta.get(&step) {
                wrows.push(WeightRow {
                    run_key: run.run_key.clone(),
                    step,
                    theta: t.clone(),
                });
            }
        }
        snaps.write_part(&rows).unwrap();
        weights.write_part(&wrows).unwrap();
    }
    if run.finished {
        std::fs::write(dirs.root.join("_SUCCESS"), b"").unwrap();
    }
}
