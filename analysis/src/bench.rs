//! The analysis benchmark: one synthetic run at the paper's dimensions through the whole
//! pipeline (Parquet in, dataflow, Parquet out), with the tile products' floating-point rate
//! set against a plain matrix product of the same shape measured in the same process.

use std::path::PathBuf;
use std::time::Instant;

use eigensweep_worker::output::{PartWriter, RunDirs, SnapshotRow};

use crate::product::{plain_gemm_f32, product_flops};
use crate::{analyze, AnalysisError, AnalyzeOptions};

/// What to measure.
#[derive(Debug, Clone, PartialEq)]
pub struct BenchOptions {
    /// N, the eigenvector length (the paper's MLP: 89,610).
    pub parameters: usize,
    /// Snapshots of the synthetic run (the paper: 1,584).
    pub snapshots: usize,
    /// Eigen-indices per snapshot.
    pub k: usize,
    /// Vector rows per tile (see [`crate::AnalyzeOptions::tile_rows`]).
    pub tile_rows: usize,
    /// Tiles per panel side.
    pub panel: usize,
    /// Worker threads.
    pub workers: usize,
    /// Where the synthetic output goes (removed afterwards); default: a fresh directory in
    /// the system's temporary directory.
    pub dir: Option<PathBuf>,
}

impl Default for BenchOptions {
    fn default() -> Self {
        Self {
            parameters: 89_610,
            snapshots: 1_584,
            k: 1,
            tile_rows: 256,
            panel: 4,
            workers: 1,
            dir: None,
        }
    }
}

/// What was measured.
#[derive(Debug, Clone, PartialEq)]
pub struct BenchReport {
    /// The options measured.
    pub options: BenchOptions,
    /// Snapshot pairs analysed (s < s').
    pub pairs: u64,
    /// Seconds to write the synthetic snapshot tables (not part of the analysis).
    pub setup_seconds: f64,
    /// Wall-clock seconds of `analyze`.
    pub seconds: f64,
    /// Snapshot pairs per second of `analyze` (each with k displacement rows).
    pub pairs_per_second: f64,
    /// GFLOP/s of the tile products per worker (their flops over their own time).
    pub product_gflops: f64,
    /// GFLOP/s of one plain f32 gemm call of the same shape on one thread.
    pub plain_gflops: f64,
    /// `product_gflops / plain_gflops` (target ≥ 0.7).
    pub efficiency: f64,
    /// Share of the workers' wall-clock time spent in tile products.
    pub product_share: f64,
    /// Worker-seconds reading tiles.
    pub load_seconds: f64,
    /// Worker-seconds building rows and writing parts.
    pub write_seconds: f64,
    /// Peak resident memory of the process (VmHWM), bytes, where /proc tells it.
    pub peak_rss_bytes: Option<u64>,
}

/// SplitMix64: a tiny deterministic generator, enough for synthetic vectors.
pub(crate) struct SplitMix(pub(crate) u64);

impl SplitMix {
    pub(crate) fn next_f32(&mut self) -> f32 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0
    }
}

pub(crate) fn normalise(v: &mut [f32]) {
    let norm = v.iter().map(|&x| f64::from(x).powi(2)).sum::<f64>().sqrt();
    v.iter_mut()
        .for_each(|x| *x = (f64::from(*x) / norm) as f32);
}

/// The peak resident set size of this process (Linux `VmHWM`), if readable.
pub fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// A synthetic snapshot row: eigenpair `index` (from 1) at `step` with unit vector `v`,
/// eigenvalue 10 − (index − 1), converged, fixed alignments.
pub(crate) fn synthetic_row(run_key: &str, step: u64, index: u32, v: Vec<f32>) -> SnapshotRow {
    SnapshotRow {
        run_key: run_key.into(),
        step,
        index,
        eigenvalue: 11.0 - f64::from(index),
        residual: 0.0,
        converged: true,
        products: 0,
        ipr: v.iter().map(|&x| f64::from(x).powi(4)).sum(),
        grad_alignment: 0.5,
        full_grad_alignment: 0.5,
        update_alignment: 0.5,
        eigenvector: v,
    }
}

/// Writes a synthetic run (eigenvectors drifting on the unit sphere) into `out`.
fn write_synthetic_run(out: &std::path::Path, opts: &BenchOptions) -> Result<(), AnalysisError> {
    let dirs = RunDirs::new(out, "bench", "sgd", 0)?;
    let mut writer = PartWriter::<SnapshotRow>::open(&dirs.snapshots, 0)?;
    let n = opts.parameters;
    let mut rng = SplitMix(42);
    let mut current: Vec<Vec<f32>> = (0..opts.k)
        .map(|_| {
            let mut v: Vec<f32> = (0..n).map(|_| rng.next_f32()).collect();
            normalise(&mut v);
            v
        })
        .collect();
    let mut rows = Vec::new();
    for s in 0..opts.snapshots {
        for (i, v) in current.iter_mut().enumerate() {
            for x in v.iter_mut() {
                *x += 0.02 * rng.next_f32() / (n as f32).sqrt() * 30.0;
            }
            normalise(v);
            rows.push(synthetic_row(
                "bench",
                100 * s as u64,
                i as u32 + 1,
                v.clone(),
            ));
        }
        if rows.len() >= 64 * opts.k {
            writer.write_part(&rows)?;
            rows.clear();
        }
    }
    writer.write_part(&rows)?;
    std::fs::write(dirs.root.join("_SUCCESS"), b"")
        .map_err(|e| AnalysisError::io("writing", dirs.root.join("_SUCCESS"), e))
}

/// Measures one plain f32 gemm of the tile products' shape on one thread, in GFLOP/s (best
/// of a few calls, like the tile products, which run back to back).
fn plain_gemm_rate(rows: usize, depth: usize) -> f64 {
    let mut rng = SplitMix(7);
    let a: Vec<f32> = (0..rows * depth).map(|_| rng.next_f32()).collect();
    let b: Vec<f32> = (0..rows * depth).map(|_| rng.next_f32()).collect();
    let mut out = vec![0f32; rows * rows];
    let mut best = f64::INFINITY;
    let started = Instant::now();
    for rep in 0..20 {
        let t = Instant::now();
        plain_gemm_f32(&a, rows, &b, rows, depth, &mut out);
        best = best.min(t.elapsed().as_secs_f64());
        if rep >= 2 && started.elapsed().as_secs_f64() > 3.0 {
            break;
        }
    }
    product_flops(rows, rows, depth) / best * 1e-9
}

/// Runs the benchmark.
pub fn bench(opts: &BenchOptions) -> Result<BenchReport, AnalysisError> {
    let dir = opts.dir.clone().unwrap_or_else(|| {
        std::env::temp_dir().join(format!("eigensweep-analysis-bench-{}", std::process::id()))
    });
    let _ = std::fs::remove_dir_all(&dir);
    let started = Instant::now();
    write_synthetic_run(&dir, opts)?;
    let setup_seconds = started.elapsed().as_secs_f64();
    let analyze_opts = AnalyzeOptions {
        workers: opts.workers,
        tile_rows: opts.tile_rows,
        panel: opts.panel,
        force: true,
        ..AnalyzeOptions::default()
    };
    let result = analyze(&dir, &analyze_opts, &|_| {});
    let _ = std::fs::remove_dir_all(&dir);
    let report = result?;
    let rows = (opts.tile_rows / opts.k).max(1).min(opts.snapshots) * opts.k;
    let plain_gflops = plain_gemm_rate(rows, opts.parameters);
    let product_gflops = report.product_flops / report.product_seconds.max(1e-12) * 1e-9;
    Ok(BenchReport {
        options: opts.clone(),
        pairs: report.pairs_computed,
        setup_seconds,
        seconds: report.seconds,
        pairs_per_second: report.pairs_computed as f64 / report.seconds,
        product_gflops,
        plain_gflops,
        efficiency: product_gflops / plain_gflops,
        product_share: report.product_seconds / (report.seconds * opts.workers as f64),
        load_seconds: report.load_seconds,
        write_seconds: report.write_seconds,
        peak_rss_bytes: peak_rss_bytes(),
    })
}
