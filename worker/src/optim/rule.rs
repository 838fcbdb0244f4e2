//! The update rules, written once.
//!
//! Each rule is a function of one parameter θ, its gradient g and its state slots, generic
//! over [`Lane`]: the host engine runs it on one element at a time (`f32`/`f64`, one fused
//! pass over the flat vectors), the tensor engine on whole candle tensors (one device pass per
//! operation), the tests on `f64` by hand. The operations are PyTorch's, in PyTorch's order
//! (`torch.optim.SGD`, `Adam`, `AdamW`, `RMSprop`, single-tensor path), so that the engines
//! agree with each other to the bit where their arithmetic is the same and with PyTorch to
//! rounding.

use candle_core::{Result, Tensor};

use super::{AdamConfig, BaseOptimizer, RmspropConfig, SgdConfig};
use crate::mlp::Real;

/// The arithmetic a rule is written in: one element or one tensor.
pub(crate) trait Lane: Sized + Clone {
    /// self + o.
    fn add(&self, o: &Self) -> Result<Self>;
    /// self − o.
    fn sub(&self, o: &Self) -> Result<Self>;
    /// self · o.
    fn mul(&self, o: &Self) -> Result<Self>;
    /// self / o.
    fn div(&self, o: &Self) -> Result<Self>;
    /// self · c.
    fn scale(&self, c: f64) -> Result<Self>;
    /// self + c.
    fn offset(&self, c: f64) -> Result<Self>;
    /// √self.
    fn sqrt(&self) -> Result<Self>;
}

impl<T: Real> Lane for T {
    #[inline(always)]
    fn add(&self, o: &Self) -> Result<Self> {
        Ok(*self + *o)
    }
    #[inline(always)]
    fn sub(&self, o: &Self) -> Result<Self> {
        Ok(*self - *o)
    }
    #[inline(always)]
    fn mul(&self, o: &Self) -> Result<Self> {
        Ok(*self * *o)
    }
    #[inline(always)]
    fn div(&self, o: &Self) -> Result<Self> {
        Ok(*self / *o)
    }
    #[inline(always)]
    fn scale(&self, c: f64) -> Result<Self> {
        Ok(*self * T::from_f64(c))
    }
    #[inline(always)]
    fn offset(&self, c: f64) -> Result<Self> {
        Ok(*self + T::from_f64(c))
    }
    #[inline(always)]
    fn sqrt(&self) -> Result<Self> {
        Ok(num_traits::Float::sqrt(*self))
    }
}

/// Candle's `affine(c, 0)` and `affine(1, c)` compute `x·c + 0` and `x·1 + c` in the tensor's
/// dtype, the same values as the element arithmetic above.
impl Lane for Tensor {
    fn add(&self, o: &Self) -> Result<Self> {
        Tensor::add(self, o)
    }
    fn sub(&self, o: &Self) -> Result<Self> {
        Tensor::sub(self, o)
    }
    fn mul(&self, o: &Self) -> Result<Self> {
        Tensor::mul(self, o)
    }
    fn div(&self, o: &Self) -> Result<Self> {
        Tensor::div(self, o)
    }
    fn scale(&self, c: f64) -> Result<Self> {
        self.affine(c, 0.0)
    }
    fn offset(&self, c: f64) -> Result<Self> {
        self.affine(1.0, c)
    }
    fn sqrt(&self) -> Result<Self> {
        Tensor::sqrt(self)
    }
}

/// What a step needs besides θ, g and the state: the rate, the step count, and the scalars
/// derived from them once per step rather than once per element.
#[derive(Debug, Clone, Copy)]
pub(crate) struct StepScalars {
    /// η_t, the scheduled learning rate of this step.
    pub lr: f64,
    /// t ≥ 1: steps taken, this one included (SGD's first step).
    pub t: u64,
    /// Adam: η_t / (1 − β1ᵗ).
    adam_step_size: f64,
    /// Adam: 1 / √(1 − β2ᵗ).
    adam_inverse_correction2: f64,
}

impl StepScalars {
    /// The scalars of step `t` (1-based) of `rule` at rate `lr`.
    pub(crate) fn new(rule: &BaseOptimizer, lr: f64, t: u64) -> Self {
        let (adam_step_size, adam_inverse_correction2) = match rule {
            BaseOptimizer::Adam(c) => {
                let t = t.min(i32::MAX as u64) as i32;
                let bias_correction1 = 1.0 - c.beta1.powi(t);
                let bias_correction2_sqrt = (1.0 - c.beta2.powi(t)).sqrt();
                (lr / bias_correction1, 1.0 / bias_correction2_sqrt)
            }
            _ => (lr, 1.0),
        };
        Self {
            lr,
            t,
            adam_step_size,
            adam_inverse_correction2,
        }
    }
}

/// θ_{t+1} for one element or tensor `p` with (mini-batch, for SAM the perturbed) gradient
/// `g`, updating `state` (the slots [`BaseOptimizer::state_names`] lists, in that order).
#[inline(always)]
pub(crate) fn apply<L: Lane>(
    rule: &BaseOptimizer,
    s: StepScalars,
    p: &L,
    g: L,
    state: &mut [L],
) -> Result<L> {
    match rule {
        BaseOptimizer::Sgd(c) => sgd(c, s, p, g, state),
        BaseOptimizer::Adam(c) => adam(c, s, p, g, state),
        BaseOptimizer::Rmsprop(c) => rmsprop(c, s, p, g, state),
    }
}

/// `torch.optim.SGD`: L2 decay, momentum buffer (the gradient itself on the first step),
/// dampening, Nesterov; `θ − η d`.
#[inline(always)]
pub(crate) fn sgd<L: Lane>(
    c: &SgdConfig,
    s: StepScalars,
    p: &L,
    g: L,
    state: &mut [L],
) -> Result<L> {
    let mut d = if c.weight_decay != 0.0 {
        g.add(&p.scale(c.weight_decay)?)?
    } else {
        g
    };
    if c.momentum != 0.0 {
        let buf = if s.t == 1 {
            d.clone()
        } else {
            state[0]
                .scale(c.momentum)?
                .add(&d.scale(1.0 - c.dampening)?)?
        };
        state[0] = buf.clone();
        d = if c.nesterov {
            d.add(&buf.scale(c.momentum)?)?
        } else {
            buf
        };
    }
    p.sub(&d.scale(s.lr)?)
}

/// `torch.optim.Adam` (L2 decay on the gradient) or `AdamW` (decoupled decay of θ first).
#[inline(always)]
pub(crate) fn adam<L: Lane>(
    c: &AdamConfig,
    s: StepScalars,
    p: &L,
    g: L,
    state: &mut [L],
) -> Result<L> {
    let decays = c.weight_decay != 0.0;
    let g = if decays && !c.decoupled {
        g.add(&p.scale(c.weight_decay)?)?
    } else {
        g
    };
    let p = if decays && c.decoupled {
        p.scale(1.0 - s.lr * c.weight_decay)?
    } else {
        p.clone()
    };
    let m = state[0].scale(c.beta1)?.add(&g.scale(1.0 - c.beta1)?)?;
    let v = state[1]
        .scale(c.beta2)?
        .add(&g.mul(&g)?.scale(1.0 - c.beta2)?)?;
    let denom = v.sqrt()?.scale(s.adam_inverse_correction2)?.offset(c.eps)?;
    let new = p.sub(&m.div(&denom)?.scale(s.adam_step_size)?)?;
    state[0] = m;
    state[1] = v;
    Ok(new)
}

/// `torch.optim.RMSprop`: L2 decay, the (centred) second moment, momentum on g/d.
#[inline(always)]
pub(crate) fn rmsprop<L: Lane>(
    c: &RmspropConfig,
    s: StepScalars,
    p: &L,
    g: L,
    state: &mut [L],
) -> Result<L> {
    let g = if c.weight_decay != 0.0 {
        g.add(&p.scale(c.weight_decay)?)?
    } else {
        g
    };
    let v = state[0]
        .scale(c.alpha)?
        .add(&g.mul(&g)?.scale(1.0 - c.alpha)?)?;
    let avg = if c.centered {
        let mean = state[1].scale(c.alpha)?.add(&g.scale(1.0 - c.alpha)?)?;
        let avg = v.sub(&mean.mul(&mean)?)?.sqrt()?.offset(c.eps)?;
        state[1] = mean;
        avg
    } else {
        v.sqrt()?.offset(c.eps)?
    };
    state[0] = v;
    let step = g.div(&avg)?;
    if c.momentum != 0.0 {
        let slot = state.len() - 1;
        let buf = state[slot].scale(c.momentum)?.add(&step)?;
        state[slot] = buf.clone();
        p.sub(&buf.scale(s.lr)?)
    } else {
        p.sub(&step.scale(s.lr)?)
    }
}

/// SAM's ascent step: the perturbed point θ + ρ g/(‖g‖ + 1e-12) is θ + `sam_scale(ρ, ‖g‖)`·g.
/// The 1e-12 guard is the reference implementation's (a zero gradient does not divide by 0).
pub(crate) fn sam_scale(rho: f64, gradient_norm: f64) -> f64 {
    rho / (gradient_norm + 1e-12)
}
