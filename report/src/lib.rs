//! # eigensweep-report
//!
//! The last stage of eigensweep: pictures and the minima comparison, from a sweep's Parquet
//! tables alone.
//!
//! - [`report`] renders every figure of the paper ([`figures::FIGURES`]: 1/9, 2/13, 3–8,
//!   10–12, 14–16), one panel per optimiser and one figure per dataset, as SVG and PNG with
//!   the CSV of the plotted values beside each, and lays them out in a static
//!   `OUT/report/index.html` with captions and the sweep's settings. A figure whose data are
//!   missing is listed with the setting that would produce them. Figures are sized for a
//!   paper ([`ReportOptions`]: width and height in inches, text in points, PNG resolution,
//!   shared or free vertical axes).
//! - [`minima`] is the post-training comparison of Appendix B.2: per optimiser the run with
//!   the best final test accuracy, the loss along the line between every two such minima,
//!   λ1 and the ε-sharpness at each, written to `OUT/minima/*.parquet`; Fig. 8 draws it.
//!
//! A figure is data first ([`figure::Figure`]: panels of series, bands, reference lines),
//! laid out on a physical page ([`page`], [`layout`]: legends and notes outside the data,
//! labels with subscripts by [`math_text`]), drawn by one backend-generic function
//! ([`draw`]) on SVG and on a bitmap ([`render`]), with an embedded font ([`font`]) so
//! nothing needs to be installed.
//!
//! ```no_run
//! use eigensweep_report::{report, ReportOptions};
//! let summary = report(std::path::Path::new("out/quickstart"), &ReportOptions::default())?;
//! println!("{} figures, index at {}", summary.rendered(), summary.index.display());
//! # Ok::<(), eigensweep_report::ReportError>(())
//! ```

mod columns;
pub mod draw;
mod error;
pub mod figure;
pub mod figures;
pub mod font;
pub mod heatmap;
pub mod html;
pub mod inputs;
pub mod layout;
pub mod math_text;
pub mod minima;
mod options;
pub mod page;
pub mod render;
pub mod smoothing;
pub mod state;
mod sweep_info;
mod ticks;

#[cfg(test)]
mod testdata;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use eigensweep_worker::data::TrainTest;

pub use error::ReportError;
pub use minima::{minima, MinimaReport};
pub use options::{ImageFormat, MinimaOptions, ReportOptions, YAxes};

use crate::figures::{Built, Context, FIGURES};
use crate::inputs::Inputs;
use crate::render::{render_files, write_atomically, Picture};

/// Directory (under `OUT`) of the report.
pub const REPORT_DIR: &str = "report";
/// File name of the report's page.
pub const INDEX_FILE: &str = "index.html";

/// The files of a rendered figure, relative to `OUT/report`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FigureFiles {
    /// The SVG, if [`ReportOptions::formats`] asks for it.
    pub svg: Option<String>,
    /// The PNG, if [`ReportOptions::formats`] asks for it.
    pub png: Option<String>,
    /// The CSV of the plotted values.
    pub csv: String,
}

/// What became of one figure of one dataset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FigureOutcome {
    /// File stem, e.g. `fig01-displacement`.
    pub id: &'static str,
    /// The paper's figure number(s).
    pub number: &'static str,
    /// Short title.
    pub title: &'static str,
    /// Caption.
    pub caption: &'static str,
    /// Dataset.
    pub dataset: String,
    /// The files, if it was drawn.
    pub files: Option<FigureFiles>,
    /// Why not, and what enables it, if it was not.
    pub missing: Option<String>,
    /// What the figure leaves out or draws unfinished (diverged, failed, unfinished and not
    /// started runs, optimisers without data); empty when every run of the dataset is done.
    pub notes: Vec<String>,
}

/// What [`report`] wrote.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportSummary {
    /// Every figure of every dataset, in report order.
    pub figures: Vec<FigureOutcome>,
    /// `OUT/report`.
    pub dir: PathBuf,
    /// `OUT/report/index.html`.
    pub index: PathBuf,
}

impl ReportSummary {
    /// Figures drawn.
    pub fn rendered(&self) -> usize {
        self.figures.iter().filter(|f| f.files.is_some()).count()
    }
}

/// Renders the report of the sweep output `out` into `OUT/report/` from its tables: the
/// runs' tables, `OUT/analysis` (if the analysis ran) and `OUT/minima` (if [`minima`] ran;
/// Fig. 8 is listed as not available otherwise).
pub fn report(out: &Path, opts: &ReportOptions) -> Result<ReportSummary, ReportError> {
    opts.validate()?;
    let inputs = Inputs::load(out)?;
    let datasets = inputs.datasets();
    if inputs.catalog.runs.is_empty() {
        return Err(ReportError::data(
            out,
            "no run with snapshots under runs/: nothing to report",
        ));
    }
    check_chosen_seed(&inputs, opts)?;
    let dir = out.join(REPORT_DIR);
    fs::create_dir_all(&dir).map_err(|e| ReportError::io("creating directory", &dir, e))?;
    let ctx = Context {
        inputs: &inputs,
        opts,
    };
    let page = page::Page::new(opts);
    let mut outcomes = Vec::new();
    for spec in FIGURES {
        for dataset in &datasets {
            ctx.check_stop()?;
            let notes = dataset_notes(&inputs, dataset);
            let mut built = (spec.build)(&ctx, dataset)?;
            if let Built::Figure(fig) = &mut built {
                mark_coverage(&inputs, dataset, fig);
            }
            let (picture, csv): (Box<dyn Picture>, String) = match built {
                Built::Figure(mut fig) => {
                    fig.shared_y &= opts.y_axes == YAxes::Shared;
                    let csv = fig.to_csv();
                    (Box::new(fig), csv)
                }
                Built::Heatmap(map) => {
                    let csv = map.to_csv();
                    (Box::new(map), csv)
                }
                Built::NotAsked => continue,
                Built::Missing(why) => {
                    outcomes.push(FigureOutcome {
                        id: spec.id,
                        number: spec.number,
                        title: spec.title,
                        caption: spec.caption,
                        dataset: dataset.clone(),
                        files: None,
                        missing: Some(why),
                        notes,
                    });
                    continue;
                }
            };
            let sub = dir.join(dataset);
            let written =
                render_files(&sub, spec.id, &csv, picture.as_ref(), &page, &opts.formats)?;
            let rel = |ext: &str| format!("{dataset}/{}.{ext}", spec.id);
            outcomes.push(FigureOutcome {
                id: spec.id,
                number: spec.number,
                title: spec.title,
                caption: spec.caption,
                dataset: dataset.clone(),
                files: Some(FigureFiles {
                    svg: written.svg.map(|_| rel("svg")),
                    png: written.png.map(|_| rel("png")),
                    csv: rel("csv"),
                }),
                missing: None,
                notes,
            });
        }
    }
    let name = inputs
        .sweep
        .as_ref()
        .map(|s| s.sweep.resolved().name.clone())
        .unwrap_or_else(|| out.display().to_string());
    let page = html::index_html(
        &format!("eigensweep report: {name}"),
        &inputs.state,
        &outcomes,
        inputs.sweep.as_ref().map(|s| s.text.as_str()),
        inputs.sweep_error.as_deref(),
        opts,
    );
    ctx.check_stop()?;
    let index = dir.join(INDEX_FILE);
    write_atomically(&index, page.as_bytes())?;
    Ok(ReportSummary {
        figures: outcomes,
        dir,
        index,
    })
}

/// The state of the sweep in `out` as a text table ([`state::SweepState::text_table`]), read
/// from its tables alone: what `eigensweep run` prints when it ends.
pub fn state_table(out: &Path) -> Result<Vec<String>, ReportError> {
    Ok(Inputs::load(out)?.state.text_table())
}

/// What every figure of `dataset` must say about its runs: one line per optimiser whose runs
/// are not all done, and one per optimiser with nothing to draw.
fn dataset_notes(inputs: &Inputs, dataset: &str) -> Vec<String> {
    let mut optimizers: Vec<String> = Vec::new();
    for r in inputs.state.of_dataset(dataset) {
        if !optimizers.contains(&r.optimizer) {
            optimizers.push(r.optimizer.clone());
        }
    }
    let without = inputs.state.optimizers_without_data(dataset);
    let mut notes: Vec<String> = optimizers
        .iter()
        .filter(|o| !without.iter().any(|(w, _)| w == *o))
        .filter_map(|o| inputs.state.coverage(dataset, o))
        .collect();
    for (o, why) in without {
        notes.push(format!("{o}: no panel, no run to draw ({why})"));
    }
    notes
}

/// Sets each panel's coverage note (the CSV's `note` column): an optimiser's panel gets its
/// own; a panel of several optimisers (Fig. 5's final accuracies) gets all of theirs.
fn mark_coverage(inputs: &Inputs, dataset: &str, fig: &mut figure::Figure) {
    let optimizers = inputs.optimizers(dataset);
    for panel in &mut fig.panels {
        panel.coverage = if optimizers.contains(&panel.title) {
            inputs.state.coverage(dataset, &panel.title)
        } else {
            let all: Vec<String> = optimizers
                .iter()
                .filter_map(|o| inputs.state.coverage(dataset, o))
                .collect();
            (!all.is_empty()).then(|| all.join(" | "))
        };
    }
}

/// Refuses a chosen seed ([`ReportOptions::chosen_seed`]) that no run with snapshots has,
/// naming those they have: its figures would otherwise be drawn empty.
fn check_chosen_seed(inputs: &Inputs, opts: &ReportOptions) -> Result<(), ReportError> {
    let Some(seed) = opts.chosen_seed else {
        return Ok(());
    };
    let mut seeds: Vec<u64> = inputs.catalog.runs.iter().map(|r| r.seed).collect();
    seeds.sort_unstable();
    seeds.dedup();
    if seeds.contains(&seed) {
        Ok(())
    } else {
        Err(ReportError::UnknownSeed { seed, seeds })
    }
}

/// [`minima`] first where `OUT/minima` is missing or stale (computed from other run states;
/// see [`minima::provenance`]), or always with `recompute`; then [`report`]: what `eigensweep
/// report` runs when it has the datasets at hand. With
/// [`ReportOptions::keep_stale_minima`], stale minima are kept (and marked in Fig. 8). The
/// middle value says why the minima were (re)computed, if they were.
pub fn report_with_minima(
    out: &Path,
    data: &BTreeMap<String, TrainTest>,
    minima_opts: &MinimaOptions,
    recompute: bool,
    opts: &ReportOptions,
) -> Result<(Option<MinimaReport>, Option<String>, ReportSummary), ReportError> {
    // The options are checked before the comparison, which takes minutes.
    opts.validate()?;
    let inputs = Inputs::load(out)?;
    check_chosen_seed(&inputs, opts)?;
    let why = if recompute {
        Some("recomputing the minima comparison, as asked".to_string())
    } else {
        match minima::freshness(&inputs)? {
            minima::Freshness::Missing => Some("computing the minima comparison (Figure 8)".into()),
            minima::Freshness::Stale(why) if !opts.keep_stale_minima => Some(format!(
                "recomputing the minima comparison: the one in OUT/minima is stale ({why})"
            )),
            minima::Freshness::Stale(_) | minima::Freshness::Current => None,
        }
    };
    let mut why = why;
    let computed = match &why {
        Some(_) => match minima(out, data, minima_opts) {
            Ok(m) => Some(m),
            // Nothing to compare yet (no finished run): the figures are still worth drawing,
            // and Fig. 8 says why it is absent.
            Err(ReportError::Data { message, .. }) => {
                why = Some(format!("no minima comparison: {message}"));
                None
            }
            Err(e) => return Err(e),
        },
        None => None,
    };
    Ok((computed, why, report(out, opts)?))
}
