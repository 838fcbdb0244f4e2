//! Measurements behind the solver's defaults (ignored tests: they print tables rather than
//! assert). See the `solver` module docs for the numbers they produced.

use super::solver::{solve, RestartKeep, Tuning};
use super::test_ops::*;
use super::*;

fn opts(k: usize, tol: f64) -> EigenOptions {
    EigenOptions {
        k,
        tol,
        ..EigenOptions::default()
    }
}

/// Comma-separated numbers from an environment variable, or a default.
fn env_list(name: &str, default: &[usize]) -> Vec<usize> {
    std::env::var(name)
        .map(|g| g.split(',').map(|x| x.parse().unwrap()).collect())
        .unwrap_or_else(|_| default.to_vec())
}

/// Products used by cold and warm starts (mean over 3 seeds) for guard / basis / expansion /
/// restart choices on Hessian-like spectra; the warm start is the top-k of the matrix
/// perturbed by 1e-3·E (EIGEN_PERT=size to change). Run with
/// `cargo test -p eigensweep-worker --lib eigen::solver_bench::tuning_table -- --ignored --nocapture`
/// (filters: EIGEN_START=block for the block start, EIGEN_CASE=substring, EIGEN_GUARDS=1,2, EIGEN_BASES=0,60 (0 = auto),
/// EIGEN_EXPAND=1,0 (0 = k, the default; k + guard or more = full block), EIGEN_ALL_KEEPS=1 for all restart policies).
#[test]
#[ignore = "a measurement for tuning, not a check: run with --ignored --nocapture"]
fn tuning_table() {
    let n = 4096;
    let cluster = {
        let mut d = vec![10.0, 9.99, 9.98, 9.0, 8.99];
        d.extend((5..n).map(|i| 8.0 * (i as f64 / n as f64) - 4.0));
        RotatedDiagonal::new(d, 8)
    };
    let cases: Vec<(&str, RotatedDiagonal, usize, f64)> = vec![
        ("hessian k3", hessian_like(n, 7), 3, 1e-3),
        ("cluster k3", cluster, 3, 1e-3),
        ("mlp k3", mlp_like(n, 9), 3, 1e-3),
        ("mlp k3", mlp_like(n, 9), 3, 1e-6),
        ("mlp k15", mlp_like(n, 9), 15, 1e-3),
    ];
    let only = std::env::var("EIGEN_CASE").ok();
    let all_keeps = [
        RestartKeep::MaxRoom,
        RestartKeep::Block(2),
        RestartKeep::Percent(34),
        RestartKeep::Percent(50),
        RestartKeep::Percent(67),
    ];
    let keeps = if std::env::var("EIGEN_ALL_KEEPS").is_ok() {
        &all_keeps[..]
    } else {
        &all_keeps[3..4]
    };
    for (name, base, k, tol) in &cases {
        if only.as_deref().is_some_and(|o| !name.contains(o)) {
            continue;
        }
        let size: f64 = std::env::var("EIGEN_PERT").map_or(1e-3, |x| x.parse().unwrap());
        let mut previous = perturbed(base, size, 99);
        let prev_opts = EigenOptions {
            max_products: 20000,
            ..opts(*k + 2, 1e-9)
        };
        let prev = top_k_eigenpairs(&mut previous, &prev_opts, None).unwrap();
        let warm: Vec<Vec<f64>> = prev.pairs[..*k].iter().map(|p| p.vector.clone()).collect();
        let mut current = SumOperator {
            terms: vec![(1.0, base.clone())],
        };
        let mut truth = base.diag.clone();
        truth.sort_by(|a, b| b.total_cmp(a));
        for guard in env_list("EIGEN_GUARDS", &[1, 2, 3, 4]) {
            for max_basis in env_list("EIGEN_BASES", &[0, 12, 20, 30, 40, 60, 90]) {
                if max_basis != 0 && max_basis < 2 * (k + guard) {
                    continue;
                }
                for expand in env_list("EIGEN_EXPAND", &[1, 0]) {
                    for &keep in keeps {
                        let mut tot = [0usize; 4];
                        for seed in [1u64, 2, 3] {
                            let o = EigenOptions {
                                guard,
                                max_basis,
                                expand,
                                max_products: 20000,
                                seed,
                                start: if std::env::var("EIGEN_START").as_deref() == Ok("block") {
                                    Start::Block
                                } else {
                                    Start::KrylovSchur
                                },
                                ..opts(*k, *tol)
                            };
                            let tuning = Tuning { keep };
                            let cold = solve(&mut current, &o, None, tuning).unwrap();
                            let hot = solve(&mut current, &o, Some(&warm), tuning).unwrap();
                            assert_eq!(cold.stop, StopReason::Converged);
                            assert_eq!(hot.stop, StopReason::Converged);
                            // A converged pair's value is within its residual of *some*
                            // eigenvalue; a missed eigenvalue shows as a k-th value too low.
                            for res in [&cold, &hot] {
                                for (p, want) in res.pairs.iter().zip(&truth) {
                                    if (p.value - want).abs() > p.residual.max(1e-12) {
                                        tot[3] += 1;
                                    }
                                }
                            }
                            tot[0] += cold.products;
                            tot[1] += hot.products;
                            tot[2] += cold.iterations;
                        }
                        println!(
                            "{name:10} tol {tol:.0e} guard {guard} basis {max_basis:3} \
                             expand {expand} {keep:?}: cold {:6.1} warm {:6.1} (cold iterations {:6.1}) \
                             misplaced values {}",
                            tot[0] as f64 / 3.0,
                            tot[1] as f64 / 3.0,
                            tot[2] as f64 / 3.0,
                            tot[3],
                        );
                    }
                }
            }
        }
    }
}

/// Host time per iteration at the real problem size (n = 89,610) with an O(n) operator, so
/// the time measured is the solver's own work. Run with `--ignored --nocapture`.
#[test]
#[ignore = "a measurement for tuning, not a check: run with --ignored --nocapture"]
fn host_cost_at_hessian_size() {
    let n = 89_610;
    for (k, expand) in [(3, 1), (3, 0), (15, 1), (15, 0)] {
        let mut d: Vec<f64> = vec![35.0, 22.0, 15.0, 11.0, 8.0, 6.0, 4.5, 3.5, 2.8, 2.2];
        d.extend((10..n).map(|i| 0.8 * ((n - i) as f64 / n as f64).powi(3)));
        let mut op = DiagonalOperator::new(d);
        let o = EigenOptions {
            max_products: 200,
            expand,
            ..opts(k, 1e-3)
        };
        let t = std::time::Instant::now();
        let res = top_k_eigenpairs(&mut op, &o, None).unwrap();
        let secs = t.elapsed().as_secs_f64();
        println!(
            "k {k} expand {expand}: {} products, {} iterations, {:.1} ms/iteration",
            res.products,
            res.iterations,
            1e3 * secs / res.iterations as f64
        );
    }
}

/// Cold starts on clustered spectra, Krylov–Schur (the default) against the block start, 20
/// seeds each: mean products and how many solves put a wrong value (off by more than
/// `tol·|λ|`) among the top 3. Run with
/// `cargo test --release -p eigensweep-worker --lib start_on_clusters -- --ignored --nocapture`.
#[test]
#[ignore = "a measurement for tuning, not a check: run with --ignored --nocapture"]
fn start_on_clusters() {
    let isolated = {
        let mut d = vec![10.0, 9.99, 9.98, 5.0];
        d.extend((4..1024).map(|i| 4.0 * (i as f64 / 1024.0) - 2.0));
        d
    };
    let five = {
        let mut d = vec![10.0, 9.99, 9.98, 9.0, 8.99];
        d.extend((5..4096).map(|i| 8.0 * (i as f64 / 4096.0) - 4.0));
        d
    };
    let cases = [
        ("isolated cluster of 3", isolated),
        ("cluster of 3 + pair", five),
        ("mlp", mlp_like(4096, 9).diag),
        ("hessian", hessian_like(4096, 7).diag),
    ];
    for (name, diag) in cases {
        let base = RotatedDiagonal::new(diag.clone(), 8);
        let mut truth = diag;
        truth.sort_by(|a, b| b.total_cmp(a));
        for start in [Start::KrylovSchur, Start::Block] {
            let (mut wrong, mut products) = (0, 0);
            for seed in 1..=20u64 {
                let mut op = SumOperator {
                    terms: vec![(1.0, base.clone())],
                };
                let o = EigenOptions {
                    seed,
                    max_products: 5000,
                    start,
                    ..opts(3, 1e-3)
                };
                let r = top_k_eigenpairs(&mut op, &o, None).unwrap();
                products += r.products;
                let off = |(p, t): (&EigenPair, &f64)| (p.value - t).abs() > 1e-3 * t.abs();
                if r.pairs.iter().zip(&truth).any(off) {
                    wrong += 1;
                }
            }
            println!(
                "{name:24} {start:?}: {:5.1} products, wrong in {wrong}/20",
                products as f64 / 20.0
            );
        }
    }
}
