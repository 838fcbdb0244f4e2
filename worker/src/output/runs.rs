//! The `runs` table (`OUT/runs.parquet`): one row per run and baseline task of a sweep.

use std::path::Path;

use arrow_array::{ArrayRef, RecordBatch};

use super::schema::{
    bools_opt, col_bool_opt, col_f64_opt, col_timestamp_opt, col_u32_opt, col_u64_opt, col_utf8,
    col_utf8_opt, f64_opt, int64_opt, timestamps_opt, utf8, utf8_opt, ColumnSpec, ColumnType as T,
    TableRow,
};
use super::state::TaskStatus;
use super::{read_table, OutputError};

/// The state of one run or baseline task.
#[derive(Debug, Clone, PartialEq)]
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
}

const COLUMNS: &[ColumnSpec] = &[
    ColumnSpec::required("key", T::Utf8, "Key of the run or baseline task: hash of its fully resolved configuration; its output rows carry it as run_key / task_key."),
    ColumnSpec::required("kind", T::Utf8, "\"run\" (a training run) or \"baseline\" (random-initialisation networks of one dataset)."),
    ColumnSpec::required("dataset", T::Utf8, "Dataset name, as in the `dataset` hive partition."),
    ColumnSpec::optional("optimizer", T::Utf8, "Optimiser name from the sweep file, as in the `optimizer` hive partition; null for baseline tasks."),
    ColumnSpec::optional("seed", T::Int64, "Seed of the run (initial weights, data order and eigensolver starts derive from it); null for baseline tasks, which are named by `network`."),
    ColumnSpec::optional("network", T::Int64, "Number of a baseline task's random-initialisation network within its dataset's baseline, from 0 (the `network` column of the baseline table); null for runs."),
    ColumnSpec::required("config_json", T::Utf8, "The fully resolved configuration of the task as JSON; `key` is its hash."),
    ColumnSpec::required("status", T::Utf8, "pending, running, done, failed or diverged (non-finite loss)."),
    ColumnSpec::optional("error", T::Utf8, "Error message of a failed task, or the divergence report of a diverged one; null otherwise."),
    ColumnSpec::optional("host", T::Utf8, "Host name of the machine that ran the task; null until it starts."),
    ColumnSpec::optional("rank", T::Int64, "MPI rank (in MPI_COMM_WORLD) that last worked on the task; null when the sweep ran without MPI."),
    ColumnSpec::added("device", T::Utf8, "Device the task's last attempt computed on: `cpu`, or `cuda:N (GPU name)`; null until it starts. GPU and CPU results agree to f32 tolerance, not bit for bit."),
    ColumnSpec::optional("start_time", T::TimestampMsUtc, "When the task (last) started, UTC, millisecond precision; null until it starts."),
    ColumnSpec::optional("end_time", T::TimestampMsUtc, "When the task finished, failed or diverged, UTC, millisecond precision; null until then."),
    ColumnSpec::optional("steps_total", T::Int64, "Training steps of the run; null for baseline tasks."),
    ColumnSpec::optional("snapshots_total", T::Int64, "Eigen-snapshots the task takes in all (a baseline task: 1)."),
    ColumnSpec::optional("steps_done", T::Int64, "Training steps completed, updated while the run trains and at every checkpoint; null while unknown (never started, or a baseline task)."),
    ColumnSpec::optional("snapshots_done", T::Int64, "Eigen-snapshots completed, updated like steps_done; null while unknown."),
    ColumnSpec::optional("wall_seconds", T::Float64, "Wall-clock seconds spent on the task, summed over resumed attempts; null until an attempt ends."),
    ColumnSpec::optional("checkpoint_time", T::TimestampMsUtc, "When the task last wrote a checkpoint (the point a relaunch resumes from), UTC; null before the first one."),
    ColumnSpec::optional("updated_time", T::TimestampMsUtc, "When the launch owning the task last changed this row (status or progress), UTC; a `running` row that stops changing has probably lost its owner (see `eigensweep status`)."),
    ColumnSpec::added("in_sweep", T::Boolean, "Whether the sweep file of the latest launch on this output lists the task: false for a task of an earlier sweep file, whose row and outputs are kept (analyze, report and status still count them); null in tables written before this column (listed)."),
];

impl TableRow for RunRecord {
    const TABLE: &'static str = "runs";
    const DESCRIPTION: &'static str =
        "One row per training run and baseline task of the sweep: configuration, status and progress.";

    fn columns() -> &'static [ColumnSpec] {
        COLUMNS
    }

    fn to_arrays(rows: &[Self]) -> Result<Vec<ArrayRef>, String> {
        Ok(vec![
            utf8(rows.iter().map(|r| r.key.as_str())),
            utf8(rows.iter().map(|r| r.kind.as_str())),
            utf8(rows.iter().map(|r| r.dataset.as_str())),
            utf8_opt(rows.iter().map(|r| r.optimizer.as_deref())),
            int64_opt("seed", rows.iter().map(|r| r.seed))?,
            int64_opt("network", rows.iter().map(|r| r.network))?,
            utf8(rows.iter().map(|r| r.config_json.as_str())),
            utf8(rows.iter().map(|r| r.status.as_str())),
            utf8_opt(rows.iter().map(|r| r.error.as_deref())),
            utf8_opt(rows.iter().map(|r| r.host.as_deref())),
            int64_opt("rank", rows.iter().map(|r| r.rank))?,
            utf8_opt(rows.iter().map(|r| r.device.as_deref())),
            timestamps_opt(rows.iter().map(|r| r.start_time)),
            timestamps_opt(rows.iter().map(|r| r.end_time)),
            int64_opt("steps_total", rows.iter().map(|r| r.steps_total))?,
            int64_opt("snapshots_total", rows.iter().map(|r| r.snapshots_total))?,
            int64_opt("steps_done", rows.iter().map(|r| r.steps_done))?,
            int64_opt("snapshots_done", rows.iter().map(|r| r.snapshots_done))?,
            f64_opt(rows.iter().map(|r| r.wall_seconds)),
            timestamps_opt(rows.iter().map(|r| r.checkpoint_time)),
            timestamps_opt(rows.iter().map(|r| r.updated_time)),
            bools_opt(rows.iter().map(|r| r.in_sweep)),
        ])
    }

    fn from_batch(batch: &RecordBatch) -> Result<Vec<Self>, String> {
        let key = col_utf8(batch, "key")?;
        let kind = col_utf8(batch, "kind")?;
        let dataset = col_utf8(batch, "dataset")?;
        let optimizer = col_utf8_opt(batch, "optimizer")?;
        let seed = col_u64_opt(batch, "seed")?;
        let network = col_u64_opt(batch, "network")?;
        let config_json = col_utf8(batch, "config_json")?;
        let status = col_utf8(batch, "status")?;
        let error = col_utf8_opt(batch, "error")?;
        let host = col_utf8_opt(batch, "host")?;
        let rank = col_u32_opt(batch, "rank")?;
        // Added in format 2 without a version bump: older tables have no such column.
        let device = if batch.schema().column_with_name("device").is_some() {
            col_utf8_opt(batch, "device")?
        } else {
            vec![None; batch.num_rows()]
        };
        let start_time = col_timestamp_opt(batch, "start_time")?;
        let end_time = col_timestamp_opt(batch, "end_time")?;
        let steps_total = col_u64_opt(batch, "steps_total")?;
        let snapshots_total = col_u64_opt(batch, "snapshots_total")?;
        let steps_done = col_u64_opt(batch, "steps_done")?;
        let snapshots_done = col_u64_opt(batch, "snapshots_done")?;
        let wall_seconds = col_f64_opt(batch, "wall_seconds")?;
        let checkpoint_time = col_timestamp_opt(batch, "checkpoint_time")?;
        let updated_time = col_timestamp_opt(batch, "updated_time")?;
        // Added without a version bump: older tables have no such column.
        let in_sweep = if batch.schema().column_with_name("in_sweep").is_some() {
            col_bool_opt(batch, "in_sweep")?
        } else {
            vec![None; batch.num_rows()]
        };
        let mut kind = kind.into_iter();
        let mut dataset = dataset.into_iter();
        let mut optimizer = optimizer.into_iter();
        let mut config_json = config_json.into_iter();
        let mut status = status.into_iter();
        let mut error = error.into_iter();
        let mut host = host.into_iter();
        let mut device = device.into_iter();
        Ok(key
            .into_iter()
            .enumerate()
            .map(|(i, key)| RunRecord {
                key,
                kind: kind.next().unwrap_or_default(),
                dataset: dataset.next().unwrap_or_default(),
                optimizer: optimizer.next().flatten(),
                seed: seed[i],
                network: network[i],
                config_json: config_json.next().unwrap_or_default(),
                status: status.next().unwrap_or_default(),
                error: error.next().flatten(),
                host: host.next().flatten(),
                rank: rank[i],
                device: device.next().flatten(),
                start_time: start_time[i],
                end_time: end_time[i],
                steps_total: steps_total[i],
                snapshots_total: snapshots_total[i],
                steps_done: steps_done[i],
                snapshots_done: snapshots_done[i],
                wall_seconds: wall_seconds[i],
                checkpoint_time: checkpoint_time[i],
                updated_time: updated_time[i],
                in_sweep: in_sweep[i],
            })
            .collect())
    }
}

/// Reads `OUT/runs.parquet` (the path of the file itself).
pub fn read_run_records(path: &Path) -> Result<Vec<RunRecord>, OutputError> {
    read_table(path)
}
