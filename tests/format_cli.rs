//! Issue 11 §4, "tables a user can compute with": every integer column of every table is a
//! signed 64-bit BIGINT, so a difference of steps goes negative in DuckDB instead of raising
//! an overflow error; outputs of table format 1 (unsigned integers) are still shown by
//! `status`, analysed and reported, and `run` refuses to add format-2 parts to them.

#[path = "support/mod.rs"]
mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use arrow_schema::DataType;
use eigensweep_analysis::tables::{
    AlignmentSummaryRow, BaselineStatsRow, RunAlignmentRow, SpectrumSummaryRow,
};
use eigensweep_common::exit_codes;
use eigensweep_report::minima::{InterpolationRow, MinimumRow};
use eigensweep_worker::output::format::FormatVersion;
use eigensweep_worker::output::{read_run_records, read_schema, read_table};
use support::format1::{rewrite_tables_as_format_1, version};
use support::stop::{copy_tree, files};
use support::{assert_same_baseline_and_status, assert_same_tables, run, small_sweep_args, stderr};

fn stdout(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// A small sweep (θ stored), analysed, shared by the tests (each works on a copy).
fn shared_sweep() -> &'static Path {
    static SWEEP: OnceLock<PathBuf> = OnceLock::new();
    SWEEP.get_or_init(|| {
        let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("format-sweep");
        let _ = std::fs::remove_dir_all(&out);
        let o = run(&small_sweep_args(out.to_str().unwrap(), &[]));
        assert!(o.status.success(), "{}", stderr(&o));
        let o = run(&["analyze", out.to_str().unwrap()]);
        assert!(o.status.success(), "{}", stderr(&o));
        out
    })
}

/// The Parquet files under `dir`, relative path → bytes.
fn parquet_files(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    files(dir)
        .into_iter()
        .filter(|(p, _)| p.extension().is_some_and(|e| e == "parquet"))
        .collect()
}

#[test]
fn issue_11_step_differences_are_negative_bigints_in_duckdb() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    copy_tree(shared_sweep(), &out);
    let out_s = out.to_str().unwrap();
    let o = run(&[
        "minima",
        out_s,
        "--alpha-points",
        "3",
        "--sharpness-iterations",
        "2",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    if !support::duckdb_available() {
        return;
    }
    let script = r#"
import sys, glob, os, duckdb
out = sys.argv[1]
con = duckdb.connect()
def one(query, *args):
    return con.execute(query, list(args)).fetchone()
snap = out + '/runs/**/snapshots/*.parquet'
print("snapshots=%s,%s,%s,%s" % one(
    "SELECT min(step - 100), max(step - 100), any_value(typeof(step)), any_value(typeof(seed)) "
    "FROM read_parquet(?, hive_partitioning = true)", snap))
print("displacement=%s,%s,%s,%s,%s" % one(
    "SELECT min(step_w - step), max(step_w - step), max(lag), "
    "count(*) FILTER (WHERE step_w - step <> -lag), any_value(typeof(step_w - step)) "
    "FROM read_parquet(?)", out + '/analysis/displacement/**/*.parquet'))
print("convergence=%s" % one("SELECT min(step - final_step) FROM read_parquet(?)",
                             out + '/analysis/convergence/**/*.parquet'))
for row in con.execute("SELECT kind, count(seed), count(network), min(network), max(network) "
                       "FROM read_parquet(?) GROUP BY kind ORDER BY kind",
                       [out + '/runs.parquet']).fetchall():
    print("runs_%s=%s,%s,%s,%s" % row)
paths = sorted(glob.glob(out + '/**/*.parquet', recursive=True))
print("files=%d" % len(paths))
ints = set()
bad = []
for path in paths:
    for name, ty, *_ in con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [path]).fetchall():
        if ty.endswith('INT') or ty.endswith('INTEGER'):
            ints.add(ty)
            if ty != 'BIGINT':
                bad.append(os.path.relpath(path, out) + ":" + name + ":" + ty)
print("integer_types=" + ",".join(sorted(ints)))
print("not_bigint=" + ";".join(bad))
"#;
    let printed = support::python(&["-c", script, out_s]);
    let get = |key: &str| -> String {
        printed
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{key}=")))
            .unwrap_or_else(|| panic!("no {key}= in:\n{printed}"))
            .to_string()
    };
    // Snapshots at steps 0, 30, …, 240.
    assert_eq!(get("snapshots"), "-100,140,BIGINT,BIGINT");
    // Pairs t_w < t_w + t: step_w − step = −lag, from −240 to −30.
    assert_eq!(get("displacement"), "-240,-30,240,0,BIGINT");
    assert_eq!(get("convergence"), "-240");
    // Runs are named by their seed, the 4 baseline networks by `network`.
    assert_eq!(get("runs_baseline"), "0,4,0,3");
    assert_eq!(get("runs_run"), "3,0,None,None");
    // Every table (runs, metrics, weights, baseline, analysis, minima), every integer column.
    let count: usize = get("files").parse().unwrap();
    assert!(count > 40, "{count} Parquet files");
    assert!(out.join("minima/minima.parquet").is_file());
    assert_eq!(get("integer_types"), "BIGINT");
    assert_eq!(get("not_bigint"), "");
}

// ---------------------------------------------------------------------------------------
// Outputs of format 1, as eigensweep wrote them before issue 11.

/// Turns the output `out` into one written before issue 11: every table in format 1, and an
/// analysis manifest of the analysis format of that time.
fn make_format_1(out: &Path) {
    rewrite_tables_as_format_1(out);
    let manifest = out.join("analysis/_manifest.json");
    let mut json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&manifest).unwrap()).unwrap();
    json["format"] = serde_json::json!(1);
    std::fs::write(&manifest, serde_json::to_string_pretty(&json).unwrap()).unwrap();
}

#[test]
fn issue_11_a_format_1_output_is_shown_analysed_and_reported_but_not_resumed() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    copy_tree(shared_sweep(), &out);
    make_format_1(&out);
    let out_s = out.to_str().unwrap();
    let part = out.join("runs/dataset=synthetic/optimizer=sgd/seed=0/snapshots/part-00000.parquet");
    assert_eq!(version(&part), FormatVersion::V1);
    let stored = read_schema(&part).unwrap();
    assert_eq!(
        stored.field_with_name("step").unwrap().data_type(),
        &DataType::UInt64
    );

    // The typed readers see the rows of the format-2 original.
    assert_same_tables(shared_sweep(), &out, "format 1");
    assert_same_baseline_and_status(shared_sweep(), &out, "format 1");
    let o = run(&["status", out_s]);
    assert_eq!(o.status.code(), Some(exit_codes::SUCCESS), "{}", stderr(&o));

    // `run` does not add format-2 parts to format-1 tables: exit 3, naming the file, both
    // versions and the way out; nothing is written.
    let before = parquet_files(&out);
    let sweep_yaml = std::fs::read(out.join("sweep.yaml")).unwrap();
    let o = run(&small_sweep_args(out_s, &[]));
    assert_eq!(o.status.code(), Some(exit_codes::INPUT), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("part-00000.parquet"), "{err}");
    assert!(
        err.contains("table format version 1") && err.contains("writes version 2"),
        "{err}"
    );
    assert!(err.contains("--out"), "{err}");
    assert!(
        parquet_files(&out) == before,
        "run changed the format-1 output"
    );
    assert_eq!(std::fs::read(out.join("sweep.yaml")).unwrap(), sweep_yaml);

    // `analyze` recomputes the whole analysis from the format-1 snapshots: the same bytes
    // as the analysis of the format-2 original, every table in format 2.
    let o = run(&["analyze", out_s]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains(" 0 reused"), "{}", stdout(&o));
    let want = parquet_files(&shared_sweep().join("analysis"));
    let got = parquet_files(&out.join("analysis"));
    assert_eq!(
        want.keys().collect::<Vec<_>>(),
        got.keys().collect::<Vec<_>>()
    );
    for (name, bytes) in &want {
        assert!(bytes == &got[name], "analysis/{} differs", name.display());
        assert_eq!(
            version(&out.join("analysis").join(name)),
            FormatVersion::Current
        );
    }

    // `report` draws from the format-1 runs and the new analysis.
    let o = run(&["report", out_s, "--no-minima"]);
    assert!(o.status.success(), "{}", stderr(&o));
    for fig in [
        "fig01-displacement.csv",
        "fig03-ipr.csv",
        "fig04-training-loss.csv",
    ] {
        let path = out.join("report/synthetic").join(fig);
        assert!(path.is_file(), "{}", path.display());
    }
    // The runs' own tables stay as they were.
    assert_eq!(version(&part), FormatVersion::V1);
}

/// The small tables kept from the first complete 60k run (docs/reproduction-60k/tables) were
/// written in format 1 by the build of that time: real format-1 files, read by this one.
#[test]
fn issue_11_the_format_1_tables_of_the_60k_reproduction_still_read() {
    let dir = support::repo_root().join("docs/reproduction-60k/tables");
    let runs_path = dir.join("runs.parquet");
    assert_eq!(
        version(&runs_path),
        FormatVersion::V1,
        "this test wants the format-1 tables of the first 60k run; keep a format-1 copy if \
         they are regenerated"
    );
    let runs = read_run_records(&runs_path).unwrap();
    let (tasks, baseline): (Vec<_>, Vec<_>) = runs.iter().partition(|r| r.kind == "run");
    assert_eq!((tasks.len(), baseline.len()), (15, 100));
    let mut seeds: Vec<u64> = tasks.iter().map(|r| r.seed.unwrap()).collect();
    seeds.sort();
    seeds.dedup();
    assert_eq!(seeds, [0, 1, 2, 3, 4]);
    assert!(tasks
        .iter()
        .all(|r| r.network.is_none() && r.steps_total == Some(100_000)));
    // Format 1 kept a baseline task's network number in `seed`; it reads as `network`.
    let mut networks: Vec<u64> = baseline.iter().map(|r| r.network.unwrap()).collect();
    networks.sort();
    assert_eq!(networks, (0..100).collect::<Vec<u64>>());
    assert!(baseline.iter().all(|r| r.seed.is_none()));

    let tau: Vec<BaselineStatsRow> =
        read_table(&dir.join("displacement_baseline.parquet")).unwrap();
    assert_eq!(tau.len(), 3);
    assert!(tau
        .iter()
        .all(|r| r.networks == 100 && r.pairs == 4950 && r.parameters == 89_610));
    assert!((tau[0].tau - 2.106e-5).abs() < 1e-8, "{}", tau[0].tau);
    let spectrum: Vec<SpectrumSummaryRow> =
        read_table(&dir.join("spectrum_summary.parquet")).unwrap();
    assert_eq!(spectrum.iter().map(|r| r.step).max(), Some(100_000));
    assert!(spectrum
        .iter()
        .all(|r| r.runs == 5 && (1..=3).contains(&r.index)));
    let alignment: Vec<RunAlignmentRow> = read_table(&dir.join("run_alignment.parquet")).unwrap();
    assert_eq!(alignment.len(), 45);
    let summary: Vec<AlignmentSummaryRow> =
        read_table(&dir.join("alignment_summary.parquet")).unwrap();
    assert_eq!(summary.len(), 9);
    let minima: Vec<MinimumRow> = read_table(&dir.join("minima.parquet")).unwrap();
    assert_eq!(minima.len(), 3);
    assert!(minima.iter().all(|m| m.step == 100_000 && m.seed <= 4));
    let interpolation: Vec<InterpolationRow> =
        read_table(&dir.join("interpolation.parquet")).unwrap();
    assert!(!interpolation.is_empty());
}
