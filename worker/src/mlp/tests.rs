//! The model's gradient and Hessian against the independent scalar reference in `reference`.

use candle_core::{DType, Device, Tensor};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::reference;
use super::*;
use crate::eigen::SymmetricOperator;

/// A small problem: widths, flat θ, inputs, labels.
pub(crate) struct Tiny {
    pub widths: Vec<usize>,
    pub theta: Vec<f64>,
    pub x: Vec<f64>,
    pub labels: Vec<usize>,
}

pub(crate) fn tiny(seed: u64, widths: &[usize], n: usize) -> Tiny {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let arch = Architecture::new(widths.to_vec()).unwrap();
    let theta = (0..arch.num_params())
        .map(|_| rng.gen_range(-0.8..0.8))
        .collect();
    let x = (0..n * widths[0])
        .map(|_| rng.gen_range(-1.0..1.0))
        .collect();
    let labels = (0..n)
        .map(|_| rng.gen_range(0..arch.output_dim()))
        .collect();
    Tiny {
        widths: widths.to_vec(),
        theta,
        x,
        labels,
    }
}

pub(crate) fn tensors(t: &Tiny, dtype: DType) -> (Params, Tensor, Tensor) {
    let arch = Architecture::new(t.widths.clone()).unwrap();
    let dev = Device::Cpu;
    let params = Params::from_flat(&arch, &t.theta, dtype, &dev).unwrap();
    let n = t.labels.len();
    let x = Tensor::from_slice(&t.x, (n, t.widths[0]), &dev)
        .unwrap()
        .to_dtype(dtype)
        .unwrap();
    let classes = arch.output_dim();
    let mut onehot = vec![0.0f64; n * classes];
    for (i, &l) in t.labels.iter().enumerate() {
        onehot[i * classes + l] = 1.0;
    }
    let onehot = Tensor::from_slice(&onehot, (n, classes), &dev)
        .unwrap()
        .to_dtype(dtype)
        .unwrap();
    (params, x, onehot)
}

fn rel_err(a: &[f64], b: &[f64]) -> f64 {
    let num: f64 = a
        .iter()
        .zip(b)
        .map(|(x, y)| (x - y) * (x - y))
        .sum::<f64>()
        .sqrt();
    let den: f64 = b.iter().map(|y| y * y).sum::<f64>().sqrt();
    num / den
}

fn hessian_columns(op: &mut HessianOperator, block: usize) -> Vec<f64> {
    let n = op.dim();
    let mut dense = vec![0.0; n * n];
    let mut j = 0;
    while j < n {
        let count = block.min(n - j);
        let mut inputs = vec![0.0; count * n];
        for c in 0..count {
            inputs[c * n + j + c] = 1.0;
        }
        let mut outputs = vec![0.0; count * n];
        op.apply_block(&inputs, &mut outputs, count).unwrap();
        for c in 0..count {
            for i in 0..n {
                dense[i * n + j + c] = outputs[c * n + i];
            }
        }
        j += count;
    }
    dense
}

#[test]
fn gradient_matches_scalar_reference() {
    let t = tiny(1, &[6, 5, 4, 3], 9);
    let (params, x, onehot) = tensors(&t, DType::F64);
    let (loss, grad) = loss_and_gradient(&params, &x, &onehot).unwrap();
    let (ref_loss, ref_grad) = reference::loss_and_gradient(&t.widths, &t.theta, &t.x, &t.labels);
    assert!(
        (loss - ref_loss).abs() < 1e-13 * ref_loss.abs(),
        "{loss} vs {ref_loss}"
    );
    assert!(rel_err(&grad.to_flat().unwrap(), &ref_grad) < 1e-13);
}

#[test]
fn hessian_products_equal_dense_complex_step_hessian_in_f64() {
    for engine in [HessianEngine::Auto, HessianEngine::Tensor] {
        for (seed, widths, n, chunk) in [
            (2, vec![6, 5, 4, 3], 9, 9),
            (3, vec![7, 6, 5, 4, 3], 11, 4),
            (4, vec![5, 8, 3], 13, 5),
        ] {
            let t = tiny(seed, &widths, n);
            let (params, x, onehot) = tensors(&t, DType::F64);
            let dense = reference::dense_hessian(&t.widths, &t.theta, &t.x, &t.labels);
            let mut op = HessianOperator::new(
                &params,
                &x,
                &onehot,
                &HessianOptions {
                    chunk: Some(chunk),
                    engine,
                    threads: Some(2),
                },
            )
            .unwrap();
            // Blocks of 3 exercise the batched first-layer products, including a ragged last block.
            let ours = hessian_columns(&mut op, 3);
            let err = rel_err(&ours, &dense);
            assert!(err < 1e-9, "widths {widths:?}: relative error {err:e}");
            // The reference itself must be a genuine, non-trivial Hessian (not both zero).
            assert!(dense.iter().map(|v| v * v).sum::<f64>() > 1e-6);
            let np = params.architecture().num_params();
            assert_eq!(op.products(), np);
            // The loss and gradient cached with the operator are the full-batch ones.
            let (ref_loss, ref_grad) =
                reference::loss_and_gradient(&t.widths, &t.theta, &t.x, &t.labels);
            assert!((op.loss() - ref_loss).abs() < 1e-12);
            assert!(rel_err(&op.gradient().to_flat().unwrap(), &ref_grad) < 1e-12);
        }
    }
}

#[test]
fn complex_step_reference_agrees_with_small_step_finite_differences() {
    // Guards the reference: central differences with h = 1e-7 (no kink crossed at this θ)
    // agree with the complex-step Hessian to ~1e-7.
    let t = tiny(5, &[4, 3, 3], 6);
    let dense = reference::dense_hessian(&t.widths, &t.theta, &t.x, &t.labels);
    let n = t.theta.len();
    let h = 1e-7;
    let mut fd = vec![0.0; n * n];
    for j in 0..n {
        let mut plus = t.theta.clone();
        plus[j] += h;
        let mut minus = t.theta.clone();
        minus[j] -= h;
        let (_, gp) = reference::loss_and_gradient(&t.widths, &plus, &t.x, &t.labels);
        let (_, gm) = reference::loss_and_gradient(&t.widths, &minus, &t.x, &t.labels);
        for i in 0..n {
            fd[i * n + j] = (gp[i] - gm[i]) / (2.0 * h);
        }
    }
    assert!(rel_err(&fd, &dense) < 1e-6, "{}", rel_err(&fd, &dense));
}

fn random_vec(rng: &mut ChaCha8Rng, n: usize) -> Vec<f64> {
    (0..n).map(|_| rng.gen_range(-1.0..1.0)).collect()
}

fn synthetic_problem(n: usize, dtype: DType, seed: u64) -> (Params, Tensor, Tensor) {
    let arch = Architecture::paper();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let params = Params::init(
        &arch,
        BiasInit::PyTorchUniform,
        &mut rng,
        DType::F64,
        &Device::Cpu,
    )
    .unwrap();
    let x: Vec<f64> = (0..n * 784)
        .map(|_| {
            if rng.gen_bool(0.2) {
                rng.gen_range(0.0..1.0)
            } else {
                0.0
            }
        })
        .collect();
    let labels: Vec<usize> = (0..n).map(|_| rng.gen_range(0..10)).collect();
    let t = Tiny {
        widths: arch.widths().to_vec(),
        theta: params.to_flat().unwrap(),
        x,
        labels,
    };
    tensors(&t, dtype)
}

#[test]
fn hessian_is_symmetric_and_f32_agrees_with_f64_on_paper_architecture() {
    let (p64, x64, y64) = synthetic_problem(700, DType::F64, 6);
    let (p32, x32, y32) = synthetic_problem(700, DType::F32, 6);
    let mut h64 = HessianOperator::new(&p64, &x64, &y64, &HessianOptions::with_chunk(256)).unwrap();
    let mut h32 = HessianOperator::new(&p32, &x32, &y32, &HessianOptions::with_chunk(300)).unwrap();
    let n = h64.dim();
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let (u, v) = (random_vec(&mut rng, n), random_vec(&mut rng, n));
    let mut inputs = u.clone();
    inputs.extend_from_slice(&v);
    let mut out64 = vec![0.0; 2 * n];
    h64.apply_block(&inputs, &mut out64, 2).unwrap();
    let (hu, hv) = out64.split_at(n);
    let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f64>();
    let (uhv, vhu) = (dot(&u, hv), dot(&v, hu));
    assert!(
        (uhv - vhu).abs() <= 1e-11 * uhv.abs().max(vhu.abs()),
        "{uhv} vs {vhu}"
    );
    let mut out32 = vec![0.0; 2 * n];
    h32.apply_block(&inputs, &mut out32, 2).unwrap();
    let err = rel_err(&out32, &out64);
    assert!(err < 2e-5, "f32 vs f64 relative error {err:e}");
    assert!(err > 0.0, "f32 path should not be bit-identical to f64");
    // One vector at a time gives the same as the block.
    let mut single = vec![0.0; n];
    h64.apply_block(&v, &mut single, 1).unwrap();
    assert!(rel_err(&single, hv) < 1e-14);
}

#[test]
fn init_is_xavier_uniform_and_reproducible() {
    let arch = Architecture::paper();
    let mut a = ChaCha8Rng::seed_from_u64(9);
    let mut b = ChaCha8Rng::seed_from_u64(9);
    let p = Params::init(&arch, BiasInit::Zero, &mut a, DType::F32, &Device::Cpu).unwrap();
    let q = Params::init(&arch, BiasInit::Zero, &mut b, DType::F32, &Device::Cpu).unwrap();
    let (fp, fq) = (p.to_flat().unwrap(), q.to_flat().unwrap());
    assert_eq!(fp, fq);
    for layer in arch.layers() {
        let bound = (6.0 / (layer.fan_in + layer.fan_out) as f64).sqrt();
        let w = &fp[layer.weight_offset..layer.bias_offset];
        assert!(w.iter().all(|v| v.abs() <= bound));
        // Uniform on (−a, a) has variance a²/3.
        let var = w.iter().map(|v| v * v).sum::<f64>() / w.len() as f64;
        assert!(
            (var - bound * bound / 3.0).abs() < 0.1 * bound * bound / 3.0,
            "variance {var}"
        );
        assert!(fp[layer.bias_offset..layer.bias_offset + layer.fan_out]
            .iter()
            .all(|&v| v == 0.0));
    }
}

#[test]
fn cpu_and_tensor_engines_agree_across_chunks_and_threads() {
    // 700 samples in chunks of 300 with 128-row sub-chunks: ragged chunks and sub-chunks.
    let (p, x, y) = synthetic_problem(700, DType::F64, 8);
    let n = p.architecture().num_params();
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    let v: Vec<f64> = (0..3 * n).map(|_| rng.gen_range(-1.0..1.0)).collect();
    let mut reference = vec![0.0; 3 * n];
    let tensor_opts = HessianOptions {
        chunk: Some(700),
        engine: HessianEngine::Tensor,
        threads: None,
    };
    HessianOperator::new(&p, &x, &y, &tensor_opts)
        .unwrap()
        .apply_block(&v, &mut reference, 3)
        .unwrap();
    for (chunk, threads) in [(300, 1), (300, 2), (64, 3), (2048, 2)] {
        let opts = HessianOptions {
            chunk: Some(chunk),
            engine: HessianEngine::Auto,
            threads: Some(threads),
        };
        let mut out = vec![0.0; 3 * n];
        HessianOperator::new(&p, &x, &y, &opts)
            .unwrap()
            .apply_block(&v, &mut out, 3)
            .unwrap();
        let err = rel_err(&out, &reference);
        assert!(err < 1e-12, "chunk {chunk}, threads {threads}: {err:e}");
    }
}

#[test]
fn cpu_engine_is_deterministic_for_a_thread_count() {
    let (p, x, y) = synthetic_problem(500, DType::F32, 10);
    let n = p.architecture().num_params();
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let v: Vec<f64> = (0..n).map(|_| rng.gen_range(-1.0..1.0)).collect();
    let run = || {
        let opts = HessianOptions {
            chunk: Some(128),
            engine: HessianEngine::Auto,
            threads: Some(2),
        };
        let mut out = vec![0.0; n];
        HessianOperator::new(&p, &x, &y, &opts)
            .unwrap()
            .apply_block(&v, &mut out, 1)
            .unwrap();
        out
    };
    assert_eq!(run(), run());
}

#[test]
fn eigensolver_on_small_mlp_hessian_matches_dense_eigendecomposition() {
    use crate::eigen::{top_k_eigenpairs, EigenOptions};
    let t = tiny(12, &[8, 7, 6, 4], 40);
    let (params, x, onehot) = tensors(&t, DType::F64);
    let dense = reference::dense_hessian(&t.widths, &t.theta, &t.x, &t.labels);
    let n = t.theta.len();
    let sym = nalgebra::DMatrix::from_fn(n, n, |i, j| 0.5 * (dense[i * n + j] + dense[j * n + i]));
    let eig = nalgebra::SymmetricEigen::new(sym);
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| eig.eigenvalues[b].partial_cmp(&eig.eigenvalues[a]).unwrap());
    let mut op = HessianOperator::new(&params, &x, &onehot, &HessianOptions::default()).unwrap();
    let k = 4;
    let opts = EigenOptions {
        k,
        tol: 1e-10,
        max_products: 2000,
        ..EigenOptions::default()
    };
    let result = top_k_eigenpairs(&mut op, &opts, None).unwrap();
    assert_eq!(result.pairs.len(), k);
    for (i, pair) in result.pairs.iter().enumerate() {
        let want = eig.eigenvalues[order[i]];
        assert!(
            (pair.value - want).abs() <= 1e-8 * want.abs().max(1e-3),
            "λ{}: {} vs {}",
            i + 1,
            pair.value,
            want
        );
        assert!(pair.converged);
        // Compare vectors where the eigenvalue is separated from its neighbours.
        let gap = (0..n)
            .filter(|&j| j != order[i])
            .map(|j| (eig.eigenvalues[j] - want).abs())
            .fold(f64::INFINITY, f64::min);
        if gap > 1e-3 * want.abs() {
            let col = eig.eigenvectors.column(order[i]);
            let cos: f64 = pair.vector.iter().zip(col.iter()).map(|(a, b)| a * b).sum();
            assert!(
                cos.abs() > 1.0 - 1e-8,
                "eigenvector {} |cos| = {}",
                i + 1,
                cos.abs()
            );
        }
    }
}

/// A tiny network's Hessian operator in f64 and its dense complex-step reference (N × N).
fn tiny_hessian(seed: u64) -> (HessianOperator, Vec<f64>, usize) {
    let t = tiny(seed, &[6, 5, 4, 3], 12);
    let (params, x, onehot) = tensors(&t, DType::F64);
    let dense = reference::dense_hessian(&t.widths, &t.theta, &t.x, &t.labels);
    let op = HessianOperator::new(&params, &x, &onehot, &HessianOptions::default()).unwrap();
    (op, dense, t.theta.len())
}

/// Hutchinson's trace (issue 14) through the real Hessian operator against the trace of the
/// dense f64 Hessian computed independently by complex-step differentiation.
#[test]
fn hutchinson_trace_of_the_hessian_matches_the_dense_reference() {
    let (mut op, dense, n) = tiny_hessian(41);
    let exact: f64 = (0..n).map(|i| dense[i * n + i]).sum();
    let est = crate::eigen::hutchinson_trace(&mut op, 3000, 7).unwrap();
    assert!(exact.abs() > 1e-3, "a non-trivial trace: {exact}");
    assert!(
        (est.trace - exact).abs() <= 4.0 * est.std_error,
        "{} ± {} against the dense trace {exact}",
        est.trace,
        est.std_error
    );
    assert!(est.std_error < 0.1 * exact.abs(), "{est:?}");
    assert_eq!(op.products(), 3000);
}

/// Stochastic Lanczos quadrature (issue 14) through the real Hessian operator: each probe's
/// nodes and weights reproduce vᵀHᵖv of the complex-step dense Hessian for p ≤ 2m − 1 (the
/// moments a Gauss quadrature of m nodes is exact for).
#[test]
fn lanczos_quadrature_of_the_hessian_reproduces_the_dense_moments() {
    let (mut op, dense, n) = tiny_hessian(42);
    let (probes, m) = (2, 5);
    let quads = crate::eigen::lanczos_quadrature(&mut op, probes, m, 13).unwrap();
    let vs = crate::eigen::rademacher_unit_probes(n, probes, 13);
    for (q, v) in quads.iter().zip(&vs) {
        assert_eq!(q.nodes.len(), m);
        let mut hpv = v.clone();
        for p in 0..2 * m {
            let exact: f64 = v.iter().zip(&hpv).map(|(a, b)| a * b).sum();
            let quad: f64 = q
                .nodes
                .iter()
                .zip(&q.weights)
                .map(|(t, w)| w * t.powi(p as i32))
                .sum();
            assert!(
                (quad - exact).abs() <= 1e-8 * exact.abs().max(1e-3),
                "p = {p}: quadrature {quad}, dense {exact}"
            );
            hpv = (0..n)
                .map(|i| (0..n).map(|j| dense[i * n + j] * hpv[j]).sum())
                .collect();
        }
    }
    assert_eq!(op.products(), probes * m);
}

/// Adam's preconditioned Hessian (issue 14) through the real operator: the top eigenvalues of
/// `D H D` (`D = P^(−1/2)` from an Adam-like second moment) against the dense f64 reference
/// conjugated by hand.
#[test]
fn preconditioned_hessian_eigenvalues_match_the_dense_reference() {
    use crate::eigen::{symmetric_eigen, top_k_eigenpairs, DiagonallyScaled, EigenOptions};
    use crate::optim::{preconditioner_scale, AdamConfig, BaseOptimizer};
    let (mut op, dense, n) = tiny_hessian(43);
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let v: Vec<f64> = (0..n).map(|_| rng.gen_range(1e-6..1e-2)).collect();
    let adam = BaseOptimizer::Adam(AdamConfig::default());
    let scale = preconditioner_scale(&adam, 1e-3, &[vec![0.0; n], v], 7).unwrap();
    let conjugated: Vec<f64> = (0..n * n)
        .map(|ij| scale[ij / n] * dense[ij] * scale[ij % n])
        .collect();
    let want = symmetric_eigen(&conjugated, n).unwrap().values;
    let mut scaled = DiagonallyScaled {
        op: &mut op,
        scale: &scale,
    };
    let got = top_k_eigenpairs(
        &mut scaled,
        &EigenOptions {
            k: 2,
            tol: 1e-10,
            ..EigenOptions::default()
        },
        None,
    )
    .unwrap();
    for (p, w) in got.pairs.iter().zip(&want) {
        assert!((p.value - w).abs() <= 1e-8 * w.abs(), "{} vs {w}", p.value);
    }
    // Not the plain spectrum: the preconditioner changes it.
    let plain = symmetric_eigen(&dense, n).unwrap().values[0];
    assert!(
        (want[0] - plain).abs() > 1e-3 * plain.abs(),
        "{} vs {plain}",
        want[0]
    );
}
