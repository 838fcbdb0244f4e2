//! Time a sweep will take: core-seconds per run and baseline task, and the wall time of a
//! launch layout, from a [`Calibration`] of the machine (issue 12: "a Slurm `--time` worked
//! out by hand from BENCHMARKS.md").
//!
//! The model, and what it assumes (printed with every estimate by `eigensweep plan`):
//! - training: `steps / rate` seconds on one core, the rate measured for the optimiser on the
//!   paper's 784-100-100-10 network at batch 128 and scaled by `parameters / 89,610` and
//!   `batch / 128` (the step is three GEMMs of that size). More threads do not speed up a
//!   step at batch 128 (BENCHMARKS.md: 16 cores are slower than one), so training counts
//!   one core whatever the layout;
//! - each snapshot: the operator's set-up (loss, full gradient, cached activations) plus its
//!   Hessian-vector products ([`Estimate::products`](super::plan::Estimate)), each costing
//!   `samples × parameters` times a measured constant, divided over the job's threads
//!   (the products are large GEMMs, which scale with cores);
//! - each evaluation step: one forward pass over the training and test images;
//! - the wall time: tasks handed out in plan order to `ranks × jobs` slots, each taking the
//!   next task when it frees (as rank 0 hands out work), with no time for start-up, data
//!   loading or writing.

use serde::{Deserialize, Serialize};

use super::expand::{BaselineTask, RunSpec};
use super::plan::{products_per_solve, Estimate};
use crate::optim::{BaseOptimizer, OptimizerConfig};

/// Parameters of the network the step rates are measured on (784-100-100-10).
pub const CALIBRATION_PARAMETERS: f64 = 89_610.0;
/// Batch size the step rates are measured at.
pub const CALIBRATION_BATCH: f64 = 128.0;
/// Version of the calibration file's format.
pub const CALIBRATION_VERSION: u32 = 1;

/// What one machine does per second, as `eigensweep bench --calibrate` measures it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Calibration {
    /// Format version ([`CALIBRATION_VERSION`]).
    pub version: u32,
    /// The CPU the numbers were measured on, as `/proc/cpuinfo` names it.
    pub cpu: String,
    /// When (UTC) and how they were measured.
    pub measured: String,
    /// Training steps per second, one thread, batch 128, 784-100-100-10: SGD.
    pub sgd_steps_per_second: f64,
    /// The same for Adam.
    pub adam_steps_per_second: f64,
    /// The same for SAM (two gradients per step).
    pub sam_steps_per_second: f64,
    /// Core-seconds of one Hessian-vector product per sample and per parameter.
    pub hvp_core_seconds: f64,
    /// Core-seconds of a snapshot's operator set-up per sample and per parameter.
    pub setup_core_seconds: f64,
    /// Core-seconds of an evaluation forward pass per sample and per parameter.
    pub eval_core_seconds: f64,
}

impl Calibration {
    /// The built-in calibration, used when no measured one is given: `eigensweep bench
    /// --calibrate --mnist-dir ../shared/data/mnist` on a 2-core AMD EPYC (the machine of the
    /// 60k reproduction in docs/REPRODUCTION.md), 2026-11-30.
    pub fn builtin() -> Self {
        Calibration {
            version: CALIBRATION_VERSION,
            cpu: "AMD EPYC (2 cores)".into(),
            measured: "built-in: eigensweep bench --calibrate, 2026-11-30 03:21 UTC".into(),
            sgd_steps_per_second: 3392.0,
            adam_steps_per_second: 2966.0,
            sam_steps_per_second: 1652.0,
            hvp_core_seconds: 2.834e-11,
            setup_core_seconds: 8.175e-11,
            eval_core_seconds: 1.932e-11,
        }
    }

    /// Checks that every rate is positive and finite, naming the first field that is not.
    pub fn check(&self) -> Result<(), String> {
        if self.version != CALIBRATION_VERSION {
            return Err(format!(
                "version {} is not the supported {CALIBRATION_VERSION}",
                self.version
            ));
        }
        for (name, value) in [
            ("sgd_steps_per_second", self.sgd_steps_per_second),
            ("adam_steps_per_second", self.adam_steps_per_second),
            ("sam_steps_per_second", self.sam_steps_per_second),
            ("hvp_core_seconds", self.hvp_core_seconds),
            ("setup_core_seconds", self.setup_core_seconds),
            ("eval_core_seconds", self.eval_core_seconds),
        ] {
            if !(value.is_finite() && value > 0.0) {
                return Err(format!("{name}: expected a positive number, got {value}"));
            }
        }
        Ok(())
    }

    /// Seconds of one training step of `config`. Only SGD, Adam and SAM on SGD are measured:
    /// the other rules are priced as Adam (one pass over stateful vectors: SGD with momentum
    /// or weight decay, AdamW, RMSprop), and SAM on another base as that base plus SAM's
    /// second gradient (SAM's step time less SGD's).
    fn step_seconds(&self, config: &OptimizerConfig) -> f64 {
        let base = match config.base() {
            BaseOptimizer::Sgd(c) if c.momentum == 0.0 && c.weight_decay == 0.0 => {
                1.0 / self.sgd_steps_per_second
            }
            _ => 1.0 / self.adam_steps_per_second,
        };
        match config {
            OptimizerConfig::Sam(_) => {
                base + (1.0 / self.sam_steps_per_second - 1.0 / self.sgd_steps_per_second).max(0.0)
            }
            _ => base,
        }
    }
}

/// Samples of a dataset: training and test images.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Samples {
    /// Training images.
    pub train: usize,
    /// Test images.
    pub test: usize,
}

/// Seconds of one task, split by what scales with threads.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct TaskTime {
    /// Seconds on one core that more threads do not shorten (training steps).
    pub serial: f64,
    /// Core-seconds that divide over the job's threads (Hessian work, evaluation).
    pub parallel: f64,
}

impl TaskTime {
    /// Core-seconds in all (what a cluster's accounting charges with one core per thread).
    pub fn core_seconds(&self, threads: usize) -> f64 {
        self.serial * threads as f64 + self.parallel
    }

    /// Wall seconds on `threads` threads.
    pub fn seconds(&self, threads: usize) -> f64 {
        self.serial + self.parallel / threads.max(1) as f64
    }
}

/// Time of one run with its plan estimate `e`; `None` when the network's size is unknown.
pub fn run_time(
    run: &RunSpec,
    e: &Estimate,
    samples: Samples,
    c: &Calibration,
) -> Option<TaskTime> {
    let params = run.parameters()? as f64;
    let step = (params / CALIBRATION_PARAMETERS)
        * (run.batch_size as f64 / CALIBRATION_BATCH)
        * c.step_seconds(&run.optimizer.config);
    let hessian = run
        .hessian_samples
        .map_or(samples.train, |h| h.min(samples.train)) as f64;
    let work = hessian * params;
    let snapshots = e.snapshots as f64;
    let evals = run.eval_steps.len() as f64;
    Some(TaskTime {
        serial: run.steps as f64 * step,
        parallel: work
            * (e.products as f64 * c.hvp_core_seconds + snapshots * c.setup_core_seconds)
            + evals * (samples.train + samples.test) as f64 * params * c.eval_core_seconds,
    })
}

/// Time of one baseline network: its operator set-up and one cold solve.
pub fn baseline_time(task: &BaselineTask, samples: Samples, c: &Calibration) -> Option<TaskTime> {
    let params = task.parameters()? as f64;
    let hessian = task
        .hessian_samples
        .map_or(samples.train, |h| h.min(samples.train)) as f64;
    let products = products_per_solve(&task.eigen, false) as f64;
    Some(TaskTime {
        serial: 0.0,
        parallel: hessian * params * (products * c.hvp_core_seconds + c.setup_core_seconds),
    })
}

/// How a sweep is launched: `ranks` processes (1 without MPI), each running `jobs` tasks at
/// a time on `threads` threads shared by its jobs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    /// Processes (MPI ranks).
    pub ranks: usize,
    /// Tasks at a time per process (`--jobs`).
    pub jobs: usize,
    /// Threads per process (`--threads`).
    pub threads: usize,
}

impl Layout {
    /// Threads each job gets (at least one).
    pub fn threads_per_job(&self) -> usize {
        (self.threads / self.jobs.max(1)).max(1)
    }

    /// Slots working at once.
    pub fn slots(&self) -> usize {
        self.ranks.max(1) * self.jobs.max(1)
    }
}

/// Wall seconds of `tasks` (in hand-out order) on `layout`: each task goes to the slot that
/// frees first, as rank 0 hands out work.
pub fn wall_seconds(tasks: &[TaskTime], layout: Layout) -> f64 {
    let threads = layout.threads_per_job();
    let mut free_at = vec![0.0f64; layout.slots()];
    for t in tasks {
        let slot = free_at
            .iter()
            .enumerate()
            .min_by(|a, b| a.1.total_cmp(b.1))
            .map_or(0, |(i, _)| i);
        free_at[slot] += t.seconds(threads);
    }
    free_at.into_iter().fold(0.0, f64::max)
}

/// `93 s`, `14.2 min`, `3.61 h`, `2.3 d`.
pub fn human_seconds(seconds: f64) -> String {
    if seconds < 99.5 {
        format!("{seconds:.0} s")
    } else if seconds < 99.5 * 60.0 {
        format!("{:.1} min", seconds / 60.0)
    } else if seconds < 48.0 * 3600.0 {
        format!("{:.2} h", seconds / 3600.0)
    } else {
        format!("{:.1} d", seconds / 86_400.0)
    }
}

#[cfg(test)]
mod tests {
    use super::super::plan::estimate_run;
    use super::*;

    #[test]
    fn builtin_calibration_is_valid_and_bad_values_are_named() {
        Calibration::builtin().check().unwrap();
        let bad = Calibration {
            hvp_core_seconds: 0.0,
            ..Calibration::builtin()
        };
        assert!(bad.check().unwrap_err().contains("hvp_core_seconds"));
        let nan = Calibration {
            adam_steps_per_second: f64::NAN,
            ..Calibration::builtin()
        };
        assert!(nan.check().unwrap_err().contains("adam_steps_per_second"));
    }

    #[test]
    fn wall_time_hands_tasks_to_the_first_free_slot() {
        let t = |s: f64, p: f64| TaskTime {
            serial: s,
            parallel: p,
        };
        // One slot: the sum. Threads divide only the parallel part.
        let one = Layout {
            ranks: 1,
            jobs: 1,
            threads: 2,
        };
        let tasks = [t(10.0, 20.0), t(0.0, 4.0)];
        assert_eq!(wall_seconds(&tasks, one), 10.0 + 10.0 + 2.0);
        // Two slots of one thread each: 30 on one, 4 on the other.
        let two = Layout {
            ranks: 1,
            jobs: 2,
            threads: 2,
        };
        assert_eq!(wall_seconds(&tasks, two), 30.0);
        // Four ranks of one job: in-order hand-out, the longest decides.
        let tasks = [
            t(1.0, 0.0),
            t(2.0, 0.0),
            t(3.0, 0.0),
            t(4.0, 0.0),
            t(5.0, 0.0),
        ];
        let four = Layout {
            ranks: 4,
            jobs: 1,
            threads: 1,
        };
        // Slots: 1+5, 2, 3, 4 → 6.
        assert_eq!(wall_seconds(&tasks, four), 6.0);
        assert_eq!(t(10.0, 20.0).core_seconds(2), 40.0);
    }

    #[test]
    fn human_durations() {
        assert_eq!(human_seconds(42.0), "42 s");
        assert_eq!(human_seconds(852.0), "14.2 min");
        assert_eq!(human_seconds(13_000.0), "3.61 h");
        assert_eq!(human_seconds(200_000.0), "2.3 d");
    }

    /// A one-hidden-layer sweep small enough to count by hand.
    fn tiny(sets: &[&str]) -> crate::sweep::ValidatedSweep {
        let text = "
name: tiny
datasets:
  - {name: synth, source: synthetic, train_size: 200, test_size: 50}
model: {hidden: [4]}
training: {steps: 10}
optimizers: [{name: sgd, kind: sgd, lr: 0.01}]
seeds: [0]
snapshots: {schedule: {every: 5}}
baseline: {networks: 1, top_k: 1}
";
        let overrides = crate::sweep::Overrides {
            set: sets.iter().map(|s| s.to_string()).collect(),
            output: None,
        };
        crate::sweep::parse_sweep(text, &overrides).unwrap()
    }

    #[test]
    fn run_time_by_hand() {
        // N = 3,190, 10 SGD steps at batch 128 (the default), snapshots at 0, 5, 10
        // (42 products), evaluations at every eval step, 200 training and 50 test images.
        let sweep = tiny(&[]);
        let run = &sweep.runs()[0];
        let e = estimate_run(run);
        let c = Calibration {
            sgd_steps_per_second: 1000.0,
            hvp_core_seconds: 1e-9,
            setup_core_seconds: 2e-9,
            eval_core_seconds: 3e-10,
            ..Calibration::builtin()
        };
        let samples = Samples {
            train: 200,
            test: 50,
        };
        let t = run_time(run, &e, samples, &c).unwrap();
        let n = 3190.0;
        let step = n / CALIBRATION_PARAMETERS / 1000.0;
        assert!((t.serial - 10.0 * step).abs() < 1e-15);
        let evals = run.eval_steps.len() as f64;
        let parallel = 200.0 * n * (42.0 * 1e-9 + 3.0 * 2e-9) + evals * 250.0 * n * 3e-10;
        assert!((t.parallel - parallel).abs() < 1e-12 * parallel);
        // hessian_samples caps the Hessian's samples, not the evaluation's.
        let capped = tiny(&["snapshots.hessian_samples=100"]);
        let run = &capped.runs()[0];
        let t2 = run_time(run, &estimate_run(run), samples, &c).unwrap();
        let parallel2 = 100.0 * n * (42.0 * 1e-9 + 3.0 * 2e-9) + evals * 250.0 * n * 3e-10;
        assert!((t2.parallel - parallel2).abs() < 1e-12 * parallel2);
        // A baseline network: one set-up and a cold top-1 solve (12 products).
        let task = &sweep.baseline_tasks()[0];
        let b = baseline_time(task, samples, &c).unwrap();
        assert!((b.parallel - 200.0 * n * (12.0 * 1e-9 + 2e-9)).abs() < 1e-15);
        assert_eq!(b.serial, 0.0);
    }
}
