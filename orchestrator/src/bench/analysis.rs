//! `eigensweep bench --analysis`: the analysis engine on synthetic snapshots at the paper's
//! dimensions (N = 89,610): pairs per second, the tile products' FLOP rate against a plain
//! matrix product of the same shape measured in the same run, and the memory peak.

use std::fmt::Write as _;

use eigensweep_analysis::{bench, bench_update, BenchOptions, UpdateBenchOptions};
use eigensweep_common::exit_codes;

use crate::failure::Failure;

/// Measures and returns a Markdown section.
pub(super) fn measure(snapshots: usize, k: usize, quick: bool) -> Result<String, Failure> {
    let workers = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let mut r = String::new();
    let _ = writeln!(
        r,
        "### Analysis engine (`bench --analysis`)\n\n\
         Synthetic run at N = 89,610, tiles of 256 rows, panels of 4; \"tile products\" is the \
         FLOP rate of each worker's products over its own time, \"plain gemm\" one f32 matrix \
         product of the same shape on one thread in the same process.\n\n\
         | snapshots | k | workers | snapshot pairs | pairs/s | tile products GFLOP/s | plain gemm GFLOP/s | efficiency | worker time in products | reading s | rows+writing s | peak RSS |\n\
         |---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    );
    let snapshots = if quick { snapshots.min(128) } else { snapshots };
    for w in [1, workers] {
        crate::console::note!(
            "analysis benchmark: {snapshots} snapshots, k = {k}, {w} worker(s) …"
        );
        let opts = BenchOptions {
            snapshots,
            k,
            workers: w,
            ..BenchOptions::default()
        };
        let b = bench(&opts).map_err(|e| Failure {
            code: exit_codes::INTERNAL,
            error: anyhow::Error::new(e).context("analysis benchmark"),
        })?;
        let _ = writeln!(
            r,
            "| {snapshots} | {k} | {w} | {} | {:.0} | {:.1} | {:.1} | {:.0}% | {:.0}% | {:.1} | {:.1} | {} |",
            b.pairs,
            b.pairs_per_second,
            b.product_gflops,
            b.plain_gflops,
            100.0 * b.efficiency,
            100.0 * b.product_share,
            b.load_seconds,
            b.write_seconds,
            b.peak_rss_bytes
                .map_or("n/a".into(), |v| format!("{:.0} MiB", v as f64 / 1048576.0))
        );
        if w == workers {
            break;
        }
    }
    r.push('\n');
    Ok(r)
}

/// `--analysis-update`: one new snapshot's incremental pass against `analyze --force`, as a
/// Markdown section.
pub(super) fn measure_update(
    runs: usize,
    snapshots: usize,
    k: usize,
    quick: bool,
) -> Result<String, Failure> {
    let workers = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let (runs, snapshots) = if quick {
        (runs.min(6), snapshots.min(20))
    } else {
        (runs, snapshots)
    };
    crate::console::note!(
        "analysis update benchmark: {runs} runs × {snapshots} snapshots, k = {k}, {workers} worker(s) …"
    );
    let b = bench_update(&UpdateBenchOptions {
        runs,
        snapshots,
        k,
        parameters: 89_610,
        workers,
        dir: None,
    })
    .map_err(|e| Failure {
        code: exit_codes::INTERNAL,
        error: anyhow::Error::new(e).context("analysis update benchmark"),
    })?;
    let mut r = String::new();
    let _ = writeln!(
        r,
        "### Keeping the analysis current (`bench --analysis-update`)\n\n\
         A synthetic sweep of {runs} runs × {snapshots} snapshots × k = {k} at N = 89,610, tiles of \
         256 rows, {workers} worker(s), analysed once; then one snapshot is appended to one \
         unfinished run, as a running sweep commits it, and the incremental pass \
         (`analyze --follow`'s: the first analysis and the update are two passes of one live \
         job set) is timed against `analyze --force` on the same files.\n\n\
         | analysis | seconds | snapshot pairs computed | reused |\n|---|---:|---:|---:|\n\
         | first, full | {:.2} | {} | 0 |\n\
         | after one new snapshot | {:.2} | {} | {} |\n\
         | `--force` on the same files | {:.2} | {} | 0 |\n\n\
         At the update the live job set saw {} tiles change and inserted {} tile-pair jobs. \
         The update took {:.1} % of the full analysis's time and computed {:.2} % of its pairs; \
         writing the synthetic tables took {:.1} s; peak RSS {}.\n",
        b.first.0,
        b.first.1,
        b.update.0,
        b.update.1,
        b.update.2,
        b.force.0,
        b.force.1,
        b.update_changes.0,
        b.update_changes.1,
        100.0 * b.update.0 / b.force.0,
        100.0 * b.update.1 as f64 / b.force.1.max(1) as f64,
        b.setup_seconds,
        b.peak_rss_bytes
            .map_or("n/a".into(), |v| format!("{:.0} MiB", v as f64 / 1048576.0))
    );
    Ok(r)
}
