//! Checks of the output directory against the sweep, before a launch writes anything: tables
//! in another format version, checkpoints of a newer eigensweep, and outputs of another
//! configuration are refused, each with every offending file named at once.

use std::collections::BTreeMap;

use eigensweep_common::exit_codes;
use eigensweep_common::sweep::BaselineTask;
use eigensweep_worker::output::format::FormatVersion;
use eigensweep_worker::output::schema::FORMAT_VERSION;
use eigensweep_worker::output::{
    list_parts, read_table, BaselineRow, RunDirState, RunsTables, TableFile, CHECKPOINT_FILE,
};
use eigensweep_worker::run::Checkpoint;

use super::config_diff::config_diff;
use super::extend;
use super::prepare::{Prepared, Task};
use crate::failure::{Failure, WithExitCode};

impl Prepared {
    /// Refuses, before anything is written, an output directory whose tables this launch
    /// would add parts to but that were written in another format version (an output of an
    /// earlier eigensweep, whose integers are unsigned): one table directory never mixes
    /// versions, so DuckDB sees one type per column. Such an output is still read by
    /// `analyze`, `report`, `minima` and `status`.
    pub(super) fn check_table_formats(&self) -> Result<(), Failure> {
        let mut dirs = Vec::new();
        for task in &self.tasks {
            match task {
                Task::Run(spec) => {
                    let root = self.out.join("runs").join(spec.partition());
                    dirs.extend(
                        eigensweep_worker::run::run_tables()
                            .into_iter()
                            .map(|t| root.join(t)),
                    );
                }
                Task::Baseline(t) => {
                    let dir = self.out.join("baseline").join(t.partition());
                    if !dirs.contains(&dir) {
                        dirs.push(dir);
                    }
                }
            }
        }
        for dir in dirs {
            let parts = list_parts(&dir)
                .exit_code(exit_codes::INPUT, format!("listing {}", dir.display()))?;
            for (_, path) in parts {
                let file = TableFile::open(&path)
                    .exit_code(exit_codes::INPUT, "checking the output's table format")?;
                if file.version() != FormatVersion::Current {
                    return Err(Failure {
                        code: exit_codes::INPUT,
                        error: anyhow::anyhow!(
                            "{} is in table format version {}, but this build writes version {FORMAT_VERSION} and does not mix versions in one table: run the sweep into a new output directory (--out DIR); analyze, report, minima and status still read this one as it is",
                            path.display(),
                            file.version().as_str(),
                        ),
                    });
                }
            }
        }
        Ok(())
    }

    /// Refuses, before any task is dispatched, checkpoints that a newer eigensweep wrote
    /// (intact, but of a newer format or with fields this build does not know): resuming from
    /// them would drop what they record, and failing each task as "damaged" would say
    /// nothing of what to do. Every such file is named at once; exit 3.
    pub(super) fn check_checkpoint_versions(&self) -> Result<(), Failure> {
        let newer: Vec<String> = self
            .tasks
            .iter()
            .filter_map(|task| match task {
                Task::Run(spec) => Some(self.out.join("runs").join(spec.partition())),
                Task::Baseline(_) => None,
            })
            .filter(|dir| RunDirState::read(dir).finished_status().is_none())
            .filter_map(|dir| match Checkpoint::load(&dir.join(CHECKPOINT_FILE)) {
                Err(e) if e.is_newer() => Some(e.to_string()),
                _ => None,
            })
            .collect();
        match newer.as_slice() {
            [] => Ok(()),
            [one] => Err(Failure {
                code: exit_codes::INPUT,
                error: anyhow::anyhow!("{one}"),
            }),
            many => Err(Failure {
                code: exit_codes::INPUT,
                error: anyhow::anyhow!(
                    "{} checkpoints in {} were written by a newer eigensweep:\n  {}",
                    many.len(),
                    self.out.display(),
                    many.join("\n  ")
                ),
            }),
        }
    }

    /// Refuses, before any work, an output directory that holds another configuration's
    /// checkpoint or baseline parts.
    ///
    /// Each refusal names the fields that differ (old → new), from the configuration the runs
    /// table recorded under the old key.
    pub(super) fn check_foreign_outputs(&self) -> Result<(), Failure> {
        let recorded = self.recorded_configs();
        let differences = |old_key: &str, new_json: String| match recorded.get(old_key) {
            Some(old_json) => {
                let lines = config_diff(old_json, &new_json);
                if lines.is_empty() {
                    String::new()
                } else {
                    format!("; changed: {}", lines.join("; "))
                }
            }
            None => "; its configuration is not in the runs table, compare with sweep.yaml".into(),
        };
        let mut foreign = Vec::new();
        for task in &self.tasks {
            let Task::Run(spec) = task else { continue };
            let dir = self.out.join("runs").join(spec.partition());
            if let Ok(Some(c)) = Checkpoint::load(&dir.join(CHECKPOINT_FILE)) {
                if c.run_key != spec.key {
                    foreign.push(format!(
                        "{} holds run {} but this sweep's run there is {}{}",
                        dir.display(),
                        c.run_key,
                        spec.key,
                        differences(&c.run_key, spec.config_json())
                    ));
                }
            }
        }
        let all_baseline = self.sweep.baseline_tasks();
        for d in &self.sweep.resolved().datasets {
            // Against the whole sweep, not this shard: other shards' parts are legitimate.
            let networks: Vec<&BaselineTask> = all_baseline
                .iter()
                .filter(|t| t.dataset.name == d.name)
                .collect();
            let dir = self
                .out
                .join("baseline")
                .join(format!("dataset={}", d.name));
            let parts = list_parts(&dir)
                .exit_code(exit_codes::INPUT, format!("listing {}", dir.display()))?;
            for (index, path) in parts {
                match networks.iter().find(|t| t.network as u32 == index) {
                    None => foreign.push(format!(
                        "{} is network {index}, but this sweep has {} baseline networks",
                        path.display(),
                        networks.len()
                    )),
                    Some(task) => {
                        let rows: Vec<BaselineRow> = read_table(&path)
                            .exit_code(exit_codes::INPUT, format!("reading {}", path.display()))?;
                        if let Some(r) = rows.iter().find(|r| r.task_key != task.key) {
                            foreign.push(format!(
                                "{} holds baseline task {} but this sweep's is {}{}",
                                path.display(),
                                r.task_key,
                                task.key,
                                differences(&r.task_key, task.config_json())
                            ));
                        }
                    }
                }
            }
        }
        if foreign.is_empty() {
            return Ok(());
        }
        let hint = extend::hint(self)
            .map(|h| format!("\n{h}"))
            .unwrap_or_default();
        Err(Failure {
            code: exit_codes::INPUT,
            error: anyhow::anyhow!(
                "outputs in {} were written under another configuration:\n  {}\nuse another --out, or delete those directories to recompute them{hint}",
                self.out.display(),
                foreign.join("\n  ")
            ),
        })
    }

    /// The configuration JSON of every task the runs tables of the output directory record,
    /// by key (unreadable tables are skipped: this only explains a refusal).
    fn recorded_configs(&self) -> BTreeMap<String, String> {
        RunsTables::read(&self.out)
            .best()
            .into_iter()
            .map(|(key, row)| (key, row.record.config_json))
            .collect()
    }
}
