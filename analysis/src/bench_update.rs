//! The cost of keeping the analysis current (issue 25.2): a synthetic sweep of `runs` runs ×
//! `snapshots` snapshots is analysed once; then one snapshot is appended to one unfinished run,
//! as a running sweep commits it, and the incremental pass that `analyze --follow` makes is
//! timed against `analyze --force` on the same files. The first analysis and the update are
//! the follower's first two passes: one live job set ([`crate::live`]) across both.

use std::path::{Path, PathBuf};
use std::time::Instant;

use eigensweep_worker::output::{PartWriter, RunDirs, SnapshotRow};

use crate::bench::{normalise, peak_rss_bytes, synthetic_row, SplitMix};
use crate::live::{JobChanges, LiveJobs};
use crate::{analyze, analyze_live, AnalysisError, AnalyzeOptions};

/// What to measure.
#[derive(Debug, Clone, PartialEq)]
pub struct UpdateBenchOptions {
    /// Runs in the sweep (one seed each).
    pub runs: usize,
    /// Snapshots per run before the update.
    pub snapshots: usize,
    /// Eigen-indices per snapshot.
    pub k: usize,
    /// N, the eigenvector length (the paper's MLP: 89,610).
    pub parameters: usize,
    /// Worker threads.
    pub workers: usize,
    /// Where the synthetic output goes (removed afterwards); default: a fresh directory in
    /// the system's temporary directory.
    pub dir: Option<PathBuf>,
}

/// What was measured.
#[derive(Debug, Clone, PartialEq)]
pub struct UpdateBenchReport {
    /// The options measured.
    pub options: UpdateBenchOptions,
    /// Seconds to write the synthetic tables (not part of any analysis).
    pub setup_seconds: f64,
    /// The first, full analysis: seconds and snapshot pairs.
    pub first: (f64, u64),
    /// The pass after one new snapshot: seconds, snapshot pairs computed, pairs reused.
    pub update: (f64, u64, u64),
    /// What the live job set saw change at that pass: tiles, and tile-pair jobs inserted.
    pub update_changes: (usize, usize),
    /// `analyze --force` on the same files: seconds and snapshot pairs.
    pub force: (f64, u64),
    /// Peak resident memory of the process (VmHWM), bytes, where /proc tells it.
    pub peak_rss_bytes: Option<u64>,
}

/// The k rows of snapshot `s` of run `seed`: random unit vectors, the same each time.
fn snapshot_rows(seed: u64, s: usize, opts: &UpdateBenchOptions) -> Vec<SnapshotRow> {
    let mut rng = SplitMix(1 + seed * 1_000_003 + s as u64);
    (0..opts.k)
        .map(|i| {
            let mut v: Vec<f32> = (0..opts.parameters).map(|_| rng.next_f32()).collect();
            normalise(&mut v);
            synthetic_row(&format!("bench{seed}"), 100 * s as u64, i as u32 + 1, v)
        })
        .collect()
}

fn timed(out: &Path, opts: &AnalyzeOptions) -> Result<(f64, u64, u64), AnalysisError> {
    let t = Instant::now();
    let r = analyze(out, opts, &|_| {})?;
    Ok((t.elapsed().as_secs_f64(), r.pairs_computed, r.pairs_reused))
}

/// One follower pass: seconds, snapshot pairs computed and reused, and how the jobs changed.
fn timed_live(
    out: &Path,
    opts: &AnalyzeOptions,
    live: &mut LiveJobs,
) -> Result<((f64, u64, u64), JobChanges), AnalysisError> {
    let t = Instant::now();
    let (r, changes) = analyze_live(out, opts, live, &|_| {})?;
    Ok((
        (t.elapsed().as_secs_f64(), r.pairs_computed, r.pairs_reused),
        changes,
    ))
}

/// Runs the benchmark.
pub fn bench_update(opts: &UpdateBenchOptions) -> Result<UpdateBenchReport, AnalysisError> {
    let dir = opts.dir.clone().unwrap_or_else(|| {
        std::env::temp_dir().join(format!("eigensweep-update-bench-{}", std::process::id()))
    });
    let _ = std::fs::remove_dir_all(&dir);
    let result = measure(&dir, opts);
    let _ = std::fs::remove_dir_all(&dir);
    result
}

fn measure(dir: &Path, opts: &UpdateBenchOptions) -> Result<UpdateBenchReport, AnalysisError> {
    let started = Instant::now();
    let mut first_run = None;
    for seed in 0..opts.runs as u64 {
        let dirs = RunDirs::new(dir, "bench", "sgd", seed)?;
        // One part per 16 snapshots, as a run with checkpoints writes them.
        let mut part = 0;
        for chunk_start in (0..opts.snapshots).step_by(16) {
            let mut writer = PartWriter::<SnapshotRow>::open(&dirs.snapshots, part)?;
            let rows: Vec<SnapshotRow> = (chunk_start..(chunk_start + 16).min(opts.snapshots))
                .flat_map(|s| snapshot_rows(seed, s, opts))
                .collect();
            writer.write_part(&rows)?;
            part += 1;
        }
        if seed == 0 {
            first_run = Some((dirs, part));
        } else {
            // Every run but the first has finished; the first goes on.
            std::fs::write(dirs.root.join("_SUCCESS"), b"")
                .map_err(|e| AnalysisError::io("writing", dirs.root.join("_SUCCESS"), e))?;
        }
    }
    let setup_seconds = started.elapsed().as_secs_f64();
    let analyze_opts = AnalyzeOptions {
        workers: opts.workers,
        ..AnalyzeOptions::default()
    };
    let mut live = LiveJobs::start()?;
    let (first, _) = timed_live(dir, &analyze_opts, &mut live)?;
    let (dirs, part) = first_run.ok_or_else(|| AnalysisError::data(dir, "no runs to measure"))?;
    PartWriter::<SnapshotRow>::open(&dirs.snapshots, part)?.write_part(&snapshot_rows(
        0,
        opts.snapshots,
        opts,
    ))?;
    let (update, changes) = timed_live(dir, &analyze_opts, &mut live)?;
    let force = timed(
        dir,
        &AnalyzeOptions {
            force: true,
            ..analyze_opts
        },
    )?;
    Ok(UpdateBenchReport {
        options: opts.clone(),
        setup_seconds,
        first: (first.0, first.1),
        update,
        update_changes: (changes.tiles_changed, changes.inserted.len()),
        force: (force.0, force.1),
        peak_rss_bytes: peak_rss_bytes(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_new_snapshot_recomputes_only_its_runs_last_tile() {
        let dir = tempfile::tempdir().unwrap();
        let opts = UpdateBenchOptions {
            runs: 3,
            snapshots: 20,
            k: 2,
            parameters: 64,
            workers: 1,
            dir: Some(dir.path().join("out")),
        };
        let r = bench_update(&opts).unwrap();
        let per_run = |s: u64| s * (s - 1) / 2;
        assert_eq!(r.first.1, 3 * per_run(20));
        // 21 snapshots × 2 rows fit one 256-row tile: the first run's one job is redone.
        assert_eq!(r.update.1, per_run(21));
        assert_eq!(r.update.2, 2 * per_run(20));
        // Its one tile and its final snapshot changed; its pair and convergence jobs redone.
        assert_eq!(r.update_changes, (2, 2));
        assert_eq!(r.force.1, 2 * per_run(20) + per_run(21));
        assert!(!dir.path().join("out").exists());
    }
}
