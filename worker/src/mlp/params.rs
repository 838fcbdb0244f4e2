//! Parameters (and gradients, which have the same shape) of an [`Architecture`] as tensors.

use candle_core::{DType, Device, Tensor};
use rand::Rng;

use super::architecture::{Architecture, BiasInit};
use crate::WorkerError;

/// One tensor per weight (`fan_out × fan_in`) and per bias (`fan_out`), on one device and in
/// one dtype. Gradients, Hessian-vector products and optimiser state use the same type, so
/// that every update is a per-tensor operation the device can run without host round trips.
#[derive(Debug, Clone)]
pub struct Params {
    arch: Architecture,
    weights: Vec<Tensor>,
    biases: Vec<Tensor>,
}

impl Params {
    /// Xavier/Glorot-uniform weights U(−a, a), a = √(6/(fan_in+fan_out)), and biases per
    /// `bias_init`. Values are drawn in f64 on the host, layer by layer, weight then bias,
    /// row-major, so the same `rng` state gives the same network on any device and dtype.
    pub fn init(
        arch: &Architecture,
        bias_init: BiasInit,
        rng: &mut impl Rng,
        dtype: DType,
        device: &Device,
    ) -> Result<Self, WorkerError> {
        let mut flat = Vec::with_capacity(arch.num_params());
        for layer in arch.layers() {
            let a = (6.0 / (layer.fan_in + layer.fan_out) as f64).sqrt();
            flat.extend((0..layer.fan_in * layer.fan_out).map(|_| rng.gen_range(-a..a)));
            match bias_init {
                BiasInit::Zero => flat.extend(std::iter::repeat_n(0.0, layer.fan_out)),
                BiasInit::PyTorchUniform => {
                    let b = 1.0 / (layer.fan_in as f64).sqrt();
                    flat.extend((0..layer.fan_out).map(|_| rng.gen_range(-b..b)));
                }
            }
        }
        Self::from_flat(arch, &flat, dtype, device)
    }

    /// All zeros (gradient accumulators, optimiser moments).
    pub fn zeros(arch: &Architecture, dtype: DType, device: &Device) -> Result<Self, WorkerError> {
        let mut weights = Vec::new();
        let mut biases = Vec::new();
        for layer in arch.layers() {
            weights.push(Tensor::zeros((layer.fan_out, layer.fan_in), dtype, device)?);
            biases.push(Tensor::zeros(layer.fan_out, dtype, device)?);
        }
        Ok(Self {
            arch: arch.clone(),
            weights,
            biases,
        })
    }

    /// Builds parameters from a flat vector in the documented layout (see [`Architecture`]).
    pub fn from_flat(
        arch: &Architecture,
        flat: &[f64],
        dtype: DType,
        device: &Device,
    ) -> Result<Self, WorkerError> {
        if flat.len() != arch.num_params() {
            return Err(WorkerError::FlatLength {
                expected: arch.num_params(),
                got: flat.len(),
            });
        }
        let all = Tensor::from_slice(flat, flat.len(), device)?.to_dtype(dtype)?;
        Self::from_flat_tensor(arch, &all)
    }

    /// Splits a flat 1-D tensor (already in the right dtype and device) into layers.
    pub(crate) fn from_flat_tensor(arch: &Architecture, all: &Tensor) -> Result<Self, WorkerError> {
        let mut weights = Vec::new();
        let mut biases = Vec::new();
        for layer in arch.layers() {
            let w = all.narrow(0, layer.weight_offset, layer.fan_in * layer.fan_out)?;
            weights.push(w.reshape((layer.fan_out, layer.fan_in))?);
            biases.push(
                all.narrow(0, layer.bias_offset, layer.fan_out)?
                    .contiguous()?,
            );
        }
        Ok(Self {
            arch: arch.clone(),
            weights,
            biases,
        })
    }

    /// Wraps existing tensors; shapes are checked against `arch`.
    pub fn from_tensors(
        arch: &Architecture,
        weights: Vec<Tensor>,
        biases: Vec<Tensor>,
    ) -> Result<Self, WorkerError> {
        let layers = arch.layers();
        let ok =
            weights.len() == layers.len()
                && biases.len() == layers.len()
                && layers.iter().zip(&weights).zip(&biases).all(|((l, w), b)| {
                    w.dims() == [l.fan_out, l.fan_in] && b.dims() == [l.fan_out]
                });
        if !ok {
            return Err(WorkerError::ShapeMismatch(format!(
                "tensors do not match architecture {:?}",
                arch.widths()
            )));
        }
        Ok(Self {
            arch: arch.clone(),
            weights,
            biases,
        })
    }

    /// The flat vector in f64 (documented layout).
    pub fn to_flat(&self) -> Result<Vec<f64>, WorkerError> {
        Ok(self.flat_tensor()?.to_dtype(DType::F64)?.to_vec1::<f64>()?)
    }

    /// The flat vector as one 1-D tensor on the device, in the parameters' dtype.
    pub fn flat_tensor(&self) -> Result<Tensor, WorkerError> {
        let mut parts = Vec::with_capacity(2 * self.weights.len());
        for (w, b) in self.weights.iter().zip(&self.biases) {
            parts.push(w.flatten_all()?);
            parts.push(b.clone());
        }
        Ok(Tensor::cat(&parts, 0)?)
    }

    /// The architecture.
    pub fn architecture(&self) -> &Architecture {
        &self.arch
    }

    /// Weight of layer `l` (`fan_out × fan_in`).
    pub fn weight(&self, l: usize) -> &Tensor {
        &self.weights[l]
    }

    /// Bias of layer `l`.
    pub fn bias(&self, l: usize) -> &Tensor {
        &self.biases[l]
    }

    /// Element type.
    pub fn dtype(&self) -> DType {
        self.weights[0].dtype()
    }

    /// Device the tensors live on.
    pub fn device(&self) -> &Device {
        self.weights[0].device()
    }

    /// All tensors, weight then bias per layer (the flat layout's order).
    pub fn tensors(&self) -> impl Iterator<Item = &Tensor> {
        self.weights
            .iter()
            .zip(&self.biases)
            .flat_map(|(w, b)| [w, b])
    }

    /// Parameters from [`Params::tensors`]' list (weight then bias per layer), as taken.
    pub(crate) fn from_interleaved(arch: &Architecture, tensors: Vec<Tensor>) -> Self {
        let (mut weights, mut biases) = (Vec::new(), Vec::new());
        for (i, t) in tensors.into_iter().enumerate() {
            if i % 2 == 0 {
                weights.push(t);
            } else {
                biases.push(t);
            }
        }
        Params {
            arch: arch.clone(),
            weights,
            biases,
        }
    }

    /// Applies `f` tensor by tensor to `self` and `other` (same architecture), producing a new
    /// set. This is how optimisers express their updates.
    pub fn zip_map(
        &self,
        other: &Params,
        mut f: impl FnMut(&Tensor, &Tensor) -> candle_core::Result<Tensor>,
    ) -> Result<Params, WorkerError> {
        let weights = self
            .weights
            .iter()
            .zip(&other.weights)
            .map(|(a, b)| f(a, b))
            .collect::<Result<_, _>>()?;
        let biases = self
            .biases
            .iter()
            .zip(&other.biases)
            .map(|(a, b)| f(a, b))
            .collect::<Result<_, _>>()?;
        Ok(Params {
            arch: self.arch.clone(),
            weights,
            biases,
        })
    }

    /// Applies `f` to every tensor.
    pub fn map(
        &self,
        mut f: impl FnMut(&Tensor) -> candle_core::Result<Tensor>,
    ) -> Result<Params, WorkerError> {
        let weights = self.weights.iter().map(&mut f).collect::<Result<_, _>>()?;
        let biases = self.biases.iter().map(&mut f).collect::<Result<_, _>>()?;
        Ok(Params {
            arch: self.arch.clone(),
            weights,
            biases,
        })
    }

    /// Σ_j x_j² over all parameters, in f64.
    pub fn squared_norm(&self) -> Result<f64, WorkerError> {
        let mut total = 0.0;
        for t in self.tensors() {
            total += t
                .to_dtype(DType::F64)?
                .sqr()?
                .sum_all()?
                .to_scalar::<f64>()?;
        }
        Ok(total)
    }

    /// Σ_j x_j y_j over all parameters, in f64.
    pub fn dot(&self, other: &Params) -> Result<f64, WorkerError> {
        let mut total = 0.0;
        for (a, b) in self.tensors().zip(other.tensors()) {
            let p = (a.to_dtype(DType::F64)? * b.to_dtype(DType::F64)?)?;
            total += p.sum_all()?.to_scalar::<f64>()?;
        }
        Ok(total)
    }

    /// The same parameters in another dtype.
    pub fn to_dtype(&self, dtype: DType) -> Result<Params, WorkerError> {
        self.map(|t| t.to_dtype(dtype))
    }
}
