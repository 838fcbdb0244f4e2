//! End-to-end tests on a real small sweep output (see `testdata`): every figure file, the
//! CSVs against the tables they plot, the minima comparison, and the HTML page.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use eigensweep_analysis::tables::{SpectrumSummaryRow, SPECTRUM_SUMMARY_FILE};
use eigensweep_common::stop::StopFlag;
use eigensweep_worker::output::{read_metric_rows, read_table, SnapshotRow};

use crate::figures::FIGURES;
use crate::html::referenced_paths;
use crate::inputs::{read_columns, Inputs};
use crate::minima::{epsilon_sharpness, final_theta, Evaluator};
use crate::testdata::fixture;
use crate::{report, ReportOptions, INDEX_FILE, REPORT_DIR};

/// CSV rows of a figure as (panel, series, x, y).
fn csv_rows(path: &Path) -> Vec<(String, String, f64, f64)> {
    let text = fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some("panel,series,x,y,lo,hi,note,y_raw"),
        "{}",
        path.display()
    );
    lines
        .map(|l| {
            let f = split_csv(l);
            (
                f[0].clone(),
                f[1].clone(),
                f[2].parse().unwrap(),
                f[3].parse().unwrap(),
            )
        })
        .collect()
}

/// Splits one CSV line, honouring double-quoted fields.
fn split_csv(line: &str) -> Vec<String> {
    let (mut fields, mut field, mut quoted) = (Vec::new(), String::new(), false);
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            '"' => quoted = !quoted,
            ',' if !quoted => fields.push(std::mem::take(&mut field)),
            _ => field.push(c),
        }
    }
    fields.push(field);
    fields
}

fn close(a: f64, b: f64, rel: f64) -> bool {
    (a - b).abs() <= rel * a.abs().max(b.abs()).max(1e-300)
}

fn report_dir() -> std::path::PathBuf {
    fixture().out().join(REPORT_DIR)
}

#[test]
fn every_figure_is_rendered_as_valid_svg_png_and_csv() {
    let f = fixture();
    assert_eq!(f.report.figures.len(), FIGURES.len());
    for outcome in &f.report.figures {
        let files = outcome
            .files
            .as_ref()
            .unwrap_or_else(|| panic!("{} missing: {:?}", outcome.id, outcome.missing));
        let dir = report_dir();
        let (png_path, svg_path) = (files.png.as_ref().unwrap(), files.svg.as_ref().unwrap());
        let png = fs::read(dir.join(png_path)).unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "{png_path}");
        let decoder = png::Decoder::new(std::io::Cursor::new(png.clone()));
        let mut reader = decoder.read_info().unwrap();
        let (w, h) = (reader.info().width, reader.info().height);
        // Issue 26.3: 7 in wide at 300 dpi, the resolution recorded in the file.
        assert_eq!(w, 2100, "{png_path}");
        assert!((300..=3000).contains(&h), "{png_path} {w}×{h}");
        let dims = reader.info().pixel_dims.unwrap();
        assert_eq!((dims.xppu, dims.unit), (11811, png::Unit::Meter));
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        reader.next_frame(&mut buf).unwrap();
        // Not a blank picture: a good share of non-white pixels.
        let inked = buf.chunks(3).filter(|p| p.iter().any(|&c| c < 200)).count();
        assert!(inked > 1000, "{png_path} has only {inked} dark pixels");

        let svg = fs::read_to_string(dir.join(svg_path)).unwrap();
        assert!(
            svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"),
            "{svg_path}"
        );
        // The same picture, its size in inches.
        assert!(svg.contains("width=\"7in\""), "{svg_path}");
        assert!(
            svg.contains(&format!("viewBox=\"0 0 {w} {h}\"")),
            "{svg_path}"
        );
        assert!(svg.len() > 2_000, "{svg_path}");

        let csv = fs::read_to_string(dir.join(&files.csv)).unwrap();
        assert!(csv.lines().count() > 2, "{} is empty", files.csv);
    }
}

#[test]
fn ipr_csv_holds_the_spectrum_summary() {
    let f = fixture();
    let rows: Vec<SpectrumSummaryRow> =
        read_table(&f.out().join("analysis").join(SPECTRUM_SUMMARY_FILE)).unwrap();
    let csv = csv_rows(&report_dir().join("synthetic/fig03-ipr.csv"));
    for optimizer in ["sgd", "adam"] {
        let want: Vec<(f64, f64)> = rows
            .iter()
            .filter(|r| r.optimizer == optimizer && r.index == 1)
            .map(|r| (r.step as f64, r.ipr_mean))
            .collect();
        let got: Vec<(f64, f64)> = csv
            .iter()
            .filter(|r| r.0 == optimizer && r.1.starts_with("mean"))
            .map(|r| (r.2, r.3))
            .collect();
        assert_eq!(got, want, "{optimizer}");
        assert!(!want.is_empty());
    }
    // The 1/N line.
    let n = 784 * 8 + 8 + 8 * 8 + 8 + 8 * 10 + 10;
    assert!(csv
        .iter()
        .any(|r| r.1.starts_with("1/N") && r.3 == 1.0 / n as f64));
}

#[test]
fn accuracy_csv_holds_the_metrics() {
    let f = fixture();
    let inputs = Inputs::load(f.out()).unwrap();
    let csv = csv_rows(&report_dir().join("synthetic/fig05-test-accuracy.csv"));
    for (run, metrics) in inputs.catalog.runs.iter().zip(&inputs.metrics) {
        let want: Vec<(f64, f64)> = metrics
            .iter()
            .filter_map(|m| Some((m.step as f64, m.test_accuracy?)))
            .collect();
        let got: Vec<(f64, f64)> = csv
            .iter()
            .filter(|r| r.0 == run.optimizer && r.1 == format!("seed {}", run.seed))
            .map(|r| (r.2, r.3))
            .collect();
        assert_eq!(got, want);
        assert_eq!(want.len(), 5); // steps 0, 10, 20, 30, 40
    }
}

#[test]
fn displacement_csv_is_the_mean_over_seeds_and_has_the_baseline() {
    let f = fixture();
    let inputs = Inputs::load(f.out()).unwrap();
    let csv = csv_rows(&report_dir().join("synthetic/fig01-displacement.csv"));
    // t_w = 0 of SGD: mean over both seeds of Δ⁽¹⁾(0, t).
    let mut sums: BTreeMap<u64, (f64, f64)> = BTreeMap::new();
    for (_, run) in inputs.runs("synthetic", "sgd") {
        let c = read_columns(
            &inputs.pair_table_dir("displacement", run),
            &["index", "step_w", "lag", "delta"],
        )
        .unwrap();
        for (((&index, &wait), &lag), &delta) in c[0].iter().zip(&c[1]).zip(&c[2]).zip(&c[3]) {
            if index == 1.0 && wait == 0.0 {
                let e = sums.entry(lag as u64).or_default();
                e.0 += delta;
                e.1 += 1.0;
            }
        }
    }
    let got: BTreeMap<u64, f64> = csv
        .iter()
        .filter(|r| r.0 == "sgd" && r.1 == "t_w = 0")
        .map(|r| (r.2 as u64, r.3))
        .collect();
    assert_eq!(got.len(), 8, "lags 5..40");
    for (lag, (sum, n)) in sums {
        assert_eq!(n, 2.0);
        assert!(close(got[&lag], sum / n, 1e-12), "lag {lag}");
    }
    assert!(csv.iter().any(|r| r.1.starts_with("baseline τ")));
}

#[test]
fn eigenvector_map_csv_holds_the_final_leading_eigenvector() {
    let f = fixture();
    let inputs = Inputs::load(f.out()).unwrap();
    let (_, run) = inputs
        .runs("synthetic", "adam")
        .into_iter()
        .find(|(_, r)| r.seed == 0)
        .unwrap();
    let rows = crate::inputs::read_columns(&run.dirs.snapshots, &["step"]).unwrap();
    let last = rows[0].iter().cloned().fold(0.0, f64::max) as u64;
    let snapshot = eigensweep_worker::output::read_snapshot_rows(&run.dirs.snapshots)
        .unwrap()
        .into_iter()
        .find(|r: &SnapshotRow| r.step == last && r.index == 1)
        .unwrap();
    let text =
        fs::read_to_string(report_dir().join("synthetic/fig16-eigenvector-map.csv")).unwrap();
    let values: Vec<f32> = text
        .lines()
        .skip(1)
        .filter(|l| l.starts_with("\"adam, step"))
        .map(|l| l.rsplit(',').next().unwrap().parse().unwrap())
        .collect();
    // The CSV lists layer by layer weights then bias: the flat layout itself.
    assert_eq!(values.len(), snapshot.eigenvector.len());
    assert!(
        values == snapshot.eigenvector,
        "CSV differs from the eigenvector"
    );
}

#[test]
fn interpolation_ends_are_the_minima_and_csv_holds_the_curve() {
    let f = fixture();
    let m = &f.minima;
    assert_eq!(m.minima.len(), 2);
    let loss_of = |opt: &str| m.minima.iter().find(|r| r.optimizer == opt).unwrap().loss;
    let at = |alpha: f64| {
        m.interpolation
            .iter()
            .find(|r| r.alpha == alpha && r.optimizer_a == "sgd" && r.optimizer_b == "adam")
            .unwrap()
            .loss
    };
    assert!(
        close(at(1.0), loss_of("sgd"), 1e-12),
        "{} vs {}",
        at(1.0),
        loss_of("sgd")
    );
    assert!(close(at(0.0), loss_of("adam"), 1e-12));
    assert_eq!(m.interpolation.first().unwrap().alpha, -1.0);
    assert_eq!(m.interpolation.last().unwrap().alpha, 2.0);
    // The minima are the best final test accuracy of each optimiser.
    let inputs = Inputs::load(f.out()).unwrap();
    for row in &m.minima {
        for (_, run) in inputs.runs("synthetic", &row.optimizer) {
            let acc = read_metric_rows(&run.dirs.metrics)
                .unwrap()
                .iter()
                .filter_map(|r| r.test_accuracy)
                .next_back()
                .unwrap();
            assert!(acc <= row.test_accuracy);
        }
    }
    let csv = csv_rows(&report_dir().join("synthetic/fig08-minima.csv"));
    let curve: Vec<(f64, f64)> = csv
        .iter()
        .filter(|r| r.1 == "A = sgd, B = adam")
        .map(|r| (r.2, r.3))
        .collect();
    let want: Vec<(f64, f64)> = m.interpolation.iter().map(|r| (r.alpha, r.loss)).collect();
    assert_eq!(curve, want);
}

#[test]
fn lambda1_at_the_minimum_matches_the_runs_last_snapshot() {
    let f = fixture();
    let inputs = Inputs::load(f.out()).unwrap();
    for row in &f.minima.minima {
        let (_, run) = inputs
            .runs("synthetic", &row.optimizer)
            .into_iter()
            .find(|(_, r)| r.seed == row.seed)
            .unwrap();
        let last = run.snapshots.last().unwrap();
        assert_eq!(last.step, row.step);
        let stored = last.pairs[0].eigenvalue;
        // f64 here, f32 in the run, both to tol 1e-3.
        assert!(
            close(row.lambda1, stored, 5e-3),
            "{} vs {stored}",
            row.lambda1
        );
        assert!(row.sharpness >= 0.0);
    }
}

#[test]
fn epsilon_sharpness_is_zero_at_zero_non_negative_and_grows_with_epsilon() {
    let f = fixture();
    let inputs = Inputs::load(f.out()).unwrap();
    let (_, run) = inputs.runs("synthetic", "sgd")[0];
    let (_, theta) = final_theta(run).unwrap();
    let arch = eigensweep_worker::mlp::Architecture::new(vec![784, 8, 8, 10]).unwrap();
    let eval = Evaluator::new(&f.data["synthetic"].train, &arch, 100).unwrap();
    let zero = epsilon_sharpness(&eval, &theta, 0.0, 5, 0.25, &StopFlag::new())
        .unwrap()
        .unwrap();
    assert_eq!(zero.sharpness, 0.0);
    let mut previous = 0.0;
    for eps in [1e-4, 1e-3, 1e-2, 5e-2] {
        let s = epsilon_sharpness(&eval, &theta, eps, 5, 0.25, &StopFlag::new())
            .unwrap()
            .unwrap();
        assert!(s.sharpness >= 0.0 && s.max_loss >= s.loss);
        assert!(
            s.sharpness > previous,
            "ε = {eps}: {} ≤ {previous}",
            s.sharpness
        );
        previous = s.sharpness;
    }
}

#[test]
fn html_references_only_existing_files_and_every_figure() {
    let f = fixture();
    let dir = report_dir();
    let html = fs::read_to_string(dir.join(INDEX_FILE)).unwrap();
    let paths = referenced_paths(&html);
    assert!(!paths.is_empty());
    for p in &paths {
        assert!(dir.join(p).is_file(), "index.html references missing {p}");
    }
    for outcome in &f.report.figures {
        let files = outcome.files.as_ref().unwrap();
        for file in [files.png.as_ref(), files.svg.as_ref(), Some(&files.csv)] {
            assert!(paths.contains(file.unwrap()), "{file:?}");
        }
    }
    assert!(html.contains("store_weights: true"), "sweep settings shown");
}

#[test]
fn missing_analysis_and_minima_are_listed_with_what_enables_them() {
    // The runs alone: no analysis, no minima.
    let f = fixture();
    let bare = tempfile::tempdir().unwrap();
    copy_dir(&f.out().join("runs"), &bare.path().join("runs"));
    fs::copy(f.out().join("sweep.yaml"), bare.path().join("sweep.yaml")).unwrap();
    let summary = report(bare.path(), &ReportOptions::default()).unwrap();
    let outcome = |id: &str| summary.figures.iter().find(|o| o.id == id).unwrap();
    let fig8 = outcome("fig08-minima");
    assert!(fig8.files.is_none());
    assert!(fig8
        .missing
        .as_deref()
        .unwrap()
        .contains("eigensweep minima"));
    assert!(outcome("fig01-displacement")
        .missing
        .as_deref()
        .unwrap()
        .contains("analysis"));
    // What the run tables alone give is still drawn.
    for id in [
        "fig04-training-loss",
        "fig05-test-accuracy",
        "fig12-raw-alignment",
        "fig15-ipr-top-k",
        "fig16-eigenvector-map",
    ] {
        assert!(outcome(id).files.is_some(), "{id}");
    }
    let html = fs::read_to_string(summary.index).unwrap();
    assert!(html.contains("Not available") && html.contains("eigensweep minima"));
    for p in referenced_paths(&html) {
        assert!(summary.dir.join(&p).is_file(), "{p}");
    }
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), target).unwrap();
        }
    }
}

#[test]
fn a_requested_stop_ends_report_and_minima_without_writing() {
    let f = fixture();
    let stop = StopFlag::new();
    stop.request();
    let before = fs::read(f.out().join("minima/minima.parquet")).unwrap();
    let err = crate::minima(
        f.out(),
        &f.data,
        &crate::MinimaOptions {
            stop: stop.clone(),
            ..crate::MinimaOptions::default()
        },
    )
    .unwrap_err();
    assert!(
        matches!(err, crate::ReportError::Interrupted { .. }),
        "{err}"
    );
    assert_eq!(
        fs::read(f.out().join("minima/minima.parquet")).unwrap(),
        before
    );
    let err = report(
        f.out(),
        &ReportOptions {
            stop,
            ..ReportOptions::default()
        },
    )
    .unwrap_err();
    assert!(
        matches!(err, crate::ReportError::Interrupted { .. }),
        "{err}"
    );
}

/// Issue 26.4: `report OUT --seed 5` on a sweep without seed 5 drew its single-run figures
/// empty and exited 0; it is refused, naming the seeds there are, before any minima work.
#[test]
fn a_chosen_seed_no_run_has_is_refused_naming_the_seeds() {
    let f = fixture();
    let opts = ReportOptions {
        chosen_seed: Some(999),
        ..ReportOptions::default()
    };
    let inputs = Inputs::load(f.out()).unwrap();
    let mut seeds: Vec<u64> = inputs.catalog.runs.iter().map(|r| r.seed).collect();
    seeds.sort_unstable();
    seeds.dedup();
    let listed = seeds
        .iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    let minima_opts = crate::MinimaOptions::default();
    for err in [
        report(f.out(), &opts).unwrap_err(),
        crate::report_with_minima(f.out(), &f.data, &minima_opts, true, &opts).unwrap_err(),
    ] {
        assert!(
            matches!(&err, crate::ReportError::UnknownSeed { seed: 999, seeds: s } if *s == seeds),
            "{err}"
        );
        assert!(
            err.to_string().ends_with(&format!(
                "no run with snapshots has it; the runs' seeds are {listed}"
            )),
            "{err}"
        );
    }
    let opts = ReportOptions {
        chosen_seed: seeds.first().copied(),
        ..ReportOptions::default()
    };
    assert!(crate::check_chosen_seed(&inputs, &opts).is_ok());
}

#[test]
fn epsilon_sharpness_returns_none_when_stopped() {
    let f = fixture();
    let inputs = Inputs::load(f.out()).unwrap();
    let (_, run) = inputs.runs("synthetic", "sgd")[0];
    let (_, theta) = final_theta(run).unwrap();
    let arch = eigensweep_worker::mlp::Architecture::new(vec![784, 8, 8, 10]).unwrap();
    let eval = Evaluator::new(&f.data["synthetic"].train, &arch, 100).unwrap();
    let stop = StopFlag::new();
    stop.request();
    assert!(epsilon_sharpness(&eval, &theta, 1e-3, 5, 0.25, &stop)
        .unwrap()
        .is_none());
}

#[test]
fn a_failed_atomic_write_leaves_no_temporary_file() {
    let dir = tempfile::tempdir().unwrap();
    // The rename fails: a non-empty directory holds the name.
    let target = dir.path().join("fig.svg");
    fs::create_dir(&target).unwrap();
    fs::write(target.join("inside"), b"x").unwrap();
    let err = crate::render::write_atomically(&target, b"<svg/>").unwrap_err();
    assert!(err.to_string().contains("fig.svg"), "{err}");
    let names: Vec<_> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, vec!["fig.svg".to_string()], "left behind: {names:?}");
}

/// Issue 26.3: Fig. 7's Adam v1 ended at 0.753 although |v(t_final)·v(t_final)| = 1 by
/// definition, and the CSV held only smoothed values. Every curve now ends at its raw value,
/// and the CSV has both.
#[test]
fn convergence_curves_end_at_one_and_the_csv_has_raw_and_smoothed_values() {
    fixture();
    let text = fs::read_to_string(report_dir().join("synthetic/fig07-convergence.csv")).unwrap();
    let mut last: BTreeMap<(String, String), (f64, f64, f64)> = BTreeMap::new();
    let mut smoothed_somewhere = false;
    for line in text.lines().skip(1) {
        let f = split_csv(line);
        let (x, y): (f64, f64) = (f[2].parse().unwrap(), f[3].parse().unwrap());
        let raw: f64 = f[7]
            .parse()
            .unwrap_or_else(|_| panic!("no y_raw in {line}"));
        smoothed_somewhere |= (y - raw).abs() > 1e-9;
        let e = last
            .entry((f[0].clone(), f[1].clone()))
            .or_insert((x, y, raw));
        if x >= e.0 {
            *e = (x, y, raw);
        }
    }
    assert!(smoothed_somewhere, "σ = 2 smooths");
    assert!(last.len() >= 4, "{last:?}");
    for ((panel, series), (_, y, raw)) in last {
        assert!((raw - 1.0).abs() < 1e-5, "{panel} {series}: raw {raw}");
        assert_eq!(y, raw, "{panel} {series}");
    }
}

/// Issue 26.3: size, resolution, formats and axes are the caller's; the PNG is as many pixels
/// as inches × dpi, and the page offers what was written.
#[test]
fn figure_options_set_size_resolution_formats_and_axes() {
    let f = fixture();
    let copy = tempfile::tempdir().unwrap();
    copy_dir(&f.out().join("runs"), &copy.path().join("runs"));
    copy_dir(&f.out().join("analysis"), &copy.path().join("analysis"));
    copy_dir(&f.out().join("minima"), &copy.path().join("minima"));
    // An earlier report's SVGs, which a PNG-only report must not leave beside its PNGs.
    copy_dir(&f.out().join(REPORT_DIR), &copy.path().join(REPORT_DIR));
    fs::copy(f.out().join("sweep.yaml"), copy.path().join("sweep.yaml")).unwrap();
    for file in fs::read_dir(f.out()).unwrap() {
        let path = file.unwrap().path();
        if path.is_file() {
            fs::copy(&path, copy.path().join(path.file_name().unwrap())).unwrap();
        }
    }
    let opts = ReportOptions {
        width_in: 3.5,
        height_in: Some(2.5),
        dpi: 200,
        font_pt: 9.0,
        formats: vec![crate::ImageFormat::Png],
        y_axes: crate::YAxes::Free,
        ..ReportOptions::default()
    };
    let summary = report(copy.path(), &opts).unwrap();
    let drawn: Vec<_> = summary
        .figures
        .iter()
        .filter_map(|o| o.files.as_ref())
        .collect();
    assert_eq!(drawn.len(), FIGURES.len());
    for files in drawn {
        assert!(files.svg.is_none());
        let png = fs::read(summary.dir.join(files.png.as_ref().unwrap())).unwrap();
        let reader = png::Decoder::new(std::io::Cursor::new(png))
            .read_info()
            .unwrap();
        let (w, h) = (reader.info().width, reader.info().height);
        assert_eq!((w, h), (700, 500), "{:?}", files.png);
        assert!(!summary.dir.join(files.csv.replace(".csv", ".svg")).exists());
    }
    let html = fs::read_to_string(&summary.index).unwrap();
    assert!(!html.contains(".svg\""), "no SVG offered");
    assert!(html.contains("PNG at 200 dpi") && html.contains("free (each panel"));
    for p in referenced_paths(&html) {
        assert!(summary.dir.join(&p).is_file(), "{p}");
    }
}
