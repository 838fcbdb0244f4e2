//! The resolved sweep an output directory holds (`OUT/sweep.yaml`, as `run` wrote it), read
//! and validated again, with its text for the page.

use std::fs;
use std::path::Path;

use eigensweep_common::sweep::{read_sweep, Overrides, ValidatedSweep};

use crate::ReportError;

/// File name of the resolved sweep under `OUT`.
pub const SWEEP_FILE: &str = "sweep.yaml";

/// The resolved sweep of `OUT/sweep.yaml`, with its text (shown in the report).
pub struct SweepInfo {
    /// The sweep, validated again (it is the file `run` wrote).
    pub sweep: ValidatedSweep,
    /// The file's text.
    pub text: String,
}

/// Reads and validates `OUT/sweep.yaml`.
pub fn read_out_sweep(out: &Path) -> Result<SweepInfo, ReportError> {
    let path = out.join(SWEEP_FILE);
    let text = fs::read_to_string(&path).map_err(|e| ReportError::Sweep {
        path: path.clone(),
        message: e.to_string(),
    })?;
    let sweep = read_sweep(&path, &Overrides::default()).map_err(|e| ReportError::Sweep {
        path: path.clone(),
        message: e.to_string(),
    })?;
    Ok(SweepInfo { sweep, text })
}
