//! One network of the random-initialisation baseline (METHOD.md, Eq. 4): the top eigenpairs
//! of the Hessian at an untrained network. The analysis stage averages the displacement over
//! all pairs of such networks to get τ.

use std::path::Path;
use std::sync::atomic::AtomicBool;

use candle_core::{DType, Device};

use crate::data::TrainTest;
use crate::mlp::{Architecture, BiasInit, Params};
use crate::output::{BaselineRow, PartWriter};
use crate::rng::{stream_rng, Stream};
use crate::snapshot::{eigen_snapshot_interruptible, ipr, SnapshotSettings};
use crate::train::DeviceData;
use crate::WorkerError;

/// One baseline network, resolved from the sweep.
#[derive(Debug, Clone)]
pub struct BaselinePlan {
    /// Stable key of the task's configuration.
    pub key: String,
    /// Dataset name (the partition value).
    pub dataset: String,
    /// Network index 0..M; also its seed, so network i is the same in every sweep.
    pub network: u32,
    /// Network shape.
    pub arch: Architecture,
    /// Bias initialisation.
    pub bias_init: BiasInit,
    /// Eigensolver settings.
    pub snapshot: SnapshotSettings,
    /// Hessian on the first N training samples (`None`: all).
    pub hessian_samples: Option<usize>,
    /// Where the data, parameters and Hessian live.
    pub device: Device,
}

/// Whether network `network`'s part already exists in `dir` (then the task is done).
pub fn baseline_done(dir: &Path, network: u32) -> bool {
    dir.join(format!("part-{network:05}.parquet")).exists()
}

/// Computes the network's eigenpairs and writes them as `dir/part-<network>.parquet`
/// (atomically, so a killed task leaves nothing behind and is simply redone). Returns the
/// number of products used, or `None` if the part already existed.
///
/// Once `stop` is set the solve is abandoned between two product blocks and
/// [`WorkerError::TaskInterrupted`] returned: nothing is written, the next launch redoes the
/// network.
pub fn execute_baseline(
    plan: &BaselinePlan,
    data: &TrainTest,
    dir: &Path,
    stop: &AtomicBool,
) -> Result<Option<usize>, WorkerError> {
    if baseline_done(dir, plan.network) {
        return Ok(None);
    }
    let device = plan.device.clone();
    let train = DeviceData::new(&data.train, &plan.arch, DType::F32, &device)?;
    let hessian_data = match plan.hessian_samples {
        Some(n) if n == 0 || n > train.len() => {
            return Err(WorkerError::InvalidPlan(format!(
                "hessian_samples {n} outside 1..={}",
                train.len()
            )));
        }
        Some(n) => train.head(n)?,
        None => train,
    };
    let seed = u64::from(plan.network);
    let params = Params::init(
        &plan.arch,
        plan.bias_init,
        &mut stream_rng(seed, Stream::Baseline, 0),
        DType::F32,
        &device,
    )?;
    let s = match eigen_snapshot_interruptible(
        &params,
        &hessian_data,
        &plan.snapshot,
        seed,
        0,
        None,
        stop,
    ) {
        Err(WorkerError::SnapshotInterrupted) => return Err(WorkerError::TaskInterrupted),
        other => other?,
    };
    let rows: Vec<BaselineRow> = s
        .eigen
        .pairs
        .iter()
        .enumerate()
        .map(|(i, p)| BaselineRow {
            dataset: plan.dataset.clone(),
            network: plan.network,
            task_key: plan.key.clone(),
            index: i as u32 + 1,
            eigenvalue: p.value,
            residual: p.residual,
            converged: p.converged,
            products: s.eigen.products as u32,
            ipr: ipr(&p.vector),
            eigenvector: p.vector.iter().map(|&x| x as f32).collect(),
        })
        .collect();
    PartWriter::open(dir.to_path_buf(), plan.network)?.write_part(&rows)?;
    Ok(Some(s.eigen.products))
}
