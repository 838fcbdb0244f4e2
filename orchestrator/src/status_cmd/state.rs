//! The state of a sweep as its files tell it: the tasks of `OUT/sweep.yaml`, their rows in
//! every runs table (`runs.parquet`, `runs-shard-I-of-K.parquet`), whether the launch owning
//! each table still holds its lock, and an ETA. Reads files only (no dataset is loaded,
//! nothing is written), so it works while a launch runs, from another node, or on a copy.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use eigensweep_common::provenance::Provenance;
use eigensweep_common::sweep::{
    DataShape, DataSource, RecordedConfig, ResolvedDataset, ValidatedSweep, DEFAULT_SYNTHETIC_TRAIN,
};
use eigensweep_worker::output::paths::RUNS_DIR;
use eigensweep_worker::output::{
    baseline_dir, ChosenRow, RunDirState, RunRecord, RunsTables, TaskStatus,
};
use eigensweep_worker::run::baseline_done;
use serde::Serialize;

use crate::output_lock::{self, Holder, SWEEP_LOCK};

/// A `running` row not changed for this long, while its launch holds the lock, is flagged as
/// probably stalled (launches refresh running rows at least every minute).
pub(crate) const STALL_AFTER_MS: i64 = 10 * 60 * 1000;

/// Task counts by status.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Counts {
    pub tasks: usize,
    pub done: usize,
    pub running: usize,
    pub pending: usize,
    pub failed: usize,
    pub diverged: usize,
    /// `running` tasks whose owner is gone or stopped updating them (among `running`).
    pub probably_dead: usize,
    /// Tasks the runs tables keep that the sweep file does not list (not among `tasks`).
    pub outside: usize,
}

/// One run or baseline network.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct TaskState {
    pub key: String,
    /// `run` or `baseline`.
    pub kind: String,
    /// `dataset/optimizer/seed` or `baseline dataset/network`.
    pub label: String,
    /// pending, running, done, failed or diverged (pending when no table lists it yet).
    pub status: String,
    pub steps_done: Option<u64>,
    pub steps_total: Option<u64>,
    pub snapshots_done: Option<u64>,
    pub snapshots_total: Option<u64>,
    pub host: Option<String>,
    pub rank: Option<u32>,
    /// `cpu` or `cuda:N (GPU name)` of its last attempt.
    pub device: Option<String>,
    /// Unix milliseconds.
    pub start_time_ms: Option<i64>,
    /// When its row last changed, Unix milliseconds.
    pub updated_time_ms: Option<i64>,
    /// Wall-clock seconds spent on it so far (summed over attempts that ended).
    pub wall_seconds: Option<f64>,
    pub error: Option<String>,
    /// The runs table its row comes from (file name), if any lists it.
    pub table: Option<String>,
    /// A `running` task whose launch is gone (no lock holder) or stopped updating it.
    pub probably_dead: bool,
    /// Why it is flagged.
    pub dead_reason: Option<String>,
    /// Whether the sweep file lists it (false: a task of an earlier sweep file whose row and
    /// outputs are kept; see `in_sweep` in runs.parquet).
    pub in_sweep: bool,
    /// Relative cost estimate (the dispatch's: products × samples × parameters + training).
    #[serde(skip)]
    pub cost: f64,
    /// Who ran its last attempt (build, device, CPU, host); none before it starts and in
    /// tables written before the provenance columns.
    pub provenance: Option<Provenance>,
    /// Who ran its earlier attempts, when a later one ran on another build, device or
    /// machine (the runs table's `earlier_provenance`).
    pub earlier_provenance: Option<String>,
}

impl TaskState {
    /// Its status as a type; `None` for a text this build does not know.
    pub fn task_status(&self) -> Option<TaskStatus> {
        TaskStatus::parse(&self.status)
    }
}

/// A launch holding (part of) the output now.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Launch {
    /// The lock file it holds.
    pub lock: String,
    /// Who it is, as it wrote it (absent while it starts).
    pub holder: Option<Holder>,
}

/// Everything `eigensweep status` reports.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct SweepStatus {
    pub output: PathBuf,
    pub sweep: String,
    /// Every task is done.
    pub complete: bool,
    /// When this was read, Unix milliseconds.
    pub now_ms: i64,
    pub counts: Counts,
    /// Seconds until the running launches finish their remaining tasks, if it can be told.
    pub eta_seconds: Option<f64>,
    /// How the ETA was obtained, or why there is none.
    pub eta_basis: String,
    /// Launches holding the output's locks now.
    pub launches: Vec<Launch>,
    /// Whether lock holders could be probed (not on filesystems without locks).
    pub locks_probed: bool,
    /// Runs tables that could not be read, with what was done instead.
    pub warnings: Vec<String>,
    pub tasks: Vec<TaskState>,
}

/// Training samples a dataset has, from the sweep alone (no dataset is loaded): the cost
/// estimate only weighs tasks against each other.
fn nominal_train_size(d: &ResolvedDataset) -> usize {
    d.train_size.unwrap_or(match d.source {
        DataSource::Synthetic { .. } => DEFAULT_SYNTHETIC_TRAIN,
        _ => 60_000,
    })
}

fn samples(d: &ResolvedDataset, hessian: Option<usize>) -> f64 {
    let n = nominal_train_size(d);
    hessian.unwrap_or(n).min(n).max(1) as f64
}

/// The lock that the launch writing `table` (a runs table's file name) holds.
fn owner_lock(table: &str) -> Option<String> {
    if table == "runs.parquet" {
        return Some(SWEEP_LOCK.to_string());
    }
    let rest = table
        .strip_prefix("runs-shard-")?
        .strip_suffix(".parquet")?;
    let (i, k) = rest.split_once("-of-")?;
    Some(output_lock::shard_lock_name(
        i.parse().ok()?,
        k.parse().ok()?,
    ))
}

/// The runs tables present in `out`, by file name.
fn runs_tables(out: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(out) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| owner_lock(n).is_some())
        .collect();
    names.sort();
    names
}

/// Whether the lock file `name` of `out` is held now: `Some(false)` when there is no such
/// file, `None` when the filesystem cannot tell.
fn lock_held(out: &Path, name: &str) -> Option<bool> {
    let path = out.join(name);
    if !path.exists() {
        return Some(false);
    }
    output_lock::is_held(&path)
}

/// What the launches recorded of each dataset in the runs tables' `config_json`, by dataset
/// name: the data digest (`data_digest`; keys of directory datasets are computed from it) and
/// the input width and classes (first and last of the network's `widths`; N for the ETA), so
/// that `status` loads no data to compute them anew.
pub(crate) fn recorded_data(out: &Path) -> BTreeMap<String, RecordedData> {
    let mut recorded: BTreeMap<String, RecordedData> = BTreeMap::new();
    for (_, records) in RunsTables::read(out).tables {
        for config in records
            .iter()
            .filter_map(|r| RecordedConfig::parse(&r.config_json))
        {
            let shape = config.shape();
            let entry = recorded.entry(config.dataset).or_default();
            entry.digest = config.data_digest.or(entry.digest.take());
            entry.shape = shape.or(entry.shape);
        }
    }
    recorded
}

/// What the runs tables say of one dataset (see [`recorded_data`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct RecordedData {
    /// Its files' digest, for directory datasets.
    pub digest: Option<String>,
    /// Its input width and classes, where a launch recorded the network's widths.
    pub shape: Option<DataShape>,
}

/// Reads the state of the sweep in `out` (whose resolved sweep is `sweep`) at time `now_ms`.
pub(crate) fn read_status(out: &Path, sweep: &ValidatedSweep, now_ms: i64) -> SweepStatus {
    let tables = runs_tables(out);
    let mut held: BTreeMap<String, Option<bool>> = BTreeMap::new();
    for t in &tables {
        let lock = owner_lock(t).expect("listed tables have an owner");
        let state = lock_held(out, &lock);
        held.insert(t.clone(), state);
    }
    let runs_tables = RunsTables::read(out);
    let warnings = runs_tables.warnings();
    // key → (row, table, its launch holds the lock), by the one rule of `RunsTables::best`.
    let rows: BTreeMap<String, (RunRecord, String, Option<bool>)> = runs_tables
        .best()
        .into_iter()
        .map(|(key, ChosenRow { record, table })| {
            let name = table
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let alive = held.get(&name).copied().flatten();
            (key, (record, name, alive))
        })
        .collect();

    let mut tasks = Vec::new();
    for spec in sweep.runs() {
        let label = format!(
            "{}/{}/{}",
            spec.dataset.name, spec.optimizer.name, spec.seed
        );
        let snapshots = spec
            .snapshot_steps
            .iter()
            .filter(|&&s| s <= spec.steps)
            .count() as u64;
        let cost = crate::run_cmd::run_cost(&spec, samples(&spec.dataset, spec.hessian_samples));
        let mut state = task_state(
            spec.key.clone(),
            "run",
            label,
            (Some(spec.steps), snapshots),
            cost,
            rows.get(&spec.key),
            now_ms,
        );
        let dir = out.join(RUNS_DIR).join(spec.partition());
        apply_markers(&mut state, RunDirState::read(&dir));
        tasks.push(state);
    }
    for t in sweep.baseline_tasks() {
        let label = format!("baseline {}/{}", t.dataset.name, t.network);
        let cost = crate::run_cmd::baseline_cost(&t, samples(&t.dataset, t.hessian_samples));
        let mut state = task_state(
            t.key.clone(),
            "baseline",
            label,
            (None, 1),
            cost,
            rows.get(&t.key),
            now_ms,
        );
        let measured = baseline_dir(out, &t.dataset.name)
            .is_ok_and(|dir| baseline_done(&dir, t.network as u32));
        if measured {
            // As a run's `_SUCCESS` (see `apply_markers`): the measured network is the truth.
            if state.status != TaskStatus::Done.as_str() {
                state.status = TaskStatus::Done.as_str().into();
                state.probably_dead = false;
                state.dead_reason = None;
                state.error = None;
            }
            state.snapshots_done = state.snapshots_total.or(state.snapshots_done);
        }
        tasks.push(state);
    }

    // Tasks of an earlier sweep file whose rows the runs tables keep: analyze and report count
    // their outputs, so status lists them too, apart from this file's tasks.
    let listed: std::collections::BTreeSet<&str> = tasks.iter().map(|t| t.key.as_str()).collect();
    let outside: Vec<TaskState> = rows
        .iter()
        .filter(|(key, _)| !listed.contains(key.as_str()))
        .map(|(key, row)| {
            let r = &row.0;
            let label = match (&r.optimizer, r.seed, r.network) {
                (Some(o), Some(seed), _) => format!("{}/{o}/{seed}", r.dataset),
                (_, _, Some(n)) => format!("baseline {}/{n}", r.dataset),
                _ => key.clone(),
            };
            let mut state = task_state(
                key.clone(),
                &r.kind,
                label,
                (r.steps_total, r.snapshots_total.unwrap_or(0)),
                0.0,
                Some(row),
                now_ms,
            );
            state.in_sweep = false;
            state
        })
        .collect();

    let mut counts = Counts {
        tasks: tasks.len(),
        outside: outside.len(),
        ..Counts::default()
    };
    for t in &tasks {
        match t.task_status() {
            Some(TaskStatus::Done) => counts.done += 1,
            Some(TaskStatus::Running) => counts.running += 1,
            Some(TaskStatus::Failed) => counts.failed += 1,
            Some(TaskStatus::Diverged) => counts.diverged += 1,
            // Pending, and a status this build does not know.
            Some(TaskStatus::Pending) | None => counts.pending += 1,
        }
        counts.probably_dead += usize::from(t.probably_dead);
    }
    let mut launches = Vec::new();
    let mut locks_probed = true;
    let mut lock_names: Vec<String> = vec![SWEEP_LOCK.to_string()];
    lock_names.extend(
        output_lock::held_shard_locks(out)
            .iter()
            .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned())),
    );
    for name in lock_names {
        match lock_held(out, &name) {
            Some(true) => launches.push(Launch {
                holder: output_lock::read_holder(&out.join(&name)),
                lock: name,
            }),
            Some(false) => {}
            None => locks_probed = false,
        }
    }
    let (eta_seconds, eta_basis) = eta(&tasks);
    tasks.extend(outside);
    SweepStatus {
        output: out.to_path_buf(),
        sweep: sweep.resolved().name.clone(),
        complete: counts.done == counts.tasks,
        now_ms,
        counts,
        eta_seconds,
        eta_basis,
        launches,
        locks_probed,
        warnings,
        tasks,
    }
}

/// Makes a run's state what its directory's end markers prove. They are the truth: a row that
/// cannot be read, that lags (a launch killed after writing `_SUCCESS` or `_DIVERGED` but
/// before updating its row) or that a launch rebuilt from the markers (no progress recorded)
/// hides neither the status nor the progress they prove: a done run trained every step and
/// took every snapshot, a diverged run stopped at the step `_DIVERGED` holds.
fn apply_markers(state: &mut TaskState, dir: RunDirState) {
    let Some(finished) = dir.finished_status() else {
        return;
    };
    if state.status != finished.as_str() {
        state.status = finished.as_str().into();
        state.probably_dead = false;
        state.dead_reason = None;
        // The error of an earlier failed attempt is not this one's.
        state.error = None;
    }
    match dir {
        RunDirState::Done => {
            state.steps_done = state.steps_total.or(state.steps_done);
            state.snapshots_done = state.snapshots_total.or(state.snapshots_done);
        }
        RunDirState::Diverged(Some(step)) => {
            state.steps_done = Some(step);
            // The text `run` records for a divergence.
            state
                .error
                .get_or_insert_with(|| format!("non-finite loss at step {step}"));
        }
        _ => {}
    }
}

fn task_state(
    key: String,
    kind: &str,
    label: String,
    totals: (Option<u64>, u64),
    cost: f64,
    row: Option<&(RunRecord, String, Option<bool>)>,
    now_ms: i64,
) -> TaskState {
    let mut state = TaskState {
        key,
        kind: kind.into(),
        label,
        status: TaskStatus::Pending.as_str().into(),
        steps_done: None,
        steps_total: totals.0,
        snapshots_done: None,
        snapshots_total: Some(totals.1),
        host: None,
        rank: None,
        device: None,
        start_time_ms: None,
        updated_time_ms: None,
        wall_seconds: None,
        error: None,
        table: None,
        probably_dead: false,
        dead_reason: None,
        in_sweep: true,
        cost,
        provenance: None,
        earlier_provenance: None,
    };
    let Some((r, table, lock_held)) = row else {
        return state;
    };
    state.status = r.status.clone();
    state.steps_done = r.steps_done;
    state.steps_total = r.steps_total.or(state.steps_total);
    state.snapshots_done = r.snapshots_done;
    state.snapshots_total = r.snapshots_total.or(state.snapshots_total);
    state.host = r.host.clone();
    state.rank = r.rank;
    state.device = r.device.clone();
    state.start_time_ms = r.start_time;
    state.updated_time_ms = r.updated_time;
    state.wall_seconds = r.wall_seconds;
    state.error = r.error.clone();
    state.table = Some(table.clone());
    state.provenance = r.last_attempt();
    state.earlier_provenance = r.provenance.earlier.clone();
    if r.task_status() == Some(TaskStatus::Running) {
        let lock = owner_lock(table).unwrap_or_default();
        let quiet_ms = r.updated_time.map(|t| now_ms - t);
        state.dead_reason = match (lock_held, quiet_ms) {
            (Some(false), _) => Some(format!(
                "no launch holds {lock}: the launch that wrote {table} stopped without updating it"
            )),
            (_, Some(q)) if q > STALL_AFTER_MS => Some(format!(
                "its row has not changed for {} (a live launch refreshes it every minute)",
                duration_text(q as f64 / 1000.0)
            )),
            _ => None,
        };
        state.probably_dead = state.dead_reason.is_some();
    }
    state
}

/// Fraction of a task's work that is done, from its snapshots (or steps) so far.
fn progress(t: &TaskState) -> f64 {
    if matches!(
        t.task_status(),
        Some(TaskStatus::Done | TaskStatus::Diverged | TaskStatus::Failed)
    ) {
        return 1.0;
    }
    let ratio = |done: Option<u64>, total: Option<u64>| match (done, total) {
        (Some(d), Some(n)) if n > 0 => Some((d as f64 / n as f64).min(1.0)),
        _ => None,
    };
    ratio(t.snapshots_done, t.snapshots_total)
        .or_else(|| ratio(t.steps_done, t.steps_total))
        .unwrap_or(0.0)
}

/// Remaining cost over the rate at which the running tasks do work, times how many run at
/// once. The rate (cost per task-second) comes from finished tasks' wall-clock seconds and
/// running tasks' progress since they started: rough, like any ETA.
fn eta(tasks: &[TaskState]) -> (Option<f64>, String) {
    let alive = tasks
        .iter()
        .filter(|t| t.task_status() == Some(TaskStatus::Running) && !t.probably_dead)
        .count();
    if alive == 0 {
        return (None, "no task is running".into());
    }
    let (mut work, mut seconds) = (0.0, 0.0);
    for t in tasks {
        match t.task_status() {
            Some(TaskStatus::Done) => {
                if let Some(s) = t.wall_seconds.filter(|s| *s > 0.0) {
                    work += t.cost;
                    seconds += s;
                }
            }
            Some(TaskStatus::Running) if !t.probably_dead => {
                if let (Some(start), Some(updated)) = (t.start_time_ms, t.updated_time_ms) {
                    let s = (updated - start) as f64 / 1000.0;
                    if s > 0.0 {
                        work += t.cost * progress(t);
                        seconds += s;
                    }
                }
            }
            _ => {}
        }
    }
    if work <= 0.0 || seconds <= 0.0 {
        return (None, "no progress measured yet".into());
    }
    let rate = work / seconds;
    let remaining: f64 = tasks
        .iter()
        .filter(|t| {
            matches!(
                t.task_status(),
                Some(TaskStatus::Pending | TaskStatus::Running)
            )
        })
        .map(|t| t.cost * (1.0 - progress(t)))
        .sum();
    (
        Some(remaining / (rate * alive as f64)),
        format!("remaining estimated cost at the measured rate, {alive} task(s) running at once"),
    )
}

/// `3 h 05 min`, `4 min 10 s`, `12 s`.
pub(crate) fn duration_text(seconds: f64) -> String {
    let s = seconds.max(0.0).round() as u64;
    if s >= 3600 {
        format!("{} h {:02} min", s / 3600, (s % 3600) / 60)
    } else if s >= 60 {
        format!("{} min {:02} s", s / 60, s % 60)
    } else {
        format!("{s} s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(status: &str, cost: f64) -> TaskState {
        TaskState {
            key: "k".into(),
            kind: "run".into(),
            label: "l".into(),
            status: status.into(),
            steps_done: None,
            steps_total: Some(100),
            snapshots_done: None,
            snapshots_total: Some(10),
            host: None,
            rank: None,
            device: None,
            start_time_ms: None,
            updated_time_ms: None,
            wall_seconds: None,
            error: None,
            table: None,
            probably_dead: false,
            dead_reason: None,
            in_sweep: true,
            cost,
            provenance: None,
            earlier_provenance: None,
        }
    }

    #[test]
    fn tables_map_to_the_locks_of_their_launches() {
        assert_eq!(owner_lock("runs.parquet").as_deref(), Some(SWEEP_LOCK));
        assert_eq!(
            owner_lock("runs-shard-2-of-5.parquet"),
            Some(output_lock::shard_lock_name(2, 5))
        );
        assert_eq!(owner_lock("runs-shard-x-of-5.parquet"), None);
        assert_eq!(owner_lock("sweep.yaml"), None);
    }

    #[test]
    fn eta_is_remaining_cost_over_measured_rate_and_parallel_tasks() {
        // One finished task: cost 100 in 10 s → 10 per task-second.
        let mut done = task("done", 100.0);
        done.wall_seconds = Some(10.0);
        // Two running tasks of cost 100, half done, measured over 5 s each (rate 10 too).
        let mut running = task("running", 100.0);
        running.snapshots_done = Some(5);
        running.start_time_ms = Some(0);
        running.updated_time_ms = Some(5_000);
        // One pending task of cost 200.
        let tasks = vec![done, running.clone(), running, task("pending", 200.0)];
        let (eta, _) = eta(&tasks);
        // Remaining 50 + 50 + 200 = 300 at 10/s on each of 2 running tasks: 15 s.
        assert!((eta.unwrap() - 15.0).abs() < 1e-9, "{eta:?}");
    }

    #[test]
    fn no_eta_without_a_live_running_task() {
        let mut dead = task("running", 1.0);
        dead.probably_dead = true;
        let (eta, basis) = eta(&[dead, task("pending", 1.0)]);
        assert_eq!(eta, None);
        assert!(basis.contains("no task is running"), "{basis}");
    }

    #[test]
    fn markers_prove_status_and_progress_over_a_lagging_row() {
        // Killed after `_SUCCESS`, before its row: the row still says running at step 40.
        let mut lagging = task("running", 1.0);
        lagging.steps_done = Some(40);
        lagging.snapshots_done = Some(3);
        lagging.probably_dead = true;
        lagging.dead_reason = Some("no launch holds .eigensweep-lock".into());
        apply_markers(&mut lagging, RunDirState::Done);
        assert_eq!(lagging.status, "done");
        assert_eq!(
            (lagging.steps_done, lagging.snapshots_done),
            (Some(100), Some(10))
        );
        assert!(!lagging.probably_dead && lagging.dead_reason.is_none());

        // A row rebuilt from the markers records no progress; the marker proves it.
        let mut rebuilt = task("done", 1.0);
        apply_markers(&mut rebuilt, RunDirState::Done);
        assert_eq!(
            (rebuilt.steps_done, rebuilt.snapshots_done),
            (Some(100), Some(10))
        );

        // `_DIVERGED` over the row of an earlier failed attempt: its step, not that error.
        let mut failed = task("failed", 1.0);
        failed.steps_done = Some(40);
        failed.error = Some("checkpoint … is damaged".into());
        apply_markers(&mut failed, RunDirState::Diverged(Some(57)));
        assert_eq!(failed.status, "diverged");
        assert_eq!(failed.steps_done, Some(57));
        assert_eq!(failed.error.as_deref(), Some("non-finite loss at step 57"));

        // An unreadable `_DIVERGED` proves the status only.
        let mut unknown = task("running", 1.0);
        unknown.steps_done = Some(40);
        apply_markers(&mut unknown, RunDirState::Diverged(None));
        assert_eq!(
            (unknown.status.as_str(), unknown.steps_done),
            ("diverged", Some(40))
        );

        // Unfinished directories leave the row as it is.
        for dir in [
            RunDirState::Fresh,
            RunDirState::Checkpointed,
            RunDirState::Extending,
        ] {
            let mut row = task("done", 1.0);
            row.steps_done = Some(20);
            row.error = Some("kept".into());
            apply_markers(&mut row, dir);
            assert_eq!(
                (row.status.as_str(), row.steps_done, row.error.as_deref()),
                ("done", Some(20), Some("kept")),
                "{dir:?}"
            );
        }
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(duration_text(12.4), "12 s");
        assert_eq!(duration_text(250.0), "4 min 10 s");
        assert_eq!(duration_text(3.0 * 3600.0 + 300.0), "3 h 05 min");
    }
}
