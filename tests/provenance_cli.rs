//! Provenance (issue 25.3): every Parquet file and every runs-table row says which build
//! (version, commit, features), device, CPU and host wrote it; a run resumed by another build
//! or on another device says so in the log, the runs table, `status` and the report.

#[path = "support/mod.rs"]
mod support;

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use eigensweep_worker::output::{
    read_run_records, runs_table_path, write_table_atomically, RunRecord,
};
use support::{duckdb_available, eigensweep, python, run, small_sweep_args, stderr};

/// The commit `eigensweep --version` names: `eigensweep 0.1.0 (commit C)`.
fn binary_commit() -> String {
    let o = run(&["--version"]);
    assert!(o.status.success());
    let text = String::from_utf8_lossy(&o.stdout).into_owned();
    text.split("(commit ")
        .nth(1)
        .and_then(|rest| rest.split(')').next())
        .unwrap_or_else(|| panic!("no commit in `--version`: {text}"))
        .to_string()
}

fn rows(out: &Path) -> Vec<RunRecord> {
    read_run_records(&runs_table_path(out)).unwrap()
}

#[test]
fn every_file_and_row_names_the_build_device_cpu_and_host() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let o = run(&small_sweep_args(
        out.to_str().unwrap(),
        &["--set", "training.steps=60"],
    ));
    assert!(o.status.success(), "{}", stderr(&o));
    let o = run(&["analyze", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let commit = binary_commit();
    assert!(
        commit == "unknown" || commit.len() >= 40,
        "a commit is 40 hex digits (or unknown): {commit}"
    );
    for r in rows(&out) {
        assert_eq!(
            r.provenance.eigensweep_version.as_deref(),
            Some(env!("CARGO_PKG_VERSION"))
        );
        assert_eq!(r.provenance.git_commit.as_deref(), Some(commit.as_str()));
        assert_eq!(
            r.provenance.build_features.as_deref().map(|f| f.is_empty()),
            Some(false)
        );
        assert!(r.provenance.cpu.as_deref().is_some_and(|c| !c.is_empty()));
        assert_eq!(r.device.as_deref(), Some("cpu"));
        assert!(r.provenance.earlier.is_none(), "{r:?}");
    }
    let o = run(&["status", out.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(text.contains("ran on: eigensweep "), "{text}");
    assert!(!text.contains("resumed on another"), "{text}");
    if !duckdb_available() {
        return;
    }
    // Every Parquet file the run and the analysis wrote carries the same six facts.
    let script = format!(
        r#"
import duckdb, glob
files = sorted(glob.glob('{out}/**/*.parquet', recursive=True))
assert any('/analysis/' in f for f in files), files
assert any('/runs/' in f for f in files), files
for f in files:
    kv = {{k.decode(): v.decode() for (k, v) in duckdb.sql(
        f"select key, value from parquet_kv_metadata('{{f}}')").fetchall()}}
    facts = [kv.get('eigensweep.' + n) for n in ('version', 'git_commit', 'features', 'device', 'cpu', 'host')]
    assert all(facts), (f, facts)
    print('|'.join(facts))
"#,
        out = out.display()
    );
    let stamps = python(&["-c", &script]);
    let distinct: std::collections::BTreeSet<&str> = stamps.lines().collect();
    assert_eq!(distinct.len(), 1, "{stamps}");
    let stamp = distinct.into_iter().next().unwrap();
    assert!(
        stamp.starts_with(&format!("{}|{commit}|", env!("CARGO_PKG_VERSION"))),
        "{stamp}"
    );
    assert!(stamp.contains("|cpu|"), "{stamp}");
}

#[test]
fn a_run_resumed_by_another_build_or_device_says_so() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let args = small_sweep_args(out.to_str().unwrap(), &["--jobs", "1"]);
    let child = eigensweep(&args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Stop it once a run has made progress that a relaunch resumes.
    let start = Instant::now();
    loop {
        let progressed = read_run_records(&runs_table_path(&out))
            .is_ok_and(|rows| rows.iter().any(|r| r.checkpoint_time.is_some()));
        if progressed {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "no checkpoint within 120 s"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(8), "{}", stderr(&o));

    // Make the progress so far another build's, on a GPU of another machine.
    let mut table = rows(&out);
    let unfinished: Vec<String> = table
        .iter()
        .filter(|r| r.kind == "run" && !r.is_finished() && r.checkpoint_time.is_some())
        .map(|r| r.key.clone())
        .collect();
    assert!(!unfinished.is_empty(), "{table:?}");
    for r in table.iter_mut().filter(|r| unfinished.contains(&r.key)) {
        r.provenance.eigensweep_version = Some("0.0.1".into());
        r.device = Some("cuda:0 (Test GPU)".into());
        r.host = Some("elsewhere".into());
    }
    write_table_atomically(&runs_table_path(&out), &table).unwrap();

    let o = run(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    let log = stderr(&o);
    assert!(
        log.contains("resumed by another build or machine (version: 0.0.1 → "),
        "{log}"
    );
    assert!(log.contains("device: cuda:0 (Test GPU) → cpu"), "{log}");
    for r in rows(&out) {
        if unfinished.contains(&r.key) {
            let earlier = r.provenance.earlier.clone().unwrap_or_default();
            assert!(
                earlier.starts_with("before step ")
                    && earlier.contains("eigensweep 0.0.1 (")
                    && earlier.contains("on cuda:0 (Test GPU)")
                    && earlier.ends_with("host elsewhere"),
                "{earlier}"
            );
            assert_eq!(
                r.provenance.eigensweep_version.as_deref(),
                Some(env!("CARGO_PKG_VERSION"))
            );
        } else {
            assert!(r.provenance.earlier.is_none(), "{r:?}");
        }
    }
    let o = run(&["status", out.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(
        text.contains("resumed on another build, device or machine: "),
        "{text}"
    );
    let o = run(&["report", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let html = std::fs::read_to_string(out.join("report/index.html")).unwrap();
    assert!(
        html.contains("Resumed on another build, device or machine"),
        "{html}"
    );
    assert!(html.contains("eigensweep 0.0.1 ("), "{html}");
}
