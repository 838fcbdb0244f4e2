//! End-to-end tests of `analyze` on the synthetic sweep of `testdata`, against plain f64
//! loops over the same vectors.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use eigensweep_worker::output::{read_table, Row};

use crate::manifest::Manifest;
use crate::tables::*;
use crate::testdata::{write_run, Synth, SynthRun};
use crate::{analyze, AnalysisError, AnalyzeOptions, AnalyzeReport, ClusterProcess};

fn dot(a: &[f32], b: &[f32]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(&x, &y)| f64::from(x) * f64::from(y))
        .sum()
}

fn opts(workers: usize) -> AnalyzeOptions {
    // Tiles of 6 rows (2 snapshots at k = 3, 3 at k = 2) and panels of 2 tiles: several
    // tiles per run, partial last tiles, and several waves, on a handful of snapshots.
    AnalyzeOptions {
        workers,
        tile_rows: 6,
        panel: 2,
        ..AnalyzeOptions::default()
    }
}

fn run_analyze(out: &Path, opts: &AnalyzeOptions) -> AnalyzeReport {
    analyze(out, opts, &|_| {}).unwrap()
}

/// Every part of a table, in path order.
fn read_all<R: Row>(dir: &Path) -> Vec<R> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "parquet") {
                files.push(p);
            }
        }
    }
    files.sort();
    files
        .iter()
        .flat_map(|f| read_table::<R>(f).unwrap())
        .collect()
}

fn table(out: &Path, name: &str) -> PathBuf {
    out.join("analysis").join(name)
}

fn close(a: f64, b: f64, tol: f64, what: &str) {
    assert!(
        (a - b).abs() <= tol || (a.is_nan() && b.is_nan()),
        "{what}: got {a}, want {b} (tol {tol})"
    );
}

fn check_against_loops(synth: &Synth, out: &Path) {
    let n = synth.n as f64;
    let runs: BTreeMap<&str, &SynthRun> =
        synth.runs.iter().map(|r| (r.run_key.as_str(), r)).collect();

    // displacement: every (run, index, s < s') exactly once, |cos| and Δ as in f64.
    let rows: Vec<DisplacementRow> = read_all(&table(out, "displacement"));
    let mut seen = BTreeSet::new();
    for r in &rows {
        assert!(
            seen.insert((r.run_key.clone(), r.index, r.step_w, r.step)),
            "duplicate {r:?}"
        );
        let run = runs[r.run_key.as_str()];
        assert_eq!(
            (r.dataset.as_str(), r.optimizer.as_str(), r.seed),
            (run.dataset.as_str(), run.optimizer.as_str(), run.seed)
        );
        let i = r.index as usize - 1;
        let c = dot(&run.vectors[&r.step_w][i], &run.vectors[&r.step][i]).abs();
        close(r.abs_cos, c, 1e-6, "abs_cos");
        close(r.delta, (2.0 - 2.0 * c) / n, 2e-6 / n, "delta");
        assert_eq!(r.lag, r.step - r.step_w);
        assert!(r.step_w < r.step);
    }
    let want: usize = synth
        .runs
        .iter()
        .map(|r| r.k * r.vectors.len() * (r.vectors.len() - 1) / 2)
        .sum();
    assert_eq!(seen.len(), want, "displacement pairs");

    // subspace overlap.
    let rows: Vec<SubspaceOverlapRow> = read_all(&table(out, "subspace_overlap"));
    let mut seen = BTreeSet::new();
    for r in &rows {
        assert!(seen.insert((r.run_key.clone(), r.step_w, r.step)));
        let run = runs[r.run_key.as_str()];
        let (a, b) = (&run.vectors[&r.step_w], &run.vectors[&r.step]);
        let sum: f64 = a
            .iter()
            .flat_map(|x| b.iter().map(move |y| dot(x, y).powi(2)))
            .sum();
        assert_eq!(r.k as usize, run.k);
        close(r.overlap, sum / run.k as f64, 1e-6, "overlap");
    }
    let want: usize = synth
        .runs
        .iter()
        .map(|r| r.vectors.len() * (r.vectors.len() - 1) / 2)
        .sum();
    assert_eq!(seen.len(), want, "subspace pairs");

    // weight displacement and two-time update alignment (Eq. 6), where θ was stored.
    let rows: Vec<WeightDisplacementRow> = read_all(&table(out, "weight_displacement"));
    let mut seen = BTreeSet::new();
    for r in &rows {
        assert!(seen.insert((r.run_key.clone(), r.step_w, r.step)));
        let run = runs[r.run_key.as_str()];
        let (a, b) = (&run.theta[&r.step_w], &run.theta[&r.step]);
        let d: f64 = a
            .iter()
            .zip(b.iter())
            .map(|(&x, &y)| (f64::from(x) - f64::from(y)).powi(2))
            .sum();
        close(r.delta_w, d / n, 1e-12 * d.max(1.0), "delta_w");
    }
    let want: usize = synth
        .runs
        .iter()
        .map(|r| r.theta.len() * (r.theta.len().saturating_sub(1)) / 2)
        .sum();
    assert_eq!(seen.len(), want, "weight pairs");
    let rows: Vec<UpdateAlignmentRow> = read_all(&table(out, "update_alignment_two_time"));
    let mut seen = BTreeSet::new();
    for r in &rows {
        assert!(seen.insert((r.run_key.clone(), r.index, r.step_w, r.step)));
        let run = runs[r.run_key.as_str()];
        let (a, b) = (&run.theta[&r.step_w], &run.theta[&r.step]);
        let diff: Vec<f64> = a
            .iter()
            .zip(b.iter())
            .map(|(&x, &y)| f64::from(y) - f64::from(x))
            .collect();
        let norm = diff.iter().map(|x| x * x).sum::<f64>().sqrt();
        let v = &run.vectors[&r.step_w][r.index as usize - 1];
        let along: f64 = v.iter().zip(&diff).map(|(&x, y)| f64::from(x) * y).sum();
        close(r.alignment, along.abs() / norm, 1e-9, "update alignment");
    }
    let want: usize = synth
        .runs
        .iter()
        .map(|r| r.k * r.theta.len() * (r.theta.len().saturating_sub(1)) / 2)
        .sum();
    assert_eq!(seen.len(), want, "update alignment pairs");

    // convergence to the final eigenvector.
    let rows: Vec<ConvergenceRow> = read_all(&table(out, "convergence"));
    let mut seen = BTreeSet::new();
    for r in &rows {
        assert!(seen.insert((r.run_key.clone(), r.index, r.step)));
        let run = runs[r.run_key.as_str()];
        let last = *run.vectors.keys().last().unwrap();
        assert_eq!(r.final_step, last);
        let i = r.index as usize - 1;
        close(
            r.abs_cos,
            dot(&run.vectors[&last][i], &run.vectors[&r.step][i]).abs(),
            1e-6,
            "convergence",
        );
    }
    assert_eq!(
        seen.len(),
        synth
            .runs
            .iter()
            .map(|r| r.k * r.vectors.len())
            .sum::<usize>()
    );

    // baseline: all M(M−1)/2 network pairs per index.
    let rows: Vec<BaselineStatsRow> =
        read_table(&out.join("analysis").join(BASELINE_FILE)).unwrap();
    let networks = &synth.baseline["synth"];
    assert_eq!(rows.len(), 2);
    for r in &rows {
        let i = r.index as usize - 1;
        let mut cos = Vec::new();
        for a in 0..networks.len() {
            for b in a + 1..networks.len() {
                cos.push(dot(&networks[a][i], &networks[b][i]).abs());
            }
        }
        let mean = cos.iter().sum::<f64>() / cos.len() as f64;
        let std =
            (cos.iter().map(|c| (c - mean).powi(2)).sum::<f64>() / (cos.len() - 1) as f64).sqrt();
        assert_eq!(r.pairs as usize, cos.len());
        assert_eq!(r.networks, 7);
        assert_eq!(r.parameters, synth.n as u64);
        close(r.mean_abs_cos, mean, 1e-6, "baseline mean");
        close(r.std_abs_cos, std, 1e-6, "baseline std");
        close(r.tau, (2.0 - 2.0 * mean) / n, 2e-6 / n, "tau");
    }

    // summaries.
    let rows: Vec<RunAlignmentRow> =
        read_table(&out.join("analysis").join(RUN_ALIGNMENT_FILE)).unwrap();
    assert_eq!(rows.len(), synth.runs.iter().map(|r| r.k).sum::<usize>());
    for r in &rows {
        let run = runs[r.run_key.as_str()];
        let i = r.index as usize - 1;
        let g: Vec<f64> = run
            .alignments
            .values()
            .map(|a| a[i].0)
            .filter(|x| !x.is_nan())
            .collect();
        assert_eq!(r.snapshots as usize, g.len());
        close(
            r.mean_grad_alignment,
            g.iter().sum::<f64>() / g.len() as f64,
            1e-12,
            "mean grad",
        );
    }
    let rows: Vec<AlignmentSummaryRow> =
        read_table(&out.join("analysis").join(ALIGNMENT_SUMMARY_FILE)).unwrap();
    let sgd1 = rows
        .iter()
        .find(|r| r.optimizer == "sgd" && r.index == 1)
        .unwrap();
    assert_eq!(sgd1.runs, 2);
    let adam3 = rows
        .iter()
        .find(|r| r.optimizer == "adam" && r.index == 3)
        .unwrap();
    assert_eq!(adam3.runs, 1);
    assert!(adam3.grad_alignment_std.is_nan());
    let rows: Vec<SpectrumSummaryRow> =
        read_table(&out.join("analysis").join(SPECTRUM_SUMMARY_FILE)).unwrap();
    let r = rows
        .iter()
        .find(|r| r.optimizer == "adam" && r.index == 1 && r.step == 20)
        .unwrap();
    assert_eq!(r.runs, 2);
    let iprs: Vec<f64> = synth
        .runs
        .iter()
        .filter(|r| r.optimizer == "adam")
        .map(|r| crate::testdata::ipr(&r.vectors[&20][0]))
        .collect();
    close(r.ipr_min, iprs[0].min(iprs[1]), 1e-15, "ipr min");
    close(r.ipr_mean, (iprs[0] + iprs[1]) / 2.0, 1e-15, "ipr mean");
}

#[test]
fn every_table_matches_f64_loops_and_every_pair_appears_once() {
    let tmp = tempfile::tempdir().unwrap();
    let synth = Synth::standard();
    synth.write(tmp.path());
    let report = run_analyze(tmp.path(), &opts(2));
    assert_eq!(report.runs, 4);
    assert_eq!(report.baselines, 1);
    assert_eq!(report.jobs_reused, 0);
    let want_pairs: u64 = synth
        .runs
        .iter()
        .map(|r| (r.vectors.len() * (r.vectors.len() - 1) / 2) as u64)
        .sum::<u64>()
        + 21;
    assert_eq!(report.pairs_computed, want_pairs);
    check_against_loops(&synth, tmp.path());
}

#[test]
fn flipping_eigenvector_signs_changes_nothing() {
    let synth = Synth::standard();
    let mut flipped = synth.clone();
    for run in &mut flipped.runs {
        for (pos, vs) in run.vectors.values_mut().enumerate() {
            for (i, v) in vs.iter_mut().enumerate() {
                if (pos + i) % 2 == 1 {
                    v.iter_mut().for_each(|x| *x = -*x);
                }
            }
        }
    }
    for nets in flipped.baseline.values_mut() {
        for v in nets.iter_mut().step_by(2).flat_map(|vs| vs.iter_mut()) {
            v.iter_mut().for_each(|x| *x = -*x);
        }
    }
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    synth.write(a.path());
    flipped.write(b.path());
    run_analyze(a.path(), &opts(1));
    run_analyze(b.path(), &opts(1));
    // Negation is exact in floating point, so the sign-invariant tables are identical.
    assert_eq!(tables_bytes(a.path()), tables_bytes(b.path()));
    check_against_loops(&flipped, b.path());
}

/// Every analysis file's bytes by relative path (the manifest aside).
fn tables_bytes(out: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let root = out.join("analysis");
    let mut files = BTreeMap::new();
    let mut stack = vec![root.clone()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "parquet") {
                files.insert(
                    p.strip_prefix(&root).unwrap().to_path_buf(),
                    std::fs::read(&p).unwrap(),
                );
            }
        }
    }
    files
}

#[test]
fn one_worker_and_three_workers_write_identical_tables() {
    let synth = Synth::standard();
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    synth.write(a.path());
    synth.write(b.path());
    run_analyze(a.path(), &opts(1));
    run_analyze(b.path(), &opts(3));
    let (fa, fb) = (tables_bytes(a.path()), tables_bytes(b.path()));
    assert!(fa.len() > 20, "{} files", fa.len());
    assert_eq!(fa.keys().collect::<Vec<_>>(), fb.keys().collect::<Vec<_>>());
    assert!(fa == fb, "tables differ between 1 and 3 workers");
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn two_processes_of_a_cluster_write_the_single_worker_tables() {
    let synth = Synth::standard();
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    synth.write(a.path());
    synth.write(b.path());
    run_analyze(a.path(), &opts(1));
    // Two "processes" (threads here, each with its own timely cluster endpoint) over TCP.
    let addresses: Vec<String> = (0..2)
        .map(|_| format!("127.0.0.1:{}", free_port()))
        .collect();
    let handles: Vec<_> = (0..2)
        .map(|index| {
            let out = b.path().to_path_buf();
            let o = AnalyzeOptions {
                process: Some(ClusterProcess {
                    index,
                    addresses: addresses.clone(),
                }),
                ..opts(2)
            };
            std::thread::spawn(move || analyze(&out, &o, &|_| {}).unwrap())
        })
        .collect();
    let reports: Vec<AnalyzeReport> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(reports[0].jobs_computed, reports[1].jobs_computed);
    assert!(
        tables_bytes(a.path()) == tables_bytes(b.path()),
        "cluster tables differ"
    );
}

#[test]
fn a_second_analysis_computes_only_what_changed() {
    let tmp = tempfile::tempdir().unwrap();
    let mut synth = Synth::standard();
    // The adam seed-0 run (θ stored at every snapshot) is in progress: 5 of its 8 snapshots,
    // no _SUCCESS; the sgd seed-0 run has not started.
    let full = synth.runs[2].clone();
    let mut partial = full.clone();
    partial.finished = false;
    for s in [50, 60, 70] {
        partial.vectors.remove(&s);
        partial.alignments.remove(&s);
        partial.theta.remove(&s);
    }
    let late_run = synth.runs.remove(0);
    synth.runs[1] = partial;
    synth.write(tmp.path());
    let first = run_analyze(tmp.path(), &opts(2));
    assert_eq!(first.runs, 3);
    assert_eq!(first.runs_finished, 2);
    assert_eq!(first.jobs_reused, 0);

    // Nothing changed: nothing is computed.
    let again = run_analyze(tmp.path(), &opts(2));
    assert_eq!(again.jobs_computed, 0);
    assert_eq!(again.pairs_computed, 0);
    assert_eq!(again.pairs_reused, first.pairs_computed);

    // The run finishes (rewritten from scratch, as a resumed run rewrites its parts) and
    // another run lands.
    std::fs::remove_dir_all(tmp.path().join("runs/dataset=synth/optimizer=adam/seed=0")).unwrap();
    write_run(tmp.path(), &full, 0);
    write_run(tmp.path(), &late_run, 0);
    let third = run_analyze(tmp.path(), &opts(2));
    assert!(third.jobs_reused > 0, "{third:?}");
    // Unchanged runs and the baseline are reused whole; the finished run keeps its first
    // (full, unchanged) tile's pair with itself.
    let late_pairs = 8 * 7 / 2;
    let finished_pairs = 8 * 7 / 2 - 3;
    assert_eq!(
        third.pairs_computed,
        (late_pairs + finished_pairs) as u64,
        "{third:?}"
    );

    // The result equals a fresh analysis of the same output.
    let fresh = tempfile::tempdir().unwrap();
    let all = Synth::standard();
    all.write(fresh.path());
    run_analyze(fresh.path(), &opts(1));
    assert!(
        tables_bytes(tmp.path()) == tables_bytes(fresh.path()),
        "incremental result differs from a fresh one"
    );
    check_against_loops(&all, tmp.path());
}

/// Issue 25: a snapshot redone after a resume (other vectors at the same step, as a run that
/// resumed from an earlier checkpoint on another thread count writes them) replaces its tile:
/// the pairs it was in are recomputed, the old ones leave every table, and the result equals
/// a fresh analysis of the new data.
#[test]
fn a_redone_snapshot_replaces_its_tiles_pairs() {
    use rand::SeedableRng;

    let tmp = tempfile::tempdir().unwrap();
    let mut synth = Synth::standard();
    synth.write(tmp.path());
    let first = run_analyze(tmp.path(), &opts(2));

    let run = &mut synth.runs[0];
    let steps: Vec<u64> = run.vectors.keys().copied().collect();
    let redone = steps[steps.len() / 2];
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(99);
    for v in run.vectors.get_mut(&redone).unwrap() {
        *v = crate::testdata::unit(&mut rng, synth.n);
    }
    let run = synth.runs[0].clone();
    let dirs =
        eigensweep_worker::output::RunDirs::new(tmp.path(), &run.dataset, &run.optimizer, run.seed)
            .unwrap();
    std::fs::remove_dir_all(&dirs.root).unwrap();
    write_run(tmp.path(), &run, 0);
    let second = run_analyze(tmp.path(), &opts(2));
    // The redone snapshot's pairs with every other snapshot of its run, at least.
    assert!(
        second.pairs_computed >= (steps.len() - 1) as u64,
        "{second:?}"
    );
    assert!(second.pairs_computed < first.pairs_computed, "{second:?}");
    assert!(second.pairs_reused > 0, "{second:?}");

    let fresh = tempfile::tempdir().unwrap();
    synth.write(fresh.path());
    run_analyze(fresh.path(), &opts(1));
    assert!(
        tables_bytes(tmp.path()) == tables_bytes(fresh.path()),
        "the incremental result keeps rows of the replaced snapshot"
    );
    check_against_loops(&synth, tmp.path());
}

#[test]
fn duckdb_reads_the_analysis_tables() {
    let has_duckdb = std::process::Command::new("python3")
        .args(["-c", "import duckdb"])
        .status()
        .is_ok_and(|s| s.success());
    if !has_duckdb {
        assert!(
            std::env::var("EIGENSWEEP_REQUIRE_DUCKDB").as_deref() != Ok("1"),
            "EIGENSWEEP_REQUIRE_DUCKDB=1 but python3 cannot import duckdb"
        );
        eprintln!("skipping: python3 cannot import duckdb");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let synth = Synth::standard();
    synth.write(tmp.path());
    run_analyze(tmp.path(), &opts(1));
    let script = r#"
import duckdb, sys
a = sys.argv[1]
con = duckdb.connect()
q = lambda s: con.execute(s).fetchall()
n = q(f"SELECT count(*) FROM read_parquet('{a}/displacement/**/*.parquet')")[0][0]
# Fig. 1: Δ(t_w, t_w + t) per t_w with the τ line.
fig1 = q(f"""SELECT d.optimizer, d.step_w, d.lag, avg(d.delta), any_value(b.tau)
             FROM read_parquet('{a}/displacement/**/*.parquet') d
             JOIN read_parquet('{a}/displacement_baseline.parquet') b USING (dataset, index)
             WHERE index = 1 GROUP BY ALL ORDER BY ALL""")
desc = q(f"SELECT value FROM parquet_kv_metadata('{a}/displacement_baseline.parquet') WHERE key = 'eigensweep.table'")
print(n, len(fig1), desc[0][0].decode() if isinstance(desc[0][0], bytes) else desc[0][0])
"#;
    let output = std::process::Command::new("python3")
        .args(["-c", script, tmp.path().join("analysis").to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8_lossy(&output.stdout);
    let fields: Vec<&str> = text.split_whitespace().collect();
    let want: usize = synth
        .runs
        .iter()
        .map(|r| r.k * r.vectors.len() * (r.vectors.len() - 1) / 2)
        .sum();
    assert_eq!(fields[0].parse::<usize>().unwrap(), want);
    assert!(fields[1].parse::<usize>().unwrap() > 0);
    assert_eq!(fields[2], "displacement_baseline");
}

#[test]
fn not_an_output_directory_is_an_error_that_names_it() {
    let tmp = tempfile::tempdir().unwrap();
    let err = analyze(tmp.path(), &opts(1), &|_| {})
        .unwrap_err()
        .to_string();
    assert!(err.contains("not a sweep output directory"), "{err}");
    let err = analyze(
        tmp.path(),
        &AnalyzeOptions {
            tile_rows: 0,
            ..opts(1)
        },
        &|_| {},
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("`tile_rows`"), "{err}");
}

#[test]
fn bench_runs_on_a_small_synthetic_run() {
    let report = crate::bench(&crate::BenchOptions {
        parameters: 3000,
        snapshots: 40,
        k: 2,
        tile_rows: 16,
        ..crate::BenchOptions::default()
    })
    .unwrap();
    assert_eq!(report.pairs, 40 * 39 / 2);
    assert!(report.product_gflops > 0.0 && report.plain_gflops > 0.0);
}

/// Every file under `dir` whose name ends in `.tmp`.
fn temp_files(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.to_string_lossy().ends_with(".tmp") {
                found.push(p);
            }
        }
    }
    found
}

#[test]
fn a_stop_requested_before_the_start_writes_nothing_and_says_interrupted() {
    let synth = Synth::standard();
    let out = tempfile::tempdir().unwrap();
    synth.write(out.path());
    let o = opts(2);
    o.stop.request();
    let err = analyze(out.path(), &o, &|_| {}).unwrap_err();
    assert!(
        matches!(err, AnalysisError::Interrupted { jobs_done: 0, .. }),
        "{err}"
    );
    assert!(!out.path().join("analysis").exists() || tables_bytes(out.path()).is_empty());
    assert!(!out.path().join("analysis/_manifest.json").exists());
}

#[test]
fn a_stop_while_the_workers_run_records_only_written_jobs_and_a_rerun_matches() {
    let synth = Synth::standard();
    let (reference, out) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    synth.write(reference.path());
    synth.write(out.path());
    run_analyze(reference.path(), &opts(1));

    // Stop at the first progress report: the workers are running by then (how far they got
    // depends on the machine, which is the point: whatever they wrote must be recorded
    // exactly).
    let o = opts(1);
    let stop = o.stop.clone();
    match analyze(out.path(), &o, &|_| stop.request()) {
        Err(AnalysisError::Interrupted {
            jobs_done,
            jobs_todo,
        }) => {
            assert!(jobs_done < jobs_todo, "{jobs_done} of {jobs_todo}");
            let manifest = Manifest::load(&out.path().join("analysis"));
            assert_eq!(manifest.jobs.len(), jobs_done);
            assert!(!out
                .path()
                .join("analysis")
                .join(SPECTRUM_SUMMARY_FILE)
                .exists());
        }
        Ok(_) => eprintln!("note: the analysis finished before the first progress report"),
        Err(e) => panic!("{e}"),
    }
    assert!(temp_files(out.path()).is_empty());
    let again = run_analyze(out.path(), &opts(1));
    assert_eq!(
        again.pairs_computed + again.pairs_reused,
        run_analyze(reference.path(), &opts(1)).pairs_reused
    );
    assert!(
        tables_bytes(reference.path()) == tables_bytes(out.path()),
        "an interrupted and resumed analysis differs from an uninterrupted one"
    );
}
