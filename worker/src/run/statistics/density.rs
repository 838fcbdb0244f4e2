//! The Hessian's spectral density at every snapshot (`snapshots.density`): stochastic Lanczos
//! quadrature, one Gauss quadrature (Ritz nodes and weights) per probe, into the `density`
//! table.

use std::path::Path;

use super::SnapshotStatistic;
use crate::eigen::{lanczos_quadrature, EigenError, EigenOptions, Quadrature, SymmetricOperator};
use crate::output::DensityRow;
use crate::rng::{derived_seed, Stream};
use crate::run::executor::{RunError, RunPlan};
use crate::run::tables::Table;
use crate::snapshot::OperatorStatistic;

struct Density {
    probes: usize,
    steps: usize,
    table: Table<DensityRow>,
    measured: Option<Vec<Quadrature>>,
}

pub(super) fn for_plan(
    plan: &RunPlan,
    dir: &Path,
    parts: &[(String, u32)],
) -> Result<Option<Box<dyn SnapshotStatistic>>, RunError> {
    let (probes, steps) = plan.snapshot.density;
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
    ) -> Result<usize, EigenError> {
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

    fn flush(&mut self) -> Result<(), RunError> {
        self.table.flush()
    }

    fn table(&self) -> &'static str {
        <DensityRow as crate::output::TableRow>::TABLE
    }

    fn part(&self) -> Option<(String, u32)> {
        self.table.part()
    }
}
