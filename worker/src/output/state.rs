//! What state a task is in, as the output directory tells it: the names of a run directory's
//! end markers and checkpoint, and one reader of every runs table of an output with one rule
//! for a task that has rows in several of them. The task-status type (the same strings as the
//! runs tables' `status` column) is [`TaskStatus`], in its own file, re-exported here.
//!
//! Truth, in order of trust: a run directory's end markers (`_SUCCESS`, `_DIVERGED`, written
//! last), its checkpoint, then the runs tables (`runs.parquet` of whole-sweep launches,
//! `runs-shard-I-of-K.parquet` of `--shard` launches), which are status reports: they carry
//! what the markers cannot (host, times, errors, progress between checkpoints).
//!
//! A launch takes over the rows of the tasks it runs (`run` folds them out of the other
//! tables, see `eigensweep run`'s ledger), so that `read_parquet('OUT/runs*.parquet')` holds
//! one row per task; [`RunsTables::best`] still resolves a duplicate left by a launch that
//! died between writing its own table and folding the others.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::paths::runs_table_files;
use super::runs::{read_run_records, RunRecord};
pub use super::task_status::TaskStatus;
use crate::WorkerError;

/// File name, in a run directory, of the marker of a run trained to its last step.
pub const SUCCESS_MARKER: &str = "_SUCCESS";
/// File name, in a run directory, of the marker of a run stopped on a non-finite loss; it
/// holds the step (decimal text).
pub const DIVERGED_MARKER: &str = "_DIVERGED";
/// File name, in a run directory, of the run's checkpoint.
pub const CHECKPOINT_FILE: &str = "checkpoint.bin";
/// File name, in a run directory, of the intent of a finished run's continuation to more
/// steps (`eigensweep run --extend`): written before the run's files change and removed once
/// they all belong to the continued run, so that an interrupted continuation is finished by
/// the next launch and never read as a finished run meanwhile.
pub const EXTENDING_MARKER: &str = "_EXTENDING";

/// A run directory's state from its files alone (no runs table).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunDirState {
    /// Neither an end marker nor a checkpoint: the run starts from step 0.
    Fresh,
    /// A checkpoint and no end marker: the run resumes (its step, where the checkpoint could
    /// be read by the caller; see `eigensweep_worker::run::Checkpoint`).
    Checkpointed,
    /// `_SUCCESS`.
    Done,
    /// `_DIVERGED`, with the step it holds (`None` if unreadable).
    Diverged(Option<u64>),
    /// `_EXTENDING`: a finished run being continued to more steps, its files partly of the
    /// run it was and partly of the run it becomes; unfinished whatever other marker is
    /// still there (the next `run` completes the continuation).
    Extending,
}

impl RunDirState {
    /// Reads the markers of the run directory `dir` (which need not exist).
    pub fn read(dir: &Path) -> Self {
        if dir.join(EXTENDING_MARKER).exists() {
            RunDirState::Extending
        } else if dir.join(SUCCESS_MARKER).exists() {
            RunDirState::Done
        } else if dir.join(DIVERGED_MARKER).exists() {
            let step = std::fs::read_to_string(dir.join(DIVERGED_MARKER))
                .ok()
                .and_then(|t| t.trim().parse().ok());
            RunDirState::Diverged(step)
        } else if dir.join(CHECKPOINT_FILE).exists() {
            RunDirState::Checkpointed
        } else {
            RunDirState::Fresh
        }
    }

    /// The status the markers prove: done or diverged; `None` while the run is unfinished
    /// (its row, if any, says more).
    pub fn finished_status(self) -> Option<TaskStatus> {
        match self {
            RunDirState::Done => Some(TaskStatus::Done),
            RunDirState::Diverged(_) => Some(TaskStatus::Diverged),
            RunDirState::Fresh | RunDirState::Checkpointed | RunDirState::Extending => None,
        }
    }
}

/// One task's row as chosen among every runs table, and the table it comes from.
#[derive(Debug, Clone, PartialEq)]
pub struct ChosenRow {
    /// The row.
    pub record: RunRecord,
    /// The runs table it was read from.
    pub table: PathBuf,
}

/// The one rule for a task with rows in several runs tables: a finished row (done or
/// diverged: the markers make it final) over any other, then the row changed last
/// (`updated_time`, else its end or start), then — equal in both — the whole-sweep table.
pub fn prefer(a: &ChosenRow, b: &ChosenRow) -> bool {
    let rank = |r: &ChosenRow| {
        let record = &r.record;
        (
            record.is_finished(),
            record
                .updated_time
                .or(record.end_time)
                .or(record.start_time)
                .unwrap_or(i64::MIN),
            r.table.file_name().is_some_and(|n| n == "runs.parquet"),
        )
    };
    rank(a) > rank(b)
}

/// Every runs table of an output directory, read once.
#[derive(Debug, Default)]
pub struct RunsTables {
    /// Each table that could be read, with its rows (file order).
    pub tables: Vec<(PathBuf, Vec<RunRecord>)>,
    /// Each table that could not be read (torn, of a newer format), with why.
    pub unreadable: Vec<(PathBuf, WorkerError)>,
}

impl RunsTables {
    /// Reads every runs table of `out` ([`runs_table_files`]); a table that cannot be read is
    /// listed in [`RunsTables::unreadable`], never an error: the markers on disk still say
    /// which tasks finished.
    pub fn read(out: &Path) -> Self {
        let mut tables = RunsTables::default();
        for path in runs_table_files(out) {
            match read_run_records(&path) {
                Ok(rows) => tables.tables.push((path, rows)),
                Err(e) => tables.unreadable.push((path, e)),
            }
        }
        tables
    }

    /// The best row of every task ([`prefer`]), by key.
    pub fn best(&self) -> BTreeMap<String, ChosenRow> {
        let mut best: BTreeMap<String, ChosenRow> = BTreeMap::new();
        for (path, rows) in &self.tables {
            for r in rows {
                let candidate = ChosenRow {
                    record: r.clone(),
                    table: path.clone(),
                };
                match best.get(&r.key) {
                    Some(old) if !prefer(&candidate, old) => {}
                    _ => {
                        best.insert(r.key.clone(), candidate);
                    }
                }
            }
        }
        best
    }

    /// A one-line warning per unreadable table, naming it, why, and what `run` does about it.
    pub fn warnings(&self) -> Vec<String> {
        self.unreadable
            .iter()
            .map(|(path, e)| {
                format!(
                    "warning: {} cannot be read ({e}); statuses come from the run directories' markers, and the next `eigensweep run` on this output rebuilds the table",
                    path.display()
                )
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(key: &str, status: &str, updated: Option<i64>) -> RunRecord {
        RunRecord {
            key: key.into(),
            kind: "run".into(),
            dataset: "d".into(),
            optimizer: Some("sgd".into()),
            seed: Some(0),
            network: None,
            config_json: "{}".into(),
            status: status.into(),
            error: None,
            host: None,
            rank: None,
            device: None,
            start_time: None,
            end_time: None,
            steps_total: None,
            snapshots_total: None,
            steps_done: None,
            snapshots_done: None,
            wall_seconds: None,
            checkpoint_time: None,
            updated_time: updated,
            in_sweep: None,
            provenance: Default::default(),
        }
    }

    fn in_table(record: RunRecord, table: &str) -> ChosenRow {
        ChosenRow {
            record,
            table: PathBuf::from(table),
        }
    }

    #[test]
    fn a_finished_row_wins_over_a_later_unfinished_one() {
        let done = in_table(row("k", "done", Some(10)), "runs-shard-0-of-2.parquet");
        let pending = in_table(row("k", "pending", Some(20)), "runs.parquet");
        assert!(prefer(&done, &pending));
        assert!(!prefer(&pending, &done));
    }

    #[test]
    fn among_unfinished_rows_the_later_wins_then_the_whole_sweep_table() {
        let failed = in_table(row("k", "failed", Some(10)), "runs.parquet");
        let running = in_table(row("k", "running", Some(20)), "runs-shard-1-of-3.parquet");
        assert!(prefer(&running, &failed));
        let shard = in_table(row("k", "pending", Some(5)), "runs-shard-1-of-3.parquet");
        let whole = in_table(row("k", "pending", Some(5)), "runs.parquet");
        assert!(prefer(&whole, &shard) && !prefer(&shard, &whole));
    }

    #[test]
    fn markers_give_the_run_directory_state() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(
            RunDirState::read(&dir.path().join("absent")),
            RunDirState::Fresh
        );
        std::fs::write(dir.path().join(CHECKPOINT_FILE), b"x").unwrap();
        assert_eq!(RunDirState::read(dir.path()), RunDirState::Checkpointed);
        std::fs::write(dir.path().join(DIVERGED_MARKER), b"42\n").unwrap();
        assert_eq!(
            RunDirState::read(dir.path()),
            RunDirState::Diverged(Some(42))
        );
        std::fs::write(dir.path().join(SUCCESS_MARKER), b"").unwrap();
        assert_eq!(RunDirState::read(dir.path()), RunDirState::Done);
        assert_eq!(
            RunDirState::read(dir.path()).finished_status(),
            Some(TaskStatus::Done)
        );
        // A continuation in progress is unfinished, whatever the other markers say.
        std::fs::write(dir.path().join(EXTENDING_MARKER), b"{}").unwrap();
        assert_eq!(RunDirState::read(dir.path()), RunDirState::Extending);
        assert_eq!(RunDirState::read(dir.path()).finished_status(), None);
    }

    #[test]
    fn an_unreadable_table_is_listed_with_a_warning_not_an_error() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("runs.parquet"), b"PAR1 torn").unwrap();
        let tables = RunsTables::read(dir.path());
        assert!(tables.tables.is_empty());
        assert_eq!(tables.unreadable.len(), 1);
        let w = tables.warnings().join("\n");
        assert!(w.contains("runs.parquet") && w.contains("rebuilds"), "{w}");
    }
}
