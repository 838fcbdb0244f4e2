//! A small real sweep output for the tests, made once per test binary with the worker's own
//! run loop (synthetic data, a 784-8-8-10 network, 40 steps), then analysed, compared
//! (`minima`) and reported, exactly as the CLI would.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::sync::OnceLock;

use eigensweep_analysis::{analyze, AnalyzeOptions};
use eigensweep_common::sweep::{self as spec, parse_sweep, Overrides, ValidatedSweep};
use eigensweep_worker::data::{synthetic, TrainTest};
use eigensweep_worker::mlp::Architecture;
use eigensweep_worker::output::baseline_dir;
use eigensweep_worker::run::{execute, execute_baseline, BaselinePlan, Checkpointing, RunPlan};
use tempfile::TempDir;

use crate::{minima, report, MinimaOptions, MinimaReport, ReportOptions, ReportSummary};

pub const SWEEP: &str = "
name: tiny
datasets: [{name: synthetic, source: synthetic, train_size: 256, test_size: 128}]
model: {hidden: [8, 8]}
training: {steps: 40, batch_size: 32, log_every: 1, eval: {every: 10}}
optimizers:
  - {name: sgd, kind: sgd, lr: 0.05}
  - {name: adam, kind: adam, lr: 0.003}
seeds: [0, 1]
snapshots: {schedule: {every: 5}, top_k: 2, tol: 1.0e-3, store_weights: true,
            density: {probes: 2, steps: 8}}
extra_eigen: [{seeds: [0], top_k: 4}]
baseline: {networks: 3, top_k: 1}
";

/// The fixture: the output directory and what each stage returned.
pub struct Fixture {
    pub dir: TempDir,
    pub data: BTreeMap<String, TrainTest>,
    pub minima: MinimaReport,
    pub report: ReportSummary,
}

impl Fixture {
    pub fn out(&self) -> &Path {
        self.dir.path()
    }
}

/// Runs the sweep into `out` (runs and baseline, no analysis).
pub fn run_sweep(out: &Path) -> (ValidatedSweep, BTreeMap<String, TrainTest>) {
    let sweep = parse_sweep(SWEEP, &Overrides::default()).unwrap();
    std::fs::write(out.join("sweep.yaml"), sweep.resolved().to_yaml()).unwrap();
    let mut data = BTreeMap::new();
    for d in &sweep.resolved().datasets {
        let spec::DataSource::Synthetic { seed } = d.source else {
            unreachable!()
        };
        data.insert(
            d.name.clone(),
            synthetic(d.train_size.unwrap(), d.test_size.unwrap(), seed),
        );
    }
    let stop = AtomicBool::new(false);
    for run in sweep.runs() {
        let arch = Architecture::new(run.widths().unwrap()).unwrap();
        let plan = RunPlan::from_spec(
            &run,
            arch,
            Checkpointing {
                every_snapshots: 1000,
                seconds: 1e9,
            },
            candle_core::Device::Cpu,
        );
        let dir = out.join("runs").join(run.partition());
        execute(&plan, &data[&run.dataset.name], &dir, &mut |_| {}, &stop).unwrap();
    }
    for task in sweep.baseline_tasks() {
        let arch = Architecture::new(task.widths().unwrap()).unwrap();
        let plan = BaselinePlan::from_task(&task, arch, candle_core::Device::Cpu);
        let dir = baseline_dir(out, &task.dataset.name).unwrap();
        execute_baseline(
            &plan,
            &data[&task.dataset.name],
            &dir,
            &std::sync::atomic::AtomicBool::new(false),
        )
        .unwrap();
    }
    (sweep, data)
}

const PREFIX: &str = "eigensweep-report-fixture-";

/// A static is never dropped, so the fixture's directory outlives the test process: remove
/// those of earlier runs (older than an hour, so a concurrent run keeps its own).
fn remove_stale_fixtures() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        let stale = entry.file_name().to_string_lossy().starts_with(PREFIX)
            && entry
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.elapsed().ok())
                .is_some_and(|age| age.as_secs() > 3600);
        if stale {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// The shared fixture: sweep, analysis, minima and report, made once.
pub fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        remove_stale_fixtures();
        let dir = tempfile::Builder::new().prefix(PREFIX).tempdir().unwrap();
        let (_, data) = run_sweep(dir.path());
        analyze(dir.path(), &AnalyzeOptions::default(), &|_| {}).unwrap();
        let minima = minima(
            dir.path(),
            &data,
            &MinimaOptions {
                alpha_points: 13,
                sharpness_iterations: 5,
                ..MinimaOptions::default()
            },
        )
        .unwrap();
        let report = report(dir.path(), &ReportOptions::default()).unwrap();
        Fixture {
            dir,
            data,
            minima,
            report,
        }
    })
}
