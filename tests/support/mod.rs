//! The one helper module of the end-to-end tests (tests/*.rs): running the binary, small
//! sweeps, reading tables back; `stop` for the tests that stop commands with a signal or a
//! full disk and compare directory trees; `format1` for outputs of an earlier table format.

#![allow(dead_code)]

pub mod format1;
pub mod stop;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use eigensweep_worker::output::{
    read_baseline_rows, read_density_rows, read_metric_rows, read_preconditioned_rows,
    read_run_records, read_snapshot_rows, read_trace_rows, read_weight_rows,
};

/// The repository (`EIGENSWEEP_TEST_REPO` where the test binary runs away from its checkout).
pub fn repo_root() -> PathBuf {
    std::env::var_os("EIGENSWEEP_TEST_REPO")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join(".."))
}

/// The binary under test: cargo's build of it, or `EIGENSWEEP_TEST_BIN` when the test
/// binaries were built on one machine and run on another (a GPU node without cargo,
/// `cluster/gpu-check.sh`).
pub fn binary() -> PathBuf {
    std::env::var_os("EIGENSWEEP_TEST_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_eigensweep")))
}

pub fn eigensweep(args: &[&str]) -> Command {
    let mut cmd = Command::new(binary());
    cmd.args(args).current_dir(repo_root());
    cmd
}

pub fn run(args: &[&str]) -> Output {
    eigensweep(args).output().expect("running eigensweep")
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A small sweep: quickstart with fewer steps, frequent snapshots and checkpoints.
pub fn small_sweep_args<'a>(out: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut v = vec![
        "run",
        "sweeps/quickstart.yaml",
        "--out",
        out,
        "--threads-per-run",
        "2",
        "--checkpoint-every",
        "2",
        "--set",
        "training.steps=240",
        "--set",
        "snapshots.schedule={every: 30}",
        "--set",
        "datasets[0].train_size=800",
        "--set",
        "snapshots.hessian_samples=400",
    ];
    v.extend_from_slice(extra);
    v
}

pub fn run_dirs(out: &Path) -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    for opt in ["sgd", "adam", "sam"] {
        dirs.push(out.join(format!("runs/dataset=synthetic/optimizer={opt}/seed=0")));
    }
    dirs
}

/// Asserts that every run of `out` holds exactly the rows of the same run in `reference`.
/// Rows are compared through their Debug text: exact (shortest round-trip floats) and
/// NaN-equal (the final snapshot's alignments are NaN, and NaN != NaN).
pub fn assert_same_tables(reference: &Path, out: &Path, context: &str) {
    for (a, b) in run_dirs(reference).iter().zip(run_dirs(out)) {
        let snaps = read_snapshot_rows(&a.join("snapshots")).unwrap();
        assert_eq!(snaps.len(), 27, "{context}: reference {}", a.display());
        let pairs = [
            (
                "snapshots",
                format!("{snaps:?}"),
                format!("{:?}", read_snapshot_rows(&b.join("snapshots")).unwrap()),
            ),
            (
                "metrics",
                format!("{:?}", read_metric_rows(&a.join("metrics")).unwrap()),
                format!("{:?}", read_metric_rows(&b.join("metrics")).unwrap()),
            ),
            (
                "weights",
                format!("{:?}", read_weight_rows(&a.join("weights")).unwrap()),
                format!("{:?}", read_weight_rows(&b.join("weights")).unwrap()),
            ),
            (
                "trace",
                format!("{:?}", read_trace_rows(&a.join("trace")).unwrap()),
                format!("{:?}", read_trace_rows(&b.join("trace")).unwrap()),
            ),
            (
                "density",
                format!("{:?}", read_density_rows(&a.join("density")).unwrap()),
                format!("{:?}", read_density_rows(&b.join("density")).unwrap()),
            ),
            (
                "preconditioned",
                format!(
                    "{:?}",
                    read_preconditioned_rows(&a.join("preconditioned")).unwrap()
                ),
                format!(
                    "{:?}",
                    read_preconditioned_rows(&b.join("preconditioned")).unwrap()
                ),
            ),
        ];
        for (table, want, got) in pairs {
            assert!(
                want == got,
                "{context}: {table} of {} differ from the uninterrupted run",
                b.display()
            );
        }
    }
}

/// Asserts that two outputs of the same sweep hold the same baseline rows and the same runs
/// table, ignoring where and when tasks ran (host, rank, times, wall-clock seconds).
pub fn assert_same_baseline_and_status(reference: &Path, out: &Path, context: &str) {
    let dir = |o: &Path| o.join("baseline/dataset=synthetic");
    let want = read_baseline_rows(&dir(reference)).unwrap();
    assert_eq!(want.len(), 4, "{context}: reference baseline rows");
    let got = read_baseline_rows(&dir(out)).unwrap();
    assert!(
        format!("{want:?}") == format!("{got:?}"),
        "{context}: baseline rows differ"
    );
    let strip = |o: &Path| {
        let mut rows = read_run_records(&o.join("runs.parquet")).unwrap();
        for r in &mut rows {
            r.host = None;
            r.rank = None;
            r.start_time = None;
            r.end_time = None;
            r.wall_seconds = None;
            r.checkpoint_time = None;
            r.updated_time = None;
        }
        format!("{rows:?}")
    };
    assert_eq!(
        strip(reference),
        strip(out),
        "{context}: runs tables differ"
    );
}

/// Runs `python3 ARGS…` (e.g. `["-c", script]`), asserts it succeeded (showing its stderr
/// otherwise) and returns its stdout.
#[allow(dead_code)]
pub fn python(args: &[&str]) -> String {
    let py = Command::new("python3").args(args).output().unwrap();
    assert!(
        py.status.success(),
        "{}",
        String::from_utf8_lossy(&py.stderr)
    );
    String::from_utf8_lossy(&py.stdout).into_owned()
}

/// Whether `python3 -c "import duckdb"` works; with EIGENSWEEP_REQUIRE_DUCKDB set (CI) a
/// missing DuckDB fails the test instead of skipping its DuckDB half.
pub fn duckdb_available() -> bool {
    let ok = Command::new("python3")
        .args(["-c", "import duckdb"])
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !ok {
        assert!(
            std::env::var_os("EIGENSWEEP_REQUIRE_DUCKDB").is_none(),
            "EIGENSWEEP_REQUIRE_DUCKDB is set but `import duckdb` fails: pip install duckdb"
        );
        eprintln!("note: duckdb not importable; skipping the DuckDB half of this test (pip install duckdb)");
    }
    ok
}

/// A tmpfs mounted on a directory, unmounted when dropped. `None` (with a note) where this user
/// may not mount, unless EIGENSWEEP_REQUIRE_MOUNT is set (CI runs as root and sets it).
pub struct Tmpfs {
    pub dir: PathBuf,
}

impl Tmpfs {
    pub fn mount(dir: &Path, size: &str) -> Option<Self> {
        std::fs::create_dir_all(dir).unwrap();
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            assert!(
                std::env::var_os("EIGENSWEEP_REQUIRE_MOUNT").is_none(),
                "EIGENSWEEP_REQUIRE_MOUNT is set but mounting a tmpfs failed (run as root)"
            );
            eprintln!("note: cannot mount a tmpfs here (not root?); skipping this test");
            return None;
        }
        Some(Self {
            dir: dir.to_path_buf(),
        })
    }

    /// `mount -o remount,OPTIONS`, e.g. `ro` or `size=256m`.
    pub fn remount(&self, options: &str) {
        let ok = Command::new("mount")
            .args(["-o", &format!("remount,{options}")])
            .arg(&self.dir)
            .status()
            .unwrap();
        assert!(ok.success(), "remounting {} {options}", self.dir.display());
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.dir).status();
    }
}
