//! Where the machine's [`Calibration`] lives, and reading and writing it: `eigensweep bench
//! --calibrate` stores one, `eigensweep plan` reads it to turn products and steps into time.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, Context};
use eigensweep_common::exit_codes;
use eigensweep_common::sweep::cost::{Calibration, BUILTIN_GEMM_GFLOPS};

use crate::failure::Failure;

/// Environment variable naming the calibration file.
pub const CALIBRATION_VAR: &str = "EIGENSWEEP_CALIBRATION";

/// `$EIGENSWEEP_CALIBRATION` if set and non-empty, else `calibration.json` in the data cache
/// directory (`$EIGENSWEEP_DATA`, `$XDG_CACHE_HOME/eigensweep` or `~/.cache/eigensweep`), so
/// that compute nodes sharing a home directory share it.
pub fn default_path() -> anyhow::Result<PathBuf> {
    if let Some(p) = std::env::var_os(CALIBRATION_VAR).filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(p));
    }
    Ok(eigensweep_worker::data::cache_dir()?.join("calibration.json"))
}

/// The calibration to estimate with, and a line saying where it came from.
///
/// `explicit` (from `--calibration`) must exist and be valid; the default path is used when
/// it exists (and must then be valid: a broken file is an error, never silently replaced);
/// otherwise the built-in calibration, scaled to this machine by its matrix-multiply rate
/// ([`gemm_gflops`] against [`BUILTIN_GEMM_GFLOPS`]). Errors exit with
/// [`exit_codes::INPUT`] and name the file and the field.
pub fn load(explicit: Option<&Path>) -> Result<(Calibration, String), Failure> {
    let path = match explicit {
        Some(p) => p.to_path_buf(),
        None => match default_path() {
            Ok(p) if p.exists() => p,
            _ => {
                let c = Calibration::builtin();
                let here = gemm_gflops();
                let (c, scaled) = if here.is_finite() && here > 0.0 {
                    let factor = BUILTIN_GEMM_GFLOPS / here;
                    (
                        c.scaled(factor),
                        format!(
                            " × {factor:.2}: this machine multiplies matrices at {here:.0} \
                             GFLOP/s on one thread, the built-in's at {BUILTIN_GEMM_GFLOPS:.0}"
                        ),
                    )
                } else {
                    (c, String::new())
                };
                let source = format!(
                    "built-in ({}, {}){scaled}; run `eigensweep bench --calibrate` on the \
                     machines that will run the sweep to measure theirs",
                    c.cpu, c.measured
                );
                return Ok((c, source));
            }
        },
    };
    let fail = |e: anyhow::Error| Failure {
        code: exit_codes::INPUT,
        error: e.context(format!("reading the calibration {}", path.display())),
    };
    let text = std::fs::read_to_string(&path).map_err(|e| fail(e.into()))?;
    let c: Calibration = serde_json::from_str(&text).map_err(|e| fail(e.into()))?;
    c.check().map_err(|e| fail(anyhow!(e)))?;
    let source = format!("{} ({}, {})", path.display(), c.cpu, c.measured);
    Ok((c, source))
}

/// This machine's single-thread matrix-multiply rate in GFLOP/s, measured as
/// [`BUILTIN_GEMM_GFLOPS`] was (the SGD step's 8 products through `gemm`, best of 3 rounds of
/// 30 steps): 0.02 s on the built-in calibration's machine, 0.15 s on one 6 times slower.
pub fn gemm_gflops() -> f64 {
    let images: Vec<f32> = (0..128 * 784).map(|i| (i % 251) as f32 / 251.0).collect();
    crate::bench::training::gemm_bound_rate(&images, 30).1
}

/// Writes `c` as JSON to `path` through a temporary file in the same folder and a rename,
/// creating the folder, so that a reader never sees half a file.
pub fn store(path: &Path, c: &Calibration) -> anyhow::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".calibration-")
        .tempfile_in(&dir)
        .with_context(|| format!("creating a temporary file in {}", dir.display()))?;
    let json = serde_json::to_string_pretty(c)?;
    tmp.write_all(json.as_bytes())?;
    tmp.write_all(b"\n")?;
    tmp.as_file().sync_all()?;
    tmp.persist(path)
        .map_err(|e| anyhow!(e.error))
        .with_context(|| format!("renaming the calibration into {}", path.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_calibration_reads_back_and_broken_ones_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/calibration.json");
        let c = Calibration {
            cpu: "Test CPU".into(),
            sgd_steps_per_second: 1234.0,
            ..Calibration::builtin()
        };
        store(&path, &c).unwrap();
        let (back, source) = load(Some(&path)).unwrap();
        assert_eq!(back, c);
        assert!(source.contains("Test CPU"), "{source}");
        // No temporary file is left beside it.
        assert_eq!(
            std::fs::read_dir(path.parent().unwrap()).unwrap().count(),
            1
        );

        std::fs::write(&path, "{\"version\": 1}").unwrap();
        let e = load(Some(&path)).unwrap_err();
        assert_eq!(e.code, exit_codes::INPUT);
        let text = format!("{:#}", e.error);
        assert!(text.contains("calibration.json"), "{text}");
        assert!(text.contains("missing field"), "{text}");

        let bad = Calibration {
            hvp_core_seconds: -1.0,
            ..Calibration::builtin()
        };
        std::fs::write(&path, serde_json::to_string(&bad).unwrap()).unwrap();
        let text = format!("{:#}", load(Some(&path)).unwrap_err().error);
        assert!(text.contains("hvp_core_seconds"), "{text}");
        let missing = dir.path().join("absent.json");
        assert!(load(Some(&missing)).is_err());
    }
}
