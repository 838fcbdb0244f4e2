//! Fallible allocation of the large buffers, so that running out of memory is an error that
//! names what was being allocated instead of an abort.
//!
//! Rust's ordinary allocations (`vec![…]`, `Vec::push`, candle's tensors) abort the process
//! when the allocator refuses: `memory allocation of N bytes failed`, SIGABRT, exit 134, and a
//! sweep's task stays `running` in its runs table. Under an address-space limit (`ulimit -v`,
//! as batch systems set it) or with overcommit off the allocator does refuse, so the buffers
//! that grow with the settings — the Hessian operator's per-sample cache
//! (`snapshots.hessian_samples` × the widths), the eigensolver's Krylov basis Q and W = HQ
//! (`top_k` × N), the task's copy of its data (`train_size`) — are reserved here with
//! `try_reserve_exact`, and a refusal becomes a [`WorkerError::OutOfMemory`] carrying an
//! [`AllocationFailure`]: the buffer, its size in bytes, and how the size follows from the
//! settings. The task that met it fails with that
//! message; the others go on.
//!
//! Where the big allocation happens inside candle (which allocates infallibly), the caller
//! first asks [`ensure_available`] for the same number of bytes: a reservation that is made
//! and freed at once, so that a size the process cannot get is refused before candle tries.
//! That check is not a guarantee (another thread may take the room in between), but it turns
//! the case that matters — a setting too large for the job's memory — into an error.
//!
//! Under a cgroup memory limit (Slurm's `--mem` with cgroups) the allocator never refuses:
//! the kernel's OOM killer ends the process with SIGKILL instead, which no code can catch;
//! `eigensweep plan` prints the peak memory per job so that `--mem` can be sized beforehand.
//!
//! ```
//! use eigensweep_worker::memory::{try_filled, Need};
//! let basis: Vec<f64> = try_filled(1000, 0.0, || Need {
//!     buffer: "a test basis".into(),
//!     size: "1,000 entries × 8 bytes".into(),
//! })?;
//! assert_eq!(basis.len(), 1000);
//! # Ok::<(), eigensweep_worker::WorkerError>(())
//! ```

use std::fmt;

use eigensweep_common::sweep::plan::human_bytes;

use crate::WorkerError;

/// A buffer that could not be allocated: what it is for, its size, and why it is that large.
/// The error that carries it is [`WorkerError::OutOfMemory`]; its text is this one's
/// `Display`, which the orchestrator extends with the task's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllocationFailure {
    /// What the buffer holds, e.g. "the eigensolver's Krylov basis Q and W = HQ".
    pub buffer: String,
    /// Bytes asked for.
    pub bytes: u64,
    /// How the size follows from the settings, e.g. "2 × 132 columns × 89,610 parameters ×
    /// 8 bytes; 132 = max(6 (k = 20 + 2 guard pairs), 30)".
    pub size: String,
}

impl fmt::Display for AllocationFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "out of memory: could not allocate {} ({} bytes) for {}: {}",
            human_bytes(self.bytes),
            self.bytes,
            self.buffer,
            self.size
        )
    }
}

/// The description of a buffer, asked for only when its reservation fails (formatting it on
/// every product would cost more than the reservation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Need {
    /// What the buffer holds ([`AllocationFailure::buffer`]).
    pub buffer: String,
    /// How its size follows from the settings ([`AllocationFailure::size`]).
    pub size: String,
}

/// Bytes of `len` values of `T`, saturating (a size past the address space is refused, not
/// wrapped).
pub fn bytes_of<T>(len: usize) -> u64 {
    (len as u64).saturating_mul(std::mem::size_of::<T>() as u64)
}

impl Need {
    /// The failure of this buffer when its `bytes` could not be allocated (a
    /// [`WorkerError`] through `From`, or text of its own in a message).
    pub fn error(self, bytes: u64) -> AllocationFailure {
        AllocationFailure {
            buffer: self.buffer,
            bytes,
            size: self.size,
        }
    }
}

fn refused(bytes: u64, need: impl FnOnce() -> Need) -> WorkerError {
    WorkerError::OutOfMemory(need().error(bytes))
}

/// Reserves room for `additional` more values in `v` (exactly, without the doubling of
/// `Vec`'s growth), or says which buffer could not grow.
pub fn try_reserve<T>(
    v: &mut Vec<T>,
    additional: usize,
    need: impl FnOnce() -> Need,
) -> Result<(), WorkerError> {
    v.try_reserve_exact(additional)
        .map_err(|_| refused(bytes_of::<T>(v.len().saturating_add(additional)), need))
}

/// An empty vector with room for `len` values.
pub fn try_with_capacity<T>(
    len: usize,
    need: impl FnOnce() -> Need,
) -> Result<Vec<T>, WorkerError> {
    let mut v = Vec::new();
    try_reserve(&mut v, len, need)?;
    Ok(v)
}

/// `len` copies of `value` (the fallible `vec![value; len]`).
pub fn try_filled<T: Clone>(
    len: usize,
    value: T,
    need: impl FnOnce() -> Need,
) -> Result<Vec<T>, WorkerError> {
    let mut v = try_with_capacity(len, need)?;
    v.resize(len, value);
    Ok(v)
}

/// A copy of `values` (the fallible `values.to_vec()`).
pub fn try_copy<T: Clone>(
    values: &[T],
    need: impl FnOnce() -> Need,
) -> Result<Vec<T>, WorkerError> {
    let mut v = try_with_capacity(values.len(), need)?;
    v.extend_from_slice(values);
    Ok(v)
}

/// Checks that `bytes` can be allocated now, by reserving them and freeing them at once: the
/// guard in front of an allocation that candle makes infallibly. The pages are never touched,
/// so the check costs no resident memory.
pub fn ensure_available(bytes: u64, need: impl FnOnce() -> Need) -> Result<(), WorkerError> {
    let len = usize::try_from(bytes).unwrap_or(usize::MAX);
    let mut probe: Vec<u8> = Vec::new();
    probe
        .try_reserve_exact(len)
        .map_err(|_| refused(bytes, need))?;
    drop(probe);
    Ok(())
}

/// `1234567` → `1,234,567`, for the sizes in messages.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn need() -> Need {
        Need {
            buffer: "the test buffer".into(),
            size: "everything there is × 8 bytes".into(),
        }
    }

    /// A size no allocator can give is refused with the buffer, its size in bytes and the
    /// reason for the size, instead of aborting the process.
    #[test]
    fn a_refused_reservation_names_the_buffer_its_size_and_why() {
        let huge = usize::MAX / 16;
        let e = try_filled::<f64>(huge, 0.0, need).unwrap_err();
        let text = e.to_string();
        let e = e.out_of_memory().expect("an allocation failure").clone();
        assert_eq!(text, e.to_string(), "the error's text is the failure's");
        assert_eq!(e.bytes, bytes_of::<f64>(huge));
        assert!(
            text.starts_with("out of memory: could not allocate "),
            "{text}"
        );
        assert!(
            text.contains(&format!("({} bytes)", e.bytes))
                && text.contains("the test buffer")
                && text.contains("everything there is × 8 bytes"),
            "{text}"
        );
        assert!(try_with_capacity::<u32>(huge, need).is_err());
        assert!(ensure_available(u64::MAX / 2, need).is_err());
        let mut v = vec![1u64; 4];
        let e = try_reserve(&mut v, huge, need).unwrap_err();
        assert_eq!(
            e.out_of_memory().expect("an allocation failure").bytes,
            bytes_of::<u64>(huge + 4),
            "the whole buffer is named"
        );
        assert_eq!(
            v,
            [1, 1, 1, 1],
            "a refused reservation leaves the vector as it was"
        );
    }

    /// Sizes that fit are allocated as the infallible calls would, and the check that frees
    /// at once leaves nothing allocated behind.
    #[test]
    fn sizes_that_fit_are_allocated_exactly() {
        let v = try_filled(1000, 2.5f32, need).unwrap();
        assert_eq!(v, vec![2.5f32; 1000]);
        assert_eq!(v.capacity(), 1000, "exact, not doubled");
        let c = try_copy(&v[..10], need).unwrap();
        assert_eq!(c, &v[..10]);
        let mut w: Vec<f64> = try_with_capacity(3, need).unwrap();
        assert!(w.is_empty() && w.capacity() == 3);
        try_reserve(&mut w, 100, need).unwrap();
        assert!(w.capacity() >= 100);
        ensure_available(1 << 20, need).unwrap();
        assert_eq!(bytes_of::<f64>(usize::MAX), u64::MAX, "saturates");
        assert_eq!(thousands(89_610), "89,610");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }

    /// `eigensweep plan` prices the worker's large buffers with formulas of its own (the
    /// common crate cannot see the worker's): the Krylov basis's columns and the Hessian
    /// operator's cache per sample must be the ones the worker allocates.
    #[test]
    fn the_plans_memory_formulas_are_the_workers() {
        use crate::eigen::{auto_max_basis, EigenOptions};
        use crate::mlp::{Architecture, HessianOperator};
        use eigensweep_common::sweep::cost::{basis_columns, hessian_values_per_sample};
        let guard = EigenOptions::default().guard;
        for k in [1, 3, 4, 5, 15, 20, 100] {
            assert_eq!(
                basis_columns(k, u64::MAX, usize::MAX) as usize,
                auto_max_basis(k, guard),
                "k = {k}"
            );
        }
        for widths in [vec![784, 100, 100, 10], vec![784, 4, 10], vec![20, 7, 5, 3]] {
            let arch = Architecture::new(widths.clone()).unwrap();
            assert_eq!(
                HessianOperator::resident_bytes(&arch, 1000),
                1000 * hessian_values_per_sample(&widths) * 4,
                "{widths:?}"
            );
        }
    }
}
