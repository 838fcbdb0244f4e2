//! Fused ensembles: M runs of one architecture, dataset and batch size trained in lockstep as
//! one step over stacked parameters `[M, …]` (issue 24).
//!
//! Why: one run's step on a GPU is ~50 kernel launches of a few microseconds' work each, so a
//! GPU runs one small MLP at a fraction of its speed; stacking M runs makes each launch do M
//! runs' work (the model-ensembling recipe of PyTorch's `torch.func.stack_module_state` +
//! `vmap`, JAX's `vmap` over seeds, HFTA). The forward and backward passes are batched
//! matrix products (`[M, B, in] × [M, in, out]`: cuBLAS strided-batched GEMM on CUDA, one
//! `gemm` call per member on the CPU); the optimiser's update runs once per *group* of
//! adjacent members with the same optimiser settings and schedule, over their slice of the
//! stack, with the same update rule the single-run engines use (`optim/rule.rs`).
//!
//! Each member keeps its own seed (its batch order), optimiser kind and hyperparameters,
//! learning-rate schedule and state. The mini-batch losses stay on the device until
//! [`EnsembleTrainer::losses`] is asked for (the log interval), so a plain step reads nothing
//! back to the host, except SAM's ‖g‖ per member (one scalar each; see below).
//!
//! Equality with the runs trained alone: on candle's CPU backend every operation is the one
//! the tensor engine ([`super::TrainingEngine::Tensors`]) runs on a single run, applied to each
//! member's slice (batched products call `gemm` once per member with the same shapes; element
//! passes and per-row reductions are the same arithmetic), so an ensemble's members follow the
//! tensor engine bit for bit — tested for SGD (plain, momentum/Nesterov/decay), Adam, AdamW,
//! RMSprop and SAM on two bases, mixed in one ensemble (`ensemble_tests.rs`). On CUDA,
//! strided-batched GEMM may block differently from single GEMMs: equal to f32 rounding.
//!
//! Shapes: weights `[M, out, in]`, biases `[M, 1, out]` (the middle axis broadcasts over the
//! batch), inputs `[M, B, in]`, one-hot targets `[M, B, classes]`.

use candle_core::{DType, Tensor, D};

use super::data::DeviceData;
use super::order::{BatchOrder, OrderPosition};
use super::{ResumePoint, StepVectors};
use crate::mlp::{Architecture, Params};
use crate::optim::rule::{self, StepScalars};
use crate::optim::tensor::check_state_shape;
use crate::optim::{LrSchedule, OptimizerConfig};
use crate::WorkerError;

/// One run of an ensemble as it joins: its parameters, optimiser, schedule and seed, and the
/// checkpoint it resumes from (`None`: from step 0).
#[derive(Debug, Clone)]
pub struct MemberSpec {
    /// θ at the starting step, on the ensemble's device and dtype.
    pub params: Params,
    /// Optimiser kind and hyperparameters (the base learning rate among them).
    pub config: OptimizerConfig,
    /// The learning-rate schedule.
    pub schedule: LrSchedule,
    /// The run's seed: its batch order is the one [`BatchOrder::new`] gives it.
    pub seed: u64,
    /// Where it resumes (step, batch order, optimiser state); all members at the same step.
    pub resume: Option<ResumePoint>,
}

/// Per-member bookkeeping that is not a tensor.
#[derive(Debug, Clone)]
struct Member {
    config: OptimizerConfig,
    schedule: LrSchedule,
    order: BatchOrder,
}

/// Adjacent members with equal optimiser settings and schedule, updated as one slice.
#[derive(Debug, Clone)]
struct Group {
    /// First member (index into the stack) and count.
    start: usize,
    len: usize,
    /// State slots (`BaseOptimizer::state_names`), each a list of stacked tensors in
    /// [`Params::tensors`]' order (weight then bias per layer), `[len, …]`.
    state: Vec<Vec<Tensor>>,
    /// Optimiser steps taken (equal for the members: they step together).
    t: u64,
}

/// Stacked weights and biases of all members.
#[derive(Debug, Clone)]
struct Stack {
    weights: Vec<Tensor>,
    biases: Vec<Tensor>,
}

impl Stack {
    fn from_members(params: &[&Params]) -> Result<Self, WorkerError> {
        let layers = params[0].architecture().num_layers();
        let mut weights = Vec::with_capacity(layers);
        let mut biases = Vec::with_capacity(layers);
        for l in 0..layers {
            let w: Vec<&Tensor> = params.iter().map(|p| p.weight(l)).collect();
            weights.push(Tensor::stack(&w, 0)?);
            let b: Vec<Tensor> = params
                .iter()
                .map(|p| p.bias(l).unsqueeze(0))
                .collect::<candle_core::Result<_>>()?;
            biases.push(Tensor::stack(&b, 0)?);
        }
        Ok(Self { weights, biases })
    }

    /// Weight then bias per layer (the flat layout's order), as [`Params::tensors`].
    fn interleaved(&self) -> Vec<Tensor> {
        self.weights
            .iter()
            .zip(&self.biases)
            .flat_map(|(w, b)| [w.clone(), b.clone()])
            .collect()
    }

    fn from_interleaved(tensors: Vec<Tensor>) -> Self {
        let (mut weights, mut biases) = (Vec::new(), Vec::new());
        for (i, t) in tensors.into_iter().enumerate() {
            if i % 2 == 0 {
                weights.push(t);
            } else {
                biases.push(t);
            }
        }
        Self { weights, biases }
    }

    /// Member `i` as single-run parameters.
    fn member(&self, arch: &Architecture, i: usize) -> Result<Params, WorkerError> {
        let weights = self
            .weights
            .iter()
            .map(|w| w.narrow(0, i, 1)?.squeeze(0))
            .collect::<candle_core::Result<_>>()?;
        let biases = self
            .biases
            .iter()
            .map(|b| b.narrow(0, i, 1)?.flatten_all())
            .collect::<candle_core::Result<_>>()?;
        Params::from_tensors(arch, weights, biases)
    }

    /// The members `keep` (in order), as a new stack.
    fn select(&self, keep: &[usize]) -> Result<Self, WorkerError> {
        Ok(Self::from_interleaved(
            self.interleaved()
                .iter()
                .map(|t| select_rows(t, keep))
                .collect::<Result<_, _>>()?,
        ))
    }

    /// `self − other`, tensor by tensor.
    fn sub(&self, other: &Stack) -> Result<Self, WorkerError> {
        Ok(Self::from_interleaved(
            self.interleaved()
                .iter()
                .zip(other.interleaved())
                .map(|(a, b)| a - b)
                .collect::<candle_core::Result<_>>()?,
        ))
    }
}

/// The rows `keep` of `t` along axis 0, concatenated.
fn select_rows(t: &Tensor, keep: &[usize]) -> Result<Tensor, WorkerError> {
    let parts: Vec<Tensor> = keep
        .iter()
        .map(|&i| t.narrow(0, i, 1))
        .collect::<candle_core::Result<_>>()?;
    Ok(Tensor::cat(&parts, 0)?)
}

/// Forward pass of the stack on `x` `[M, B, in]`: hidden activations and logits.
fn forward(stack: &Stack, x: &Tensor) -> Result<(Vec<Tensor>, Tensor), WorkerError> {
    let layers = stack.weights.len();
    let mut hidden = Vec::with_capacity(layers - 1);
    let mut a = x.clone();
    for l in 0..layers {
        let z = a
            .matmul(&stack.weights[l].transpose(1, 2)?)?
            .broadcast_add(&stack.biases[l])?;
        if l + 1 == layers {
            return Ok((hidden, z));
        }
        a = z.relu()?;
        hidden.push(a.clone());
    }
    unreachable!("an architecture has at least one layer")
}

/// Per member, the summed mini-batch cross-entropy (`[M]`, on the device) and the gradient of
/// the mean, as [`crate::mlp::loss_and_gradient`] computes them for one run.
fn loss_and_gradient(
    stack: &Stack,
    x: &Tensor,
    onehot: &Tensor,
) -> Result<(Tensor, Stack), WorkerError> {
    let (members, n) = (x.dim(0)?, x.dim(1)?);
    let (hidden, logits) = forward(stack, x)?;
    let m = logits.max_keepdim(D::Minus1)?;
    let e = logits.broadcast_sub(&m)?.exp()?;
    let s = e.sum_keepdim(D::Minus1)?;
    let probs = e.broadcast_div(&s)?;
    let picked = (&logits * onehot)?.sum_keepdim(D::Minus1)?;
    let rows = ((s.log()? + m)? - picked)?;
    // One sum per member over its own rows, as the single run's `sum_all`.
    let sums: Vec<Tensor> = (0..members)
        .map(|i| rows.narrow(0, i, 1)?.sum_all())
        .collect::<candle_core::Result<_>>()?;
    let loss_sums = Tensor::stack(&sums, 0)?;
    let mut delta = ((probs - onehot)? / n as f64)?;
    let layers = stack.weights.len();
    let mut weights = vec![None; layers];
    let mut biases = vec![None; layers];
    for l in (0..layers).rev() {
        let input = if l == 0 { x } else { &hidden[l - 1] };
        weights[l] = Some(delta.transpose(1, 2)?.matmul(input)?);
        biases[l] = Some(delta.sum_keepdim(1)?);
        if l > 0 {
            let upstream = delta.matmul(&stack.weights[l])?;
            let mask = hidden[l - 1].gt(0.0)?.to_dtype(delta.dtype())?;
            delta = (upstream * mask)?;
        }
    }
    Ok((
        loss_sums,
        Stack {
            weights: weights.into_iter().map(|w| w.expect("visited")).collect(),
            biases: biases.into_iter().map(|b| b.expect("visited")).collect(),
        },
    ))
}

/// The last step's gradient and the parameters it started from (the update is their
/// difference, taken only when asked for).
#[derive(Debug, Clone)]
struct LastStep {
    gradient: Stack,
    previous: Stack,
}

/// M runs trained in lockstep over stacked parameters (see the module's docs).
#[derive(Debug, Clone)]
pub struct EnsembleTrainer {
    arch: Architecture,
    params: Stack,
    members: Vec<Member>,
    groups: Vec<Group>,
    data: DeviceData,
    batch_size: usize,
    step: u64,
    last: Option<LastStep>,
    /// Summed mini-batch losses of the last step, `[M]`, on the device.
    loss_sums: Option<Tensor>,
    /// Rows in the last step's batch.
    last_batch: usize,
}

impl EnsembleTrainer {
    /// An ensemble of `members` (at least one; same architecture, dtype and device as `data`;
    /// all at the same step) trained on `data` in batches of `batch_size`.
    ///
    /// # Errors
    /// [`WorkerError::ShapeMismatch`] when members differ in architecture, dtype, device or
    /// starting step, or an optimiser state does not fit its optimiser; a tensor error while
    /// stacking.
    pub fn new(
        members: Vec<MemberSpec>,
        data: DeviceData,
        batch_size: usize,
    ) -> Result<Self, WorkerError> {
        let first = members.first().ok_or_else(|| {
            WorkerError::ShapeMismatch("an ensemble needs at least one member".into())
        })?;
        let arch = first.params.architecture().clone();
        let (dtype, device) = (first.params.dtype(), first.params.device().clone());
        let step = first.resume.as_ref().map_or(0, |p| p.step);
        for (i, m) in members.iter().enumerate() {
            let same = m.params.architecture() == &arch
                && m.params.dtype() == dtype
                && m.params.device().same_device(&device);
            if !same {
                return Err(WorkerError::ShapeMismatch(format!(
                    "ensemble member {i} differs from member 0 in architecture, dtype or device"
                )));
            }
            if m.resume.as_ref().map_or(0, |p| p.step) != step {
                return Err(WorkerError::ShapeMismatch(format!(
                    "ensemble member {i} resumes at another step than member 0 ({step}): members step together"
                )));
            }
        }
        let stack = Stack::from_members(&members.iter().map(|m| &m.params).collect::<Vec<_>>())?;
        let mut groups: Vec<Group> = Vec::new();
        for (i, m) in members.iter().enumerate() {
            let joins = groups.last().is_some_and(|g| {
                let head = &members[g.start];
                head.config == m.config && head.schedule == m.schedule
            });
            if joins {
                groups.last_mut().expect("checked").len += 1;
            } else {
                groups.push(Group {
                    start: i,
                    len: 1,
                    state: Vec::new(),
                    t: 0,
                });
            }
        }
        for g in &mut groups {
            let head = &members[g.start];
            let slots = head.config.base().state_names().len();
            let t = head.resume.as_ref().map_or(0, |p| p.optimizer_steps);
            let mut state = Vec::with_capacity(slots);
            for slot in 0..slots {
                let mut per_member = Vec::with_capacity(g.len);
                for m in &members[g.start..g.start + g.len] {
                    let p = match &m.resume {
                        Some(point) => {
                            check_state_shape(
                                &m.config,
                                &point.optimizer_state,
                                point.optimizer_steps,
                            )?;
                            if point.optimizer_steps != t {
                                return Err(WorkerError::ShapeMismatch(
                                    "ensemble members of one optimiser group have taken different numbers of optimiser steps".into(),
                                ));
                            }
                            Params::from_flat(&arch, &point.optimizer_state[slot], dtype, &device)?
                        }
                        None => Params::zeros(&arch, dtype, &device)?,
                    };
                    per_member.push(p);
                }
                let refs: Vec<&Params> = per_member.iter().collect();
                state.push(Stack::from_members(&refs)?.interleaved());
            }
            if slots == 0 {
                if let Some(point) = &head.resume {
                    check_state_shape(&head.config, &point.optimizer_state, point.optimizer_steps)?;
                }
            }
            g.state = state;
            g.t = t;
        }
        let len = data.len();
        let members = members
            .into_iter()
            .map(|m| Member {
                order: match &m.resume {
                    Some(p) => BatchOrder::resume(len, batch_size, m.seed, p.position),
                    None => BatchOrder::new(len, batch_size, m.seed),
                },
                config: m.config,
                schedule: m.schedule,
            })
            .collect();
        Ok(Self {
            arch,
            params: stack,
            members,
            groups,
            data,
            batch_size,
            step,
            last: None,
            loss_sums: None,
            last_batch: 0,
        })
    }

    /// Members still in the ensemble.
    pub fn len(&self) -> usize {
        self.members.len()
    }

    /// Whether no member is left.
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// Steps taken (by every member).
    pub fn steps(&self) -> u64 {
        self.step
    }

    /// η_t of member `i`'s next step.
    pub fn next_lr(&self, i: usize) -> f64 {
        let m = &self.members[i];
        m.schedule.lr(m.config.lr(), self.step)
    }

    /// One optimiser step for every member on its own next mini-batch. Nothing is read back
    /// to the host except, for SAM members, ‖g‖ (one scalar each).
    ///
    /// # Errors
    /// A tensor error from the device.
    pub fn step(&mut self) -> Result<(), WorkerError> {
        let mut xs = Vec::with_capacity(self.members.len());
        let mut ys = Vec::with_capacity(self.members.len());
        for m in &mut self.members {
            let (x, y) = self.data.batch(m.order.next_batch())?;
            xs.push(x);
            ys.push(y);
        }
        let x = Tensor::stack(&xs, 0)?;
        let onehot = Tensor::stack(&ys, 0)?;
        self.last_batch = x.dim(1)?;
        let (loss_sums, gradient) = loss_and_gradient(&self.params, &x, &onehot)?;
        let descent = self.sam_descent(&x, &onehot, &gradient)?;
        let mut updated: Vec<Vec<Tensor>> = Vec::with_capacity(self.groups.len());
        let params = self.params.interleaved();
        let descent = descent.interleaved();
        for g in &mut self.groups {
            let config = self.members[g.start].config;
            let m = &self.members[g.start];
            let lr = m.schedule.lr(config.lr(), self.step);
            g.t += 1;
            let scalars = StepScalars::new(&config.base(), lr, g.t);
            let base = config.base();
            let mut new = Vec::with_capacity(params.len());
            for (j, (p, d)) in params.iter().zip(&descent).enumerate() {
                let p = p.narrow(0, g.start, g.len)?;
                let d = d.narrow(0, g.start, g.len)?;
                let mut lanes: Vec<Tensor> = g.state.iter().map(|s| s[j].clone()).collect();
                new.push(rule::apply(&base, scalars, &p, d, &mut lanes)?);
                for (k, lane) in lanes.into_iter().enumerate() {
                    g.state[k][j] = lane;
                }
            }
            updated.push(new);
        }
        let next = if updated.len() == 1 {
            updated.pop().expect("one group")
        } else {
            (0..params.len())
                .map(|j| {
                    let parts: Vec<&Tensor> = updated.iter().map(|u| &u[j]).collect();
                    Tensor::cat(&parts, 0)
                })
                .collect::<candle_core::Result<_>>()?
        };
        let previous = std::mem::replace(&mut self.params, Stack::from_interleaved(next));
        self.last = Some(LastStep { gradient, previous });
        self.loss_sums = Some(loss_sums);
        self.step += 1;
        Ok(())
    }

    /// The gradient each member descends along: its mini-batch gradient, or for SAM members
    /// the gradient at θ + ρ g/(‖g‖ + 1e-12) on the same batch (computed for the SAM members
    /// only, as one stacked pass).
    fn sam_descent(
        &self,
        x: &Tensor,
        onehot: &Tensor,
        gradient: &Stack,
    ) -> Result<Stack, WorkerError> {
        let sam: Vec<(usize, f64)> = self
            .members
            .iter()
            .enumerate()
            .filter_map(|(i, m)| m.config.sam_rho().map(|rho| (i, rho)))
            .collect();
        if sam.is_empty() {
            return Ok(gradient.clone());
        }
        // Per member, exactly the single run's arithmetic: ‖g‖ summed in f64 tensor by
        // tensor, then θ + g·scale.
        let mut perturbed = Vec::with_capacity(sam.len());
        for &(i, rho) in &sam {
            let g = gradient.member(&self.arch, i)?;
            let scale = rule::sam_scale(rho, g.squared_norm()?.sqrt());
            let p = self.params.member(&self.arch, i)?;
            perturbed.push(p.zip_map(&g, |p, g| p + (g * scale)?)?);
        }
        let refs: Vec<&Params> = perturbed.iter().collect();
        let at = Stack::from_members(&refs)?;
        let rows: Vec<usize> = sam.iter().map(|&(i, _)| i).collect();
        let (_, second) =
            loss_and_gradient(&at, &select_rows(x, &rows)?, &select_rows(onehot, &rows)?)?;
        // Members in order: the SAM ones from `second`, the others their own gradient.
        let mut k = 0;
        let mut pick = Vec::with_capacity(self.members.len());
        for i in 0..self.members.len() {
            if rows.get(k) == Some(&i) {
                pick.push((true, k));
                k += 1;
            } else {
                pick.push((false, i));
            }
        }
        let merged = gradient
            .interleaved()
            .iter()
            .zip(second.interleaved())
            .map(|(own, sam)| {
                let parts: Vec<Tensor> = pick
                    .iter()
                    .map(|&(is_sam, j)| {
                        if is_sam {
                            sam.narrow(0, j, 1)
                        } else {
                            own.narrow(0, j, 1)
                        }
                    })
                    .collect::<candle_core::Result<_>>()?;
                Tensor::cat(&parts, 0)
            })
            .collect::<candle_core::Result<_>>()?;
        Ok(Stack::from_interleaved(merged))
    }

    /// The last step's mean mini-batch loss of every member (at θ_{t−1}); read back from the
    /// device now. `None` before the first step.
    ///
    /// # Errors
    /// A tensor error while copying.
    pub fn losses(&self) -> Result<Option<Vec<f64>>, WorkerError> {
        let Some(sums) = &self.loss_sums else {
            return Ok(None);
        };
        let n = self.last_batch as f64;
        Ok(Some(
            sums.to_dtype(DType::F64)?
                .to_vec1::<f64>()?
                .into_iter()
                .map(|s| s / n)
                .collect(),
        ))
    }

    /// Member `i`'s θ as single-run tensors.
    ///
    /// # Errors
    /// A tensor error.
    pub fn member_params(&self, i: usize) -> Result<Params, WorkerError> {
        self.params.member(&self.arch, i)
    }

    /// Member `i`'s θ as a flat f64 vector.
    ///
    /// # Errors
    /// A tensor error.
    pub fn params_flat(&self, i: usize) -> Result<Vec<f64>, WorkerError> {
        self.member_params(i)?.to_flat()
    }

    /// Member `i`'s last gradient g_t (for SAM the one at θ_t) and update θ_{t+1} − θ_t;
    /// `None` before the first step.
    ///
    /// # Errors
    /// A tensor error.
    pub fn last_step_vectors(&self, i: usize) -> Result<Option<StepVectors>, WorkerError> {
        let Some(last) = &self.last else {
            return Ok(None);
        };
        let update = self.params.sub(&last.previous)?;
        Ok(Some(StepVectors {
            gradient: last.gradient.member(&self.arch, i)?.to_flat()?,
            update: update.member(&self.arch, i)?.to_flat()?,
        }))
    }

    /// (‖g_t‖, ‖θ_{t+1} − θ_t‖) of member `i`'s last step; `None` before the first.
    ///
    /// # Errors
    /// A tensor error.
    pub fn last_norms(&self, i: usize) -> Result<Option<(f64, f64)>, WorkerError> {
        let Some(last) = &self.last else {
            return Ok(None);
        };
        let g = last.gradient.member(&self.arch, i)?;
        let u = self
            .params
            .member(&self.arch, i)?
            .zip_map(&last.previous.member(&self.arch, i)?, |new, old| new - old)?;
        Ok(Some((g.squared_norm()?.sqrt(), u.squared_norm()?.sqrt())))
    }

    fn group_of(&self, i: usize) -> &Group {
        self.groups
            .iter()
            .find(|g| (g.start..g.start + g.len).contains(&i))
            .expect("every member is in a group")
    }

    /// Member `i`'s optimiser state for a checkpoint, as [`super::Trainer::optimizer_state`]
    /// gives it for the same run trained alone.
    ///
    /// # Errors
    /// A tensor error.
    pub fn optimizer_state(&self, i: usize) -> Result<(Vec<Vec<f64>>, u64), WorkerError> {
        let g = self.group_of(i);
        if g.state.is_empty() {
            return Ok((Vec::new(), 0));
        }
        let flat = g
            .state
            .iter()
            .map(|slot| {
                Stack::from_interleaved(slot.clone())
                    .member(&self.arch, i - g.start)?
                    .to_flat()
            })
            .collect::<Result<_, _>>()?;
        Ok((flat, g.t))
    }

    /// Member `i`'s batch order position (for its checkpoint).
    pub fn order_position(&self, i: usize) -> OrderPosition {
        self.members[i].order.position()
    }

    /// The training data the members share.
    pub fn data(&self) -> &DeviceData {
        &self.data
    }

    /// The batch size of every member.
    pub fn batch_size(&self) -> usize {
        self.batch_size
    }

    /// Takes member `i` out (a run that diverged, or finished): the others go on, their
    /// numbers unchanged; later members' indices shift down by one. Its last values are
    /// read before, if wanted.
    ///
    /// # Errors
    /// [`WorkerError::ShapeMismatch`] for an index out of range; a tensor error.
    pub fn remove_member(&mut self, i: usize) -> Result<(), WorkerError> {
        if i >= self.members.len() {
            return Err(WorkerError::ShapeMismatch(format!(
                "no ensemble member {i} (there are {})",
                self.members.len()
            )));
        }
        let keep: Vec<usize> = (0..self.members.len()).filter(|&j| j != i).collect();
        self.members.remove(i);
        if keep.is_empty() {
            self.groups.clear();
            self.last = None;
            self.loss_sums = None;
            return Ok(());
        }
        self.params = self.params.select(&keep)?;
        if let Some(last) = &self.last {
            self.last = Some(LastStep {
                gradient: last.gradient.select(&keep)?,
                previous: last.previous.select(&keep)?,
            });
        }
        if let Some(sums) = &self.loss_sums {
            self.loss_sums = Some(select_rows(sums, &keep)?);
        }
        let mut groups = Vec::with_capacity(self.groups.len());
        for mut g in std::mem::take(&mut self.groups) {
            let range = g.start..g.start + g.len;
            if range.contains(&i) {
                if g.len == 1 {
                    continue;
                }
                let local: Vec<usize> = (0..g.len).filter(|&j| j != i - g.start).collect();
                g.state = g
                    .state
                    .iter()
                    .map(|slot| slot.iter().map(|t| select_rows(t, &local)).collect())
                    .collect::<Result<_, _>>()?;
                g.len -= 1;
            } else if g.start > i {
                g.start -= 1;
            }
            groups.push(g);
        }
        self.groups = groups;
        Ok(())
    }
}
