//! Plans from the sweep's specs: the one place where the sweep's resolved settings
//! ([`RunSpec`] and [`BaselineTask`], after defaults and overrides) become the worker's
//! [`RunPlan`] and [`BaselinePlan`], so `run`, its fused ensembles, `train` and the tests that
//! build outputs cannot drift apart field by field.

use candle_core::Device;
use eigensweep_common::sweep::{BaselineTask, BiasInit as SpecBias, EigenSettings, RunSpec};

use super::baseline::BaselinePlan;
use super::plan::RunPlan;
use crate::mlp::{Architecture, BiasInit, HessianOptions};
use crate::snapshot::SnapshotSettings;

/// How often a run writes its parts and a checkpoint (the launch's choice, not the sweep's).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Checkpointing {
    /// After every this many snapshots...
    pub every_snapshots: u64,
    /// ...and at the first step after this many seconds without one.
    pub seconds: f64,
}

impl RunPlan {
    /// The plan of `spec`, trained as `arch` (the spec's hidden widths between the dataset's
    /// input dimension and class count, see [`Architecture::new`]) on `device`.
    pub fn from_spec(
        spec: &RunSpec,
        arch: Architecture,
        checkpointing: Checkpointing,
        device: Device,
    ) -> RunPlan {
        RunPlan {
            key: spec.key.clone(),
            arch,
            bias_init: bias_init(spec.model.bias_init),
            optimizer: spec.optimizer.config,
            lr_schedule: spec.optimizer.schedule,
            seed: spec.seed,
            steps: spec.steps,
            batch_size: spec.batch_size,
            log_every: spec.log_every,
            snapshot_steps: spec.snapshot_steps.clone(),
            eval_steps: spec.eval_steps.clone(),
            snapshot: snapshot_settings(&spec.eigen),
            statistics: spec.statistics,
            hessian_samples: spec.hessian_samples,
            store_weights: spec.store_weights,
            checkpoint_every: checkpointing.every_snapshots,
            checkpoint_seconds: checkpointing.seconds,
            device,
        }
    }
}

impl BaselinePlan {
    /// The plan of the baseline network `task` (a random initialisation of its dataset's
    /// network, [`Architecture`] `arch`) on `device`.
    pub fn from_task(task: &BaselineTask, arch: Architecture, device: Device) -> BaselinePlan {
        BaselinePlan {
            key: task.key.clone(),
            dataset: task.dataset.name.clone(),
            network: task.network as u32,
            arch,
            bias_init: bias_init(task.model.bias_init),
            snapshot: snapshot_settings(&task.eigen),
            hessian_samples: task.hessian_samples,
            device,
        }
    }
}

fn bias_init(b: SpecBias) -> BiasInit {
    match b {
        SpecBias::Zero => BiasInit::Zero,
        SpecBias::Pytorch => BiasInit::PyTorchUniform,
    }
}

/// The eigensolver settings of a sweep's `snapshots` (or `baseline`, `extra_eigen`) section;
/// the Hessian engine keeps its defaults.
fn snapshot_settings(eigen: &EigenSettings) -> SnapshotSettings {
    SnapshotSettings {
        top_k: eigen.top_k,
        tol: eigen.tol,
        max_products: eigen.max_products,
        hessian: HessianOptions::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use eigensweep_common::sweep::{parse_sweep, Overrides};

    #[test]
    fn the_plan_carries_every_resolved_setting_of_the_spec() {
        let sweep = parse_sweep(
            "name: t\noutput: o\ndatasets: [{name: d, source: synthetic, train_size: 100, test_size: 20}]\n\
             model: {hidden: [4], bias_init: pytorch}\ntraining: {steps: 10, batch_size: 8}\n\
             optimizers: [{name: a, kind: adam, lr: 0.002}]\nseeds: [7]\n\
             snapshots: {schedule: {every: 5}, top_k: 2, tol: 0.01, hessian_samples: 50}\n\
             baseline: {networks: 2, top_k: 1}\n",
            &Overrides::default(),
        )
        .unwrap();
        let spec = &sweep.runs()[0];
        let arch = Architecture::new(vec![784, 4, 10]).unwrap();
        let every = Checkpointing {
            every_snapshots: 3,
            seconds: 60.0,
        };
        let plan = RunPlan::from_spec(spec, arch, every, Device::Cpu);
        assert_eq!(plan.key, spec.key);
        assert_eq!(plan.bias_init, BiasInit::PyTorchUniform);
        assert_eq!((plan.seed, plan.steps, plan.batch_size), (7, 10, 8));
        assert_eq!(plan.snapshot_steps, vec![0, 5, 10]);
        assert_eq!(plan.eval_steps, spec.eval_steps);
        assert_eq!((plan.snapshot.top_k, plan.snapshot.tol), (2, 0.01));
        assert_eq!(plan.hessian_samples, Some(50));
        assert_eq!((plan.checkpoint_every, plan.checkpoint_seconds), (3, 60.0));
        assert_eq!(plan.optimizer, spec.optimizer.config);

        let task = &sweep.baseline_tasks()[1];
        let arch = Architecture::new(vec![784, 4, 10]).unwrap();
        let base = BaselinePlan::from_task(task, arch, Device::Cpu);
        assert_eq!((base.key.as_str(), base.network), (task.key.as_str(), 1));
        assert_eq!(base.dataset, "d");
        assert_eq!(base.bias_init, BiasInit::PyTorchUniform);
        assert_eq!(base.snapshot.top_k, task.eigen.top_k);
        assert_eq!(base.hessian_samples, task.hessian_samples);
    }
}
