//! The CPU engine of the Hessian-vector product: the same R-operator as the tensor engine in
//! [`super::hessian`], written as direct `gemm` calls on host slices with the elementwise
//! steps fused into single passes.
//!
//! Why a second engine: through candle every elementwise step (bias add, ReLU mask, the
//! softmax term, sums) is a separate pass that allocates a fresh buffer the size of the
//! activations; at 60,000 samples those passes cost as much as the matrix products. Here the
//! data are split into small chunks (a few hundred samples) whose temporaries stay in cache,
//! products accumulate straight into their destination (`gemm`'s β = 1), nothing is allocated
//! per product beyond one accumulator per thread, and the chunks are shared statically among
//! threads (thread `t` takes chunks t, t+T, …) whose partial sums are added in thread order, so
//! the result is bit-identical for a given thread count.

use candle_core::Tensor;

use super::cpu_kernels::{add_column_sums, gemm_into, relu_mask, simd, with_host_slice, Real};
use super::hessian_need::product_need;
use crate::memory::{try_filled, try_with_capacity};
use crate::WorkerError;

/// Values of one chunk that do not depend on the direction (row-major, chunk rows each).
#[derive(Debug)]
pub(crate) struct CpuChunk<T> {
    /// First sample of the chunk.
    pub start: usize,
    /// Samples in the chunk.
    pub rows: usize,
    /// Post-ReLU activations of the hidden layers.
    pub hidden: Vec<Vec<T>>,
    /// Softmax probabilities.
    pub probs: Vec<T>,
    /// Errors δ_l (divided by the sample count), one per layer.
    pub deltas: Vec<Vec<T>>,
}

/// The CPU engine for one snapshot.
#[derive(Debug)]
pub(crate) struct CpuHessian<T> {
    widths: Vec<usize>,
    /// W_l, `out × in` row-major.
    weights: Vec<Vec<T>>,
    /// Inputs (all samples); borrowed as a host slice on every product.
    x: Tensor,
    chunks: Vec<CpuChunk<T>>,
    inv_n: T,
    threads: usize,
}

// The elementwise steps are separate functions so that their slices arrive as distinct
// (noalias) arguments and every branch is a select: both are what lets the compiler vectorise
// them; written inline, the masked stores stayed scalar and cost a third of the product.

/// `dst[r, j] = act[r, j] > 0 ? dst[r, j] + bias[j] : 0` (bias, then the ReLU mask).
fn bias_relu_mask<T: Real>(dst: &mut [T], bias: &[T], act: &[T]) {
    let width = bias.len();
    simd(
        #[inline(always)]
        || {
            for (row, a_row) in dst.chunks_exact_mut(width).zip(act.chunks_exact(width)) {
                for ((r, b), a) in row.iter_mut().zip(bias).zip(a_row) {
                    let v = *r + *b;
                    *r = if *a > T::zero() { v } else { T::zero() };
                }
            }
        },
    )
}

/// The output layer's R-pass, in place: `R(δ_L) = p ⊙ (R(z_L) + c − ⟨p, R(z_L) + c⟩) / n`
/// row by row, with `c` the direction's output bias.
fn softmax_r_delta<T: Real>(rz: &mut [T], bias: &[T], probs: &[T], inv_n: T) {
    let width = bias.len();
    simd(
        #[inline(always)]
        || {
            for (row, p_row) in rz.chunks_exact_mut(width).zip(probs.chunks_exact(width)) {
                let mut sum = T::zero();
                for ((r, b), p) in row.iter_mut().zip(bias).zip(p_row) {
                    *r += *b;
                    sum += *p * *r;
                }
                for (r, p) in row.iter_mut().zip(p_row) {
                    *r = *p * (*r - sum) * inv_n;
                }
            }
        },
    )
}

/// Samples per sub-chunk: the layers after the first run on this many rows at a time, so
/// their temporaries (a few hundred KB) stay in the core's cache.
const SUB_CHUNK: usize = 128;

/// Buffers of one thread.
pub(super) struct Workspace<T> {
    /// R(z_1) → R(δ_1) of a whole chunk for all vectors (rows × count·h1).
    pub(super) first: Vec<T>,
    /// Per layer, for one sub-chunk: R(z_l) → R(a_l) forward, R(δ_l) backward.
    pub(super) r: Vec<Vec<T>>,
}

/// Sums the threads' partial products into `out` (`count` products of `np` entries), in
/// thread order, so that the same partials always give the same bits: each partial holds the
/// later layers' part of every product (`acc`, `count × np`) and the first layer's weight part
/// (`acc_w1`, `count × first`), which goes to the first `first` entries of each product.
pub(super) fn sum_partials<T: Real>(
    out: &mut [T],
    partials: &[(Vec<T>, Vec<T>)],
    count: usize,
    np: usize,
    first: usize,
) {
    out.fill(T::zero());
    for (acc, acc_w1) in partials {
        for (o, v) in out.iter_mut().zip(acc) {
            *o += *v;
        }
        for j in 0..count {
            for (o, v) in out[j * np..j * np + first]
                .iter_mut()
                .zip(&acc_w1[j * first..(j + 1) * first])
            {
                *o += *v;
            }
        }
    }
}

/// R(∂W_1) of every vector of a chunk in one product, `[R(δ_1) …]ᵀ · x`, added into `acc_w1`
/// (`stride × input_dim`): row r of `first` holds sample r's R(δ_1) of every vector side by side
/// (`stride` = vectors × h1 wide; `rows` samples), `x` the chunk's inputs (`rows × input_dim`).
/// One call serves a single run's block of vectors and the shared pass over several runs'.
pub(crate) fn add_first_layer_weight_products<T: Real>(
    acc_w1: &mut [T],
    first: &[T],
    rows: usize,
    stride: usize,
    x: &[T],
    input_dim: usize,
) {
    gemm_into(
        acc_w1,
        true,
        (stride, input_dim, rows),
        &first[..rows * stride],
        (1, stride),
        x,
        (input_dim, 1),
    );
}

impl<T: Real> CpuHessian<T> {
    pub(crate) fn new(
        widths: Vec<usize>,
        weights: Vec<Vec<T>>,
        x: Tensor,
        chunks: Vec<CpuChunk<T>>,
        samples: usize,
        threads: usize,
    ) -> Self {
        Self {
            widths,
            weights,
            x,
            chunks,
            inv_n: T::from_f64(1.0 / samples as f64),
            threads: threads.max(1),
        }
    }

    pub(super) fn num_params(&self) -> usize {
        self.widths.windows(2).map(|w| w[0] * w[1] + w[1]).sum()
    }

    /// `outputs[j] = H · inputs[j]` for `count` flat vectors.
    ///
    /// Per chunk, the first layer's two large products run for all `count` vectors at once
    /// (`x · [V_1ᵀ …]` and `[R(δ_1) …]ᵀ · x`, wide and deep products near the machine's GEMM
    /// rate); the rest of the network runs per vector on sub-chunks of [`SUB_CHUNK`] samples
    /// whose temporaries stay in cache.
    pub(crate) fn apply(
        &self,
        inputs: &[T],
        outputs: &mut [T],
        count: usize,
    ) -> Result<(), WorkerError> {
        let np = self.num_params();
        let (input_dim, h1) = (self.widths[0], self.widths[1]);
        let first = input_dim * h1;
        let need = || product_need(np, count);
        // The first-layer weight parts of all vectors, stacked: (count·h1) × input_dim.
        let mut v1_stack = try_with_capacity(count * first, need)?;
        for j in 0..count {
            v1_stack.extend_from_slice(&inputs[j * np..j * np + first]);
        }
        let v1_stack = &v1_stack;
        let threads = self.threads.min(self.chunks.len()).max(1);
        // Every thread's accumulators and workspace, allocated here (fallibly) and moved in.
        let buffers = (0..threads)
            .map(|_| {
                Ok((
                    try_filled(count * np, T::zero(), need)?,
                    try_filled(count * first, T::zero(), need)?,
                    self.workspace(count)?,
                ))
            })
            .collect::<Result<Vec<_>, WorkerError>>()?;
        let partials: Vec<(Vec<T>, Vec<T>)> = with_host_slice::<T, _>(&self.x, |x| {
            std::thread::scope(|scope| {
                let handles: Vec<_> = buffers
                    .into_iter()
                    .enumerate()
                    .map(|(t, (mut acc, mut acc_w1, mut ws))| {
                        scope.spawn(move || {
                            for chunk in self.chunks.iter().skip(t).step_by(threads) {
                                let xs = &x[chunk.start * input_dim
                                    ..(chunk.start + chunk.rows) * input_dim];
                                self.chunk_product(
                                    chunk,
                                    xs,
                                    inputs,
                                    v1_stack,
                                    count,
                                    &mut acc,
                                    &mut acc_w1,
                                    &mut ws,
                                );
                            }
                            (acc, acc_w1)
                        })
                    })
                    .collect();
                handles
                    .into_iter()
                    .map(|h| h.join().expect("Hessian worker thread panicked"))
                    .collect()
            })
        })?;
        sum_partials(&mut outputs[..count * np], &partials, count, np, first);
        Ok(())
    }

    pub(super) fn workspace(&self, count: usize) -> Result<Workspace<T>, WorkerError> {
        let rows = self.chunks.iter().map(|c| c.rows).max().unwrap_or(0);
        let sub = SUB_CHUNK.min(rows);
        let need = || product_need(self.num_params(), count);
        Ok(Workspace {
            first: try_filled(rows * count * self.widths[1], T::zero(), need)?,
            r: self.widths[1..]
                .iter()
                .map(|w| vec![T::zero(); sub * w])
                .collect(),
        })
    }

    /// Adds one chunk's contribution to `H v_j` for every vector: the first layer's weight
    /// part goes to `acc_w1` ((count·h1) × input_dim), everything else to `acc`.
    #[allow(clippy::too_many_arguments)]
    fn chunk_product(
        &self,
        chunk: &CpuChunk<T>,
        x: &[T],
        inputs: &[T],
        v1_stack: &[T],
        count: usize,
        acc: &mut [T],
        acc_w1: &mut [T],
        ws: &mut Workspace<T>,
    ) {
        let np = self.num_params();
        let (input_dim, h1) = (self.widths[0], self.widths[1]);
        let rows = chunk.rows;
        let stride = count * h1;
        let mut first = std::mem::take(&mut ws.first);
        // R(z_1) without bias for all vectors: x (rows × in) · V_stackᵀ (in × count·h1).
        gemm_into(
            &mut first[..rows * stride],
            false,
            (rows, stride, input_dim),
            x,
            (input_dim, 1),
            v1_stack,
            (1, input_dim),
        );
        for j in 0..count {
            let v = &inputs[j * np..(j + 1) * np];
            let acc_j = &mut acc[j * np..(j + 1) * np];
            let mut s = 0;
            while s < rows {
                let sub = SUB_CHUNK.min(rows - s);
                // Copy this vector's R(z_1) rows into the contiguous layer-1 buffer...
                for r in 0..sub {
                    let src = &first[(s + r) * stride + j * h1..(s + r) * stride + (j + 1) * h1];
                    ws.r[0][r * h1..(r + 1) * h1].copy_from_slice(src);
                }
                self.sub_chunk_product(chunk, s, sub, v, acc_j, ws);
                // ...and R(δ_1) back, for the batched first-layer weight product.
                for r in 0..sub {
                    let dst =
                        &mut first[(s + r) * stride + j * h1..(s + r) * stride + (j + 1) * h1];
                    dst.copy_from_slice(&ws.r[0][r * h1..(r + 1) * h1]);
                }
                s += sub;
            }
        }
        add_first_layer_weight_products(acc_w1, &first, rows, stride, x, input_dim);
        ws.first = first;
    }

    /// The R-pass of rows `s..s+sub` of a chunk for one vector `v`, starting from R(z_1)
    /// (without bias) in `ws.r[0]` and leaving R(δ_1) there. Accumulates every part of
    /// `H v` except the first layer's weights into `acc`.
    pub(super) fn sub_chunk_product(
        &self,
        chunk: &CpuChunk<T>,
        s: usize,
        sub: usize,
        v: &[T],
        acc: &mut [T],
        ws: &mut Workspace<T>,
    ) {
        let layers = self.widths.len() - 1;
        let rows = sub;
        let w = &self.widths;
        // Rows s..s+sub of a cached row-major array of the given width.
        let at = |width: usize| s * width..(s + sub) * width;
        // Offsets of each layer's weight and bias in the flat vectors.
        let mut offsets = Vec::with_capacity(layers);
        let mut o = 0;
        for l in 0..layers {
            offsets.push(o);
            o += w[l] * w[l + 1] + w[l + 1];
        }
        // Forward: ws.r[l] ← R(z_l), masked to R(a_l) for hidden layers.
        for l in 0..layers {
            let (fan_in, fan_out) = (w[l], w[l + 1]);
            let v_w = &v[offsets[l]..offsets[l] + fan_in * fan_out];
            let v_b = &v[offsets[l] + fan_in * fan_out..offsets[l] + fan_in * fan_out + fan_out];
            let (before, rest) = ws.r.split_at_mut(l);
            let rz = &mut rest[0][..rows * fan_out];
            if l > 0 {
                let a_prev = &chunk.hidden[l - 1][at(fan_in)];
                // a_{l−1} V_lᵀ: V_l is out × in, so Vᵀ has row stride 1, column stride fan_in.
                gemm_into(
                    rz,
                    false,
                    (rows, fan_out, fan_in),
                    a_prev,
                    (fan_in, 1),
                    v_w,
                    (1, fan_in),
                );
                gemm_into(
                    rz,
                    true,
                    (rows, fan_out, fan_in),
                    &before[l - 1][..rows * fan_in],
                    (fan_in, 1),
                    &self.weights[l],
                    (1, fan_in),
                );
            }
            if l + 1 < layers {
                bias_relu_mask(rz, v_b, &chunk.hidden[l][at(fan_out)]);
            } else {
                softmax_r_delta(rz, v_b, &chunk.probs[at(fan_out)], self.inv_n);
            }
        }
        // Backward: ws.r[l] holds R(δ_l); accumulate R(∂W_l), R(∂b_l), then form R(δ_{l−1}).
        for l in (0..layers).rev() {
            let (fan_in, fan_out) = (w[l], w[l + 1]);
            let (before, rest) = ws.r.split_at_mut(l);
            let rd = &rest[0][..rows * fan_out];
            let (acc_w, acc_rest) = acc[offsets[l]..].split_at_mut(fan_in * fan_out);
            let acc_b = &mut acc_rest[..fan_out];
            add_column_sums(acc_b, rd);
            if l == 0 {
                // The first layer's weight part is done for the whole chunk by the caller.
                break;
            }
            let a_prev = &chunk.hidden[l - 1][at(fan_in)];
            let delta = &chunk.deltas[l][at(fan_out)];
            let r_prev = &mut before[l - 1][..rows * fan_in];
            // R(δ_l)ᵀ a_{l−1} + δ_lᵀ R(a_{l−1}); transposed lhs: row stride 1, column stride fan_out.
            // R(a_{l−1}) is read before r_prev is overwritten with R(δ_{l−1}).
            gemm_into(
                acc_w,
                true,
                (fan_out, fan_in, rows),
                rd,
                (1, fan_out),
                a_prev,
                (fan_in, 1),
            );
            gemm_into(
                acc_w,
                true,
                (fan_out, fan_in, rows),
                delta,
                (1, fan_out),
                r_prev,
                (fan_in, 1),
            );
            let v_w = &v[offsets[l]..offsets[l] + fan_in * fan_out];
            gemm_into(
                r_prev,
                false,
                (rows, fan_in, fan_out),
                rd,
                (fan_out, 1),
                &self.weights[l],
                (fan_in, 1),
            );
            gemm_into(
                r_prev,
                true,
                (rows, fan_in, fan_out),
                delta,
                (fan_out, 1),
                v_w,
                (fan_in, 1),
            );
            relu_mask(r_prev, a_prev);
        }
    }
}

/// What the shared pass over several runs' data ([`super::hessian_shared`]) reads of each
/// run's engine.
impl<T: Real> CpuHessian<T> {
    /// Layer widths, input first.
    pub(super) fn widths(&self) -> &[usize] {
        &self.widths
    }

    /// The inputs (samples × input width), as given to the operator.
    pub(super) fn data(&self) -> &Tensor {
        &self.x
    }

    /// The per-chunk caches, in sample order.
    pub(super) fn chunks(&self) -> &[CpuChunk<T>] {
        &self.chunks
    }

    /// Threads the engine splits its chunks among.
    pub(super) fn threads(&self) -> usize {
        self.threads
    }
}
