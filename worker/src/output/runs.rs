//! The `runs` table (`OUT/runs.parquet`): one row per run and baseline task of a sweep.

use std::path::Path;

use eigensweep_common::provenance::{Build, Provenance};

use super::read_table;
use super::task_status::TaskStatus;
use crate::WorkerError;

/// The state of one run or baseline task. Its columns, with their descriptions, are declared
/// below the struct: the provenance fields sit in a nested [`RunProvenance`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunRecord {
    /// The task's key (hash of its resolved configuration).
    pub key: String,
    /// "run" or "baseline".
    pub kind: String,
    /// Dataset name.
    pub dataset: String,
    /// Optimiser name; `None` for baseline tasks.
    pub optimizer: Option<String>,
    /// Seed of a run; `None` for a baseline task (see `network`).
    pub seed: Option<u64>,
    /// Number of a baseline task's network within its dataset's baseline, from 0 (its seed
    /// derives from it); `None` for a run.
    pub network: Option<u64>,
    /// Resolved configuration as JSON.
    pub config_json: String,
    /// pending, running, done, failed or diverged: a [`TaskStatus`]'s text (see
    /// [`RunRecord::task_status`]).
    pub status: String,
    /// Error text of a failed or diverged task.
    pub error: Option<String>,
    /// Host that ran it.
    pub host: Option<String>,
    /// MPI rank that ran it (`None` without MPI).
    pub rank: Option<u32>,
    /// Device of the last attempt: `cpu` or `cuda:N (GPU name)`; `None` until it starts (and
    /// in outputs written before this column existed).
    pub device: Option<String>,
    /// Start time, Unix milliseconds (UTC).
    pub start_time: Option<i64>,
    /// End time, Unix milliseconds (UTC).
    pub end_time: Option<i64>,
    /// Training steps the run has (`None` for baseline tasks).
    pub steps_total: Option<u64>,
    /// Eigen-snapshots the task takes in all.
    pub snapshots_total: Option<u64>,
    /// Training steps completed as far as known (`None`: not known yet).
    pub steps_done: Option<u64>,
    /// Snapshots completed as far as known (`None`: not known yet).
    pub snapshots_done: Option<u64>,
    /// Wall-clock seconds spent, summed over attempts (`None`: never ran).
    pub wall_seconds: Option<f64>,
    /// When the task last wrote a checkpoint, Unix milliseconds (UTC).
    pub checkpoint_time: Option<i64>,
    /// When the launch that owns the task last changed this row (status or progress), Unix
    /// milliseconds (UTC): a running task whose row stops changing has probably lost its owner.
    pub updated_time: Option<i64>,
    /// Whether the sweep file of the latest launch lists the task: `Some(false)` for a task
    /// of an earlier sweep file whose row is kept (its outputs stay on disk and are analysed);
    /// `None` in tables written before this column existed (read as listed).
    pub in_sweep: Option<bool>,
    /// Which build on which CPU ran the last attempt (its device and host are `device` and
    /// `host`), and who ran earlier attempts when that changed.
    pub provenance: RunProvenance,
}

/// The build and CPU of a task's last attempt, and the attempts before it that another build
/// or device ran: the runs table's provenance columns (all null until the task starts, and in
/// tables written before they existed).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunProvenance {
    /// eigensweep version of the last attempt's binary.
    pub eigensweep_version: Option<String>,
    /// Git commit of that binary (40 hex digits, `+dirty`, or `unknown`).
    pub git_commit: Option<String>,
    /// Cargo features of that binary (`mpi,cuda`, `mpi`, `cuda` or `none`).
    pub build_features: Option<String>,
    /// CPU model of the machine of the last attempt.
    pub cpu: Option<String>,
    /// One line per change of build, device or machine between attempts
    /// (`before step S: eigensweep … on … , host …`: who ran the steps before S); `None`
    /// when every attempt ran with the same.
    pub earlier: Option<String>,
}

impl RunProvenance {
    /// The provenance of an attempt by `p` with no earlier history.
    pub fn of(p: &Provenance) -> Self {
        Self {
            eigensweep_version: Some(p.build.version.clone()),
            git_commit: Some(p.build.git_commit.clone()),
            build_features: Some(p.build.features.clone()),
            cpu: Some(p.cpu.clone()),
            earlier: None,
        }
    }
}

impl RunRecord {
    /// The task's status as a type; `None` for a string this build does not know.
    pub fn task_status(&self) -> Option<TaskStatus> {
        TaskStatus::parse(&self.status)
    }

    /// Whether the row says the task finished for good (done or diverged).
    pub fn is_finished(&self) -> bool {
        self.task_status().is_some_and(TaskStatus::is_finished)
    }

    /// Whether the latest launch's sweep file lists the task (true for older tables).
    pub fn listed(&self) -> bool {
        self.in_sweep != Some(false)
    }

    /// Who ran the task's last attempt; `None` before it starts and in tables written
    /// before the provenance columns.
    pub fn last_attempt(&self) -> Option<Provenance> {
        let p = &self.provenance;
        let unknown = || eigensweep_common::provenance::UNKNOWN.to_string();
        Some(Provenance {
            build: Build {
                version: p.eigensweep_version.clone()?,
                git_commit: p.git_commit.clone().unwrap_or_else(unknown),
                features: p.build_features.clone().unwrap_or_else(unknown),
            },
            device: self.device.clone().unwrap_or_else(unknown),
            cpu: p.cpu.clone().unwrap_or_else(unknown),
            host: self.host.clone().unwrap_or_else(unknown),
        })
    }

    /// Records that `now` runs the task's next attempt: its build and CPU replace the last
    /// attempt's (the caller sets `host` and `device`). When the task has progress (steps,
    /// snapshots or a checkpoint) that another build, device or machine made, a line naming
    /// that one is added to `provenance.earlier` and returned, for the log.
    pub fn start_attempt(&mut self, now: &Provenance) -> Option<String> {
        let progressed = self.steps_done.is_some_and(|s| s > 0)
            || self.snapshots_done.is_some_and(|s| s > 0)
            || self.checkpoint_time.is_some();
        let note = match self.last_attempt() {
            Some(before) if progressed && !now.changes_since(&before).is_empty() => {
                let line = match self.steps_done {
                    Some(step) => format!("before step {step}: {before}"),
                    None => format!("earlier attempt: {before}"),
                };
                self.provenance.earlier = Some(match self.provenance.earlier.take() {
                    Some(lines) => format!("{lines}\n{line}"),
                    None => line,
                });
                Some(format!(
                    "resumed by another build or machine ({}); {}",
                    now.changes_since(&before).join(", "),
                    self.provenance
                        .earlier
                        .as_deref()
                        .unwrap_or_default()
                        .replace('\n', "; ")
                ))
            }
            _ => None,
        };
        let earlier = self.provenance.earlier.take();
        self.provenance = RunProvenance {
            earlier,
            ..RunProvenance::of(now)
        };
        note
    }
}

crate::table! {
    impl RunRecord;
    table = "runs",
    description = "One row per training run and baseline task of the sweep: configuration, status and progress.",
    {
        key: String = Utf8 "Key of the run or baseline task: hash of its fully resolved configuration; its output rows carry it as run_key / task_key.",
        kind: String = Utf8 "\"run\" (a training run) or \"baseline\" (random-initialisation networks of one dataset).",
        dataset: String = Utf8 "Dataset name, as in the `dataset` hive partition.",
        optimizer: Option<String> = Utf8 "Optimiser name from the sweep file, as in the `optimizer` hive partition; null for baseline tasks.",
        seed: Option<u64> = Int64 "Seed of the run (initial weights, data order and eigensolver starts derive from it); null for baseline tasks, which are named by `network`.",
        network: Option<u64> = Int64 "Number of a baseline task's random-initialisation network within its dataset's baseline, from 0 (the `network` column of the baseline table); null for runs.",
        config_json: String = Utf8 "The fully resolved configuration of the task as JSON; `key` is its hash.",
        status: String = Utf8 "pending, running, done, failed or diverged (non-finite loss).",
        error: Option<String> = Utf8 "Error message of a failed task, or the divergence report of a diverged one; null otherwise.",
        host: Option<String> = Utf8 "Host name of the machine that ran the task; null until it starts.",
        rank: Option<u32> = Int64 "MPI rank (in MPI_COMM_WORLD) that last worked on the task; null when the sweep ran without MPI.",
        device: Option<String> = [added] Utf8 "Device the task's last attempt computed on: `cpu`, or `cuda:N (GPU name)`; null until it starts. GPU and CPU results agree to f32 tolerance, not bit for bit.",
        start_time: Option<i64> = TimestampMsUtc "When the task (last) started, UTC, millisecond precision; null until it starts.",
        end_time: Option<i64> = TimestampMsUtc "When the task finished, failed or diverged, UTC, millisecond precision; null until then.",
        steps_total: Option<u64> = Int64 "Training steps of the run; null for baseline tasks.",
        snapshots_total: Option<u64> = Int64 "Eigen-snapshots the task takes in all (a baseline task: 1).",
        steps_done: Option<u64> = Int64 "Training steps completed, updated while the run trains and at every checkpoint; null while unknown (never started, or a baseline task).",
        snapshots_done: Option<u64> = Int64 "Eigen-snapshots completed, updated like steps_done; null while unknown.",
        wall_seconds: Option<f64> = Float64 "Wall-clock seconds spent on the task, summed over resumed attempts; null until an attempt ends.",
        checkpoint_time: Option<i64> = TimestampMsUtc "When the task last wrote a checkpoint (the point a relaunch resumes from), UTC; null before the first one.",
        updated_time: Option<i64> = TimestampMsUtc "When the launch owning the task last changed this row (status or progress), UTC; a `running` row that stops changing has probably lost its owner (see `eigensweep status`).",
        eigensweep_version: Option<String> = [added] Utf8 "eigensweep version of the binary that ran the task's last attempt; null until it starts (and in tables written before this column)."
            => provenance.eigensweep_version,
        git_commit: Option<String> = [added] Utf8 "Git commit that binary was built from: 40 hex digits, with `+dirty` when its sources differed from the commit, or `unknown` (built outside a git checkout)."
            => provenance.git_commit,
        build_features: Option<String> = [added] Utf8 "Cargo features of that binary: `mpi`, `cuda`, `mpi,cuda` or `none`."
            => provenance.build_features,
        cpu: Option<String> = [added] Utf8 "CPU model of the machine of the last attempt, as /proc/cpuinfo names it (`device` names the GPU of a GPU run, `host` the machine)."
            => provenance.cpu,
        earlier_provenance: Option<String> = [added] Utf8 "Who ran the steps of earlier attempts when a later attempt ran on another build, device or machine: one line per change, `before step S: eigensweep VERSION (commit C, features F) on DEVICE …, host H`; null when every attempt ran alike."
            => provenance.earlier,
        in_sweep: Option<bool> = [added] Boolean "Whether the sweep file of the latest launch on this output lists the task: false for a task of an earlier sweep file, whose row and outputs are kept (analyze, report and status still count them); null in tables written before this column (listed).",
    }
}

/// Reads `OUT/runs.parquet` (the path of the file itself).
pub fn read_run_records(path: &Path) -> Result<Vec<RunRecord>, WorkerError> {
    read_table(path)
}
