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

pub use architecture::{Architecture, BiasInit, LayerSlots};
pub(crate) use cpu_kernels::{with_host_slice, Real};
pub use gradient::{
    backward, evaluate, forward, loss_and_gradient, softmax_cross_entropy, Forward,
};
pub(crate) use gradient_cpu::CpuGradient;
pub use hessian::{HessianEngine, HessianOperator, HessianOptions};
pub use hessian_shared::SharedHessian;
pub use params::Params;
