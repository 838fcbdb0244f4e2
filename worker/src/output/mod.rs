//! Typed, self-describing Parquet tables for a sweep's outputs.
//!
//! | table | rows | where |
//! |---|---|---|
//! | `snapshots` ([`SnapshotRow`]) | one per snapshot and eigen-index | `OUT/runs/dataset=D/optimizer=O/seed=S/snapshots/part-NNNNN.parquet` |
//! | `metrics` ([`MetricRow`]) | one per logged training step | `…/metrics/part-NNNNN.parquet` |
//! | `weights` ([`WeightRow`]) | one per snapshot (θ), when enabled | `…/weights/part-NNNNN.parquet` |
//! | `trace` ([`TraceRow`]) | one per snapshot, when `snapshots.trace` is set | `…/trace/part-NNNNN.parquet` |
//! | `preconditioned` ([`PreconditionedRow`]) | one per snapshot after step 0 and eigen-index of a run of an optimiser with a diagonal preconditioner (Adam, AdamW, RMSprop, SAM on one), when `snapshots.preconditioned` is set | `…/preconditioned/part-NNNNN.parquet` |
//! | `density` ([`DensityRow`]) | one per quadrature node, probe and snapshot, when `snapshots.density` is set | `…/density/part-NNNNN.parquet` |
//! | `baseline` ([`BaselineRow`]) | one per random-init network and eigen-index | `OUT/baseline/dataset=D/part-NNNNN.parquet` |
//! | `runs` ([`RunRecord`]) | one per run and baseline task | `OUT/runs.parquet` |
//!
//! The directory layout is hive-partitioned ([`paths`]), so DuckDB reads it directly:
//!
//! ```sql
//! SELECT optimizer, step, avg(ipr)
//! FROM read_parquet('OUT/runs/**/snapshots/*.parquet', hive_partitioning = true)
//! WHERE index = 1 GROUP BY ALL ORDER BY ALL;
//! ```
//!
//! Every integer column (steps, lags, seeds, indices, counts) is a signed 64-bit `Int64`
//! (DuckDB `BIGINT`), so arithmetic such as `step_w - step` may go negative; the Rust fields
//! stay `u64`/`u32` and are converted, checked, at the column boundary.
//!
//! Every file explains itself: each Arrow field carries a `description` in its metadata, and
//! the Parquet key-value metadata holds `eigensweep.table` (the table name),
//! `eigensweep.format_version` (`"2"`; files of version `"1"` are still read, converted as
//! [`format`](mod@format) describes), `eigensweep.description` and one
//! `eigensweep.column.<name>` description per column (visible in DuckDB through
//! `parquet_kv_metadata(...)`). Column names equal the Rust field names. Each table is declared
//! once, with [`crate::table!`]: one list of columns (name, Rust type, column kind,
//! description) from which come the row struct, the schema and its metadata ([`Row::columns`]),
//! the writing and the reading; a unit test checks that docs/OUTPUT.md names every column.
//!
//! Parts are written whole to a hidden temporary name, fsync'd and renamed ([`PartWriter`]),
//! so a reader never sees a torn file; the same rows always give byte-identical files (fixed
//! `created_by`, no timestamps, Snappy compression, fixed metadata order).
//!
//! Floating-point values are stored as they are: NaN stays NaN (e.g. the gradient and update
//! alignments at a run's final snapshot), and only `Option` fields become nulls.

mod baseline;
mod column_spec;
pub mod columns;
mod fatal;
pub mod format;
mod metrics;
mod parts;
pub mod paths;
mod runs;
pub mod schema;
mod snapshots;
pub mod state;
mod table;
mod task_status;
mod weights;

#[cfg(test)]
mod format_tests;
#[cfg(test)]
mod table_tests;
#[cfg(test)]
mod tests;

pub use baseline::{read_baseline_rows, BaselineRow};
pub use fatal::{fatal_io_cause, is_fatal_io};
pub use metrics::{read_metric_rows, MetricRow};
pub use parts::{
    count_parts, list_parts, parse_part_file_name, part_file_name, read_parts, read_schema,
    read_table, remove_parts_from, temp_path, write_table_atomically, PartWriter, TableFile,
};
pub use paths::{
    baseline_dir, run_dir, runs_table_files, runs_table_path, validate_partition_value, RunDirs,
};
pub use runs::{read_run_records, RunProvenance, RunRecord};
pub use snapshots::{read_snapshot_rows, SnapshotRow};
pub use state::{
    ChosenRow, RunDirState, RunsTables, CHECKPOINT_FILE, DIVERGED_MARKER, EXTENDING_MARKER,
    SUCCESS_MARKER,
};
pub use table::Row;
pub use task_status::TaskStatus;
pub use weights::{read_weight_rows, WeightRow};

/// The Arrow types that [`crate::table!`] names, for crates that declare tables without a
/// direct dependency on Arrow.
#[doc(hidden)]
pub mod __arrow {
    pub use arrow_array::{ArrayRef, RecordBatch};
}

// The tables of the per-snapshot statistics live with their statistic.
pub use crate::run::statistics::{
    read_density_rows, read_preconditioned_rows, read_trace_rows, DensityRow, PreconditionedRow,
    TraceRow,
};
