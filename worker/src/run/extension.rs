//! Continuing a finished run to more steps (`eigensweep run --extend`): the run directory's
//! half. A run's directory holds one run key; continuing the run under the key of its longer
//! configuration turns the directory into that run's, stopped at the finished run's last step,
//! so that the ordinary resume trains it from there.
//!
//! [`continue_finished_run`] does it in stages, each atomic and each idempotent, so that a
//! launch killed at any point is finished by running it again (the caller keeps the intent
//! file, `_EXTENDING`, that says so, until it returns):
//!
//! 1. the `_SUCCESS` marker goes: the directory is no longer a finished run;
//! 2. every part of every table is rewritten under the new key through the ordinary writer
//!    ([`write_table_atomically`]), without the rows that only a *last* step has: its metrics
//!    row (no step follows it: no batch loss, no norms) and its θ (kept at the last step even
//!    where θ is not stored). The continued run recomputes both at that step, as a run trained
//!    to the end directly does;
//! 3. the checkpoint becomes the new key's, not complete, at the same step, counting the parts
//!    as they now are.
//!
//! The eigen-snapshot at the last step keeps its rows: its eigenpairs are those of the longer
//! run (same θ, same warm start, same random start), only its gradient and update alignments
//! are NaN, since no step followed it. The checkpoint holds that snapshot's vectors in f64 (the
//! next solve's warm start), so the continued launch fills the two alignments in from the step
//! it takes, exactly ([`super::start`] recognises such a checkpoint, [`super::launch`] does it).

use std::fs;
use std::path::Path;

use super::checkpoint::Checkpoint;
use super::marker_io;
use crate::output::{
    part_file_name, read_table, write_table_atomically, DensityRow, MetricRow, PreconditionedRow,
    Row, SnapshotRow, TraceRow, WeightRow, CHECKPOINT_FILE, DIVERGED_MARKER, SUCCESS_MARKER,
};
use crate::WorkerError;

/// A finished run continued under the key of a longer configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Continuation {
    /// The finished run's key.
    pub old_key: String,
    /// The key of the configuration it continues as.
    pub new_key: String,
    /// The finished run's steps: its last step, where the continued run resumes.
    pub old_steps: u64,
}

/// Where the continued run resumes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Continued {
    /// Its step (the finished run's last).
    pub step: u64,
    /// Snapshots it has taken.
    pub snapshots_done: u64,
}

/// One stage of [`continue_finished_run`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Stage {
    /// Remove `_SUCCESS`.
    Marker,
    /// Rewrite the first `parts` parts of table `name` under the new key.
    Table {
        /// The table.
        name: String,
        /// Its parts in the finished run's checkpoint.
        parts: u32,
    },
    /// Rewrite the checkpoint as the new key's, unfinished.
    Checkpoint,
}

/// Turns the finished run in `dir` (its checkpoint complete, at step `c.old_steps`, of key
/// `c.old_key`) into run `c.new_key` stopped at that step (see the module's docs). Safe to
/// call again after an interruption at any point, and on a directory already turned (it then
/// changes nothing).
///
/// # Errors
/// [`WorkerError::InvalidPlan`] when the directory does not hold that finished run (no checkpoint,
/// an unfinished or diverged one, one at another step, rows of a third key);
/// [`WorkerError::ForeignCheckpoint`] for a checkpoint of another key; I/O and table errors.
pub fn continue_finished_run(dir: &Path, c: &Continuation) -> Result<Continued, WorkerError> {
    let (continued, stages) = stages(dir, c)?;
    for stage in &stages {
        apply(dir, c, stage)?;
    }
    Ok(continued)
}

/// The stages still to do, and where the continued run resumes.
pub(crate) fn stages(dir: &Path, c: &Continuation) -> Result<(Continued, Vec<Stage>), WorkerError> {
    let path = dir.join(CHECKPOINT_FILE);
    let saved = Checkpoint::load(&path)?.ok_or_else(|| {
        WorkerError::InvalidPlan(format!(
            "{} has no checkpoint: there is no finished run to continue",
            dir.display()
        ))
    })?;
    let continued = Continued {
        step: saved.step,
        snapshots_done: saved.snapshots_done,
    };
    if saved.run_key == c.new_key {
        // Turned already (the checkpoint is written last): only a marker may be left over.
        return Ok((continued, vec![Stage::Marker]));
    }
    if saved.run_key != c.old_key {
        return Err(WorkerError::ForeignCheckpoint {
            path,
            found: saved.run_key,
            expected: c.old_key.clone(),
        });
    }
    if !saved.complete || dir.join(DIVERGED_MARKER).exists() {
        return Err(WorkerError::InvalidPlan(format!(
            "{} is not a finished run (its checkpoint is at step {} of {}, not complete): only a finished run is continued",
            dir.display(),
            saved.step,
            c.old_steps
        )));
    }
    if saved.step != c.old_steps {
        return Err(WorkerError::InvalidPlan(format!(
            "{} finished at step {}, not at step {}",
            dir.display(),
            saved.step,
            c.old_steps
        )));
    }
    let mut stages = vec![Stage::Marker];
    stages.extend(saved.parts.iter().map(|(name, parts)| Stage::Table {
        name: name.clone(),
        parts: *parts,
    }));
    stages.push(Stage::Checkpoint);
    Ok((continued, stages))
}

/// Does one stage (idempotent).
pub(crate) fn apply(dir: &Path, c: &Continuation, stage: &Stage) -> Result<(), WorkerError> {
    match stage {
        Stage::Marker => {
            let success = dir.join(SUCCESS_MARKER);
            match fs::remove_file(&success) {
                Ok(()) => sync_dir(dir),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                Err(e) => Err(marker_io("removing", &success)(e)),
            }
        }
        Stage::Table { name, parts } => rekey_table(&dir.join(name), name, *parts, c),
        Stage::Checkpoint => {
            let path = dir.join(CHECKPOINT_FILE);
            let Some(saved) = Checkpoint::load(&path)? else {
                return Err(WorkerError::InvalidPlan(format!(
                    "{} disappeared",
                    path.display()
                )));
            };
            if saved.run_key == c.new_key {
                return Ok(());
            }
            // A last part emptied by stage 2 (it held only the last step's rows) is gone.
            let parts = saved
                .parts
                .iter()
                .map(|(name, n)| {
                    let emptied = *n > 0 && !dir.join(name).join(part_file_name(*n - 1)).exists();
                    (name.clone(), if emptied { *n - 1 } else { *n })
                })
                .collect();
            Checkpoint {
                run_key: c.new_key.clone(),
                complete: false,
                parts,
                ..saved
            }
            .save(&path)?;
            Ok(())
        }
    }
}

/// A row of a run's table: it names its run and its step.
trait RunRow: Row {
    fn run_key_mut(&mut self) -> &mut String;
    fn step(&self) -> u64;
}

macro_rules! run_rows {
    ($($row:ty),*) => {$(
        impl RunRow for $row {
            fn run_key_mut(&mut self) -> &mut String {
                &mut self.run_key
            }
            fn step(&self) -> u64 {
                self.step
            }
        }
    )*};
}

run_rows!(
    SnapshotRow,
    MetricRow,
    WeightRow,
    TraceRow,
    DensityRow,
    PreconditionedRow
);

/// Stage 2 for table `name` (its directory `table_dir`). A table this build does not know is
/// refused: its rows would keep the old key.
fn rekey_table(
    table_dir: &Path,
    name: &str,
    parts: u32,
    c: &Continuation,
) -> Result<(), WorkerError> {
    match name {
        n if n == SnapshotRow::TABLE => rekey_parts::<SnapshotRow>(table_dir, parts, c, false),
        n if n == MetricRow::TABLE => rekey_parts::<MetricRow>(table_dir, parts, c, true),
        n if n == WeightRow::TABLE => rekey_parts::<WeightRow>(table_dir, parts, c, true),
        n if n == TraceRow::TABLE => rekey_parts::<TraceRow>(table_dir, parts, c, false),
        n if n == DensityRow::TABLE => rekey_parts::<DensityRow>(table_dir, parts, c, false),
        n if n == PreconditionedRow::TABLE => {
            rekey_parts::<PreconditionedRow>(table_dir, parts, c, false)
        }
        other => Err(WorkerError::InvalidPlan(format!(
            "the checkpoint in {} lists table `{other}`, which this build cannot continue",
            table_dir.parent().unwrap_or(table_dir).display()
        ))),
    }
}

/// Rewrites parts `0..parts` of one table under the new key, without the rows of the last
/// step where `drop_last_step`; a part left with no rows is removed (only the last part can
/// be: the last step's rows were written with the final checkpoint).
fn rekey_parts<R: RunRow>(
    table_dir: &Path,
    parts: u32,
    c: &Continuation,
    drop_last_step: bool,
) -> Result<(), WorkerError> {
    for index in 0..parts {
        let last = index + 1 == parts;
        let path = table_dir.join(part_file_name(index));
        if !path.exists() {
            if last && drop_last_step {
                // Emptied and removed by an earlier, interrupted pass.
                continue;
            }
            return Err(WorkerError::InvalidPlan(format!(
                "{} is missing, although the run's checkpoint counts it",
                path.display()
            )));
        }
        let rows: Vec<R> = read_table(&path)?;
        let mut changed = false;
        let mut kept = Vec::with_capacity(rows.len());
        for mut row in rows {
            let key = row.run_key_mut();
            if *key == c.old_key {
                key.clone_from(&c.new_key);
                changed = true;
            } else if *key != c.new_key {
                return Err(WorkerError::InvalidPlan(format!(
                    "{} holds rows of run {key}, neither {} nor {}",
                    path.display(),
                    c.old_key,
                    c.new_key
                )));
            }
            if drop_last_step && row.step() == c.old_steps {
                changed = true;
                continue;
            }
            kept.push(row);
        }
        match (kept.is_empty(), last) {
            (true, true) => {
                fs::remove_file(&path).map_err(marker_io("removing", &path))?;
                sync_dir(table_dir)?;
            }
            (true, false) => {
                return Err(WorkerError::InvalidPlan(format!(
                    "{} holds only rows of the last step, but is not the table's last part",
                    path.display()
                )))
            }
            (false, _) if changed => write_table_atomically(&path, &kept)?,
            (false, _) => {}
        }
    }
    Ok(())
}

/// Makes a removal in `dir` durable.
fn sync_dir(dir: &Path) -> Result<(), WorkerError> {
    fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(marker_io("syncing directory", dir))
}

#[cfg(test)]
#[path = "extension_tests.rs"]
mod tests;
