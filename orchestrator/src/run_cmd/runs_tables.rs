//! The runs table a launch starts from, and how it takes over the rows of its tasks from the
//! output's other runs tables.
//!
//! Every launch writes one table: `runs.parquet` (whole sweep) or `runs-shard-I-of-K.parquet`
//! (`--shard I/K`). A task may have been recorded by earlier launches in another table (a
//! Slurm array preempted, then finished by one whole-sweep launch, then a `--shard 1/3`
//! mop-up). So that `read_parquet('OUT/runs*.parquet')` keeps one row per task, a launch
//!
//! 1. starts each of its tasks' rows from the best row any table holds
//!    ([`RunsTables::best`]): a finished task keeps its host, times and step counts, an
//!    unfinished one its progress;
//! 2. writes its own table;
//! 3. folds its tasks' rows out of the other tables ([`fold_other_tables`]): a whole-sweep
//!    launch takes every row (the shard tables are then removed), a shard launch only its
//!    tasks' rows (a table left empty is removed).
//!
//! Tasks the sweep file no longer lists (a narrower file launched on the same output) keep
//! their rows, marked `in_sweep = false`: their outputs stay on disk, and `analyze`,
//! `report` and `status` count them. A launch that dies between steps 2 and 3 leaves a
//! duplicate that every reader resolves by the same rule and the next launch folds.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::path::Path;

use eigensweep_common::exit_codes;
use eigensweep_worker::output::{
    baseline_dir, runs_table_files, write_table_atomically, ChosenRow, RunDirState, RunRecord,
    RunsTables, TaskStatus,
};
use eigensweep_worker::run::baseline_done;

use super::prepare::{Prepared, Task};
use crate::failure::{Failure, WithExitCode};

/// File (under `OUT`) locked while a launch rewrites runs tables other than its own: shards of
/// one split run side by side and may fold rows out of the same earlier table.
pub(super) const RUNS_TABLES_LOCK: &str = ".eigensweep-runs-tables-lock";

/// The runs table at the start of a launch.
pub(super) struct StartingTable {
    /// This launch's tasks, by key: status from the markers on disk, history from the best
    /// row of any runs table.
    pub records: BTreeMap<String, RunRecord>,
    /// Rows of tasks the sweep file does not list, kept (`in_sweep = false`); only a
    /// whole-sweep launch carries them in its table (a shard's stay where they are).
    pub outside: Vec<RunRecord>,
}

/// The status a task's files prove at the start of a launch.
fn status_on_disk(prep: &Prepared, task: &Task) -> TaskStatus {
    match task {
        Task::Run(spec) => {
            let dir = prep.out.join("runs").join(spec.partition());
            RunDirState::read(&dir)
                .finished_status()
                .unwrap_or(TaskStatus::Pending)
        }
        Task::Baseline(t) => {
            let done = baseline_dir(&prep.out, &t.dataset.name)
                .is_ok_and(|dir| baseline_done(&dir, t.network as u32));
            if done {
                TaskStatus::Done
            } else {
                TaskStatus::Pending
            }
        }
    }
}

/// Every key of the sweep file (all shards), runs and baseline networks.
pub(super) fn sweep_keys(prep: &Prepared) -> BTreeSet<String> {
    prep.sweep
        .runs()
        .into_iter()
        .map(|r| r.key)
        .chain(prep.sweep.baseline_tasks().into_iter().map(|t| t.key))
        .collect()
}

/// A fresh row of `task` with status `status`, carrying what `old` recorded of it.
fn carry_history(fresh: RunRecord, old: Option<&RunRecord>) -> RunRecord {
    match old {
        // The configuration is this launch's: the same key is the same configuration, and
        // this one records the network's widths (outputs written before they were recorded
        // gain them on the next launch).
        Some(old) if old.status == fresh.status && old.is_finished() => RunRecord {
            config_json: fresh.config_json,
            in_sweep: Some(true),
            ..old.clone()
        },
        // An unfinished task keeps what is known of its progress (its checkpoint), its first
        // start and the time it has used so far.
        Some(old) if fresh.status == TaskStatus::Pending.as_str() => RunRecord {
            steps_done: old.steps_done,
            snapshots_done: old.snapshots_done,
            checkpoint_time: old.checkpoint_time,
            wall_seconds: old.wall_seconds,
            start_time: old.start_time,
            host: old.host.clone(),
            rank: old.rank,
            device: old.device.clone(),
            provenance: old.provenance.clone(),
            ..fresh
        },
        _ => fresh,
    }
}

impl Prepared {
    /// The runs table at the start of this launch (see the module's docs). Unreadable tables
    /// are named in a warning; the markers on disk still give every status.
    pub(super) fn starting_table(&self) -> Result<StartingTable, Failure> {
        let tables = RunsTables::read(&self.out);
        for warning in tables.warnings() {
            crate::console::note!("{warning}");
        }
        let best = tables.best();
        let now = super::clock::now_ms();
        let mut records = BTreeMap::new();
        for task in &self.tasks {
            // A run is named by its seed, a baseline network by its number (its seed derives
            // from it): `seed` and `network` are each null where the other applies.
            let (kind, dataset, optimizer, seed, network, config_json, totals) = match task {
                Task::Run(spec) => (
                    "run",
                    &spec.dataset.name,
                    Some(spec.optimizer.name.clone()),
                    Some(spec.seed),
                    None,
                    spec.config_json(),
                    (
                        Some(spec.steps),
                        spec.snapshot_steps
                            .iter()
                            .filter(|&&s| s <= spec.steps)
                            .count() as u64,
                    ),
                ),
                Task::Baseline(t) => (
                    "baseline",
                    &t.dataset.name,
                    None,
                    None,
                    Some(t.network as u64),
                    t.config_json(),
                    (None, 1),
                ),
            };
            let fresh = RunRecord {
                key: task.key().to_string(),
                kind: kind.into(),
                dataset: dataset.clone(),
                optimizer,
                seed,
                network,
                config_json,
                status: status_on_disk(self, task).as_str().into(),
                error: None,
                host: None,
                rank: None,
                device: None,
                start_time: None,
                end_time: None,
                steps_total: totals.0,
                snapshots_total: Some(totals.1),
                steps_done: None,
                snapshots_done: None,
                wall_seconds: None,
                checkpoint_time: None,
                updated_time: Some(now),
                in_sweep: Some(true),
                provenance: Default::default(),
            };
            let old = best.get(task.key()).map(|r| &r.record);
            records.insert(task.key().to_string(), carry_history(fresh, old));
        }
        let listed = sweep_keys(self);
        let outside: Vec<RunRecord> = best
            .into_values()
            .map(|ChosenRow { record, .. }| record)
            .filter(|r| !listed.contains(&r.key))
            .map(|r| RunRecord {
                in_sweep: Some(false),
                ..r
            })
            .collect();
        if !outside.is_empty() {
            crate::console::note!("{}", outside_note(&outside));
        }
        Ok(StartingTable {
            records,
            outside: if self.shard.is_none() {
                outside
            } else {
                Vec::new()
            },
        })
    }

    /// Whether `path` is the runs table of a shard of this launch's split (this launch's own
    /// included): those shards run beside it and own their tables, which hold only their own
    /// tasks, so no other launch rewrites them.
    pub(super) fn owned_by_a_sibling_shard(&self, path: &Path) -> bool {
        match self.shard {
            Some((_, k)) => path.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
                n.starts_with("runs-shard-") && n.ends_with(&format!("-of-{k}.parquet"))
            }),
            None => false,
        }
    }

    /// Step 3 of the module's docs: removes the rows of this launch's tasks from every other
    /// runs table (a whole-sweep launch: every row, and the shard tables with them), marks
    /// the rows of tasks the sweep file does not list, and removes tables left empty. Call
    /// after this launch's own table is written. Tables that cannot be read are left as they
    /// are (a warning named them).
    pub(super) fn fold_other_tables(&self, taken: &BTreeSet<String>) -> Result<(), Failure> {
        let others: Vec<_> = runs_table_files(&self.out)
            .into_iter()
            .filter(|p| *p != self.table_path && !self.owned_by_a_sibling_shard(p))
            .collect();
        if others.is_empty() {
            return Ok(());
        }
        let _guard = lock_tables(&self.out);
        let listed = sweep_keys(self);
        for path in others {
            let Ok(rows) = eigensweep_worker::output::read_run_records(&path) else {
                continue;
            };
            // A whole-sweep launch carried every row into its own table.
            let kept: Vec<RunRecord> = if self.shard.is_none() {
                Vec::new()
            } else {
                rows.iter()
                    .filter(|r| !taken.contains(&r.key))
                    .map(|r| RunRecord {
                        in_sweep: if listed.contains(&r.key) {
                            r.in_sweep
                        } else {
                            Some(false)
                        },
                        ..r.clone()
                    })
                    .collect()
            };
            if kept.is_empty() {
                std::fs::remove_file(&path).exit_code(
                    exit_codes::OUTPUT,
                    format!(
                        "removing {}, whose rows {} took over",
                        path.display(),
                        self.table_path.display()
                    ),
                )?;
            } else if kept != rows {
                write_table_atomically(&path, &kept).exit_code(
                    exit_codes::OUTPUT,
                    format!(
                        "rewriting {} without the rows {} took over",
                        path.display(),
                        self.table_path.display()
                    ),
                )?;
            }
        }
        Ok(())
    }
}

/// The launch's word on the tasks its sweep file no longer lists.
fn outside_note(outside: &[RunRecord]) -> String {
    let mut by_status: BTreeMap<&str, usize> = BTreeMap::new();
    for r in outside {
        *by_status.entry(r.status.as_str()).or_default() += 1;
    }
    let counts: Vec<String> = by_status
        .iter()
        .map(|(status, n)| format!("{n} {status}"))
        .collect();
    let mut labels: Vec<String> = outside
        .iter()
        .map(|r| match (&r.optimizer, r.seed, r.network) {
            (Some(o), Some(s), _) => format!("{}/{o}/{s}", r.dataset),
            (_, _, Some(n)) => format!("baseline {}/{n}", r.dataset),
            _ => r.key.clone(),
        })
        .collect();
    labels.sort();
    let more = labels.len().saturating_sub(6);
    labels.truncate(6);
    let list = if more > 0 {
        format!("{}, and {more} more", labels.join(", "))
    } else {
        labels.join(", ")
    };
    format!(
        "note: {} task(s) recorded in this output are not in this sweep file ({}: {list}); their rows stay in the runs tables, marked in_sweep = false, and their outputs stay on disk, where analyze, report and status still count them; run the earlier sweep file again to continue them",
        outside.len(),
        counts.join(", "),
    )
}

/// An exclusive `flock` on [`RUNS_TABLES_LOCK`] while this process rewrites other launches'
/// tables; `None` where the filesystem has no locks (the output lock, or `--no-lock`, already
/// keeps overlapping launches apart; only shards of one split share the tables).
pub(super) fn lock_tables(out: &Path) -> Option<File> {
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(out.join(RUNS_TABLES_LOCK))
        .ok()?;
    file.lock().ok()?;
    Some(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(key: &str, status: &str) -> RunRecord {
        RunRecord {
            key: key.into(),
            kind: "run".into(),
            dataset: "d".into(),
            optimizer: Some("sgd".into()),
            seed: Some(0),
            network: None,
            config_json: "{\"old\":1}".into(),
            status: status.into(),
            error: None,
            host: Some("node7".into()),
            rank: Some(3),
            device: Some("cpu".into()),
            start_time: Some(1),
            end_time: Some(2),
            steps_total: Some(1500),
            snapshots_total: Some(16),
            steps_done: Some(1500),
            snapshots_done: Some(16),
            wall_seconds: Some(9.5),
            checkpoint_time: Some(2),
            updated_time: Some(2),
            in_sweep: None,
            provenance: Default::default(),
        }
    }

    #[test]
    fn a_finished_task_keeps_its_record_and_takes_the_new_configuration() {
        let old = record("k", "done");
        let fresh = RunRecord {
            config_json: "{\"new\":1}".into(),
            host: None,
            steps_done: None,
            ..record("k", "done")
        };
        let kept = carry_history(fresh, Some(&old));
        assert_eq!(kept.host.as_deref(), Some("node7"));
        assert_eq!(kept.steps_done, Some(1500));
        assert_eq!(kept.config_json, "{\"new\":1}");
        assert_eq!(kept.in_sweep, Some(true));
    }

    #[test]
    fn an_unfinished_task_keeps_its_progress_but_not_its_status() {
        let old = record("k", "failed");
        let fresh = RunRecord {
            host: None,
            steps_done: None,
            error: None,
            ..record("k", "pending")
        };
        let kept = carry_history(fresh, Some(&old));
        assert_eq!(kept.status, "pending");
        assert_eq!(kept.steps_done, Some(1500));
        assert_eq!(kept.host.as_deref(), Some("node7"));
    }

    #[test]
    fn the_note_counts_and_names_the_tasks_outside_the_file() {
        let rows = vec![record("a", "done"), {
            let mut r = record("b", "pending");
            r.seed = Some(1);
            r
        }];
        let note = outside_note(&rows);
        assert!(note.contains("2 task(s)"), "{note}");
        assert!(note.contains("1 done, 1 pending"), "{note}");
        assert!(note.contains("d/sgd/0, d/sgd/1"), "{note}");
        assert!(note.contains("in_sweep = false"), "{note}");
    }
}
