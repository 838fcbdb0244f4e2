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

use super::gradient::{backward, forward, softmax_cross_entropy};
use super::hessian_cpu::{CpuChunk, CpuHessian, Real};
use super::params::Params;
use super::ModelError;
use crate::eigen::{OperatorError, SymmetricOperator};

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
    /// Prepares products at `params` over the samples `x` (n × inputs) with one-hot targets
    /// `onehot` (n × classes), both in the parameters' dtype and device.
    pub fn new(
        params: &Params,
        x: &Tensor,
        onehot: &Tensor,
        options: &HessianOptions,
    ) -> Result<Self, ModelError> {
        let n = x.dim(0)?;
        let use_cpu = options.engine == HessianEngine::Auto
            && params.device().is_cpu()
            && matches!(params.dtype(), DType::F32 | DType::F64);
        let chunk = options.chunk.unwrap_or(if use_cpu { 2048 } else { 8192 });
        if n == 0 || chunk == 0 {
            return Err(ModelError::Shape(format!(
                "Hessian needs samples and a positive chunk size (n = {n}, chunk = {chunk})"
            )));
        }
        let x = x.contiguous()?;
        let mut chunks = Vec::new();
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
            let masks = fwd
                .hidden
                .iter()
                .map(|a| a.gt(0.0)?.to_dtype(params.dtype()))
                .collect::<candle_core::Result<Vec<_>>>()?;
            chunks.push((
                start,
                ChunkCache {
                    x: xs,
                    hidden: fwd.hidden,
                    masks,
                    probs,
                    deltas,
                },
            ));
            start += len;
        }
        let threads = options
            .threads
            .unwrap_or_else(candle_core::utils::get_num_threads);
        let engine = match (use_cpu, params.dtype()) {
            (true, DType::F32) => {
                Engine::CpuF32(cpu_engine::<f32>(params, &x, chunks, n, threads)?)
            }
            (true, _) => Engine::CpuF64(cpu_engine::<f64>(params, &x, chunks, n, threads)?),
            (false, _) => Engine::Tensor(chunks.into_iter().map(|(_, c)| c).collect()),
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
    pub fn product(&mut self, v: &Params) -> Result<Params, ModelError> {
        Ok(self
            .product_block(std::slice::from_ref(v))?
            .pop()
            .expect("one product"))
    }

    /// `H·v_j` for a block of directions. The first layer's two large matrix products are
    /// done for the whole block at once.
    pub fn product_block(&mut self, vs: &[Params]) -> Result<Vec<Params>, ModelError> {
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
    ) -> Result<(Tensor, Vec<(Option<Tensor>, Tensor)>), ModelError> {
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
        Ok(self.apply_flat(inputs, outputs, count)?)
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
    ) -> Result<(), ModelError> {
        let n = self.params.architecture().num_params();
        if inputs.len() < n * count || outputs.len() < n * count {
            return Err(ModelError::Shape(format!(
                "Hessian product of {count} vectors of {n} needs {} values",
                n * count
            )));
        }
        match &self.engine {
            Engine::CpuF32(engine) => {
                let input: Vec<f32> = inputs[..n * count].iter().map(|&v| v as f32).collect();
                let mut out = vec![0f32; n * count];
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

/// Moves the per-chunk cache to host vectors for the CPU engine.
fn cpu_engine<T: Real>(
    params: &Params,
    x: &Tensor,
    chunks: Vec<(usize, ChunkCache)>,
    samples: usize,
    threads: usize,
) -> Result<CpuHessian<T>, ModelError> {
    let host = |t: &Tensor| -> Result<Vec<T>, ModelError> { Ok(t.flatten_all()?.to_vec1::<T>()?) };
    let arch = params.architecture();
    let weights = (0..arch.num_layers())
        .map(|l| host(params.weight(l)))
        .collect::<Result<Vec<_>, _>>()?;
    let chunks = chunks
        .into_iter()
        .map(|(start, c)| {
            Ok(CpuChunk {
                start,
                rows: c.x.dim(0)?,
                hidden: c
                    .hidden
                    .iter()
                    .map(host)
                    .collect::<Result<_, ModelError>>()?,
                probs: host(&c.probs)?,
                deltas: c
                    .deltas
                    .iter()
                    .map(host)
                    .collect::<Result<_, ModelError>>()?,
            })
        })
        .collect::<Result<Vec<_>, ModelError>>()?;
    Ok(CpuHessian::new(
        arch.widths().to_vec(),
        weights,
        x.clone(),
        chunks,
        samples,
        threads,
    ))
}
