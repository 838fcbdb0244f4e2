//! What the minima comparison was computed from (`OUT/minima/_inputs.json`), so that a later
//! report can tell whether it still describes the runs: every run's key, status, last step
//! with a test accuracy (which chose the best run) and last stored θ (which was compared).
//!
//! A comparison made while runs were unfinished compares θ at an early step; once the runs
//! go on, its numbers (Fig. 8's test accuracy, λ1, sharpness) describe parameters the sweep
//! no longer ends with. The record's fingerprint changes with any of those inputs, so a stale
//! comparison is recomputed or, where it cannot be, reported as stale rather than reused
//! silently. The comparison's own settings (ε, α grid) are recorded too but are not part of
//! the fingerprint: they are the user's choice, not a change of the runs.

use std::fs;
use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::inputs::Inputs;
use crate::{MinimaOptions, ReportError};

/// File name of the record inside `OUT/minima`.
pub const PROVENANCE_FILE: &str = "_inputs.json";
/// Version of the record's layout.
const PROVENANCE_FORMAT: u32 = 1;

/// One run as the comparison saw it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunInput {
    /// `dataset/optimizer/seed`.
    pub run: String,
    /// Run key, if known.
    pub key: Option<String>,
    /// done, unfinished, diverged, failed or not started.
    pub status: String,
    /// Last step with a test accuracy.
    pub last_eval_step: Option<u64>,
    /// Last step with θ stored.
    pub last_theta_step: Option<u64>,
}

/// The settings of the comparison, for the record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SettingsRecord {
    /// α grid points.
    pub alpha_points: usize,
    /// ε of the ε-sharpness.
    pub epsilon: f64,
    /// Ascent iterations of the ε-sharpness.
    pub sharpness_iterations: usize,
    /// Tolerance of λ1.
    pub eigen_tol: f64,
}

/// `OUT/minima/_inputs.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Provenance {
    /// Layout version.
    pub format: u32,
    /// SHA-256 of the runs' inputs ([`fingerprint`]).
    pub fingerprint: String,
    /// The runs' inputs.
    pub runs: Vec<RunInput>,
    /// The comparison's settings.
    pub settings: SettingsRecord,
}

/// Whether the minima tables of an output describe its runs as they are now.
#[derive(Debug, Clone, PartialEq)]
pub enum Freshness {
    /// No minima tables.
    Missing,
    /// Computed from the runs as they are.
    Current,
    /// Computed from other inputs: what changed, in words.
    Stale(String),
}

/// The inputs of the comparison in `inputs`, one per run of the sweep.
pub fn current_inputs(inputs: &Inputs) -> Vec<RunInput> {
    inputs
        .state
        .runs
        .iter()
        .map(|r| {
            let entry = r.catalog_index.map(|i| &inputs.catalog.runs[i]);
            RunInput {
                run: r.label(),
                key: r.key.clone(),
                status: r.status.word().to_string(),
                last_eval_step: r.final_test_accuracy.map(|(s, _)| s),
                last_theta_step: entry.and_then(|e| e.theta_steps.iter().next_back().copied()),
            }
        })
        .collect()
}

/// SHA-256 (hex) of the runs' inputs.
pub fn fingerprint(runs: &[RunInput]) -> String {
    let json = serde_json::to_vec(runs).expect("plain data serialises");
    Sha256::digest(&json)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The record of a comparison computed now from `inputs` with `opts`.
pub fn record(inputs: &Inputs, opts: &MinimaOptions) -> Provenance {
    let runs = current_inputs(inputs);
    Provenance {
        format: PROVENANCE_FORMAT,
        fingerprint: fingerprint(&runs),
        runs,
        settings: SettingsRecord {
            alpha_points: opts.alpha_points,
            epsilon: opts.epsilon,
            sharpness_iterations: opts.sharpness_iterations,
            eigen_tol: opts.eigen_tol,
        },
    }
}

/// Reads the record in `dir` (`OUT/minima`), if there is a readable one.
pub fn read_provenance(dir: &Path) -> Option<Provenance> {
    let text = fs::read_to_string(dir.join(PROVENANCE_FILE)).ok()?;
    serde_json::from_str(&text)
        .ok()
        .filter(|p: &Provenance| p.format == PROVENANCE_FORMAT)
}

/// Writes the record through a temporary file and a rename.
pub fn write_provenance(dir: &Path, p: &Provenance) -> Result<(), ReportError> {
    let path = dir.join(PROVENANCE_FILE);
    let text = serde_json::to_string_pretty(p).expect("plain data serialises");
    crate::render::write_atomically(&path, text.as_bytes())
}

/// Removes the record (before new tables are written: tables without a record are stale).
pub fn remove_provenance(dir: &Path) -> Result<(), ReportError> {
    let path = dir.join(PROVENANCE_FILE);
    match fs::remove_file(&path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(ReportError::io("removing", &path, e)),
    }
}

/// Whether the minima of `inputs.out` were computed from the runs as they are now; when not,
/// the first few differences in words.
pub fn freshness(inputs: &Inputs) -> Result<Freshness, ReportError> {
    let dir = inputs.out.join(super::MINIMA_DIR);
    if super::read_minima(&inputs.out)?.is_none() {
        return Ok(Freshness::Missing);
    }
    let Some(recorded) = read_provenance(&dir) else {
        return Ok(Freshness::Stale(
            "they carry no record of the runs they were computed from (an older eigensweep, \
             or a comparison interrupted while writing)"
                .into(),
        ));
    };
    let now = current_inputs(inputs);
    if fingerprint(&now) == recorded.fingerprint {
        return Ok(Freshness::Current);
    }
    let mut changes = Vec::new();
    for r in &now {
        match recorded.runs.iter().find(|o| o.run == r.run) {
            None => changes.push(format!("{} is new", r.run)),
            Some(o) if o != r => changes.push(describe_change(o, r)),
            Some(_) => {}
        }
    }
    for o in &recorded.runs {
        if !now.iter().any(|r| r.run == o.run) {
            changes.push(format!("{} is gone", o.run));
        }
    }
    let shown = changes.len().min(4);
    let mut text = changes[..shown].join("; ");
    if changes.len() > shown {
        text.push_str(&format!("; and {} more", changes.len() - shown));
    }
    Ok(Freshness::Stale(format!(
        "they were computed from other run states: {text}"
    )))
}

fn describe_change(old: &RunInput, new: &RunInput) -> String {
    let step = |s: Option<u64>| s.map_or("none".to_string(), |s| s.to_string());
    let mut parts = Vec::new();
    if old.status != new.status {
        parts.push(format!("{} → {}", old.status, new.status));
    }
    if old.last_theta_step != new.last_theta_step {
        parts.push(format!(
            "last θ at step {} → {}",
            step(old.last_theta_step),
            step(new.last_theta_step)
        ));
    }
    if old.last_eval_step != new.last_eval_step {
        parts.push(format!(
            "last evaluation at step {} → {}",
            step(old.last_eval_step),
            step(new.last_eval_step)
        ));
    }
    if old.key != new.key {
        parts.push("another run key (its configuration changed)".into());
    }
    format!("{}: {}", new.run, parts.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(status: &str, theta: Option<u64>) -> RunInput {
        RunInput {
            run: "mnist/sgd/0".into(),
            key: Some("k".into()),
            status: status.into(),
            last_eval_step: theta,
            last_theta_step: theta,
        }
    }

    #[test]
    fn the_fingerprint_follows_every_input_and_the_change_reads_naturally() {
        let before = vec![run("unfinished", Some(250))];
        let after = vec![run("done", Some(1500))];
        assert_ne!(fingerprint(&before), fingerprint(&after));
        assert_eq!(fingerprint(&before), fingerprint(&before.clone()));
        assert_eq!(
            describe_change(&before[0], &after[0]),
            "mnist/sgd/0: unfinished → done, last θ at step 250 → 1500, last evaluation at step 250 → 1500"
        );
    }
}
