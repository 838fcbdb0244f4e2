//! The same optimisers on flat host vectors, for the CPU training engine
//! ([`crate::train`]): one fused pass over the parameters per step instead of candle's
//! allocating pass per operation (Adam's update was ten of them).
//!
//! Each rule repeats its tensor twin's arithmetic operation by operation (see [`super::sgd`],
//! [`super::adam`], [`super::sam`]), so that the two agree to rounding; `tests.rs` runs both
//! in f64 side by side. Checkpointed state has the same layout as the tensor optimisers'.

use candle_core::WithDType;

use super::{AdamConfig, OptimizerConfig, SamConfig, SgdConfig};
use crate::mlp::{ModelError, Real};

/// An optimiser and its state on flat host vectors of element type `T`.
#[derive(Debug, Clone)]
pub(crate) struct HostOptimizer<T> {
    config: OptimizerConfig,
    /// Adam's first moment (empty for the others).
    m: Vec<T>,
    /// Adam's second moment (empty for the others).
    v: Vec<T>,
    /// Steps taken (Adam's t; kept for all).
    t: u64,
    /// SAM: the perturbed parameters θ + ε̂.
    perturbed: Vec<T>,
    /// SAM: the gradient at θ + ε̂.
    sharp: Vec<T>,
}

impl<T: Real> HostOptimizer<T> {
    /// A fresh optimiser (zero state) for `n` parameters.
    pub(crate) fn new(config: OptimizerConfig, n: usize) -> Self {
        let (moments, sam) = match config {
            OptimizerConfig::Adam(_) => (n, 0),
            OptimizerConfig::Sam(_) => (0, n),
            OptimizerConfig::Sgd(_) => (0, 0),
        };
        Self {
            config,
            m: vec![T::zero(); moments],
            v: vec![T::zero(); moments],
            t: 0,
            perturbed: vec![T::zero(); sam],
            sharp: vec![T::zero(); sam],
        }
    }

    /// Short name for logs and errors.
    pub(crate) fn name(&self) -> &'static str {
        match self.config {
            OptimizerConfig::Sgd(_) => "sgd",
            OptimizerConfig::Adam(_) => "adam",
            OptimizerConfig::Sam(_) => "sam",
        }
    }

    /// One step from `theta` (updated in place). `evaluate(θ, g)` writes the mini-batch
    /// gradient at θ to `g` and returns the mini-batch loss. On return `gradient` holds g_t =
    /// ∇L_B(θ_t) (for SAM the first gradient, as the alignments need), `update` holds
    /// θ_{t+1} − θ_t as computed, and the loss at θ_t is returned.
    pub(crate) fn step(
        &mut self,
        theta: &mut [T],
        gradient: &mut [T],
        update: &mut [T],
        evaluate: &mut dyn FnMut(&[T], &mut [T]) -> f64,
    ) -> f64 {
        let loss = evaluate(theta, gradient);
        self.t += 1;
        match self.config {
            OptimizerConfig::Sgd(SgdConfig { lr }) => descend(theta, gradient, update, lr),
            OptimizerConfig::Sam(SamConfig { lr, rho }) => {
                let norm = gradient
                    .iter()
                    .map(|g| {
                        let g = WithDType::to_f64(*g);
                        g * g
                    })
                    .sum::<f64>()
                    .sqrt();
                let scale = T::from_f64(rho / (norm + 1e-12));
                for ((e, p), g) in self.perturbed.iter_mut().zip(&*theta).zip(&*gradient) {
                    *e = *p + *g * scale;
                }
                evaluate(&self.perturbed, &mut self.sharp);
                descend(theta, &self.sharp, update, lr);
            }
            OptimizerConfig::Adam(AdamConfig {
                lr,
                beta1,
                beta2,
                eps,
            }) => {
                let t = self.t as i32;
                let (b1, c1) = (T::from_f64(beta1), T::from_f64(1.0 - beta1));
                let (b2, c2) = (T::from_f64(beta2), T::from_f64(1.0 - beta2));
                let inv_bc2_sqrt = T::from_f64(1.0 / (1.0 - beta2.powi(t)).sqrt());
                let step_size = T::from_f64(lr / (1.0 - beta1.powi(t)));
                let eps = T::from_f64(eps);
                for ((((p, u), g), m), v) in theta
                    .iter_mut()
                    .zip(update.iter_mut())
                    .zip(&*gradient)
                    .zip(self.m.iter_mut())
                    .zip(self.v.iter_mut())
                {
                    *m = *m * b1 + *g * c1;
                    *v = *v * b2 + *g * *g * c2;
                    let denom = v.sqrt() * inv_bc2_sqrt + eps;
                    let new = *p - (*m / denom) * step_size;
                    *u = new - *p;
                    *p = new;
                }
            }
        }
        loss
    }

    /// What a checkpoint keeps: Adam's (m, v) as flat f64 vectors and t; nothing for SGD and
    /// SAM (the same layout as [`super::Optimizer::state`]).
    pub(crate) fn state(&self) -> (Vec<Vec<f64>>, u64) {
        match self.config {
            OptimizerConfig::Adam(_) => (vec![to_f64s(&self.m), to_f64s(&self.v)], self.t),
            _ => (Vec::new(), 0),
        }
    }

    /// Restores what [`Self::state`] returned.
    ///
    /// # Errors
    /// [`ModelError::Shape`] when the state does not belong to this optimiser or network.
    pub(crate) fn restore(&mut self, state: &[Vec<f64>], steps: u64) -> Result<(), ModelError> {
        match self.config {
            OptimizerConfig::Adam(_) => {
                let [m, v] = state else {
                    return Err(ModelError::Shape(format!(
                        "Adam state needs 2 tensors (m, v), the checkpoint holds {}",
                        state.len()
                    )));
                };
                if m.len() != self.m.len() || v.len() != self.v.len() {
                    return Err(ModelError::FlatLength {
                        expected: self.m.len(),
                        got: if m.len() != self.m.len() {
                            m.len()
                        } else {
                            v.len()
                        },
                    });
                }
                self.m = m.iter().map(|&x| T::from_f64(x)).collect();
                self.v = v.iter().map(|&x| T::from_f64(x)).collect();
                self.t = steps;
                Ok(())
            }
            _ if state.is_empty() && steps == 0 => Ok(()),
            _ => Err(ModelError::Shape(format!(
                "{} keeps no state, but a checkpoint holds {} tensors",
                self.name(),
                state.len()
            ))),
        }
    }
}

/// θ ← θ − η g (in place), recording the update as computed.
fn descend<T: Real>(theta: &mut [T], gradient: &[T], update: &mut [T], lr: f64) {
    let lr = T::from_f64(lr);
    for ((p, u), g) in theta.iter_mut().zip(update.iter_mut()).zip(gradient) {
        let new = *p - *g * lr;
        *u = new - *p;
        *p = new;
    }
}

fn to_f64s<T: Real>(xs: &[T]) -> Vec<f64> {
    xs.iter().map(|&x| WithDType::to_f64(x)).collect()
}
