//! The optimiser's preconditioned spectrum at every snapshot (`snapshots.preconditioned`):
//! the top eigenpairs of P^(−1/2) H P^(−1/2) with the diagonal preconditioner of Adam,
//! AdamW, RMSprop (or SAM's base when it is one of them) at that step, solved cold from the
//! run seed's own stream at the first snapshot and warm-started from the previous snapshot's
//! vectors after it (checkpointed with the run), into the `preconditioned` table. None at
//! step 0, where Adam's v̂ is 0/0 and RMSprop's v has seen no gradient.
//!
//! Its table, `preconditioned`, holds the top eigenvalues of the preconditioned Hessian
//! `P^(−1/2) H P^(−1/2)` at each snapshot after step 0 of such a run, next to the plain λ of the
//! snapshots table.

use std::path::Path;

use crate::output::read_parts;
use crate::output::schema::{run_key_description, snapshot_step_description};
use crate::output::Row;

use super::{Kind, SnapshotStatistic};
use crate::eigen::{
    top_k_eigenpairs, DiagonallyScaled, EigenOptions, EigenResult, SymmetricOperator,
};
use crate::optim::{preconditioner_scale, BaseOptimizer, LrSchedule};
use crate::rng::{derived_seed, Stream};
use crate::run::plan::RunPlan;
use crate::run::table::Table;
use crate::snapshot::{warm_start_vectors, OperatorStatistic};
use crate::train::RunTrainer;
use crate::WorkerError;

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
    let top_k = plan.statistics.preconditioned_top_k.unwrap_or(0);
    (top_k > 0 && base.kind().has_preconditioner()).then_some(base)
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

/// The preconditioned statistic in the run's list.
pub(super) const KIND: Kind = Kind {
    table: <PreconditionedRow as Row>::TABLE,
    open: for_plan,
};

fn for_plan(
    plan: &RunPlan,
    dir: &Path,
    parts: &[(String, u32)],
) -> Result<Option<Box<dyn SnapshotStatistic>>, WorkerError> {
    let rule = preconditioner_rule(plan);
    let table = Table::open(dir, parts, rule.is_some())?;
    Ok(rule.map(|rule| {
        Box::new(Preconditioned {
            top_k: plan.statistics.preconditioned_top_k.unwrap_or(0),
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
    ) -> Result<usize, WorkerError> {
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
    fn prepare(&mut self, trainer: &RunTrainer, t: u64) -> Result<(), WorkerError> {
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

    fn flush(&mut self) -> Result<(), WorkerError> {
        self.table.flush()
    }

    fn table(&self) -> &'static str {
        <PreconditionedRow as Row>::TABLE
    }

    fn state(&self) -> Vec<Vec<f64>> {
        self.warm.clone()
    }

    fn restore(&mut self, state: Vec<Vec<f64>>) -> Result<(), WorkerError> {
        let n = self.params;
        if let Some(bad) = state.iter().find(|v| v.len() != n) {
            return Err(WorkerError::InvalidPlan(format!(
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

crate::table! {
    /// One eigenvalue of the preconditioned Hessian at one snapshot.
    pub struct PreconditionedRow;
    table = "preconditioned",
    description = "One row per snapshot after step 0 and eigen-index of a run of an optimiser with a diagonal preconditioner (Adam, AdamW, RMSprop, SAM on one) with snapshots.preconditioned set: the top eigenvalues of the preconditioned Hessian.",
    {
        run_key: String = Utf8 run_key_description!(),
        step: u64 = Int64 snapshot_step_description!(),
        index: u32 = Int64 "Eigen-index, 1 = largest.",
        eigenvalue: f64 = Float64 "Eigenvalue of P^(−1/2) H P^(−1/2), with the optimiser's diagonal preconditioner at this step, at the learning rate lr of the step that follows it (at the last snapshot, of the last step taken): Adam and AdamW P = diag(√v̂ + ε)/lr (v̂ the bias-corrected second moment), RMSprop P = diag(√v + ε)/lr (centred: √(v − ḡ²) + ε), SAM that of its base. The eigenvalues of P⁻¹H, the curvature the update sees (index 1: the preconditioned sharpness of Cohen et al. 2022). Not defined at step 0 (no row).",
        residual: f64 = Float64 "‖Av − λv‖ of the pair returned by the solver (A the preconditioned Hessian), as for the plain eigenpairs.",
        converged: bool = Boolean "Whether the pair met residual ≤ tol·|λ| (the snapshot's tol).",
        products: u64 = Int64 "Hessian-vector products of this solve: cold (seeded from the run) at the run's first row, warm-started from the previous snapshot's vectors after it.",
    }
}

/// All rows of a run's `preconditioned` directory, parts in order (none when the directory is
/// missing).
pub fn read_preconditioned_rows(dir: &Path) -> Result<Vec<PreconditionedRow>, WorkerError> {
    read_parts(dir)
}
