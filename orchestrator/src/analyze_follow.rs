//! `eigensweep analyze OUT --follow [--poll-seconds S] [--report]`: keeps the analysis of a
//! sweep current while a `run` writes it (on this machine or another node of a shared
//! filesystem), and ends by itself once the sweep has settled.
//!
//! The sweep's tiles live in a differential-dataflow collection for the follower's whole life
//! ([`eigensweep_analysis::live`]), one timestamp a pass: committed snapshots enter as updates
//! of their run's tiles (a new snapshot changes its run's last tile, or adds one), a replaced
//! tile retracts its old digest, and the jobs touching what changed come out as insertions and
//! retractions. A pass computes those jobs only, so its work grows with what is new, not with
//! the sweep; eigenvectors are read when a job runs, never held in the collection. The restart
//! state is the manifest: a follower killed outright and started again inserts every tile at
//! its first pass and reuses every job the manifest holds as current.
//! A pass runs only when the inputs changed: the snapshot, weight and baseline parts and the
//! runs' markers, by name, size and modification time.
//!
//! The follower holds the analysis lock from its first pass to its end (a second follower, or an
//! `analyze`/`report` beside it, is refused). With `--report` it draws the report after every
//! pass that changed the tables, without the minima comparison (Figure 8), which it adds at the
//! end.
//!
//! It ends when no task of the sweep is pending or running (done, diverged or failed) and a
//! pass has seen the inputs as they then are: the tables are then those of `analyze --force`.
//! A signal (SIGTERM, SIGINT, SIGUSR1) stops it with exit code 8 within one tile-pair job; the
//! tables and `_frontier.json` of the last finished pass stay as they were.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use clap::Parser;
use eigensweep_analysis::frontier::Frontier;
use eigensweep_analysis::live::{JobChanges, LiveJobs};
use eigensweep_analysis::AnalyzeOptions;
use eigensweep_common::exit_codes;
use eigensweep_common::stop::StopFlag;

use crate::cli::{AnalyzeArgs, Cli, Command, ReportArgs};
use crate::failure::Failure;
use crate::output_lock::OutputLock;

/// What the inputs of an analysis looked like: every file under `OUT/runs` and
/// `OUT/baseline` with its size and modification time, sorted. Two equal stamps mean no
/// snapshot, θ, marker or baseline network was added, replaced or removed in between.
#[derive(Debug, Clone, PartialEq, Eq)]
struct InputsStamp(Vec<(PathBuf, u64, Option<SystemTime>)>);

impl InputsStamp {
    fn of(out: &Path) -> Self {
        let mut files = Vec::new();
        for top in ["runs", "baseline"] {
            collect(&out.join(top), &mut files);
        }
        files.sort();
        Self(files)
    }
}

/// Every file below `dir` but checkpoints and temporary files (which change without changing
/// a table).
fn collect(dir: &Path, files: &mut Vec<(PathBuf, u64, Option<SystemTime>)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(meta) = entry.metadata() else { continue };
        if meta.is_dir() {
            collect(&path, files);
            continue;
        }
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('.') || name.ends_with(".tmp") || name.contains("checkpoint") {
            continue;
        }
        files.push((path, meta.len(), meta.modified().ok()));
    }
}

/// The report's settings at their defaults, for `--report` (the defaults are stated once, in
/// `ReportArgs`).
fn default_report_args(out: &Path) -> Result<ReportArgs, Failure> {
    let cli = Cli::try_parse_from([
        std::ffi::OsStr::new("eigensweep"),
        std::ffi::OsStr::new("report"),
        out.as_os_str(),
    ])
    .map_err(|e| Failure {
        code: exit_codes::INTERNAL,
        error: anyhow::anyhow!("the report's default settings: {e}"),
    })?;
    match cli.command {
        Command::Report(args) => Ok(args),
        _ => Err(Failure {
            code: exit_codes::INTERNAL,
            error: anyhow::anyhow!("`report` parsed as another command"),
        }),
    }
}

/// Whether no task of the sweep in `out` is pending or running; `None` while `out` has no
/// sweep.yaml yet (the launch has not started).
fn settled(out: &Path) -> Option<bool> {
    if !out.join("sweep.yaml").is_file() {
        return None;
    }
    let status = crate::status_cmd::read_output_status(out).ok()?;
    Some(status.counts.pending == 0 && status.counts.running == 0)
}

fn interrupted() -> Failure {
    Failure {
        code: exit_codes::INTERRUPTED,
        error: anyhow::anyhow!(
            "stopped by a signal; the tables are complete as far as OUT/analysis/_frontier.json says; run the same command again to follow on"
        ),
    }
}

/// Sleeps `total`, waking every 100 ms to look at `stop`; `true` when a stop was requested.
fn sleep_unless_stopped(total: Duration, stop: &StopFlag) -> bool {
    let until = Instant::now() + total;
    while Instant::now() < until {
        if stop.is_requested() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100).min(until - Instant::now()));
    }
    stop.is_requested()
}

/// One line on how far the tables go: runs, their snapshots, the latest step.
fn frontier_line(f: &Frontier) -> String {
    let snapshots: usize = f.runs.iter().map(|r| r.snapshots).sum();
    let finished = f.runs.iter().filter(|r| r.finished || r.diverged).count();
    let networks: usize = f.baselines.iter().map(|b| b.networks).sum();
    format!(
        "tables complete for {snapshots} snapshots of {} runs ({finished} finished) and {networks} baseline networks",
        f.runs.len()
    )
}

/// One clause on what the live job set saw change: tiles, and the jobs they inserted,
/// replaced and removed.
fn changes_line(c: &JobChanges) -> String {
    let mut line = format!(
        "{} tiles changed: {} tile-pair jobs new, {} replaced, {} removed",
        c.tiles_changed,
        c.inserted.len() - c.replaced,
        c.replaced,
        c.removed.len()
    );
    if c.resynced > 0 {
        line.push_str(&format!(
            " (and {} the manifest no longer held, computed again)",
            c.resynced
        ));
    }
    line
}

/// `analyze --follow`: see the module's docs.
pub(crate) fn follow(args: &AnalyzeArgs, opts: &AnalyzeOptions) -> Result<(), Failure> {
    let out = &args.out;
    let stop = opts.stop.clone();
    let poll = Duration::from_secs_f64(args.poll_seconds);
    if args.report {
        // Refused now rather than after the first pass.
        default_report_args(out)?;
    }
    let mut lock: Option<OutputLock> = None;
    let mut seen: Option<InputsStamp> = None;
    let mut waiting_said = false;
    let mut pass = 0usize;
    // The runs' frontier the report was last drawn for.
    let mut drawn_for = Vec::new();
    // `analyze --force` once, then incremental passes.
    let mut force = opts.force;
    // The sweep's tiles and their jobs as a live differential-dataflow collection, one
    // timestamp a pass.
    let mut live = LiveJobs::start().map_err(crate::analyze_pass::failure)?;
    loop {
        if stop.is_requested() {
            return Err(interrupted());
        }
        // Before the inputs are looked at: if the sweep had settled by now, the pass below
        // sees everything it will ever write.
        let settled_now = settled(out);
        if lock.is_none() {
            lock = crate::output_lock::acquire_for_analysis(out)?;
        }
        if lock.is_none() || settled_now.is_none() {
            if !waiting_said {
                crate::console::note!(
                    "waiting for a run to write {} (looking every {} s)",
                    out.display(),
                    poll.as_secs_f64()
                );
                waiting_said = true;
            }
        } else {
            let stamp = InputsStamp::of(out);
            if seen.as_ref() != Some(&stamp) {
                pass += 1;
                let pass_opts = AnalyzeOptions {
                    force,
                    ..opts.clone()
                };
                let (report, changes) = crate::analyze_pass::run_live(out, &pass_opts, &mut live)?;
                force = false;
                crate::console::say!(
                    "pass {pass}: {}; {} snapshot pairs computed, {} reused in {:.1} s; {}",
                    changes_line(&changes),
                    report.pairs_computed,
                    report.pairs_reused,
                    report.seconds,
                    frontier_line(&report.frontier)
                );
                seen = Some(stamp);
                let last = settled_now == Some(true);
                let drawable = report.frontier.runs.iter().any(|r| r.snapshots > 0);
                let changed = report.frontier.runs != drawn_for;
                if args.report && drawable && (changed || last) {
                    drawn_for = report.frontier.runs.clone();
                    let mut r = default_report_args(out)?;
                    // The minima comparison retrains from the final θ: once, at the end.
                    r.no_minima = !last;
                    crate::report_cmd::render_report(&r, &stop)?;
                }
            }
            if settled_now == Some(true) {
                crate::console::say!(
                    "the sweep has settled (no task pending or running): the tables in {} are final",
                    out.join("analysis").display()
                );
                return Ok(());
            }
        }
        if sleep_unless_stopped(poll, &stop) {
            return Err(interrupted());
        }
    }
}
