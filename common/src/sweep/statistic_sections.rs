//! The sections of the sweep file that ask for per-snapshot statistics besides the top-k
//! eigenpairs, as written: `snapshots.trace` ([`TraceSpec`]), `snapshots.density`
//! ([`DensitySpec`]) and `snapshots.preconditioned` ([`PreconditionedSpec`]), each with its
//! defaults. Their limits, checks and products are the `statistics` module's.

use serde::{Deserialize, Serialize};

/// `snapshots.trace`: Hutchinson's trace estimator with Rademacher probes.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TraceSpec {
    /// Rademacher probe vectors per snapshot, one Hessian-vector product each (default 10).
    #[serde(default = "default_trace_probes")]
    pub probes: usize,
}

fn default_trace_probes() -> usize {
    10
}

/// `snapshots.density`: stochastic Lanczos quadrature with Rademacher probes.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DensitySpec {
    /// Probe vectors per snapshot (default 4).
    #[serde(default = "default_density_probes")]
    pub probes: usize,
    /// Lanczos steps per probe, one Hessian-vector product each (default 30): the number of
    /// Ritz nodes, and the quadrature is exact for moments up to 2·steps − 1.
    #[serde(default = "default_density_steps")]
    pub steps: usize,
}

fn default_density_probes() -> usize {
    4
}

fn default_density_steps() -> usize {
    30
}

/// `snapshots.preconditioned`: the top eigenpairs of `P^(−1/2) H P^(−1/2)` with the
/// optimiser's diagonal preconditioner (Adam's `P = diag(√v̂ + ε)/η`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PreconditionedSpec {
    /// Eigenpairs per snapshot (default 1).
    #[serde(default = "default_preconditioned_top_k")]
    pub top_k: usize,
}

fn default_preconditioned_top_k() -> usize {
    1
}
