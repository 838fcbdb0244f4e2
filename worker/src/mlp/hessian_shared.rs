//! Hessian-vector products of several runs in one pass over the data (issue 24 item 3).
//!
//! The runs of an ensemble that snapshot at the same step have different parameters θ_m but
//! the same Hessian samples x (n × inputs). In the R-operator (see [`super::hessian`]) x
//! enters only the first layer: `R(z_1) = x V_1ᵀ + c_1` and `R(∂W_1) = R(δ_1)ᵀ x` — the first
//! layer's weights W_1 are not needed there, since a_0 = x does not depend on θ (their part
//! of the pass, `x W_1ᵀ`, is in each operator's cache). So the first-layer directions of every
//! run's every vector are stacked along the output dimension, and per chunk of samples
//!
//! ```text
//! R(z_1) of all   = x_chunk · [V_1 of run 1, vectors 1…k_1 | … | V_1 of run M, vectors 1…k_M]ᵀ
//! R(∂W_1) of all += [R(δ_1) of every run and vector]ᵀ · x_chunk
//! ```
//!
//! are one matrix product each over the chunk (rows × inputs by inputs × K·h1, K = Σ k_m),
//! as [`HessianOperator::product_block`] does for the vectors of one run; the layers after the
//! first (small products with each run's own W_l and cached activations) run per run and
//! vector on cache-sized sub-chunks, with the kernels of the CPU engine
//! ([`super::hessian_cpu`]). A chunk of x is read from memory once for all M runs instead of
//! once per run.
//!
//! Whether that pays against running the M runs' products side by side (`run --jobs`), each
//! streaming x itself, is what `eigensweep bench --shared-hvp` measures (BENCHMARKS.md,
//! "Shared-data snapshots on the CPU"). On 2 Zen 1 cores (60,000 digits, 2 runs, wall ms per
//! product, medians of 7, two quiet runs of the benchmark):
//!
//! | vectors per run | shared, 2 threads | `--jobs 2` (1 thread each) | `--jobs 2` / shared |
//! |---|---|---|---|
//! | 1 | 431, 411 | 440, 411 | 1.019, 1.002 |
//! | 3 | 416, 417 | 433, 422 | 1.041, 1.013 |
//! | 5 | 416, 414 | 419, 414 | 1.007, 1.001 |
//!
//! There a product is bound by arithmetic (≈ 32 GFLOP/s per core, the cores' FMA rate) and
//! one read of x is 1.6 % of it, so sharing the read gains at most that: not enough to pay
//! for the lockstep training the runs would need on the CPU, so nothing calls this in a sweep
//! yet.
//!
//! Results: per run and vector the same arithmetic as that run's own
//! [`HessianOperator::product_block`], but the samples are split among threads by rows
//! (balanced) rather than by whole chunks, so the sums are grouped differently and the two
//! agree to f32 rounding, not bit for bit (on one thread, where both take the chunks whole
//! and in order, they are bit-identical for one run). The split is fixed by the chunking and
//! the thread count and the threads' partial sums are added in thread order, so the shared
//! pass is deterministic for a thread count.

use super::cpu_kernels::{gemm_into, with_host_slice, Real};
use super::hessian::CpuEngineRef;
use super::hessian_cpu::{add_first_layer_weight_products, CpuChunk, CpuHessian, Workspace};
use super::hessian_need::product_need;
use super::params::Params;
use super::HessianOperator;
use crate::memory::{try_filled, try_with_capacity};
use crate::WorkerError;

/// The Hessian operators of several runs over the same samples, whose products go through
/// the data together: one pass over x per block of products of all runs.
///
/// Built from operators made by [`HessianOperator::new`] on the CPU engine with the same
/// dtype, network, samples x and chunk size (their θ, labels and thread counts may differ).
/// It borrows them mutably only to count the products each one computes.
#[derive(Debug)]
pub struct SharedHessian<'a> {
    runs: Vec<&'a mut HessianOperator>,
    threads: usize,
}

impl<'a> SharedHessian<'a> {
    /// Checks that `runs` can share their passes. The pass runs on as many threads as the
    /// first operator's CPU engine (its `HessianOptions::threads`); see
    /// [`Self::with_threads`].
    ///
    /// # Errors
    /// [`WorkerError::SharedHessianNoRuns`], [`WorkerError::SharedHessianNotCpuEngine`],
    /// [`WorkerError::SharedHessianMismatch`] (dtype, widths, samples, chunks, data: compared by
    /// storage, and by value when the runs hold separate copies of the same samples).
    pub fn new(runs: Vec<&'a mut HessianOperator>) -> Result<Self, WorkerError> {
        let first = runs.first().ok_or(WorkerError::SharedHessianNoRuns)?;
        let threads = match first.cpu_engine() {
            Some(CpuEngineRef::F32(e)) => e.threads(),
            Some(CpuEngineRef::F64(e)) => e.threads(),
            None => return Err(WorkerError::SharedHessianNotCpuEngine { run: 0 }),
        };
        for (m, op) in runs.iter().enumerate().skip(1) {
            match (first.cpu_engine(), op.cpu_engine()) {
                (_, None) => return Err(WorkerError::SharedHessianNotCpuEngine { run: m }),
                (Some(CpuEngineRef::F32(a)), Some(CpuEngineRef::F32(b))) => compatible(a, b, m)?,
                (Some(CpuEngineRef::F64(a)), Some(CpuEngineRef::F64(b))) => compatible(a, b, m)?,
                _ => {
                    return Err(WorkerError::SharedHessianMismatch {
                        run: m,
                        what: "another dtype",
                    })
                }
            }
        }
        Ok(Self { runs, threads })
    }

    /// Runs the pass on `threads` threads (at least one) instead.
    pub fn with_threads(mut self, threads: usize) -> Self {
        self.threads = threads.max(1);
        self
    }

    /// Runs sharing the pass.
    pub fn runs(&self) -> usize {
        self.runs.len()
    }

    /// Parameters N of the network (the length of one vector).
    pub fn dim(&self) -> usize {
        self.runs[0].params().architecture().num_params()
    }

    /// `outputs[m][j·N..(j+1)·N] = H_m · inputs[m][j·N..(j+1)·N]` for `j < counts[m]`: run
    /// m's block of `counts[m]` flat vectors (f64, the eigensolver's interface), all runs in
    /// one pass over the data. A run with count 0 takes no part.
    ///
    /// # Errors
    /// [`WorkerError::SharedHessianSliceCount`], [`WorkerError::SharedHessianLength`] for
    /// slices that do not fit; [`WorkerError::OutOfMemory`] when the pass's buffers (each
    /// thread's accumulators: Σ counts × N values, and its chunk's workspace) cannot be
    /// allocated.
    pub fn apply_blocks(
        &mut self,
        inputs: &[&[f64]],
        outputs: &mut [&mut [f64]],
        counts: &[usize],
    ) -> Result<(), WorkerError> {
        let runs = self.runs.len();
        if inputs.len() != runs || outputs.len() != runs || counts.len() != runs {
            return Err(WorkerError::SharedHessianSliceCount {
                runs,
                inputs: inputs.len(),
                outputs: outputs.len(),
                counts: counts.len(),
            });
        }
        let np = self.dim();
        for m in 0..runs {
            let need = counts[m] * np;
            if inputs[m].len() < need || outputs[m].len() < need {
                return Err(WorkerError::SharedHessianLength {
                    run: m,
                    count: counts[m],
                    params: np,
                    inputs: inputs[m].len(),
                    outputs: outputs[m].len(),
                });
            }
        }
        let total: usize = counts.iter().sum();
        if total == 0 {
            return Ok(());
        }
        let engines = self.engines();
        match engines {
            Engines::F32(engines) => {
                // The f32 engine computes in f32, as the single-run operator does: the
                // vectors are rounded once on the way in and widened on the way out.
                let need = || product_need(np, total);
                let mut input: Vec<f32> = try_with_capacity(total * np, need)?;
                for m in 0..runs {
                    input.extend(inputs[m][..counts[m] * np].iter().map(|&v| v as f32));
                }
                let mut out = try_filled(total * np, 0f32, need)?;
                shared_apply(&engines, &input, &mut out, counts, self.threads)?;
                let mut at = 0;
                for m in 0..runs {
                    let len = counts[m] * np;
                    for (o, v) in outputs[m][..len].iter_mut().zip(&out[at..at + len]) {
                        *o = f64::from(*v);
                    }
                    at += len;
                }
            }
            Engines::F64(engines) => {
                let need = || product_need(np, total);
                let mut input: Vec<f64> = try_with_capacity(total * np, need)?;
                for m in 0..runs {
                    input.extend_from_slice(&inputs[m][..counts[m] * np]);
                }
                let mut out = try_filled(total * np, 0f64, need)?;
                shared_apply(&engines, &input, &mut out, counts, self.threads)?;
                let mut at = 0;
                for m in 0..runs {
                    let len = counts[m] * np;
                    outputs[m][..len].copy_from_slice(&out[at..at + len]);
                    at += len;
                }
            }
        }
        for (op, &count) in self.runs.iter_mut().zip(counts) {
            op.count_products(count);
        }
        Ok(())
    }

    /// `H_m · v` for every run m and every `v` of `vs[m]`, in one pass over the data: the
    /// parameter-shaped counterpart of [`Self::apply_blocks`] (the results in the runs'
    /// dtype and device).
    ///
    /// # Errors
    /// As [`Self::apply_blocks`].
    pub fn product_blocks(&mut self, vs: &[&[Params]]) -> Result<Vec<Vec<Params>>, WorkerError> {
        let np = self.dim();
        let flat_inputs = vs
            .iter()
            .map(|block| {
                let mut flat = Vec::with_capacity(block.len() * np);
                for v in block.iter() {
                    flat.extend(v.to_flat()?);
                }
                Ok(flat)
            })
            .collect::<Result<Vec<_>, WorkerError>>()?;
        let counts: Vec<usize> = vs.iter().map(|block| block.len()).collect();
        let mut flat_outputs: Vec<Vec<f64>> = counts.iter().map(|c| vec![0.0; c * np]).collect();
        {
            let inputs: Vec<&[f64]> = flat_inputs.iter().map(Vec::as_slice).collect();
            let mut outputs: Vec<&mut [f64]> =
                flat_outputs.iter_mut().map(Vec::as_mut_slice).collect();
            self.apply_blocks(&inputs, &mut outputs, &counts)?;
        }
        let mut results = Vec::with_capacity(self.runs.len());
        for (op, out) in self.runs.iter().zip(&flat_outputs) {
            let p = op.params();
            results.push(
                out.chunks_exact(np)
                    .map(|o| Params::from_flat(p.architecture(), o, p.dtype(), p.device()))
                    .collect::<Result<Vec<_>, _>>()?,
            );
        }
        Ok(results)
    }

    /// The runs' CPU engines, all of one dtype (checked by [`Self::new`]).
    fn engines(&self) -> Engines<'_> {
        let f32s: Option<Vec<&CpuHessian<f32>>> = self
            .runs
            .iter()
            .map(|op| match op.cpu_engine() {
                Some(CpuEngineRef::F32(e)) => Some(e),
                _ => None,
            })
            .collect();
        match f32s {
            Some(engines) => Engines::F32(engines),
            None => Engines::F64(
                self.runs
                    .iter()
                    .filter_map(|op| match op.cpu_engine() {
                        Some(CpuEngineRef::F64(e)) => Some(e),
                        _ => None,
                    })
                    .collect(),
            ),
        }
    }
}

/// The runs' engines of one dtype.
enum Engines<'a> {
    F32(Vec<&'a CpuHessian<f32>>),
    F64(Vec<&'a CpuHessian<f64>>),
}

/// Whether run `m`'s engine `b` can share run 0's (`a`) passes.
fn compatible<T: Real>(a: &CpuHessian<T>, b: &CpuHessian<T>, m: usize) -> Result<(), WorkerError> {
    let mismatch = |what| Err(WorkerError::SharedHessianMismatch { run: m, what });
    if a.widths() != b.widths() {
        return mismatch("other widths");
    }
    let (ca, cb) = (a.chunks(), b.chunks());
    if ca.len() != cb.len()
        || ca
            .iter()
            .zip(cb)
            .any(|(p, q)| p.start != q.start || p.rows != q.rows)
    {
        return mismatch("other samples or another chunk size");
    }
    if a.data().dims() != b.data().dims() {
        return mismatch("other samples");
    }
    let same = with_host_slice::<T, _>(a.data(), |xa| {
        with_host_slice::<T, _>(b.data(), |xb| {
            // The same buffer (one `DeviceData` for all runs), else equal values.
            std::ptr::eq(xa, xb) || xa == xb
        })
    })??;
    if !same {
        return mismatch("other sample values");
    }
    Ok(())
}

/// The pass itself: `outputs` and `inputs` hold the runs' blocks one after another (run m's
/// `counts[m]` vectors of N values each, in run order); every engine has the same widths,
/// chunks and data (checked by [`SharedHessian::new`]).
fn shared_apply<T: Real>(
    engines: &[&CpuHessian<T>],
    inputs: &[T],
    outputs: &mut [T],
    counts: &[usize],
    threads: usize,
) -> Result<(), WorkerError> {
    let lead = engines[0];
    let np = lead.num_params();
    let widths = lead.widths();
    let (input_dim, h1) = (widths[0], widths[1]);
    let first = input_dim * h1;
    let total: usize = counts.iter().sum();
    let need = || product_need(np, total);
    // Which run each stacked vector belongs to, in stacking order.
    let owners: Vec<usize> = counts
        .iter()
        .enumerate()
        .flat_map(|(m, &c)| std::iter::repeat_n(m, c))
        .collect();
    // The first-layer weight parts of all runs' vectors, stacked: (total·h1) × input_dim.
    let mut v1_stack = try_with_capacity(total * first, need)?;
    for g in 0..total {
        v1_stack.extend_from_slice(&inputs[g * np..g * np + first]);
    }
    let pieces = thread_pieces(lead.chunks(), threads);
    let buffers = (0..pieces.len())
        .map(|_| {
            Ok((
                try_filled(total * np, T::zero(), need)?,
                try_filled(total * first, T::zero(), need)?,
                lead.workspace(total)?,
            ))
        })
        .collect::<Result<Vec<_>, WorkerError>>()?;
    let (v1_stack, owners, pieces) = (&v1_stack, &owners, &pieces);
    let partials: Vec<(Vec<T>, Vec<T>)> = with_host_slice::<T, _>(lead.data(), |x| {
        std::thread::scope(|scope| {
            let handles: Vec<_> = buffers
                .into_iter()
                .enumerate()
                .map(|(t, (mut acc, mut acc_w1, mut ws))| {
                    scope.spawn(move || {
                        for &piece in &pieces[t] {
                            let first_row = lead.chunks()[piece.chunk].start + piece.offset;
                            let xs =
                                &x[first_row * input_dim..(first_row + piece.rows) * input_dim];
                            shared_chunk_product(
                                engines,
                                piece,
                                xs,
                                (inputs, v1_stack, owners),
                                (&mut acc, &mut acc_w1),
                                &mut ws,
                            );
                        }
                        (acc, acc_w1)
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
                .collect()
        })
    })?;
    super::hessian_cpu::sum_partials(&mut outputs[..total * np], &partials, total, np, first);
    Ok(())
}

/// Rows `offset..offset + rows` of chunk `chunk`: what one thread takes of one chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Piece {
    chunk: usize,
    offset: usize,
    rows: usize,
}

/// The samples split among (at most) `threads` threads, by rows, not by whole chunks: thread
/// t takes samples `t·n/T .. (t+1)·n/T`, cut at chunk boundaries into pieces (each within one
/// chunk, so within the operator's per-chunk cache).
///
/// Why rows: 60,000 samples are 29 chunks of 2,048 and one of 608; dealt out whole, one of
/// two threads gets 30,720 samples and the other 29,280, and the pass waits 2.4 % of its time
/// on the slower one — what the shared pass saved over `run --jobs 2` (whose runs each take
/// all chunks on one thread) was that much (BENCHMARKS.md, "Shared-data snapshots on the
/// CPU"). The split depends only on the chunks and the thread count, so the results are
/// deterministic for a thread count; with one thread the pieces are the whole chunks in order.
fn thread_pieces<T>(chunks: &[CpuChunk<T>], threads: usize) -> Vec<Vec<Piece>> {
    let n: usize = chunks.iter().map(|c| c.rows).sum();
    let threads = threads.min(n).max(1);
    (0..threads)
        .map(|t| {
            let (from, to) = (t * n / threads, (t + 1) * n / threads);
            chunks
                .iter()
                .enumerate()
                .filter_map(|(c, chunk)| {
                    let start = from.max(chunk.start);
                    let end = to.min(chunk.start + chunk.rows);
                    (start < end).then(|| Piece {
                        chunk: c,
                        offset: start - chunk.start,
                        rows: end - start,
                    })
                })
                .collect()
        })
        .collect()
}

/// Adds piece `piece`'s contribution to `H_m v` for every stacked vector (`owners[g]` = its run
/// m): the first layer's two products once for all vectors, the rest per vector with its
/// run's engine and cache. `x` is the piece's rows of the samples (rows × input_dim); the
/// first layer's weight part goes to `acc_w1` ((total·h1) × input_dim), the rest to `acc`
/// (total × N).
fn shared_chunk_product<T: Real>(
    engines: &[&CpuHessian<T>],
    piece: Piece,
    x: &[T],
    (inputs, v1_stack, owners): (&[T], &[T], &[usize]),
    (acc, acc_w1): (&mut [T], &mut [T]),
    ws: &mut Workspace<T>,
) {
    let lead = engines[0];
    let np = lead.num_params();
    let (input_dim, h1) = (lead.widths()[0], lead.widths()[1]);
    let Piece {
        chunk: c,
        offset,
        rows,
    } = piece;
    let total = owners.len();
    let stride = total * h1;
    // The workspace's sub-chunk buffers were sized for the engine's sub-chunk rows.
    let sub_rows = ws.r[0].len() / h1;
    let mut first = std::mem::take(&mut ws.first);
    // R(z_1) without bias for every run's every vector: x (rows × in) · V_stackᵀ.
    gemm_into(
        &mut first[..rows * stride],
        false,
        (rows, stride, input_dim),
        x,
        (input_dim, 1),
        v1_stack,
        (1, input_dim),
    );
    for (g, &m) in owners.iter().enumerate() {
        let engine = engines[m];
        let chunk = &engine.chunks()[c];
        let v = &inputs[g * np..(g + 1) * np];
        let acc_g = &mut acc[g * np..(g + 1) * np];
        // `s` counts the piece's rows (of `first`); the chunk's cache is read from row
        // `offset + s`.
        let mut s = 0;
        while s < rows {
            let sub = sub_rows.min(rows - s);
            for r in 0..sub {
                let src = &first[(s + r) * stride + g * h1..(s + r) * stride + (g + 1) * h1];
                ws.r[0][r * h1..(r + 1) * h1].copy_from_slice(src);
            }
            engine.sub_chunk_product(chunk, offset + s, sub, v, acc_g, ws);
            for r in 0..sub {
                let dst = &mut first[(s + r) * stride + g * h1..(s + r) * stride + (g + 1) * h1];
                dst.copy_from_slice(&ws.r[0][r * h1..(r + 1) * h1]);
            }
            s += sub;
        }
    }
    add_first_layer_weight_products(acc_w1, &first, rows, stride, x, input_dim);
    ws.first = first;
}

#[cfg(test)]
mod tests {
    use candle_core::{DType, Device, Tensor};
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    use super::super::reference;
    use super::super::tests::{tensors, tiny};
    use super::*;
    use crate::eigen::SymmetricOperator;
    use crate::mlp::{Architecture, BiasInit, HessianEngine, HessianOptions};

    /// The paper's network at run `seed`'s own θ (PyTorch-style biases, so that no part of
    /// the product is trivially zero) over shared samples `x` with labels from `label_seed`.
    fn paper_run(
        seed: u64,
        x: &Tensor,
        label_seed: u64,
        dtype: DType,
        options: &HessianOptions,
    ) -> HessianOperator {
        let arch = Architecture::paper();
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let params = Params::init(
            &arch,
            BiasInit::PyTorchUniform,
            &mut rng,
            dtype,
            &Device::Cpu,
        )
        .unwrap();
        let n = x.dim(0).unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(label_seed);
        let mut onehot = vec![0.0f64; n * 10];
        for i in 0..n {
            onehot[i * 10 + rng.gen_range(0..10)] = 1.0;
        }
        let onehot = Tensor::from_slice(&onehot, (n, 10), &Device::Cpu)
            .unwrap()
            .to_dtype(dtype)
            .unwrap();
        HessianOperator::new(&params, x, &onehot, options).unwrap()
    }

    /// Sparse non-negative "images", n × 784, as MNIST's.
    fn images(n: usize, dtype: DType) -> Tensor {
        let mut rng = ChaCha8Rng::seed_from_u64(99);
        let x: Vec<f64> = (0..n * 784)
            .map(|_| {
                if rng.gen_bool(0.2) {
                    rng.gen_range(0.0..1.0)
                } else {
                    0.0
                }
            })
            .collect();
        Tensor::from_slice(&x, (n, 784), &Device::Cpu)
            .unwrap()
            .to_dtype(dtype)
            .unwrap()
    }

    fn rel_err(a: &[f64], b: &[f64]) -> f64 {
        let num: f64 = a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum();
        let den: f64 = b.iter().map(|y| y * y).sum();
        (num / den).sqrt()
    }

    /// Every run's products through one shared pass against the same run's own
    /// `apply_block` (what `run --jobs` computes), for 1, 2 and 3 runs with different θ,
    /// labels and block sizes (one run with none), over ragged chunks and sub-chunks.
    #[test]
    fn shared_pass_equals_each_runs_own_product_block() {
        // 700 samples in chunks of 300 (300, 300, 100) and 128-row sub-chunks: both ragged.
        let options = HessianOptions {
            chunk: Some(300),
            engine: HessianEngine::Auto,
            threads: Some(2),
        };
        for (dtype, tolerance) in [(DType::F32, 1e-6), (DType::F64, 1e-13)] {
            let x = images(700, dtype);
            for counts in [vec![3], vec![1, 5], vec![3, 0, 2], vec![2, 3, 1]] {
                let mut ops: Vec<HessianOperator> = (0..counts.len())
                    .map(|m| paper_run(10 + m as u64, &x, 20 + m as u64 % 2, dtype, &options))
                    .collect();
                let np = ops[0].dim();
                let mut rng = ChaCha8Rng::seed_from_u64(5);
                let inputs: Vec<Vec<f64>> = counts
                    .iter()
                    .map(|&c| (0..c * np).map(|_| rng.gen_range(-1.0..1.0)).collect())
                    .collect();
                let alone: Vec<Vec<f64>> = ops
                    .iter_mut()
                    .zip(&inputs)
                    .zip(&counts)
                    .map(|((op, v), &c)| {
                        let mut out = vec![0.0; c * np];
                        op.apply_block(v, &mut out, c).unwrap();
                        out
                    })
                    .collect();
                let mut outputs: Vec<Vec<f64>> = counts.iter().map(|c| vec![0.0; c * np]).collect();
                {
                    let mut shared = SharedHessian::new(ops.iter_mut().collect()).unwrap();
                    assert_eq!(shared.runs(), counts.len());
                    let ins: Vec<&[f64]> = inputs.iter().map(Vec::as_slice).collect();
                    let mut outs: Vec<&mut [f64]> =
                        outputs.iter_mut().map(Vec::as_mut_slice).collect();
                    shared.apply_blocks(&ins, &mut outs, &counts).unwrap();
                }
                for (m, (shared, own)) in outputs.iter().zip(&alone).enumerate() {
                    for j in 0..counts[m] {
                        let (s, o) = (&shared[j * np..(j + 1) * np], &own[j * np..(j + 1) * np]);
                        let err = rel_err(s, o);
                        assert!(
                            err <= tolerance,
                            "{dtype:?}, counts {counts:?}, run {m}, vector {j}: {err:e}"
                        );
                    }
                }
                for (op, &c) in ops.iter().zip(&counts) {
                    assert_eq!(op.products(), 2 * c, "each run counts its own products");
                }
            }
        }
    }

    /// The shared pass against the dense Hessian of each run computed independently by
    /// complex-step differentiation of a scalar f64 gradient (`reference`).
    #[test]
    fn shared_pass_equals_dense_complex_step_hessians_in_f64() {
        let widths = [6, 5, 4, 3];
        let base = tiny(30, &widths, 11);
        let runs: Vec<_> = (0..2)
            .map(|m| {
                let mut t = tiny(31 + m, &widths, 11);
                t.x.clone_from(&base.x); // the same samples, another θ and other labels
                t
            })
            .collect();
        let options = HessianOptions {
            chunk: Some(4),
            engine: HessianEngine::Auto,
            threads: Some(2),
        };
        let mut ops: Vec<HessianOperator> = runs
            .iter()
            .map(|t| {
                let (p, x, y) = tensors(t, DType::F64);
                HessianOperator::new(&p, &x, &y, &options).unwrap()
            })
            .collect();
        let np = ops[0].dim();
        // Every basis vector for run 0, every other one for run 1.
        let columns: [Vec<usize>; 2] = [(0..np).collect(), (0..np).step_by(2).collect()];
        let inputs: Vec<Vec<f64>> = columns
            .iter()
            .map(|cols| {
                let mut v = vec![0.0; cols.len() * np];
                for (c, &i) in cols.iter().enumerate() {
                    v[c * np + i] = 1.0;
                }
                v
            })
            .collect();
        let counts: Vec<usize> = columns.iter().map(Vec::len).collect();
        let mut outputs: Vec<Vec<f64>> = counts.iter().map(|c| vec![0.0; c * np]).collect();
        {
            let mut shared = SharedHessian::new(ops.iter_mut().collect()).unwrap();
            let ins: Vec<&[f64]> = inputs.iter().map(Vec::as_slice).collect();
            let mut outs: Vec<&mut [f64]> = outputs.iter_mut().map(Vec::as_mut_slice).collect();
            shared.apply_blocks(&ins, &mut outs, &counts).unwrap();
        }
        for (m, t) in runs.iter().enumerate() {
            let dense = reference::dense_hessian(&t.widths, &t.theta, &t.x, &t.labels);
            let dense = &dense;
            // The asked-for columns of the dense Hessian, in the order of the products (some
            // columns are zero: a unit no sample activates).
            let expected: Vec<f64> = columns[m]
                .iter()
                .flat_map(|&i| (0..np).map(move |r| dense[r * np + i]))
                .collect();
            let err = rel_err(&outputs[m], &expected);
            assert!(err < 1e-12, "run {m}: {err:e}");
        }
    }

    /// On one thread one run's shared pass is its own product, bit for bit; on two threads
    /// the same pass twice gives the same bits.
    #[test]
    fn one_run_on_one_thread_is_bit_identical_and_two_threads_are_deterministic() {
        let x = images(700, DType::F32);
        for threads in [1, 2] {
            let options = HessianOptions {
                chunk: Some(300),
                engine: HessianEngine::Auto,
                threads: Some(threads),
            };
            let mut op = paper_run(50, &x, 51, DType::F32, &options);
            let np = op.dim();
            let mut rng = ChaCha8Rng::seed_from_u64(52);
            let v: Vec<f64> = (0..2 * np).map(|_| rng.gen_range(-1.0..1.0)).collect();
            let mut own = vec![0.0; 2 * np];
            op.apply_block(&v, &mut own, 2).unwrap();
            let mut shared = SharedHessian::new(vec![&mut op]).unwrap();
            let mut once = vec![0.0; 2 * np];
            let mut twice = vec![0.0; 2 * np];
            shared.apply_blocks(&[&v], &mut [&mut once], &[2]).unwrap();
            shared.apply_blocks(&[&v], &mut [&mut twice], &[2]).unwrap();
            assert_eq!(once, twice, "{threads} threads");
            if threads == 1 {
                assert_eq!(once, own);
            } else {
                assert!(rel_err(&once, &own) < 1e-6);
            }
        }
    }

    /// Threads take balanced row ranges, cut at chunk boundaries, covering every sample once.
    #[test]
    fn samples_are_split_among_threads_by_rows() {
        let chunk = |start, rows| CpuChunk::<f32> {
            start,
            rows,
            hidden: Vec::new(),
            probs: Vec::new(),
            deltas: Vec::new(),
        };
        // 60,000 samples in chunks of 2,048: 29 whole ones and one of 608.
        let chunks: Vec<_> = (0..30)
            .map(|c| chunk(c * 2048, if c < 29 { 2048 } else { 608 }))
            .collect();
        let pieces = thread_pieces(&chunks, 2);
        let rows = |t: usize| pieces[t].iter().map(|p| p.rows).sum::<usize>();
        assert_eq!((rows(0), rows(1)), (30_000, 30_000));
        assert_eq!(
            pieces[0].last(),
            Some(&Piece {
                chunk: 14,
                offset: 0,
                rows: 30_000 - 14 * 2048
            })
        );
        assert_eq!(
            pieces[1][0],
            Piece {
                chunk: 14,
                offset: 30_000 - 14 * 2048,
                rows: 15 * 2048 - 30_000
            }
        );
        // One thread: the chunks whole, in order; more threads than samples: one each.
        let one = thread_pieces(&chunks, 1);
        assert_eq!(one[0].len(), 30);
        assert!(one[0]
            .iter()
            .zip(&chunks)
            .all(|(p, c)| p.offset == 0 && p.rows == c.rows));
        assert_eq!(thread_pieces(&[chunk(0, 3)], 8).len(), 3);
    }

    /// The parameter-shaped interface gives what the flat one gives.
    #[test]
    fn product_blocks_match_each_runs_product_block() {
        let options = HessianOptions::with_chunk(128);
        let x = images(300, DType::F32);
        let mut ops: Vec<HessianOperator> = (0..2)
            .map(|m| paper_run(40 + m, &x, 41, DType::F32, &options))
            .collect();
        let arch = Architecture::paper();
        let mut rng = ChaCha8Rng::seed_from_u64(42);
        let vs: Vec<Vec<Params>> = [2, 1]
            .iter()
            .map(|&c| {
                (0..c)
                    .map(|_| {
                        Params::init(
                            &arch,
                            BiasInit::PyTorchUniform,
                            &mut rng,
                            DType::F32,
                            &Device::Cpu,
                        )
                        .unwrap()
                    })
                    .collect()
            })
            .collect();
        let own: Vec<Vec<Vec<f64>>> = ops
            .iter_mut()
            .zip(&vs)
            .map(|(op, block)| {
                op.product_block(block)
                    .unwrap()
                    .iter()
                    .map(|p| p.to_flat().unwrap())
                    .collect()
            })
            .collect();
        let blocks: Vec<&[Params]> = vs.iter().map(Vec::as_slice).collect();
        let shared = SharedHessian::new(ops.iter_mut().collect())
            .unwrap()
            .product_blocks(&blocks)
            .unwrap();
        for (s, o) in shared.iter().zip(&own) {
            assert_eq!(s.len(), o.len());
            for (s, o) in s.iter().zip(o) {
                assert!(rel_err(&s.to_flat().unwrap(), o) < 1e-6);
            }
        }
    }

    /// Operators that cannot share a pass are refused, each naming what differs.
    #[test]
    fn refuses_operators_that_cannot_share_a_pass() {
        let options = HessianOptions::with_chunk(128);
        let x = images(300, DType::F32);
        let mut a = paper_run(1, &x, 1, DType::F32, &options);
        assert!(matches!(
            SharedHessian::new(Vec::new()),
            Err(WorkerError::SharedHessianNoRuns)
        ));
        let mut other_data = paper_run(
            2,
            &images(300, DType::F32).affine(0.5, 0.0).unwrap(),
            1,
            DType::F32,
            &options,
        );
        let err = SharedHessian::new(vec![&mut a, &mut other_data]).unwrap_err();
        assert!(
            matches!(
                err,
                WorkerError::SharedHessianMismatch {
                    run: 1,
                    what: "other sample values"
                }
            ),
            "{err}"
        );
        let mut other_chunks = paper_run(2, &x, 1, DType::F32, &HessianOptions::with_chunk(100));
        assert!(matches!(
            SharedHessian::new(vec![&mut a, &mut other_chunks]),
            Err(WorkerError::SharedHessianMismatch { run: 1, .. })
        ));
        let mut f64_run = paper_run(2, &x.to_dtype(DType::F64).unwrap(), 1, DType::F64, &options);
        assert!(matches!(
            SharedHessian::new(vec![&mut a, &mut f64_run]),
            Err(WorkerError::SharedHessianMismatch {
                run: 1,
                what: "another dtype"
            })
        ));
        let tensor = HessianOptions {
            engine: HessianEngine::Tensor,
            ..options
        };
        let mut on_tensors = paper_run(2, &x, 1, DType::F32, &tensor);
        assert!(matches!(
            SharedHessian::new(vec![&mut a, &mut on_tensors]),
            Err(WorkerError::SharedHessianNotCpuEngine { run: 1 })
        ));
        // A copy of the same samples in another buffer shares passes.
        let copy = Tensor::from_vec(
            x.flatten_all().unwrap().to_vec1::<f32>().unwrap(),
            (300, 784),
            &Device::Cpu,
        )
        .unwrap();
        let mut b = paper_run(3, &copy, 2, DType::F32, &options);
        let mut shared = SharedHessian::new(vec![&mut a, &mut b]).unwrap();
        let np = shared.dim();
        let v = vec![0.5; np];
        let mut out = vec![0.0; np];
        let mut short = vec![0.0; np - 1];
        let err = shared
            .apply_blocks(&[&v, &v], &mut [&mut out, &mut short], &[1, 1])
            .unwrap_err();
        assert!(
            matches!(err, WorkerError::SharedHessianLength { run: 1, .. }),
            "{err}"
        );
        let err = shared
            .apply_blocks(&[&v], &mut [&mut out], &[1])
            .unwrap_err();
        assert!(
            matches!(err, WorkerError::SharedHessianSliceCount { runs: 2, .. }),
            "{err}"
        );
    }
}
