//! The memory a block of Hessian-vector products asks for, described once for every engine
//! (the operator in [`super::hessian`], the CPU kernels in [`super::hessian_cpu`], the shared
//! pass in [`super::hessian_shared`]), so an allocation refused in any of them names the same
//! buffer and size in its error.

use crate::memory::{thousands, Need};

/// The description of a block of `count` products' vectors of `n` entries.
pub(crate) fn product_need(n: usize, count: usize) -> Need {
    Need {
        buffer: "the buffers of a block of Hessian-vector products".into(),
        size: format!(
            "{count} vectors of {} entries (the network's parameters), with each thread's \
             accumulators and its chunk's workspace",
            thousands(n as u64)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::product_need;

    /// The wording is what a user reads when a block of products does not fit; it names the
    /// block's vector count and the parameter count with thousands separators.
    #[test]
    fn names_the_block_and_the_parameter_count() {
        let need = product_need(1_234_567, 8);
        assert_eq!(
            need.buffer,
            "the buffers of a block of Hessian-vector products"
        );
        assert_eq!(
            need.size,
            "8 vectors of 1,234,567 entries (the network's parameters), with each thread's \
             accumulators and its chunk's workspace"
        );
    }
}
