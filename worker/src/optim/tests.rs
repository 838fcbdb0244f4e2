//! Every optimiser, on both engines (candle tensors and the host's fused pass, in f64),
//! against a textbook f64 implementation written here from PyTorch's documented algorithms
//! (element by element, sharing no code with [`super::rule`]), with the scalar reference
//! gradient and a changing learning rate.

use candle_core::DType;

use super::*;
use crate::mlp::loss_and_gradient;
use crate::mlp::reference;
use crate::mlp::tests::{tensors, tiny, Tiny};

fn ref_grad(t: &Tiny, theta: &[f64]) -> Vec<f64> {
    reference::loss_and_gradient(&t.widths, theta, &t.x, &t.labels).1
}

/// θ after one step per rate in `lrs`, from the tensor optimiser, and its gradient calls.
fn tensor_run(t: &Tiny, config: OptimizerConfig, lrs: &[f64]) -> (Vec<f64>, usize) {
    let (mut params, x, onehot) = tensors(t, DType::F64);
    let mut opt = TensorOptimizer::new(config, &params).unwrap();
    let mut calls = 0;
    for &lr in lrs {
        let out = opt
            .step(&params, lr, &mut |p: &Params| {
                calls += 1;
                loss_and_gradient(p, &x, &onehot)
            })
            .unwrap();
        params = out.params;
    }
    (params.to_flat().unwrap(), calls)
}

/// The same on the host optimiser, with the scalar reference gradient.
fn host_run(t: &Tiny, config: OptimizerConfig, lrs: &[f64]) -> (Vec<f64>, usize) {
    let n = t.theta.len();
    let mut opt = HostOptimizer::<f64>::new(config, n);
    let mut theta = t.theta.clone();
    let (mut g, mut u) = (vec![0.0; n], vec![0.0; n]);
    let mut calls = 0;
    for &lr in lrs {
        let before = theta.clone();
        opt.step(&mut theta, &mut g, &mut u, lr, &mut |th, out| {
            calls += 1;
            let (loss, grad) = reference::loss_and_gradient(&t.widths, th, &t.x, &t.labels);
            out.copy_from_slice(&grad);
            loss
        });
        for ((u, new), old) in u.iter().zip(&theta).zip(&before) {
            assert_eq!(*u, new - old, "the update is the step taken");
        }
    }
    (theta, calls)
}

/// PyTorch's documented algorithm for `rule`, element by element.
struct Textbook {
    rule: BaseOptimizer,
    t: i32,
    /// m (Adam), the momentum buffer (SGD, RMSprop).
    a: Vec<f64>,
    /// v (Adam, RMSprop).
    b: Vec<f64>,
    /// RMSprop's running mean of g (centred).
    c: Vec<f64>,
}

impl Textbook {
    fn new(rule: BaseOptimizer, n: usize) -> Self {
        Self {
            rule,
            t: 0,
            a: vec![0.0; n],
            b: vec![0.0; n],
            c: vec![0.0; n],
        }
    }

    fn step(&mut self, theta: &mut [f64], grad: &[f64], lr: f64) {
        self.t += 1;
        let t = self.t;
        for j in 0..theta.len() {
            let mut g = grad[j];
            match self.rule {
                BaseOptimizer::Sgd(c) => {
                    g += c.weight_decay * theta[j];
                    if c.momentum != 0.0 {
                        self.a[j] = if t > 1 {
                            c.momentum * self.a[j] + (1.0 - c.dampening) * g
                        } else {
                            g
                        };
                        g = if c.nesterov {
                            g + c.momentum * self.a[j]
                        } else {
                            self.a[j]
                        };
                    }
                    theta[j] -= lr * g;
                }
                BaseOptimizer::Adam(c) => {
                    if c.decoupled {
                        theta[j] -= lr * c.weight_decay * theta[j];
                    } else {
                        g += c.weight_decay * theta[j];
                    }
                    self.a[j] = c.beta1 * self.a[j] + (1.0 - c.beta1) * g;
                    self.b[j] = c.beta2 * self.b[j] + (1.0 - c.beta2) * g * g;
                    let m_hat = self.a[j] / (1.0 - c.beta1.powi(t));
                    let v_hat = self.b[j] / (1.0 - c.beta2.powi(t));
                    theta[j] -= lr * m_hat / (v_hat.sqrt() + c.eps);
                }
                BaseOptimizer::Rmsprop(c) => {
                    g += c.weight_decay * theta[j];
                    self.b[j] = c.alpha * self.b[j] + (1.0 - c.alpha) * g * g;
                    let mut v = self.b[j];
                    if c.centered {
                        self.c[j] = c.alpha * self.c[j] + (1.0 - c.alpha) * g;
                        v -= self.c[j] * self.c[j];
                    }
                    let d = g / (v.sqrt() + c.eps);
                    if c.momentum > 0.0 {
                        self.a[j] = c.momentum * self.a[j] + d;
                        theta[j] -= lr * self.a[j];
                    } else {
                        theta[j] -= lr * d;
                    }
                }
            }
        }
    }
}

/// θ after the textbook steps, SAM's ascent included.
fn textbook_run(t: &Tiny, config: OptimizerConfig, lrs: &[f64]) -> Vec<f64> {
    let mut theta = t.theta.clone();
    let mut book = Textbook::new(config.base(), theta.len());
    for &lr in lrs {
        let mut g = ref_grad(t, &theta);
        if let Some(rho) = config.sam_rho() {
            let norm = g.iter().map(|v| v * v).sum::<f64>().sqrt();
            let perturbed: Vec<f64> = theta
                .iter()
                .zip(&g)
                .map(|(th, gi)| th + rho * gi / (norm + 1e-12))
                .collect();
            g = ref_grad(t, &perturbed);
        }
        book.step(&mut theta, &g, lr);
    }
    theta
}

fn max_abs_diff(a: &[f64], b: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

fn sgd(lr: f64) -> SgdConfig {
    SgdConfig {
        lr,
        ..SgdConfig::default()
    }
}

/// Every rule and setting this crate offers.
fn all_configs() -> Vec<OptimizerConfig> {
    let momentum = SgdConfig {
        momentum: 0.9,
        ..sgd(0.1)
    };
    let adam = AdamConfig {
        lr: 5e-2,
        beta1: 0.8,
        beta2: 0.99,
        eps: 1e-6,
        ..AdamConfig::default()
    };
    let rms = RmspropConfig {
        lr: 1e-2,
        alpha: 0.9,
        ..RmspropConfig::default()
    };
    vec![
        OptimizerConfig::Sgd(sgd(0.3)),
        OptimizerConfig::Sgd(momentum),
        OptimizerConfig::Sgd(SgdConfig {
            dampening: 0.3,
            weight_decay: 0.05,
            ..momentum
        }),
        OptimizerConfig::Sgd(SgdConfig {
            nesterov: true,
            weight_decay: 0.01,
            ..momentum
        }),
        OptimizerConfig::Sgd(SgdConfig {
            weight_decay: 0.1,
            ..sgd(0.2)
        }),
        OptimizerConfig::Adam(adam),
        OptimizerConfig::Adam(AdamConfig {
            weight_decay: 0.1,
            ..adam
        }),
        OptimizerConfig::Adam(AdamConfig {
            weight_decay: 0.2,
            decoupled: true,
            ..adam
        }),
        OptimizerConfig::Rmsprop(rms),
        OptimizerConfig::Rmsprop(RmspropConfig {
            centered: true,
            momentum: 0.5,
            weight_decay: 0.01,
            ..rms
        }),
        OptimizerConfig::Rmsprop(RmspropConfig {
            momentum: 0.9,
            ..rms
        }),
        OptimizerConfig::Sam(SamConfig::sgd(0.2, 0.3)),
        OptimizerConfig::Sam(SamConfig {
            rho: 0.1,
            base: BaseOptimizer::Sgd(momentum),
        }),
        OptimizerConfig::Sam(SamConfig {
            rho: 0.05,
            base: BaseOptimizer::Adam(AdamConfig::adamw()),
        }),
        OptimizerConfig::Sam(SamConfig {
            rho: 0.05,
            base: BaseOptimizer::Rmsprop(rms),
        }),
    ]
}

#[test]
fn every_rule_matches_the_textbook_on_both_engines_with_a_changing_rate() {
    let t = tiny(21, &[5, 4, 3], 8);
    for config in all_configs() {
        // Rates as a warm-up then a decay would give them.
        let base = config.lr();
        let lrs: Vec<f64> = [0.5, 1.0, 1.0, 0.7, 0.3].iter().map(|f| f * base).collect();
        let want = textbook_run(&t, config, &lrs);
        let evaluations = if config.sam_rho().is_some() { 2 } else { 1 } * lrs.len();
        for (engine, (ours, calls)) in [
            ("tensors", tensor_run(&t, config, &lrs)),
            ("host", host_run(&t, config, &lrs)),
        ] {
            assert_eq!(calls, evaluations, "{config:?} on {engine}");
            let err = max_abs_diff(&ours, &want);
            assert!(err < 1e-12, "{config:?} on {engine}: {err:e}");
        }
        assert!(
            max_abs_diff(&want, &t.theta) > 1e-4,
            "{config:?}: the steps moved θ"
        );
    }
}

#[test]
fn each_setting_changes_the_steps() {
    // A setting that the rules ignored would pass the textbook test only if the textbook
    // ignored it too: check that each one moves θ away from the rule without it.
    let t = tiny(25, &[5, 4, 3], 8);
    let lrs = [0.1; 4];
    let plain = host_run(&t, OptimizerConfig::Sgd(sgd(0.1)), &lrs).0;
    let momentum = SgdConfig {
        momentum: 0.9,
        ..sgd(0.1)
    };
    let with_momentum = host_run(&t, OptimizerConfig::Sgd(momentum), &lrs).0;
    assert!(max_abs_diff(&plain, &with_momentum) > 1e-3);
    for variant in [
        SgdConfig {
            nesterov: true,
            ..momentum
        },
        SgdConfig {
            dampening: 0.5,
            ..momentum
        },
        SgdConfig {
            weight_decay: 0.1,
            ..momentum
        },
    ] {
        let other = host_run(&t, OptimizerConfig::Sgd(variant), &lrs).0;
        assert!(max_abs_diff(&other, &with_momentum) > 1e-4, "{variant:?}");
    }
    let adam = AdamConfig {
        weight_decay: 0.5,
        ..AdamConfig::default()
    };
    let l2 = host_run(&t, OptimizerConfig::Adam(adam), &[1e-2; 4]).0;
    let decoupled = AdamConfig {
        decoupled: true,
        ..adam
    };
    let w = host_run(&t, OptimizerConfig::Adam(decoupled), &[1e-2; 4]).0;
    assert!(max_abs_diff(&l2, &w) > 1e-5, "AdamW is not Adam with L2");
}

#[test]
fn adam_first_step_is_bias_corrected_sign_step() {
    // With bias correction, m̂ = g and v̂ = g² after one step, so Δθ = −η g/(|g| + ε).
    let t = tiny(22, &[5, 4, 3], 8);
    let lr = 1e-2;
    let g = ref_grad(&t, &t.theta);
    let (ours, _) = tensor_run(&t, OptimizerConfig::Adam(AdamConfig::default()), &[lr]);
    for ((o, th), gi) in ours.iter().zip(&t.theta).zip(&g) {
        let expected = th - lr * gi / (gi.abs() + 1e-8);
        assert!((o - expected).abs() < 1e-15, "{o} vs {expected}");
    }
}

#[test]
fn the_engines_keep_their_state_in_the_same_layout() {
    let t = tiny(26, &[5, 4, 3], 8);
    let rms = OptimizerConfig::Rmsprop(RmspropConfig {
        centered: true,
        momentum: 0.5,
        ..RmspropConfig::default()
    });
    let (params, x, onehot) = tensors(&t, DType::F64);
    let mut tensor = TensorOptimizer::new(rms, &params).unwrap();
    let mut host = HostOptimizer::<f64>::new(rms, t.theta.len());
    let mut theta = t.theta.clone();
    let (mut g, mut u) = (vec![0.0; theta.len()], vec![0.0; theta.len()]);
    let mut p = params;
    for _ in 0..3 {
        p = tensor
            .step(&p, 1e-2, &mut |p: &Params| {
                loss_and_gradient(p, &x, &onehot)
            })
            .unwrap()
            .params;
        host.step(&mut theta, &mut g, &mut u, 1e-2, &mut |th, out| {
            let (loss, grad) = reference::loss_and_gradient(&t.widths, th, &t.x, &t.labels);
            out.copy_from_slice(&grad);
            loss
        });
    }
    let (a, ta) = tensor.state().unwrap();
    let (b, tb) = host.state();
    assert_eq!((a.len(), ta, tb), (3, 3, 3), "square_avg, grad_avg, buffer");
    for (x, y) in a.iter().zip(&b) {
        assert!(max_abs_diff(x, y) < 1e-14);
    }
    // A restored host optimiser continues as the original.
    let mut restored = HostOptimizer::<f64>::new(rms, t.theta.len());
    restored.restore(&b, tb).unwrap();
    assert_eq!(restored.state(), host.state());
    // Another rule's state is refused, naming what was expected.
    let err = restored.restore(&b[..2], 3).unwrap_err().to_string();
    assert!(
        err.contains("rmsprop state needs 3 tensors (square_avg, grad_avg, momentum_buffer)"),
        "{err}"
    );
}
