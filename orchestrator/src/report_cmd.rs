//! `eigensweep minima OUT` (Appendix B.2: the best minimum of each optimiser, the loss along
//! the line between every two of them, λ1 and ε-sharpness at each) and `eigensweep report OUT`
//! (every figure of the paper as SVG, PNG and CSV, with `OUT/report/index.html`).
//!
//! SIGTERM, SIGUSR1 or SIGINT stops either within one pass over the training set (minima) or
//! one figure (report) with [`INTERRUPTED`](exit_codes::INTERRUPTED); nothing half-done is
//! left, and the same command redoes what is missing. A full disk, quota, read-only or
//! failing filesystem exits with [`OUTPUT`](exit_codes::OUTPUT), naming the file and cause.

use std::collections::BTreeMap;
use std::path::Path;

use eigensweep_common::display::number;
use eigensweep_common::exit_codes;
use eigensweep_common::stop::StopFlag;
use eigensweep_common::sweep::{parse_sweep, read_sweep, DataSource, Overrides, ResolvedDataset};
use eigensweep_report::{
    minima, report, report_with_minima, MinimaOptions, ReportError, ReportOptions,
};
use eigensweep_worker::data::{data_digest, TrainTest};
use eigensweep_worker::output::fatal_io_cause;

use crate::cli::{DataArgs, MinimaArgs, MinimaSettings, ReportArgs};
use crate::failure::{Failure, WithExitCode};

/// The exit code of a report error. A full disk (or quota, read-only or failing filesystem)
/// is an output failure wherever in the chain of causes it sits.
fn failure(e: ReportError) -> Failure {
    let code = match &e {
        _ if fatal_io_cause(&e).is_some() => exit_codes::OUTPUT,
        ReportError::Interrupted { .. } => {
            return Failure {
                code: exit_codes::INTERRUPTED,
                error: anyhow::Error::new(e)
                    .context("stopped by a signal; run the same command again to finish"),
            }
        }
        ReportError::Option { .. } => exit_codes::USAGE,
        ReportError::Output(o) if o.is_reading() => exit_codes::INPUT,
        ReportError::Sweep { .. }
        | ReportError::UnknownSeed { .. }
        | ReportError::Data { .. }
        | ReportError::Parquet { .. }
        | ReportError::Analysis(_) => exit_codes::INPUT,
        ReportError::Io { .. } | ReportError::Output(_) => exit_codes::OUTPUT,
        ReportError::Model { .. } | ReportError::Eigen { .. } => exit_codes::NUMERICAL,
        ReportError::Draw { .. } => exit_codes::INTERNAL,
    };
    Failure {
        code,
        error: anyhow::Error::new(e),
    }
}

/// What to do when an output's datasets are not where its sweep read them.
const DATA_HINT: &str =
    "an output moved from another machine reads each dataset's folder with --data NAME=DIR";

/// The datasets of the sweep that wrote `out`, loaded as its runs saw them (`OUT/sweep.yaml`
/// holds the resolved sweep, with absolute dataset paths: this works from any directory).
/// `--data NAME=DIR` reads a dataset from another folder, with the same subset and
/// normalisation; a directory dataset's files must have the digest its runs recorded.
///
/// # Errors
/// Exit 3 ([`INPUT`](exit_codes::INPUT)): not a sweep output, a `--data` name the sweep does
/// not have, other files than the runs saw, data that cannot be read.
fn load_datasets(out: &Path, moved: &DataArgs) -> Result<BTreeMap<String, TrainTest>, Failure> {
    let path = out.join("sweep.yaml");
    let sweep = read_sweep(
        &path,
        &Overrides {
            output: Some(out.to_path_buf()),
            ..Overrides::default()
        },
    )
    .exit_code(
        exit_codes::INPUT,
        format!(
            "{} is not a sweep output (reading its sweep.yaml)",
            out.display()
        ),
    )?;
    let datasets = &sweep.resolved().datasets;
    for (name, _) in &moved.dirs {
        if !datasets.iter().any(|d| &d.name == name) {
            let names: Vec<&str> = datasets.iter().map(|d| d.name.as_str()).collect();
            return Err(Failure {
                code: exit_codes::INPUT,
                error: anyhow::anyhow!(
                    "--data {name}=…: the sweep in {} has no dataset `{name}` (it has {})",
                    out.display(),
                    names.join(", ")
                ),
            });
        }
    }
    let recorded = if moved.dirs.is_empty() {
        BTreeMap::new()
    } else {
        crate::status_cmd::recorded_data(out)
    };
    let mut data = BTreeMap::new();
    for d in datasets {
        let d = match moved.dirs.iter().rev().find(|(name, _)| name == &d.name) {
            Some((name, dir)) => {
                if let Some(expected) = recorded.get(name).and_then(|r| r.digest.as_ref()) {
                    let found = data_digest(dir).exit_code(
                        exit_codes::INPUT,
                        format!("--data {name}={}", dir.display()),
                    )?;
                    if &found != expected {
                        return Err(Failure {
                            code: exit_codes::INPUT,
                            error: anyhow::anyhow!(
                                "--data {name}={}: these files are not the ones the runs were \
                                 trained on (content digest {found}; the runs table records \
                                 {expected})",
                                dir.display()
                            ),
                        });
                    }
                }
                ResolvedDataset {
                    source: DataSource::Directory(dir.clone()),
                    ..d.clone()
                }
            }
            None => legacy_relative_source(&path, d).unwrap_or_else(|| d.clone()),
        };
        data.insert(d.name.clone(), crate::run_cmd::load_dataset(&d)?);
    }
    Ok(data)
}

/// `d` with its directory read from the current directory, where `OUT/sweep.yaml` was
/// written before relative paths were recorded absolute (they meant the current directory
/// then) and the path read from `OUT` does not exist but that one does. Old outputs keep
/// their Figure 8 when the report runs where the sweep ran.
fn legacy_relative_source(sweep_yaml: &Path, d: &ResolvedDataset) -> Option<ResolvedDataset> {
    let DataSource::Directory(resolved) = &d.source else {
        return None;
    };
    if resolved.exists() {
        return None;
    }
    let text = std::fs::read_to_string(sweep_yaml).ok()?;
    let as_written = parse_sweep(&text, &Overrides::default()).ok()?;
    let old = as_written
        .resolved()
        .datasets
        .iter()
        .find(|o| o.name == d.name)?;
    let DataSource::Directory(dir) = &old.source else {
        return None;
    };
    if !dir.is_relative() || !dir.is_dir() {
        return None;
    }
    crate::console::note!(
        "note: {}: dataset `{}`: {} does not exist; reading {} from the current directory, as \
         sweep files written before dataset paths were recorded absolute meant",
        sweep_yaml.display(),
        d.name,
        resolved.display(),
        dir.display()
    );
    Some(ResolvedDataset {
        source: DataSource::Directory(dir.clone()),
        ..d.clone()
    })
}

fn minima_options(args: &MinimaSettings, stop: &StopFlag) -> MinimaOptions {
    MinimaOptions {
        alpha_points: args.alpha_points,
        epsilon: args.epsilon,
        sharpness_iterations: args.sharpness_iterations,
        stop: stop.clone(),
        ..MinimaOptions::default()
    }
}

/// Installed first thing, so that a signal at any later moment is a request to stop.
fn install_stop() -> Result<StopFlag, Failure> {
    Ok(StopFlag::from(crate::run_cmd::install_signal_flag()?))
}

pub(crate) fn run_minima(args: MinimaArgs) -> Result<(), Failure> {
    crate::output_dir::require_output_dir("minima", &args.out)?;
    let stop = install_stop()?;
    let opts = minima_options(&args.settings, &stop);
    // One writer of OUT/minima at a time (see output_lock.rs); a `run` may go on meanwhile.
    let _lock = crate::output_lock::acquire_for_analysis(&args.out)?;
    let data = load_datasets(&args.out, &args.data).map_err(|f| Failure {
        code: f.code,
        error: f
            .error
            .context(format!("loading the sweep's datasets ({DATA_HINT})")),
    })?;
    let r = minima(&args.out, &data, &opts).map_err(failure)?;
    for note in &r.not_compared {
        crate::console::say!("not compared: {note}");
    }
    crate::console::say!(
        "{:<14} {:<10} {:>5} {:>9} {:>11} {:>12} {:>12}",
        "dataset",
        "optimizer",
        "seed",
        "test_acc",
        "loss",
        "λ1",
        "ε-sharpness"
    );
    for m in &r.minima {
        crate::console::say!(
            "{:<14} {:<10} {:>5} {:>9.4} {:>11} {:>12} {:>12}",
            m.dataset,
            m.optimizer,
            m.seed,
            m.test_accuracy,
            number(m.loss),
            number(m.lambda1),
            number(m.sharpness)
        );
    }
    crate::console::say!(
        "{} minima, {} interpolation points in {:.1} s → {}",
        r.minima.len(),
        r.interpolation.len(),
        r.seconds,
        r.dir.display()
    );
    Ok(())
}

pub(crate) fn run_report(args: ReportArgs) -> Result<(), Failure> {
    crate::output_dir::require_output_dir("report", &args.out)?;
    let stop = install_stop()?;
    // One writer of OUT/report (and OUT/minima) at a time; a `run` may go on meanwhile.
    let _lock = crate::output_lock::acquire_for_analysis(&args.out)?;
    render_report(&args, &stop)
}

/// Draws the report of `args.out` (and its minima, when missing or stale and the data is at
/// hand). The caller holds the analysis lock (`report`, or `analyze --follow --report`
/// between its passes).
pub(crate) fn render_report(args: &ReportArgs, stop: &StopFlag) -> Result<(), Failure> {
    let opts = ReportOptions {
        convergence_sigma: args.convergence_sigma,
        alignment_sigma: args.alignment_sigma,
        waiting_times: args.waiting_times,
        chosen_seed: args.seed,
        density_steps: args.density_steps.clone(),
        keep_stale_minima: args.keep_stale_minima,
        width_in: args.width_in,
        height_in: args.height_in,
        font_pt: args.font_pt,
        dpi: args.dpi,
        formats: args.formats.clone(),
        y_axes: args.y_axes,
        stop: stop.clone(),
    };
    let minima_opts = minima_options(&args.minima, stop);
    let summary = if args.no_minima {
        report(&args.out, &opts).map_err(failure)?
    } else {
        // Fig. 8 needs the minima; compute them if they are missing or stale and the data
        // is here.
        match load_datasets(&args.out, &args.data) {
            Ok(data) => {
                let (computed, why, summary) =
                    report_with_minima(&args.out, &data, &minima_opts, false, &opts)
                        .map_err(failure)?;
                if let Some(why) = why {
                    crate::console::say!("{why}");
                }
                for note in computed.iter().flat_map(|m| &m.not_compared) {
                    crate::console::say!("minima: not compared: {note}");
                }
                summary
            }
            Err(f) => {
                crate::console::note!(
                    "note: no minima comparison (Figure 8): {}; {DATA_HINT}",
                    crate::failure::chain(&f.error)
                );
                report(&args.out, &opts).map_err(failure)?
            }
        }
    };
    let drawn = summary.figures.iter().filter(|f| f.files.is_some()).count();
    for f in summary.figures.iter().filter(|f| f.files.is_none()) {
        crate::console::say!(
            "not available: Figure {} ({}) for {}: {}",
            f.number,
            f.title,
            f.dataset,
            f.missing.as_deref().unwrap_or("no data")
        );
    }
    let formats: Vec<String> = opts
        .formats
        .iter()
        .map(|f| f.extension().to_uppercase())
        .collect();
    crate::console::say!(
        "{drawn} figures ({} and CSV each) in {}; open {}",
        formats.join(", "),
        summary.dir.display(),
        summary.index.display()
    );
    Ok(())
}
