//! Where the tables live: the hive-partitioned layout under a sweep's output directory.
//!
//! ```text
//! OUT/runs.parquet                                         one row per run and baseline task
//! OUT/runs/dataset=D/optimizer=O/seed=S/snapshots/part-NNNNN.parquet
//! OUT/runs/dataset=D/optimizer=O/seed=S/metrics/part-NNNNN.parquet
//! OUT/runs/dataset=D/optimizer=O/seed=S/weights/part-NNNNN.parquet
//! OUT/baseline/dataset=D/part-NNNNN.parquet
//! ```
//!
//! so that DuckDB's `read_parquet('OUT/runs/**/snapshots/*.parquet', hive_partitioning=true)`
//! adds `dataset`, `optimizer` and `seed` columns from the directory names.

use std::path::{Path, PathBuf};

use crate::WorkerError;

/// Directory (under `OUT`) of the per-run tables.
pub const RUNS_DIR: &str = "runs";
/// Directory (under `OUT`) of the random-init baseline.
pub const BASELINE_DIR: &str = "baseline";
/// File name (under `OUT`) of the run table.
pub const RUNS_TABLE_FILE: &str = "runs.parquet";
/// Sub-directory of a run directory holding the snapshot parts.
pub const SNAPSHOTS_DIR: &str = "snapshots";
/// Sub-directory of a run directory holding the metric parts.
pub const METRICS_DIR: &str = "metrics";
/// Sub-directory of a run directory holding the weight parts.
pub const WEIGHTS_DIR: &str = "weights";

/// Checks that `value` can be a hive partition value (`name=value` directory): not empty, not
/// `.` or `..`, and free of `/`, `\`, `=`, whitespace and control characters.
pub fn validate_partition_value(name: &'static str, value: &str) -> Result<(), WorkerError> {
    let reject = |reason| {
        Err(WorkerError::InvalidPartition {
            name,
            value: value.to_string(),
            reason,
        })
    };
    if value.is_empty() {
        return reject("it is empty");
    }
    if value == "." || value == ".." {
        return reject("it is a relative directory name");
    }
    if value.contains('/') || value.contains('\\') {
        return reject("it contains a path separator");
    }
    if value.contains('=') {
        return reject("it contains '='");
    }
    if value.chars().any(char::is_whitespace) {
        return reject("it contains whitespace");
    }
    if value.chars().any(char::is_control) {
        return reject("it contains a control character");
    }
    Ok(())
}

/// `out/runs/dataset=D/optimizer=O/seed=S`, after checking `dataset` and `optimizer`.
pub fn run_dir(
    out: &Path,
    dataset: &str,
    optimizer: &str,
    seed: u64,
) -> Result<PathBuf, WorkerError> {
    validate_partition_value("dataset", dataset)?;
    validate_partition_value("optimizer", optimizer)?;
    Ok(out
        .join(RUNS_DIR)
        .join(format!("dataset={dataset}"))
        .join(format!("optimizer={optimizer}"))
        .join(format!("seed={seed}")))
}

/// `out/baseline/dataset=D`, after checking `dataset`.
pub fn baseline_dir(out: &Path, dataset: &str) -> Result<PathBuf, WorkerError> {
    validate_partition_value("dataset", dataset)?;
    Ok(out.join(BASELINE_DIR).join(format!("dataset={dataset}")))
}

/// `out/runs.parquet`.
pub fn runs_table_path(out: &Path) -> PathBuf {
    out.join(RUNS_TABLE_FILE)
}

/// Every runs table of `out`: `runs.parquet` of whole-sweep launches and
/// `runs-shard-I-of-K.parquet` of `--shard` launches, sorted by name (none if `out` cannot be
/// listed). One task may have a row in several of them (a sweep launched both ways).
pub fn runs_table_files(out: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(out) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            let name = p.file_name().map(|n| n.to_string_lossy().into_owned());
            name.is_some_and(|n| {
                n == RUNS_TABLE_FILE
                    || (n.starts_with("runs-shard-")
                        && n.ends_with(".parquet")
                        && n.contains("-of-"))
            })
        })
        .collect();
    files.sort();
    files
}

/// The directories of one run's tables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunDirs {
    /// `out/runs/dataset=D/optimizer=O/seed=S`.
    pub root: PathBuf,
    /// `root/snapshots`.
    pub snapshots: PathBuf,
    /// `root/metrics`.
    pub metrics: PathBuf,
    /// `root/weights`.
    pub weights: PathBuf,
}

impl RunDirs {
    /// The directories of the run (dataset, optimizer, seed) under `out`; nothing is created.
    pub fn new(out: &Path, dataset: &str, optimizer: &str, seed: u64) -> Result<Self, WorkerError> {
        let root = run_dir(out, dataset, optimizer, seed)?;
        Ok(Self {
            snapshots: root.join(SNAPSHOTS_DIR),
            metrics: root.join(METRICS_DIR),
            weights: root.join(WEIGHTS_DIR),
            root,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_is_hive_partitioned() {
        let dirs = RunDirs::new(Path::new("/o"), "mnist", "adam-1e-3", 4).unwrap();
        assert_eq!(
            dirs.root,
            Path::new("/o/runs/dataset=mnist/optimizer=adam-1e-3/seed=4")
        );
        assert_eq!(
            dirs.snapshots,
            Path::new("/o/runs/dataset=mnist/optimizer=adam-1e-3/seed=4/snapshots")
        );
        assert_eq!(dirs.metrics.file_name().unwrap(), "metrics");
        assert_eq!(dirs.weights.file_name().unwrap(), "weights");
        assert_eq!(
            baseline_dir(Path::new("/o"), "fashion-mnist").unwrap(),
            Path::new("/o/baseline/dataset=fashion-mnist")
        );
        assert_eq!(
            runs_table_path(Path::new("/o")),
            Path::new("/o/runs.parquet")
        );
    }

    #[test]
    fn bad_partition_values_are_rejected_with_the_value_in_the_message() {
        for bad in [
            "", ".", "..", "a/b", "a\\b", "a=b", "a b", "a\tb", "a\nb", "x\u{7}",
        ] {
            let err = run_dir(Path::new("/o"), "mnist", bad, 0).unwrap_err();
            let msg = err.to_string();
            assert!(msg.contains("optimizer partition value"), "{msg}");
            assert!(msg.contains(&format!("{bad:?}")), "{msg}");
            assert!(baseline_dir(Path::new("/o"), bad).is_err(), "{bad:?}");
            assert!(
                RunDirs::new(Path::new("/o"), bad, "sgd", 0).is_err(),
                "{bad:?}"
            );
        }
        for good in ["mnist", "fashion-mnist", "sgd_lr0.01", "Adam+SAM", "é"] {
            validate_partition_value("dataset", good).unwrap();
        }
    }
}
