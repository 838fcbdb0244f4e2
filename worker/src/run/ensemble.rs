//! Runs trained as one fused ensemble (issue 24): the launches of several runs of one
//! architecture and batch size on one dataset and device go through every step together, and
//! their training steps are one [`EnsembleTrainer`] step over stacked parameters.
//!
//! Everything else stays each run's own: its directory, tables, checkpoint and end markers,
//! its snapshots and evaluations (on its own θ), its progress and its report. A step goes in
//! two phases ([`Launch::before_step`], [`Launch::after_step`]): every member takes its
//! snapshot and evaluation at θ_t, then the first member to ask steps the ensemble and each
//! logs, commits and checkpoints its own part. A member whose run ends — done (members may
//! have different step counts), diverged, stopped, or failed with an error — leaves the
//! ensemble, and the others go on with unchanged numbers.
//!
//! A member checkpoints as a run of the tensor engine (`engine = "tensors"`), whose
//! arithmetic its steps follow bit for bit on the CPU, so it resumes fused or alone. Which
//! runs join: those opened at the same step that either start from step 0 or resume from a
//! tensor-engine checkpoint; a run resumed from a host-engine checkpoint (trained alone on the
//! CPU) finishes alone, so that each run's numbers come from one engine's arithmetic.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};

use super::launch::{Flow, Launch, Opened};
use super::plan::RunPlan;
use super::progress::RunProgress;
use super::report::RunReport;
use crate::data::TrainTest;
use crate::train::{
    EnsembleMember, EnsembleTrainer, MemberSpec, ResumePoint, RunTrainer, TrainingEngine,
};
use crate::WorkerError;

/// Whether two runs can train as one ensemble on the same dataset: the same network, batch
/// size and device (their optimisers, seeds, schedules, step counts and snapshot settings
/// may differ).
pub fn fusible(a: &RunPlan, b: &RunPlan) -> bool {
    a.arch == b.arch && a.batch_size == b.batch_size && a.device.same_device(&b.device)
}

/// A run's progress callback, as [`super::execute`] takes it.
pub type Progress<'p> = &'p mut dyn FnMut(&RunProgress);

/// What [`execute_ensemble`] did.
#[derive(Debug)]
pub struct EnsembleOutcome {
    /// Each run's report, in the order of the plans.
    pub reports: Vec<Result<RunReport, WorkerError>>,
    /// How many of them trained as one fused ensemble in this launch (0 or ≥ 2).
    pub fused: usize,
    /// Why runs that could have joined trained alone instead (stacking failed), if so.
    pub alone_because: Option<String>,
}

/// Runs (or resumes, or skips if finished) every run of `plans` in its directory `dirs[i]`,
/// those that can as one fused ensemble (see the module's docs), the others alone after it.
/// `plans` must be pairwise [`fusible`] and train on `data`. `stop` is polled as by
/// [`super::execute`]: every member checkpoints at the same step and returns
/// [`super::RunStatus::Stopped`].
///
/// # Panics
/// When `dirs` or `progress` do not have one entry per plan.
pub fn execute_ensemble(
    plans: &[RunPlan],
    data: &TrainTest,
    dirs: &[PathBuf],
    progress: &mut [Progress<'_>],
    stop: &AtomicBool,
) -> EnsembleOutcome {
    assert_eq!(plans.len(), dirs.len(), "one directory per plan");
    assert_eq!(
        plans.len(),
        progress.len(),
        "one progress callback per plan"
    );
    let mut results: Vec<Option<Result<RunReport, WorkerError>>> =
        (0..plans.len()).map(|_| None).collect();
    let finish = |results: Vec<Option<Result<RunReport, WorkerError>>>, fused, alone_because| {
        EnsembleOutcome {
            reports: results
                .into_iter()
                .map(|r| r.expect("every run has a result"))
                .collect(),
            fused,
            alone_because,
        }
    };
    if plans.is_empty() {
        return finish(results, 0, None);
    }
    // One copy of the data on the device for every member.
    let copies = match Launch::device_copies(&plans[0], data) {
        Ok(c) => c,
        Err(e) => {
            let why = e.to_string();
            results[0] = Some(Err(e));
            for r in results.iter_mut().skip(1) {
                *r = Some(Err(WorkerError::InvalidPlan(format!(
                    "the ensemble's data could not be put on the device: {why}"
                ))));
            }
            return finish(results, 0, None);
        }
    };
    let mut opened: Vec<(usize, Box<Launch<'_>>)> = Vec::new();
    for (i, (plan, dir)) in plans.iter().zip(dirs).enumerate() {
        match Launch::open_with(plan, data, dir, Some((&copies.0, &copies.1))) {
            Ok(Opened::Finished(report)) => results[i] = Some(Ok(report)),
            Ok(Opened::Ready(launch)) => opened.push((i, launch)),
            Err(e) => results[i] = Some(Err(e)),
        }
    }
    let (members, alone, alone_because) = join(opened, &copies.0);
    let fused = members.len();
    lockstep(members, progress, stop, &mut results);
    for (i, launch) in alone {
        results[i] = Some(launch.run(&mut *progress[i], stop));
    }
    finish(results, fused, alone_because)
}

/// The ensemble's members and the runs that train alone, each with its index in the plans.
type Split<'a> = (
    Vec<(usize, Box<Launch<'a>>)>,
    Vec<(usize, Box<Launch<'a>>)>,
    Option<String>,
);

/// Splits the opened launches into the ensemble's members (their trainers replaced by
/// members of one [`EnsembleTrainer`]) and those that run alone.
fn join<'a>(opened: Vec<(usize, Box<Launch<'a>>)>, train: &crate::train::DeviceData) -> Split<'a> {
    let joins = |l: &Launch| match l.trainer() {
        RunTrainer::Own(t) => t.steps() == 0 || t.engine() == TrainingEngine::Tensors,
        RunTrainer::Member(_) => false,
    };
    // The most common starting step among those that may join.
    let mut steps: Vec<u64> = opened
        .iter()
        .filter(|(_, l)| joins(l))
        .map(|(_, l)| l.trainer().steps())
        .collect();
    steps.sort_unstable();
    let common = steps
        .chunk_by(|a, b| a == b)
        .max_by_key(|c| c.len())
        .map(|c| c[0]);
    let (mut members, mut alone): (Vec<_>, Vec<_>) = opened
        .into_iter()
        .partition(|(_, l)| joins(l) && Some(l.trainer().steps()) == common);
    if members.len() < 2 {
        alone.append(&mut members);
        alone.sort_by_key(|(i, _)| *i);
        return (Vec::new(), alone, None);
    }
    let specs: Result<Vec<MemberSpec>, WorkerError> = members
        .iter()
        .map(|(_, l)| {
            let RunTrainer::Own(t) = l.trainer() else {
                unreachable!("only runs alone join")
            };
            let plan = l.plan();
            let resume = if t.steps() == 0 {
                None
            } else {
                let (optimizer_state, optimizer_steps) = t.optimizer_state()?;
                Some(ResumePoint {
                    step: t.steps(),
                    position: t.order_position(),
                    optimizer_state,
                    optimizer_steps,
                })
            };
            Ok(MemberSpec {
                params: t.params()?,
                config: plan.optimizer,
                schedule: plan.lr_schedule,
                seed: plan.seed,
                resume,
            })
        })
        .collect();
    let batch = members[0].1.plan().batch_size;
    let ensemble = specs.and_then(|specs| EnsembleTrainer::new(specs, train.clone(), batch));
    match ensemble {
        Ok(ensemble) => {
            for ((_, launch), member) in members.iter_mut().zip(EnsembleMember::split(ensemble)) {
                *launch.trainer_mut() = RunTrainer::Member(member);
            }
            (members, alone, None)
        }
        Err(e) => {
            // Could not stack them (memory, a device error): they run alone, which loses
            // nothing but speed, and the caller is told why.
            alone.append(&mut members);
            alone.sort_by_key(|(i, _)| *i);
            (Vec::new(), alone, Some(e.to_string()))
        }
    }
}

/// Drives the members through their steps in two phases until every one has ended.
fn lockstep(
    mut live: Vec<(usize, Box<Launch<'_>>)>,
    progress: &mut [Progress<'_>],
    stop: &AtomicBool,
    results: &mut [Option<Result<RunReport, WorkerError>>],
) {
    while !live.is_empty() {
        let mut before = Vec::with_capacity(live.len());
        for (i, launch) in live.drain(..) {
            match launch.before_step(&mut *progress[i], stop) {
                Ok(Flow::Continue(launch, b)) => before.push((i, launch, b)),
                Ok(Flow::Ended(report)) => results[i] = Some(Ok(report)),
                Err(e) => results[i] = Some(Err(e)),
            }
        }
        // One decision for every member of this step: the flag as it stands once all took
        // their snapshots, so that the members stop at the same step (a member stopped mid-
        // snapshot has already ended at θ_t; the others checkpoint at θ_{t+1}).
        let stopping = AtomicBool::new(stop.load(Ordering::SeqCst));
        for (i, launch, b) in before {
            match launch.after_step(b, &mut *progress[i], &stopping) {
                Ok(Flow::Continue(launch, ())) => live.push((i, launch)),
                Ok(Flow::Ended(report)) => results[i] = Some(Ok(report)),
                Err(e) => results[i] = Some(Err(e)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use candle_core::Device;

    use super::*;
    use crate::data::synthetic;
    use crate::optim::{AdamConfig, OptimizerConfig, SamConfig, SgdConfig};
    use crate::output::{read_metric_rows, read_snapshot_rows, read_weight_rows};
    use crate::run::{execute, test_plan, Checkpoint, RunStatus};

    /// SGD, Adam and SAM runs of the test network, each its own seed and key; snapshots at
    /// steps 0, 10 and 20, θ kept at each.
    fn plans() -> Vec<RunPlan> {
        [
            OptimizerConfig::Sgd(SgdConfig {
                lr: 0.05,
                ..SgdConfig::default()
            }),
            OptimizerConfig::Adam(AdamConfig {
                lr: 1e-3,
                ..AdamConfig::default()
            }),
            OptimizerConfig::Sam(SamConfig::sgd(0.05, 0.05)),
        ]
        .into_iter()
        .enumerate()
        .map(|(i, optimizer)| {
            let mut p = test_plan(Device::Cpu);
            p.key = format!("run{i}");
            p.seed = 10 + i as u64;
            p.optimizer = optimizer;
            p.snapshot_steps = vec![0, 10, 20];
            p.eval_steps = vec![10, 20];
            p.store_weights = true;
            p.checkpoint_every = 1;
            p
        })
        .collect()
    }

    fn dirs(root: &Path, n: usize) -> Vec<PathBuf> {
        (0..n).map(|i| root.join(format!("run{i}"))).collect()
    }

    fn fused(
        plans: &[RunPlan],
        data: &TrainTest,
        dirs: &[PathBuf],
        stop: &AtomicBool,
        mut on_progress: impl FnMut(usize, &RunProgress),
    ) -> EnsembleOutcome {
        let hook = std::cell::RefCell::new(&mut on_progress);
        let mut callbacks: Vec<Box<dyn FnMut(&RunProgress) + '_>> = Vec::new();
        for i in 0..plans.len() {
            let hook = &hook;
            callbacks.push(Box::new(move |p: &RunProgress| (hook.borrow_mut())(i, p)));
        }
        let mut progress: Vec<Progress<'_>> = callbacks
            .iter_mut()
            .map(|c| c.as_mut() as Progress<'_>)
            .collect();
        execute_ensemble(plans, data, dirs, &mut progress, stop)
    }

    /// Every table of a run directory as text (exact: shortest round-trip floats).
    fn tables(dir: &Path) -> String {
        let mut snapshots = read_snapshot_rows(&dir.join("snapshots")).unwrap();
        snapshots.sort_by_key(|r| (r.step, r.index));
        let metrics = read_metric_rows(&dir.join("metrics")).unwrap();
        let weights = read_weight_rows(&dir.join("weights")).unwrap();
        format!("{snapshots:?}\n{metrics:?}\n{weights:?}")
    }

    fn max_relative(a: &[f64], b: &[f64]) -> f64 {
        let scale = b.iter().fold(1e-30f64, |m, v| m.max(v.abs()));
        a.iter()
            .zip(b)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, f64::max)
            / scale
    }

    #[test]
    fn fused_runs_write_the_tables_of_the_same_runs_alone_to_f32_tolerance() {
        let data = synthetic(200, 50, 0);
        let plans = plans();
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let (fused_dirs, alone_dirs) = (dirs(a.path(), 3), dirs(b.path(), 3));
        let outcome = fused(
            &plans,
            &data,
            &fused_dirs,
            &AtomicBool::new(false),
            |_, _| {},
        );
        assert_eq!(outcome.fused, 3, "{:?}", outcome.alone_because);
        for (i, plan) in plans.iter().enumerate() {
            let report = outcome.reports[i].as_ref().unwrap();
            assert_eq!(report.status, RunStatus::Done);
            assert_eq!(report.steps_done, 20);
            execute(
                plan,
                &data,
                &alone_dirs[i],
                &mut |_| {},
                &AtomicBool::new(false),
            )
            .unwrap();
            let (f, s) = (&fused_dirs[i], &alone_dirs[i]);
            assert!(f.join("_SUCCESS").exists());
            let c = Checkpoint::load(&f.join("checkpoint.bin"))
                .unwrap()
                .unwrap();
            assert_eq!(c.engine, "tensors", "a member resumes on the tensor engine");
            // θ at every snapshot: the fused member on the tensor engine's arithmetic, the run
            // alone on the host engine's — equal to f32 rounding.
            let theta = |d: &Path| -> Vec<f64> {
                read_weight_rows(&d.join("weights"))
                    .unwrap()
                    .iter()
                    .flat_map(|w| w.theta.iter().map(|&x| f64::from(x)))
                    .collect()
            };
            let (tf, ts) = (theta(f), theta(s));
            assert_eq!(tf.len(), ts.len());
            assert!(
                max_relative(&tf, &ts) < 1e-5,
                "θ of run {i}: {}",
                max_relative(&tf, &ts)
            );
            let values = |d: &Path| -> Vec<f64> {
                let mut rows = read_snapshot_rows(&d.join("snapshots")).unwrap();
                rows.sort_by_key(|r| (r.step, r.index));
                rows.iter().map(|r| r.eigenvalue).collect()
            };
            let (vf, vs) = (values(f), values(s));
            assert_eq!(vf.len(), 3 * plan.snapshot.top_k);
            assert!(
                max_relative(&vf, &vs) < 1e-4,
                "eigenvalues of run {i}: {vf:?} vs {vs:?}"
            );
            let losses = |d: &Path| -> Vec<f64> {
                read_metric_rows(&d.join("metrics"))
                    .unwrap()
                    .iter()
                    .filter_map(|m| m.batch_loss)
                    .collect()
            };
            assert!(
                max_relative(&losses(f), &losses(s)) < 1e-5,
                "losses of run {i}"
            );
        }
    }

    #[test]
    fn a_stopped_ensemble_resumes_to_the_tables_of_an_uninterrupted_one() {
        let data = synthetic(200, 50, 0);
        let plans = plans();
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let (reference, resumed) = (dirs(a.path(), 3), dirs(b.path(), 3));
        fused(
            &plans,
            &data,
            &reference,
            &AtomicBool::new(false),
            |_, _| {},
        );
        let stop = AtomicBool::new(false);
        let first = fused(&plans, &data, &resumed, &stop, |_, p| {
            if p.step >= 7 {
                stop.store(true, Ordering::SeqCst);
            }
        });
        let steps: Vec<u64> = first
            .reports
            .iter()
            .map(|r| {
                let r = r.as_ref().unwrap();
                assert_eq!(r.status, RunStatus::Stopped);
                r.steps_done
            })
            .collect();
        assert!(
            steps.iter().all(|&s| s == steps[0] && s < 20),
            "one step for all: {steps:?}"
        );
        let second = fused(&plans, &data, &resumed, &AtomicBool::new(false), |_, _| {});
        assert_eq!(second.fused, 3, "the members rejoin from their checkpoints");
        for i in 0..3 {
            assert_eq!(second.reports[i].as_ref().unwrap().status, RunStatus::Done);
            assert_eq!(tables(&reference[i]), tables(&resumed[i]), "run {i}");
        }
    }

    #[test]
    fn a_diverging_member_is_recorded_and_leaves_the_others_unchanged() {
        let data = synthetic(200, 50, 0);
        let mut plans = plans();
        let mut wild = plans[0].clone();
        wild.key = "wild".into();
        wild.seed = 99;
        wild.optimizer = OptimizerConfig::Sgd(SgdConfig {
            lr: 1e12,
            ..SgdConfig::default()
        });
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let reference = dirs(a.path(), 3);
        fused(
            &plans,
            &data,
            &reference,
            &AtomicBool::new(false),
            |_, _| {},
        );
        plans.insert(1, wild);
        let with = dirs(b.path(), 4);
        let outcome = fused(&plans, &data, &with, &AtomicBool::new(false), |_, _| {});
        assert_eq!(outcome.fused, 4);
        let wild_report = outcome.reports[1].as_ref().unwrap();
        assert!(
            matches!(wild_report.status, RunStatus::Diverged { .. }),
            "{:?}",
            wild_report.status
        );
        assert!(with[1].join("_DIVERGED").exists());
        for (r, w) in [(0, 0), (1, 2), (2, 3)] {
            assert_eq!(outcome.reports[w].as_ref().unwrap().status, RunStatus::Done);
            assert_eq!(tables(&reference[r]), tables(&with[w]), "run {r}");
        }
    }

    #[test]
    fn only_runs_of_one_network_batch_and_device_are_fusible() {
        let p = plans();
        assert!(fusible(&p[0], &p[1]));
        let mut other = p[0].clone();
        other.batch_size = 32;
        assert!(!fusible(&p[0], &other));
        let mut wider = p[0].clone();
        wider.arch = crate::mlp::Architecture::new(vec![784, 9, 10]).unwrap();
        assert!(!fusible(&p[0], &wider));
    }
}
