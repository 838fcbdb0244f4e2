//! The ledger of a launch: its runs table, the failures, the end-of-sweep summary and the
//! progress report. One process of a launch keeps it (the only one, or MPI rank 0), the only
//! one to write the launch's runs table; every worker's [`RecordUpdate`]s and
//! [`TaskOutcome`]s come to it.

use std::collections::{BTreeMap, BTreeSet};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Instant;

use eigensweep_common::exit_codes;
use eigensweep_worker::output::{runs_table_path, write_table_atomically, RunRecord, TaskStatus};
use indicatif::{MultiProgress, ProgressBar};

use super::clock::now_ms;
use super::dispatch::{RecordUpdate, TaskOutcome};
use super::eta::{eta_text, human_seconds, sweep_seconds_left, Countdown};
use super::extend;
use super::prepare::Prepared;
use super::runs_tables::StartingTable;
use crate::failure::{Failure, WithExitCode};

/// The one authoritative record of a launch (kept by the only process that writes
/// `runs.parquet`).
pub(super) struct Ledger {
    name: String,
    path: PathBuf,
    records: BTreeMap<String, RunRecord>,
    /// Rows of tasks the sweep file does not list, carried along unchanged
    /// (`in_sweep = false`; see `runs_tables.rs`).
    outside: Vec<RunRecord>,
    keys: Vec<String>,
    labels: Vec<String>,
    costs: Vec<f64>,
    summaries: Vec<String>,
    failures: Vec<String>,
    stages: [f64; 4],
    fatal: Option<Failure>,
    /// Tasks of the launch that have ended (done, diverged or failed), those that had ended
    /// before it included: the `k` of the log's `[k/N]` and the sweep bar's position.
    ended: BTreeSet<usize>,
    cost_left: f64,
    cost_worked: f64,
    clock: Instant,
    /// Steps done of each running run when this launch started it (for the sweep's ETA).
    progress_base: BTreeMap<String, (u64, u64)>,
    bar: ProgressBar,
    /// The sweep bar's ETA.
    countdown: Countdown,
    log_lines: bool,
    dirty: bool,
}

impl Ledger {
    /// Checks the output directory against the sweep, writes `sweep.yaml` and the starting
    /// runs table, and returns the ledger with the dispatch order: unfinished tasks first,
    /// longest first (so the last tasks to start are short ones and ranks finish together).
    pub(super) fn open(
        prep: &Prepared,
        bars: &MultiProgress,
    ) -> Result<(Self, Vec<usize>), Failure> {
        prep.check_table_formats()?;
        prep.check_checkpoint_versions()?;
        extend::settle(prep)?;
        prep.check_foreign_outputs()?;
        prep.write_sweep_file()?;
        let StartingTable { records, outside } = prep.starting_table()?;
        let costs: Vec<f64> = prep.tasks.iter().map(|t| t.cost(&prep.datasets)).collect();
        let finished_before = |i: usize| {
            records
                .get(prep.tasks[i].key())
                .is_some_and(RunRecord::is_finished)
        };
        // A fused ensemble is one unit of work: its leader is handed out for all its runs.
        let mut order: Vec<usize> = (0..prep.tasks.len())
            .filter(|&i| !prep.follows_in_an_ensemble(i))
            .collect();
        // An ensemble weighs what its runs weigh together.
        let unit_cost = |i: usize| match prep.ensemble_led_by(i) {
            Some(members) => members.iter().map(|&m| costs[m]).sum::<f64>(),
            None => costs[i],
        };
        // Stable: equal tasks keep the sweep's order.
        order.sort_by(|&a, &b| {
            finished_before(a)
                .cmp(&finished_before(b))
                .then(unit_cost(b).total_cmp(&unit_cost(a)))
        });
        let cost_left = (0..prep.tasks.len())
            .filter(|&i| !finished_before(i))
            .map(|i| costs[i])
            .sum();
        let ended: BTreeSet<usize> = (0..prep.tasks.len())
            .filter(|&i| finished_before(i))
            .collect();
        let countdown = Countdown::default();
        let bar = bars.add(ProgressBar::new(prep.tasks.len() as u64));
        bar.set_style(countdown.style(
            "{prefix:>8} [{bar:30}] {pos}/{len} tasks  {elapsed_precise} elapsed, {eta_left}",
        ));
        bar.set_prefix("sweep");
        bar.set_position(ended.len() as u64);
        // The elapsed time ticks even while no task finishes.
        bar.enable_steady_tick(std::time::Duration::from_secs(1));
        let ledger = Ledger {
            name: prep.name.clone(),
            path: prep.table_path.clone(),
            records,
            outside,
            keys: prep.tasks.iter().map(|t| t.key().to_string()).collect(),
            labels: prep.tasks.iter().map(|t| t.label()).collect(),
            costs,
            summaries: Vec::new(),
            failures: Vec::new(),
            stages: [0.0; 4],
            fatal: None,
            ended,
            cost_left,
            cost_worked: 0.0,
            clock: Instant::now(),
            progress_base: BTreeMap::new(),
            bar,
            countdown,
            // On a cluster stderr is a log file: one line per finished task instead of bars.
            log_lines: !std::io::stderr().is_terminal(),
            dirty: false,
        };
        ledger.write()?;
        // Only once this launch's table holds its tasks' rows may the other tables lose them.
        prep.fold_other_tables(&ledger.records.keys().cloned().collect())?;
        Ok((ledger, order))
    }

    fn write(&self) -> Result<(), Failure> {
        let rows: Vec<RunRecord> = self
            .records
            .values()
            .chain(&self.outside)
            .cloned()
            .collect();
        write_table_atomically(&self.path, &rows).exit_code(
            exit_codes::OUTPUT,
            format!("writing {}", self.path.display()),
        )
    }

    /// Applies a status change now; the runs table is rewritten at [`Ledger::flush`], so
    /// that a request for work never waits behind a file write.
    pub(super) fn record_later(&mut self, key: &str, update: &RecordUpdate) {
        if let Some(r) = self.records.get_mut(key) {
            if update.status == Some(TaskStatus::Running) {
                self.progress_base.insert(
                    key.to_string(),
                    (r.steps_done.unwrap_or(0), r.snapshots_done.unwrap_or(0)),
                );
            }
            if let Some(note) = update.apply(r) {
                let label = self
                    .keys
                    .iter()
                    .position(|k| k == key)
                    .map_or(key, |i| self.labels[i].as_str());
                crate::console::note!("{label} ({key}): {note}");
            }
            r.updated_time = Some(now_ms());
            self.dirty = true;
        }
    }

    /// Rewrites the runs table if [`Ledger::record_later`] changed it.
    pub(super) fn flush(&mut self) -> Result<(), Failure> {
        if std::mem::take(&mut self.dirty) {
            self.write()?;
        }
        Ok(())
    }

    /// Takes note of an error that stops the sweep (the first one is reported).
    pub(super) fn fatal(&mut self, f: Failure) {
        if self.fatal.is_none() {
            self.fatal = Some(f);
        }
    }

    /// Whether a fatal error has been reported.
    pub(super) fn has_fatal(&self) -> bool {
        self.fatal.is_some()
    }

    /// Takes note of how task `index` ended (`rank`: where it ran, under MPI).
    pub(super) fn finished(
        &mut self,
        index: usize,
        outcome: Result<TaskOutcome, Failure>,
        where_: Option<String>,
    ) {
        let outcome = match outcome {
            Ok(o) => o,
            Err(f) => {
                self.fatal(f);
                return;
            }
        };
        // A stopped task (pending) has not ended: the next launch continues it.
        if outcome.status != TaskStatus::Pending {
            self.ended.insert(index);
            self.bar.set_position(self.ended.len() as u64);
        }
        if let Some(p) = &outcome.problem {
            self.failures.push(p.clone());
        }
        if let Some(s) = &outcome.summary {
            self.summaries.push(s.clone());
        }
        for (total, s) in self.stages.iter_mut().zip(outcome.stages) {
            *total += s;
        }
        if !outcome.worked {
            return;
        }
        // Stopped runs go back to the queue of the next launch: their cost is still left.
        if outcome.status != TaskStatus::Pending {
            self.cost_left -= self.costs[index];
            self.cost_worked += self.costs[index];
        }
        let left = self.refresh_eta();
        if self.log_lines {
            crate::console::note!(
                "[{}/{}] {} ({}): {} after {:.1} s{}; sweep {}",
                self.ended.len(),
                self.keys.len(),
                self.labels[index],
                self.keys[index],
                outcome.note.as_deref().unwrap_or(outcome.status.as_str()),
                outcome.seconds,
                where_.map(|w| format!(" on {w}")).unwrap_or_default(),
                eta_text(left)
            );
        }
    }

    /// Marks every running task's row as alive now: rows change with progress, but not
    /// during a long eigen-solve or a baseline network, and `status` flags a `running` row
    /// that stops changing as stalled.
    pub(super) fn touch_running(&mut self) {
        let now = now_ms();
        for r in self.records.values_mut() {
            if r.task_status() == Some(TaskStatus::Running) {
                r.updated_time = Some(now);
                self.dirty = true;
            }
        }
    }

    /// Seconds left of the launch: the cost-weighted pace of its finished tasks and of the
    /// progress of its running ones, extrapolated ([`sweep_seconds_left`]); `None` until
    /// enough of it is done.
    fn seconds_left(&self) -> Option<f64> {
        let mut partial = 0.0;
        for (i, key) in self.keys.iter().enumerate() {
            let Some(r) = self.records.get(key) else {
                continue;
            };
            if r.task_status() != Some(TaskStatus::Running) {
                continue;
            }
            // A run's cost is mostly its snapshots, its time partly its steps: the share done
            // in this launch is taken as the mean of both fractions.
            if let (Some(done), Some(total), Some(&(base, snap_base))) =
                (r.steps_done, r.steps_total, self.progress_base.get(key))
            {
                if total > 0 {
                    let steps = done.saturating_sub(base) as f64 / total as f64;
                    let snaps = match (r.snapshots_done, r.snapshots_total) {
                        (Some(d), Some(t)) if t > 0 => {
                            d.saturating_sub(snap_base) as f64 / t as f64
                        }
                        _ => steps,
                    };
                    partial += self.costs[i] * 0.5 * (steps + snaps);
                }
            }
        }
        sweep_seconds_left(
            self.clock.elapsed().as_secs_f64(),
            self.cost_worked,
            partial,
            self.cost_left - partial,
        )
    }

    /// Sets the sweep bar's ETA from [`Ledger::seconds_left`] and returns it.
    pub(super) fn refresh_eta(&self) -> Option<f64> {
        let left = self.seconds_left();
        self.countdown.set(left);
        left
    }

    /// The sweep's totals for a batch log: tasks by status and the launch's ETA
    /// ([`Ledger::seconds_left`]).
    pub(super) fn totals_line(&self) -> String {
        let count = |s: TaskStatus| {
            self.records
                .values()
                .filter(|r| r.task_status() == Some(s))
                .count()
        };
        format!(
            "sweep `{}`: {} done, {} running, {} pending, {} failed, {} diverged of {} tasks; {} elapsed, {}",
            self.name,
            count(TaskStatus::Done),
            count(TaskStatus::Running),
            count(TaskStatus::Pending),
            count(TaskStatus::Failed),
            count(TaskStatus::Diverged),
            self.records.len(),
            human_seconds(self.clock.elapsed().as_secs_f64()),
            eta_text(self.refresh_eta())
        )
    }

    /// Whether every task of the launch has a final status (done, diverged or failed): a
    /// signal that arrives after the last task is then no interruption.
    pub(super) fn all_finished(&self) -> bool {
        self.records
            .values()
            .all(|r| r.is_finished() || r.task_status() == Some(TaskStatus::Failed))
    }

    /// Ends the launch: the exit status, and the summary of the runs that worked.
    pub(super) fn conclude(self, interrupted: bool) -> Result<(), Failure> {
        // The summary below says how the launch ended: a finished bar would stay on screen
        // above it with nothing left to count.
        self.bar.finish_and_clear();
        if let Some(f) = self.fatal {
            return Err(f);
        }
        if interrupted {
            return Err(Failure {
                code: exit_codes::INTERRUPTED,
                error: anyhow::anyhow!(
                    "stopped by a signal: running runs wrote checkpoints; run the same command again to continue the sweep"
                ),
            });
        }
        let out = self.path.parent().map(PathBuf::from).unwrap_or_default();
        // The whole sweep as its tables tell it (runs of earlier launches included), with
        // the eigen-solves' convergence; this launch's own lines where they cannot be read.
        let mut summaries = self.summaries;
        let table = eigensweep_report::state_table(&out).ok();
        if let Some(lines) = table {
            for line in lines {
                crate::console::say!("{line}");
            }
        } else if !summaries.is_empty() {
            summaries.sort();
            crate::console::say!(
                "{:<40} {:>9} {:>9} {:>9}  last eigenvalues",
                "run (dataset/optimizer/seed)",
                "status",
                "snapshots",
                "test_acc"
            );
            for line in summaries {
                crate::console::say!("{line}");
            }
        }
        let [training, eigen, evaluation, writing] = self.stages;
        crate::console::note!(
            "time in this launch: training {training:.1} s, eigen-solves {eigen:.1} s, evaluation {evaluation:.1} s, writing {writing:.1} s",
        );
        if self.failures.is_empty() {
            crate::console::say!("sweep `{}` complete: {}", self.name, out.display());
            Ok(())
        } else {
            Err(Failure {
                code: exit_codes::RUNS_FAILED,
                error: anyhow::anyhow!(
                    "{} of {} tasks did not finish:\n  {}\n(see {})",
                    self.failures.len(),
                    self.keys.len(),
                    self.failures.join("\n  "),
                    runs_table_path(&out).display()
                ),
            })
        }
    }
}
