//! Runs the analysis benchmark: `cargo run -p eigensweep-analysis --example analysis_bench --
//! [SNAPSHOTS] [K] [WORKERS] [TILE_ROWS]` (defaults: the paper's 1,584 snapshots, k = 1,
//! 1 worker, tiles of 256 rows). `eigensweep bench` calls the same function.

fn main() -> Result<(), eigensweep_analysis::AnalysisError> {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let defaults = eigensweep_analysis::BenchOptions::default();
    let opts = eigensweep_analysis::BenchOptions {
        snapshots: args.first().copied().unwrap_or(defaults.snapshots),
        k: args.get(1).copied().unwrap_or(defaults.k),
        workers: args.get(2).copied().unwrap_or(defaults.workers),
        tile_rows: args.get(3).copied().unwrap_or(defaults.tile_rows),
        ..defaults
    };
    let r = eigensweep_analysis::bench(&opts)?;
    println!(
        "N = {}, {} snapshots, k = {}, {} worker(s), tiles of {} rows",
        opts.parameters, opts.snapshots, opts.k, opts.workers, opts.tile_rows
    );
    println!(
        "setup (writing the synthetic run): {:.1} s",
        r.setup_seconds
    );
    println!(
        "analyze: {} pairs in {:.2} s = {:.0} pairs/s",
        r.pairs, r.seconds, r.pairs_per_second
    );
    println!("tile products: {:.1} GFLOP/s per worker; plain gemm of the same shape: {:.1} GFLOP/s; efficiency {:.0}%", r.product_gflops, r.plain_gflops, 100.0 * r.efficiency);
    println!(
        "share of worker time in products: {:.0}%; loading {:.2} s; rows + writing {:.2} s",
        100.0 * r.product_share,
        r.load_seconds,
        r.write_seconds
    );
    if let Some(b) = r.peak_rss_bytes {
        println!(
            "peak memory (VmHWM): {:.0} MiB",
            b as f64 / (1 << 20) as f64
        );
    }
    Ok(())
}
