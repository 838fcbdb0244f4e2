//! `eigensweep run --extend`: continuing the finished runs of an output to more steps.
//!
//! A run's directory is `runs/dataset=D/optimizer=O/seed=S` whatever its step count, so a
//! sweep file with more `training.steps` names the same directories under new run keys, which
//! `run` refuses as outputs of another configuration. With `--extend`, each such directory
//! that holds a *finished* run whose configuration differs only in what grows with the step
//! count ([`extendable`](super::extendable)) becomes the new key's run, stopped at the finished
//! run's last step; the dispatch then resumes it as any checkpointed run, and its tables end
//! as those of the new configuration trained from step 0. Anything else is refused, every run
//! named with its reasons, before anything changes (exit 3).
//!
//! Crash safety: before touching a run, the launch writes its intent, `_EXTENDING` in the run
//! directory (JSON: [`Intent`]), durably. Then, each stage idempotent:
//!
//! 1. the old key's rows in every runs table become the new key's, pending at the old step;
//! 2. the run directory is turned ([`continue_finished_run`]: `_SUCCESS` removed, every part
//!    rewritten under the new key, the checkpoint made the new key's and not complete);
//! 3. the intent file is removed.
//!
//! Every launch on the output first finishes (rolls forward) the continuations whose intent
//! it finds, `--extend` or not. While the intent is there, the run directory reads as
//! unfinished ([`RunDirState::Extending`]), and once its stage 1 is done no runs table calls
//! the old key finished.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use eigensweep_common::exit_codes;
use eigensweep_common::sweep::RunSpec;
use eigensweep_worker::output::{
    paths::RUNS_DIR, read_run_records, runs_table_files, temp_path, write_table_atomically,
    RunDirState, RunRecord, RunsTables, TaskStatus, CHECKPOINT_FILE, DIVERGED_MARKER,
    EXTENDING_MARKER,
};
use eigensweep_worker::run::{continue_finished_run, Checkpoint, Continuation};
use eigensweep_worker::WorkerError;
use serde::{Deserialize, Serialize};

use super::extendable;
use super::prepare::{Prepared, Task};
use crate::failure::{Failure, WithExitCode};

/// What `_EXTENDING` records: enough to finish the continuation without the sweep file that
/// asked for it (a later launch may use another).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Intent {
    /// The finished run's key.
    pub old_key: String,
    /// The key it continues as.
    pub new_key: String,
    /// The finished run's steps (where the continued run resumes).
    pub old_steps: u64,
    /// The continued run's steps.
    pub new_steps: u64,
    /// The continued run's configuration (its runs-table `config_json`).
    pub config_json: String,
    /// The continued run's snapshots (its runs-table `snapshots_total`).
    pub snapshots_total: u64,
}

impl Intent {
    /// Writes the intent into `dir` durably: a temporary file, fsync'd, renamed, and the
    /// directory fsync'd, so that it is there whole or not at all before anything changes.
    fn write(&self, dir: &Path) -> Result<(), Failure> {
        let path = dir.join(EXTENDING_MARKER);
        let tmp = temp_path(&path);
        let text = serde_json::to_string_pretty(self)
            .exit_code(exit_codes::INTERNAL, "encoding the intent")?;
        let written = (|| -> std::io::Result<()> {
            let mut file = fs::File::create(&tmp)?;
            std::io::Write::write_all(&mut file, text.as_bytes())?;
            file.sync_all()?;
            fs::rename(&tmp, &path)?;
            fs::File::open(dir)?.sync_all()
        })();
        if written.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        written.exit_code(exit_codes::OUTPUT, format!("writing {}", path.display()))
    }

    /// Reads the intent in `dir`, if there is one.
    fn read(dir: &Path) -> Result<Option<Self>, Failure> {
        let path = dir.join(EXTENDING_MARKER);
        let text = match fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => {
                return Err(e).exit_code(exit_codes::INPUT, format!("reading {}", path.display()))
            }
        };
        serde_json::from_str(&text).map(Some).exit_code(
            exit_codes::INPUT,
            format!(
                "{} records a continuation to more steps (run --extend) that this build cannot read; finish it with the eigensweep that wrote it",
                path.display()
            ),
        )
    }
}

/// A run of this launch whose directory holds a finished (or unfinished) run of another key.
struct Candidate {
    /// `dataset/optimizer/seed`.
    label: String,
    /// Its run directory.
    dir: PathBuf,
    /// The key the directory holds.
    old_key: String,
    /// The continuation, or why there can be none.
    verdict: Result<Intent, Vec<String>>,
}

/// Every run of the launch whose directory holds another key's checkpoint, with whether it
/// can be continued as this launch's run (see the module's docs).
fn candidates(prep: &Prepared) -> Vec<Candidate> {
    let recorded: BTreeMap<String, String> = RunsTables::read(&prep.out)
        .best()
        .into_iter()
        .map(|(key, row)| (key, row.record.config_json))
        .collect();
    let mut found = Vec::new();
    for task in &prep.tasks {
        let Task::Run(spec) = task else { continue };
        let dir = prep.out.join(RUNS_DIR).join(spec.partition());
        if RunDirState::read(&dir) == RunDirState::Extending {
            continue;
        }
        // Unreadable checkpoints and checkpoints of this key are the other checks' business.
        let Ok(Some(saved)) = Checkpoint::load(&dir.join(CHECKPOINT_FILE)) else {
            continue;
        };
        if saved.run_key == spec.key {
            continue;
        }
        let verdict = verdict(&dir, &saved, recorded.get(&saved.run_key), spec);
        found.push(Candidate {
            label: task.label(),
            dir,
            old_key: saved.run_key,
            verdict,
        });
    }
    found
}

/// Whether the run `saved` in `dir` (recorded with configuration `old_json`) can continue as
/// `spec`.
fn verdict(
    dir: &Path,
    saved: &Checkpoint,
    old_json: Option<&String>,
    spec: &RunSpec,
) -> Result<Intent, Vec<String>> {
    if let Ok(text) = fs::read_to_string(dir.join(DIVERGED_MARKER)) {
        return Err(vec![format!(
            "it diverged at step {}: there is nothing to continue",
            text.trim()
        )]);
    }
    if !saved.complete {
        return Err(vec![format!(
            "it is not finished (its checkpoint is at step {}): finish it first with the sweep file that started it",
            saved.step
        )]);
    }
    let Some(old_json) = old_json else {
        return Err(vec![
            "its configuration is not in the runs tables (runs*.parquet), so it cannot be compared"
                .into(),
        ]);
    };
    let growth = extendable::check(old_json, spec)?;
    if growth.old_steps != saved.step {
        return Err(vec![format!(
            "its checkpoint is at step {}, but its recorded configuration has {} steps",
            saved.step, growth.old_steps
        )]);
    }
    Ok(Intent {
        old_key: saved.run_key.clone(),
        new_key: spec.key.clone(),
        old_steps: growth.old_steps,
        new_steps: growth.new_steps,
        config_json: spec.config_json(),
        snapshots_total: spec
            .snapshot_steps
            .iter()
            .filter(|&&s| s <= spec.steps)
            .count() as u64,
    })
}

/// Before the output is checked against the sweep: finishes every continuation an earlier
/// launch left unfinished, then, with `--extend`, continues every finished run that can be
/// (or refuses, naming each run that cannot, with nothing changed).
pub(super) fn settle(prep: &Prepared) -> Result<(), Failure> {
    roll_forward(prep)?;
    if !prep.extend {
        return Ok(());
    }
    let found = candidates(prep);
    let refused: Vec<String> = found
        .iter()
        .filter_map(|c| {
            let reasons = c.verdict.as_ref().err()?;
            Some(format!(
                "{} (run {} in {}): {}",
                c.label,
                c.old_key,
                c.dir.display(),
                reasons.join("; ")
            ))
        })
        .collect();
    if !refused.is_empty() {
        return Err(Failure {
            code: exit_codes::INPUT,
            error: anyhow::anyhow!(
                "--extend: {} of the runs in {} cannot be continued as this sweep's (nothing was changed):\n  {}\nonly `training.steps` and the step lists that follow it may grow (docs/RUNNING.md, \"Continuing runs to more steps\"); run this configuration into another --out to train it from step 0",
                refused.len(),
                prep.out.display(),
                refused.join("\n  ")
            ),
        });
    }
    if found.is_empty() {
        crate::console::note!(
            "--extend: no finished run in {} has another step count; nothing to continue",
            prep.out.display()
        );
    }
    for c in found {
        let Ok(intent) = c.verdict else { continue };
        intent.write(&c.dir)?;
        let continued = carry_out(prep, &c.dir, &intent)?;
        crate::console::note!(
            "extend {}: run {}, finished at step {} ({} snapshots), continues as run {} to step {}",
            c.label,
            intent.old_key,
            continued.step,
            continued.snapshots_done,
            intent.new_key,
            intent.new_steps
        );
    }
    Ok(())
}

/// A hint for the refusal of outputs of another configuration: how many of those are
/// finished runs that `--extend` would continue.
pub(super) fn hint(prep: &Prepared) -> Option<String> {
    let n = candidates(prep)
        .iter()
        .filter(|c| c.verdict.is_ok())
        .count();
    (n > 0).then(|| {
        format!(
            "hint: {n} of them are finished runs that can be continued to the new step count, keeping the steps they trained: run the same command with --extend (docs/RUNNING.md, \"Continuing runs to more steps\")"
        )
    })
}

/// Finishes every continuation whose intent is in a run directory of this launch's (a
/// whole-sweep launch: of any run directory of the output).
fn roll_forward(prep: &Prepared) -> Result<(), Failure> {
    let dirs: Vec<PathBuf> = if prep.shard.is_none() {
        run_dirs_on_disk(&prep.out.join(RUNS_DIR))
    } else {
        prep.tasks
            .iter()
            .filter_map(|t| match t {
                Task::Run(spec) => Some(prep.out.join(RUNS_DIR).join(spec.partition())),
                Task::Baseline(_) => None,
            })
            .collect()
    };
    for dir in dirs {
        let Some(intent) = Intent::read(&dir)? else {
            continue;
        };
        let label = label_of(&dir);
        crate::console::note!(
            "finishing the continuation of {label} that an earlier launch began (run {} at step {} → run {}, to step {})",
            intent.old_key,
            intent.old_steps,
            intent.new_key,
            intent.new_steps
        );
        carry_out(prep, &dir, &intent)?;
    }
    Ok(())
}

/// Stages 1–3 of the module's docs, for the run directory `dir` whose intent is written.
fn carry_out(
    prep: &Prepared,
    dir: &Path,
    intent: &Intent,
) -> Result<eigensweep_worker::run::Continued, Failure> {
    rekey_rows(prep, intent)?;
    let continuation = Continuation {
        old_key: intent.old_key.clone(),
        new_key: intent.new_key.clone(),
        old_steps: intent.old_steps,
    };
    let context = || {
        format!(
            "continuing the run in {} as run {}",
            dir.display(),
            intent.new_key
        )
    };
    let continued = continue_finished_run(dir, &continuation).map_err(|e| {
        let code = match e {
            WorkerError::InvalidPlan(_) | WorkerError::ForeignCheckpoint { .. } => {
                exit_codes::INPUT
            }
            _ => exit_codes::OUTPUT,
        };
        Failure {
            code,
            error: anyhow::Error::new(e).context(context()),
        }
    })?;
    let path = dir.join(EXTENDING_MARKER);
    fs::remove_file(&path)
        .and_then(|()| fs::File::open(dir)?.sync_all())
        .exit_code(exit_codes::OUTPUT, format!("removing {}", path.display()))?;
    Ok(continued)
}

/// Stage 1: in every runs table this launch may rewrite, the old key's rows become the new
/// key's, pending at the old step (its history kept: host, start, wall seconds, progress).
/// Tables that cannot be read are left as they are (their warning comes with the launch).
fn rekey_rows(prep: &Prepared, intent: &Intent) -> Result<(), Failure> {
    let _guard = super::runs_tables::lock_tables(&prep.out);
    let now = super::clock::now_ms();
    for path in runs_table_files(&prep.out) {
        if path != prep.table_path && prep.owned_by_a_sibling_shard(&path) {
            continue;
        }
        let Ok(rows) = read_run_records(&path) else {
            continue;
        };
        if !rows.iter().any(|r| r.key == intent.old_key) {
            continue;
        }
        let rows: Vec<RunRecord> = rows
            .into_iter()
            .map(|r| {
                if r.key != intent.old_key {
                    return r;
                }
                RunRecord {
                    key: intent.new_key.clone(),
                    config_json: intent.config_json.clone(),
                    status: TaskStatus::Pending.as_str().into(),
                    error: None,
                    end_time: None,
                    steps_total: Some(intent.new_steps),
                    snapshots_total: Some(intent.snapshots_total),
                    updated_time: Some(now),
                    in_sweep: Some(true),
                    ..r
                }
            })
            .collect();
        write_table_atomically(&path, &rows).exit_code(
            exit_codes::OUTPUT,
            format!(
                "rewriting {}: run {} continues as run {}",
                path.display(),
                intent.old_key,
                intent.new_key
            ),
        )?;
    }
    Ok(())
}

/// Every `dataset=*/optimizer=*/seed=*` directory under `runs` (none if it cannot be read).
fn run_dirs_on_disk(runs: &Path) -> Vec<PathBuf> {
    let children = |dir: &Path, prefix: &str| -> Vec<PathBuf> {
        let Ok(entries) = fs::read_dir(dir) else {
            return Vec::new();
        };
        let mut found: Vec<PathBuf> = entries
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with(prefix))
            .map(|e| e.path())
            .filter(|p| p.is_dir())
            .collect();
        found.sort();
        found
    };
    children(runs, "dataset=")
        .iter()
        .flat_map(|d| children(d, "optimizer="))
        .flat_map(|o| children(&o, "seed="))
        .collect()
}

/// `dataset/optimizer/seed` from a run directory's path.
fn label_of(dir: &Path) -> String {
    let parts: Vec<String> = dir
        .components()
        .rev()
        .take(3)
        .map(|c| {
            let text = c.as_os_str().to_string_lossy();
            text.split_once('=')
                .map_or(text.to_string(), |(_, v)| v.to_string())
        })
        .collect();
    parts.into_iter().rev().collect::<Vec<_>>().join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_and_run_directories_come_from_the_hive_layout() {
        let tmp = tempfile::tempdir().unwrap();
        let runs = tmp.path().join("runs");
        for d in [
            "dataset=mnist/optimizer=sgd/seed=1",
            "dataset=mnist/optimizer=adam/seed=0",
            "dataset=mnist/optimizer=adam/notes",
        ] {
            fs::create_dir_all(runs.join(d)).unwrap();
        }
        let dirs = run_dirs_on_disk(&runs);
        let labels: Vec<String> = dirs.iter().map(|d| label_of(d)).collect();
        assert_eq!(labels, vec!["mnist/adam/0", "mnist/sgd/1"]);
        assert!(run_dirs_on_disk(&tmp.path().join("absent")).is_empty());
    }

    #[test]
    fn the_intent_round_trips_and_is_written_whole() {
        let tmp = tempfile::tempdir().unwrap();
        let intent = Intent {
            old_key: "aaaa".into(),
            new_key: "bbbb".into(),
            old_steps: 120,
            new_steps: 240,
            config_json: "{\"steps\":240}".into(),
            snapshots_total: 9,
        };
        assert_eq!(Intent::read(tmp.path()).unwrap(), None);
        intent.write(tmp.path()).unwrap();
        assert_eq!(Intent::read(tmp.path()).unwrap(), Some(intent));
        assert!(!temp_path(&tmp.path().join(EXTENDING_MARKER)).exists());
        assert_eq!(
            RunDirState::read(tmp.path()),
            RunDirState::Extending,
            "a directory with an intent is unfinished"
        );
        fs::write(tmp.path().join(EXTENDING_MARKER), "{\"old_key\": 1}").unwrap();
        let err = Intent::read(tmp.path()).unwrap_err();
        assert_eq!(err.code, exit_codes::INPUT);
        assert!(
            crate::failure::chain(&err.error).contains("cannot read"),
            "{}",
            crate::failure::chain(&err.error)
        );
    }
}
