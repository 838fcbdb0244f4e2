//! The per-snapshot statistics a sweep may ask for besides the top-k eigenpairs, all off by
//! default: Hutchinson's trace (`snapshots.trace`), the spectral density by stochastic Lanczos
//! quadrature (`snapshots.density`) and the optimiser's preconditioned spectrum
//! (`snapshots.preconditioned`).
//!
//! Everything the sweep side knows about them is here: their validation, what one run of them
//! is ([`SnapshotStatistics`], carried whole from the run's spec into the worker's plan) and
//! their Hessian-vector products for `plan`; only their sections of the sweep file live
//! apart, in `statistic_sections`, because [`SnapshotSpec`] holds them. A new statistic adds
//! its section there, its check, field and products here and one field in [`SnapshotSpec`];
//! on the worker's side, one file under `run/statistics/` (its measurement, table and state),
//! one line in that module's `KINDS`, and its table's row in the `output` module's re-exports
//! and table list.

use serde::Serialize;

use super::checker::Checker;
use super::file::SnapshotSpec;
use super::resolved::{EigenSettings, NamedOptimizer};
use super::solve::{products_per_solve, SOLVER_GUARD};
use super::statistic_sections::DensitySpec;

/// Most Hutchinson probes per snapshot a sweep may ask for: each is one Hessian-vector
/// product, and the estimate's standard error falls only as 1/√probes.
pub const MAX_TRACE_PROBES: usize = 10_000;
/// Most eigenpairs of the preconditioned Hessian per snapshot.
pub const MAX_PRECONDITIONED_TOP_K: usize = 50;
/// Most stochastic Lanczos quadrature probes per snapshot.
pub const MAX_DENSITY_PROBES: usize = 1_000;
/// Most Lanczos steps per quadrature probe: each keeps a basis vector per step, for a block
/// of probes at a time (300 steps × 4 probes of the paper's 89,610 parameters: 0.9 GB).
pub const MAX_DENSITY_STEPS: usize = 300;

/// The statistics one run measures at each snapshot, resolved from the sweep's `snapshots`
/// section for that run's optimiser. Part of the run's key (flattened into
/// [`RunSpec`](super::RunSpec)), each field absent when off, so a run without a statistic keeps
/// the key it had before the statistic existed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct SnapshotStatistics {
    /// Hutchinson probes per snapshot for the Hessian's trace; `None` = no trace.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trace_probes: Option<usize>,
    /// Stochastic Lanczos quadrature of the Hessian's spectrum at every snapshot; `None` =
    /// none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub density: Option<DensitySpec>,
    /// Eigenpairs of the preconditioned Hessian per snapshot; set only for runs of an
    /// optimiser with a diagonal preconditioner (Adam, AdamW, RMSprop, or SAM on one).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preconditioned_top_k: Option<usize>,
}

impl SnapshotStatistics {
    /// What `snapshots` asks of a run of `optimizer`.
    pub fn for_run(snapshots: &SnapshotSpec, optimizer: &NamedOptimizer) -> Self {
        Self {
            trace_probes: snapshots.trace.map(|t| t.probes),
            density: snapshots.density,
            preconditioned_top_k: snapshots
                .preconditioned
                .filter(|_| optimizer.has_preconditioner())
                .map(|p| p.top_k),
        }
    }

    /// Hessian-vector products over a run with these snapshot steps and eigen settings: the
    /// trace's probes and the density's probes × steps at every snapshot; the preconditioned
    /// solve at every snapshot after step 0 (no preconditioner before the first step), cold
    /// first and warm-started from the previous vectors after that. Saturating: absurd sizes
    /// give an absurd estimate, not a panic.
    pub fn products(&self, snapshot_steps: &[u64], eigen: &EigenSettings) -> u64 {
        let snapshots = snapshot_steps.len() as u64;
        let trace = snapshots.saturating_mul(self.trace_probes.unwrap_or(0) as u64);
        let (probes, steps) = self.density.map_or((0, 0), |d| (d.probes, d.steps));
        let density = snapshots
            .saturating_mul(probes as u64)
            .saturating_mul(steps as u64);
        let preconditioned = match self.preconditioned_top_k {
            Some(top_k) => {
                let eigen = EigenSettings { top_k, ..*eigen };
                match snapshot_steps.iter().filter(|&&s| s > 0).count() as u64 {
                    0 => 0,
                    n => products_per_solve(&eigen, false)
                        .saturating_add((n - 1).saturating_mul(products_per_solve(&eigen, true))),
                }
            }
            None => 0,
        };
        trace.saturating_add(density).saturating_add(preconditioned)
    }
}

/// Checks the statistics' sections of `snapshots`; `budget` is the smallest product budget of
/// any seed's solves and `params` the network's parameter count.
pub(super) fn check_statistics(c: &mut Checker, s: &SnapshotSpec, budget: usize, params: u64) {
    if let Some(density) = s.density {
        for (field, value, max) in [
            ("probes", density.probes, MAX_DENSITY_PROBES),
            ("steps", density.steps, MAX_DENSITY_STEPS),
        ] {
            let path = format!("snapshots.density.{field}");
            c.at_least(&path, value as u64, 1);
            if value > max {
                c.fail(
                    &path,
                    value.to_string(),
                    format!("expected at most {max} (probes × steps Hessian-vector products at every snapshot)"),
                );
            }
        }
    }
    if let Some(p) = s.preconditioned {
        let path = "snapshots.preconditioned.top_k";
        c.eigen_k(path, p.top_k, params);
        if p.top_k > MAX_PRECONDITIONED_TOP_K {
            c.fail(
                path,
                p.top_k.to_string(),
                format!("expected at most {MAX_PRECONDITIONED_TOP_K}"),
            );
        } else if p.top_k >= 1
            && p.top_k as u64 <= params
            && p.top_k.saturating_add(SOLVER_GUARD) > budget
        {
            // The preconditioned solve runs with the snapshot's product budget: the smallest
            // one of any seed's runs must hold its start block, as for the plain solve.
            c.fail(
                path,
                p.top_k.to_string(),
                format!(
                    "expected at most max_products − {SOLVER_GUARD} = {} (the preconditioned \
                     solve shares the snapshot's product budget; the smallest of snapshots and \
                     extra_eigen)",
                    budget.saturating_sub(SOLVER_GUARD)
                ),
            );
        }
    }
    if let Some(trace) = s.trace {
        c.at_least("snapshots.trace.probes", trace.probes as u64, 1);
        if trace.probes > MAX_TRACE_PROBES {
            c.fail(
                "snapshots.trace.probes",
                trace.probes.to_string(),
                format!("expected at most {MAX_TRACE_PROBES} (one Hessian-vector product each, at every snapshot)"),
            );
        }
    }
}
