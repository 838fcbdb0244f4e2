//! The optimiser's preconditioned spectrum at every snapshot (`snapshots.preconditioned`):
//! the top eigenpairs of P^(−1/2) H P^(−1/2) with the diagonal preconditioner of Adam,
//! AdamW, RMSprop (or SAM's base when it is one of them) at that step, solved cold from the
//! run seed's own stream at the first snapshot and warm-started from the previous snapshot's
//! vectors after it (checkpointed with the run), into the `preconditioned` table. None at
//! step 0, where Adam's v̂ is 0/0.

use std::path::Path;

use super::SnapshotStatistic;
use crate::eigen::{
    top_k_eigenpairs, DiagonallyScaled, EigenError, EigenOptions, EigenResult, SymmetricOperator,
};
use crate::optim::{preconditioner_scale, BaseOptimizer, LrSchedule};
use crate::output::PreconditionedRow;
use crate::rng::{derived_seed, Stream};
use crate::run::executor::{RunError, RunPlan};
use crate::run::tables::Table;
use crate::snapshot::{warm_start_vectors, OperatorStatistic};
use crate::train::Trainer;

struct Preconditioned {
    top_k: usize,
    rule: BaseOptimizer,
    /// The rate of the step after snapshot t (see [`preconditioner_rate`]).
    rates: Rates,
    /// N, the length of every warm-start vector.
    params: usize,
    table: Table<PreconditionedRow>,
    /// D = P^(−1/2) at the coming snapshot (`None` before the first step).
    scale: Option<Vec<f64>>,
    measured: Option<EigenResult>,
    /// The last committed solve's vectors (wanted and guard), the next solve's warm start.
    warm: Vec<Vec<f64>>,
}

/// The rule whose diagonal preconditioner `plan` asks the preconditioned Hessian of.
fn preconditioner_rule(plan: &RunPlan) -> Option<BaseOptimizer> {
    let base = plan.optimizer.base();
    (plan.snapshot.preconditioned_top_k > 0 && base.kind().has_preconditioner()).then_some(base)
}

/// What the preconditioner's learning rate follows: the base rate, its schedule and the
/// training length.
#[derive(Debug, Clone, Copy)]
struct Rates {
    lr: f64,
    schedule: LrSchedule,
    steps: u64,
}

impl Rates {
    fn of(plan: &RunPlan) -> Self {
        Self {
            lr: plan.optimizer.lr(),
            schedule: plan.lr_schedule,
            steps: plan.steps,
        }
    }

    /// The learning rate of the preconditioner at snapshot `t`: that of the step t → t+1, or,
    /// at the last snapshot (no step follows), of the last step taken — a cosine schedule's
    /// rate after the last step is `min_lr`, 0 by default, which would make P⁻¹ vanish.
    fn at(&self, t: u64) -> f64 {
        self.schedule
            .lr(self.lr, t.min(self.steps.saturating_sub(1)))
    }
}

/// [`Rates::at`] for `plan`.
#[cfg(test)]
pub(in crate::run) fn preconditioner_rate(plan: &RunPlan, t: u64) -> f64 {
    Rates::of(plan).at(t)
}

pub(super) fn for_plan(
    plan: &RunPlan,
    dir: &Path,
    parts: &[(String, u32)],
) -> Result<Option<Box<dyn SnapshotStatistic>>, RunError> {
    let rule = preconditioner_rule(plan);
    let table = Table::open(dir, parts, rule.is_some())?;
    Ok(rule.map(|rule| {
        Box::new(Preconditioned {
            top_k: plan.snapshot.preconditioned_top_k,
            rule,
            rates: Rates::of(plan),
            params: plan.arch.num_params(),
            table,
            scale: None,
            measured: None,
            warm: Vec::new(),
        }) as Box<dyn SnapshotStatistic>
    }))
}

impl OperatorStatistic for Preconditioned {
    fn measure(
        &mut self,
        op: &mut dyn SymmetricOperator,
        (seed, index): (u64, u64),
        solve: &EigenOptions,
    ) -> Result<usize, EigenError> {
        let Some(scale) = &self.scale else {
            return Ok(0);
        };
        let options = EigenOptions {
            k: self.top_k,
            seed: derived_seed(seed, Stream::PreconditionedStart, index),
            ..*solve
        };
        let mut scaled = DiagonallyScaled { op, scale };
        let previous = (!self.warm.is_empty()).then_some(self.warm.as_slice());
        let result = top_k_eigenpairs(&mut scaled, &options, previous)?;
        let products = result.products;
        self.measured = Some(result);
        Ok(products)
    }
}

impl SnapshotStatistic for Preconditioned {
    fn prepare(&mut self, trainer: &Trainer, t: u64) -> Result<(), RunError> {
        let (state, steps) = trainer.optimizer_state()?;
        let rate = self.rates.at(t);
        self.scale = preconditioner_scale(&self.rule, rate, &state, steps);
        Ok(())
    }

    fn commit(&mut self, run_key: &str, t: u64) {
        if let Some(result) = self.measured.take() {
            self.warm = warm_start_vectors(&result);
            for (i, pair) in result.pairs.iter().enumerate() {
                self.table.push(PreconditionedRow {
                    run_key: run_key.to_string(),
                    step: t,
                    index: i as u32 + 1,
                    eigenvalue: pair.value,
                    residual: pair.residual,
                    converged: pair.converged,
                    products: result.products as u64,
                });
            }
        }
    }

    fn discard(&mut self) {
        self.measured = None;
    }

    fn flush(&mut self) -> Result<(), RunError> {
        self.table.flush()
    }

    fn table(&self) -> &'static str {
        <PreconditionedRow as crate::output::TableRow>::TABLE
    }

    fn state(&self) -> Vec<Vec<f64>> {
        self.warm.clone()
    }

    fn restore(&mut self, state: Vec<Vec<f64>>) -> Result<(), RunError> {
        let n = self.params;
        if let Some(bad) = state.iter().find(|v| v.len() != n) {
            return Err(RunError::Plan(format!(
                "the checkpoint's preconditioned warm start has vectors of length {}, the \
                 network {n} parameters",
                bad.len()
            )));
        }
        self.warm = state;
        Ok(())
    }

    fn part(&self) -> Option<(String, u32)> {
        self.table.part()
    }
}
