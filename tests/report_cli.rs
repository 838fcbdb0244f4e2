//! End-to-end tests of `eigensweep minima` and `eigensweep report` on a real small sweep.

#[path = "support/mod.rs"]
mod support;

use support::{run, small_sweep_args, stderr};

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
        text.contains("run `eigensweep analyze OUT` first"),
        "{text}"
    );

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
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
}
