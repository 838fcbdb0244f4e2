//! The manifest (`OUT/analysis/_manifest.json`): which jobs' outputs on disk are current, so
//! that a second `analyze` computes only what changed.
//!
//! A job is current when the manifest holds it under its name with the same fingerprint: a
//! hash of the scalars of every snapshot in its two tiles (step, index, eigenvalue, residual
//! and IPR bits, whether θ was stored) and of the analysis format. New snapshots of a run in
//! progress change only its last tile (and add new ones), so only the jobs touching those are
//! recomputed; a run resumed from an earlier checkpoint rewrites its late parts with the same
//! numbers, which hash the same.
//!
//! The baseline's per-job moments are kept here too (they are a handful of numbers), so the
//! baseline table can be rebuilt without recomputing reused jobs.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::AnalysisError;

/// Bumped whenever the meaning or layout of a job's output changes: every job is then
/// recomputed once. 2: the tables' integers became `Int64` (table format version 2), so an
/// analysis written by an earlier build is rewritten whole rather than mixed with new parts.
pub const ANALYSIS_FORMAT: u32 = 2;

/// File name of the manifest inside `OUT/analysis`.
pub const MANIFEST_FILE: &str = "_manifest.json";

/// Count, mean and sum of squared deviations of |cos| over some pairs of one eigen-index:
/// moments that merge exactly (Chan et al.) in any grouping.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Moments {
    /// Eigen-index.
    pub index: u32,
    /// Pairs.
    pub count: u64,
    /// Mean |cos|.
    pub mean: f64,
    /// Σ (|cos| − mean)².
    pub m2: f64,
}

impl Moments {
    /// No pairs yet.
    pub fn empty(index: u32) -> Self {
        Self {
            index,
            count: 0,
            mean: 0.0,
            m2: 0.0,
        }
    }

    /// Adds one value (Welford).
    pub fn push(&mut self, x: f64) {
        self.count += 1;
        let d = x - self.mean;
        self.mean += d / self.count as f64;
        self.m2 += d * (x - self.mean);
    }

    /// Merges another group's moments into these.
    pub fn merge(&mut self, other: &Moments) {
        if other.count == 0 {
            return;
        }
        let (n1, n2) = (self.count as f64, other.count as f64);
        let n = n1 + n2;
        let d = other.mean - self.mean;
        self.mean += d * n2 / n;
        self.m2 += other.m2 + d * d * n1 * n2 / n;
        self.count += other.count;
    }

    /// Sample standard deviation (NaN below two values).
    pub fn std(&self) -> f64 {
        if self.count < 2 {
            f64::NAN
        } else {
            (self.m2 / (self.count - 1) as f64).sqrt()
        }
    }
}

/// What the manifest remembers of one job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobRecord {
    /// The job's fingerprint when its outputs were written.
    pub fingerprint: String,
    /// Snapshot pairs it covered.
    pub pairs: u64,
    /// Baseline jobs: the |cos| moments per index, and N.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline: Option<(Vec<Moments>, u64)>,
}

/// The manifest: current jobs by name.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Manifest {
    /// [`ANALYSIS_FORMAT`] when written.
    pub format: u32,
    /// Jobs by name.
    pub jobs: BTreeMap<String, JobRecord>,
}

impl Manifest {
    /// Reads the manifest in `dir`; an absent, unreadable or older-format manifest is an empty
    /// one (everything is recomputed, which is always correct).
    pub fn load(dir: &Path) -> Self {
        let path = dir.join(MANIFEST_FILE);
        let Ok(text) = fs::read_to_string(&path) else {
            return Manifest::default();
        };
        match serde_json::from_str::<Manifest>(&text) {
            Ok(m) if m.format == ANALYSIS_FORMAT => m,
            _ => Manifest::default(),
        }
    }

    /// Whether job `name` is recorded with `fingerprint`.
    pub fn is_current(&self, name: &str, fingerprint: &str) -> bool {
        self.jobs
            .get(name)
            .is_some_and(|r| r.fingerprint == fingerprint)
    }

    /// Writes the manifest to `dir` through a temporary file and a rename.
    pub fn save(&self, dir: &Path) -> Result<(), AnalysisError> {
        save_json(self, dir, MANIFEST_FILE, "the manifest", "")
    }
}

/// Writes `value` as pretty JSON (then `end`) to `dir/file` through `.file.tmp` and a rename,
/// so that a reader sees the old file or the new one, never part of one; `what` names it in
/// an encoding error.
pub(crate) fn save_json<T: Serialize>(
    value: &T,
    dir: &Path,
    file: &str,
    what: &str,
    end: &str,
) -> Result<(), AnalysisError> {
    let path = dir.join(file);
    let tmp = dir.join(format!(".{file}.tmp"));
    let text = serde_json::to_string_pretty(value)
        .map_err(|e| AnalysisError::data(&path, format!("encoding {what}: {e}")))?;
    let result = fs::write(&tmp, text + end)
        .map_err(|e| AnalysisError::io("writing", &path, e))
        .and_then(|()| {
            fs::rename(&tmp, &path).map_err(|e| AnalysisError::io("renaming to", &path, e))
        });
    if result.is_err() {
        // Best effort: the error that matters is the one returned.
        let _ = fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merged_moments_equal_one_pass() {
        let xs: Vec<f64> = (0..57).map(|i| ((i * 37) % 11) as f64 / 10.0).collect();
        let mut whole = Moments::empty(1);
        xs.iter().for_each(|&x| whole.push(x));
        let mut merged = Moments::empty(1);
        for chunk in xs.chunks(8) {
            let mut m = Moments::empty(1);
            chunk.iter().for_each(|&x| m.push(x));
            merged.merge(&m);
        }
        assert_eq!(merged.count, 57);
        assert!((merged.mean - whole.mean).abs() < 1e-12);
        assert!((merged.std() - whole.std()).abs() < 1e-12);
        let mean = xs.iter().sum::<f64>() / 57.0;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / 56.0;
        assert!((whole.std() - var.sqrt()).abs() < 1e-12);
    }
}
