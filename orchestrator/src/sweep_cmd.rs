//! `eigensweep validate` and `eigensweep plan`: a sweep file checked, expanded into runs and
//! costed before anything runs. [`load`] is the one way every sweep command reads its file.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::anyhow;
use eigensweep_common::sweep::cost::{
    baseline_memory, baseline_time, dataset_bytes, human_seconds, run_memory, run_time,
    wall_seconds, Calibration, Layout, RankMemory, Samples, TaskMemory, CHECKPOINT_EVERY_DEFAULT,
    DATA_SECONDS_PER_SAMPLE, HESSIAN_CHUNK, LAUNCH_SECONDS, PROCESS_BASE_BYTES, TASK_SECONDS,
    WRITE_BYTES_PER_SECOND,
};
use eigensweep_common::sweep::plan::{human_bytes, Estimate, Plan};
use eigensweep_common::sweep::{
    read_sweep, DataShape, DataSource, FieldError, Overrides, ResolvedDataset, ValidatedSweep,
};
use eigensweep_common::{exit_codes, CommonError};
use eigensweep_worker::data::{
    cached_dataset_dir, data_digest, locate_files, read_dir_shape, synthetic, DatasetKind, DirShape,
};
use eigensweep_worker::WorkerError;

use crate::cli::{PlanArgs, SweepArgs};
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
        Err(CommonError::SweepInvalid { errors, .. }) => return Err(report(file, &errors)),
        // The file could not be read: its path and the cause.
        Err(e) => {
            return Err(Failure {
                code: exit_codes::INPUT,
                error: anyhow!(e),
            })
        }
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

/// Reads what every dataset gives its network (input width and classes, [`DataShape`]) and
/// keys directory datasets on their files' digest. A directory (or a downloaded cache) is read
/// as cheaply as that allows: the IDX headers and the labels, no image decoded
/// ([`read_dir_shape`]), which also refuses what no run could use (label files of the wrong
/// length, an empty or one-class training set, test labels the training set has no class for,
/// colour images, `train_size`/`test_size`/`hessian_samples` beyond the samples there are).
/// Cached datasets (mnist, fashion-mnist) that are not downloaded yet only get a note:
/// fetching them is the next step, not an error in the file.
fn check_data(sweep: &mut ValidatedSweep, file: &Path) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let mut digests = Vec::new();
    let mut shapes = Vec::new();
    for (i, d) in sweep.resolved().datasets.iter().enumerate() {
        let path = format!("datasets[{i}].source");
        let read_error = |e: WorkerError, hint: &str| {
            sweep.attribute(FieldError::new(
                path.clone(),
                "",
                format!("{}{hint}", crate::failure::chain(&anyhow::Error::new(e))),
            ))
        };
        let dir = match &d.source {
            DataSource::Synthetic { .. } => {
                shapes.push((d.name.clone(), SYNTHETIC_SHAPE));
                continue;
            }
            DataSource::Directory(dir) => match data_digest(dir) {
                Ok(digest) => {
                    digests.push((d.name.clone(), digest));
                    dir.clone()
                }
                Err(e) => {
                    errors.push(read_error(
                        e,
                        " (a relative `source` is read from the sweep file's folder, or from \
                         the current directory when given with --set)",
                    ));
                    continue;
                }
            },
            DataSource::Mnist | DataSource::FashionMnist => {
                let kind = if d.source == DataSource::Mnist {
                    DatasetKind::Mnist
                } else {
                    DatasetKind::FashionMnist
                };
                match cached_dataset_dir(kind) {
                    Ok(dir) if locate_files(&dir).is_ok() => dir,
                    _ => {
                        crate::console::note!(
                            "{}: note: `{path}`: {kind} is not in the cache yet; \
                             `eigensweep data fetch {kind}` downloads it",
                            file.display()
                        );
                        continue;
                    }
                }
            }
        };
        let shape = match read_dir_shape(&dir) {
            Ok(shape) => shape,
            Err(e) => {
                errors.push(read_error(e, ""));
                continue;
            }
        };
        note_absent_classes(file, &path, &shape);
        errors.extend(check_sizes(sweep, i, d, &shape, &dir));
        shapes.push((
            d.name.clone(),
            DataShape {
                inputs: shape.inputs(),
                classes: shape.classes.count,
            },
        ));
    }
    for (name, digest) in digests {
        sweep.set_data_digest(&name, digest);
    }
    for (name, shape) in shapes {
        errors.extend(sweep.set_data_shape(&name, shape));
    }
    errors
}

/// Says, without refusing, that some label values below the largest have no training sample
/// (EMNIST letters: 1..26, so output 0 is never a target): the network still has an output
/// for each, because labels are class indices.
fn note_absent_classes(file: &Path, path: &str, shape: &DirShape) {
    let Some(absent) = shape.classes.absent_text() else {
        return;
    };
    let c = &shape.classes;
    crate::console::note!(
        "{}: note: `{path}`: the training labels in {} run from {} to {}: the network has {} \
         outputs, one per label value 0..={} (labels are class indices, never renumbered); \
         {absent} has no training sample, so its output is never a target",
        file.display(),
        shape.files.train_labels.display(),
        c.smallest,
        c.largest,
        c.count,
        c.largest,
    );
}

/// `train_size`, `test_size` and `hessian_samples` against the samples dataset `i` (read
/// from `dir`) has: beyond them every run would fail at its start.
fn check_sizes(
    sweep: &ValidatedSweep,
    i: usize,
    d: &ResolvedDataset,
    shape: &DirShape,
    dir: &Path,
) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let sizes = [
        ("train_size", d.train_size, shape.train_len, "training"),
        ("test_size", d.test_size, shape.test_len, "test"),
    ];
    for (field, asked, len, what) in sizes {
        if let Some(n) = asked.filter(|&n| n > len) {
            errors.push(sweep.attribute(FieldError::new(
                format!("datasets[{i}].{field}"),
                n.to_string(),
                format!(
                    "expected at most the {len} {what} samples of {}",
                    dir.display()
                ),
            )));
        }
    }
    let train_len = d.train_size.unwrap_or(shape.train_len).min(shape.train_len);
    let hessian_samples = sweep.resolved().snapshots.hessian_samples;
    if let Some(n) = hessian_samples.filter(|&n| n > train_len) {
        errors.push(sweep.attribute(FieldError::new(
            "snapshots.hessian_samples",
            n.to_string(),
            format!(
                "expected at most the {train_len} training samples of datasets[{i}] ({})",
                d.name
            ),
        )));
    }
    errors
}

/// The shape of the built-in synthetic data (28 × 28 pixels, 10 classes, like MNIST).
const SYNTHETIC_SHAPE: DataShape = DataShape {
    inputs: synthetic::DIM,
    classes: synthetic::CLASSES,
};

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
    let grids = grids_text(&sweep);
    if !grids.is_empty() {
        crate::console::say!("{}", grids.trim_end_matches('\n'));
    }
    Ok(())
}

/// The optimiser entries with lists and the variants they expand to, one line each.
fn grids_text(sweep: &ValidatedSweep) -> String {
    let mut out = String::new();
    for (entry, variants) in sweep.optimizer_grids() {
        let _ = writeln!(
            out,
            "optimizer {entry}: {} variant{}: {}",
            variants.len(),
            if variants.len() == 1 { "" } else { "s" },
            variants.join(", ")
        );
    }
    out
}

/// `eigensweep plan FILE`.
pub(crate) fn plan(args: PlanArgs) -> Result<(), Failure> {
    // A layout `run` would refuse is refused here, as `run` refuses it (issue 26.4).
    crate::threads::check_parallelism(args.jobs, args.threads, None)?;
    let sweep = load(&args.sweep)?;
    let (calibration, source) = crate::calibration::load(args.calibration.as_deref())?;
    // The CPUs `run` sizes its threads by when --threads is not given.
    let layout = Layout {
        ranks: args.ranks,
        jobs: args.jobs,
        threads: args
            .threads
            .unwrap_or_else(|| crate::threads::affinity().len()),
    };
    let mut text = plan_text(&sweep);
    text.push_str(&time_text(&sweep, &calibration, &source, layout));
    text.push_str(&memory_text(&sweep, layout));
    crate::console::say!("{}", text.trim_end_matches('\n'));
    Ok(())
}

/// Training and test images of a dataset as the runs use them, where known: the sizes the
/// sweep asks for, within what the files hold (read from a directory's headers).
fn dataset_samples(d: &ResolvedDataset) -> Option<Samples> {
    let (train, test) = match &d.source {
        DataSource::Directory(dir) => {
            let shape = read_dir_shape(dir).ok()?;
            (shape.train_len, shape.test_len)
        }
        DataSource::Synthetic { .. } => (d.train_size?, d.test_size?),
        DataSource::Mnist | DataSource::FashionMnist => {
            (d.source.known_train_len()?, d.source.known_test_len()?)
        }
    };
    Some(Samples {
        train: d.train_size.map_or(train, |n| n.min(train)),
        test: d.test_size.map_or(test, |n| n.min(test)),
    })
}

/// The time estimate: core-hours per run and in all, the wall time of `layout`, and what
/// the estimate assumes.
fn time_text(
    sweep: &ValidatedSweep,
    calibration: &Calibration,
    source: &str,
    layout: Layout,
) -> String {
    let plan = Plan::new(sweep);
    let samples = |name: &str| {
        sweep
            .resolved()
            .datasets
            .iter()
            .find(|d| d.name == name)
            .and_then(dataset_samples)
    };
    let threads = layout.threads_per_job();
    let mut tasks = Vec::new();
    let mut unknown = 0;
    let (mut run_core, mut base_core) = (0.0, 0.0);
    let (mut shortest, mut longest) = (f64::INFINITY, 0.0f64);
    for (run, e) in &plan.runs {
        match samples(&run.dataset.name).and_then(|s| run_time(run, e, s, calibration)) {
            Some(t) => {
                run_core += t.core_seconds(threads);
                shortest = shortest.min(t.core_seconds(threads));
                longest = longest.max(t.core_seconds(threads));
                tasks.push(t);
            }
            None => unknown += 1,
        }
    }
    for (task, _) in &plan.baseline {
        match samples(&task.dataset.name).and_then(|s| baseline_time(task, s, calibration)) {
            Some(t) => {
                base_core += t.core_seconds(threads);
                tasks.push(t);
            }
            None => unknown += 1,
        }
    }
    let mut out = String::new();
    let _ = writeln!(out, "\ntime (calibration: {source})");
    if unknown > 0 {
        let _ = writeln!(
            out,
            "not estimated: {unknown} tasks whose data was not read (sizes unknown)"
        );
    }
    if !plan.runs.is_empty() && shortest.is_finite() {
        let _ = writeln!(
            out,
            "runs:     {} core-h in all, {}–{} per run",
            core_hours(run_core),
            core_hours(shortest),
            core_hours(longest)
        );
    }
    if !plan.baseline.is_empty() {
        let _ = writeln!(out, "baseline: {} core-h in all", core_hours(base_core));
    }
    let _ = writeln!(
        out,
        "total:    {} core-h; wall time ≈ {} on {} rank{} × {} job{} × {} thread{} per job \
         (set with --ranks, --jobs, --threads)",
        core_hours(run_core + base_core),
        human_seconds(wall_seconds(&tasks, layout)),
        layout.ranks,
        if layout.ranks == 1 { "" } else { "s" },
        layout.jobs,
        if layout.jobs == 1 { "" } else { "s" },
        threads,
        if threads == 1 { "" } else { "s" },
    );
    let _ = writeln!(
        out,
        "assumes:  training on one core per job at the calibrated steps/s (scaled by parameters \
         and batch); set-ups and evaluations spread over the job's threads, Hessian products \
         over one thread per {HESSIAN_CHUNK} Hessian samples at most; the products above; \
         {TASK_SECONDS} s per task, {:.0} µs per image of its data, writing at {:.0} MB/s and \
         {LAUNCH_SECONDS} s per launch besides (measured on 2 EPYC cores); tasks handed out in \
         order to the first free job. Core-hours count every thread of a job for its whole \
         run, as an allocation is charged.",
        DATA_SECONDS_PER_SAMPLE * 1e6,
        WRITE_BYTES_PER_SECOND / 1e6
    );
    out
}

/// The peak memory of one job (the largest task) and of one rank (`--jobs` of them beside the
/// datasets), and what the estimate assumes.
fn memory_text(sweep: &ValidatedSweep, layout: Layout) -> String {
    let r = sweep.resolved();
    let samples = |name: &str| {
        r.datasets
            .iter()
            .find(|d| d.name == name)
            .and_then(dataset_samples)
    };
    let threads = layout.threads_per_job();
    let mut largest: Option<(String, TaskMemory)> = None;
    let mut unknown = 0;
    let mut consider = |label: String, memory: Option<TaskMemory>| match memory {
        Some(m) if largest.as_ref().is_none_or(|(_, l)| m.total() > l.total()) => {
            largest = Some((label, m))
        }
        Some(_) => {}
        None => unknown += 1,
    };
    for run in sweep.runs() {
        let label = format!("{}/{}/{}", run.dataset.name, run.optimizer.name, run.seed);
        consider(
            label,
            samples(&run.dataset.name).and_then(|s| run_memory(&run, s, threads)),
        );
    }
    for task in sweep.baseline_tasks() {
        let label = format!("baseline {}/{}", task.dataset.name, task.network);
        consider(
            label,
            samples(&task.dataset.name).and_then(|s| baseline_memory(&task, s, threads)),
        );
    }
    let datasets: u64 = r
        .datasets
        .iter()
        .filter_map(|d| {
            Some(dataset_bytes(
                samples(&d.name)?,
                sweep.data_shape(&d.name)?.inputs,
            ))
        })
        .sum();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "
memory (peak resident)"
    );
    if unknown > 0 {
        let _ = writeln!(
            out,
            "not estimated: {unknown} tasks whose data was not read (sizes unknown)"
        );
    }
    let Some((label, job)) = largest else {
        return out;
    };
    let rank = RankMemory {
        base: PROCESS_BASE_BYTES,
        datasets,
        job: job.total(),
        jobs: layout.jobs,
    };
    let _ = writeln!(
        out,
        "per job:  {} (the largest task, {label}: data {}, training {}, Hessian operator {}, \
         eigensolver {}, results {})",
        human_bytes(job.total()),
        human_bytes(job.data),
        human_bytes(job.training),
        human_bytes(job.hessian),
        human_bytes(job.solver),
        human_bytes(job.results),
    );
    let _ = writeln!(
        out,
        "per rank: {} = {} program + {} datasets + {} job{} × {} (set with --jobs); with \
         --ranks R on one node, R times this",
        human_bytes(rank.total()),
        human_bytes(rank.base),
        human_bytes(rank.datasets),
        layout.jobs,
        if layout.jobs == 1 { "" } else { "s" },
        human_bytes(rank.job),
    );
    let _ = writeln!(
        out,
        "assumes:  every job at the largest task's peak at once; the eigensolver's basis at its \
         largest, max(6 (top_k + 2), 30) columns of N (a solve that converges before it fills \
         the basis touches less); the rows of {CHECKPOINT_EVERY_DEFAULT} snapshots buffered \
         (run's default --checkpoint-every). An address-space limit (ulimit -v) also counts \
         memory reserved but never touched, above all malloc's 64 MB arenas (measured: 3.3× \
         the peak by default): set MALLOC_ARENA_MAX=2 and allow 1.5× the per-rank figure."
    );
    out
}

/// Core-hours with two significant decimals below 10.
fn core_hours(seconds: f64) -> String {
    let h = seconds / 3600.0;
    if h < 10.0 {
        format!("{h:.2}")
    } else {
        format!("{h:.0}")
    }
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
    out.push_str(&grids_text(sweep));

    let dw = r
        .datasets
        .iter()
        .map(|d| d.name.len())
        .max()
        .unwrap_or(0)
        .max(7);
    // N drives every estimate below: say which network each dataset gives.
    let _ = writeln!(
        out,
        "\nnetworks (inputs: the images' pixels; outputs: one per class, the largest training \
         label + 1)"
    );
    let _ = writeln!(
        out,
        "{:<dw$}  {:<24}  {:>12}",
        "dataset", "widths", "parameters"
    );
    for d in &r.datasets {
        let (widths, params) = match sweep.data_shape(&d.name) {
            Some(shape) => (
                r.model
                    .widths(shape)
                    .iter()
                    .map(usize::to_string)
                    .collect::<Vec<_>>()
                    .join("-"),
                thousands(r.model.param_count(shape)),
            ),
            None => ("unknown (data not read)".into(), "?".into()),
        };
        let _ = writeln!(out, "{:<dw$}  {widths:<24}  {params:>12}", d.name);
    }
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

/// `1234567` → `1,234,567` (the worker's, which its memory messages use too).
use eigensweep_worker::memory::thousands;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_synthetic_data_has_the_shape_the_sweep_assumes_without_reading() {
        let data = synthetic(20, 5, 0);
        let made = DataShape {
            inputs: data.train.dim,
            classes: data.train.classes,
        };
        assert_eq!(made, SYNTHETIC_SHAPE);
        assert_eq!(
            DataSource::Synthetic { seed: 0 }.known_shape(),
            Some(SYNTHETIC_SHAPE)
        );
    }

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }
}
