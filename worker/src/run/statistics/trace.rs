//! Hutchinson's estimate of tr(H) at every snapshot (`snapshots.trace`): Rademacher probes
//! from the run seed's trace stream, one sub-stream per snapshot, into the `trace` table (one
//! row per snapshot: the estimate and its standard error).

use std::path::Path;

use arrow_array::{ArrayRef, RecordBatch};

use crate::output::schema::{
    col_f64, col_u64, col_utf8, f64s, int64s, utf8, ColumnSpec, ColumnType as T, TableRow,
    RUN_KEY_COLUMN, SNAPSHOT_STEP_COLUMN,
};
use crate::output::{read_parts, OutputError};

use super::{Kind, SnapshotStatistic};
use crate::eigen::{hutchinson_trace, EigenError, EigenOptions, SymmetricOperator, TraceEstimate};
use crate::rng::{derived_seed, Stream};
use crate::run::executor::{RunError, RunPlan};
use crate::run::tables::Table;
use crate::snapshot::OperatorStatistic;

struct Trace {
    probes: usize,
    table: Table<TraceRow>,
    measured: Option<TraceEstimate>,
}

/// The trace statistic in the run's list.
pub(super) const KIND: Kind = Kind {
    table: <TraceRow as TableRow>::TABLE,
    open: for_plan,
};

fn for_plan(
    plan: &RunPlan,
    dir: &Path,
    parts: &[(String, u32)],
) -> Result<Option<Box<dyn SnapshotStatistic>>, RunError> {
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

/// The trace estimate at one snapshot.
#[derive(Debug, Clone, PartialEq)]
pub struct TraceRow {
    /// Key of the run.
    pub run_key: String,
    /// Training step of the snapshot.
    pub step: u64,
    /// Mean of zᵀHz over the probes.
    pub trace: f64,
    /// Its standard error (NaN with one probe).
    pub trace_std_error: f64,
    /// Rademacher probes (= Hessian-vector products) used.
    pub probes: u64,
}

const COLUMNS: &[ColumnSpec] = &[
    RUN_KEY_COLUMN,
    SNAPSHOT_STEP_COLUMN,
    ColumnSpec::required("trace", T::Float64, "Hutchinson's estimate of tr(H), the trace of the loss Hessian on the snapshot's Hessian samples: the mean of zᵀHz over Rademacher (±1) probes z (Hutchinson 1989; PyHessian's trace). Unbiased."),
    ColumnSpec::required("trace_std_error", T::Float64, "Standard error of `trace`: the sample standard deviation of zᵀHz over the probes divided by √probes; NaN with one probe."),
    ColumnSpec::required("probes", T::Int64, "Rademacher probes used, one Hessian-vector product each (snapshots.trace.probes), drawn from the run seed's trace stream, one sub-stream per snapshot."),
];

impl TableRow for TraceRow {
    const TABLE: &'static str = "trace";
    const DESCRIPTION: &'static str =
        "One row per snapshot of a run with snapshots.trace set: Hutchinson's estimate of the loss Hessian's trace and its standard error.";

    fn columns() -> &'static [ColumnSpec] {
        COLUMNS
    }

    fn to_arrays(rows: &[Self]) -> Result<Vec<ArrayRef>, String> {
        Ok(vec![
            utf8(rows.iter().map(|r| r.run_key.as_str())),
            int64s("step", rows.iter().map(|r| r.step))?,
            f64s(rows.iter().map(|r| r.trace)),
            f64s(rows.iter().map(|r| r.trace_std_error)),
            int64s("probes", rows.iter().map(|r| r.probes))?,
        ])
    }

    fn from_batch(batch: &RecordBatch) -> Result<Vec<Self>, String> {
        let run_key = col_utf8(batch, "run_key")?;
        let step = col_u64(batch, "step")?;
        let trace = col_f64(batch, "trace")?;
        let trace_std_error = col_f64(batch, "trace_std_error")?;
        let probes = col_u64(batch, "probes")?;
        Ok(run_key
            .into_iter()
            .enumerate()
            .map(|(i, run_key)| TraceRow {
                run_key,
                step: step[i],
                trace: trace[i],
                trace_std_error: trace_std_error[i],
                probes: probes[i],
            })
            .collect())
    }
}

/// All trace rows of a run's `trace` directory, parts in order (none when the directory is
/// missing: the run did not ask for the trace).
pub fn read_trace_rows(dir: &Path) -> Result<Vec<TraceRow>, OutputError> {
    read_parts(dir)
}
