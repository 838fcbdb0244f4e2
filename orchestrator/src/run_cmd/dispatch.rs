//! What worker threads and whoever hands out the work say to each other: the [`Dispatch`]
//! trait and its messages, [`RecordUpdate`] and [`TaskOutcome`].
//!
//! Worker threads see only [`Dispatch`]: ask for the next task, record a status change,
//! report how a task ended. Each worker's dispatch is a channel to its process's main thread
//! (`coordinator.rs`); under MPI the main threads of the other ranks pass the messages on to
//! rank 0 (`fleet.rs`), which keeps the only ledger (`ledger.rs`). A closure cannot cross MPI,
//! so every message is data.

use eigensweep_common::provenance::Provenance;
use eigensweep_worker::output::{RunRecord, TaskStatus};
use serde::{Deserialize, Serialize};

use crate::failure::Failure;

/// A change to one row of the runs table (a closure cannot cross MPI, so the change is data).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(super) struct RecordUpdate {
    #[serde(with = "super::status_serde::option")]
    pub status: Option<TaskStatus>,
    pub error: Option<String>,
    pub host: Option<String>,
    pub rank: Option<u32>,
    /// `cpu` or `cuda:N (name)`: where the task's attempt computes.
    pub device: Option<String>,
    /// Sets the start time unless the row already has one (the first attempt's start).
    pub start_time_if_unset: Option<i64>,
    pub end_time: Option<i64>,
    pub steps_done: Option<u64>,
    pub snapshots_done: Option<u64>,
    pub wall_seconds: Option<f64>,
    /// Adds to the recorded wall-clock seconds.
    pub add_wall_seconds: Option<f64>,
    /// When the task last wrote a checkpoint (Unix ms).
    pub checkpoint_time: Option<i64>,
    /// Who runs the attempt that starts now (set with `status: running`).
    pub provenance: Option<Provenance>,
}

impl RecordUpdate {
    /// Applies the update to `r`; returns a note for the log when the attempt that starts
    /// runs on another build, device or machine than the progress it resumes
    /// ([`RunRecord::start_attempt`]).
    pub(super) fn apply(&self, r: &mut RunRecord) -> Option<String> {
        // Before host and device change: the earlier attempt's are part of its provenance.
        let mut note = None;
        if let Some(p) = &self.provenance {
            note = r.start_attempt(p);
        }
        if let Some(s) = &self.status {
            r.status = s.as_str().into();
        }
        if self.error.is_some() {
            r.error = self.error.clone();
        }
        if self.host.is_some() {
            r.host = self.host.clone();
            // A task that moves to another process records where it ran last.
            r.rank = self.rank;
        }
        if self.device.is_some() {
            r.device = self.device.clone();
        }
        if let Some(t) = self.start_time_if_unset {
            r.start_time.get_or_insert(t);
        }
        if self.end_time.is_some() {
            r.end_time = self.end_time;
        }
        if self.steps_done.is_some() {
            r.steps_done = self.steps_done;
        }
        if self.snapshots_done.is_some() {
            r.snapshots_done = self.snapshots_done;
        }
        if self.wall_seconds.is_some() {
            r.wall_seconds = self.wall_seconds;
        }
        if let Some(s) = self.add_wall_seconds {
            r.wall_seconds = Some(r.wall_seconds.unwrap_or(0.0) + s);
        }
        if self.checkpoint_time.is_some() {
            r.checkpoint_time = self.checkpoint_time;
        }
        note
    }
}

/// How a task ended (a failure of the task itself is an outcome, not an error).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(super) struct TaskOutcome {
    /// `label: what went wrong` for a failed or diverged task.
    pub problem: Option<String>,
    /// The run's line in the end-of-sweep summary (runs that worked in this launch).
    pub summary: Option<String>,
    /// Seconds in training, eigen-solves, evaluation and writing.
    pub stages: [f64; 4],
    /// Whether the task did any work in this launch (false: finished before).
    pub worked: bool,
    /// done, diverged, failed or pending (stopped by a signal).
    #[serde(with = "super::status_serde")]
    pub status: TaskStatus,
    /// Wall-clock seconds of this attempt.
    pub seconds: f64,
    /// What the progress log says instead of the status, e.g. `checkpointed at step 1200`
    /// for a run stopped by a signal.
    pub note: Option<String>,
}

/// What worker threads ask of whoever hands out the work.
pub(super) trait Dispatch: Sync {
    /// The next task to execute (an index into the launch's task list); `None`: no more.
    fn next(&self) -> Option<usize>;
    /// Applies a status change to the task's row of the runs table.
    fn record(&self, key: &str, update: RecordUpdate) -> Result<(), Failure>;
    /// Reports how task `index` ended; `Err` stops the sweep.
    fn finished(&self, index: usize, outcome: Result<TaskOutcome, Failure>);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn updates_set_what_they_carry_and_keep_the_rest() {
        let mut r = RunRecord {
            key: "k".into(),
            kind: "run".into(),
            dataset: "d".into(),
            optimizer: None,
            seed: Some(0),
            network: None,
            config_json: "{}".into(),
            status: TaskStatus::Pending.as_str().into(),
            error: None,
            host: None,
            rank: None,
            device: None,
            start_time: Some(5),
            end_time: None,
            steps_total: Some(10),
            snapshots_total: Some(2),
            steps_done: None,
            snapshots_done: None,
            wall_seconds: Some(1.0),
            checkpoint_time: None,
            updated_time: None,
            in_sweep: None,
            provenance: Default::default(),
        };
        RecordUpdate {
            status: Some(TaskStatus::Running),
            host: Some("n1".into()),
            rank: Some(3),
            start_time_if_unset: Some(9),
            add_wall_seconds: Some(2.0),
            ..RecordUpdate::default()
        }
        .apply(&mut r);
        assert_eq!(r.status, "running");
        assert_eq!((r.host.as_deref(), r.rank), (Some("n1"), Some(3)));
        assert_eq!(r.start_time, Some(5), "the first attempt's start stays");
        assert_eq!(r.wall_seconds, Some(3.0));
        // Round trip through the wire format.
        let u: RecordUpdate = serde_json::from_str(
            &serde_json::to_string(&RecordUpdate {
                steps_done: Some(7),
                ..RecordUpdate::default()
            })
            .unwrap(),
        )
        .unwrap();
        u.apply(&mut r);
        assert_eq!((r.steps_done, r.status.as_str()), (Some(7), "running"));
    }
}
