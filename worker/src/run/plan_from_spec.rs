//! A run's plan from the sweep's run spec: the one place where the sweep's resolved settings
//! ([`RunSpec`], after defaults and overrides) become the worker's [`RunPlan`], so `run`, its
//! fused ensembles and `train` cannot drift apart field by field.

use candle_core::Device;
use eigensweep_common::sweep::{BiasInit as SpecBias, RunSpec};

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
            bias_init: match spec.model.bias_init {
                SpecBias::Zero => BiasInit::Zero,
                SpecBias::Pytorch => BiasInit::PyTorchUniform,
            },
            optimizer: spec.optimizer.config,
            lr_schedule: spec.optimizer.schedule,
            seed: spec.seed,
            steps: spec.steps,
            batch_size: spec.batch_size,
            log_every: spec.log_every,
            snapshot_steps: spec.snapshot_steps.clone(),
            eval_steps: spec.eval_steps.clone(),
            snapshot: SnapshotSettings {
                top_k: spec.eigen.top_k,
                tol: spec.eigen.tol,
                max_products: spec.eigen.max_products,
                hessian: HessianOptions::default(),
            },
            statistics: spec.statistics,
            hessian_samples: spec.hessian_samples,
            store_weights: spec.store_weights,
            checkpoint_every: checkpointing.every_snapshots,
            checkpoint_seconds: checkpointing.seconds,
            device,
        }
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
             snapshots: {schedule: {every: 5}, top_k: 2, tol: 0.01, hessian_samples: 50}\n",
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
    }
}
