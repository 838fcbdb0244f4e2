//! The frontier (`OUT/analysis/_frontier.json`): up to which snapshot of each run, and which
//! baseline networks, the analysis tables are complete.
//!
//! `analyze` writes it (atomically: temporary file, then rename) after every table of a pass
//! is written, from the catalog that pass analysed: a snapshot at or before a run's
//! `last_step` has all its pair rows, with every earlier snapshot of the run, in every table.
//! While a later pass runs (`analyze --follow` beside a `run`), tables may already hold rows of
//! snapshots past the frontier; they never lack rows up to it, since each tile pair's part is
//! replaced whole by one holding the same rows and more.

use std::fs;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::catalog::Catalog;
use crate::AnalysisError;

/// File name of the frontier inside `OUT/analysis`.
pub const FRONTIER_FILE: &str = "_frontier.json";

/// Version of the frontier's layout.
pub const FRONTIER_FORMAT: u32 = 1;

/// How far one run is analysed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunFrontier {
    /// Dataset, optimiser and seed, as in the hive partitions.
    pub dataset: String,
    /// Optimiser name.
    pub optimizer: String,
    /// Seed.
    pub seed: u64,
    /// The run's key.
    pub run_key: String,
    /// Snapshots analysed.
    pub snapshots: usize,
    /// Step of the last snapshot analysed (`None`: no snapshot yet).
    pub last_step: Option<u64>,
    /// Whether the run had finished (`_SUCCESS`) when analysed: its tables are final.
    pub finished: bool,
    /// Whether it had diverged (`_DIVERGED`): final too, left out of the summaries.
    pub diverged: bool,
}

/// How far one dataset's random-initialisation baseline is analysed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BaselineFrontier {
    /// Dataset name.
    pub dataset: String,
    /// Networks analysed.
    pub networks: usize,
}

/// The frontier of one analysis pass.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Frontier {
    /// [`FRONTIER_FORMAT`].
    pub format: u32,
    /// Every run analysed, sorted by (dataset, optimizer, seed).
    pub runs: Vec<RunFrontier>,
    /// Every baseline analysed.
    pub baselines: Vec<BaselineFrontier>,
}

impl Frontier {
    /// The frontier of a pass over `catalog`. It holds no time (its file's modification time
    /// says when), so that the same analysis always writes the same bytes.
    pub fn of(catalog: &Catalog) -> Self {
        Self {
            format: FRONTIER_FORMAT,
            runs: catalog
                .runs
                .iter()
                .map(|r| RunFrontier {
                    dataset: r.dataset.clone(),
                    optimizer: r.optimizer.clone(),
                    seed: r.seed,
                    run_key: r.run_key.clone(),
                    snapshots: r.snapshots.len(),
                    last_step: r.snapshots.last().map(|s| s.step),
                    finished: r.finished,
                    diverged: r.diverged,
                })
                .collect(),
            baselines: catalog
                .baselines
                .iter()
                .map(|b| BaselineFrontier {
                    dataset: b.dataset.clone(),
                    networks: b.networks.len(),
                })
                .collect(),
        }
    }

    /// Writes `dir/_frontier.json` through a temporary file and a rename, so that a reader
    /// sees the previous frontier or this one, never part of one.
    ///
    /// # Errors
    /// [`AnalysisError::Io`] naming the file when it cannot be written.
    pub fn save(&self, dir: &Path) -> Result<(), AnalysisError> {
        crate::manifest::save_json(self, dir, FRONTIER_FILE, "the frontier", "\n")
    }

    /// Reads `dir/_frontier.json`; `None` when there is none or it cannot be read (an
    /// analysis of an older eigensweep, or none yet).
    pub fn load(dir: &Path) -> Option<Self> {
        let text = fs::read_to_string(dir.join(FRONTIER_FILE)).ok()?;
        serde_json::from_str(&text)
            .ok()
            .filter(|f: &Frontier| f.format == FRONTIER_FORMAT)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saves_atomically_and_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(Frontier::load(dir.path()), None);
        let f = Frontier {
            format: FRONTIER_FORMAT,
            runs: vec![RunFrontier {
                dataset: "d".into(),
                optimizer: "sgd".into(),
                seed: 0,
                run_key: "k".into(),
                snapshots: 3,
                last_step: Some(200),
                finished: false,
                diverged: false,
            }],
            baselines: vec![BaselineFrontier {
                dataset: "d".into(),
                networks: 4,
            }],
        };
        f.save(dir.path()).unwrap();
        assert_eq!(Frontier::load(dir.path()), Some(f.clone()));
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names, [FRONTIER_FILE]);
        let mut later = f.clone();
        later.runs[0].last_step = Some(300);
        assert_ne!(later, f);
    }
}
