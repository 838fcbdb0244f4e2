//! Where datasets live: their names, the four standard files in a directory, the cache.
//!
//! A dataset directory is any directory holding the four standard IDX files, plain or gzip,
//! under the names the original distribution uses (`train-images-idx3-ubyte.gz`, …) or the
//! variant with a dot before `idx` (`train-images.idx3-ubyte`) that some mirrors and archive
//! tools produce. Users can name such a directory directly; otherwise the dataset is looked
//! up in the cache that [`fetch`](super::fetch::fetch) fills.

use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use crate::WorkerError;

/// The datasets of the study (METHOD.md): MNIST digits and FashionMNIST clothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DatasetKind {
    /// LeCun et al.'s handwritten digits.
    Mnist,
    /// Zalando's FashionMNIST, a drop-in replacement with the same format and shapes.
    FashionMnist,
}

/// The names [`DatasetKind::from_str`] accepts, for error messages and `--help` texts.
pub const VALID_DATASET_NAMES: &str = "mnist, fashion-mnist (or fashion_mnist)";

impl DatasetKind {
    /// Every kind, in a fixed order.
    pub const ALL: [DatasetKind; 2] = [DatasetKind::Mnist, DatasetKind::FashionMnist];

    /// The canonical name, also the name of its cache subdirectory and of the CLI argument.
    pub fn name(self) -> &'static str {
        match self {
            DatasetKind::Mnist => "mnist",
            DatasetKind::FashionMnist => "fashion-mnist",
        }
    }
}

impl fmt::Display for DatasetKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for DatasetKind {
    type Err = WorkerError;

    /// Case-insensitive; `-` and `_` both accepted in `fashion-mnist` because Python tools
    /// (torchvision, tfds) spell it with an underscore and users copy names from them.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "mnist" => Ok(DatasetKind::Mnist),
            "fashion-mnist" | "fashion_mnist" => Ok(DatasetKind::FashionMnist),
            _ => Err(WorkerError::UnknownDataset {
                name: s.to_string(),
                valid: VALID_DATASET_NAMES.to_string(),
            }),
        }
    }
}

/// The four files of a dataset directory, as found on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdxFiles {
    /// Training images (`train-images-idx3-ubyte[.gz]`).
    pub train_images: PathBuf,
    /// Training labels (`train-labels-idx1-ubyte[.gz]`).
    pub train_labels: PathBuf,
    /// Test images (`t10k-images-idx3-ubyte[.gz]`).
    pub test_images: PathBuf,
    /// Test labels (`t10k-labels-idx1-ubyte[.gz]`).
    pub test_labels: PathBuf,
}

/// The four roles: (description, stem before the `-idx`/`.idx` separator, `idxN-ubyte`).
const ROLES: [(&str, &str, &str); 4] = [
    ("training images", "train-images", "idx3-ubyte"),
    ("training labels", "train-labels", "idx1-ubyte"),
    ("test images", "t10k-images", "idx3-ubyte"),
    ("test labels", "t10k-labels", "idx1-ubyte"),
];

/// The file names accepted for one role, in order of preference (standard names first).
fn candidates(stem: &str, idx: &str) -> [String; 4] {
    [
        format!("{stem}-{idx}.gz"),
        format!("{stem}-{idx}"),
        format!("{stem}.{idx}.gz"),
        format!("{stem}.{idx}"),
    ]
}

/// Finds the four standard IDX files in `dir` (plain or `.gz`, `-idx` or `.idx` naming).
///
/// When files are missing, the error lists every missing role with all the names looked for,
/// so that a user who renamed or unpacked files differently sees what to rename them to.
pub fn locate_files(dir: &Path) -> Result<IdxFiles, WorkerError> {
    if !dir.is_dir() {
        return Err(WorkerError::NotADirectory {
            path: dir.to_path_buf(),
            hint: fetch_hint(),
        });
    }
    let mut found = Vec::with_capacity(4);
    let mut missing = Vec::new();
    for (what, stem, idx) in ROLES {
        let names = candidates(stem, idx);
        match names.iter().map(|n| dir.join(n)).find(|p| p.is_file()) {
            Some(p) => found.push(p),
            None => missing.push(format!("{what} (looked for {})", names.join(", "))),
        }
    }
    match <[PathBuf; 4]>::try_from(found) {
        Ok([train_images, train_labels, test_images, test_labels]) if missing.is_empty() => {
            Ok(IdxFiles {
                train_images,
                train_labels,
                test_images,
                test_labels,
            })
        }
        _ => Err(WorkerError::MissingFiles {
            dir: dir.to_path_buf(),
            missing,
            hint: fetch_hint(),
        }),
    }
}

fn fetch_hint() -> String {
    "; `eigensweep data fetch mnist` (or fashion-mnist) downloads the standard files into the \
     cache, or name a directory that holds them"
        .to_string()
}

/// The directory datasets are cached in.
///
/// `$EIGENSWEEP_DATA` if set and non-empty (so clusters can point every node at shared
/// storage), else `$XDG_CACHE_HOME/eigensweep` (XDG base-directory spec; a relative value
/// is ignored as the spec requires), else `$HOME/.cache/eigensweep`.
pub fn cache_dir() -> Result<PathBuf, WorkerError> {
    cache_dir_from(|name| std::env::var_os(name))
}

/// [`cache_dir`] with the environment passed in, so it can be tested without mutating the
/// process environment (which is shared by all test threads).
fn cache_dir_from(var: impl Fn(&str) -> Option<OsString>) -> Result<PathBuf, WorkerError> {
    let non_empty = |name: &str| var(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    if let Some(dir) = non_empty("EIGENSWEEP_DATA") {
        return Ok(dir);
    }
    if let Some(dir) = non_empty("XDG_CACHE_HOME").filter(|d| d.is_absolute()) {
        return Ok(dir.join("eigensweep"));
    }
    if let Some(home) = non_empty("HOME") {
        return Ok(home.join(".cache").join("eigensweep"));
    }
    Err(WorkerError::NoCacheDir)
}

/// The cache directory of one dataset: `cache_dir()/mnist` or `cache_dir()/fashion-mnist`.
pub fn cached_dataset_dir(kind: DatasetKind) -> Result<PathBuf, WorkerError> {
    Ok(cache_dir()?.join(kind.name()))
}

/// Environment variable naming the MNIST directory that tests and benchmarks read.
pub const TEST_MNIST_DIR_VAR: &str = "EIGENSWEEP_TEST_MNIST_DIR";

/// Test and benchmark support: the directory of the small real MNIST used by tests.
///
/// `$EIGENSWEEP_TEST_MNIST_DIR` if set and non-empty, else `../../shared/data/mnist-10k`
/// relative to the worker crate's manifest directory (fixed at compile time), the 8,000 /
/// 2,000-sample extract shipped beside the repository. The path is returned whether or not
/// it exists: callers should fail, naming [`TEST_MNIST_DIR_VAR`], rather than skip, so a
/// missing data directory can never make a test suite pass vacuously.
pub fn test_mnist_dir() -> PathBuf {
    match std::env::var_os(TEST_MNIST_DIR_VAR).filter(|v| !v.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/mnist-10k"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_names_round_trip() {
        for kind in DatasetKind::ALL {
            assert_eq!(kind.name().parse::<DatasetKind>().unwrap(), kind);
            assert_eq!(kind.to_string(), kind.name());
        }
        assert_eq!(
            "fashion_mnist".parse::<DatasetKind>().unwrap(),
            DatasetKind::FashionMnist
        );
        assert_eq!(
            " MNIST ".parse::<DatasetKind>().unwrap(),
            DatasetKind::Mnist
        );
        let err = "cifar10".parse::<DatasetKind>().unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("cifar10") && msg.contains("mnist, fashion-mnist"),
            "{msg}"
        );
    }

    #[test]
    fn cache_dir_precedence() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| OsString::from(v))
            }
        };
        const ALL: &[(&str, &str)] = &[
            ("EIGENSWEEP_DATA", "/data/es"),
            ("XDG_CACHE_HOME", "/xdg"),
            ("HOME", "/home/u"),
        ];
        assert_eq!(cache_dir_from(env(ALL)).unwrap(), PathBuf::from("/data/es"));
        const NO_ES: &[(&str, &str)] = &[
            ("EIGENSWEEP_DATA", ""),
            ("XDG_CACHE_HOME", "/xdg"),
            ("HOME", "/home/u"),
        ];
        assert_eq!(
            cache_dir_from(env(NO_ES)).unwrap(),
            PathBuf::from("/xdg/eigensweep")
        );
        const REL_XDG: &[(&str, &str)] = &[("XDG_CACHE_HOME", "rel"), ("HOME", "/home/u")];
        assert_eq!(
            cache_dir_from(env(REL_XDG)).unwrap(),
            PathBuf::from("/home/u/.cache/eigensweep")
        );
        assert!(matches!(
            cache_dir_from(env(&[])),
            Err(WorkerError::NoCacheDir)
        ));
    }

    #[test]
    fn cached_dataset_dir_appends_the_kind_name() {
        // Whatever the environment of the test run, the last component is the kind's name.
        if let Ok(dir) = cached_dataset_dir(DatasetKind::FashionMnist) {
            assert!(dir.ends_with("fashion-mnist"));
            assert_eq!(dir.parent(), cache_dir().ok().as_deref());
        }
    }
}
