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
//!   `samples × parameters` times a measured constant. The set-up divides over the job's
//!   threads; a product over at most one thread per chunk of [`HESSIAN_CHUNK`] samples
//!   ([`hessian_threads`]: the CPU engine hands each thread whole chunks, so a Hessian on
//!   1,000 samples runs its products on one thread however many the job has);
//!   The eigensolver's own work per product (orthogonalising, Ritz vectors, residuals) takes
//!   one core, `N × (top_k + 2)` times a measured constant;
//! - each evaluation step: one forward pass over the training and test images;
//! - what a task costs besides its arithmetic ([`fixed_seconds`]): its start and end
//!   ([`TASK_SECONDS`]), its copy of its data ([`DATA_SECONDS_PER_SAMPLE`]), and writing its
//!   tables and checkpoints ([`WRITE_BYTES_PER_SECOND`]); a launch adds [`LAUNCH_SECONDS`];
//! - the wall time: tasks handed out in plan order to `ranks × jobs` slots, each taking the
//!   next task when it frees (as rank 0 hands out work).
//!
//! Issue 26.4 measured what the model left out on a small sweep (the quickstart planned 2 s
//! and took 17 s): the machine (the built-in calibration's CPU is 5–6× faster than the
//! 2-core EPYC the quickstart ran on, so `plan` scales it by a measured matrix-multiply rate
//! when no calibration of this machine is stored), the threads a small Hessian's products
//! really use, the cold solves' floor of 20 products, and the fixed costs above.
//!
//! Memory (what `--mem` must cover; [`run_memory`], [`baseline_memory`], [`RankMemory`]): the
//! peak resident bytes of a task, part by part as the worker allocates them, with N the
//! network's parameters, `S` the Hessian samples, `k` the top eigenpairs and `b = k + 2`:
//! - data: the task's own f32 copy of its images and one-hot targets (runs: training and test
//!   sets; baseline networks: the training set);
//! - training: θ, its gradient and update and two optimiser moments in f32, and the f64 copies
//!   a snapshot and a checkpoint make ([`TRAINING_BYTES_PER_PARAMETER`] × N);
//! - the Hessian operator: its per-sample cache, `S × (2 Σ hidden widths + 2 classes)` f32
//!   values ([`hessian_values_per_sample`]), and each thread's accumulators for a product;
//! - the eigensolver at its largest basis, `m = max(6 b, 30)` columns ([`basis_columns`]; also
//!   for the preconditioned solve and the density's Lanczos bases, which run after it and take
//!   the larger): `Q` and `W = HQ` (`2 m` vectors), the `b` Ritz vectors and residuals (`2 b`)
//!   and the larger of their two temporaries and a thick restart's copy (`max(2 b, m / 2)`),
//!   each N f64 values. A solve that converges before it fills the basis touches less;
//! - results: the warm-start vectors (`b` × N f64) and the snapshot rows buffered between two
//!   checkpoints (`run`'s default `--checkpoint-every` 8 snapshots × `k` eigenvectors, and θ
//!   when stored, N f32 each).
//!
//! A process adds [`PROCESS_BASE_BYTES`] and the datasets it loads (shared by its jobs), and
//! runs `--jobs` tasks at once, each at its own peak in the worst case.

use serde::{Deserialize, Serialize};

use super::expand::{BaselineTask, RunSpec};
use super::plan::{estimate_baseline, Estimate};
use super::solve::SOLVER_GUARD;
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
    /// Seconds (one core) of the eigensolver's own work per product, per parameter and per
    /// column of its block (`top_k + 2`): orthogonalising, Ritz vectors and residuals in f64.
    /// Beside a product on a few thousand samples it is not small (issue 26.4: 16 ms of a
    /// top-3 product's 31 ms at 1,000 samples of 784-100-100-10). Files written before it was
    /// measured get the built-in value.
    #[serde(default = "builtin_solver_core_seconds")]
    pub solver_core_seconds: f64,
}

/// [`Calibration::solver_core_seconds`] of the built-in calibration's machine: measured by
/// `bench --calibrate` on the 2-core EPYC of family 23 (2.66e-8 s there, 2026-12-07; 20
/// products in 239 ms) and divided by that machine's matrix-multiply ratio to the built-in's
/// (6.15, see [`BUILTIN_GEMM_GFLOPS`]).
const BUILTIN_SOLVER_CORE_SECONDS: f64 = 4.3e-9;

fn builtin_solver_core_seconds() -> f64 {
    BUILTIN_SOLVER_CORE_SECONDS
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
            solver_core_seconds: BUILTIN_SOLVER_CORE_SECONDS,
        }
    }

    /// The calibration of a machine `factor` times slower (faster below 1): every rate
    /// divided by it, every time per unit of work multiplied.
    pub fn scaled(&self, factor: f64) -> Self {
        Calibration {
            sgd_steps_per_second: self.sgd_steps_per_second / factor,
            adam_steps_per_second: self.adam_steps_per_second / factor,
            sam_steps_per_second: self.sam_steps_per_second / factor,
            hvp_core_seconds: self.hvp_core_seconds * factor,
            setup_core_seconds: self.setup_core_seconds * factor,
            eval_core_seconds: self.eval_core_seconds * factor,
            solver_core_seconds: self.solver_core_seconds * factor,
            ..self.clone()
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
            ("solver_core_seconds", self.solver_core_seconds),
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

/// The single-thread matrix-multiply rate (GFLOP/s: the SGD step's 8 products, `eigensweep
/// bench --training`'s "GEMM bound") of the machine [`Calibration::builtin`] was measured on,
/// minutes before it (BENCHMARKS.md, 2026-11-30 03:15 UTC). `plan` measures the same on the
/// machine it runs on and scales the built-in calibration by the ratio when no calibration of
/// that machine is stored (issue 26.4: on a 2-core EPYC of family 23 at 2.0 GHz it is 32
/// GFLOP/s; its measured training steps were 5.1–5.5× slower, its products 5.1× (one thread,
/// 8,000 images) than the built-in calibration's, against a ratio of 6.3).
pub const BUILTIN_GEMM_GFLOPS: f64 = 203.0;

/// Resident bytes of a process besides its tasks' buffers and its datasets: the program, its
/// libraries, threads and the Parquet writers. Measured (`/usr/bin/time -v`, 2-core AMD EPYC):
/// 19 MB at the peak of `run` of a 784-4-10 network on 200 synthetic samples.
pub const PROCESS_BASE_BYTES: u64 = 20_000_000;

/// Bytes per parameter of a run's training state: θ, gradient, update and two optimiser
/// moments in f32 (5 × 4), and the f64 copies of θ, the gradient and the update, and of θ and
/// the optimiser state in a checkpoint (6 × 8).
pub const TRAINING_BYTES_PER_PARAMETER: u64 = 68;

/// Snapshots whose rows a run buffers before it writes them and a checkpoint: `run`'s default
/// `--checkpoint-every`.
pub const CHECKPOINT_EVERY_DEFAULT: u64 = 8;

/// Samples of the Hessian operator's chunks, over which its set-up's temporaries and each
/// product's per-thread workspace are sized, and its products spread over threads (the CPU
/// engine's default chunk).
pub const HESSIAN_CHUNK: u64 = 2048;

/// Threads a Hessian-vector product on `samples` samples uses in a job of `threads`: one per
/// chunk of [`HESSIAN_CHUNK`] samples at most (the CPU engine's `min(threads, chunks)`).
pub fn hessian_threads(samples: u64, threads: usize) -> usize {
    let chunks = samples.div_ceil(HESSIAN_CHUNK).max(1);
    (threads.max(1) as u64).min(chunks) as usize
}

/// Seconds of a task besides its arithmetic and its data: the worker opening its device,
/// network and directory, its runs-table rows, markers and the threads its products start.
/// Measured with `eigensweep run` of sweeps whose arithmetic takes milliseconds (784-4-10 on
/// 2,000 synthetic images, 10 steps, 3 top-1 snapshots on 100 samples) on 2 cores of an AMD
/// EPYC (family 23, 2.0 GHz), best of 3 launches, 2026-12-07:
///
/// | launch | wall |
/// |---|---|
/// | 3 runs | 0.50 s |
/// | 30 runs | 4.19 s |
/// | 1 run and 20 baseline networks | 1.49 s |
///
/// 0.137 s per run, 0.07 s per baseline network, about 0.1 s left for the launch. A machine
/// that computes faster starts tasks faster too: elsewhere this is an upper bound.
pub const TASK_SECONDS: f64 = 0.12;

/// Seconds per training and test image of a task for its own copy of the data (and the
/// launch's reading of it, shared by its tasks). The same sweeps on other data, 3 runs:
/// 2,500 synthetic images 0.35 s, 10,000 0.58 s; MNIST from IDX files, 10,000 images 0.56 s,
/// 70,000 2.2 s (of which 0.8 s evaluations): 3–5 µs per image and task.
pub const DATA_SECONDS_PER_SAMPLE: f64 = 4e-6;

/// Seconds of a launch before its first task and after its last (the process, the sweep file,
/// the runs table, the summary): what the launches above leave once their tasks are counted.
pub const LAUNCH_SECONDS: f64 = 0.1;

/// Bytes per second a run writes its Parquet parts and checkpoints at, encoding and `fsync`
/// included. Measured: the quickstart's writing stage (`time in this launch`) took 0.6–0.8 s
/// for 47 MB of tables and six 4.3 MB checkpoints.
pub const WRITE_BYTES_PER_SECOND: f64 = 100e6;

/// Values the Hessian operator keeps per sample, for a network of `widths` (input first): the
/// hidden activations, the softmax probabilities and the back-propagated errors of every
/// layer, `2 Σ hidden + 2 classes` (the worker's `HessianOperator::resident_bytes`, which a
/// worker test keeps equal).
pub fn hessian_values_per_sample(widths: &[usize]) -> u64 {
    let hidden: usize = widths[1..widths.len() - 1].iter().sum();
    let classes = widths[widths.len() - 1];
    2 * hidden as u64 + 2 * classes as u64
}

/// The eigensolver's largest basis (columns of `Q`) for `k` wanted pairs: `max(6 (k + 2),
/// 30)` (the worker's `auto_max_basis`; a worker test keeps the two equal), at most the
/// dimension `n` and the product budget (a basis never holds more vectors than products).
pub fn basis_columns(k: usize, n: u64, max_products: usize) -> u64 {
    let block = k.saturating_add(SOLVER_GUARD) as u64;
    block
        .saturating_mul(6)
        .max(30)
        .min(n)
        .min(max_products as u64)
}

/// Peak bytes of one eigen-solve for `k` pairs on N = `n` parameters: `Q`, `W`, the Ritz
/// vectors and residuals, and the larger of their temporaries and a thick restart's copy.
pub fn solver_bytes(k: usize, n: u64, max_products: usize) -> u64 {
    let m = basis_columns(k, n, max_products);
    let block = k.saturating_add(SOLVER_GUARD) as u64;
    let vectors = 2 * m + 2 * block + (2 * block).max(m.div_ceil(2));
    vectors.saturating_mul(n).saturating_mul(8)
}

/// Peak resident bytes of one task, by what holds them (see the module docs).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TaskMemory {
    /// The task's own copies of its data (images and one-hot targets, f32).
    pub data: u64,
    /// θ, gradient, update, optimiser state and their f64 copies (runs).
    pub training: u64,
    /// The Hessian operator: per-sample cache and per-thread product buffers.
    pub hessian: u64,
    /// The eigensolver at its largest basis (or the statistic's solve, if larger).
    pub solver: u64,
    /// Warm-start vectors and the snapshot rows buffered between checkpoints.
    pub results: u64,
}

impl TaskMemory {
    /// All of it.
    pub fn total(&self) -> u64 {
        [
            self.data,
            self.training,
            self.hessian,
            self.solver,
            self.results,
        ]
        .into_iter()
        .fold(0, u64::saturating_add)
    }
}

/// The Hessian operator on `samples` samples of a network of `widths` with `threads` threads:
/// its per-sample cache, each thread's accumulator, first-layer block and workspace, and the
/// set-up's per-chunk temporaries (about a chunk's cache).
fn hessian_bytes(widths: &[usize], samples: u64, threads: usize, n: u64) -> u64 {
    let per_sample = hessian_values_per_sample(widths);
    let first = (widths[0] * widths[1]) as u64;
    let per_thread = n + first + HESSIAN_CHUNK * widths[1] as u64;
    let chunk = HESSIAN_CHUNK.min(samples) * per_sample;
    let values = samples
        .saturating_mul(per_sample)
        .saturating_add((threads.max(1) as u64).saturating_mul(per_thread))
        .saturating_add(2 * n + chunk);
    values.saturating_mul(4)
}

/// The largest solve of a snapshot: the top-k, the preconditioned top-k, or the density's
/// Lanczos bases (four probes at a time, `steps + 2` vectors each).
fn snapshot_solver_bytes(run: &RunSpec, n: u64) -> u64 {
    let budget = run.eigen.max_products;
    let mut bytes = solver_bytes(run.eigen.top_k, n, budget);
    if let Some(k) = run.statistics.preconditioned_top_k {
        bytes = bytes.max(solver_bytes(k, n, budget));
    }
    if let Some(d) = run.statistics.density {
        let vectors = (d.probes.min(4) * (d.steps + 2)) as u64;
        bytes = bytes.max(vectors.saturating_mul(n).saturating_mul(8));
    }
    bytes
}

/// Peak resident bytes of one run on `samples` with `threads` threads for its products;
/// `None` when the network's size is unknown.
pub fn run_memory(run: &RunSpec, samples: Samples, threads: usize) -> Option<TaskMemory> {
    let widths = run.widths()?;
    let n = run.parameters()?;
    let (inputs, classes) = (widths[0] as u64, widths[widths.len() - 1] as u64);
    let hessian = run
        .hessian_samples
        .map_or(samples.train, |h| h.min(samples.train)) as u64;
    let block = run.eigen.top_k.saturating_add(SOLVER_GUARD) as u64;
    let kept = run.eigen.top_k as u64 + u64::from(run.store_weights);
    let snapshots = CHECKPOINT_EVERY_DEFAULT.min(run.snapshot_steps.len() as u64);
    Some(TaskMemory {
        data: ((samples.train + samples.test) as u64)
            .saturating_mul(inputs + classes)
            .saturating_mul(4),
        training: n.saturating_mul(TRAINING_BYTES_PER_PARAMETER),
        hessian: hessian_bytes(&widths, hessian, threads, n),
        solver: snapshot_solver_bytes(run, n),
        results: n.saturating_mul(block * 8 + snapshots.saturating_mul(kept) * 4),
    })
}

/// Peak resident bytes of one baseline network: its copy of the training set, the operator,
/// one solve and its rows.
pub fn baseline_memory(
    task: &BaselineTask,
    samples: Samples,
    threads: usize,
) -> Option<TaskMemory> {
    let widths = task.widths()?;
    let n = task.parameters()?;
    let (inputs, classes) = (widths[0] as u64, widths[widths.len() - 1] as u64);
    let hessian = task
        .hessian_samples
        .map_or(samples.train, |h| h.min(samples.train)) as u64;
    Some(TaskMemory {
        data: (samples.train as u64)
            .saturating_mul(inputs + classes)
            .saturating_mul(4),
        training: 0,
        hessian: hessian_bytes(&widths, hessian, threads, n),
        solver: solver_bytes(task.eigen.top_k, n, task.eigen.max_products),
        results: n.saturating_mul(task.eigen.top_k as u64 * 4),
    })
}

/// Bytes a dataset of `samples` with `inputs` pixels per image takes once loaded: f32 images
/// and byte labels, training and test sets.
pub fn dataset_bytes(samples: Samples, inputs: usize) -> u64 {
    ((samples.train + samples.test) as u64).saturating_mul(inputs as u64 * 4 + 1)
}

/// Peak resident bytes of one process (one MPI rank) running `jobs` tasks at once.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RankMemory {
    /// [`PROCESS_BASE_BYTES`].
    pub base: u64,
    /// The datasets the process loads, shared by its jobs.
    pub datasets: u64,
    /// The largest task's peak.
    pub job: u64,
    /// Tasks at once (`--jobs`).
    pub jobs: usize,
}

impl RankMemory {
    /// All of it: each of the `jobs` tasks at the largest task's peak, in the worst case at
    /// the same time.
    pub fn total(&self) -> u64 {
        self.base
            .saturating_add(self.datasets)
            .saturating_add(self.job.saturating_mul(self.jobs.max(1) as u64))
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
    /// Seconds on one core that more threads do not shorten: training steps and the
    /// eigensolver's own work.
    pub serial: f64,
    /// Seconds on one core besides the arithmetic ([`fixed_seconds`]).
    pub fixed: f64,
    /// Core-seconds that divide over the job's threads (set-ups, evaluations).
    pub parallel: f64,
    /// Core-seconds of Hessian-vector products, which divide over at most
    /// `product_threads` threads ([`hessian_threads`]).
    pub products: f64,
    /// The most threads the products use (one per chunk of their samples).
    pub product_threads: usize,
}

impl TaskTime {
    /// Core-seconds in all (what a cluster's accounting charges with one core per thread:
    /// every thread of the job for the task's whole time).
    pub fn core_seconds(&self, threads: usize) -> f64 {
        self.seconds(threads) * threads.max(1) as f64
    }

    /// Wall seconds on `threads` threads.
    pub fn seconds(&self, threads: usize) -> f64 {
        let threads = threads.max(1);
        let product_threads = threads.min(self.product_threads.max(1));
        self.serial
            + self.fixed
            + self.parallel / threads as f64
            + self.products / product_threads as f64
    }
}

/// Seconds of a task besides its arithmetic: [`TASK_SECONDS`], its copy of `samples` images
/// and writing `bytes` (tables and checkpoints).
pub fn fixed_seconds(samples: usize, bytes: u64) -> f64 {
    TASK_SECONDS + samples as f64 * DATA_SECONDS_PER_SAMPLE + bytes as f64 / WRITE_BYTES_PER_SECOND
}

/// Bytes of a run's checkpoints: one every [`CHECKPOINT_EVERY_DEFAULT`] snapshots and one at
/// its end, each θ and the warm-start vectors (`top_k + 2`) in f64.
fn checkpoint_bytes(run: &RunSpec, n: u64) -> u64 {
    let checkpoints = (run.snapshot_steps.len() as u64).div_ceil(CHECKPOINT_EVERY_DEFAULT) + 1;
    let vectors = run.eigen.top_k as u64 + 3;
    checkpoints
        .saturating_mul(vectors)
        .saturating_mul(n)
        .saturating_mul(8)
}

/// Seconds (one core) of the eigensolver's own work over `products` products for `top_k`
/// pairs on `n` parameters ([`Calibration::solver_core_seconds`]).
fn solver_seconds(products: u64, n: u64, top_k: usize, c: &Calibration) -> f64 {
    let block = top_k.saturating_add(SOLVER_GUARD) as f64;
    products as f64 * n as f64 * block * c.solver_core_seconds
}

/// Time of one run with its plan estimate `e`; `None` when the network's size is unknown.
pub fn run_time(
    run: &RunSpec,
    e: &Estimate,
    samples: Samples,
    c: &Calibration,
) -> Option<TaskTime> {
    let n = run.parameters()?;
    let params = n as f64;
    let step = (params / CALIBRATION_PARAMETERS)
        * (run.batch_size as f64 / CALIBRATION_BATCH)
        * c.step_seconds(&run.optimizer.config);
    let hessian = run
        .hessian_samples
        .map_or(samples.train, |h| h.min(samples.train));
    let work = hessian as f64 * params;
    let snapshots = e.snapshots as f64;
    let evals = run.eval_steps.len() as f64;
    let data = samples.train + samples.test;
    Some(TaskTime {
        serial: run.steps as f64 * step + solver_seconds(e.products, n, run.eigen.top_k, c),
        fixed: fixed_seconds(data, e.bytes().saturating_add(checkpoint_bytes(run, n))),
        parallel: work * snapshots * c.setup_core_seconds
            + evals * data as f64 * params * c.eval_core_seconds,
        products: work * e.products as f64 * c.hvp_core_seconds,
        product_threads: hessian_threads(hessian as u64, usize::MAX),
    })
}

/// Time of one baseline network: its operator set-up and one cold solve.
pub fn baseline_time(task: &BaselineTask, samples: Samples, c: &Calibration) -> Option<TaskTime> {
    let n = task.parameters()?;
    let params = n as f64;
    let hessian = task
        .hessian_samples
        .map_or(samples.train, |h| h.min(samples.train));
    let work = hessian as f64 * params;
    let e = estimate_baseline(task);
    Some(TaskTime {
        serial: solver_seconds(e.products, n, task.eigen.top_k, c),
        fixed: fixed_seconds(samples.train, e.bytes()),
        parallel: work * c.setup_core_seconds,
        products: work * e.products as f64 * c.hvp_core_seconds,
        product_threads: hessian_threads(hessian as u64, usize::MAX),
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

/// Wall seconds of `tasks` (in hand-out order) on `layout`: [`LAUNCH_SECONDS`], then each
/// task goes to the slot that frees first, as rank 0 hands out work.
pub fn wall_seconds(tasks: &[TaskTime], layout: Layout) -> f64 {
    let threads = layout.threads_per_job();
    let mut free_at = vec![LAUNCH_SECONDS; layout.slots()];
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
            ..TaskTime::default()
        };
        let launch = LAUNCH_SECONDS;
        // One slot: the sum. Threads divide only the parallel part.
        let one = Layout {
            ranks: 1,
            jobs: 1,
            threads: 2,
        };
        let tasks = [t(10.0, 20.0), t(0.0, 4.0)];
        assert_eq!(wall_seconds(&tasks, one), launch + 10.0 + 10.0 + 2.0);
        // Two slots of one thread each: 30 on one, 4 on the other.
        let two = Layout {
            ranks: 1,
            jobs: 2,
            threads: 2,
        };
        assert_eq!(wall_seconds(&tasks, two), launch + 30.0);
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
        assert_eq!(wall_seconds(&tasks, four), launch + 6.0);
        assert_eq!(t(10.0, 20.0).core_seconds(2), 40.0);
    }

    /// Issue 26.4: a Hessian on fewer samples than two chunks computes its products on one
    /// thread, whatever the job has; fixed costs take no threads.
    #[test]
    fn products_use_a_thread_per_chunk_and_fixed_costs_none() {
        assert_eq!(hessian_threads(1000, 2), 1);
        assert_eq!(hessian_threads(2048, 8), 1);
        assert_eq!(hessian_threads(2049, 8), 2);
        assert_eq!(hessian_threads(8000, 2), 2);
        assert_eq!(hessian_threads(60_000, 64), 30);
        assert_eq!(hessian_threads(0, 4), 1);
        let task = |product_threads| TaskTime {
            serial: 1.0,
            fixed: 0.5,
            parallel: 4.0,
            products: 8.0,
            product_threads,
        };
        // 1 + 0.5 + 4/2 + 8/1 on two threads; the products' 8 core-seconds on one.
        assert_eq!(task(1).seconds(2), 11.5);
        assert_eq!(task(4).seconds(2), 7.5);
        assert_eq!(task(4).seconds(8), 1.0 + 0.5 + 0.5 + 2.0);
        assert_eq!(task(1).core_seconds(2), 23.0);
    }

    #[test]
    fn a_scaled_calibration_is_that_much_slower() {
        let c = Calibration::builtin();
        let slow = c.scaled(4.0);
        assert_eq!(slow.sgd_steps_per_second, c.sgd_steps_per_second / 4.0);
        assert_eq!(slow.sam_steps_per_second, c.sam_steps_per_second / 4.0);
        assert_eq!(slow.hvp_core_seconds, c.hvp_core_seconds * 4.0);
        assert_eq!(slow.eval_core_seconds, c.eval_core_seconds * 4.0);
        assert_eq!(slow.solver_core_seconds, c.solver_core_seconds * 4.0);
        assert_eq!((&slow.cpu, slow.version), (&c.cpu, c.version));
        slow.check().unwrap();
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

    /// The pieces of a task's time, each by hand (issue 26.4: keep what the model counts
    /// in view, so that leaving a piece out shows).
    #[test]
    fn run_time_by_hand() {
        // N = 3,190, 10 SGD steps at batch 128 (the default), snapshots at 0, 5, 10
        // (top-3: 20 + 2 · 11 = 42 products), evaluations at every eval step, 200 training
        // and 50 test images.
        let sweep = tiny(&[]);
        let run = &sweep.runs()[0];
        let e = estimate_run(run);
        assert_eq!((e.snapshots, e.products), (3, 42));
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
        let close = |a: f64, b: f64| (a - b).abs() <= 1e-12 * b.abs().max(1e-12);
        // Training and the solver's own work (42 products of a block of 5): one core.
        let step = n / CALIBRATION_PARAMETERS / 1000.0;
        let solver = c.solver_core_seconds;
        assert!(close(t.serial, 10.0 * step + 42.0 * n * 5.0 * solver));
        // Set-ups and evaluations: the job's threads.
        let evals = run.eval_steps.len() as f64;
        assert!(close(
            t.parallel,
            200.0 * n * 3.0 * 2e-9 + evals * 250.0 * n * 3e-10
        ));
        // Products: 200 samples are one chunk, so one thread.
        assert!(close(t.products, 200.0 * n * 42.0 * 1e-9));
        assert_eq!(t.product_threads, 1);
        // Fixed: the task, its 250 images, its tables and two checkpoints (after the third
        // snapshot and at the end) of θ and 5 warm-start vectors in f64.
        let written = e.bytes() as f64 + 2.0 * 6.0 * n * 8.0;
        assert!(close(
            t.fixed,
            TASK_SECONDS + 250.0 * DATA_SECONDS_PER_SAMPLE + written / WRITE_BYTES_PER_SECOND
        ));
        // hessian_samples caps the Hessian's samples, not the evaluation's.
        let capped = tiny(&["snapshots.hessian_samples=100"]);
        let run = &capped.runs()[0];
        let t2 = run_time(run, &estimate_run(run), samples, &c).unwrap();
        assert!(close(
            t2.parallel,
            100.0 * n * 3.0 * 2e-9 + evals * 250.0 * n * 3e-10
        ));
        assert!(close(t2.products, 100.0 * n * 42.0 * 1e-9));
        // A baseline network: one set-up and a cold top-1 solve (the cold floor of 20
        // products), no training; its training images and its one row written.
        let task = &sweep.baseline_tasks()[0];
        let b = baseline_time(task, samples, &c).unwrap();
        assert!(close(b.parallel, 200.0 * n * 2e-9));
        assert!(close(b.products, 200.0 * n * 20.0 * 1e-9));
        assert!(close(b.serial, 20.0 * n * 3.0 * solver));
        let row = estimate_baseline(task).bytes() as f64;
        assert!(close(
            b.fixed,
            TASK_SECONDS + 200.0 * DATA_SECONDS_PER_SAMPLE + row / WRITE_BYTES_PER_SECOND
        ));
    }

    /// The peak memory `plan` prints grows as its formula says: linearly in the Hessian's
    /// samples (28 f32 values per sample for 784-4-10: 2 × 4 hidden + 2 × 10 classes), and in
    /// top_k by 17 vectors of N f64 for the solver (12 basis columns of Q and W, 2 Ritz
    /// vectors and residuals, 3 of a restart's copy: m = 6 (k + 2) ≥ 30) plus one warm-start
    /// vector and one f32 eigenvector per buffered snapshot.
    #[test]
    fn plan_memory_grows_linearly_in_hessian_samples_and_top_k() {
        let samples = Samples {
            train: 200,
            test: 50,
        };
        let at = |sets: &[&str]| {
            let sweep = tiny(sets);
            run_memory(&sweep.runs()[0], samples, 2).unwrap()
        };
        let n = 3190u64;
        // Beyond one chunk of 2,048 samples (below it the set-up's chunk grows too).
        let big = Samples {
            train: 20_000,
            test: 50,
        };
        let h = |count: usize| {
            let sweep = tiny(&[
                "datasets[0].train_size=20000",
                &format!("snapshots.hessian_samples={count}"),
            ]);
            run_memory(&sweep.runs()[0], big, 2).unwrap()
        };
        let (h3, h4, h6) = (h(3000), h(4000), h(6000));
        assert_eq!(h4.hessian - h3.hessian, 1000 * 28 * 4);
        assert_eq!(h6.hessian - h4.hessian, 2000 * 28 * 4);
        assert_eq!(
            TaskMemory { hessian: 0, ..h4 },
            TaskMemory { hessian: 0, ..h6 },
            "only the operator grows with the samples"
        );
        // Beyond the training set there are no more samples to cache.
        let capped = |count: usize| {
            let sweep = tiny(&[
                "datasets[0].train_size=20000",
                &format!("snapshots.hessian_samples={count}"),
            ]);
            run_memory(&sweep.runs()[0], samples, 2).unwrap()
        };
        assert_eq!(capped(3000).hessian, capped(4000).hessian);

        let k = |top_k: usize| at(&[&format!("snapshots.top_k={top_k}")]);
        let (k5, k6, k7) = (k(5), k(6), k(7));
        assert_eq!(k6.solver - k5.solver, 17 * n * 8);
        assert_eq!(k7.solver - k6.solver, 17 * n * 8);
        // Snapshots at 0, 5, 10: three buffered rows per index, and one warm vector.
        assert_eq!(k6.results - k5.results, n * 8 + 3 * n * 4);
        assert_eq!(
            (k5.data, k5.training, k5.hessian),
            (k6.data, k6.training, k6.hessian)
        );
        // The numbers themselves, for top 5: 42 columns, b = 7.
        assert_eq!(k5.solver, (2 * 42 + 2 * 7 + 21) * n * 8);
        assert_eq!(k5.data, 250 * (784 + 10) * 4);
        assert_eq!(k5.training, n * TRAINING_BYTES_PER_PARAMETER);
        // A small top_k still gets ARPACK's 30-column floor; a budget caps the basis.
        assert_eq!(basis_columns(1, n, 1000), 30);
        assert_eq!(basis_columns(20, n, 1000), 132);
        assert_eq!(basis_columns(20, n, 40), 40);
        assert_eq!(basis_columns(20, 25, 1000), 25);

        // A rank: the program, the datasets once, and --jobs times the largest task.
        let rank = RankMemory {
            base: PROCESS_BASE_BYTES,
            datasets: dataset_bytes(samples, 784),
            job: k5.total(),
            jobs: 3,
        };
        assert_eq!(
            rank.total(),
            PROCESS_BASE_BYTES + 250 * (784 * 4 + 1) + 3 * k5.total()
        );
        // A baseline network: no training state, its training set only, one top-1 solve.
        let sweep = tiny(&[]);
        let b = baseline_memory(&sweep.baseline_tasks()[0], samples, 2).unwrap();
        assert_eq!(b.training, 0);
        assert_eq!(b.data, 200 * (784 + 10) * 4);
        assert_eq!(b.solver, solver_bytes(1, n, 1000));
        assert_eq!(b.solver, (2 * 30 + 2 * 3 + 15) * n * 8);
    }
}
