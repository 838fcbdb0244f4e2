//! Exact Hessian-vector products of the mean cross-entropy by Pearlmutter's R-operator.
//!
//! `H·v` is the directional derivative of the gradient along `v`: push `R{·} = d/dr (·)(θ+rv)`
//! through the forward pass and then through the backward pass (forward-over-reverse). For a
//! ReLU network everything the backward pass needs that does not depend on `v` — activations,
//! ReLU masks, softmax probabilities, the back-propagated errors δ_l — is fixed by θ, so
//! [`HessianOperator::new`] computes it once per snapshot and every product reuses it. The
//! data are processed in chunks, so a product needs memory for one chunk's temporaries on top
//! of the cached per-sample values (≈ hidden widths × samples).
//!
//! With W_l the `out × in` weights, V_l, c_l the weight and bias parts of `v`, a_0 = x, and
//! m_l the ReLU masks:
//!
//! ```text
//! forward   R(z_l) = R(a_{l−1}) W_lᵀ + a_{l−1} V_lᵀ + c_l,      R(a_l) = R(z_l) ⊙ m_l
//! output    R(δ_L) = p ⊙ (R(z_L) − ⟨p, R(z_L)⟩) / n            (softmax-CE, mean over n)
//! backward  R(∂W_l) = R(δ_l)ᵀ a_{l−1} + δ_lᵀ R(a_{l−1}),      R(∂b_l) = Σ_samples R(δ_l)
//!           R(δ_{l−1}) = (R(δ_l) W_l + δ_l V_l) ⊙ m_{l−1}
//! ```
//! (the ReLU's second derivative is zero almost everywhere, so no other terms appear).
//!
//! A block of vectors goes through the two large products (the first layer's `x V_1ᵀ` and
//! `R(δ_1)ᵀ x`) together, as one wider matrix product: that is where the time goes.

use candle_core::{DType, Device, Tensor, D};

use super::architecture::Architecture;
use super::cpu_kernels::{with_host_slice, Real};
use super::gradient::{backward, forward, softmax_cross_entropy};
use super::hessian_cpu::{CpuChunk, CpuHessian};
use super::hessian_need::product_need;
use super::params::Params;
use crate::eigen::{OperatorError, SymmetricOperator};
use crate::memory::{
    ensure_available, thousands, try_filled, try_with_capacity, AllocationFailure, Need,
};
use crate::WorkerError;

/// Which implementation computes the products.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HessianEngine {
    /// The fused CPU engine for f32/f64 tensors on the CPU, the tensor engine elsewhere.
    #[default]
    Auto,
    /// candle tensor operations (any device; the path a CUDA build uses).
    Tensor,
}

/// How [`HessianOperator`] processes the data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HessianOptions {
    /// Samples per chunk; `None` picks 2048 for the CPU engine (its first-layer products are
    /// deep enough to run near the GEMM rate while the chunk stays in cache) and 8192 for the
    /// tensor engine (large products keep a GPU busy).
    pub chunk: Option<usize>,
    /// Engine selection.
    pub engine: HessianEngine,
    /// Threads of the CPU engine; `None` uses candle's thread count (`RAYON_NUM_THREADS`).
    pub threads: Option<usize>,
}

impl Default for HessianOptions {
    fn default() -> Self {
        Self {
            chunk: None,
            engine: HessianEngine::Auto,
            threads: None,
        }
    }
}

impl HessianOptions {
    /// Options with a fixed chunk size and the default engine.
    pub fn with_chunk(chunk: usize) -> Self {
        Self {
            chunk: Some(chunk),
            ..Self::default()
        }
    }
}

#[derive(Debug)]
enum Engine {
    Tensor(Vec<ChunkCache>),
    CpuF32(CpuHessian<f32>),
    CpuF64(CpuHessian<f64>),
}

/// The per-chunk caches while the operator is set up: the CPU engine's go to host vectors
/// chunk by chunk, so the tensors of only one chunk exist at a time.
enum Caches {
    Tensor(Vec<ChunkCache>),
    F32(Vec<CpuChunk<f32>>),
    F64(Vec<CpuChunk<f64>>),
}

/// Values the operator caches per sample: the engine's per-sample arrays, in elements of the
/// compute dtype. The CPU engine keeps the hidden activations (Σ hidden widths), the softmax
/// probabilities (classes) and the errors δ_1 … δ_L (Σ hidden widths + classes); the tensor
/// engine also keeps the ReLU masks (Σ hidden widths).
fn cached_values_per_sample(widths: &[usize], tensor_engine: bool) -> usize {
    let hidden: usize = widths[1..widths.len() - 1].iter().sum();
    let classes = widths[widths.len() - 1];
    let masks = if tensor_engine { hidden } else { 0 };
    2 * hidden + 2 * classes + masks
}

/// The error of a per-sample cache that cannot be had: `samples` samples of `widths`, in
/// elements of `dtype_bytes` bytes, `masks` for the tensor engine's. The whole cache is named
/// (whichever chunk's array was refused), since that is the size the settings ask for.
fn cache_refused(
    widths: &[usize],
    samples: usize,
    masks: bool,
    dtype_bytes: usize,
) -> AllocationFailure {
    let per_sample = cached_values_per_sample(widths, masks);
    Need {
        buffer: "the Hessian operator's per-sample cache (activations, softmax probabilities, \
                 back-propagated errors)"
            .into(),
        size: format!(
            "{} Hessian samples × {per_sample} values per sample ({} × the hidden widths + 2 × \
             the classes, of the widths {}) × {dtype_bytes} bytes",
            thousands(samples as u64),
            if masks { 3 } else { 2 },
            widths
                .iter()
                .map(usize::to_string)
                .collect::<Vec<_>>()
                .join("-"),
        ),
    }
    .error((samples as u64).saturating_mul((per_sample * dtype_bytes) as u64))
}

/// Values of one chunk that do not depend on the direction `v`.
#[derive(Debug)]
struct ChunkCache {
    x: Tensor,
    /// Post-ReLU activations a_1 … a_{L−1}.
    hidden: Vec<Tensor>,
    /// ReLU masks m_1 … m_{L−1} as 0/1 in the compute dtype.
    masks: Vec<Tensor>,
    /// Softmax probabilities of the output.
    probs: Tensor,
    /// Errors δ_1 … δ_L (already divided by the total sample count).
    deltas: Vec<Tensor>,
}

/// The Hessian of the mean cross-entropy over a fixed dataset, at fixed parameters, as an
/// operator. Also exposes the loss and the full-batch gradient, computed on the way.
#[derive(Debug)]
pub struct HessianOperator {
    params: Params,
    engine: Engine,
    samples: usize,
    loss: f64,
    gradient: Params,
    products: usize,
}

impl HessianOperator {
    /// Bytes the operator over `samples` samples keeps for a network of `arch` in f32 on
    /// the CPU (the sweeps' engine): its per-sample cache, which is what grows with
    /// `snapshots.hessian_samples`. `eigensweep plan` counts the same (`common`'s
    /// `sweep::cost`; a test keeps the two equal).
    pub fn resident_bytes(arch: &Architecture, samples: usize) -> u64 {
        let per_sample = cached_values_per_sample(arch.widths(), false) as u64;
        (samples as u64).saturating_mul(per_sample) * 4
    }

    /// Prepares products at `params` over the samples `x` (n × inputs) with one-hot targets
    /// `onehot` (n × classes), both in the parameters' dtype and device.
    ///
    /// # Errors
    /// [`WorkerError::OutOfMemory`] when the per-sample cache does not fit in the memory left (on
    /// the CPU; checked before it is computed, and each chunk's host arrays are allocated
    /// fallibly); tensor and shape errors.
    pub fn new(
        params: &Params,
        x: &Tensor,
        onehot: &Tensor,
        options: &HessianOptions,
    ) -> Result<Self, WorkerError> {
        let n = x.dim(0)?;
        let use_cpu = options.engine == HessianEngine::Auto
            && params.device().is_cpu()
            && matches!(params.dtype(), DType::F32 | DType::F64);
        let chunk = options.chunk.unwrap_or(if use_cpu { 2048 } else { 8192 });
        if n == 0 || chunk == 0 {
            return Err(WorkerError::ShapeMismatch(format!(
                "Hessian needs samples and a positive chunk size (n = {n}, chunk = {chunk})"
            )));
        }
        let x = x.contiguous()?;
        let widths = params.architecture().widths().to_vec();
        let tensor_engine = !use_cpu;
        let refused = || cache_refused(&widths, n, tensor_engine, params.dtype().size_in_bytes());
        if params.device().is_cpu() {
            // The whole cache at once, before any of it is computed (once per snapshot).
            let AllocationFailure {
                buffer,
                bytes,
                size,
            } = refused();
            ensure_available(bytes, || Need { buffer, size })?;
        }
        let mut caches = match (use_cpu, params.dtype()) {
            (false, _) => Caches::Tensor(Vec::new()),
            (true, DType::F32) => Caches::F32(Vec::new()),
            (true, _) => Caches::F64(Vec::new()),
        };
        let mut loss_sum = 0.0;
        let mut gradient: Option<Params> = None;
        let mut start = 0;
        while start < n {
            let len = chunk.min(n - start);
            let xs = x.narrow(0, start, len)?;
            let ys = onehot.narrow(0, start, len)?;
            let fwd = forward(params, &xs)?;
            let (probs, l) = softmax_cross_entropy(&fwd.logits, &ys)?;
            loss_sum += l;
            let delta_out = ((&probs - &ys)? / n as f64)?;
            let (g, deltas) = backward(params, &xs, &fwd, delta_out)?;
            gradient = Some(match gradient {
                None => g,
                Some(acc) => acc.zip_map(&g, |a, b| a + b)?,
            });
            match &mut caches {
                Caches::Tensor(chunks) => {
                    let masks = fwd
                        .hidden
                        .iter()
                        .map(|a| a.gt(0.0)?.to_dtype(params.dtype()))
                        .collect::<candle_core::Result<Vec<_>>>()?;
                    chunks.push(ChunkCache {
                        x: xs,
                        hidden: fwd.hidden,
                        masks,
                        probs,
                        deltas,
                    });
                }
                Caches::F32(chunks) => chunks.push(host_chunk(
                    start,
                    len,
                    &fwd.hidden,
                    &probs,
                    &deltas,
                    &refused,
                )?),
                Caches::F64(chunks) => chunks.push(host_chunk(
                    start,
                    len,
                    &fwd.hidden,
                    &probs,
                    &deltas,
                    &refused,
                )?),
            }
            start += len;
        }
        let threads = options
            .threads
            .unwrap_or_else(candle_core::utils::get_num_threads);
        let engine = match caches {
            Caches::F32(chunks) => Engine::CpuF32(cpu_engine(params, &x, chunks, n, threads)?),
            Caches::F64(chunks) => Engine::CpuF64(cpu_engine(params, &x, chunks, n, threads)?),
            Caches::Tensor(chunks) => Engine::Tensor(chunks),
        };
        Ok(Self {
            params: params.clone(),
            engine,
            samples: n,
            loss: loss_sum / n as f64,
            gradient: gradient.expect("at least one chunk"),
            products: 0,
        })
    }

    /// Mean loss over the operator's samples at its parameters.
    pub fn loss(&self) -> f64 {
        self.loss
    }

    /// Full-batch gradient at the operator's parameters.
    pub fn gradient(&self) -> &Params {
        &self.gradient
    }

    /// Number of samples the Hessian averages over.
    pub fn samples(&self) -> usize {
        self.samples
    }

    /// Products computed so far (each vector of a block counts once).
    pub fn products(&self) -> usize {
        self.products
    }

    /// The parameters the Hessian is taken at.
    pub fn params(&self) -> &Params {
        &self.params
    }

    /// `H·v` for one direction given as parameter-shaped tensors.
    pub fn product(&mut self, v: &Params) -> Result<Params, WorkerError> {
        Ok(self
            .product_block(std::slice::from_ref(v))?
            .pop()
            .expect("one product"))
    }

    /// `H·v_j` for a block of directions. The first layer's two large matrix products are
    /// done for the whole block at once.
    pub fn product_block(&mut self, vs: &[Params]) -> Result<Vec<Params>, WorkerError> {
        let chunks = match &self.engine {
            Engine::Tensor(chunks) => chunks,
            Engine::CpuF32(_) | Engine::CpuF64(_) => {
                let arch = self.params.architecture().clone();
                let n = arch.num_params();
                let mut flat = Vec::with_capacity(n * vs.len());
                for v in vs {
                    flat.extend(v.to_flat()?);
                }
                let mut out = vec![0.0; flat.len()];
                self.apply_flat(&flat, &mut out, vs.len())?;
                return out
                    .chunks_exact(n)
                    .map(|o| Params::from_flat(&arch, o, self.params.dtype(), self.params.device()))
                    .collect();
            }
        };
        let layers = self.params.architecture().num_layers();
        let count = vs.len();
        if count == 0 {
            return Ok(Vec::new());
        }
        // Stacked first-layer directions: (count·h1) × inputs.
        let v1_stack = Tensor::cat(
            &vs.iter().map(|v| v.weight(0).clone()).collect::<Vec<_>>(),
            0,
        )?;
        let h1 = self.params.weight(0).dim(0)?;
        let mut weights: Vec<Vec<Option<Tensor>>> = vec![vec![None; layers]; count];
        let mut biases: Vec<Vec<Option<Tensor>>> = vec![vec![None; layers]; count];
        for chunk in chunks {
            // R(z_1) for every direction in one product, then split by columns.
            let rz1_all = chunk.x.matmul(&v1_stack.t()?)?;
            let mut rdelta1 = Vec::with_capacity(count);
            for (j, v) in vs.iter().enumerate() {
                let rz1 = rz1_all.narrow(1, j * h1, h1)?.broadcast_add(v.bias(0))?;
                let (rd1, per_layer) = self.chunk_product(chunk, v, rz1)?;
                for (l, (gw, gb)) in per_layer.into_iter().enumerate() {
                    if let Some(gw) = gw {
                        accumulate(&mut weights[j][l], gw)?;
                    }
                    accumulate(&mut biases[j][l], gb)?;
                }
                rdelta1.push(rd1);
            }
            // R(∂W_1) = R(δ_1)ᵀ x for every direction in one product.
            let rd1_all = Tensor::cat(&rdelta1, 1)?;
            let gw1_all = rd1_all.t()?.matmul(&chunk.x)?;
            for (j, w) in weights.iter_mut().enumerate() {
                accumulate(&mut w[0], gw1_all.narrow(0, j * h1, h1)?)?;
            }
        }
        self.products += count;
        weights
            .into_iter()
            .zip(biases)
            .map(|(w, b)| {
                Params::from_tensors(
                    self.params.architecture(),
                    w.into_iter().map(|t| t.expect("accumulated")).collect(),
                    b.into_iter().map(|t| t.expect("accumulated")).collect(),
                )
            })
            .collect()
    }

    /// The R-pass through one chunk for one direction, given R(z_1). Returns R(δ_1) (for the
    /// batched first-layer weight product) and per layer (R(∂W_l) except layer 0, R(∂b_l)).
    #[allow(clippy::type_complexity)]
    fn chunk_product(
        &self,
        chunk: &ChunkCache,
        v: &Params,
        rz1: Tensor,
    ) -> Result<(Tensor, Vec<(Option<Tensor>, Tensor)>), WorkerError> {
        let layers = self.params.architecture().num_layers();
        // Forward: R(a_l) for hidden layers, R(z_L) at the output.
        let mut r_hidden: Vec<Tensor> = Vec::with_capacity(layers - 1);
        let mut rz = rz1;
        for l in 1..layers {
            let ra = (&rz * &chunk.masks[l - 1])?;
            let a_prev = &chunk.hidden[l - 1];
            rz = ra
                .matmul(&self.params.weight(l).t()?)?
                .add(&a_prev.matmul(&v.weight(l).t()?)?)?
                .broadcast_add(v.bias(l))?;
            r_hidden.push(ra);
        }
        // Output: R(δ_L) = p ⊙ (R(z_L) − ⟨p, R(z_L)⟩) / n.
        let p = &chunk.probs;
        let centred = rz.broadcast_sub(&(p * &rz)?.sum_keepdim(D::Minus1)?)?;
        let mut rdelta = ((p * centred)? / self.samples as f64)?;
        // Backward.
        let mut per_layer = vec![(None, rdelta.clone()); layers];
        for l in (0..layers).rev() {
            let gb = rdelta.sum(0)?;
            if l == 0 {
                per_layer[0] = (None, gb);
                break;
            }
            let delta = &chunk.deltas[l];
            let a_prev = &chunk.hidden[l - 1];
            let gw = rdelta
                .t()?
                .matmul(a_prev)?
                .add(&delta.t()?.matmul(&r_hidden[l - 1])?)?;
            per_layer[l] = (Some(gw), gb);
            let upstream = rdelta
                .matmul(self.params.weight(l))?
                .add(&delta.matmul(v.weight(l))?)?;
            rdelta = (upstream * &chunk.masks[l - 1])?;
        }
        Ok((rdelta, per_layer))
    }
}

fn accumulate(slot: &mut Option<Tensor>, value: Tensor) -> candle_core::Result<()> {
    *slot = Some(match slot.take() {
        None => value,
        Some(acc) => (acc + value)?,
    });
    Ok(())
}

impl SymmetricOperator for HessianOperator {
    fn dim(&self) -> usize {
        self.params.architecture().num_params()
    }

    fn apply_block(
        &mut self,
        inputs: &[f64],
        outputs: &mut [f64],
        count: usize,
    ) -> Result<(), OperatorError> {
        // A buffer that could not be allocated travels as itself: the solver takes it out of
        // the box again (`WorkerError::from_operator`) and reports it as
        // `WorkerError::OutOfMemory`, not as a failed product.
        self.apply_flat(inputs, outputs, count)
            .map_err(|e| -> OperatorError { Box::new(e) })
    }

    fn epsilon(&self) -> f64 {
        match self.params.dtype() {
            DType::F64 => f64::EPSILON,
            DType::F16 | DType::BF16 => 1e-3,
            _ => f32::EPSILON as f64,
        }
    }
}

impl HessianOperator {
    /// Products of flat f64 vectors (the eigensolver's interface), whatever the engine.
    fn apply_flat(
        &mut self,
        inputs: &[f64],
        outputs: &mut [f64],
        count: usize,
    ) -> Result<(), WorkerError> {
        let n = self.params.architecture().num_params();
        if inputs.len() < n * count || outputs.len() < n * count {
            return Err(WorkerError::ShapeMismatch(format!(
                "Hessian product of {count} vectors of {n} needs {} values",
                n * count
            )));
        }
        match &self.engine {
            Engine::CpuF32(engine) => {
                let need = || product_need(n, count);
                let mut input: Vec<f32> = try_with_capacity(n * count, need)?;
                input.extend(inputs[..n * count].iter().map(|&v| v as f32));
                let mut out = try_filled(n * count, 0f32, need)?;
                engine.apply(&input, &mut out, count)?;
                for (o, v) in outputs.iter_mut().zip(out) {
                    *o = v as f64;
                }
                self.products += count;
                return Ok(());
            }
            Engine::CpuF64(engine) => {
                engine.apply(&inputs[..n * count], &mut outputs[..n * count], count)?;
                self.products += count;
                return Ok(());
            }
            Engine::Tensor(_) => {}
        }
        let dtype = self.params.dtype();
        let device: Device = self.params.device().clone();
        let arch = self.params.architecture().clone();
        let all = Tensor::from_slice(&inputs[..n * count], n * count, &device)?.to_dtype(dtype)?;
        let vs = (0..count)
            .map(|j| Params::from_flat_tensor(&arch, &all.narrow(0, j * n, n)?))
            .collect::<Result<Vec<_>, _>>()?;
        let hv = self.product_block(&vs)?;
        let flats = hv
            .iter()
            .map(|p| p.flat_tensor())
            .collect::<Result<Vec<_>, _>>()?;
        let out = Tensor::cat(&flats, 0)?
            .to_dtype(DType::F64)?
            .to_vec1::<f64>()?;
        outputs[..n * count].copy_from_slice(&out);
        Ok(())
    }
}

/// A tensor's values as a host vector, allocated fallibly (`refused` names the cache it is
/// part of).
fn host_copy<T: Real>(
    t: &Tensor,
    refused: &dyn Fn() -> AllocationFailure,
) -> Result<Vec<T>, WorkerError> {
    let t = t.contiguous()?;
    let mut out = Vec::new();
    with_host_slice::<T, _>(&t, |s| {
        out.try_reserve_exact(s.len()).map_err(|_| refused())?;
        out.extend_from_slice(s);
        Ok::<_, WorkerError>(())
    })??;
    Ok(out)
}

/// One chunk's cache as host vectors for the CPU engine: its samples `start..start + rows`,
/// hidden activations, softmax probabilities and errors δ.
fn host_chunk<T: Real>(
    start: usize,
    rows: usize,
    hidden: &[Tensor],
    probs: &Tensor,
    deltas: &[Tensor],
    refused: &dyn Fn() -> AllocationFailure,
) -> Result<CpuChunk<T>, WorkerError> {
    Ok(CpuChunk {
        start,
        rows,
        hidden: hidden
            .iter()
            .map(|t| host_copy(t, refused))
            .collect::<Result<_, WorkerError>>()?,
        probs: host_copy(probs, refused)?,
        deltas: deltas
            .iter()
            .map(|t| host_copy(t, refused))
            .collect::<Result<_, WorkerError>>()?,
    })
}

/// The CPU engine over the per-chunk host caches.
fn cpu_engine<T: Real>(
    params: &Params,
    x: &Tensor,
    chunks: Vec<CpuChunk<T>>,
    samples: usize,
    threads: usize,
) -> Result<CpuHessian<T>, WorkerError> {
    let host = |t: &Tensor| -> Result<Vec<T>, WorkerError> { Ok(t.flatten_all()?.to_vec1::<T>()?) };
    let arch = params.architecture();
    let weights = (0..arch.num_layers())
        .map(|l| host(params.weight(l)))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(CpuHessian::new(
        arch.widths().to_vec(),
        weights,
        x.clone(),
        chunks,
        samples,
        threads,
    ))
}

/// An operator's CPU engine, borrowed for the pass over the data that several runs share
/// ([`super::hessian_shared`]).
pub(super) enum CpuEngineRef<'a> {
    /// The f32 engine (what sweeps run).
    F32(&'a CpuHessian<f32>),
    /// The f64 engine.
    F64(&'a CpuHessian<f64>),
}

impl HessianOperator {
    /// The CPU engine, or `None` on the tensor engine.
    pub(super) fn cpu_engine(&self) -> Option<CpuEngineRef<'_>> {
        match &self.engine {
            Engine::CpuF32(e) => Some(CpuEngineRef::F32(e)),
            Engine::CpuF64(e) => Some(CpuEngineRef::F64(e)),
            Engine::Tensor(_) => None,
        }
    }

    /// Counts `count` products computed for this operator elsewhere (by a shared pass).
    pub(super) fn count_products(&mut self, count: usize) {
        self.products += count;
    }
}
