//! [`execute`], which runs one run (the loop itself is [`Launch`](super::launch::Launch)).

use std::path::Path;
use std::sync::atomic::AtomicBool;

use super::launch::{Launch, Opened};
use super::plan::RunPlan;
use super::progress::RunProgress;
use super::report::RunReport;
use crate::data::TrainTest;
use crate::WorkerError;

/// Runs (or resumes, or skips if finished) one run in `dir`: opens a `Launch`
/// (`run/launch.rs`) from the plan and the directory, and runs it to its end.
///
/// `stop` is polled after every training step and between the product blocks of every
/// eigen-solve: when set, the run writes its parts and a checkpoint at the last completed step
/// and returns [`RunStatus::Stopped`](super::report::RunStatus::Stopped). A snapshot in progress is abandoned (the checkpoint is
/// taken at its step, before it), so the relaunch redoes it with the same start vectors and the
/// tables equal an uninterrupted run's.
pub fn execute(
    plan: &RunPlan,
    data: &TrainTest,
    dir: &Path,
    progress: &mut dyn FnMut(&RunProgress),
    stop: &AtomicBool,
) -> Result<RunReport, WorkerError> {
    match Launch::open(plan, data, dir)? {
        Opened::Finished(report) => Ok(report),
        Opened::Ready(launch) => launch.run(progress, stop),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering;

    use candle_core::Device;

    use super::*;
    use crate::data::synthetic;
    use crate::optim::{LrSchedule, OptimizerConfig};
    use crate::run::test_plan as plan;
    use crate::run::{Checkpoint, RunStatus};

    /// The preconditioner at a snapshot uses the rate of the step that follows it; at the last
    /// snapshot, where none follows, that of the last step taken, not the schedule's rate past
    /// the end (a cosine's `min_lr`, 0 by default, which would zero the scaled operator).
    #[test]
    fn the_last_snapshots_preconditioner_uses_the_last_steps_rate() {
        let mut p = plan(Device::Cpu);
        p.lr_schedule = LrSchedule {
            warmup_steps: 0,
            decay: crate::optim::LrDecay::Cosine {
                min_lr: 0.0,
                steps: 20,
            },
        };
        use super::super::statistics::preconditioner_rate;
        assert_eq!(preconditioner_rate(&p, 0), 0.01);
        assert_eq!(p.lr_schedule.lr(0.01, 20), 0.0, "past the end: min_lr");
        let last = preconditioner_rate(&p, 20);
        assert_eq!(last, p.lr_schedule.lr(0.01, 19));
        assert!(last > 0.0);
    }

    /// A run checkpointed on a GPU is not silently continued on the CPU (its arithmetic
    /// rounds differently): the launch is refused, naming both devices and the way out.
    #[test]
    fn a_run_started_on_another_device_kind_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let data = synthetic(200, 50, 0);
        let p = plan(Device::Cpu);
        Checkpoint {
            run_key: "k".into(),
            step: 10,
            epoch: 0,
            offset: 160,
            snapshots_done: 1,
            params: vec![0.0; p.arch.num_params()],
            optimizer_state: Vec::new(),
            optimizer_steps: 10,
            warm_start: Vec::new(),
            parts: Vec::new(),
            wall_seconds: 1.0,
            complete: false,
            threads: candle_core::utils::get_num_threads() as u64,
            device: "cuda".into(),
            engine: "tensors".into(),
            statistics: Vec::new(),
        }
        .save(&dir.path().join("checkpoint.bin"))
        .unwrap();
        let err = execute(&p, &data, dir.path(), &mut |_| {}, &AtomicBool::new(false)).unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, WorkerError::DeviceMismatch { .. }), "{text}");
        assert!(
            text.contains("computed on cuda, this launch uses cpu")
                && text.contains("--device cuda"),
            "{text}"
        );
    }

    /// A stop that lands in the middle of a per-snapshot statistic (here the density, which
    /// takes nearly all of each snapshot's time) abandons the snapshot with nothing of it
    /// written, and the relaunch writes exactly the tables of an uninterrupted run. Where a
    /// stop lands depends on timing; every landing must give the same tables, and at least one
    /// of the delays must land in a snapshot.
    #[test]
    fn a_stop_inside_a_statistic_leaves_nothing_and_the_relaunch_is_identical() {
        use crate::output::{read_density_rows, read_snapshot_rows, read_trace_rows};
        let data = synthetic(200, 50, 0);
        let mut p = plan(Device::Cpu);
        p.statistics.trace_probes = Some(4);
        p.statistics.density = Some(eigensweep_common::sweep::DensitySpec {
            probes: 2,
            steps: 60,
        });
        p.checkpoint_every = 100;
        let tables = |dir: &Path| {
            let mut snapshots = read_snapshot_rows(&dir.join("snapshots")).unwrap();
            snapshots.sort_by_key(|r| (r.step, r.index));
            let values: Vec<(u64, u32, f64)> = snapshots
                .iter()
                .map(|r| (r.step, r.index, r.eigenvalue))
                .collect();
            let trace: Vec<(u64, f64)> = read_trace_rows(&dir.join("trace"))
                .unwrap()
                .iter()
                .map(|r| (r.step, r.trace))
                .collect();
            let mut density: Vec<(u64, u64, f64, f64)> = read_density_rows(&dir.join("density"))
                .unwrap()
                .iter()
                .map(|r| (r.step, r.probe, r.node, r.weight))
                .collect();
            density.sort_by(|a, b| a.partial_cmp(b).unwrap());
            (values, trace, density)
        };
        let reference = tempfile::tempdir().unwrap();
        execute(
            &p,
            &data,
            reference.path(),
            &mut |_| {},
            &AtomicBool::new(false),
        )
        .unwrap();
        let want = tables(reference.path());
        assert_eq!(want.1.len(), 2, "a trace row per snapshot");

        let mut in_a_snapshot = 0;
        for delay_ms in [5, 20, 40, 80] {
            let dir = tempfile::tempdir().unwrap();
            let stop = AtomicBool::new(false);
            let report = std::thread::scope(|scope| {
                scope.spawn(|| {
                    std::thread::sleep(std::time::Duration::from_millis(delay_ms));
                    stop.store(true, Ordering::Relaxed);
                });
                execute(&p, &data, dir.path(), &mut |_| {}, &stop).unwrap()
            });
            if report.status == RunStatus::Stopped && p.snapshot_steps.contains(&report.steps_done)
            {
                in_a_snapshot += 1;
            }
            let done =
                execute(&p, &data, dir.path(), &mut |_| {}, &AtomicBool::new(false)).unwrap();
            assert_eq!(done.status, RunStatus::Done);
            assert!(tables(dir.path()) == want, "stopped after {delay_ms} ms");
        }
        assert!(in_a_snapshot > 0, "no stop landed in a snapshot");
    }

    /// The preconditioned solve is warm-started from the previous snapshot's vectors, which
    /// the checkpoint carries: a run stopped and resumed writes the preconditioned rows of an
    /// uninterrupted run, and the warm starts take fewer products than the cold first solve.
    #[test]
    fn the_preconditioned_warm_start_is_checkpointed_and_saves_products() {
        use crate::output::read_preconditioned_rows;
        let data = synthetic(200, 50, 0);
        let mut p = plan(Device::Cpu);
        p.optimizer = OptimizerConfig::Adam(crate::optim::AdamConfig::default());
        p.statistics.preconditioned_top_k = Some(2);
        p.snapshot_steps = vec![0, 4, 8, 12, 16, 20];
        let rows = |dir: &Path| {
            let mut r: Vec<(u64, u32, f64, u64)> =
                read_preconditioned_rows(&dir.join("preconditioned"))
                    .unwrap()
                    .iter()
                    .map(|r| (r.step, r.index, r.eigenvalue, r.products))
                    .collect();
            r.sort_by(|a, b| a.partial_cmp(b).unwrap());
            r
        };
        let reference = tempfile::tempdir().unwrap();
        execute(
            &p,
            &data,
            reference.path(),
            &mut |_| {},
            &AtomicBool::new(false),
        )
        .unwrap();
        let want = rows(reference.path());
        assert_eq!(
            want.len(),
            2 * 5,
            "two pairs at every snapshot after step 0"
        );
        let products = |step: u64| want.iter().find(|r| r.0 == step).unwrap().3;
        assert!(
            products(16) < products(4),
            "warm {} against cold {}",
            products(16),
            products(4)
        );

        let dir = tempfile::tempdir().unwrap();
        let stop = AtomicBool::new(false);
        let report = execute(
            &p,
            &data,
            dir.path(),
            &mut |pr: &RunProgress| {
                if pr.step >= 10 {
                    stop.store(true, Ordering::Relaxed);
                }
            },
            &stop,
        )
        .unwrap();
        assert_eq!(report.status, RunStatus::Stopped);
        let c = Checkpoint::load(&dir.path().join("checkpoint.bin"))
            .unwrap()
            .unwrap();
        assert_eq!(
            c.statistics.len(),
            1,
            "the preconditioned warm start is kept"
        );
        assert_eq!(c.statistics[0].0, "preconditioned");
        execute(&p, &data, dir.path(), &mut |_| {}, &AtomicBool::new(false)).unwrap();
        assert_eq!(rows(dir.path()), want);
    }

    /// A run checkpointed by an earlier version (which trained on the tensor engine)
    /// continues on the tensor engine, and says so in its next checkpoint; a checkpoint
    /// naming an engine this version does not know is refused, naming the file.
    #[test]
    fn a_resumed_run_stays_on_the_engine_its_checkpoint_names() {
        let data = synthetic(200, 50, 0);
        let p = plan(Device::Cpu);
        let stop_at_ten = |dir: &Path| {
            let stop = AtomicBool::new(false);
            let report = execute(
                &p,
                &data,
                dir,
                &mut |pr: &RunProgress| {
                    if pr.step >= 10 {
                        stop.store(true, Ordering::Relaxed);
                    }
                },
                &stop,
            )
            .unwrap();
            assert_eq!(report.status, RunStatus::Stopped);
            let path = dir.join("checkpoint.bin");
            let c = Checkpoint::load(&path).unwrap().unwrap();
            assert_eq!(c.engine, "host", "a new CPU run trains on the host engine");
            (path, c)
        };
        let dir = tempfile::tempdir().unwrap();
        let (path, mut c) = stop_at_ten(dir.path());
        c.engine = "tensors".into();
        c.save(&path).unwrap();
        let report = execute(&p, &data, dir.path(), &mut |_| {}, &AtomicBool::new(false)).unwrap();
        assert_eq!(report.status, RunStatus::Done);
        assert_eq!(report.resumed_from, Some(c.step));
        let done = Checkpoint::load(&path).unwrap().unwrap();
        assert!(done.complete);
        assert_eq!(done.engine, "tensors", "the run stayed on its engine");

        let dir = tempfile::tempdir().unwrap();
        let (path, mut c) = stop_at_ten(dir.path());
        c.engine = "warp".into();
        c.save(&path).unwrap();
        let err = execute(&p, &data, dir.path(), &mut |_| {}, &AtomicBool::new(false)).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("checkpoint.bin") && text.contains("unknown training engine \"warp\""),
            "{text}"
        );
    }
}
