//! # eigensweep-analysis
//!
//! Turns a sweep's snapshot tables into the quantities of the paper's figures: every two-time
//! displacement pair, the random-init baseline τ, weight displacement, two-time update
//! alignment, convergence to the final eigenvector, subspace overlap and per-optimiser
//! summaries, as Parquet tables under `OUT/analysis/` ([`tables`]).
//!
//! - [`catalog`] finds the runs and baselines and reads their scalars (not their vectors).
//! - [`plan`] cuts each run into tiles of snapshots and lists the tile-pair jobs that cover
//!   every snapshot pair exactly once; [`manifest`] says which are already done.
//! - [`engine`](crate::analyze) runs the jobs on timely-dataflow workers (threads, or
//!   processes of a cluster): tiles are exchanged to the workers that need them and each job
//!   is one matrix product ([`product`]); [`job`] turns a product into rows.
//! - [`summaries`] builds the small whole-sweep tables from the scalars; the statistics over
//!   seeds are a differential-dataflow `reduce` ([`group_stats`]).
//! - [`live`] keeps the tiles and their jobs as a differential-dataflow collection alive across
//!   the passes of `analyze --follow` ([`analyze_live`]): what changed comes out as updates.
//!
//! ```no_run
//! use eigensweep_analysis::{analyze, AnalyzeOptions};
//! let opts = AnalyzeOptions { workers: 4, ..AnalyzeOptions::default() };
//! let report = analyze(std::path::Path::new("out/quickstart"), &opts, &|p| {
//!     eprintln!("{}/{} pairs", p.pairs_done, p.pairs_total)
//! })?;
//! println!("{} pairs computed, {} reused", report.pairs_computed, report.pairs_reused);
//! # Ok::<(), eigensweep_analysis::AnalysisError>(())
//! ```
//!
//! Definitions follow `METHOD.md` of the study ("Two-time and across-run statistics").

pub mod bench;
pub mod bench_update;
pub mod catalog;
mod engine;
mod error;
pub mod frontier;
pub mod group_stats;
pub mod job;
pub mod live;
pub mod manifest;
mod options;
pub mod plan;
pub mod product;
pub mod summaries;
pub mod tables;
pub mod tile;

#[cfg(test)]
mod testdata;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use eigensweep_worker::output::{list_parts, write_table_atomically};

pub use bench::{bench, BenchOptions, BenchReport};
pub use bench_update::{bench_update, UpdateBenchOptions, UpdateBenchReport};
pub use catalog::Catalog;
pub use error::AnalysisError;
pub use options::{AnalyzeOptions, AnalyzeReport, ClusterProcess, Progress};

use crate::engine::EngineStats;
use crate::job::run_table_dir;
use crate::manifest::{JobRecord, Manifest};
use crate::plan::{JobKind, Plan};
use crate::tables::{
    ALIGNMENT_SUMMARY_FILE, ANALYSIS_DIR, BASELINE_FILE, PAIR_TABLES, RUN_ALIGNMENT_FILE,
    SPECTRUM_SUMMARY_FILE,
};

/// Analyses the sweep output `out` into `out/analysis`, computing only the tile pairs whose
/// snapshots changed since the last analysis. `progress` is called on the calling thread a
/// few times a second while the workers run.
///
/// When [`AnalyzeOptions::stop`] is set, the workers halt within one job and this returns
/// [`AnalysisError::Interrupted`]; the manifest then names exactly the jobs whose parts are
/// written (and the whole-sweep tables are left as they were), so the same call again
/// computes the rest and ends with the tables an uninterrupted analysis writes.
pub fn analyze(
    out: &Path,
    opts: &AnalyzeOptions,
    progress: &dyn Fn(Progress),
) -> Result<AnalyzeReport, AnalysisError> {
    analyze_pass(out, opts, None, progress).map(|(report, _)| report)
}

/// One pass of `analyze --follow`: as [`analyze`], but the jobs to compute are those the
/// live job set inserts at this pass ([`live`]): the sweep's tiles enter it as updates and
/// retractions, and the jobs touching a new or replaced tile come out. At `live`'s first pass
/// (every tile new) the manifest is the restart state: of the jobs inserted, those it holds
/// as current are reused. Returns the report and how the jobs changed.
///
/// A job the live set did not insert but the manifest does not hold as current (the
/// analysis directory changed under the follower) is computed too, and counted in
/// [`live::JobChanges::resynced`].
pub fn analyze_live(
    out: &Path,
    opts: &AnalyzeOptions,
    live: &mut live::LiveJobs,
    progress: &dyn Fn(Progress),
) -> Result<(AnalyzeReport, live::JobChanges), AnalysisError> {
    analyze_pass(out, opts, Some(live), progress)
        .map(|(report, changes)| (report, changes.unwrap_or_default()))
}

fn analyze_pass(
    out: &Path,
    opts: &AnalyzeOptions,
    live: Option<&mut live::LiveJobs>,
    progress: &dyn Fn(Progress),
) -> Result<(AnalyzeReport, Option<live::JobChanges>), AnalysisError> {
    let started = Instant::now();
    opts.validate()?;
    let catalog = Arc::new(Catalog::scan(out, opts.only_finished)?);
    if opts.stop.is_requested() {
        return Err(AnalysisError::Interrupted {
            jobs_done: 0,
            jobs_todo: 0,
        });
    }
    let analysis = out.join(ANALYSIS_DIR);
    fs::create_dir_all(&analysis)
        .map_err(|e| AnalysisError::io("creating directory", &analysis, e))?;
    let manifest = Manifest::load(&analysis);
    let peers = engine::peers(opts);
    let (plan, changes) = match live {
        None => {
            let plan = Plan::new(
                &catalog,
                opts.tile_rows,
                opts.panel,
                peers,
                &manifest,
                opts.force,
            );
            (plan, None)
        }
        Some(live) => {
            let mut changes = live.update(&catalog, opts.tile_rows)?;
            let restart = changes.pass == 1;
            let current = |j: &plan::Job| manifest.is_current(&j.name, &j.fingerprint);
            let inserted = |j: &plan::Job| changes.inserted.get(&j.name) == Some(&j.fingerprint);
            let plan = Plan::with_todo(&catalog, opts.tile_rows, opts.panel, peers, &|j| {
                if opts.force {
                    true
                } else if restart {
                    inserted(j) && !current(j)
                } else {
                    inserted(j) || !current(j)
                }
            });
            changes.resynced = plan
                .todo
                .iter()
                .filter(|&&j| !inserted(&plan.jobs[j]))
                .count();
            (plan, Some(changes))
        }
    };
    let plan = Arc::new(plan);

    let process = opts.process.as_ref().map_or(0, |p| p.index);
    let local = process * opts.workers..(process + 1) * opts.workers;
    let pairs_total = plan.pairs_of_worker(local);
    let stats = Arc::new(EngineStats::default());
    let poll = || {
        progress(Progress {
            pairs_done: stats.pairs_done.load(Ordering::Relaxed),
            pairs_total,
            seconds: started.elapsed().as_secs_f64(),
        })
    };
    if opts.is_leader() && !plan.todo.is_empty() {
        // The jobs about to run rewrite parts that the old manifest may claim (under their
        // own names, or under names of another tiling): from now until the end it claims only
        // what stays valid, even if this process is killed outright.
        manifest_of(&plan, &manifest, &BTreeMap::new()).save(&analysis)?;
    }
    let outcomes = if plan.todo.is_empty() {
        Vec::new()
    } else {
        engine::run(
            Arc::clone(&plan),
            Arc::clone(&catalog),
            analysis.clone(),
            opts,
            Arc::clone(&stats),
            &poll,
        )?
    };

    let seconds = |ns: &std::sync::atomic::AtomicU64| ns.load(Ordering::Relaxed) as f64 * 1e-9;
    let mut report = AnalyzeReport {
        runs: catalog.runs.len(),
        runs_finished: catalog.runs.iter().filter(|r| r.finished).count(),
        runs_diverged: catalog
            .runs
            .iter()
            .filter(|r| r.diverged)
            .map(|r| format!("{}/{}/{}", r.dataset, r.optimizer, r.seed))
            .collect(),
        baselines: catalog.baselines.len(),
        jobs_computed: plan.todo.len() as u64,
        jobs_reused: (plan.jobs.len() - plan.todo.len()) as u64,
        pairs_computed: plan.pairs_todo(),
        pairs_reused: plan.pairs_reused(),
        seconds: 0.0,
        product_seconds: seconds(&stats.product_ns),
        product_flops: stats.flops.load(Ordering::Relaxed) as f64,
        load_seconds: seconds(&stats.load_ns),
        write_seconds: seconds(&stats.write_ns),
        dir: analysis.clone(),
        frontier: frontier::Frontier::of(&catalog),
    };
    let fatal = stats.fatal.lock().unwrap_or_else(|p| p.into_inner()).take();
    if let Some(e) = fatal {
        // The real cause (a full disk), with its path, from a job of this process.
        return Err(e);
    }
    let halt = stats.halt.load(Ordering::SeqCst);
    if opts.is_leader() {
        if halt == engine::HALT_STOP {
            return Err(record_interrupted(&plan, &manifest, outcomes, &analysis));
        }
        finish(&catalog, &plan, &manifest, outcomes, &analysis, &opts.stop)?;
        // Last: the tables it vouches for are all written.
        report.frontier.save(&analysis)?;
    } else if halt == engine::HALT_STOP {
        return Err(AnalysisError::Interrupted {
            jobs_done: 0,
            jobs_todo: plan.todo.len(),
        });
    }
    report.seconds = started.elapsed().as_secs_f64();
    Ok((report, changes))
}

/// The manifest after this analysis: every job of `plan` that was current before it or
/// is in `done` (by position in the plan); jobs of other plans are dropped, their parts
/// being rewritten or removed.
fn manifest_of(plan: &Plan, old: &Manifest, done: &BTreeMap<usize, job::JobOutcome>) -> Manifest {
    let mut manifest = Manifest {
        format: plan::ANALYSIS_FORMAT,
        jobs: BTreeMap::new(),
    };
    let todo: BTreeSet<usize> = plan.todo.iter().copied().collect();
    for (j, job) in plan.jobs.iter().enumerate() {
        let record = match done.get(&j) {
            Some(o) => JobRecord {
                fingerprint: job.fingerprint.clone(),
                pairs: job.pairs,
                baseline: o.baseline.clone(),
            },
            None if todo.contains(&j) => continue,
            None => old.jobs[&job.name].clone(),
        };
        manifest.jobs.insert(job.name.clone(), record);
    }
    manifest
}

/// After a stop: records the jobs that finished (their parts are written) so that the next
/// analysis skips them, and says how far this one got. Errors of finished jobs and of the
/// manifest's write take precedence: they are what a person must fix.
fn record_interrupted(
    plan: &Plan,
    old: &Manifest,
    outcomes: Vec<job::JobOutcome>,
    analysis: &Path,
) -> AnalysisError {
    let mut done = BTreeMap::new();
    for o in outcomes {
        if let Some(e) = &o.error {
            return job_error(analysis, e, o.fatal_output);
        }
        done.insert(o.job, o);
    }
    let jobs_done = done.len();
    if let Err(e) = manifest_of(plan, old, &done).save(analysis) {
        return e;
    }
    AnalysisError::Interrupted {
        jobs_done,
        jobs_todo: plan.todo.len(),
    }
}

fn job_error(analysis: &Path, message: &str, output: bool) -> AnalysisError {
    AnalysisError::Job {
        dir: analysis.to_path_buf(),
        message: message.to_string(),
        output,
    }
}

/// The leader's part after the dataflow: check every job reported, write the whole-sweep
/// tables, remove parts no job owns any more, and record the new manifest.
fn finish(
    catalog: &Catalog,
    plan: &Plan,
    old: &Manifest,
    outcomes: Vec<job::JobOutcome>,
    analysis: &Path,
    stop: &eigensweep_common::stop::StopFlag,
) -> Result<(), AnalysisError> {
    // A fatal output error (a full disk) is reported first: it is why the others failed.
    if let Some(o) = outcomes
        .iter()
        .find(|o| o.fatal_output)
        .or_else(|| outcomes.iter().find(|o| o.error.is_some()))
    {
        let e = o.error.as_deref().unwrap_or("failed");
        return Err(job_error(analysis, e, o.fatal_output));
    }
    let by_job: BTreeMap<usize, job::JobOutcome> =
        outcomes.into_iter().map(|o| (o.job, o)).collect();
    let missing: Vec<&str> = plan
        .todo
        .iter()
        .filter(|j| !by_job.contains_key(j))
        .map(|&j| plan.jobs[j].name.as_str())
        .collect();
    if !missing.is_empty() {
        return Err(AnalysisError::Engine(format!(
            "{} jobs did not report (first: {}); nothing was recorded as done",
            missing.len(),
            missing[0]
        )));
    }
    let manifest = manifest_of(plan, old, &by_job);
    // Every job is written: a stop from here on records them all and leaves the whole-sweep
    // tables to the next analysis, which rewrites them from the manifest (they take seconds).
    let stopped = || -> Result<(), AnalysisError> {
        if stop.is_requested() {
            manifest.save(analysis)?;
            return Err(AnalysisError::Interrupted {
                jobs_done: plan.todo.len(),
                jobs_todo: plan.todo.len(),
            });
        }
        Ok(())
    };
    stopped()?;

    let mut baseline = Vec::new();
    for d in 0..catalog.baselines.len() {
        let moments: Vec<_> = plan
            .jobs
            .iter()
            .filter(|j| matches!(j.kind, JobKind::BaselinePair { .. }) && j.owner as usize == d)
            .filter_map(|j| manifest.jobs[&j.name].baseline.clone())
            .collect();
        baseline.extend(summaries::baseline_rows(catalog, d, &moments));
    }
    write_table_atomically(&analysis.join(BASELINE_FILE), &baseline)?;
    stopped()?;
    let run_alignment = summaries::run_alignment(catalog);
    write_table_atomically(
        &analysis.join(ALIGNMENT_SUMMARY_FILE),
        &summaries::alignment_summary(&summaries::without_diverged(catalog, &run_alignment)),
    )?;
    write_table_atomically(&analysis.join(RUN_ALIGNMENT_FILE), &run_alignment)?;
    stopped()?;
    write_table_atomically(
        &analysis.join(SPECTRUM_SUMMARY_FILE),
        &summaries::spectrum_summary(catalog),
    )?;
    stopped()?;
    remove_stale_parts(catalog, plan, analysis)?;
    manifest.save(analysis)
}

/// Deletes the parts of runs that are gone and of tile pairs that no longer exist (a run
/// restarted with fewer snapshots, another tile size), so that the tables hold each pair once.
fn remove_stale_parts(
    catalog: &Catalog,
    plan: &Plan,
    analysis: &Path,
) -> Result<(), AnalysisError> {
    for table in PAIR_TABLES {
        let mut expected: BTreeMap<std::path::PathBuf, BTreeSet<u32>> = BTreeMap::new();
        for (r, run) in catalog.runs.iter().enumerate() {
            expected.insert(run_table_dir(analysis, table, run), BTreeSet::new());
            for job in plan.jobs.iter().filter(|j| j.owner as usize == r) {
                let wanted = match job.kind {
                    JobKind::Pair { .. } => table != "convergence",
                    JobKind::Final { .. } => table == "convergence",
                    JobKind::BaselinePair { .. } => false,
                };
                if wanted {
                    if let Some(set) = expected.get_mut(&run_table_dir(analysis, table, run)) {
                        set.insert(job.part as u32);
                    }
                }
            }
        }
        for dir in run_dirs_under(&analysis.join(table))? {
            let keep = expected.get(&dir);
            for (number, path) in list_parts(&dir)? {
                if !keep.is_some_and(|k| k.contains(&number)) {
                    fs::remove_file(&path).map_err(|e| AnalysisError::io("removing", &path, e))?;
                }
            }
        }
    }
    Ok(())
}

/// The `<dataset>/<optimizer>/seed-<S>` directories under a table directory.
fn run_dirs_under(table: &Path) -> Result<Vec<std::path::PathBuf>, AnalysisError> {
    let mut level = vec![table.to_path_buf()];
    for _ in 0..3 {
        let mut next = Vec::new();
        for dir in level {
            let entries = match fs::read_dir(&dir) {
                Ok(e) => e,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(AnalysisError::io("reading directory", &dir, e)),
            };
            for entry in entries {
                let entry = entry.map_err(|e| AnalysisError::io("reading directory", &dir, e))?;
                if entry.path().is_dir() {
                    next.push(entry.path());
                }
            }
        }
        level = next;
    }
    Ok(level)
}
