//! The Hessian's spectral density at every snapshot (`snapshots.density`): stochastic Lanczos
//! quadrature, one Gauss quadrature (Ritz nodes and weights) per probe, into the `density`
//! table, one row per node of each probe, so that any broadening can be applied when reading.

use std::path::Path;

use arrow_array::{ArrayRef, RecordBatch};

use crate::output::schema::{
    col_f64, col_u64, col_utf8, f64s, int64s, utf8, ColumnSpec, ColumnType as T, TableRow,
    RUN_KEY_COLUMN, SNAPSHOT_STEP_COLUMN,
};
use crate::output::{read_parts, OutputError};

use super::{Kind, SnapshotStatistic};
use crate::eigen::{lanczos_quadrature, EigenError, EigenOptions, Quadrature, SymmetricOperator};
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

/// The density statistic in the run's list.
pub(super) const KIND: Kind = Kind {
    table: <DensityRow as TableRow>::TABLE,
    open: for_plan,
};

fn for_plan(
    plan: &RunPlan,
    dir: &Path,
    parts: &[(String, u32)],
) -> Result<Option<Box<dyn SnapshotStatistic>>, RunError> {
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

/// One Ritz node of one probe's quadrature at one snapshot.
#[derive(Debug, Clone, PartialEq)]
pub struct DensityRow {
    /// Key of the run.
    pub run_key: String,
    /// Training step of the snapshot.
    pub step: u64,
    /// Probe number (1-based).
    pub probe: u64,
    /// A Ritz value of the probe's Lanczos tridiagonal (an eigenvalue estimate).
    pub node: f64,
    /// Its quadrature weight; a probe's weights sum to 1.
    pub weight: f64,
}

const COLUMNS: &[ColumnSpec] = &[
    RUN_KEY_COLUMN,
    SNAPSHOT_STEP_COLUMN,
    ColumnSpec::required("probe", T::Int64, "Probe number (1-based) of stochastic Lanczos quadrature (Ubaru, Chen & Saad 2017; PyHessian's density): a Rademacher vector from the run seed's density stream, one sub-stream per snapshot."),
    ColumnSpec::required("node", T::Float64, "A Ritz node: an eigenvalue of the probe's Lanczos tridiagonal (snapshots.density.steps steps, full reorthogonalisation) of the loss Hessian on the snapshot's Hessian samples."),
    ColumnSpec::required("weight", T::Float64, "The node's Gauss quadrature weight (squared first component of its tridiagonal eigenvector); a probe's weights sum to 1. The density is the mean over probes of Σ weight·δ(λ − node), broadened (e.g. Gaussian) when drawn."),
];

impl TableRow for DensityRow {
    const TABLE: &'static str = "density";
    const DESCRIPTION: &'static str =
        "One row per Ritz node of each stochastic Lanczos quadrature probe at each snapshot of a run with snapshots.density set: the Hessian's eigenvalue density before broadening.";

    fn columns() -> &'static [ColumnSpec] {
        COLUMNS
    }

    fn to_arrays(rows: &[Self]) -> Result<Vec<ArrayRef>, String> {
        Ok(vec![
            utf8(rows.iter().map(|r| r.run_key.as_str())),
            int64s("step", rows.iter().map(|r| r.step))?,
            int64s("probe", rows.iter().map(|r| r.probe))?,
            f64s(rows.iter().map(|r| r.node)),
            f64s(rows.iter().map(|r| r.weight)),
        ])
    }

    fn from_batch(batch: &RecordBatch) -> Result<Vec<Self>, String> {
        let run_key = col_utf8(batch, "run_key")?;
        let step = col_u64(batch, "step")?;
        let probe = col_u64(batch, "probe")?;
        let node = col_f64(batch, "node")?;
        let weight = col_f64(batch, "weight")?;
        Ok(run_key
            .into_iter()
            .enumerate()
            .map(|(i, run_key)| DensityRow {
                run_key,
                step: step[i],
                probe: probe[i],
                node: node[i],
                weight: weight[i],
            })
            .collect())
    }
}

/// All density rows of a run's `density` directory, parts in order (none when the directory
/// is missing: the run did not ask for the density).
pub fn read_density_rows(dir: &Path) -> Result<Vec<DensityRow>, OutputError> {
    read_parts(dir)
}
