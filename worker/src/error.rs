//! The one error type of the worker crate, [`WorkerError`], like `candle_core::Error`: every
//! fallible function of the crate returns it, and a failure is raised once, as the variant that
//! says what failed, and travels as itself through the layers above (a buffer that could not
//! be allocated inside the Hessian operator reaches the orchestrator as
//! [`WorkerError::OutOfMemory`], not wrapped in a model, solver, snapshot and run error).
//!
//! Every message names what a person needs to act on it: the file or directory, the column, the
//! buffer and its size, the setting. Variants that concern a file carry its path.

use std::io;
use std::path::{Path, PathBuf};

use arrow_schema::ArrowError;
use eigensweep_common::device::DeviceRequest;
use parquet::errors::ParquetError;
use thiserror::Error;

use crate::eigen::OperatorError;
use crate::memory::AllocationFailure;

/// Everything that can go wrong in the worker: reading data, opening a device, the model and
/// its Hessian, the eigensolver, memory, snapshots, the output tables, checkpoints and runs.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum WorkerError {
    // ----- Data: reading, generating, locating or fetching a dataset -----
    /// An operating-system error on a dataset file or directory (`action` says what we were
    /// doing).
    #[error("{action} {path}: {source}")]
    DataIo {
        /// What was being done, e.g. "reading" or "renaming", so the message reads naturally.
        action: &'static str,
        /// The file or directory concerned.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The first four bytes of an IDX file are not the magic number of the expected kind.
    #[error("reading {path}: bad magic number {found:#010x}, expected {expected:#010x} ({what})")]
    BadMagic {
        /// The file concerned.
        path: PathBuf,
        /// The magic number found in the file.
        found: u32,
        /// The magic number that the kind of file asked for has.
        expected: u32,
        /// Human name of the expected kind, e.g. "idx3 images".
        what: &'static str,
    },
    /// The file ends before its header does.
    #[error(
        "reading {path}: truncated: {len} bytes, shorter than the {header_len}-byte {what} header"
    )]
    TruncatedHeader {
        /// The file concerned.
        path: PathBuf,
        /// Bytes in the (decompressed) file.
        len: usize,
        /// Bytes the header needs.
        header_len: usize,
        /// Human name of the kind of file, e.g. "idx3 images".
        what: &'static str,
    },
    /// The header is well formed but describes an impossible or unusable shape.
    #[error("reading {path}: bad header: {detail}")]
    BadHeader {
        /// The file concerned.
        path: PathBuf,
        /// What is wrong, in words.
        detail: String,
    },
    /// Fewer data bytes follow the header than the header announces.
    #[error(
        "reading {path}: truncated: header says {described} = {expected} bytes, \
         file has {found} bytes after the {header_len}-byte header"
    )]
    Truncated {
        /// The file concerned.
        path: PathBuf,
        /// The header's content in words, e.g. "60000 images of 28×28".
        described: String,
        /// Data bytes the header announces.
        expected: usize,
        /// Data bytes actually present.
        found: usize,
        /// Size of the header that precedes the data.
        header_len: usize,
    },
    /// More data bytes follow the header than the header announces.
    #[error(
        "reading {path}: {extra} trailing bytes: header says {described} = {expected} bytes, \
         file has {found} bytes after the {header_len}-byte header"
    )]
    TrailingBytes {
        /// The file concerned.
        path: PathBuf,
        /// The header's content in words, e.g. "60000 images of 28×28".
        described: String,
        /// Data bytes the header announces.
        expected: usize,
        /// Data bytes actually present.
        found: usize,
        /// `found - expected`.
        extra: usize,
        /// Size of the header that precedes the data.
        header_len: usize,
    },
    /// An image file and its label file disagree on the number of samples.
    #[error("reading {images}: {n_images} images but {labels} has {n_labels} labels")]
    CountMismatch {
        /// The image file.
        images: PathBuf,
        /// Number of images it holds.
        n_images: usize,
        /// The label file.
        labels: PathBuf,
        /// Number of labels it holds.
        n_labels: usize,
    },
    /// A label in a label file is not a valid class index.
    #[error("reading {path}: label {label} at index {index} is not < {classes}")]
    LabelOutOfRange {
        /// The file concerned.
        path: PathBuf,
        /// The offending label.
        label: u8,
        /// Its sample index (0-based).
        index: usize,
        /// The number of classes.
        classes: usize,
    },
    /// A label file without a single label, where samples are needed.
    #[error("reading {path}: no labels: {why}")]
    NoSamples {
        /// The label file.
        path: PathBuf,
        /// Why samples are needed here, in words.
        why: &'static str,
    },
    /// Training labels that name fewer than two classes: nothing to classify.
    #[error(
        "reading {path}: every one of its {count} labels is {label}: a classifier needs at \
         least 2 classes among the training labels"
    )]
    SingleClass {
        /// The training label file.
        path: PathBuf,
        /// The one label.
        label: u8,
        /// How many labels there are.
        count: usize,
    },
    /// A test label that is not one of the classes the training labels define.
    #[error(
        "reading {path}: label {label} at index {index} is not a class of the training set: \
         the largest label in {train_labels} is {largest}, so the network has {classes} outputs \
         (classes 0..={largest})"
    )]
    UnknownTestClass {
        /// The test label file.
        path: PathBuf,
        /// The offending label.
        label: u8,
        /// Its sample index (0-based).
        index: usize,
        /// The training label file that defines the classes.
        train_labels: PathBuf,
        /// The largest training label.
        largest: u8,
        /// The number of classes (`largest + 1`).
        classes: usize,
    },
    /// An in-memory dataset whose parts do not fit together (not tied to a file).
    #[error("invalid dataset: {0}")]
    InvalidDataset(String),
    /// `Dataset::subset` was asked for 0 samples or more than the dataset holds.
    #[error(
        "cannot take a subset of {requested} samples from a dataset of {len} (need 1..={len})"
    )]
    BadSubset {
        /// Samples asked for.
        requested: usize,
        /// Samples available.
        len: usize,
    },
    /// `Dataset::normalize` got a std that would not give finite, order-preserving values.
    #[error(
        "cannot normalise with mean {mean} and std {std}: need a finite mean and a finite std > 0"
    )]
    BadNormalization {
        /// The mean given.
        mean: f32,
        /// The standard deviation given.
        std: f32,
    },
    /// A dataset name that is not one of the known ones.
    #[error("unknown dataset {name:?}; valid names: {valid}")]
    UnknownDataset {
        /// The name given.
        name: String,
        /// The accepted names, comma-separated.
        valid: String,
    },
    /// A dataset directory that does not exist or is not a directory.
    #[error("dataset directory {path} does not exist or is not a directory{hint}")]
    NotADirectory {
        /// The path given.
        path: PathBuf,
        /// Extra advice (may be empty), starting with "; ".
        hint: String,
    },
    /// Some of the four standard IDX files are not in a dataset directory.
    #[error("{dir} lacks {} of the 4 IDX files: {}{hint}", missing.len(), missing.join("; "))]
    MissingFiles {
        /// The directory searched.
        dir: PathBuf,
        /// One entry per missing file: which role, and every name looked for.
        missing: Vec<String>,
        /// Extra advice (may be empty), starting with "; ".
        hint: String,
    },
    /// No cache directory can be derived from the environment.
    #[error(
        "cannot choose a data cache directory: none of EIGENSWEEP_DATA, XDG_CACHE_HOME, HOME \
         is set; set EIGENSWEEP_DATA to a directory"
    )]
    NoCacheDir,
    /// A file's SHA-256 (or size) is not that of the standard file of that name.
    #[error(
        "{path}: {size} bytes with SHA-256 {actual}, but the standard file has \
         {expected_size} bytes with SHA-256 {expected}: the file is corrupt, incomplete or \
         not the standard one"
    )]
    ChecksumMismatch {
        /// The file concerned.
        path: PathBuf,
        /// Its size in bytes.
        size: u64,
        /// Its SHA-256, lowercase hex.
        actual: String,
        /// The size of the standard file.
        expected_size: u64,
        /// The SHA-256 of the standard file, lowercase hex.
        expected: String,
    },
    /// A file could not be downloaded from any mirror; carries the state of every file of the
    /// dataset in the directory (what is verified, what could not be) and how to install the
    /// files by hand. Its two long texts are boxed `str`s, not `String`s, so that this, the
    /// largest variant, does not make every `Result<_, WorkerError>` (and every error that
    /// wraps one) larger.
    #[error("could not download {file} for {dataset} into {dir}:\n{attempts}\n\n{help}")]
    FetchFailed {
        /// Dataset name, e.g. "mnist".
        dataset: String,
        /// The file that failed (the first one; the rest were not tried).
        file: String,
        /// The destination directory.
        dir: PathBuf,
        /// One line per URL tried, with its error.
        attempts: Box<str>,
        /// The files of the dataset as the directory now holds them, one line each, what was
        /// changed (nothing, unless some were downloaded before this one failed), and
        /// plain-words instructions to place the files by hand.
        help: Box<str>,
    },
    /// The data cache could not be written (read-only, full, no permission, failing disk):
    /// exit code 4 (an output could not be written), not that of a failed download.
    #[error(
        "cannot write into the data directory {dir}: {action} {path}: {source}\n{state}\n\
         Make the directory writable, or choose another one: set EIGENSWEEP_DATA (or pass \
         --dir) to a writable directory"
    )]
    CacheWrite {
        /// The dataset directory.
        dir: PathBuf,
        /// What was being done, e.g. "creating".
        action: &'static str,
        /// The file or directory concerned.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
        /// In what state the directory was left (nothing changed, as a rule) and which files
        /// still need a download.
        state: String,
    },

    // ----- Device: opening the CPU or a CUDA GPU -----
    // The messages do not repeat the request: the caller says where it came from
    // (`--device cuda: …`, `sweep.yaml: device: cuda: …`).
    /// `cuda` was asked of a binary built without the `cuda` feature.
    #[error(
        "this eigensweep was built without CUDA support; build it with \
         `cargo build --release --features cuda` (needs nvcc and the CUDA libraries, see \
         cluster/README.md) or use --device cpu"
    )]
    CudaNotBuilt {
        /// What was asked for.
        requested: DeviceRequest,
    },
    /// The CUDA driver could not be used or reports no GPU.
    #[error("no usable CUDA GPU ({cause}; CUDA_VISIBLE_DEVICES={visible_env})")]
    NoGpu {
        /// What was asked for.
        requested: DeviceRequest,
        /// The driver's answer.
        cause: String,
        /// `CUDA_VISIBLE_DEVICES` as set (`(unset)` when it is not).
        visible_env: String,
    },
    /// `cuda:N` with N at or beyond the number of visible GPUs.
    #[error(
        "GPU ordinal {ordinal} does not exist: {visible} GPU(s) visible \
         (ordinals 0..{visible}; CUDA_VISIBLE_DEVICES={visible_env})"
    )]
    GpuOrdinalOutOfRange {
        /// What was asked for.
        requested: DeviceRequest,
        /// The ordinal it resolved to.
        ordinal: usize,
        /// GPUs the driver reports.
        visible: usize,
        /// `CUDA_VISIBLE_DEVICES` as set.
        visible_env: String,
    },
    /// The GPU exists but creating its context, stream or libraries failed.
    #[error("device cuda:{ordinal}: {cause}")]
    GpuOpen {
        /// The ordinal.
        ordinal: usize,
        /// The driver's or library's error.
        cause: String,
    },

    // ----- Model and architecture -----
    /// Fewer than two widths (input and output) were given for an MLP.
    #[error("an MLP needs at least an input and an output width, got {0:?}")]
    TooFewLayers(Vec<usize>),
    /// A layer width of zero (the widths given, input first).
    #[error("layer widths must be positive, got {0:?}")]
    ZeroWidth(Vec<usize>),
    /// A tensor operation failed (device error, shape mismatch inside candle).
    #[error("tensor operation failed: {0}")]
    Tensor(#[from] candle_core::Error),
    /// A flat parameter vector of the wrong length.
    #[error("flat parameter vector has {got} entries, the architecture needs {expected}")]
    FlatLength {
        /// Parameters the architecture has.
        expected: usize,
        /// Entries given.
        got: usize,
    },
    /// Tensors or data whose shape does not fit the model (what does not fit, in words).
    #[error("shape mismatch: {0}")]
    ShapeMismatch(String),

    // ----- Hessian: products of several runs in one pass over the data -----
    /// A shared Hessian pass was given no operators.
    #[error("a shared Hessian pass needs at least one run's operator")]
    SharedHessianNoRuns,
    /// An operator of a shared pass runs on the tensor engine (a GPU, `HessianEngine::Tensor`,
    /// or a dtype the CPU engine does not have); only the CPU engine shares passes.
    #[error(
        "run {run} of the shared Hessian pass is not on the CPU engine (f32/f64 on the CPU); \
         only the CPU engine shares passes over the data"
    )]
    SharedHessianNotCpuEngine {
        /// Position of the operator among those given.
        run: usize,
    },
    /// An operator of a shared pass does not fit the first one: another dtype, network,
    /// sample count or chunking, or other data.
    #[error(
        "run {run} of the shared Hessian pass has {what} than run 0, so it cannot share its passes"
    )]
    SharedHessianMismatch {
        /// Position of the operator among those given.
        run: usize,
        /// What differs, as "another dtype", "other widths", "other samples", ….
        what: &'static str,
    },
    /// Inputs or outputs of the wrong length for a run of a shared pass.
    #[error(
        "run {run} of the shared Hessian pass: {count} vectors of {params} parameters need \
         {} input and output values, got {inputs} and {outputs}",
        count * params
    )]
    SharedHessianLength {
        /// Position of the run.
        run: usize,
        /// Vectors asked for.
        count: usize,
        /// The network's parameters N.
        params: usize,
        /// Input values given.
        inputs: usize,
        /// Output values given.
        outputs: usize,
    },
    /// A shared pass was not given one slice of inputs, one of outputs and one count per run.
    #[error(
        "a shared Hessian pass over {runs} runs needs one input slice, one output slice and one \
         count per run, got {inputs}, {outputs} and {counts}"
    )]
    SharedHessianSliceCount {
        /// Runs of the pass.
        runs: usize,
        /// Input slices given.
        inputs: usize,
        /// Output slices given.
        outputs: usize,
        /// Counts given.
        counts: usize,
    },

    // ----- Eigensolver -----
    /// The operator's product failed (its own error, e.g. a tensor error of the Hessian
    /// operator, is the source).
    #[error("operator product failed: {0}")]
    OperatorFailed(#[source] OperatorError),
    /// A product (or the projected matrix) had non-finite entries: the matrix is not
    /// representable at this point (for a Hessian: the parameters have blown up). The text
    /// says where the values were found.
    #[error("the operator returned non-finite values: {0}")]
    NonFinite(String),
    /// The solve was abandoned because its stop flag was set (an
    /// [`Interruptible`](crate::eigen::Interruptible) operator); no result exists.
    #[error("eigen-solve stopped by a signal")]
    EigenInterrupted,
    /// The eigensolver's options (or warm-start vectors) do not fit the operator (what does
    /// not fit, in words).
    #[error("invalid eigensolver options: {0}")]
    InvalidEigenOptions(String),

    // ----- Memory -----
    /// A large buffer could not be allocated (the Hessian operator's cache, a block of
    /// products, the solver's Krylov basis or Ritz vectors, a task's copy of its data): which
    /// buffer, its size in bytes and how the size follows from the settings.
    #[error("{0}")]
    OutOfMemory(AllocationFailure),

    // ----- Snapshot -----
    /// The stop flag was set: the eigen-snapshot was abandoned (nothing of it is kept).
    #[error("eigen-snapshot stopped by a signal")]
    SnapshotInterrupted,

    // ----- Output tables: writing and reading the Parquet tables -----
    /// An operating-system error on an output table's file or directory, e.g.
    /// `writing /out/runs/…/part-00003.parquet: No space left on device (os error 28)`.
    #[error("{action} {}: {source}", path.display())]
    OutputIo {
        /// What was being done ("writing", "creating directory", …).
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// The Parquet encoder or decoder failed (other than by an I/O error).
    #[error("{action} {}: {source}", path.display())]
    Parquet {
        /// What was being done.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: ParquetError,
    },
    /// Rows could not be turned into Arrow arrays: an integer above `i64::MAX` (the schemas
    /// are fixed, so anything else is a bug).
    #[error("building the Arrow batch for {}: {problem}", path.display())]
    Batch {
        /// The file that was to be written.
        path: PathBuf,
        /// What went wrong, e.g. [`WorkerError::IntegerOverflow`].
        problem: Box<WorkerError>,
    },
    /// A column of a file does not hold what its table declares (missing, of another type,
    /// with nulls where it is required, or an integer out of the field's range).
    #[error("reading {}: {problem}", path.display())]
    Column {
        /// The file.
        path: PathBuf,
        /// What does not match, e.g. [`WorkerError::NullValues`].
        problem: Box<WorkerError>,
    },
    /// A file does not hold the table it should (wrong table, missing or mistyped column,
    /// unexpected nulls, unsupported format version).
    #[error("reading {}: {message}", path.display())]
    Schema {
        /// The file.
        path: PathBuf,
        /// What does not match.
        message: String,
    },
    /// A file's table format version is not one this build reads (a newer one, or none).
    #[error("reading {}: {}", path.display(), format_version_text(found.as_deref()))]
    FormatVersion {
        /// The file.
        path: PathBuf,
        /// The version in its `eigensweep.format_version` metadata, if any.
        found: Option<String>,
    },
    /// A part that is about to be written already exists (two writers on one directory, or
    /// a resume that did not call `remove_parts_from` first).
    #[error("refusing to overwrite existing part {}", path.display())]
    PartExists {
        /// The existing part.
        path: PathBuf,
    },
    /// An integer field too large for its `Int64` column (the Rust fields are unsigned).
    /// Found while building a batch; [`WorkerError::Batch`] names the file.
    #[error("column `{column}`: {value} does not fit a signed 64-bit integer (at most {max})", max = i64::MAX)]
    IntegerOverflow {
        /// The column.
        column: String,
        /// The value.
        value: String,
    },
    /// A declared column that a batch or file lacks. Found while reading a batch;
    /// [`WorkerError::Column`] names the file.
    #[error("missing column `{column}`")]
    MissingColumn {
        /// The column.
        column: String,
    },
    /// A column of another Arrow type than its declaration's.
    #[error("column `{column}` has type {found}, expected {expected}")]
    ColumnType {
        /// The column.
        column: String,
        /// The type found.
        found: String,
        /// The type expected.
        expected: String,
    },
    /// Nulls in a required column.
    #[error("column `{column}` has {count} null values but is required")]
    NullValues {
        /// The column.
        column: String,
        /// How many nulls.
        count: usize,
    },
    /// A nullable field in a file for a column declared required.
    #[error("column `{column}` is nullable but should be required")]
    NullableColumn {
        /// The column.
        column: String,
    },
    /// A stored integer outside the range of its Rust field (a negative step, an index
    /// beyond `u32`), never wrapped.
    #[error("column `{column}` holds {value}, outside the range of {target}")]
    ColumnOutOfRange {
        /// The column.
        column: String,
        /// The stored value.
        value: i64,
        /// The Rust type of the field.
        target: &'static str,
    },
    /// A list column whose items are not `Float32`.
    #[error("column `{column}` is not a list of float32")]
    NotFloatList {
        /// The column.
        column: String,
    },
    /// Arrow refused the columns as a record batch (a bug: the schemas are fixed).
    #[error("{0}")]
    Arrow(ArrowError),
    /// A hive partition value that would break the directory layout.
    #[error("invalid {name} partition value {value:?}: {reason}")]
    InvalidPartition {
        /// The partition column ("dataset", "optimizer").
        name: &'static str,
        /// The offending value.
        value: String,
        /// Why it is rejected.
        reason: &'static str,
    },

    // ----- Checkpoint -----
    /// A file-system error on a run's checkpoint file.
    #[error("{action} {path}: {source}")]
    CheckpointIo {
        /// What was being done.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// The checkpoint file is not a complete checkpoint of this format.
    #[error("checkpoint {path} is damaged or of another format: {reason}")]
    CheckpointCorrupt {
        /// The file.
        path: PathBuf,
        /// What was wrong.
        reason: String,
    },
    /// The checkpoint file is intact (its checksum holds) but was written by a newer
    /// eigensweep: a newer format version, or fields this build does not know. Resuming from
    /// it here would lose what it records, so the run is left to the build that wrote it.
    #[error(
        "checkpoint {path} was written by a newer eigensweep ({what}); this build reads format {current}: resume this output with the eigensweep that wrote it, or delete the checkpoint to restart that run from step 0"
    )]
    CheckpointNewer {
        /// The file.
        path: PathBuf,
        /// What marks it as newer.
        what: String,
        /// The format this build reads.
        current: &'static str,
    },

    // ----- Run: what fails a run or baseline task as a whole -----
    /// A file-system error on a marker file or the run's directory.
    #[error("{action} {path}: {source}")]
    MarkerIo {
        /// What was being done.
        action: &'static str,
        /// The path.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// The directory holds a checkpoint of a different configuration.
    #[error("{path} belongs to run {found}, not {expected}: refusing to mix outputs of different configurations")]
    ForeignCheckpoint {
        /// The checkpoint file.
        path: PathBuf,
        /// Its run key.
        found: String,
        /// This run's key.
        expected: String,
    },
    /// The run was started on another kind of device, whose arithmetic rounds differently.
    #[error("{path} was computed on {saved}, this launch uses {now}: resume with --device {saved} so the run's numbers come from one device (or remove the run's directory to restart it on {now})")]
    DeviceMismatch {
        /// The checkpoint file.
        path: PathBuf,
        /// Device kind of the earlier launch (`cpu` or `cuda`).
        saved: String,
        /// Device kind of this launch.
        now: String,
    },
    /// The run was started with another thread count, which changes its rounding.
    #[error("{path} was computed with {saved} threads per run, this launch uses {now}: resume with --threads-per-run {saved} so the run's numbers stay identical")]
    ThreadMismatch {
        /// The checkpoint file.
        path: PathBuf,
        /// Threads of the earlier launch.
        saved: u64,
        /// Threads of this launch.
        now: u64,
    },
    /// An inconsistent run plan (what is inconsistent, in words).
    #[error("invalid run plan: {0}")]
    InvalidPlan(String),
    /// The stop flag was set before the task could finish and it has nothing to checkpoint
    /// (a baseline network): nothing was written, the task is redone by the next launch.
    #[error("stopped by a signal before the task finished; nothing was written")]
    TaskInterrupted,
}

impl From<AllocationFailure> for WorkerError {
    fn from(failure: AllocationFailure) -> Self {
        WorkerError::OutOfMemory(failure)
    }
}

impl WorkerError {
    /// The buffer that could not be allocated, where running out of memory is what failed
    /// (wherever it happened: a task's copy of its data, the Hessian operator, the solver or
    /// its products).
    pub fn out_of_memory(&self) -> Option<&AllocationFailure> {
        match self {
            WorkerError::OutOfMemory(failure) => Some(failure),
            _ => None,
        }
    }

    /// Whether the error is about reading an existing table (a torn or foreign file, one of
    /// a newer format, a file or directory that cannot be opened or listed), not about writing
    /// one: commands exit 3 (bad input) for these and 4 only for outputs they cannot write,
    /// so that a script that retries on 4 ("disk full") does not loop on a damaged input.
    /// False for every error that is not one of the output tables'.
    pub fn is_reading(&self) -> bool {
        match self {
            WorkerError::Schema { .. }
            | WorkerError::FormatVersion { .. }
            | WorkerError::Column { .. }
            | WorkerError::MissingColumn { .. }
            | WorkerError::ColumnType { .. }
            | WorkerError::NullValues { .. }
            | WorkerError::NullableColumn { .. }
            | WorkerError::ColumnOutOfRange { .. }
            | WorkerError::NotFloatList { .. } => true,
            WorkerError::Parquet { action, .. } => *action == "reading",
            WorkerError::OutputIo { action, .. } => {
                matches!(*action, "opening" | "reading directory")
            }
            _ => false,
        }
    }

    /// Whether a checkpoint file is intact but of a newer eigensweep
    /// ([`WorkerError::CheckpointNewer`]).
    pub fn is_newer(&self) -> bool {
        matches!(self, WorkerError::CheckpointNewer { .. })
    }

    /// Shorthand for [`WorkerError::DataIo`], used wherever an OS call on a dataset's file
    /// fails.
    pub(crate) fn data_io(
        action: &'static str,
        path: impl Into<PathBuf>,
        source: io::Error,
    ) -> Self {
        WorkerError::DataIo {
            action,
            path: path.into(),
            source,
        }
    }

    /// Shorthand for [`WorkerError::OutputIo`], used wherever an OS call on an output
    /// table's file or directory fails.
    pub(crate) fn output_io(action: &'static str, path: &Path, source: io::Error) -> Self {
        WorkerError::OutputIo {
            action,
            path: path.to_path_buf(),
            source,
        }
    }

    /// Wraps a Parquet error; an I/O error inside it becomes [`WorkerError::OutputIo`] so
    /// that the message reads "writing PATH: No space left on device" rather than
    /// "External: …".
    pub(crate) fn parquet(action: &'static str, path: &Path, source: ParquetError) -> Self {
        match source {
            ParquetError::External(e) => match e.downcast::<io::Error>() {
                Ok(io) => WorkerError::output_io(action, path, *io),
                Err(e) => WorkerError::Parquet {
                    action,
                    path: path.to_path_buf(),
                    source: ParquetError::External(e),
                },
            },
            source => WorkerError::Parquet {
                action,
                path: path.to_path_buf(),
                source,
            },
        }
    }

    /// A problem with a column of the file at `path` ([`WorkerError::Column`]).
    pub(crate) fn column(path: &Path, problem: WorkerError) -> Self {
        WorkerError::Column {
            path: path.to_path_buf(),
            problem: Box::new(problem),
        }
    }

    /// A file that does not hold the table it should ([`WorkerError::Schema`]).
    pub(crate) fn schema(path: &Path, message: impl Into<String>) -> Self {
        WorkerError::Schema {
            path: path.to_path_buf(),
            message: message.into(),
        }
    }

    /// An operator's failure as the eigensolver reports it: [`WorkerError::EigenInterrupted`]
    /// for its stop request, the error itself when it is a buffer the operator could not
    /// allocate ([`WorkerError::OutOfMemory`]), else [`WorkerError::OperatorFailed`].
    pub(crate) fn from_operator(e: OperatorError) -> Self {
        if e.is::<crate::eigen::Interrupted>() {
            return WorkerError::EigenInterrupted;
        }
        match e.downcast::<WorkerError>() {
            Ok(worker) if worker.out_of_memory().is_some() => *worker,
            Ok(worker) => WorkerError::OperatorFailed(worker),
            Err(e) => WorkerError::OperatorFailed(e),
        }
    }
}

/// The text of [`WorkerError::FormatVersion`]: the version found (or its absence) and the
/// versions this build reads.
fn format_version_text(found: Option<&str>) -> String {
    use crate::output::{format, schema};
    let reads = format!(
        "this build reads versions {} and {} (writing {})",
        schema::FORMAT_VERSION,
        format::FORMAT_VERSION_1,
        schema::FORMAT_VERSION
    );
    match found {
        Some(v) => format!(
            "table format version {v:?}; {reads}: the file was written by a newer eigensweep, \
             read it with that one"
        ),
        None => format!(
            "no `{}` metadata: not an eigensweep table ({reads})",
            schema::FORMAT_VERSION_KEY
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Clippy's `result_large_err` flags every function whose error is over 128 bytes: the
    /// crate's error must leave room for the tag of the errors that wrap it (`AnalysisError`,
    /// `ReportError`) and of the crate's own internal wrappers.
    #[test]
    fn the_error_stays_small_enough_to_be_wrapped() {
        assert!(
            std::mem::size_of::<WorkerError>() <= 120,
            "WorkerError is {} bytes: box the fields of its largest variant",
            std::mem::size_of::<WorkerError>()
        );
    }

    /// An operator's boxed error comes out of the solver as what it is: a buffer the operator
    /// could not allocate as [`WorkerError::OutOfMemory`] (so the orchestrator's message names
    /// it), a stop request as [`WorkerError::EigenInterrupted`], anything else as a failed
    /// product whose source is the operator's own error.
    #[test]
    fn operator_errors_travel_as_themselves() {
        let failure = AllocationFailure {
            buffer: "a block of products".into(),
            bytes: 1 << 40,
            size: "2 vectors × 8 bytes".into(),
        };
        let boxed: OperatorError = Box::new(WorkerError::OutOfMemory(failure.clone()));
        let e = WorkerError::from_operator(boxed);
        assert_eq!(e.out_of_memory(), Some(&failure));
        assert_eq!(e.to_string(), failure.to_string());
        assert!(std::error::Error::source(&e).is_none());

        let e = WorkerError::from_operator(Box::new(crate::eigen::Interrupted));
        assert!(matches!(e, WorkerError::EigenInterrupted), "{e}");

        let shape = WorkerError::ShapeMismatch("x".into());
        let e = WorkerError::from_operator(Box::new(shape));
        assert!(e.out_of_memory().is_none());
        assert_eq!(e.to_string(), "operator product failed: shape mismatch: x");
        let source = std::error::Error::source(&e).expect("the operator's error");
        assert_eq!(source.to_string(), "shape mismatch: x");
    }

    #[test]
    fn io_inside_parquet_error_reads_as_plain_io_error() {
        let enospc = io::Error::from_raw_os_error(28);
        let path =
            Path::new("/x/runs/dataset=mnist/optimizer=sgd/seed=0/snapshots/part-00003.parquet");
        let err = WorkerError::parquet("writing", path, ParquetError::from(enospc));
        let msg = err.to_string();
        assert!(
            msg.starts_with("writing /x/runs/dataset=mnist/optimizer=sgd/seed=0/snapshots/part-00003.parquet: No space left on device"),
            "{msg}"
        );
        assert!(matches!(err, WorkerError::OutputIo { .. }));
    }

    #[test]
    fn other_parquet_errors_keep_their_text_and_the_path() {
        let err = WorkerError::parquet(
            "reading",
            Path::new("/y/p.parquet"),
            ParquetError::General("bad footer".into()),
        );
        let msg = err.to_string();
        assert!(
            msg.contains("/y/p.parquet") && msg.contains("bad footer"),
            "{msg}"
        );
    }
}
