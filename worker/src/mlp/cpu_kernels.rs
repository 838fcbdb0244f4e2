//! Kernels the CPU engines share (the Hessian-vector product in [`super::hessian_cpu`], the
//! training step in [`super::gradient_cpu`]): `gemm` on host slices with explicit strides and
//! accumulation, and the elementwise passes written so that the compiler vectorises them.

use std::ops::AddAssign;

use candle_core::{Storage, Tensor, WithDType};
use gemm::Parallelism;
use num_traits::Float;

use crate::WorkerError;

/// Element types the CPU engine runs in.
pub(crate) trait Real: WithDType + Float + AddAssign + Send + Sync + 'static {}
impl Real for f32 {}
impl Real for f64 {}

/// `dst (m×n) [+]= lhs (m×k) · rhs (k×n)` with explicit strides (row stride, column stride).
#[allow(clippy::too_many_arguments)]
pub(crate) fn gemm_into<T: Real>(
    dst: &mut [T],
    accumulate: bool,
    (m, n, k): (usize, usize, usize),
    lhs: &[T],
    (lhs_rs, lhs_cs): (usize, usize),
    rhs: &[T],
    (rhs_rs, rhs_cs): (usize, usize),
) {
    assert!(dst.len() >= m * n, "gemm_into: destination too small");
    if m == 0 || n == 0 {
        return;
    }
    if k > 0 {
        assert!(
            lhs.len() > (m - 1) * lhs_rs + (k - 1) * lhs_cs,
            "gemm_into: lhs out of bounds"
        );
        assert!(
            rhs.len() > (k - 1) * rhs_rs + (n - 1) * rhs_cs,
            "gemm_into: rhs out of bounds"
        );
    }
    // SAFETY: the asserts above keep every index gemm touches inside the three slices, and
    // `dst` is exclusively borrowed, so it cannot alias `lhs` or `rhs`.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            n as isize,
            accumulate,
            lhs.as_ptr(),
            lhs_cs as isize,
            lhs_rs as isize,
            rhs.as_ptr(),
            rhs_cs as isize,
            rhs_rs as isize,
            T::one(),
            T::one(),
            false,
            false,
            false,
            Parallelism::None,
        );
    }
}

// The elementwise steps are separate functions so that their slices arrive as distinct
// (noalias) arguments and every branch is a select: both are what lets the compiler vectorise
// them; written inline, the masked stores stayed scalar and cost a third of the product.
//
// The binary is built for baseline x86-64 (SSE2, 4 f32 lanes), so each pass runs through
// `simd`, which compiles its body once more with the widest vector extension the CPU has
// (AVX2 or AVX-512, `pulp`'s runtime dispatch) and picks that at run time. With all passes of
// the Hessian-vector product dispatched, one product on 60,000 samples took ≈ 2.5 % less time
// (BENCHMARKS.md, 2026-11-30); the results are bit-identical (no reassociation: the same
// additions in the same order, only more lanes at once).

/// Runs `body` compiled for the widest vector extension this CPU supports. `body` must be
/// elementwise-vectorisable code (`#[inline(always)]` helpers only) to profit.
#[inline(always)]
pub(crate) fn simd<R>(body: impl FnOnce() -> R) -> R {
    pulp::Arch::new().dispatch(body)
}

/// `dst = act > 0 ? dst : 0`.
pub(crate) fn relu_mask<T: Real>(dst: &mut [T], act: &[T]) {
    simd(
        #[inline(always)]
        || {
            for (r, a) in dst.iter_mut().zip(act) {
                let v = *r;
                *r = if *a > T::zero() { v } else { T::zero() };
            }
        },
    )
}

/// `acc[j] += Σ_r m[r, j]`.
pub(crate) fn add_column_sums<T: Real>(acc: &mut [T], m: &[T]) {
    let width = acc.len();
    simd(
        #[inline(always)]
        || {
            for row in m.chunks_exact(width) {
                for (b, r) in acc.iter_mut().zip(row) {
                    *b += *r;
                }
            }
        },
    )
}

/// Runs `f` on the host slice of a contiguous CPU tensor.
pub(crate) fn with_host_slice<T: Real, R>(
    t: &Tensor,
    f: impl FnOnce(&[T]) -> R,
) -> Result<R, WorkerError> {
    let (storage, layout) = t.storage_and_layout();
    let (start, end) = layout.contiguous_offsets().ok_or_else(|| {
        WorkerError::ShapeMismatch("the CPU engines need contiguous inputs".into())
    })?;
    match &*storage {
        Storage::Cpu(cpu) => Ok(f(&cpu.as_slice::<T>()?[start..end])),
        _ => Err(WorkerError::ShapeMismatch(
            "a CPU engine was given a non-CPU tensor".into(),
        )),
    }
}
