//! Choosing the minimum of each optimiser: the run with the best final test accuracy, and
//! its θ at the last step.

use eigensweep_analysis::catalog::RunEntry;
use eigensweep_worker::output::{read_table, WeightRow};

use crate::inputs::Inputs;
use crate::state::RunStatus;
use crate::ReportError;

/// The chosen run of one optimiser and its final parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct BestRun {
    /// Optimiser name.
    pub optimizer: String,
    /// Seed.
    pub seed: u64,
    /// Run key.
    pub run_key: String,
    /// Step of θ.
    pub step: u64,
    /// The run's final test accuracy.
    pub test_accuracy: f64,
    /// θ at `step`, widened to f64.
    pub theta: Vec<f64>,
}

/// Whether the run may be chosen as its optimiser's minimum: only a finished run has its
/// final θ (a diverged or failed one is never a minimum, and an unfinished one's θ will
/// change).
fn selectable(inputs: &Inputs, run: &RunEntry) -> bool {
    inputs
        .state
        .find(&run.dataset, &run.optimizer, run.seed)
        .is_some_and(|s| s.status == RunStatus::Done)
}

/// Per optimiser of `dataset` (sweep order), the finished run with the best final test
/// accuracy (ties: the smallest seed) among those with a test accuracy and a stored θ.
/// Unfinished, diverged and failed runs are not candidates ([`not_selectable`] lists them).
pub fn best_runs(inputs: &Inputs, dataset: &str) -> Result<Vec<BestRun>, ReportError> {
    let mut best = Vec::new();
    for optimizer in inputs.optimizers(dataset) {
        let mut chosen: Option<(f64, usize)> = None;
        for (i, run) in inputs.runs(dataset, &optimizer) {
            if run.theta_steps.is_empty() || !selectable(inputs, run) {
                continue;
            }
            let last = inputs.metrics[i]
                .iter()
                .filter(|m| m.test_accuracy.is_some())
                .max_by_key(|m| m.step)
                .and_then(|m| m.test_accuracy);
            if let Some(acc) = last {
                if chosen.is_none_or(|(best, _)| acc > best) {
                    chosen = Some((acc, i));
                }
            }
        }
        if let Some((acc, i)) = chosen {
            let run = &inputs.catalog.runs[i];
            let (step, theta) = final_theta(run)?;
            best.push(BestRun {
                optimizer,
                seed: run.seed,
                run_key: run.run_key.clone(),
                step,
                test_accuracy: acc,
                theta,
            });
        }
    }
    Ok(best)
}

/// The runs of `dataset` that were not candidates for a minimum, with why ("mnist/adam/3:
/// diverged at step 4"), and the optimisers left without any candidate.
pub fn not_selectable(inputs: &Inputs, dataset: &str) -> Vec<String> {
    let mut notes: Vec<String> = inputs
        .state
        .of_dataset(dataset)
        .filter(|r| r.status != RunStatus::Done)
        .map(|r| format!("{}: {}", r.label(), r.status.describe()))
        .collect();
    let mut optimizers: Vec<&str> = Vec::new();
    for r in inputs.state.of_dataset(dataset) {
        if !optimizers.contains(&r.optimizer.as_str()) {
            optimizers.push(&r.optimizer);
        }
    }
    for o in optimizers {
        let any = inputs
            .state
            .of_dataset(dataset)
            .any(|r| r.optimizer == o && r.status == RunStatus::Done);
        if !any {
            notes.push(format!("{dataset}/{o}: no finished run, no minimum"));
        }
    }
    notes
}

/// θ at the run's last stored step, reading only the part that holds it.
pub fn final_theta(run: &RunEntry) -> Result<(u64, Vec<f64>), ReportError> {
    let missing = || ReportError::data(&run.dirs.weights, "no θ stored");
    let step = *run.theta_steps.iter().next_back().ok_or_else(missing)?;
    let part = run
        .weight_parts
        .iter()
        .find(|p| p.steps.contains(&step))
        .ok_or_else(missing)?;
    let row = read_table::<WeightRow>(&part.path)?
        .into_iter()
        .find(|r| r.step == step)
        .ok_or_else(missing)?;
    Ok((step, row.theta.iter().map(|&v| f64::from(v)).collect()))
}
