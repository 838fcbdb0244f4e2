//! Hutchinson's estimate of tr(H) at every snapshot (`snapshots.trace`): Rademacher probes
//! from the run seed's trace stream, one sub-stream per snapshot, into the `trace` table.

use std::path::Path;

use super::SnapshotStatistic;
use crate::eigen::{hutchinson_trace, EigenError, EigenOptions, SymmetricOperator, TraceEstimate};
use crate::output::TraceRow;
use crate::rng::{derived_seed, Stream};
use crate::run::executor::{RunError, RunPlan};
use crate::run::tables::Table;
use crate::snapshot::OperatorStatistic;

struct Trace {
    probes: usize,
    table: Table<TraceRow>,
    measured: Option<TraceEstimate>,
}

pub(super) fn for_plan(
    plan: &RunPlan,
    dir: &Path,
    parts: &[(String, u32)],
) -> Result<Option<Box<dyn SnapshotStatistic>>, RunError> {
    let probes = plan.snapshot.trace_probes;
    let table = Table::open(dir, parts, probes > 0)?;
    Ok((probes > 0).then(|| {
        Box::new(Trace {
            probes,
            table,
            measured: None,
        }) as Box<dyn SnapshotStatistic>
    }))
}

impl OperatorStatistic for Trace {
    fn measure(
        &mut self,
        op: &mut dyn SymmetricOperator,
        (seed, index): (u64, u64),
        _solve: &EigenOptions,
    ) -> Result<usize, EigenError> {
        let seed = derived_seed(seed, Stream::TraceProbes, index);
        let estimate = hutchinson_trace(op, self.probes, seed)?;
        self.measured = Some(estimate);
        Ok(estimate.probes)
    }
}

impl SnapshotStatistic for Trace {
    fn commit(&mut self, run_key: &str, t: u64) {
        if let Some(e) = self.measured.take() {
            self.table.push(TraceRow {
                run_key: run_key.to_string(),
                step: t,
                trace: e.trace,
                trace_std_error: e.std_error,
                probes: e.probes as u64,
            });
        }
    }

    fn discard(&mut self) {
        self.measured = None;
    }

    fn flush(&mut self) -> Result<(), RunError> {
        self.table.flush()
    }

    fn table(&self) -> &'static str {
        <TraceRow as crate::output::TableRow>::TABLE
    }

    fn part(&self) -> Option<(String, u32)> {
        self.table.part()
    }
}
