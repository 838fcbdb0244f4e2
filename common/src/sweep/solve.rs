//! One eigen-solve as the sweep sees it: the solver's block beside the wanted pairs
//! ([`SOLVER_GUARD`], which every product budget must hold) and the Hessian-vector products a
//! solve is estimated to take ([`products_per_solve`]), for the validation, the cost plan and
//! the snapshot statistics alike.
//!
//! Products per eigen-solve come from the measurements in BENCHMARKS.md (`eigensweep bench
//! --eigen`, MNIST): a top-3 solve at tol 1e-3 takes 20 products from a random start
//! (Krylov–Schur, which accepts nothing before ARPACK's 20-dimensional basis) and about 11
//! warm-started from the previous snapshot. The solver's block is `top_k + 2` vectors, so
//! other `k` scale with `k + 2`. At tol 0 a solve stops at its noise floor, measured at up to
//! twice the products of tol 1e-3 (late Adam, 60k digits: 35–47 against 23–31), so twice is
//! charged, never more than `max_products`.

use super::resolved::EigenSettings;

/// Extra pairs the eigensolver carries beside the wanted `k` (its block is `k + 2`), so one
/// solve needs a budget of at least `k + 2` products.
pub(super) const SOLVER_GUARD: usize = 2;

/// Products of a cold (random start) top-3 solve at tol 1e-3 (BENCHMARKS.md).
pub const COLD_SOLVE_PRODUCTS_TOP3: u64 = 20;
/// Products of a tol-0 solve relative to tol 1e-3 (at most, as measured: BENCHMARKS.md).
pub const TOL_ZERO_FACTOR: u64 = 2;
/// Products of a warm-started top-3 solve at tol 1e-3 (BENCHMARKS.md).
pub const WARM_SOLVE_PRODUCTS_TOP3: u64 = 11;

/// Products a cold solve for `k` pairs spends at least: the solver does not trust a cold
/// Krylov space before it has ARPACK's default `ncv = max(2k + 1, 20)` dimensions (the worker's
/// `arpack_ncv`). Measured: the quickstart's top-1 baseline solves took 20 products each, where
/// scaling the top-3 count by the block alone gave 12 (issue 26.4).
pub fn cold_solve_floor(k: usize) -> u64 {
    (k as u64).saturating_mul(2).saturating_add(1).max(20)
}

/// Estimated products of one eigen-solve with `eigen`, warm-started or not.
pub fn products_per_solve(eigen: &EigenSettings, warm: bool) -> u64 {
    let budget = eigen.max_products as u64;
    let top3 = if warm {
        WARM_SOLVE_PRODUCTS_TOP3
    } else {
        COLD_SOLVE_PRODUCTS_TOP3
    };
    let block = (eigen.top_k as u64).saturating_add(2);
    // top3 · block / 5, rounded half up; at least one block (a cold solve: its floor), at most
    // the budget.
    let scaled = (2 * top3).saturating_mul(block).saturating_add(5) / 10;
    let floor = if warm {
        block
    } else {
        block.max(cold_solve_floor(eigen.top_k))
    };
    let factor = if eigen.tol == 0.0 { TOL_ZERO_FACTOR } else { 1 };
    scaled.max(floor).saturating_mul(factor).min(budget)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eigen(top_k: usize, tol: f64) -> EigenSettings {
        EigenSettings {
            top_k,
            tol,
            max_products: 1000,
        }
    }

    #[test]
    fn products_scale_with_the_block_and_tol_zero_takes_the_budget() {
        assert_eq!(products_per_solve(&eigen(3, 1e-3), false), 20);
        assert_eq!(products_per_solve(&eigen(3, 1e-3), true), 11);
        // k = 1: 11·3/5 = 6.6 → 7 warm; cold 20·3/5 = 12 is below the cold floor of 20.
        assert_eq!(products_per_solve(&eigen(1, 1e-3), false), 20);
        assert_eq!(products_per_solve(&eigen(1, 1e-3), true), 7);
        assert_eq!(cold_solve_floor(1), 20);
        assert_eq!(cold_solve_floor(12), 25);
        // k = 15: 20·17/5 = 68, 11·17/5 = 37.4 → 37.
        assert_eq!(products_per_solve(&eigen(15, 1e-3), false), 68);
        assert_eq!(products_per_solve(&eigen(15, 1e-3), true), 37);
        // tol 0: twice, within the budget.
        assert_eq!(products_per_solve(&eigen(15, 0.0), true), 74);
        assert_eq!(products_per_solve(&eigen(3, 0.0), true), 22);
        let tight = EigenSettings {
            max_products: 50,
            ..eigen(15, 0.0)
        };
        assert_eq!(products_per_solve(&tight, true), 50);
        let small_budget = EigenSettings {
            max_products: 8,
            ..eigen(3, 1e-3)
        };
        assert_eq!(products_per_solve(&small_budget, false), 8);
    }
}
