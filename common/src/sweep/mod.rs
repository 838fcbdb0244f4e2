//! # Sweep files
//!
//! A sweep file (YAML) declares a whole study: datasets × optimisers × seeds, the training
//! and snapshot settings, and the random-init baseline. It goes through three passes:
//!
//! 1. [`SweepFile`]: the file as written (serde, unknown fields rejected), after
//!    [`apply_overrides`] edited the YAML tree for `--set key.path=value`; every unknown
//!    field, value of the wrong type and missing field is reported at once, not only the
//!    first one serde meets;
//! 2. [`validate`] → [`ValidatedSweep`]: every rule checked, every error reported at once as
//!    a [`FieldError`] with its path and value, every default filled in ([`ResolvedSweep`],
//!    which writes itself back as YAML for `OUT/sweep.yaml`);
//! 3. [`ValidatedSweep::runs`] and [`ValidatedSweep::baseline_tasks`]: the units of work,
//!    each with a stable key hashed from its fully resolved configuration and its network's
//!    widths, whose input width and classes are the data's ([`DataShape`], given by
//!    [`ValidatedSweep::set_data_shape`] for data read from files); [`plan`] estimates their
//!    cost.
//!
//! [`read_sweep`] and [`parse_sweep`] run the passes in order. The format is documented on
//! [`file`](mod@file).
//!
//! ```
//! use eigensweep_common::sweep::{parse_sweep, Overrides};
//!
//! let text = "
//! name: tiny
//! datasets: [{name: synthetic, source: synthetic, train_size: 500}]
//! training: {steps: 100}
//! optimizers: [{name: sgd, kind: sgd}, {name: adam, kind: adam}]
//! seeds: [0, 1]
//! snapshots: {schedule: {every: 50}}
//! baseline: {networks: 2, top_k: 1}
//! ";
//! let sweep = parse_sweep(text, &Overrides::default()).unwrap();
//! let runs = sweep.runs();
//! assert_eq!(runs.len(), 4); // 1 dataset × 2 optimisers × 2 seeds
//! assert_eq!(runs[0].snapshot_steps, vec![0, 50, 100]);
//! assert_eq!(runs[0].key.len(), 16);
//! // Synthetic data is 28 × 28 pixels of 10 classes; the hidden widths are the default.
//! assert_eq!(runs[0].widths(), Some(vec![784, 100, 100, 10]));
//! assert_eq!(sweep.baseline_tasks().len(), 2);
//! assert_eq!(sweep.resolved().output.to_str(), Some("out/tiny"));
//! ```

mod attribution;
mod checker;
pub mod cost;
mod error;
mod expand;
pub mod file;
mod grid;
mod key;
mod load;
mod optimizer_spec;
mod optimizers;
mod overrides;
pub mod plan;
mod position;
mod resolved;
mod schedule;
mod shape;
mod solve;
mod statistic_sections;
mod statistics;
mod structure;
mod validate;
mod wording;

pub use error::{FieldError, Location};
pub use expand::{BaselineTask, RecordedConfig, RunSpec};
pub use file::{
    BaselineSpec, BiasInit, Count, DatasetSpec, ExtraEigenSpec, LrScheduleKind, LrScheduleSpec,
    ModelSpec, Normalize, OptimizerKind, OptimizerSpec, Schedule, SnapshotSpec, SweepFile,
    TrainingSpec, DEFAULT_MAX_PRODUCTS, DEFAULT_TOL, DEFAULT_TOP_K,
};
pub use grid::{Grid, OptimizerEntry, Variant};
pub use key::KEY_FORMAT_VERSION;
pub use load::{parse_sweep, read_sweep, Overrides};
pub use overrides::apply_overrides;
pub use resolved::{
    DataSource, EigenSettings, ExtraEigen, NamedOptimizer, OptimizerConfig, ResolvedDataset,
    ResolvedSweep, ResolvedTraining,
};
pub use schedule::schedule_steps;
pub use shape::DataShape;
pub use statistic_sections::{DensitySpec, PreconditionedSpec, TraceSpec};
pub use statistics::{
    SnapshotStatistics, MAX_DENSITY_PROBES, MAX_DENSITY_STEPS, MAX_PRECONDITIONED_TOP_K,
    MAX_TRACE_PROBES,
};
pub use validate::{
    validate, ValidatedSweep, DEFAULT_SYNTHETIC_TEST, DEFAULT_SYNTHETIC_TRAIN,
    MAX_BASELINE_NETWORKS, MAX_SCHEDULE_COUNT,
};

#[cfg(test)]
mod tests;
