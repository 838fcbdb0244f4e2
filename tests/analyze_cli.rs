//! End-to-end tests of `eigensweep analyze`: the tables of a real small sweep, DuckDB over
//! them (the Figure 1 query of docs/ANALYSIS.md), incremental reruns, bad input, a stop by SIGTERM
//! and a full disk.

#[path = "support/mod.rs"]
mod support;

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use eigensweep_common::exit_codes;
use support::stop::{
    assert_same_files, file_paths, files, sigterm, temp_files, used_kib, wait_at_most, Synthetic,
    Tmpfs,
};
use support::{eigensweep, run, small_sweep_args, stderr};

fn stdout(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn duckdb(query: &str) -> String {
    support::python(&["-c", query])
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
    // baseline τ of index 1 joins every row of index 1 (docs/ANALYSIS.md's Figure 1 query).
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
    assert_eq!(o.status.code(), Some(exit_codes::INPUT), "{}", stderr(&o));
    assert!(stderr(&o).contains("not a sweep output"), "{}", stderr(&o));
    let o = run(&["analyze", tmp.path().to_str().unwrap(), "-w", "0"]);
    assert_eq!(o.status.code(), Some(exit_codes::USAGE), "{}", stderr(&o));
}

/// Issue 26.4: `analyze sweeps/quickstart.yaml` said "no such directory". Every command that
/// reads an output directory says that a file is one, and for a sweep file which directory
/// its runs write.
#[test]
fn commands_on_an_output_directory_given_a_sweep_file_name_its_output() {
    for command in ["analyze", "report", "minima", "status"] {
        let o = run(&[command, "sweeps/quickstart.yaml"]);
        assert_eq!(
            o.status.code(),
            Some(exit_codes::INPUT),
            "{command}: {}",
            stderr(&o)
        );
        assert!(
            stderr(&o).contains(&format!(
                "sweeps/quickstart.yaml is a sweep file, not a sweep output directory: \
                 `eigensweep {command}` takes the directory the sweep's runs write, here \
                 `eigensweep {command} out/quickstart`"
            )),
            "{command}: {}",
            stderr(&o)
        );
        assert!(!stderr(&o).contains("no such directory"), "{}", stderr(&o));
        let o = run(&[command, "README.md"]);
        assert_eq!(
            o.status.code(),
            Some(exit_codes::INPUT),
            "{command}: {}",
            stderr(&o)
        );
        assert!(
            stderr(&o).contains("README.md is a file, not a sweep output directory"),
            "{command}: {}",
            stderr(&o)
        );
    }
    // The writer too: `run --out FILE` names the file, before any data load, and leaves it.
    let readme = support::repo_root().join("README.md");
    let before = std::fs::read(&readme).ok();
    let o = run(&["run", "sweeps/quickstart.yaml", "--out", "README.md"]);
    assert_eq!(o.status.code(), Some(exit_codes::INPUT), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("README.md is a file, not a directory: the output"),
        "{}",
        stderr(&o)
    );
    assert_eq!(std::fs::read(&readme).ok(), before);
}

/// The numbers `tile pairs: C computed, R reused` of an analysis's output.
fn computed_and_reused(o: &std::process::Output) -> (u64, u64) {
    let text = stdout(o);
    let line = text
        .lines()
        .find(|l| l.starts_with("tile pairs:"))
        .unwrap_or_else(|| panic!("no `tile pairs:` line in {text}"));
    let numbers: Vec<u64> = line
        .split(|c: char| !c.is_ascii_digit())
        .filter(|w| !w.is_empty())
        .map(|w| w.parse().unwrap())
        .collect();
    (numbers[0], numbers[1])
}

/// Slurm preemption: SIGTERM while the workers compute. The analysis must exit 8 within a
/// few seconds (Slurm kills 30 s after SIGTERM), leave no temporary file, keep the jobs it
/// finished, and a rerun must end with exactly the tables of an uninterrupted analysis.
#[test]
fn sigterm_stops_analyze_quickly_and_a_rerun_gives_the_uninterrupted_tables() {
    // One worker, 3 runs × 240 snapshots × k = 3 at N = 4000: ~86,000 snapshot pairs in
    // 3 × 10 × 11 / 2 tile-pair jobs of 24 snapshots; several seconds of real work.
    let size = Synthetic {
        runs: 3,
        snapshots: 240,
        k: 3,
        n: 4000,
    };
    let tmp = tempfile::tempdir().unwrap();
    let (out, reference) = (tmp.path().join("out"), tmp.path().join("reference"));
    size.write(&out);
    size.write(&reference);
    let args = |o: &Path| -> Vec<String> {
        [
            "analyze",
            o.to_str().unwrap(),
            "-w",
            "1",
            "--tile-rows",
            "72",
        ]
        .map(String::from)
        .to_vec()
    };
    let as_str = |v: &[String]| v.iter().map(String::as_str).collect::<Vec<_>>().join(" ");

    let started = Instant::now();
    let child = eigensweep(&args(&out).iter().map(String::as_str).collect::<Vec<_>>())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Mid-way: once about a quarter of the displacement parts (of 165) are written.
    let parts = out.join("analysis/displacement");
    while file_paths(&parts).len() < 40 {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "no part written by `{}` within 120 s",
            as_str(&args(&out))
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    eprintln!("SIGTERM {:?} after the start", started.elapsed());
    sigterm(&child);
    let (o, took) = wait_at_most(child, Duration::from_secs(10), "analyze");
    eprintln!("analyze exited {took:?} after SIGTERM");
    assert_eq!(
        o.status.code(),
        Some(exit_codes::INTERRUPTED),
        "not stopped mid-way ({:?} after SIGTERM): {}",
        took,
        stderr(&o)
    );
    assert!(
        stderr(&o).contains("run the same `eigensweep analyze` command again"),
        "{}",
        stderr(&o)
    );
    assert!(temp_files(&out).is_empty(), "{:?}", temp_files(&out));
    // The whole-sweep tables are written last: an interrupted analysis has not got there.
    assert!(!out.join("analysis/spectrum_summary.parquet").exists());

    let o = eigensweep(&args(&out).iter().map(String::as_str).collect::<Vec<_>>())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let (computed, reused) = computed_and_reused(&o);
    assert!(
        reused > 0 && computed > 0,
        "the rerun should reuse the jobs finished before the stop: {}",
        stdout(&o)
    );
    let started = Instant::now();
    let o = eigensweep(
        &args(&reference)
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    )
    .output()
    .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    eprintln!("uninterrupted analysis: {:?}", started.elapsed());
    assert_same_files(
        &reference.join("analysis"),
        &out.join("analysis"),
        "interrupted and rerun",
    );
}

/// Sum of the sizes of the files under `dir`, each rounded up to whole 4 KiB pages (what a
/// tmpfs charges).
fn kib_in_pages(dir: &Path) -> u64 {
    files(dir)
        .values()
        .map(|b| (b.len() as u64).div_ceil(4096) * 4)
        .sum()
}

/// A full disk is fatal for the launch: exit 4 naming the file and the cause, no temporary
/// file left; with space freed the same command ends with the tables of an analysis that
/// never lacked space.
#[test]
fn a_full_disk_exits_4_without_temporary_files_and_the_rerun_completes() {
    let size = Synthetic {
        runs: 3,
        snapshots: 12,
        k: 3,
        n: 2000,
    };
    let tmp = tempfile::tempdir().unwrap();
    let reference = tmp.path().join("reference");
    size.write(&reference);
    let input_kib = kib_in_pages(&reference);
    let o = run(&[
        "analyze",
        reference.to_str().unwrap(),
        "-w",
        "1",
        "--tile-rows",
        "9",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let analysis_kib = kib_in_pages(&reference.join("analysis"));
    assert!(
        analysis_kib >= 64,
        "analysis of {analysis_kib} KiB is too small a test"
    );

    // Room for the input and half of the analysis.
    let Some(fs) = Tmpfs::mount(&tmp.path().join("mnt"), input_kib + analysis_kib / 2) else {
        return;
    };
    let out = fs.dir.join("out");
    size.write(&out);
    assert!(
        used_kib(&fs.dir) <= input_kib + 4,
        "the input alone fills the tmpfs"
    );
    let o = run(&[
        "analyze",
        out.to_str().unwrap(),
        "-w",
        "1",
        "--tile-rows",
        "9",
    ]);
    let err = stderr(&o);
    eprintln!("{err}");
    assert_eq!(o.status.code(), Some(exit_codes::OUTPUT), "{err}");
    assert!(err.contains("No space left on device"), "{err}");
    assert!(
        err.contains(&out.join("analysis").display().to_string()),
        "the message should name the file: {err}"
    );
    assert!(temp_files(&out).is_empty(), "{:?}", temp_files(&out));

    fs.resize(64 * 1024);
    let o = run(&[
        "analyze",
        out.to_str().unwrap(),
        "-w",
        "1",
        "--tile-rows",
        "9",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_same_files(
        &reference.join("analysis"),
        &out.join("analysis"),
        "after freeing space",
    );
}
