//! Optimiser steps against updates computed by hand in f64 with the scalar reference gradient.

use candle_core::DType;

use super::*;
use crate::mlp::loss_and_gradient;
use crate::mlp::reference;
use crate::mlp::tests::{tensors, tiny, Tiny};

fn ref_grad(t: &Tiny, theta: &[f64]) -> Vec<f64> {
    reference::loss_and_gradient(&t.widths, theta, &t.x, &t.labels).1
}

fn run(t: &Tiny, config: OptimizerConfig, steps: usize) -> (Vec<f64>, usize) {
    let (mut params, x, onehot) = tensors(t, DType::F64);
    let mut opt = build(&config, &params).unwrap();
    let mut calls = 0;
    for _ in 0..steps {
        let out = opt
            .step(&params, &mut |p: &Params| {
                calls += 1;
                loss_and_gradient(p, &x, &onehot)
            })
            .unwrap();
        params = out.params;
    }
    (params.to_flat().unwrap(), calls)
}

fn max_abs_diff(a: &[f64], b: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

#[test]
fn sgd_steps_match_hand_computed_updates() {
    let t = tiny(21, &[5, 4, 3], 8);
    let lr = 0.3;
    let mut theta = t.theta.clone();
    for step in 1..=3 {
        let g = ref_grad(&t, &theta);
        for (th, gi) in theta.iter_mut().zip(&g) {
            *th -= lr * gi;
        }
        let (ours, calls) = run(&t, OptimizerConfig::Sgd(SgdConfig { lr }), step);
        assert_eq!(calls, step, "SGD evaluates one gradient per step");
        assert!(max_abs_diff(&ours, &theta) < 1e-13, "step {step}");
    }
    assert!(max_abs_diff(&theta, &t.theta) > 1e-3, "the steps moved θ");
}

#[test]
fn adam_first_step_is_bias_corrected_sign_step() {
    // With bias correction, m̂ = g and v̂ = g² after one step, so Δθ = −η g/(|g| + ε).
    let t = tiny(22, &[5, 4, 3], 8);
    let lr = 1e-2;
    let g = ref_grad(&t, &t.theta);
    let (ours, _) = run(
        &t,
        OptimizerConfig::Adam(AdamConfig {
            lr,
            ..AdamConfig::default()
        }),
        1,
    );
    for ((o, th), gi) in ours.iter().zip(&t.theta).zip(&g) {
        let expected = th - lr * gi / (gi.abs() + 1e-8);
        assert!((o - expected).abs() < 1e-15, "{o} vs {expected}");
    }
}

#[test]
fn adam_several_steps_match_textbook_recursion() {
    let t = tiny(23, &[5, 4, 3], 8);
    let c = AdamConfig {
        lr: 5e-2,
        beta1: 0.8,
        beta2: 0.99,
        eps: 1e-6,
    };
    let mut theta = t.theta.clone();
    let mut m = vec![0.0; theta.len()];
    let mut v = vec![0.0; theta.len()];
    for step in 1..=4 {
        let g = ref_grad(&t, &theta);
        for j in 0..theta.len() {
            m[j] = c.beta1 * m[j] + (1.0 - c.beta1) * g[j];
            v[j] = c.beta2 * v[j] + (1.0 - c.beta2) * g[j] * g[j];
            let m_hat = m[j] / (1.0 - c.beta1.powi(step));
            let v_hat = v[j] / (1.0 - c.beta2.powi(step));
            theta[j] -= c.lr * m_hat / (v_hat.sqrt() + c.eps);
        }
        let (ours, calls) = run(&t, OptimizerConfig::Adam(c), step as usize);
        assert_eq!(calls, step as usize);
        assert!(
            max_abs_diff(&ours, &theta) < 1e-12,
            "step {step}: {}",
            max_abs_diff(&ours, &theta)
        );
    }
}

#[test]
fn sam_uses_two_gradients_on_the_same_batch() {
    let t = tiny(24, &[5, 4, 3], 8);
    let c = SamConfig { lr: 0.2, rho: 0.3 };
    let mut theta = t.theta.clone();
    for step in 1..=2 {
        let g = ref_grad(&t, &theta);
        let norm = g.iter().map(|v| v * v).sum::<f64>().sqrt();
        let perturbed: Vec<f64> = theta
            .iter()
            .zip(&g)
            .map(|(th, gi)| th + c.rho * gi / (norm + 1e-12))
            .collect();
        let g_sharp = ref_grad(&t, &perturbed);
        for (th, gi) in theta.iter_mut().zip(&g_sharp) {
            *th -= c.lr * gi;
        }
        let (ours, calls) = run(&t, OptimizerConfig::Sam(c), step);
        assert_eq!(calls, 2 * step, "SAM evaluates two gradients per step");
        assert!(max_abs_diff(&ours, &theta) < 1e-13, "step {step}");
    }
    // SAM's step differs measurably from SGD's with the same learning rate.
    let (sgd, _) = run(&t, OptimizerConfig::Sgd(SgdConfig { lr: c.lr }), 2);
    assert!(max_abs_diff(&sgd, &theta) > 1e-4);
}
