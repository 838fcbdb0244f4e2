//! The one error type of the data layer.
//!
//! Data problems are almost always problems with a *file* the user placed or downloaded, so
//! every variant that concerns a file carries its path and names it in the message: the user
//! must be able to act on the message alone, without a debugger or a backtrace.

use std::path::PathBuf;

use thiserror::Error;

/// Everything that can go wrong while reading, generating, locating or fetching a dataset.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum DataError {
    /// An operating-system error on a file or directory (`action` says what we were doing).
    #[error("{action} {path}: {source}")]
    Io {
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
    /// files by hand.
    #[error("could not download {file} for {dataset} into {dir}:\n{attempts}\n\n{help}")]
    FetchFailed {
        /// Dataset name, e.g. "mnist".
        dataset: String,
        /// The file that failed (the first one; the rest were not tried).
        file: String,
        /// The destination directory.
        dir: PathBuf,
        /// One line per URL tried, with its error.
        attempts: String,
        /// The files of the dataset as the directory now holds them, one line each, what was
        /// changed (nothing, unless some were downloaded before this one failed), and
        /// plain-words instructions to place the files by hand.
        help: String,
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
}

impl DataError {
    /// Shorthand for [`DataError::Io`], used wherever an OS call fails on a path.
    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
        source: std::io::Error,
    ) -> Self {
        DataError::Io {
            action,
            path: path.into(),
            source,
        }
    }
}
