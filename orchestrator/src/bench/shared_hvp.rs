//! `eigensweep bench --shared-hvp` (issue 24 item 3): two runs' Hessian-vector products in one
//! pass over the data ([`SharedHessian`]) against what the CPU does today with the same work.
//!
//! Two runs of the paper's 784-100-100-10 network (their own θ: initial weights of seeds 0
//! and 1) over the same samples, k vectors each, three ways:
//!
//! - **(a) shared**: one [`SharedHessian`] pass on all threads — per chunk of samples one
//!   product `x · [V₁ of both runs' 2k vectors]ᵀ` and one `[R(δ₁) …]ᵀ · x`;
//! - **(b) side by side**: each run's own `apply_block` at the same time on one thread each,
//!   each streaming the samples itself — what `run --jobs 2` does on 2 cores;
//! - **(c) one after the other**: each run's own `apply_block` on all threads, in turn.
//!
//! Interleaved repetitions (the order rotates each repetition), so that load from others on a
//! shared machine hits all three alike; medians (and minima) per product. The load average is
//! read before and after each block size's measurement.

use std::fmt::Write as _;
use std::time::Instant;

use candle_core::{DType, Device};
use eigensweep_worker::data::TrainTest;
use eigensweep_worker::eigen::SymmetricOperator;
use eigensweep_worker::mlp::{
    Architecture, BiasInit, HessianOperator, HessianOptions, Params, SharedHessian,
};
use eigensweep_worker::rng::{stream_rng, Stream};
use eigensweep_worker::train::DeviceData;
use rand::Rng;

use super::hvp::tiled;

/// Runs whose products are measured (the number of cores of the machine this was built for).
const RUNS: usize = 2;

/// The three ways of computing the same products.
#[derive(Debug, Clone, Copy)]
enum Way {
    Shared,
    SideBySide,
    OneAfterTheOther,
}

/// The ways, in the order of a repetition (rotated by one each repetition) and of the table.
const WAYS: [Way; 3] = [Way::Shared, Way::SideBySide, Way::OneAfterTheOther];

/// The Markdown section: for each `k` of `blocks`, `reps` interleaved repetitions of the three
/// ways on `samples` images (the training images repeated up to that count).
pub(crate) fn measure(
    data: &TrainTest,
    samples: usize,
    blocks: &[usize],
    reps: usize,
) -> anyhow::Result<String> {
    let threads = candle_core::utils::get_num_threads().max(1);
    let arch = Architecture::paper();
    let device = Device::Cpu;
    let ds = tiled(data, samples)?;
    let train = DeviceData::new(&ds, &arch, DType::F32, &device)?;
    let params: Vec<Params> = (0..RUNS as u64)
        .map(|seed| {
            Params::init(
                &arch,
                BiasInit::Zero,
                &mut stream_rng(seed, Stream::Init, 0),
                DType::F32,
                &device,
            )
        })
        .collect::<Result<_, _>>()?;
    let operator = |p: &Params, threads: usize| {
        HessianOperator::new(
            p,
            &train.x,
            &train.onehot,
            &HessianOptions {
                threads: Some(threads),
                ..HessianOptions::default()
            },
        )
    };
    crate::console::note!("shared HVP: setting up 2 × 2 Hessian operators on {samples} samples …");
    // All threads: the shared pass and one run after the other. One thread: side by side.
    let mut wide: Vec<HessianOperator> = params
        .iter()
        .map(|p| operator(p, threads))
        .collect::<Result<_, _>>()?;
    let mut narrow: Vec<HessianOperator> = params
        .iter()
        .map(|p| operator(p, 1))
        .collect::<Result<_, _>>()?;
    let n = arch.num_params();
    let kmax = blocks.iter().copied().max().unwrap_or(1);
    let mut rng = stream_rng(7, Stream::Synthetic, 0);
    let vectors: Vec<Vec<f64>> = (0..RUNS)
        .map(|_| (0..kmax * n).map(|_| rng.gen_range(-1.0..1.0)).collect())
        .collect();

    // What one pass over the samples costs by itself: a read of all of them (samples × 784
    // f32) on one thread, the traffic a shared pass saves per run it serves.
    let pass = {
        let mut seconds = Vec::with_capacity(reps);
        for _ in 0..reps.max(1) {
            let started = Instant::now();
            std::hint::black_box(read_through(std::hint::black_box(&ds.images)));
            seconds.push(started.elapsed().as_secs_f64());
        }
        median(&seconds)
    };
    let mut out = format!(
        "CPU: {}.\n\n### Two runs' Hessian-vector products sharing passes over the data: {samples} samples, \
         784-100-100-10, f32\n\n\
         {RUNS} runs (θ: initial weights of seeds 0 and 1), k vectors each. (a) one shared pass \
         (`SharedHessian`) on {threads} threads; (b) each run's own `apply_block` at the same \
         time on 1 thread each (what `run --jobs {RUNS}` does); (c) each run's own \
         `apply_block` on {threads} threads, one after the other. Wall ms per product (a block \
         of {RUNS}·k products ÷ {RUNS}·k) and in brackets the process's CPU ms per product, \
         medians of {reps} interleaved repetitions; load average (1 min, 5 min) before → after each row, and the share of the \
         {threads} cores this process used while measuring it. One read of the \
         {samples} × 784 samples ({:.0} MB) on 1 thread takes {:.1} ms (median of {reps}): the \
         memory traffic a shared pass saves per run it serves.\n\n\
         | k | load before | (a) shared | (b) side by side, `--jobs {RUNS}` | (c) in turn | \
         (b) / (a), wall | (b) / (a), CPU | (c) / (a), wall | load after | CPU share |\n\
         |---|---|---|---|---|---|---|---|---|---|\n",
        cpu_details(),
        (ds.images.len() * 4) as f64 / 1e6,
        pass * 1e3,
    );
    let mut worst_difference = 0f64;
    for &k in blocks {
        crate::console::note!("shared HVP: k = {k} …");
        let before = load_average();
        let (cpu_before, wall_before) = (process_cpu_seconds(), Instant::now());
        // One untimed round first (page faults of fresh buffers, thread start-up), whose
        // products are compared: (a) and (b) against (c).
        let mut warm = Vec::with_capacity(WAYS.len());
        for way in WAYS {
            warm.push(run_once(way, &mut wide, &mut narrow, &vectors, k, n)?.1);
        }
        worst_difference = worst_difference
            .max(relative_difference(&warm[0], &warm[2]))
            .max(relative_difference(&warm[1], &warm[2]));
        // Per way, (wall, CPU) seconds of each repetition. CPU seconds (of the whole
        // process) count the work a way needs whatever others take of the cores; wall
        // seconds are what a run waits.
        let mut times: [Vec<(f64, f64)>; 3] = Default::default();
        for rep in 0..reps {
            for i in 0..WAYS.len() {
                let w = (i + rep) % WAYS.len();
                let cpu = process_cpu_seconds();
                let (wall, _) = run_once(WAYS[w], &mut wide, &mut narrow, &vectors, k, n)?;
                let cpu = match (cpu, process_cpu_seconds()) {
                    (Some(b), Some(a)) => a - b,
                    _ => f64::NAN,
                };
                times[w].push((wall, cpu));
            }
        }
        let after = load_average();
        // The share of the machine's cores this process had while measuring: below 100 %,
        // others' work took some of them.
        let share = match (cpu_before, process_cpu_seconds()) {
            (Some(b), Some(a)) => format!(
                "{:.0} %",
                100.0 * (a - b) / (wall_before.elapsed().as_secs_f64() * threads as f64)
            ),
            _ => "n/a".into(),
        };
        // Median ms per product: (wall, CPU).
        let per_product = |t: &[(f64, f64)]| {
            let scale = 1e3 / (RUNS * k) as f64;
            (
                median(&t.iter().map(|p| p.0).collect::<Vec<_>>()) * scale,
                median(&t.iter().map(|p| p.1).collect::<Vec<_>>()) * scale,
            )
        };
        let [(a, a_cpu), (b, b_cpu), (c, c_cpu)] = [0, 1, 2].map(|w| per_product(&times[w]));
        let _ = writeln!(
            out,
            "| {k} | {before} | {a:.0} ({a_cpu:.0}) | {b:.0} ({b_cpu:.0}) | {c:.0} ({c_cpu:.0}) | \
             **{:.3}** | {:.3} | {:.3} | {after} | {share} |",
            b / a,
            b_cpu / a_cpu,
            c / a
        );
    }
    let _ = writeln!(
        out,
        "\n(b) / (a) > 1: the shared pass is faster than `--jobs {RUNS}`. The products of the \
         three ways agree to {worst_difference:.1e} (largest relative difference of a product \
         from (c)'s).\n"
    );
    Ok(out)
}

/// One block of `k` products per run computed the given way; wall seconds and each run's
/// products (flat, `k · n` each).
fn run_once(
    way: Way,
    wide: &mut [HessianOperator],
    narrow: &mut [HessianOperator],
    vectors: &[Vec<f64>],
    k: usize,
    n: usize,
) -> anyhow::Result<(f64, Vec<Vec<f64>>)> {
    let mut results: Vec<Vec<f64>> = (0..vectors.len()).map(|_| vec![0.0; k * n]).collect();
    let inputs: Vec<&[f64]> = vectors.iter().map(|v| &v[..k * n]).collect();
    let started = Instant::now();
    match way {
        Way::Shared => {
            let mut shared = SharedHessian::new(wide.iter_mut().collect())?;
            let mut outputs: Vec<&mut [f64]> = results.iter_mut().map(Vec::as_mut_slice).collect();
            shared.apply_blocks(&inputs, &mut outputs, &vec![k; inputs.len()])?;
        }
        Way::SideBySide => {
            std::thread::scope(|scope| {
                let handles: Vec<_> = narrow
                    .iter_mut()
                    .zip(results.iter_mut())
                    .zip(&inputs)
                    .map(|((op, out), v)| scope.spawn(move || op.apply_block(v, out, k)))
                    .collect();
                handles
                    .into_iter()
                    .map(|h| {
                        h.join()
                            .map_err(|_| anyhow::anyhow!("a product thread panicked"))?
                            .map_err(|e| anyhow::anyhow!(e))
                    })
                    .collect::<anyhow::Result<Vec<()>>>()
            })?;
        }
        Way::OneAfterTheOther => {
            for ((op, out), v) in wide.iter_mut().zip(results.iter_mut()).zip(&inputs) {
                op.apply_block(v, out, k).map_err(|e| anyhow::anyhow!(e))?;
            }
        }
    }
    Ok((started.elapsed().as_secs_f64(), results))
}

/// Largest ‖a − b‖ / ‖b‖ over the products of `a` and `b` (runs of flat blocks).
fn relative_difference(a: &[Vec<f64>], b: &[Vec<f64>]) -> f64 {
    let n = Architecture::paper().num_params();
    a.iter()
        .zip(b)
        .flat_map(|(a, b)| a.chunks(n).zip(b.chunks(n)))
        .map(|(x, y)| {
            let diff: f64 = x.iter().zip(y).map(|(p, q)| (p - q) * (p - q)).sum();
            let norm: f64 = y.iter().map(|q| q * q).sum();
            (diff / norm.max(f64::MIN_POSITIVE)).sqrt()
        })
        .fold(0.0, f64::max)
}

fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        len if len % 2 == 1 => v[len / 2],
        len => 0.5 * (v[len / 2 - 1] + v[len / 2]),
    }
}

/// "1.23, 1.45" — the 1- and 5-minute load averages (`/proc/loadavg`), or "n/a" where that
/// file cannot be read (not Linux).
pub(crate) fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| {
            let mut fields = s.split_whitespace();
            Some(format!("{}, {}", fields.next()?, fields.next()?))
        })
        .unwrap_or_else(|| "n/a".into())
}

/// Σ of `values`, 16 lanes at a time so that the loop vectorises and is bound by memory, not
/// by the latency of one chain of additions.
fn read_through(values: &[f32]) -> f32 {
    let mut lanes = [0f32; 16];
    let mut chunks = values.chunks_exact(16);
    for chunk in &mut chunks {
        for (lane, v) in lanes.iter_mut().zip(chunk) {
            *lane += *v;
        }
    }
    lanes.iter().sum::<f32>() + chunks.remainder().iter().sum::<f32>()
}

/// "AMD EPYC (family 23 model 1, 1996 MHz, AVX2, no AVX-512, L2 512 KB)": what decides
/// whether a product is bound by arithmetic or by memory, from `/proc/cpuinfo` (the model
/// name alone does not tell two EPYC generations apart).
pub(crate) fn cpu_details() -> String {
    let Ok(info) = std::fs::read_to_string("/proc/cpuinfo") else {
        return super::gpu::cpu_model();
    };
    let field = |name: &str| {
        info.lines()
            .find(|l| l.split(':').next().map(str::trim) == Some(name))
            .and_then(|l| l.split_once(':'))
            .map(|(_, v)| v.trim().to_string())
            .unwrap_or_else(|| "?".into())
    };
    let flags = field("flags");
    let has = |flag: &str| flags.split_whitespace().any(|f| f == flag);
    let vector = if has("avx512f") {
        "AVX-512"
    } else if has("avx2") {
        "AVX2, no AVX-512"
    } else {
        "no AVX2"
    };
    format!(
        "{} (family {} model {}, {} MHz, {vector}, cache {})",
        super::gpu::cpu_model(),
        field("cpu family"),
        field("model"),
        field("cpu MHz"),
        field("cache size")
    )
}

/// CPU seconds (user + system) this process has used so far, from `/proc/self/stat` (in
/// clock ticks of 1/100 s, Linux's `USER_HZ`); `None` where that file cannot be read.
fn process_cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The fields after the command name (which is in parentheses and may hold spaces).
    let rest = &stat[stat.rfind(')')? + 2..];
    let mut fields = rest.split_whitespace().skip(11);
    let user: f64 = fields.next()?.parse().ok()?;
    let system: f64 = fields.next()?.parse().ok()?;
    Some((user + system) / 100.0)
}
