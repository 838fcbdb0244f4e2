//! Who wrote an output: the eigensweep version, the git commit and build features of the
//! binary, the device it computed on, the machine's CPU model and its host name.
//!
//! Every Parquet file eigensweep writes carries these as key-value metadata
//! (`eigensweep.version`, `eigensweep.git_commit`, …; DuckDB:
//! `SELECT * FROM parquet_kv_metadata('file.parquet')`), and every row of the runs table as
//! columns, so that a result can be traced to the build and the machine behind it, and a sweep
//! resumed by another build or on another device says so.
//!
//! The build facts are the binary's: `main_with_args` calls [`set_build`] once at start-up
//! (the library cannot see the binary's features or its commit). Until then, in a library
//! used on its own, the version is this crate's and the commit and features are `unknown`.
//! The device is per thread: a worker thread that opens a GPU calls [`set_thread_device`], so
//! that jobs of one process on different GPUs each stamp their own files; a thread that never
//! opened one computes on the CPU.

use std::cell::RefCell;
use std::fmt;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

/// What stands where a fact is not known (a commit outside a git checkout, a library whose
/// binary never called [`set_build`]).
pub const UNKNOWN: &str = "unknown";

/// The device label of a thread that never opened a GPU.
pub const CPU_DEVICE: &str = "cpu";

/// The facts of the running binary: the same for every file a process writes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Build {
    /// The eigensweep version (`CARGO_PKG_VERSION`), e.g. `0.1.0`.
    pub version: String,
    /// The 40-hex git commit the binary was built from, `+dirty` when its sources differed
    /// from it, or [`UNKNOWN`].
    pub git_commit: String,
    /// The cargo features it was built with, comma-separated in a fixed order (`mpi,cuda`),
    /// `none` for neither.
    pub features: String,
}

impl Build {
    /// A build with `version`, `git_commit` and the named features (`features` lists the
    /// enabled ones; none gives `none`).
    pub fn new(version: &str, git_commit: &str, features: &[&str]) -> Self {
        Self {
            version: version.to_string(),
            git_commit: git_commit.to_string(),
            features: if features.is_empty() {
                "none".to_string()
            } else {
                features.join(",")
            },
        }
    }

    /// The commit shortened to 12 hex digits (and its `+dirty` mark), for messages.
    pub fn short_commit(&self) -> String {
        short_commit(&self.git_commit)
    }
}

/// `0123456789abcdef…+dirty` → `0123456789ab+dirty`; [`UNKNOWN`] and short texts unchanged.
pub fn short_commit(commit: &str) -> String {
    let (hash, mark) = match commit.split_once('+') {
        Some((h, m)) => (h, format!("+{m}")),
        None => (commit, String::new()),
    };
    if hash.len() > 12 && hash.bytes().all(|b| b.is_ascii_hexdigit()) {
        format!("{}{mark}", &hash[..12])
    } else {
        commit.to_string()
    }
}

/// Who wrote a file or ran a task's attempt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Provenance {
    /// The binary's build.
    pub build: Build,
    /// `cpu`, or `cuda:N (GPU name)` as the driver names it.
    pub device: String,
    /// The machine's CPU model as `/proc/cpuinfo` names it, or [`UNKNOWN`].
    pub cpu: String,
    /// The host name, or [`UNKNOWN`].
    pub host: String,
}

impl Provenance {
    /// The provenance of what the calling thread writes now.
    pub fn current() -> Self {
        Self {
            build: build().clone(),
            device: DEVICE
                .with(|d| d.borrow().clone())
                .unwrap_or_else(|| CPU_DEVICE.to_string()),
            cpu: cpu_model().to_string(),
            host: host_name().to_string(),
        }
    }

    /// The facts as `(name, value)` pairs, in a fixed order: the names of the Parquet
    /// key-value metadata (after `eigensweep.`) and of the runs table's columns.
    pub fn pairs(&self) -> [(&'static str, &str); 6] {
        [
            ("version", &self.build.version),
            ("git_commit", &self.build.git_commit),
            ("features", &self.build.features),
            ("device", &self.device),
            ("cpu", &self.cpu),
            ("host", &self.host),
        ]
    }

    /// What differs from `earlier`, as `field: earlier → now` texts (empty when nothing
    /// does): the words of the log line and report note on a sweep resumed by another build
    /// or on another device.
    pub fn changes_since(&self, earlier: &Provenance) -> Vec<String> {
        self.pairs()
            .iter()
            .zip(earlier.pairs().iter())
            .filter(|((_, now), (_, then))| now != then)
            .map(|((name, now), (_, then))| {
                if *name == "git_commit" {
                    format!("{name}: {} → {}", short_commit(then), short_commit(now))
                } else {
                    format!("{name}: {then} → {now}")
                }
            })
            .collect()
    }
}

impl fmt::Display for Provenance {
    /// `eigensweep 0.1.0 (commit 0123456789ab, features mpi) on cpu (AMD EPYC 7571), host n01`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "eigensweep {} (commit {}, features {}) on {}",
            self.build.version,
            self.build.short_commit(),
            self.build.features,
            self.device
        )?;
        if self.device == CPU_DEVICE {
            write!(f, " ({})", self.cpu)?;
        } else {
            write!(f, ", CPU {}", self.cpu)?;
        }
        write!(f, ", host {}", self.host)
    }
}

static BUILD: OnceLock<Build> = OnceLock::new();

thread_local! {
    static DEVICE: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Sets the process's build facts; the first call wins (a second is ignored and returns
/// `false`). Called by the binary before it writes anything.
pub fn set_build(build: Build) -> bool {
    BUILD.set(build).is_ok()
}

/// The process's build facts: those [`set_build`] gave, or this crate's version with the
/// commit and features [`UNKNOWN`].
pub fn build() -> &'static Build {
    BUILD.get_or_init(|| Build {
        version: env!("CARGO_PKG_VERSION").to_string(),
        git_commit: UNKNOWN.to_string(),
        features: UNKNOWN.to_string(),
    })
}

/// Names the device the calling thread computes on from now on (`cpu`, or `cuda:N (name)`).
pub fn set_thread_device(label: &str) {
    DEVICE.with(|d| *d.borrow_mut() = Some(label.to_string()));
}

/// This machine's CPU model as `/proc/cpuinfo` names it (`model name`), or [`UNKNOWN`].
pub fn cpu_model() -> &'static str {
    static CPU: OnceLock<String> = OnceLock::new();
    CPU.get_or_init(|| {
        std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with("model name"))
                    .and_then(|l| l.split(':').nth(1))
                    .map(|m| m.trim().to_string())
            })
            .filter(|m| !m.is_empty())
            .unwrap_or_else(|| UNKNOWN.to_string())
    })
}

/// This machine's host name (`/proc/sys/kernel/hostname`, else `$HOSTNAME`), or [`UNKNOWN`].
pub fn host_name() -> &'static str {
    static HOST: OnceLock<String> = OnceLock::new();
    HOST.get_or_init(|| {
        std::fs::read_to_string("/proc/sys/kernel/hostname")
            .ok()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .or_else(|| std::env::var("HOSTNAME").ok().filter(|s| !s.is_empty()))
            .unwrap_or_else(|| UNKNOWN.to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Provenance {
        Provenance {
            build: Build::new(
                "0.1.0",
                "0123456789abcdef0123456789abcdef01234567",
                &["mpi"],
            ),
            device: CPU_DEVICE.into(),
            cpu: "AMD EPYC 7571".into(),
            host: "n01".into(),
        }
    }

    #[test]
    fn reads_as_one_line() {
        assert_eq!(
            sample().to_string(),
            "eigensweep 0.1.0 (commit 0123456789ab, features mpi) on cpu (AMD EPYC 7571), host n01"
        );
        let mut gpu = sample();
        gpu.device = "cuda:0 (NVIDIA H100 80GB HBM3)".into();
        gpu.build.features = Build::new("0.1.0", UNKNOWN, &[]).features;
        assert_eq!(
            gpu.to_string(),
            "eigensweep 0.1.0 (commit 0123456789ab, features none) on cuda:0 (NVIDIA H100 80GB HBM3), CPU AMD EPYC 7571, host n01"
        );
    }

    #[test]
    fn short_commits_keep_the_dirty_mark_and_leave_other_texts() {
        assert_eq!(
            short_commit("0123456789abcdef0123+dirty"),
            "0123456789ab+dirty"
        );
        assert_eq!(short_commit(UNKNOWN), UNKNOWN);
        assert_eq!(short_commit("v1.2"), "v1.2");
    }

    #[test]
    fn changes_name_each_differing_fact() {
        let then = sample();
        assert!(then.changes_since(&then).is_empty());
        let mut now = sample();
        now.build.version = "0.2.0".into();
        now.device = "cuda:1 (NVIDIA H200)".into();
        assert_eq!(
            now.changes_since(&then),
            vec![
                "version: 0.1.0 → 0.2.0".to_string(),
                "device: cpu → cuda:1 (NVIDIA H200)".to_string(),
            ]
        );
    }

    #[test]
    fn the_device_is_the_threads_own() {
        let here = std::thread::spawn(|| {
            set_thread_device("cuda:3 (test GPU)");
            Provenance::current().device
        })
        .join()
        .unwrap();
        assert_eq!(here, "cuda:3 (test GPU)");
        let other = std::thread::spawn(|| Provenance::current().device)
            .join()
            .unwrap();
        assert_eq!(other, CPU_DEVICE);
    }
}
