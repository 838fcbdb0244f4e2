//! The interface between the eigensolver and whatever computes products with the matrix.

use std::error::Error as StdError;

/// An error raised by an operator while computing a product (device failure, I/O, ...).
pub type OperatorError = Box<dyn StdError + Send + Sync + 'static>;

/// The error an [`Interruptible`] operator returns once its stop flag is set: the solve is
/// abandoned between two product blocks (the solver reports
/// [`WorkerError::EigenInterrupted`](crate::WorkerError::EigenInterrupted)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Interrupted;

impl std::fmt::Display for Interrupted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("stopped by a signal")
    }
}

impl StdError for Interrupted {}

/// An operator that refuses every product once `stop` is set, so that a preemption signal
/// ends a long solve within one product block (a top-15 solve at tol 0 can take minutes; a
/// cluster sends SIGKILL 30 s after SIGTERM).
pub struct Interruptible<'a, O: SymmetricOperator + ?Sized> {
    /// The operator doing the work.
    pub op: &'a mut O,
    /// Checked before every product block.
    pub stop: &'a std::sync::atomic::AtomicBool,
}

impl<O: SymmetricOperator + ?Sized> SymmetricOperator for Interruptible<'_, O> {
    fn dim(&self) -> usize {
        self.op.dim()
    }

    fn apply_block(
        &mut self,
        inputs: &[f64],
        outputs: &mut [f64],
        count: usize,
    ) -> Result<(), OperatorError> {
        if self.stop.load(std::sync::atomic::Ordering::Relaxed) {
            return Err(Box::new(Interrupted));
        }
        self.op.apply_block(inputs, outputs, count)
    }

    fn epsilon(&self) -> f64 {
        self.op.epsilon()
    }
}

/// A real symmetric linear operator `A` of dimension `n`, known only through products `A·x`.
///
/// The eigensolver works in `f64` on the host; an operator that computes in lower precision
/// (the Hessian of an `f32` network) converts at the boundary and says so through
/// [`SymmetricOperator::epsilon`], which sets what "tol = 0" (machine precision) means.
pub trait SymmetricOperator {
    /// The dimension `n` (length of every vector).
    fn dim(&self) -> usize;

    /// Computes `outputs[j] = A · inputs[j]` for `count` vectors stored one after another
    /// (`inputs.len() == outputs.len() == count * dim()`).
    ///
    /// Operators that can batch several vectors through one pass (one matrix product with
    /// `count` times more columns) should do so; that is why the call takes a block.
    fn apply_block(
        &mut self,
        inputs: &[f64],
        outputs: &mut [f64],
        count: usize,
    ) -> Result<(), OperatorError>;

    /// Unit round-off of the arithmetic the operator uses (`f32::EPSILON as f64` for an f32
    /// operator). The solver never asks for a relative accuracy below this.
    fn epsilon(&self) -> f64 {
        f64::EPSILON
    }
}

/// A dense symmetric matrix stored row-major, as an operator. Used by tests and by small
/// problems; `apply_block` is a plain loop in f64.
#[derive(Debug, Clone)]
pub struct DenseSymmetric {
    n: usize,
    values: Vec<f64>,
}

impl DenseSymmetric {
    /// Wraps an `n × n` row-major matrix. The caller promises symmetry; it is not checked
    /// beyond the shape because tests build matrices that are symmetric by construction.
    pub fn new(n: usize, values: Vec<f64>) -> Self {
        assert_eq!(
            values.len(),
            n * n,
            "DenseSymmetric::new: expected n*n values"
        );
        Self { n, values }
    }

    /// The diagonal matrix with the given entries.
    pub fn diagonal(diag: &[f64]) -> Self {
        let n = diag.len();
        let mut values = vec![0.0; n * n];
        for (i, d) in diag.iter().enumerate() {
            values[i * n + i] = *d;
        }
        Self { n, values }
    }

    /// Row-major entries.
    pub fn values(&self) -> &[f64] {
        &self.values
    }
}

impl SymmetricOperator for DenseSymmetric {
    fn dim(&self) -> usize {
        self.n
    }

    fn apply_block(
        &mut self,
        inputs: &[f64],
        outputs: &mut [f64],
        count: usize,
    ) -> Result<(), OperatorError> {
        let n = self.n;
        for j in 0..count {
            let x = &inputs[j * n..(j + 1) * n];
            let y = &mut outputs[j * n..(j + 1) * n];
            for (i, yi) in y.iter_mut().enumerate() {
                let row = &self.values[i * n..(i + 1) * n];
                *yi = row.iter().zip(x).map(|(a, b)| a * b).sum();
            }
        }
        Ok(())
    }
}

/// A diagonal matrix as an operator: `O(n)` per product, so tests can use large `n` and
/// known spectra. Note that a diagonal matrix is no easier for the solver than any rotation
/// of it (`Q D Qᵀ`): the random start block makes the method rotation-invariant in
/// distribution.
#[derive(Debug, Clone)]
pub struct DiagonalOperator {
    diag: Vec<f64>,
}

impl DiagonalOperator {
    /// The diagonal matrix with the given entries.
    pub fn new(diag: Vec<f64>) -> Self {
        Self { diag }
    }

    /// The diagonal entries (the eigenvalues, eigenvector `i` being the unit vector `e_i`).
    pub fn diagonal(&self) -> &[f64] {
        &self.diag
    }
}

impl SymmetricOperator for DiagonalOperator {
    fn dim(&self) -> usize {
        self.diag.len()
    }

    fn apply_block(
        &mut self,
        inputs: &[f64],
        outputs: &mut [f64],
        count: usize,
    ) -> Result<(), OperatorError> {
        let n = self.diag.len();
        for j in 0..count {
            let x = &inputs[j * n..(j + 1) * n];
            let y = &mut outputs[j * n..(j + 1) * n];
            for ((yi, xi), d) in y.iter_mut().zip(x).zip(&self.diag) {
                *yi = d * xi;
            }
        }
        Ok(())
    }
}
