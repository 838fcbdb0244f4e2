//! The Hessian's spectral density at every snapshot (`snapshots.density`): stochastic Lanczos
//! quadrature, one Gauss quadrature (Ritz nodes and weights) per probe, into the `density`
//! table, one row per node of each probe, so that any broadening can be applied when reading.

use std::path::Path;

use crate::output::read_parts;
use crate::output::schema::{run_key_description, snapshot_step_description};
use crate::output::Row;

use super::{Kind, SnapshotStatistic};
use crate::eigen::{lanczos_quadrature, EigenOptions, Quadrature, SymmetricOperator};
use crate::rng::{derived_seed, Stream};
use crate::run::plan::RunPlan;
use crate::run::table::Table;
use crate::snapshot::OperatorStatistic;
use crate::WorkerError;

struct Density {
    probes: usize,
    steps: usize,
    table: Table<DensityRow>,
    measured: Option<Vec<Quadrature>>,
}

/// The density statistic in the run's list.
pub(super) const KIND: Kind = Kind {
    table: <DensityRow as Row>::TABLE,
    open: for_plan,
};

fn for_plan(
    plan: &RunPlan,
    dir: &Path,
    parts: &[(String, u32)],
) -> Result<Option<Box<dyn SnapshotStatistic>>, WorkerError> {
    let (probes, steps) = plan
        .statistics
        .density
        .map_or((0, 0), |d| (d.probes, d.steps));
    let on = probes > 0 && steps > 0;
    let table = Table::open(dir, parts, on)?;
    Ok(on.then(|| {
        Box::new(Density {
            probes,
            steps,
            table,
            measured: None,
        }) as Box<dyn SnapshotStatistic>
    }))
}

impl OperatorStatistic for Density {
    fn measure(
        &mut self,
        op: &mut dyn SymmetricOperator,
        (seed, index): (u64, u64),
        _solve: &EigenOptions,
    ) -> Result<usize, WorkerError> {
        let seed = derived_seed(seed, Stream::DensityProbes, index);
        let quadratures = lanczos_quadrature(op, self.probes, self.steps, seed)?;
        let products = quadratures.iter().map(|q| q.nodes.len()).sum();
        self.measured = Some(quadratures);
        Ok(products)
    }
}

impl SnapshotStatistic for Density {
    fn commit(&mut self, run_key: &str, t: u64) {
        for (p, q) in self.measured.take().iter().flatten().enumerate() {
            for (&node, &weight) in q.nodes.iter().zip(&q.weights) {
                self.table.push(DensityRow {
                    run_key: run_key.to_string(),
                    step: t,
                    probe: p as u64 + 1,
                    node,
                    weight,
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
        <DensityRow as Row>::TABLE
    }

    fn part(&self) -> Option<(String, u32)> {
        self.table.part()
    }
}

crate::table! {
    /// One Ritz node of one probe's quadrature at one snapshot.
    pub struct DensityRow;
    table = "density",
    description = "One row per Ritz node of each stochastic Lanczos quadrature probe at each snapshot of a run with snapshots.density set: the Hessian's eigenvalue density before broadening.",
    {
        run_key: String = Utf8 run_key_description!(),
        step: u64 = Int64 snapshot_step_description!(),
        probe: u64 = Int64 "Probe number (1-based) of stochastic Lanczos quadrature (Ubaru, Chen & Saad 2017; PyHessian's density): a Rademacher vector from the run seed's density stream, one sub-stream per snapshot.",
        node: f64 = Float64 "A Ritz node: an eigenvalue of the probe's Lanczos tridiagonal (snapshots.density.steps steps, full reorthogonalisation) of the loss Hessian on the snapshot's Hessian samples.",
        weight: f64 = Float64 "The node's Gauss quadrature weight (squared first component of its tridiagonal eigenvector); a probe's weights sum to 1. The density is the mean over probes of Σ weight·δ(λ − node), broadened (e.g. Gaussian) when drawn.",
    }
}

/// All density rows of a run's `density` directory, parts in order (none when the directory
/// is missing: the run did not ask for the density).
pub fn read_density_rows(dir: &Path) -> Result<Vec<DensityRow>, WorkerError> {
    read_parts(dir)
}
