//! One eigen-snapshot: the top-k Hessian eigenpairs at the current parameters, plus the
//! per-snapshot statistics of METHOD.md (IPR, gradient and update alignment), and whatever
//! further [`OperatorStatistic`]s the run measures on the same Hessian operator (its trace,
//! spectral density, preconditioned spectrum: `run::statistics`).

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use eigensweep_common::sweep::{DEFAULT_MAX_PRODUCTS, DEFAULT_TOL, DEFAULT_TOP_K};

use crate::eigen::{top_k_eigenpairs, EigenOptions, EigenResult, Interruptible, SymmetricOperator};
use crate::mlp::{HessianOperator, HessianOptions, Params};
use crate::rng::{derived_seed, Stream};
use crate::train::DeviceData;
use crate::WorkerError;

/// How snapshots are computed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SnapshotSettings {
    /// Number of top eigenpairs.
    pub top_k: usize,
    /// Relative tolerance on the eigenvalues (scipy eigsh's meaning; 0 = machine precision).
    pub tol: f64,
    /// Budget of Hessian-vector products per snapshot.
    pub max_products: usize,
    /// How the Hessian operator processes the data.
    pub hessian: HessianOptions,
}

impl Default for SnapshotSettings {
    fn default() -> Self {
        Self {
            top_k: DEFAULT_TOP_K,
            tol: DEFAULT_TOL,
            max_products: DEFAULT_MAX_PRODUCTS,
            hessian: HessianOptions::default(),
        }
    }
}

/// The eigenpairs at one θ and what was computed with them.
#[derive(Debug, Clone)]
pub struct EigenSnapshot {
    /// Eigenpairs (sorted by eigenvalue, descending; sign convention applied).
    pub eigen: EigenResult,
    /// Mean loss over the Hessian's samples.
    pub loss: f64,
    /// Full-batch gradient over the Hessian's samples (flat, f64).
    pub full_gradient: Vec<f64>,
    /// Hessian-vector products of the [`OperatorStatistic`]s measured with it.
    pub statistic_products: usize,
    /// Wall-clock seconds of the whole snapshot (operator set-up and solve).
    pub seconds: f64,
}

impl EigenSnapshot {
    /// Hessian-vector products of the whole snapshot: the eigen-solve and every statistic
    /// measured with it.
    pub fn total_products(&self) -> usize {
        self.eigen.products + self.statistic_products
    }
}

/// A quantity measured at every snapshot on the snapshot's Hessian operator, after the top-k
/// solve (which sets the operator up once for all of them). Implementations hold their result
/// until the run commits the snapshot, so an abandoned snapshot leaves nothing behind.
pub trait OperatorStatistic {
    /// Measures the statistic on `op` at the snapshot `(seed, index)` (the run seed and the
    /// snapshot's index, for the statistic's random streams), with the snapshot's solver
    /// settings `solve`. Returns the Hessian-vector products it took.
    ///
    /// # Errors
    /// [`WorkerError::EigenInterrupted`] when the stop flag is seen between product blocks; any
    /// other error of the operator or the method.
    fn measure(
        &mut self,
        op: &mut dyn SymmetricOperator,
        at: (u64, u64),
        solve: &EigenOptions,
    ) -> Result<usize, WorkerError>;
}

/// Computes the top-k eigenpairs of the Hessian over `data` at `params`.
///
/// `previous` (the last snapshot's vectors of the same run) seeds the solver (warm start) and
/// fixes the signs; the start block's random part comes from the run `seed`'s eigensolver
/// stream, sub-stream `index`, so it does not depend on device or thread count.
pub fn eigen_snapshot(
    params: &Params,
    data: &DeviceData,
    settings: &SnapshotSettings,
    seed: u64,
    index: u64,
    previous: Option<&[Vec<f64>]>,
) -> Result<EigenSnapshot, WorkerError> {
    let never = AtomicBool::new(false);
    eigen_snapshot_interruptible(params, data, settings, seed, index, previous, &never)
}

/// [`eigen_snapshot`] that gives up with [`WorkerError::SnapshotInterrupted`] soon after `stop` is
/// set: before and after the Hessian operator's set-up, and between any two product blocks of
/// the solve. An abandoned snapshot leaves no trace, so redoing it later gives the same result.
pub fn eigen_snapshot_interruptible(
    params: &Params,
    data: &DeviceData,
    settings: &SnapshotSettings,
    seed: u64,
    index: u64,
    previous: Option<&[Vec<f64>]>,
    stop: &AtomicBool,
) -> Result<EigenSnapshot, WorkerError> {
    eigen_snapshot_with(
        params,
        data,
        settings,
        (seed, index),
        previous,
        &mut [],
        stop,
    )
}

/// [`eigen_snapshot_interruptible`] that also measures `statistics` on the same operator,
/// in order, after the solve. `(seed, index)`: the run seed and the snapshot's index, which
/// select the random streams.
///
/// # Errors
/// [`WorkerError::SnapshotInterrupted`] when `stop` is seen (the statistics measured so far hold
/// results the caller must drop); any error of the operator, the solve or a statistic.
#[allow(clippy::too_many_arguments)]
pub fn eigen_snapshot_with(
    params: &Params,
    data: &DeviceData,
    settings: &SnapshotSettings,
    (seed, index): (u64, u64),
    previous: Option<&[Vec<f64>]>,
    statistics: &mut [&mut dyn OperatorStatistic],
    stop: &AtomicBool,
) -> Result<EigenSnapshot, WorkerError> {
    let stopped = || stop.load(Ordering::Relaxed);
    if stopped() {
        return Err(WorkerError::SnapshotInterrupted);
    }
    let started = Instant::now();
    let mut op = HessianOperator::new(params, &data.x, &data.onehot, &settings.hessian)?;
    if stopped() {
        return Err(WorkerError::SnapshotInterrupted);
    }
    let options = EigenOptions {
        k: settings.top_k,
        tol: settings.tol,
        max_products: settings.max_products,
        seed: derived_seed(seed, Stream::EigenStart, index),
        ..EigenOptions::default()
    };
    let eigen = match top_k_eigenpairs(&mut Interruptible { op: &mut op, stop }, &options, previous)
    {
        Err(WorkerError::EigenInterrupted) => return Err(WorkerError::SnapshotInterrupted),
        other => other?,
    };
    let mut statistic_products = 0;
    for statistic in statistics.iter_mut() {
        let mut op = Interruptible { op: &mut op, stop };
        match statistic.measure(&mut op, (seed, index), &options) {
            Err(WorkerError::EigenInterrupted) => return Err(WorkerError::SnapshotInterrupted),
            other => statistic_products += other?,
        }
    }
    Ok(EigenSnapshot {
        eigen,
        statistic_products,
        loss: op.loss(),
        full_gradient: op.gradient().to_flat()?,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// The vectors to warm-start the next snapshot of the same run with: the wanted eigenvectors
/// (in order, so the sign convention can match them index by index) followed by the guard
/// Ritz vectors. Passing the guard vectors too lets the next solve start from a good estimate
/// of the k+1-th, k+2-th directions instead of random ones, which is what makes the k-th
/// pair converge fast (measured in `eigensweep bench`: ~15 → ~11 products per top-3 snapshot).
pub fn warm_start_vectors(result: &EigenResult) -> Vec<Vec<f64>> {
    result
        .pairs
        .iter()
        .chain(&result.guard_pairs)
        .map(|p| p.vector.clone())
        .collect()
}

/// Inverse participation ratio Σ_j v_j⁴ of a unit vector: 1/N when spread evenly over all N
/// entries, 1 when concentrated on one.
pub fn ipr(v: &[f64]) -> f64 {
    v.iter().map(|x| x * x * x * x).sum()
}

/// |v·g| / ‖g‖ for a unit vector v: the cosine between v and the direction of g, without sign
/// (eigenvectors have no sign). Zero when g is zero, where no direction exists.
pub fn alignment(v: &[f64], g: &[f64]) -> f64 {
    let norm = g.iter().map(|x| x * x).sum::<f64>().sqrt();
    if norm == 0.0 {
        return 0.0;
    }
    (v.iter().zip(g).map(|(a, b)| a * b).sum::<f64>() / norm).abs()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipr_bounds() {
        let n = 400;
        let spread = vec![1.0 / (n as f64).sqrt(); n];
        assert!((ipr(&spread) - 1.0 / n as f64).abs() < 1e-15);
        let mut one = vec![0.0; n];
        one[7] = -1.0;
        assert_eq!(ipr(&one), 1.0);
        // Two equal entries: IPR 1/2.
        let mut two = vec![0.0; n];
        two[0] = 0.5f64.sqrt();
        two[1] = -(0.5f64.sqrt());
        assert!((ipr(&two) - 0.5).abs() < 1e-15);
    }

    #[test]
    fn alignment_is_unsigned_cosine() {
        let v = [0.6, 0.8, 0.0];
        assert!((alignment(&v, &[3.0, 4.0, 0.0]) - 1.0).abs() < 1e-15);
        assert!((alignment(&v, &[-3.0, -4.0, 0.0]) - 1.0).abs() < 1e-15);
        assert!((alignment(&v, &[0.0, 0.0, 5.0])).abs() < 1e-15);
        assert!((alignment(&v, &[1.0, 0.0, 0.0]) - 0.6).abs() < 1e-15);
        assert_eq!(alignment(&v, &[0.0, 0.0, 0.0]), 0.0);
    }
}
