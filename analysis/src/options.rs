//! What a caller can ask of [`crate::analyze`] and what it reports back.

use std::path::PathBuf;

use eigensweep_common::stop::StopFlag;

use crate::AnalysisError;

/// One process of a multi-process timely cluster: this process's number and the
/// `host:port` of every process (the same list, in the same order, on every process).
///
/// The CLI gathers the addresses (over MPI); every process must see the same `OUT` (a shared
/// filesystem), because each writes the parts of the tile pairs its workers computed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterProcess {
    /// This process's number, `0..addresses.len()`.
    pub index: usize,
    /// `host:port` of every process.
    pub addresses: Vec<String>,
}

/// Settings of one analysis.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnalyzeOptions {
    /// Worker threads in this process (each runs tile products on one core).
    pub workers: usize,
    /// `Some` to join a multi-process cluster; `None` for a single process.
    pub process: Option<ClusterProcess>,
    /// Vector rows per tile: a run with k eigen-indices gets `max(1, tile_rows / k)`
    /// snapshots per tile. A tile pair's dot products are one matrix product of
    /// `rows × N` by `N × rows`; 256 rows reach ~95% of the machine's matrix-multiply rate at
    /// the paper's N (64 rows: ~60%), and a 256-row tile holds 92 MB at N = 89,610.
    pub tile_rows: usize,
    /// Tiles per side of a panel: the pairs of a run are visited panel pair by panel pair, so
    /// that each tile loaded from Parquet serves up to `panel` products. Memory in flight is
    /// about `4·panel` tiles (two waves of two panels), as long as a wave holds at least
    /// two jobs per worker.
    pub panel: usize,
    /// Analyse only runs with a `_SUCCESS` marker. By default every run directory with
    /// snapshot parts is analysed, finished or not: parts are only ever complete files, and
    /// a later `analyze` recomputes exactly the tile pairs whose snapshots changed.
    pub only_finished: bool,
    /// Recompute every tile pair even where the manifest says its result is current.
    pub force: bool,
    /// Set (by a signal handler) to end the analysis early: every worker polls it between
    /// tile loads and tile-pair jobs, so the analysis returns [`AnalysisError::Interrupted`]
    /// within one job, with the manifest naming exactly the jobs whose parts were written.
    pub stop: StopFlag,
}

impl Default for AnalyzeOptions {
    fn default() -> Self {
        Self {
            workers: 1,
            process: None,
            tile_rows: 256,
            panel: 4,
            only_finished: false,
            force: false,
            stop: StopFlag::new(),
        }
    }
}

impl AnalyzeOptions {
    /// Rejects settings that cannot work, naming the option.
    pub fn validate(&self) -> Result<(), AnalysisError> {
        let bad = |option, reason: &str| {
            Err(AnalysisError::Option {
                option,
                reason: reason.to_string(),
            })
        };
        if self.workers == 0 {
            return bad("workers", "must be at least 1");
        }
        if self.tile_rows == 0 {
            return bad("tile_rows", "must be at least 1 row");
        }
        if self.panel == 0 {
            return bad("panel", "must be at least 1 tile");
        }
        if let Some(p) = &self.process {
            if p.addresses.is_empty() || p.index >= p.addresses.len() {
                return bad(
                    "process",
                    &format!(
                        "process index {} is outside the {} addresses",
                        p.index,
                        p.addresses.len()
                    ),
                );
            }
        }
        Ok(())
    }

    /// Whether this process writes the run-level tables and the manifest (process 0).
    pub(crate) fn is_leader(&self) -> bool {
        self.process.as_ref().is_none_or(|p| p.index == 0)
    }
}

/// Where an analysis stands, for a progress bar: reported a few times a second.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Progress {
    /// Snapshot pairs (s < s' of one run, or two baseline networks) computed so far by this
    /// process.
    pub pairs_done: u64,
    /// Snapshot pairs this process's share of the work holds in all (the whole analysis in a
    /// single process).
    pub pairs_total: u64,
    /// Seconds since the dataflow started.
    pub seconds: f64,
}

/// What one analysis did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AnalyzeReport {
    /// Runs analysed.
    pub runs: usize,
    /// Of those, runs with a `_SUCCESS` marker.
    pub runs_finished: usize,
    /// Runs that diverged (`dataset/optimizer/seed`): their pairs are in the per-run tables,
    /// but the summaries over seeds leave them out.
    pub runs_diverged: Vec<String>,
    /// Datasets with a random-init baseline.
    pub baselines: usize,
    /// Tile-pair jobs computed now (over all processes).
    pub jobs_computed: u64,
    /// Tile-pair jobs whose stored results were still current and were kept.
    pub jobs_reused: u64,
    /// Snapshot pairs computed now.
    pub pairs_computed: u64,
    /// Snapshot pairs whose stored results were kept.
    pub pairs_reused: u64,
    /// Wall-clock seconds of the whole analysis.
    pub seconds: f64,
    /// Seconds the workers of this process spent in tile products (summed over workers).
    pub product_seconds: f64,
    /// Floating-point operations of those products (2 per multiply-add).
    pub product_flops: f64,
    /// Seconds the workers of this process spent reading tiles from Parquet.
    pub load_seconds: f64,
    /// Seconds the workers of this process spent turning products into rows and writing them.
    pub write_seconds: f64,
    /// The analysis directory (`OUT/analysis`).
    pub dir: PathBuf,
    /// How far the tables now go (written as `_frontier.json` by the leader).
    pub frontier: crate::frontier::Frontier,
}
