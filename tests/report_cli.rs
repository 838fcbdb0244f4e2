//! End-to-end tests of `eigensweep minima` and `eigensweep report` on a real small sweep,
//! stopped by SIGTERM or by a full disk.

#[path = "support/mod.rs"]
mod support;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::OnceLock;
use std::time::Duration;

use eigensweep_common::exit_codes;
use support::stop::{copy_tree, files, sigterm, temp_files, wait_at_most, Tmpfs};
use support::{eigensweep, run, small_sweep_args, stderr};

#[test]
fn report_renders_every_figure_of_a_small_sweep() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let o = run(&small_sweep_args(
        out.to_str().unwrap(),
        &[
            "--set",
            "snapshots.store_weights=true",
            "--set",
            "training.steps=90",
            "--set",
            "snapshots.density={probes: 2, steps: 6}",
        ],
    ));
    assert!(o.status.success(), "{}", stderr(&o));
    let out_s = out.to_str().unwrap();

    // Before the analysis the two-time figures are listed as not available, with the cure.
    let o = run(&["report", out_s, "--no-minima"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(text.contains("not available: Figure 1"), "{text}");
    assert!(
        text.contains("analysis tables missing: run `eigensweep analyze OUT`"),
        "{text}"
    );
    // θ is stored: the hint must not send the user to store_weights.
    assert!(!text.contains("store_weights"), "{text}");

    let o = run(&["analyze", out_s]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = run(&[
        "minima",
        out_s,
        "--alpha-points",
        "7",
        "--sharpness-iterations",
        "3",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = String::from_utf8_lossy(&o.stdout).into_owned();
    for opt in ["sgd", "adam", "sam"] {
        assert!(text.contains(opt), "{text}");
    }
    assert!(out.join("minima/minima.parquet").is_file());
    assert!(out.join("minima/interpolation.parquet").is_file());

    let o = run(&["report", out_s]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(!text.contains("not available"), "{text}");
    let index = std::fs::read_to_string(out.join("report/index.html")).unwrap();
    for fig in [
        "fig01-displacement",
        "fig08-minima",
        "fig16-eigenvector-map",
        "figD-spectral-density",
    ] {
        for ext in ["svg", "png", "csv"] {
            let path = out.join(format!("report/synthetic/{fig}.{ext}"));
            let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            assert!(
                bytes.len() > 500,
                "{} is {} bytes",
                path.display(),
                bytes.len()
            );
            if ext == "png" {
                assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "{}", path.display());
            }
        }
        assert!(index.contains(fig), "index.html does not show {fig}");
    }
    // A bad option is a usage error.
    let o = run(&["report", out_s, "--waiting-times", "0"]);
    assert_eq!(o.status.code(), Some(exit_codes::USAGE), "{}", stderr(&o));
    // Issue 26.4: a seed the sweep has no run of exited 0 with empty figures; it is an input
    // error naming the seeds there are.
    let o = run(&["report", out_s, "--seed", "5"]);
    assert_eq!(o.status.code(), Some(exit_codes::INPUT), "{}", stderr(&o));
    assert!(
        stderr(&o).contains(
            "seed 5 (chosen for the single-run figures): no run with snapshots has it; the \
             runs' seeds are 0"
        ),
        "{}",
        stderr(&o)
    );
}

/// One small finished sweep (θ stored) shared by the stop tests, which each work on a copy.
fn shared_sweep() -> &'static Path {
    static SWEEP: OnceLock<PathBuf> = OnceLock::new();
    SWEEP.get_or_init(|| {
        let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("report-stop-sweep");
        let _ = std::fs::remove_dir_all(&out);
        let o = run(&small_sweep_args(
            out.to_str().unwrap(),
            &["--set", "snapshots.store_weights=true"],
        ));
        assert!(o.status.success(), "{}", stderr(&o));
        out
    })
}

/// Slurm preemption while `report` computes the minima comparison (the long part: losses
/// over the training set along every interpolation line): exit 8 within seconds, no
/// temporary file and no minima table, and the same command finishes afterwards.
#[test]
fn sigterm_stops_report_during_the_minima_and_a_rerun_completes() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    copy_tree(shared_sweep(), &out);
    let out_s = out.to_str().unwrap();
    // 3 pairs of minima × 4,000 α points, each a loss over the training and the test set:
    // minutes of real work, far more than the wait below.
    let child = eigensweep(&[
        "report",
        out_s,
        "--alpha-points",
        "4000",
        "--sharpness-iterations",
        "1000",
    ])
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    std::thread::sleep(Duration::from_secs(3));
    sigterm(&child);
    let (o, took) = wait_at_most(child, Duration::from_secs(10), "report");
    eprintln!("report exited {took:?} after SIGTERM: {}", stderr(&o));
    assert_eq!(
        o.status.code(),
        Some(exit_codes::INTERRUPTED),
        "not stopped mid-way ({took:?} after SIGTERM): {}",
        stderr(&o)
    );
    assert!(
        stderr(&o).contains("run the same command again"),
        "{}",
        stderr(&o)
    );
    assert!(temp_files(&out).is_empty(), "{:?}", temp_files(&out));
    assert!(!out.join("minima/minima.parquet").exists());
    assert!(!out.join("minima/interpolation.parquet").exists());

    // The same command finishes; smaller settings only keep the test short.
    let o = run(&[
        "report",
        out_s,
        "--alpha-points",
        "7",
        "--sharpness-iterations",
        "3",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(out.join("minima/minima.parquet").is_file());
    assert!(out.join("report/index.html").is_file());
    assert!(temp_files(&out).is_empty(), "{:?}", temp_files(&out));
}

/// A full disk while the figures are written: exit 4 naming the file and the cause, no
/// `.fig….svg.tmp` left behind; with space freed the same command completes.
#[test]
fn a_full_disk_stops_report_with_exit_4_and_no_temporary_files() {
    let sweep = shared_sweep();
    let input_kib: u64 = files(sweep)
        .values()
        .map(|b| (b.len() as u64).div_ceil(4096) * 4)
        .sum();
    let tmp = tempfile::tempdir().unwrap();
    // The sweep and 256 KiB: a few figures fit, not the report.
    let Some(fs) = Tmpfs::mount(&tmp.path().join("mnt"), input_kib + 256) else {
        return;
    };
    let out = fs.dir.join("out");
    copy_tree(sweep, &out);
    let out_s = out.to_str().unwrap();
    let o = run(&["report", out_s, "--no-minima"]);
    let err = stderr(&o);
    eprintln!("{err}");
    assert_eq!(o.status.code(), Some(exit_codes::OUTPUT), "{err}");
    assert!(err.contains("No space left on device"), "{err}");
    assert!(
        err.contains(&out.join("report").display().to_string()),
        "the message should name the file: {err}"
    );
    assert!(temp_files(&out).is_empty(), "{:?}", temp_files(&out));

    fs.resize(input_kib + 64 * 1024);
    let o = run(&["report", out_s, "--no-minima"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(out.join("report/index.html").is_file());
    assert!(temp_files(&out).is_empty(), "{:?}", temp_files(&out));
}

/// An output copied to another machine, where the folder its sweep read the data from does
/// not exist (issue 26.5): `minima` and `report` take the data from `--data NAME=DIR`, checked
/// against the digest its runs recorded; without it they say how.
#[test]
fn minima_and_report_read_moved_data_with_the_data_option() {
    let tmp = tempfile::tempdir().unwrap();
    let mnist = eigensweep_worker::data::test_mnist_dir();
    let data = tmp.path().join("data");
    copy_tree(&mnist, &data);
    let out = tmp.path().join("out");
    let out_s = out.to_str().unwrap();
    let source = format!("datasets[0].source={}", data.display());
    let o = run(&small_sweep_args(
        out_s,
        &[
            "--set",
            &source,
            "--set",
            "datasets[0].test_size=200",
            "--set",
            "training.steps=60",
            "--set",
            "snapshots.hessian_samples=200",
        ],
    ));
    assert!(o.status.success(), "{}", stderr(&o));

    // The data move away (or the output moves to a machine without them).
    let moved = tmp.path().join("moved");
    std::fs::rename(&data, &moved).unwrap();
    let minima = |extra: &[&str]| {
        let mut args = vec![
            "minima",
            out_s,
            "--alpha-points",
            "3",
            "--sharpness-iterations",
            "1",
        ];
        args.extend_from_slice(extra);
        run(&args)
    };
    let o = minima(&[]);
    assert_eq!(o.status.code(), Some(exit_codes::INPUT), "{}", stderr(&o));
    assert!(stderr(&o).contains("--data NAME=DIR"), "{}", stderr(&o));

    // A name the sweep does not have, and a malformed value.
    let o = minima(&["--data", &format!("digits={}", moved.display())]);
    assert_eq!(o.status.code(), Some(exit_codes::INPUT), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("has no dataset `digits` (it has synthetic)"),
        "{}",
        stderr(&o)
    );
    let o = minima(&["--data", "synthetic"]);
    assert_eq!(o.status.code(), Some(exit_codes::USAGE), "{}", stderr(&o));
    assert!(stderr(&o).contains("expected NAME=DIR"), "{}", stderr(&o));

    // Other files than the runs were trained on: refused by their digest.
    let other = tmp.path().join("other");
    copy_tree(&moved, &other);
    // The training digits as the test set too: well-formed files, other content.
    for (from, to) in [
        ("train-images", "t10k-images"),
        ("train-labels", "t10k-labels"),
    ] {
        let name = |stem: &str| {
            format!(
                "{stem}-idx{}-ubyte.gz",
                if stem.ends_with("images") { 3 } else { 1 }
            )
        };
        std::fs::copy(other.join(name(from)), other.join(name(to))).unwrap();
    }
    let o = minima(&["--data", &format!("synthetic={}", other.display())]);
    assert_eq!(o.status.code(), Some(exit_codes::INPUT), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("not the ones the runs were trained on"),
        "{}",
        stderr(&o)
    );

    // The same files elsewhere: the comparison and Figure 8.
    let arg = format!("synthetic={}", moved.display());
    let o = minima(&["--data", &arg]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = run(&[
        "report",
        out_s,
        "--data",
        &arg,
        "--alpha-points",
        "3",
        "--sharpness-iterations",
        "1",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(
        !text.contains("not available: Figure 8"),
        "Figure 8 is drawn: {text}"
    );
}
