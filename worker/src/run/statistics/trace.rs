//! Hutchinson's estimate of tr(H) at every snapshot (`snapshots.trace`): Rademacher probes
//! from the run seed's trace stream, one sub-stream per snapshot, into the `trace` table (one
//! row per snapshot: the estimate and its standard error).

use std::path::Path;

use crate::output::read_parts;
use crate::output::schema::{run_key_description, snapshot_step_description};
use crate::output::Row;

use super::{Kind, SnapshotStatistic};
use crate::eigen::{hutchinson_trace, EigenOptions, SymmetricOperator, TraceEstimate};
use crate::rng::{derived_seed, Stream};
use crate::run::plan::RunPlan;
use crate::run::table::Table;
use crate::snapshot::OperatorStatistic;
use crate::WorkerError;

struct Trace {
    probes: usize,
    table: Table<TraceRow>,
    measured: Option<TraceEstimate>,
}

/// The trace statistic in the run's list.
pub(super) const KIND: Kind = Kind {
    table: <TraceRow as Row>::TABLE,
    open: for_plan,
};

fn for_plan(
    plan: &RunPlan,
    dir: &Path,
    parts: &[(String, u32)],
) -> Result<Option<Box<dyn SnapshotStatistic>>, WorkerError> {
    let probes = plan.statistics.trace_probes.unwrap_or(0);
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
    ) -> Result<usize, WorkerError> {
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

    fn flush(&mut self) -> Result<(), WorkerError> {
        self.table.flush()
    }

    fn table(&self) -> &'static str {
        <TraceRow as Row>::TABLE
    }

    fn part(&self) -> Option<(String, u32)> {
        self.table.part()
    }
}

crate::table! {
    /// The trace estimate at one snapshot.
    pub struct TraceRow;
    table = "trace",
    description = "One row per snapshot of a run with snapshots.trace set: Hutchinson's estimate of the loss Hessian's trace and its standard error.",
    {
        run_key: String = Utf8 run_key_description!(),
        step: u64 = Int64 snapshot_step_description!(),
        trace: f64 = Float64 "Hutchinson's estimate of tr(H), the trace of the loss Hessian on the snapshot's Hessian samples: the mean of zᵀHz over Rademacher (±1) probes z (Hutchinson 1989; PyHessian's trace). Unbiased.",
        trace_std_error: f64 = Float64 "Standard error of `trace`: the sample standard deviation of zᵀHz over the probes divided by √probes; NaN with one probe.",
        probes: u64 = Int64 "Rademacher probes used, one Hessian-vector product each (snapshots.trace.probes), drawn from the run seed's trace stream, one sub-stream per snapshot.",
    }
}

/// All trace rows of a run's `trace` directory, parts in order (none when the directory is
/// missing: the run did not ask for the trace).
pub fn read_trace_rows(dir: &Path) -> Result<Vec<TraceRow>, WorkerError> {
    read_parts(dir)
}
