//! The analysis tables, written under `OUT/analysis/<table>/`.
//!
//! | table | rows | where |
//! |---|---|---|
//! | `displacement` ([`DisplacementRow`]) | run × index × snapshot pair | `<table>/<dataset>/<optimizer>/seed-<S>/part-NNNNN.parquet`, one part per tile pair |
//! | `subspace_overlap` ([`SubspaceOverlapRow`]) | run × snapshot pair | same layout |
//! | `weight_displacement` ([`WeightDisplacementRow`]) | run × pair of snapshots with θ | same layout |
//! | `update_alignment_two_time` ([`UpdateAlignmentRow`]) | run × index × pair with θ | same layout |
//! | `convergence` ([`ConvergenceRow`]) | run × index × snapshot | same layout, one part per tile |
//! | `displacement_baseline` ([`BaselineStatsRow`]) | dataset × index | `displacement_baseline.parquet` |
//! | `run_alignment` ([`RunAlignmentRow`]) | run × index | `run_alignment.parquet` |
//! | `alignment_summary` ([`AlignmentSummaryRow`]) | dataset × optimiser × index | `alignment_summary.parquet` |
//! | `spectrum_summary` ([`SpectrumSummaryRow`]) | dataset × optimiser × index × step | `spectrum_summary.parquet` |
//!
//! The per-run directories are deliberately not hive-style (`key=value`): the rows carry
//! `dataset`, `optimizer` and `seed` themselves, so `read_parquet('OUT/analysis/displacement/**/*.parquet')`
//! needs no options and no column appears twice. The files follow the worker's table
//! conventions: column descriptions in the metadata, written to a temporary name and renamed.
//! Each table is declared once, with [`eigensweep_worker::table!`] (one list of columns gives
//! the row struct, the schema, the writing and the reading), like the worker's own tables.

mod alignment_summary;
mod baseline;
mod convergence;
mod displacement;
mod run_alignment;
mod spectrum_summary;
mod subspace_overlap;
mod update_alignment;
mod weight_displacement;

pub use alignment_summary::AlignmentSummaryRow;
pub use baseline::BaselineStatsRow;
pub use convergence::ConvergenceRow;
pub use displacement::DisplacementRow;
pub use run_alignment::RunAlignmentRow;
pub use spectrum_summary::SpectrumSummaryRow;
pub use subspace_overlap::SubspaceOverlapRow;
pub use update_alignment::UpdateAlignmentRow;
pub use weight_displacement::WeightDisplacementRow;

/// Directory (under `OUT`) of the analysis tables.
pub const ANALYSIS_DIR: &str = "analysis";

/// The tables written per run, one part per tile pair (or per tile for `convergence`).
pub const PAIR_TABLES: [&str; 5] = [
    "displacement",
    "subspace_overlap",
    "weight_displacement",
    "update_alignment_two_time",
    "convergence",
];

/// File names (under `OUT/analysis`) of the small whole-sweep tables.
pub const BASELINE_FILE: &str = "displacement_baseline.parquet";
/// See [`BASELINE_FILE`].
pub const RUN_ALIGNMENT_FILE: &str = "run_alignment.parquet";
/// See [`BASELINE_FILE`].
pub const ALIGNMENT_SUMMARY_FILE: &str = "alignment_summary.parquet";
/// See [`BASELINE_FILE`].
pub const SPECTRUM_SUMMARY_FILE: &str = "spectrum_summary.parquet";
