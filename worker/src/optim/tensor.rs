//! The update rules on candle tensors, for the tensor training engine (any device; CUDA's):
//! [`super::rule`] applied tensor by tensor, one device pass per operation.

use candle_core::Tensor;

use super::rule::{self, StepScalars};
use super::{GradientFn, OptimizerConfig, StepOutcome};
use crate::mlp::Params;
use crate::WorkerError;

/// An optimiser and its state as tensors shaped like the parameters.
#[derive(Debug, Clone)]
pub struct TensorOptimizer {
    config: OptimizerConfig,
    /// One set of tensors per state slot ([`super::BaseOptimizer::state_names`]).
    state: Vec<Params>,
    /// Steps taken.
    t: u64,
}

impl TensorOptimizer {
    /// Zero state for `config`, shaped like `like`.
    ///
    /// # Errors
    /// A tensor error while allocating the state.
    pub fn new(config: OptimizerConfig, like: &Params) -> Result<Self, WorkerError> {
        let zeros = Params::zeros(like.architecture(), like.dtype(), like.device())?;
        Ok(Self {
            config,
            state: vec![zeros; config.base().state_names().len()],
            t: 0,
        })
    }

    /// Steps taken so far.
    pub fn steps(&self) -> u64 {
        self.t
    }

    /// One step from `params` at learning rate `lr` (the schedule's η_t), with `grad`
    /// evaluating the mini-batch loss and gradient (twice for SAM, on the same batch).
    ///
    /// # Errors
    /// A tensor error from the gradient or the update.
    pub fn step(
        &mut self,
        params: &Params,
        lr: f64,
        grad: &mut GradientFn<'_>,
    ) -> Result<StepOutcome, WorkerError> {
        let (loss, gradient) = grad(params)?;
        let descent = match self.config.sam_rho() {
            Some(rho) => {
                let scale = rule::sam_scale(rho, gradient.squared_norm()?.sqrt());
                let perturbed = params.zip_map(&gradient, |p, g| p + (g * scale)?)?;
                grad(&perturbed)?.1
            }
            None => gradient.clone(),
        };
        self.t += 1;
        let scalars = StepScalars::new(&self.config.base(), lr, self.t);
        let base = self.config.base();
        let slots = self.state.len();
        let mut state: Vec<Vec<Tensor>> = self
            .state
            .iter()
            .map(|s| s.tensors().cloned().collect())
            .collect();
        let mut new = Vec::new();
        for (j, (p, g)) in params.tensors().zip(descent.tensors()).enumerate() {
            let mut lanes: Vec<Tensor> = (0..slots).map(|k| state[k][j].clone()).collect();
            new.push(rule::apply(&base, scalars, p, g.clone(), &mut lanes)?);
            for (k, lane) in lanes.into_iter().enumerate() {
                state[k][j] = lane;
            }
        }
        let arch = params.architecture();
        self.state = state
            .into_iter()
            .map(|tensors| Params::from_interleaved(arch, tensors))
            .collect();
        Ok(StepOutcome {
            params: Params::from_interleaved(arch, new),
            loss,
            gradient,
        })
    }

    /// Short name for logs ("sgd", "adamw", "sam", …).
    pub fn name(&self) -> &'static str {
        self.config.kind().name()
    }

    /// The state a checkpoint keeps: each slot as a flat f64 vector, and the step counter;
    /// nothing (and 0) for a rule without state, as the checkpoints of plain SGD and SAM
    /// always had.
    ///
    /// # Errors
    /// A tensor error while copying the state to the host.
    pub fn state(&self) -> Result<(Vec<Vec<f64>>, u64), WorkerError> {
        if self.state.is_empty() {
            return Ok((Vec::new(), 0));
        }
        let flat = self
            .state
            .iter()
            .map(Params::to_flat)
            .collect::<Result<_, _>>()?;
        Ok((flat, self.t))
    }

    /// Restores what [`TensorOptimizer::state`] returned.
    ///
    /// # Errors
    /// [`WorkerError::ShapeMismatch`] when the state does not belong to this optimiser;
    /// [`WorkerError::FlatLength`] when it belongs to another network.
    pub fn restore(&mut self, state: &[Vec<f64>], steps: u64) -> Result<(), WorkerError> {
        check_state_shape(&self.config, state, steps)?;
        if let Some(first) = self.state.first() {
            let (arch, dtype, device) = (
                first.architecture().clone(),
                first.dtype(),
                first.device().clone(),
            );
            self.state = state
                .iter()
                .map(|flat| Params::from_flat(&arch, flat, dtype, &device))
                .collect::<Result<_, _>>()?;
            self.t = steps;
        }
        Ok(())
    }
}

/// Checks that a checkpoint's optimiser state has the slots `config`'s rule keeps.
pub(crate) fn check_state_shape(
    config: &OptimizerConfig,
    state: &[Vec<f64>],
    steps: u64,
) -> Result<(), WorkerError> {
    let names = config.base().state_names();
    let name = config.kind().name();
    if names.is_empty() {
        if state.is_empty() && steps == 0 {
            return Ok(());
        }
        return Err(WorkerError::ShapeMismatch(format!(
            "{name} keeps no state, but a checkpoint holds {} tensors",
            state.len()
        )));
    }
    if state.len() != names.len() {
        return Err(WorkerError::ShapeMismatch(format!(
            "{name} state needs {} tensors ({}), the checkpoint holds {}",
            names.len(),
            names.join(", "),
            state.len()
        )));
    }
    Ok(())
}
