//! The multilayer perceptron: architecture, parameters, loss and gradient, exact Hessian-vector
//! products. Everything is written against candle tensors, so it runs on any candle device;
//! the arithmetic is explicit (no autograd graph) because that is several times faster for a
//! network this small and lets the Hessian operator reuse the forward/backward intermediates.

mod architecture;
mod cpu_kernels;
mod gradient;
mod gradient_cpu;
mod hessian;
mod hessian_cpu;
mod hessian_need;
mod hessian_shared;
mod params;
#[cfg(test)]
pub(crate) mod reference;
#[cfg(test)]
pub(crate) mod tests;

pub use architecture::{Architecture, ArchitectureError, BiasInit, LayerSlots};
pub(crate) use cpu_kernels::{with_host_slice, Real};
pub use gradient::{
    backward, evaluate, forward, loss_and_gradient, softmax_cross_entropy, Forward,
};
pub(crate) use gradient_cpu::CpuGradient;
pub use hessian::{HessianEngine, HessianOperator, HessianOptions};
pub use hessian_shared::{SharedHessian, SharedHessianError};
pub use params::Params;

use thiserror::Error;

/// Errors from model computations.
#[derive(Debug, Error)]
pub enum ModelError {
    /// A tensor operation failed (device error, shape mismatch inside candle).
    #[error("tensor operation failed: {0}")]
    Tensor(#[from] candle_core::Error),
    /// A flat parameter vector of the wrong length.
    #[error("flat parameter vector has {got} entries, the architecture needs {expected}")]
    FlatLength {
        /// Parameters the architecture has.
        expected: usize,
        /// Entries given.
        got: usize,
    },
    /// Tensors or data whose shape does not fit the model.
    #[error("shape mismatch: {0}")]
    Shape(String),
    /// Invalid architecture.
    #[error(transparent)]
    Architecture(#[from] ArchitectureError),
    /// A large buffer (the Hessian operator's cache, a block of products) could not be
    /// allocated.
    #[error(transparent)]
    Memory(#[from] crate::memory::MemoryError),
}
