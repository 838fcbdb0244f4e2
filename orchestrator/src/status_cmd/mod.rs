//! `eigensweep status OUT [--json]`: how a sweep is doing, from its files alone — per task
//! status, progress and last update, counts, an ETA, and running tasks whose launch is gone
//! or stalled. Read-only and cheap (no dataset is loaded), so a login node can ask while the
//! compute nodes work. Exit code 0 when every task is done, 10 (INCOMPLETE) otherwise.

mod state;

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use eigensweep_common::exit_codes;
use eigensweep_common::sweep::{read_sweep, Overrides};
use eigensweep_worker::output::TaskStatus;

use crate::cli::StatusArgs;
use crate::failure::{Failure, WithExitCode};
use crate::output_lock::utc_text;
pub(crate) use state::recorded_data;
pub(crate) use state::SweepStatus;
use state::{duration_text, read_status, TaskState};

pub(crate) fn run(args: StatusArgs) -> Result<(), Failure> {
    crate::output_dir::require_output_dir("status", &args.out)?;
    let status = read_output_status(&args.out)?;
    if args.json {
        let text = serde_json::to_string_pretty(&status).exit_code(exit_codes::INTERNAL, "JSON")?;
        crate::console::say!("{text}");
    } else {
        crate::console::say!("{}", render(&status).trim_end_matches('\n'));
    }
    if status.complete {
        return Ok(());
    }
    let c = &status.counts;
    Err(Failure {
        code: exit_codes::INCOMPLETE,
        error: anyhow::anyhow!("sweep not complete: {} of {} tasks done", c.done, c.tasks),
    })
}

/// The state of the sweep in `out` now, from its files (see [`state`]).
///
/// # Errors
/// [`exit_codes::INPUT`] when `out` has no readable `sweep.yaml`.
pub(crate) fn read_output_status(out: &Path) -> Result<SweepStatus, Failure> {
    let sweep_file = out.join("sweep.yaml");
    if !sweep_file.is_file() {
        return Err(Failure {
            code: exit_codes::INPUT,
            error: anyhow::anyhow!(
                "{} is not a sweep output: it has no sweep.yaml (`eigensweep run` writes it when a launch starts)",
                out.display()
            ),
        });
    }
    // The resolved sweep as the launch wrote it; `output` is where we look, not where it ran.
    let mut sweep = read_sweep(
        &sweep_file,
        &Overrides {
            output: Some(out.to_path_buf()),
            ..Overrides::default()
        },
    )
    .exit_code(
        exit_codes::INPUT,
        format!("{} is not a readable sweep output", out.display()),
    )?;
    for (name, data) in state::recorded_data(out) {
        if let Some(digest) = data.digest {
            sweep.set_data_digest(&name, digest);
        }
        // The eigen settings were checked against this shape when the launch started.
        if let Some(shape) = data.shape {
            let _ = sweep.set_data_shape(&name, shape);
        }
    }
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    Ok(read_status(out, &sweep, now_ms))
}

/// The report for people.
fn render(s: &SweepStatus) -> String {
    let c = &s.counts;
    let mut text = format!(
        "sweep `{}` in {}: {} tasks: {} done, {} running, {} pending, {} failed, {} diverged",
        s.sweep,
        s.output.display(),
        c.tasks,
        c.done,
        c.running,
        c.pending,
        c.failed,
        c.diverged
    );
    if c.probably_dead > 0 {
        text += &format!(" ({} running probably dead)", c.probably_dead);
    }
    text.push('\n');
    if c.outside > 0 {
        text += &format!(
            "outside this sweep file: {} task(s) of an earlier sweep file, kept in the runs tables (in_sweep = false) and counted by analyze and report; listed last\n",
            c.outside
        );
    }
    for w in &s.warnings {
        text += &format!("{w}\n");
    }
    if !s.locks_probed {
        text += "launches: unknown (the filesystem does not support file locks)\n";
    } else if s.launches.is_empty() {
        text += "launches: none holds this output now\n";
    }
    for l in &s.launches {
        match &l.holder {
            Some(h) => text += &format!("launch: {}\n", h.describe()),
            None => text += &format!("launch: holds {} (still starting)\n", l.lock),
        }
    }
    text += &provenance_text(s);
    match s.eta_seconds {
        Some(eta) => {
            text += &format!(
                "ETA: {} (≈ {}; {})\n",
                duration_text(eta),
                utc_text(s.now_ms + (eta * 1000.0) as i64),
                s.eta_basis
            )
        }
        None if !s.complete => text += &format!("ETA: unknown ({})\n", s.eta_basis),
        None => {}
    }
    let width = s
        .tasks
        .iter()
        .map(|t| t.label.len())
        .max()
        .unwrap_or(4)
        .max(4);
    text += &format!(
        "{:<width$}  {:<8}  {:>13}  {:>9}  {:>9}  {}\n",
        "task", "status", "steps", "snapshots", "updated", "host, device"
    );
    for t in &s.tasks {
        text += &format!(
            "{:<width$}  {:<8}  {:>13}  {:>9}  {:>9}  {}{}\n",
            t.label,
            t.status,
            fraction(t.steps_done, t.steps_total),
            fraction(t.snapshots_done, t.snapshots_total),
            t.updated_time_ms.map_or("-".into(), |u| format!(
                "{} ago",
                duration_short(s.now_ms - u)
            )),
            where_text(t),
            note(t)
        );
    }
    text
}

/// Who ran the tasks' last attempts, one line per build, device and machine with its task
/// count, and a warning when some tasks were resumed by another one.
fn provenance_text(s: &SweepStatus) -> String {
    let mut groups: Vec<(String, usize)> = Vec::new();
    for p in s.tasks.iter().filter_map(|t| t.provenance.as_ref()) {
        let line = p.to_string();
        match groups.iter_mut().find(|(l, _)| *l == line) {
            Some((_, n)) => *n += 1,
            None => groups.push((line, 1)),
        }
    }
    let mut text = String::new();
    for (line, n) in &groups {
        let tasks = if *n == 1 { "task" } else { "tasks" };
        text += &format!("ran on: {line} ({n} {tasks})\n");
    }
    let resumed: Vec<&str> = s
        .tasks
        .iter()
        .filter(|t| t.earlier_provenance.is_some())
        .map(|t| t.label.as_str())
        .collect();
    if !resumed.is_empty() {
        text += &format!(
            "resumed on another build, device or machine: {} (their runs-table column earlier_provenance says who ran which steps)\n",
            resumed.join(", ")
        );
    }
    text
}

fn fraction(done: Option<u64>, total: Option<u64>) -> String {
    match (done, total) {
        (_, None) => "-".into(),
        (d, Some(n)) => format!("{}/{n}", d.map_or("?".into(), |d| d.to_string())),
    }
}

/// `12s`, `4m`, `3h`: the age column.
fn duration_short(ms: i64) -> String {
    let s = (ms.max(0) / 1000) as u64;
    match s {
        0..=119 => format!("{s}s"),
        120..=7199 => format!("{}m", s / 60),
        _ => format!("{}h", s / 3600),
    }
}

fn where_text(t: &TaskState) -> String {
    let host = match (&t.host, t.rank) {
        (Some(h), Some(r)) => format!("{h} (rank {r})"),
        (Some(h), None) => h.clone(),
        (None, _) => "-".into(),
    };
    // The device without the GPU's name: `cuda:0`, `cpu`.
    match t
        .device
        .as_deref()
        .and_then(|d| d.split_whitespace().next())
    {
        Some(d) if t.host.is_some() => format!("{host} {d}"),
        _ => host,
    }
}

fn note(t: &TaskState) -> String {
    if !t.in_sweep {
        return "  (not in this sweep file)".into();
    }
    if let Some(reason) = &t.dead_reason {
        return format!("  PROBABLY DEAD: {reason}");
    }
    match (&t.error, t.task_status()) {
        (Some(e), Some(TaskStatus::Failed | TaskStatus::Diverged)) => {
            let first = e.lines().next().unwrap_or_default();
            format!("  {first}")
        }
        _ => String::new(),
    }
}
