//! The update rules on flat host vectors, for the CPU training engine ([`crate::train`]):
//! [`super::rule`] applied element by element in one fused pass over the parameters, instead
//! of candle's allocating pass per operation (Adam's update was ten of them).
//!
//! The state is one flat vector per slot (Adam's m and v), the checkpoint's layout.

use candle_core::WithDType;

use super::rule::{self, StepScalars};
use super::tensor::check_state_shape;
use super::{BaseOptimizer, OptimizerConfig};
use crate::mlp::Real;
use crate::WorkerError;

/// An optimiser and its state on flat host vectors of element type `T`.
#[derive(Debug, Clone)]
pub(crate) struct HostOptimizer<T> {
    config: OptimizerConfig,
    /// The state: one vector per slot ([`BaseOptimizer::state_names`]).
    state: Vec<Vec<T>>,
    /// Steps taken.
    t: u64,
    /// SAM: the perturbed parameters θ + ε̂.
    perturbed: Vec<T>,
    /// SAM: the gradient at θ + ε̂.
    sharp: Vec<T>,
}

impl<T: Real> HostOptimizer<T> {
    /// A fresh optimiser (zero state) for `n` parameters.
    pub(crate) fn new(config: OptimizerConfig, n: usize) -> Self {
        let slots = config.base().state_names().len();
        let sam = if config.sam_rho().is_some() { n } else { 0 };
        Self {
            config,
            state: vec![vec![T::zero(); n]; slots],
            t: 0,
            perturbed: vec![T::zero(); sam],
            sharp: vec![T::zero(); sam],
        }
    }

    /// One step from `theta` (updated in place) at learning rate `lr`. `evaluate(θ, g)` writes
    /// the mini-batch gradient at θ to `g` and returns the mini-batch loss. On return
    /// `gradient` holds g_t = ∇L_B(θ_t) (for SAM the first gradient, as the alignments need),
    /// `update` holds θ_{t+1} − θ_t as computed, and the loss at θ_t is returned.
    pub(crate) fn step(
        &mut self,
        theta: &mut [T],
        gradient: &mut [T],
        update: &mut [T],
        lr: f64,
        evaluate: &mut dyn FnMut(&[T], &mut [T]) -> f64,
    ) -> f64 {
        let loss = evaluate(theta, gradient);
        self.t += 1;
        let scalars = StepScalars::new(&self.config.base(), lr, self.t);
        let descent: &[T] = match self.config.sam_rho() {
            Some(rho) => {
                let norm = gradient
                    .iter()
                    .map(|g| {
                        let g = WithDType::to_f64(*g);
                        g * g
                    })
                    .sum::<f64>()
                    .sqrt();
                let scale = T::from_f64(rule::sam_scale(rho, norm));
                for ((e, p), g) in self.perturbed.iter_mut().zip(&*theta).zip(&*gradient) {
                    *e = *p + *g * scale;
                }
                evaluate(&self.perturbed, &mut self.sharp);
                &self.sharp
            }
            None => gradient,
        };
        let base = self.config.base();
        let state = &mut self.state;
        match state.len() {
            0 => apply_all::<T, 0>(&base, scalars, theta, update, descent, state),
            1 => apply_all::<T, 1>(&base, scalars, theta, update, descent, state),
            2 => apply_all::<T, 2>(&base, scalars, theta, update, descent, state),
            _ => apply_all::<T, 3>(&base, scalars, theta, update, descent, state),
        }
        loss
    }

    /// What a checkpoint keeps: each state slot as a flat f64 vector, and t; nothing (and 0)
    /// for a rule without state (the layout of [`super::TensorOptimizer::state`]).
    pub(crate) fn state(&self) -> (Vec<Vec<f64>>, u64) {
        if self.state.is_empty() {
            return (Vec::new(), 0);
        }
        let slots = self
            .state
            .iter()
            .map(|slot| slot.iter().map(|&x| WithDType::to_f64(x)).collect())
            .collect();
        (slots, self.t)
    }

    /// Restores what [`Self::state`] returned.
    ///
    /// # Errors
    /// [`WorkerError::ShapeMismatch`] when the state does not belong to this optimiser,
    /// [`WorkerError::FlatLength`] when it belongs to another network.
    pub(crate) fn restore(&mut self, state: &[Vec<f64>], steps: u64) -> Result<(), WorkerError> {
        check_state_shape(&self.config, state, steps)?;
        let Some(n) = self.state.first().map(Vec::len) else {
            return Ok(());
        };
        if let Some(bad) = state.iter().find(|s| s.len() != n) {
            return Err(WorkerError::FlatLength {
                expected: n,
                got: bad.len(),
            });
        }
        self.state = state
            .iter()
            .map(|slot| slot.iter().map(|&x| T::from_f64(x)).collect())
            .collect();
        self.t = steps;
        Ok(())
    }
}

/// θ ← rule(θ, g, state) element by element, recording the update as computed. `S` is the
/// number of state slots; `state` holds one vector per slot (slot-major, so that each loop
/// reads contiguous memory and vectorises).
#[inline(always)]
fn apply_all<T: Real, const S: usize>(
    rule: &BaseOptimizer,
    s: StepScalars,
    theta: &mut [T],
    update: &mut [T],
    gradient: &[T],
    state: &mut [Vec<T>],
) {
    // One loop per rule, so that the rule's arithmetic is inlined into a loop of its own.
    match rule {
        BaseOptimizer::Sgd(c) => each::<T, S>(theta, update, gradient, state, |p, g, slots| {
            rule::sgd(c, s, p, g, slots)
        }),
        BaseOptimizer::Adam(c) => each::<T, S>(theta, update, gradient, state, |p, g, slots| {
            rule::adam(c, s, p, g, slots)
        }),
        BaseOptimizer::Rmsprop(c) => each::<T, S>(theta, update, gradient, state, |p, g, slots| {
            rule::rmsprop(c, s, p, g, slots)
        }),
    }
}

#[inline(always)]
fn each<T: Real, const S: usize>(
    theta: &mut [T],
    update: &mut [T],
    gradient: &[T],
    state: &mut [Vec<T>],
    f: impl Fn(&T, T, &mut [T]) -> candle_core::Result<T>,
) {
    let n = theta.len();
    let (update, gradient) = (&mut update[..n], &gradient[..n]);
    let slots: &mut [Vec<T>; S] = match state.try_into() {
        Ok(slots) => slots,
        Err(_) => unreachable!("the optimiser keeps S state slots"),
    };
    let mut slices: [&mut [T]; S] = slots.each_mut().map(|v| &mut v[..n]);
    for i in 0..n {
        let mut lanes: [T; S] = std::array::from_fn(|k| slices[k][i]);
        let p = theta[i];
        // Element arithmetic cannot fail: `Lane for T` always returns `Ok`.
        if let Ok(new) = f(&p, gradient[i], &mut lanes) {
            update[i] = new - p;
            theta[i] = new;
        }
        for (slice, lane) in slices.iter_mut().zip(lanes) {
            slice[i] = lane;
        }
    }
}
