//! What a sweep will cost: snapshots, Hessian-vector products and disk space, per run and
//! baseline task, before anything runs.
//!
//! Products per eigen-solve are [`products_per_solve`]'s (measured in BENCHMARKS.md; see
//! the `solve` module).
//!
//! Disk: eigenvectors dominate, `snapshots × top_k × N × 4` bytes (float32), with N the
//! number of parameters of the run's network on its data (input width and classes from the
//! dataset, [`RunSpec::parameters`]; a run whose data's shape is not known yet — a directory
//! never read — is estimated without vectors). For the paper's sweep (89,610 parameters, 1,584 snapshots) that is
//! 1.70 GB for a top-3 run, in line with the ~1.7 GB per run the study quotes, and 8.5 GB for
//! a seed-0 run at top-15; storing θ at every snapshot adds 0.57 GB per run. The estimates
//! are of the uncompressed values: float32 eigenvectors hardly compress, so Parquet files
//! come out close to them.

use std::iter::Sum;
use std::ops::Add;

use super::expand::{BaselineTask, RunSpec};
pub use super::solve::{
    cold_solve_floor, products_per_solve, COLD_SOLVE_PRODUCTS_TOP3, TOL_ZERO_FACTOR,
    WARM_SOLVE_PRODUCTS_TOP3,
};
use super::validate::ValidatedSweep;

/// Bytes of one metrics row (step, batch loss, gradient and update norms, eval columns).
pub const METRICS_ROW_BYTES: u64 = 64;
/// Bytes of the scalar columns of one snapshot row (key, step, index, eigenvalue, residual,
/// flags, IPR, alignments), besides its eigenvector.
pub const SNAPSHOT_ROW_BYTES: u64 = 96;

/// Estimated cost of one run or baseline task, or of a sum of them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Estimate {
    /// Eigen-solves (snapshots; one per baseline network).
    pub snapshots: u64,
    /// Hessian-vector products.
    pub products: u64,
    /// Bytes of eigenvectors.
    pub eigenvector_bytes: u64,
    /// Bytes of stored parameter vectors θ.
    pub weight_bytes: u64,
    /// Bytes of everything else: metrics rows and the snapshots' scalar columns.
    pub table_bytes: u64,
}

impl Estimate {
    /// Total bytes written.
    pub fn bytes(&self) -> u64 {
        self.eigenvector_bytes
            .saturating_add(self.weight_bytes)
            .saturating_add(self.table_bytes)
    }
}

impl Add for Estimate {
    type Output = Estimate;

    fn add(self, o: Estimate) -> Estimate {
        Estimate {
            snapshots: self.snapshots.saturating_add(o.snapshots),
            products: self.products.saturating_add(o.products),
            eigenvector_bytes: self.eigenvector_bytes.saturating_add(o.eigenvector_bytes),
            weight_bytes: self.weight_bytes.saturating_add(o.weight_bytes),
            table_bytes: self.table_bytes.saturating_add(o.table_bytes),
        }
    }
}

impl Sum for Estimate {
    fn sum<I: Iterator<Item = Estimate>>(iter: I) -> Estimate {
        iter.fold(Estimate::default(), Add::add)
    }
}

/// Estimated cost of a training run: a cold solve at its first snapshot, warm ones after.
pub fn estimate_run(run: &RunSpec) -> Estimate {
    let params = run.parameters().unwrap_or(0);
    let snapshots = run.snapshot_steps.len() as u64;
    let k = run.eigen.top_k as u64;
    let products = match snapshots {
        0 => 0,
        n => products_per_solve(&run.eigen, false)
            .saturating_add((n - 1).saturating_mul(products_per_solve(&run.eigen, true))),
    };
    // Saturating products: a sweep with absurd sizes gets an absurd estimate, not a panic.
    let mul = |factors: &[u64]| factors.iter().fold(1u64, |a, &b| a.saturating_mul(b));
    let products =
        products.saturating_add(run.statistics.products(&run.snapshot_steps, &run.eigen));
    let metrics_rows = run.steps.div_ceil(run.log_every.max(1));
    Estimate {
        snapshots,
        products,
        eigenvector_bytes: mul(&[snapshots, k, params, 4]),
        weight_bytes: if run.store_weights {
            mul(&[snapshots, params, 4])
        } else {
            0
        },
        table_bytes: mul(&[metrics_rows, METRICS_ROW_BYTES]).saturating_add(mul(&[
            snapshots,
            k,
            SNAPSHOT_ROW_BYTES,
        ])),
    }
}

/// Estimated cost of one baseline network: one cold solve.
pub fn estimate_baseline(task: &BaselineTask) -> Estimate {
    let k = task.eigen.top_k as u64;
    Estimate {
        snapshots: 1,
        products: products_per_solve(&task.eigen, false),
        eigenvector_bytes: k
            .saturating_mul(task.parameters().unwrap_or(0))
            .saturating_mul(4),
        weight_bytes: 0,
        table_bytes: k * SNAPSHOT_ROW_BYTES,
    }
}

/// Every run and baseline task of a sweep with its estimate.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The runs, in [`ValidatedSweep::runs`] order.
    pub runs: Vec<(RunSpec, Estimate)>,
    /// The baseline tasks, in [`ValidatedSweep::baseline_tasks`] order.
    pub baseline: Vec<(BaselineTask, Estimate)>,
}

impl Plan {
    /// Expands `sweep` and estimates each unit of work.
    pub fn new(sweep: &ValidatedSweep) -> Self {
        Plan {
            runs: sweep
                .runs()
                .into_iter()
                .map(|r| {
                    let e = estimate_run(&r);
                    (r, e)
                })
                .collect(),
            baseline: sweep
                .baseline_tasks()
                .into_iter()
                .map(|t| {
                    let e = estimate_baseline(&t);
                    (t, e)
                })
                .collect(),
        }
    }

    /// Sum over the runs.
    pub fn runs_total(&self) -> Estimate {
        self.runs.iter().map(|(_, e)| *e).sum()
    }

    /// Sum over the baseline tasks.
    pub fn baseline_total(&self) -> Estimate {
        self.baseline.iter().map(|(_, e)| *e).sum()
    }
}

/// Bytes in decimal units with three significant digits: `950 B`, `1.70 GB`, `54.5 GB`.
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 6] = ["B", "kB", "MB", "GB", "TB", "PB"];
    if bytes < 1000 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 999.5 && unit + 1 < UNITS.len() {
        value /= 1000.0;
        unit += 1;
    }
    let digits = if value < 9.995 {
        2
    } else if value < 99.95 {
        1
    } else {
        0
    };
    format!("{value:.digits$} {}", UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_units() {
        assert_eq!(human_bytes(950), "950 B");
        assert_eq!(human_bytes(114_840), "115 kB");
        assert_eq!(human_bytes(1_703_307_520), "1.70 GB");
        assert_eq!(human_bytes(54_500_000_000), "54.5 GB");
        assert_eq!(human_bytes(999_999), "1.00 MB");
    }
}
