//! What a run's launch trains with: its own [`Trainer`], or its place in a fused ensemble
//! ([`EnsembleTrainer`]) that several launches of one thread share.
//!
//! The launches of an ensemble go through each step in two phases (see
//! `run::ensemble`): every member takes its snapshot and evaluation at θ_t first, then the
//! first member to ask for its step t → t+1 steps the whole ensemble, and the others read
//! their result. A member whose run ends (done, diverged, stopped, failed) leaves the
//! ensemble; the others' numbers do not change.

use std::cell::RefCell;
use std::rc::Rc;

use super::ensemble::EnsembleTrainer;
use super::{OrderPosition, StepRecord, StepVectors, Trainer, TrainingEngine};
use crate::mlp::Params;
use crate::WorkerError;

/// The ensemble its members' launches share (one thread), and where each member sits in it.
struct Shared {
    trainer: EnsembleTrainer,
    /// Member id → its index in the ensemble now (`None` once it left).
    index: Vec<Option<usize>>,
    /// The last step's losses, read back once per ensemble step (ensemble step they belong
    /// to, losses by index).
    losses: Option<(u64, Vec<f64>)>,
}

/// One member's handle on a shared ensemble.
pub struct EnsembleMember {
    shared: Rc<RefCell<Shared>>,
    id: usize,
    /// Steps this member has taken (the ensemble may be one ahead between the phases).
    steps: u64,
}

impl EnsembleMember {
    /// Handles for every member of `trainer`, in its order.
    pub fn split(trainer: EnsembleTrainer) -> Vec<EnsembleMember> {
        let (members, steps) = (trainer.len(), trainer.steps());
        let shared = Rc::new(RefCell::new(Shared {
            trainer,
            index: (0..members).map(Some).collect(),
            losses: None,
        }));
        (0..members)
            .map(|id| EnsembleMember {
                shared: Rc::clone(&shared),
                id,
                steps,
            })
            .collect()
    }

    fn index(&self) -> Result<usize, WorkerError> {
        self.shared.borrow().index[self.id].ok_or_else(|| {
            WorkerError::ShapeMismatch(format!("ensemble member {} has left the ensemble", self.id))
        })
    }

    /// Leaves the ensemble (its run ended); the other members go on unchanged. Idempotent.
    ///
    /// # Errors
    /// A tensor error while the ensemble is re-stacked without it.
    pub fn leave(&self) -> Result<(), WorkerError> {
        let mut shared = self.shared.borrow_mut();
        let Some(i) = shared.index[self.id] else {
            return Ok(());
        };
        shared.trainer.remove_member(i)?;
        shared.index[self.id] = None;
        for slot in shared.index.iter_mut().flatten() {
            if *slot > i {
                *slot -= 1;
            }
        }
        if let Some((_, losses)) = &mut shared.losses {
            losses.remove(i);
        }
        Ok(())
    }

    fn step(&mut self) -> Result<StepRecord, WorkerError> {
        let i = self.index()?;
        let mut shared = self.shared.borrow_mut();
        if shared.trainer.steps() == self.steps {
            // The first member to ask takes the step for all.
            shared.trainer.step()?;
        }
        let now = shared.trainer.steps();
        if shared.losses.as_ref().is_none_or(|(at, _)| *at != now) {
            let losses = shared.trainer.losses()?.unwrap_or_default();
            shared.losses = Some((now, losses));
        }
        self.steps += 1;
        let loss = shared.losses.as_ref().map_or(f64::NAN, |(_, l)| l[i]);
        Ok(StepRecord {
            step: self.steps,
            loss,
        })
    }
}

impl Drop for EnsembleMember {
    fn drop(&mut self) {
        // A member whose launch is dropped (an error) must not hold the others back.
        let _ = self.leave();
    }
}

/// A launch's trainer: its own, or a member of a fused ensemble.
pub enum RunTrainer {
    /// The run trains alone.
    Own(Trainer),
    /// The run is a member of an ensemble that steps for all its members.
    Member(EnsembleMember),
}

impl RunTrainer {
    /// Steps taken.
    pub fn steps(&self) -> u64 {
        match self {
            RunTrainer::Own(t) => t.steps(),
            RunTrainer::Member(m) => m.steps,
        }
    }

    /// The step t → t+1 (for a member: the ensemble's, taken by the first member to ask).
    ///
    /// # Errors
    /// A tensor error from the device.
    pub fn step(&mut self) -> Result<StepRecord, WorkerError> {
        match self {
            RunTrainer::Own(t) => t.step(),
            RunTrainer::Member(m) => m.step(),
        }
    }

    /// θ as device tensors.
    ///
    /// # Errors
    /// A tensor error.
    pub fn params(&self) -> Result<Params, WorkerError> {
        match self {
            RunTrainer::Own(t) => t.params(),
            RunTrainer::Member(m) => m.shared.borrow().trainer.member_params(m.index()?),
        }
    }

    /// θ as a flat f64 vector.
    ///
    /// # Errors
    /// A tensor error.
    pub fn params_flat(&self) -> Result<Vec<f64>, WorkerError> {
        match self {
            RunTrainer::Own(t) => t.params_flat(),
            RunTrainer::Member(m) => m.shared.borrow().trainer.params_flat(m.index()?),
        }
    }

    /// g_t and θ_{t+1} − θ_t of the last step.
    ///
    /// # Errors
    /// A tensor error.
    pub fn last_step_vectors(&self) -> Result<Option<StepVectors>, WorkerError> {
        match self {
            RunTrainer::Own(t) => t.last_step_vectors(),
            RunTrainer::Member(m) => m.shared.borrow().trainer.last_step_vectors(m.index()?),
        }
    }

    /// (‖g_t‖, ‖θ_{t+1} − θ_t‖) of the last step.
    ///
    /// # Errors
    /// A tensor error.
    pub fn last_norms(&self) -> Result<Option<(f64, f64)>, WorkerError> {
        match self {
            RunTrainer::Own(t) => t.last_norms(),
            RunTrainer::Member(m) => m.shared.borrow().trainer.last_norms(m.index()?),
        }
    }

    /// The optimiser's state for a checkpoint.
    ///
    /// # Errors
    /// A tensor error.
    pub fn optimizer_state(&self) -> Result<(Vec<Vec<f64>>, u64), WorkerError> {
        match self {
            RunTrainer::Own(t) => t.optimizer_state(),
            RunTrainer::Member(m) => m.shared.borrow().trainer.optimizer_state(m.index()?),
        }
    }

    /// The batch order's position.
    pub fn order_position(&self) -> OrderPosition {
        match self {
            RunTrainer::Own(t) => t.order_position(),
            RunTrainer::Member(m) => {
                let shared = m.shared.borrow();
                match shared.index[m.id] {
                    Some(i) => shared.trainer.order_position(i),
                    None => OrderPosition {
                        epoch: 0,
                        offset: 0,
                    },
                }
            }
        }
    }

    /// The engine whose arithmetic the steps follow: an ensemble member's are the tensor
    /// engine's (bit for bit on the CPU; `train::ensemble`), so its checkpoint resumes on it.
    pub fn engine(&self) -> TrainingEngine {
        match self {
            RunTrainer::Own(t) => t.engine(),
            RunTrainer::Member(_) => TrainingEngine::Tensors,
        }
    }

    /// Leaves the ensemble, for a member whose run ends; nothing for a run alone.
    ///
    /// # Errors
    /// A tensor error while the ensemble is re-stacked.
    pub fn leave(&self) -> Result<(), WorkerError> {
        match self {
            RunTrainer::Own(_) => Ok(()),
            RunTrainer::Member(m) => m.leave(),
        }
    }
}
