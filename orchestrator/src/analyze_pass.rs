//! One analysis pass in this process, as `analyze`, its MPI ranks and `analyze --follow`
//! run it: the progress bar, the exit code of each analysis error, the printed summary.

use std::path::Path;

use eigensweep_analysis::live::{JobChanges, LiveJobs};
use eigensweep_analysis::{
    analyze, analyze_live, AnalysisError, AnalyzeOptions, AnalyzeReport, Progress,
};
use eigensweep_common::exit_codes;
use eigensweep_worker::output::fatal_io_cause;
use indicatif::{ProgressBar, ProgressStyle};

use crate::failure::Failure;

/// The exit code of an analysis error. A full disk (or quota, read-only or failing
/// filesystem) is an output failure wherever in the chain of causes it sits.
pub(crate) fn failure(e: AnalysisError) -> Failure {
    let code = match &e {
        _ if fatal_io_cause(&e).is_some() => exit_codes::OUTPUT,
        AnalysisError::Interrupted { .. } => return Failure {
            code: exit_codes::INTERRUPTED,
            error: anyhow::Error::new(e).context(
                "stopped by a signal; run the same `eigensweep analyze` command again to continue",
            ),
        },
        AnalysisError::Job { output: true, .. } => exit_codes::OUTPUT,
        AnalysisError::Option { .. } => exit_codes::USAGE,
        // A torn part or a table of a newer format is a bad input, as for report and run.
        AnalysisError::Output(o) if o.is_reading() => exit_codes::INPUT,
        AnalysisError::NotAnOutput { .. }
        | AnalysisError::Data { .. }
        | AnalysisError::Job { .. } => exit_codes::INPUT,
        AnalysisError::Output(_) | AnalysisError::Io { .. } => exit_codes::OUTPUT,
        AnalysisError::Engine(_) => exit_codes::INTERNAL,
    };
    Failure {
        code,
        error: anyhow::Error::new(e),
    }
}

/// Runs the analysis in this process; `leader` prints the bar and the report.
pub(crate) fn run_process(
    out: &Path,
    opts: &AnalyzeOptions,
    leader: bool,
) -> Result<AnalyzeReport, Failure> {
    let report = with_bar(leader, |progress| analyze(out, opts, progress))?;
    if leader {
        print_report(&report, opts);
    }
    Ok(report)
}

/// One pass of `analyze --follow` in this process, silent (the follower prints one line a
/// pass): the jobs to compute come from `live` (see [`eigensweep_analysis::analyze_live`]).
pub(crate) fn run_live(
    out: &Path,
    opts: &AnalyzeOptions,
    live: &mut LiveJobs,
) -> Result<(AnalyzeReport, JobChanges), Failure> {
    with_bar(false, |progress| analyze_live(out, opts, live, progress))
}

/// Runs `pass` with a progress bar of snapshot pairs (hidden unless `shown`).
fn with_bar<T>(
    shown: bool,
    pass: impl FnOnce(&dyn Fn(Progress)) -> Result<T, AnalysisError>,
) -> Result<T, Failure> {
    let bar = if shown {
        ProgressBar::new(0)
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template(
            "analyze [{bar:30}] {pos}/{len} snapshot pairs  {per_sec}  {elapsed_precise}, ETA {eta}",
        )
        .expect("template")
        .progress_chars("=> "),
    );
    let result = pass(&|p: Progress| {
        bar.set_length(p.pairs_total);
        bar.set_position(p.pairs_done);
    })
    .map_err(failure)?;
    bar.finish_and_clear();
    Ok(result)
}

fn print_report(r: &AnalyzeReport, opts: &AnalyzeOptions) {
    let processes = opts.process.as_ref().map_or(1, |p| p.addresses.len());
    crate::console::say!(
        "analysed {} runs ({} finished) and {} baselines with {} worker(s) × {} process(es) in {:.1} s",
        r.runs, r.runs_finished, r.baselines, opts.workers, processes, r.seconds
    );
    crate::console::say!(
        "tile pairs: {} computed, {} reused; snapshot pairs: {} computed, {} reused",
        r.jobs_computed,
        r.jobs_reused,
        r.pairs_computed,
        r.pairs_reused
    );
    if r.product_seconds > 0.0 {
        crate::console::say!(
            "this process: tile products {:.2} s ({:.1} GFLOP/s per worker), reading {:.2} s, rows and writing {:.2} s",
            r.product_seconds,
            r.product_flops / r.product_seconds / 1e9,
            r.load_seconds,
            r.write_seconds
        );
    }
    if !r.runs_diverged.is_empty() {
        crate::console::say!(
            "note: {} run(s) diverged: {}. Their pairs are in the per-run tables up to the \
             divergence; alignment_summary and spectrum_summary leave them out, as does the report",
            r.runs_diverged.len(),
            r.runs_diverged.join(", ")
        );
    }
    crate::console::say!("tables in {}", r.dir.display());
}
