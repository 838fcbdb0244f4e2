//! End-to-end tests of `eigensweep analyze`: the tables of a real small sweep, DuckDB over
//! them (the Figure 1 query of the README), incremental reruns, bad input.

#[path = "support/mod.rs"]
mod support;

use std::path::Path;
use std::process::Command;

use support::{run, small_sweep_args, stderr};

fn stdout(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn duckdb(query: &str) -> String {
    let py = Command::new("python3")
        .args(["-c", query])
        .output()
        .unwrap();
    assert!(
        py.status.success(),
        "{}",
        String::from_utf8_lossy(&py.stderr)
    );
    String::from_utf8_lossy(&py.stdout).into_owned()
}

fn sweep(out: &Path) {
    let o = run(&small_sweep_args(
        out.to_str().unwrap(),
        &["--set", "snapshots.store_weights=true"],
    ));
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn analyze_writes_every_table_and_reuses_them_on_a_rerun() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    sweep(&out);
    let o = run(&["analyze", out.to_str().unwrap(), "-w", "2"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(text.contains("analysed 3 runs (3 finished)"), "{text}");
    assert!(text.contains("0 reused"), "{text}");
    let analysis = out.join("analysis");
    for table in [
        "displacement",
        "subspace_overlap",
        "weight_displacement",
        "update_alignment_two_time",
        "convergence",
    ] {
        for opt in ["sgd", "adam", "sam"] {
            let dir = analysis.join(format!("{table}/synthetic/{opt}/seed-0"));
            assert!(
                std::fs::read_dir(&dir)
                    .map(|mut d| d.next().is_some())
                    .unwrap_or(false),
                "{} has no parts",
                dir.display()
            );
        }
    }
    for file in [
        "displacement_baseline.parquet",
        "run_alignment.parquet",
        "alignment_summary.parquet",
        "spectrum_summary.parquet",
    ] {
        assert!(analysis.join(file).is_file(), "{file}");
    }
    // Nothing changed: nothing is computed again.
    let o = run(&["analyze", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains(" 0 computed"), "{}", stdout(&o));

    if !support::duckdb_available() {
        return;
    }
    // 9 snapshots per run: 36 pairs × 3 indices × 3 runs; Δ = (2 − 2|cos|)/N, and the
    // baseline τ of index 1 joins every row of index 1 (the README's Figure 1 query).
    let printed = duckdb(&format!(
        "import duckdb\n\
         d = \"read_parquet('{a}/displacement/**/*.parquet')\"\n\
         b = \"read_parquet('{a}/displacement_baseline.parquet')\"\n\
         print(duckdb.sql(f'select count(*) from {{d}}').fetchall()[0][0])\n\
         print(duckdb.sql(f'select max(abs(delta - (2 - 2*abs_cos)/89610)) from {{d}}').fetchall()[0][0])\n\
         print(duckdb.sql(f'select count(*) from {{d}} x join {{b}} y using (dataset, index) where x.index = 1').fetchall()[0][0])\n",
        a = analysis.display()
    ));
    let lines: Vec<&str> = printed.lines().collect();
    assert_eq!(lines[0], "324", "{printed}");
    assert!(lines[1].parse::<f64>().unwrap() < 1e-15, "{printed}");
    assert_eq!(lines[2], "108", "{printed}");
}

#[test]
fn analyze_refuses_what_is_not_an_output_and_bad_options() {
    let tmp = tempfile::tempdir().unwrap();
    let o = run(&["analyze", tmp.path().to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(stderr(&o).contains("not a sweep output"), "{}", stderr(&o));
    let o = run(&["analyze", tmp.path().to_str().unwrap(), "-w", "0"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
}
