//! `eigensweep validate` and `eigensweep plan`: a sweep file checked, expanded into runs and
//! costed before anything runs. [`load`] is the one way every sweep command reads its file.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::anyhow;
use eigensweep_common::exit_codes;
use eigensweep_common::sweep::plan::{human_bytes, Estimate, Plan};
use eigensweep_common::sweep::{
    read_sweep, DataSource, FieldError, Overrides, SweepError, ValidatedSweep,
};
use eigensweep_worker::data::{cached_dataset_dir, data_digest, locate_files, DatasetKind};

use crate::cli::SweepArgs;
use crate::failure::Failure;

/// Reads, overrides and validates the sweep file of `args`, checks that its dataset
/// directories hold the four IDX files and keys their runs on the files' digests, and checks
/// that the output path can be read back. Every problem is printed to stderr, one per line as
/// `FILE: `path`: message` (or `FILE:LINE:COLUMN: …`); the failure then says how many there
/// were, with exit code [`exit_codes::INPUT`]. Cached datasets (mnist, fashion-mnist) that
/// are not downloaded yet only get a note: fetching them is the next step, not an error in
/// the file.
pub(crate) fn load(args: &SweepArgs) -> Result<ValidatedSweep, Failure> {
    let overrides = Overrides {
        set: args.set.clone(),
        output: args.out.clone(),
    };
    let file = &args.file;
    let mut sweep = match read_sweep(file, &overrides) {
        Ok(sweep) => sweep,
        Err(e @ SweepError::Read { .. }) => {
            return Err(Failure {
                code: exit_codes::INPUT,
                error: anyhow!(e),
            })
        }
        Err(SweepError::Invalid { errors, .. }) => return Err(report(file, &errors)),
    };
    for w in sweep.warnings() {
        crate::console::note!("{}: warning: {w}", w.origin(file));
    }
    let mut errors = check_data(&mut sweep, file);
    errors.extend(check_output(&sweep));
    if errors.is_empty() {
        Ok(sweep)
    } else {
        Err(report(file, &errors))
    }
}

/// The output path must not have a `key=value` folder: DuckDB's hive partitioning reads every
/// `key=value` folder of a file's path as a column, so `/scratch/seed=3/out` would label
/// every row of every run `seed = 3` in the README's queries. Refused rather than worked
/// around in the queries, because every user's own query would meet it too.
fn check_output(sweep: &ValidatedSweep) -> Option<FieldError> {
    let output = &sweep.resolved().output;
    let absolute = std::path::absolute(output).unwrap_or_else(|_| output.clone());
    let folder = absolute
        .components()
        .filter_map(|c| c.as_os_str().to_str())
        .find(|c| c.contains('='))?;
    let (key, value) = folder.split_once('=').unwrap_or((folder, ""));
    let error = FieldError::new(
        "output",
        absolute.display().to_string(),
        format!(
            "the folder `{folder}` looks like a hive partition: DuckDB's hive_partitioning \
             would read it as a column `{key}` = {value} of every row of the outputs, in place \
             of their own `{key}` if they have one (`seed=3` above the output makes every \
             run read back as seed 3); choose an output path without `=` in its folder names"
        ),
    );
    Some(sweep.attribute(error))
}

/// Prints `errors` one per line and returns the failure that sums them up.
fn report(file: &Path, errors: &[FieldError]) -> Failure {
    for e in errors {
        crate::console::note!("{}", e.in_file(file));
    }
    let n = errors.len();
    // Errors all in command-line values are not the file's.
    let whose = if errors.iter().all(|e| e.set_by.is_some()) {
        "in the command-line overrides of"
    } else {
        "in the sweep"
    };
    Failure {
        code: exit_codes::INPUT,
        error: anyhow!(
            "{n} error{} {whose} {}; nothing was run",
            if n == 1 { "" } else { "s" },
            file.display(),
        ),
    }
}

/// Dataset directories must hold the IDX files, and their runs are keyed on the files'
/// digest; the cache is only reported on.
fn check_data(sweep: &mut ValidatedSweep, file: &Path) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let mut digests = Vec::new();
    for (i, d) in sweep.resolved().datasets.iter().enumerate() {
        let path = format!("datasets[{i}].source");
        match &d.source {
            DataSource::Synthetic { .. } => {}
            DataSource::Directory(dir) => match data_digest(dir) {
                Ok(digest) => digests.push((d.name.clone(), digest)),
                Err(e) => errors.push(sweep.attribute(FieldError::new(
                    path,
                    "",
                    format!(
                        "{} (a relative `source` is read from the sweep file's folder, or \
                         from the current directory when given with --set)",
                        crate::failure::chain(&anyhow::Error::new(e))
                    ),
                ))),
            },
            DataSource::Mnist | DataSource::FashionMnist => {
                let kind = if d.source == DataSource::Mnist {
                    DatasetKind::Mnist
                } else {
                    DatasetKind::FashionMnist
                };
                let present = cached_dataset_dir(kind)
                    .map(|dir| locate_files(&dir).is_ok())
                    .unwrap_or(false);
                if !present {
                    crate::console::note!(
                        "{}: note: `{path}`: {kind} is not in the cache yet; \
                         `eigensweep data fetch {kind}` downloads it",
                        file.display()
                    );
                }
            }
        }
    }
    for (name, digest) in digests {
        sweep.set_data_digest(&name, digest);
    }
    errors
}

/// `eigensweep validate FILE`.
pub(crate) fn validate(args: SweepArgs) -> Result<(), Failure> {
    let sweep = load(&args)?;
    let (runs, tasks) = (sweep.runs().len(), sweep.baseline_tasks().len());
    crate::console::say!(
        "{}: ok ({runs} run{}, {tasks} baseline task{})",
        args.file.display(),
        if runs == 1 { "" } else { "s" },
        if tasks == 1 { "" } else { "s" }
    );
    Ok(())
}

/// `eigensweep plan FILE`.
pub(crate) fn plan(args: SweepArgs) -> Result<(), Failure> {
    let sweep = load(&args)?;
    crate::console::say!("{}", plan_text(&sweep).trim_end_matches('\n'));
    Ok(())
}

/// The plan as printed: a table of runs, a table of baseline tasks, then totals.
fn plan_text(sweep: &ValidatedSweep) -> String {
    let plan = Plan::new(sweep);
    let r = sweep.resolved();
    let mut out = String::new();
    let steps = sweep.snapshot_steps();
    let _ = writeln!(
        out,
        "sweep {} → {}: {} steps, {} snapshot steps ({}…{}), {} eval steps",
        r.name,
        r.output.display(),
        r.training.steps,
        steps.len(),
        steps.first().copied().unwrap_or(0),
        steps.last().copied().unwrap_or(0),
        sweep.eval_steps().len(),
    );

    let dw = r
        .datasets
        .iter()
        .map(|d| d.name.len())
        .max()
        .unwrap_or(0)
        .max(7);
    let ow = r
        .optimizers
        .iter()
        .map(|o| o.name.len())
        .max()
        .unwrap_or(0)
        .max(9);
    let _ = writeln!(out, "\nruns");
    let _ = writeln!(
        out,
        "{:<16}  {:<dw$}  {:<ow$}  {:>6}  {:>9}  {:>5}  {:>12}  {:>10}",
        "key", "dataset", "optimizer", "seed", "snapshots", "top_k", "est. HVPs", "est. disk"
    );
    for (run, e) in &plan.runs {
        let _ = writeln!(
            out,
            "{:<16}  {:<dw$}  {:<ow$}  {:>6}  {:>9}  {:>5}  {:>12}  {:>10}",
            run.key,
            run.dataset.name,
            run.optimizer.name,
            run.seed,
            thousands(e.snapshots),
            run.eigen.top_k,
            thousands(e.products),
            human_bytes(e.bytes()),
        );
    }
    if !plan.baseline.is_empty() {
        let _ = writeln!(out, "\nbaseline tasks (random-init networks)");
        let _ = writeln!(
            out,
            "{:<16}  {:<dw$}  {:>7}  {:>5}  {:>12}  {:>10}",
            "key", "dataset", "network", "top_k", "est. HVPs", "est. disk"
        );
        for (task, e) in &plan.baseline {
            let _ = writeln!(
                out,
                "{:<16}  {:<dw$}  {:>7}  {:>5}  {:>12}  {:>10}",
                task.key,
                task.dataset.name,
                task.network,
                task.eigen.top_k,
                thousands(e.products),
                human_bytes(e.bytes()),
            );
        }
    }

    let (runs, base) = (plan.runs_total(), plan.baseline_total());
    let _ = writeln!(out, "\ntotals");
    let _ = writeln!(
        out,
        "runs:     {} runs, {} snapshots, {} HVPs, {}",
        plan.runs.len(),
        thousands(runs.snapshots),
        thousands(runs.products),
        disk(&runs)
    );
    let _ = writeln!(
        out,
        "baseline: {} tasks, {} HVPs, {}",
        plan.baseline.len(),
        thousands(base.products),
        disk(&base)
    );
    let all = runs + base;
    let _ = writeln!(
        out,
        "total:    {} HVPs, {} on disk",
        thousands(all.products),
        human_bytes(all.bytes())
    );
    out
}

/// `1.70 GB on disk (eigenvectors 1.60 GB, weights …, tables …)`.
fn disk(e: &Estimate) -> String {
    let mut text = format!(
        "{} on disk (eigenvectors {}",
        human_bytes(e.bytes()),
        human_bytes(e.eigenvector_bytes)
    );
    if e.weight_bytes > 0 {
        let _ = write!(text, ", weights {}", human_bytes(e.weight_bytes));
    }
    let _ = write!(text, ", tables {})", human_bytes(e.table_bytes));
    text
}

/// `1234567` → `1,234,567`.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }
}
