//! Who owns an output directory: one `run` launch per output (or per shard of it), one
//! `analyze`/`report`/`minima` at a time, and, for `status`, whether those owners are alive.
//!
//! The truth is a kernel lock (`flock(2)` through [`File::try_lock`]) on a small file in the
//! output directory, so a holder that dies — SIGKILL, a lost node — releases it with its last
//! file descriptor and never blocks the next launch. The file's contents (host, PID, start
//! time, command line, as JSON) are only there to name the holder when a launch is refused.
//!
//! | lock file | whole-sweep `run` | `run --shard I/K` | `analyze`, `report`, `minima` |
//! |---|---|---|---|
//! | `.eigensweep-lock` | exclusive | shared | — |
//! | `.eigensweep-lock-shard-I-of-K` | — | exclusive | — |
//! | `.eigensweep-analysis-lock` | — | — | exclusive |
//!
//! So shards of one sweep run side by side, the same shard twice is refused, and a
//! whole-sweep launch and a shard launch exclude each other. Shards of different splits
//! (`I/2` and `J/3`) overlap: a shard launch that finds a shard lock of another K held after
//! taking its own is refused (of two racing, at least one sees the other). The analysis commands only read what
//! `run` writes and write elsewhere, so they may run beside a launch, but not beside each
//! other.
//!
//! Shared filesystems: on NFS, Linux emulates `flock` with byte-range locks through the
//! server (NLM for NFSv3, the protocol itself for v4), so the lock works across nodes; a
//! holder's lock goes when its process exits or, if its node is lost, when the server's lease
//! or grace period for that client runs out (typically 90 s). On Lustre the lock works across
//! nodes only when clients mount with `-o flock`; with `localflock` it protects a single node,
//! and with `noflock` the call fails (ENOSYS): then `run` stops with exit code 4 and names
//! `--no-lock`, for a user who makes sure on their own that a single launch uses the output.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// The lock file every `run` launch takes, exclusively for the whole sweep, shared by shards.
pub(crate) const SWEEP_LOCK: &str = ".eigensweep-lock";
/// The lock file of `analyze`, `report` and `minima`.
pub(crate) const ANALYSIS_LOCK: &str = ".eigensweep-analysis-lock";

/// How long a refused attempt keeps retrying: `status` probes a lock by taking it shared for
/// a moment, and a launch starting in that moment must not be refused for it.
const PATIENCE: Duration = Duration::from_millis(1000);

/// The lock file of shard `index` of `count`.
pub(crate) fn shard_lock_name(index: usize, count: usize) -> String {
    format!("{SWEEP_LOCK}-shard-{index}-of-{count}")
}

/// What a process locks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scope {
    /// A `run` of every task of the sweep.
    Sweep,
    /// A `run --shard index/count`.
    Shard { index: usize, count: usize },
    /// `analyze`, `report` or `minima`.
    Analysis,
}

impl Scope {
    fn describe(self) -> String {
        match self {
            Scope::Sweep => "the whole sweep".into(),
            Scope::Shard { index, count } => format!("shard {index}/{count}"),
            Scope::Analysis => "the analysis".into(),
        }
    }
}

/// Who holds a lock, as the holder wrote it into the lock file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Holder {
    /// Host name of the holder.
    pub host: String,
    /// Its process id (on `host`).
    pub pid: u32,
    /// When it took the lock, Unix milliseconds.
    pub started_ms: i64,
    /// The same time for people, UTC.
    pub started: String,
    /// What it holds: `the whole sweep`, `shard I/K`, `the analysis`.
    pub scope: String,
    /// Its command line.
    pub command: String,
}

impl Holder {
    fn this_process(scope: Scope) -> Self {
        let started_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0);
        Self {
            host: host_name(),
            pid: std::process::id(),
            started_ms,
            started: utc_text(started_ms),
            scope: scope.describe(),
            command: std::env::args().collect::<Vec<_>>().join(" "),
        }
    }

    /// `host H, PID P, since T (scope): command`, for messages.
    pub(crate) fn describe(&self) -> String {
        format!(
            "host {}, PID {}, since {} ({}): {}",
            self.host, self.pid, self.started, self.scope, self.command
        )
    }
}

/// Why a lock could not be taken.
#[derive(Debug, thiserror::Error)]
pub(crate) enum LockError {
    /// Another process holds it (or a conflicting one).
    #[error("{} is in use by another launch ({wanted} was asked for): {}; wait for it to finish or stop it, then run again", .out.display(), describe_holders(.holders))]
    Held {
        out: PathBuf,
        wanted: String,
        holders: Vec<Holder>,
    },
    /// The filesystem refuses locks (Lustre without `-o flock`, some FUSE filesystems).
    #[error("the filesystem of {} does not support file locks ({source}); on Lustre, mount with `-o flock`, or pass --no-lock if you make sure yourself that only one launch uses this output", .path.display())]
    Unsupported {
        path: PathBuf,
        source: std::io::Error,
    },
    /// Opening or writing the lock file failed.
    #[error("locking {}: {source}", .path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

fn describe_holders(holders: &[Holder]) -> String {
    if holders.is_empty() {
        return "holder unknown (its lock file names no one yet)".into();
    }
    let texts: Vec<String> = holders
        .iter()
        .map(|h| format!("held by {}", h.describe()))
        .collect();
    texts.join("; ")
}

impl From<LockError> for crate::failure::Failure {
    fn from(e: LockError) -> Self {
        use eigensweep_common::exit_codes;
        let code = match &e {
            LockError::Held { .. } => exit_codes::LOCKED,
            LockError::Unsupported { .. } | LockError::Io { .. } => exit_codes::OUTPUT,
        };
        Self {
            code,
            error: anyhow::Error::new(e),
        }
    }
}

/// A lock this process holds; dropping it (or the process ending in any way) releases it.
#[derive(Debug)]
pub(crate) struct OutputLock {
    /// The locked files (the kernel lock lives as long as they are open).
    _files: Vec<File>,
}

/// Takes the lock(s) of `scope` on the output directory `out` (which must exist), or says who
/// holds them. Never waits for a holder beyond [`PATIENCE`].
pub(crate) fn acquire(out: &Path, scope: Scope) -> Result<OutputLock, LockError> {
    let me = Holder::this_process(scope);
    match scope {
        Scope::Sweep => {
            let file = open_for_lock(&out.join(SWEEP_LOCK))?;
            lock_or_name(&file, out, scope, true, || sweep_holders(out))?;
            write_holder(&file, &out.join(SWEEP_LOCK), &me)?;
            Ok(OutputLock { _files: vec![file] })
        }
        Scope::Shard { index, count } => {
            let sweep = open_for_lock(&out.join(SWEEP_LOCK))?;
            lock_or_name(&sweep, out, scope, false, || {
                read_holder(&out.join(SWEEP_LOCK)).into_iter().collect()
            })?;
            let path = out.join(shard_lock_name(index, count));
            let file = open_for_lock(&path)?;
            lock_or_name(&file, out, scope, true, || {
                read_holder(&path).into_iter().collect()
            })?;
            // Shards of another split overlap this one. Checked after locking our own shard,
            // so of two launches racing with different K at least one sees the other.
            let other_splits: Vec<PathBuf> = held_shard_locks(out)
                .into_iter()
                .filter(|p| shard_count(p) != Some(count))
                .collect();
            if !other_splits.is_empty() {
                return Err(LockError::Held {
                    out: out.to_path_buf(),
                    wanted: format!("{} (shards of another split are running)", scope.describe()),
                    holders: other_splits.iter().filter_map(|p| read_holder(p)).collect(),
                });
            }
            write_holder(&file, &path, &me)?;
            Ok(OutputLock {
                _files: vec![sweep, file],
            })
        }
        Scope::Analysis => {
            let path = out.join(ANALYSIS_LOCK);
            let file = open_for_lock(&path)?;
            lock_or_name(&file, out, scope, true, || {
                read_holder(&path).into_iter().collect()
            })?;
            write_holder(&file, &path, &me)?;
            Ok(OutputLock { _files: vec![file] })
        }
    }
}

/// The analysis lock of `out`, for `analyze`, `report` and `minima`; `None` when `out` holds
/// no sweep outputs (the command then fails on its own, and no lock file is left in a
/// directory that is not an output).
pub(crate) fn acquire_for_analysis(
    out: &Path,
) -> Result<Option<OutputLock>, crate::failure::Failure> {
    if !out.join("runs").is_dir() && !out.join("baseline").is_dir() {
        return Ok(None);
    }
    Ok(Some(acquire(out, Scope::Analysis)?))
}

fn open_for_lock(path: &Path) -> Result<File, LockError> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(|source| LockError::Io {
            path: path.to_path_buf(),
            source,
        })
}

/// Locks `file` (exclusive or shared), retrying for [`PATIENCE`]; when refused, `holders`
/// names who is in the way.
fn lock_or_name(
    file: &File,
    out: &Path,
    scope: Scope,
    exclusive: bool,
    holders: impl Fn() -> Vec<Holder>,
) -> Result<(), LockError> {
    let deadline = std::time::Instant::now() + PATIENCE;
    loop {
        let attempt = if exclusive {
            file.try_lock()
        } else {
            file.try_lock_shared()
        };
        match attempt {
            Ok(()) => return Ok(()),
            Err(TryLockError::WouldBlock) if std::time::Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(100));
            }
            Err(TryLockError::WouldBlock) => {
                return Err(LockError::Held {
                    out: out.to_path_buf(),
                    wanted: scope.describe(),
                    holders: holders(),
                })
            }
            Err(TryLockError::Error(source)) => return Err(classify(out, source)),
        }
    }
}

/// A lock call's error: the filesystem cannot lock at all, or something else went wrong.
fn classify(path: &Path, source: std::io::Error) -> LockError {
    let unsupported = source.kind() == std::io::ErrorKind::Unsupported
        || matches!(
            source.raw_os_error(),
            Some(libc::ENOSYS | libc::EOPNOTSUPP | libc::ENOLCK)
        );
    if unsupported {
        LockError::Unsupported {
            path: path.to_path_buf(),
            source,
        }
    } else {
        LockError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// Who is in the way of a whole-sweep launch: the shard launches holding their locks, or else
/// the whole-sweep launch named in `.eigensweep-lock`.
fn sweep_holders(out: &Path) -> Vec<Holder> {
    let shards: Vec<Holder> = held_shard_locks(out)
        .into_iter()
        .filter_map(|path| read_holder(&path))
        .collect();
    if !shards.is_empty() {
        return shards;
    }
    read_holder(&out.join(SWEEP_LOCK)).into_iter().collect()
}

/// Replaces the lock file's contents with `me` (informational: the kernel lock is the truth).
fn write_holder(file: &File, path: &Path, me: &Holder) -> Result<(), LockError> {
    let text = serde_json::to_string(me).expect("a holder serialises");
    let mut f = file;
    f.set_len(0)
        .and_then(|()| f.rewind())
        .and_then(|()| f.write_all(text.as_bytes()))
        // Another node reads the file through its own client cache: push it to the server.
        .and_then(|()| f.sync_data())
        .map_err(|source| LockError::Io {
            path: path.to_path_buf(),
            source,
        })
}

/// The holder named in a lock file, if it names one (it may be empty while its holder starts).
pub(crate) fn read_holder(path: &Path) -> Option<Holder> {
    let mut text = String::new();
    File::open(path).ok()?.read_to_string(&mut text).ok()?;
    serde_json::from_str(&text).ok()
}

/// Whether some process holds the lock on `path`, found by taking it shared for a moment
/// (read-only: nothing is written). `None`: the file does not exist or the filesystem cannot
/// tell. A shared holder (a shard launch on `.eigensweep-lock`) is not seen this way.
pub(crate) fn is_held(path: &Path) -> Option<bool> {
    let file = File::open(path).ok()?;
    match file.try_lock_shared() {
        Ok(()) => {
            let _ = file.unlock();
            Some(false)
        }
        Err(TryLockError::WouldBlock) => Some(true),
        Err(TryLockError::Error(_)) => None,
    }
}

/// The shard lock files of `out` that some launch holds now.
pub(crate) fn held_shard_locks(out: &Path) -> Vec<PathBuf> {
    let prefix = format!("{SWEEP_LOCK}-shard-");
    let Ok(entries) = std::fs::read_dir(out) else {
        return Vec::new();
    };
    let mut held: Vec<PathBuf> = entries
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
        .map(|e| e.path())
        .filter(|p| is_held(p) == Some(true))
        .collect();
    held.sort();
    held
}

/// K of a shard lock file `.eigensweep-lock-shard-I-of-K`.
fn shard_count(path: &Path) -> Option<usize> {
    let name = path.file_name()?.to_str()?;
    name.rsplit_once("-of-")?.1.parse().ok()
}

/// This machine's host name (as in every output's provenance).
pub(crate) fn host_name() -> String {
    eigensweep_common::provenance::host_name().to_string()
}

/// `YYYY-MM-DD HH:MM:SS UTC` of Unix milliseconds (chrono, without its time-zone database).
pub(crate) fn utc_text(ms: i64) -> String {
    match chrono::DateTime::from_timestamp_millis(ms) {
        Some(t) => t.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
        None => format!("{ms} ms after 1970 (UTC)"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_text_matches_known_dates() {
        assert_eq!(utc_text(0), "1970-01-01 00:00:00 UTC");
        // 2024-02-29 12:34:56 UTC (a leap day).
        assert_eq!(utc_text(1_709_210_096_000), "2024-02-29 12:34:56 UTC");
        assert_eq!(utc_text(-1000), "1969-12-31 23:59:59 UTC");
    }

    #[test]
    fn second_whole_sweep_lock_is_refused_and_names_the_holder() {
        let dir = tempfile::tempdir().unwrap();
        let first = acquire(dir.path(), Scope::Sweep).unwrap();
        let err = acquire(dir.path(), Scope::Sweep).unwrap_err();
        let LockError::Held { holders, .. } = &err else {
            panic!("{err}")
        };
        assert_eq!(holders.len(), 1);
        assert_eq!(holders[0].pid, std::process::id());
        let text = err.to_string();
        assert!(
            text.contains(&format!("PID {}", std::process::id())),
            "{text}"
        );
        assert!(
            text.contains(&host_name()) && text.contains("UTC"),
            "{text}"
        );
        assert_eq!(is_held(&dir.path().join(SWEEP_LOCK)), Some(true));
        drop(first);
        assert_eq!(is_held(&dir.path().join(SWEEP_LOCK)), Some(false));
        acquire(dir.path(), Scope::Sweep).unwrap();
    }

    #[test]
    fn shards_exclude_the_whole_sweep_and_themselves_but_not_each_other() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path();
        let zero = acquire(out, Scope::Shard { index: 0, count: 2 }).unwrap();
        let one = acquire(out, Scope::Shard { index: 1, count: 2 }).unwrap();
        assert!(matches!(
            acquire(out, Scope::Shard { index: 0, count: 2 }),
            Err(LockError::Held { .. })
        ));
        match acquire(out, Scope::Sweep) {
            Err(LockError::Held { holders, .. }) => {
                let scopes: Vec<&str> = holders.iter().map(|h| h.scope.as_str()).collect();
                assert_eq!(scopes, ["shard 0/2", "shard 1/2"]);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(held_shard_locks(out).len(), 2);
        drop((zero, one));
        let whole = acquire(out, Scope::Sweep).unwrap();
        match acquire(out, Scope::Shard { index: 0, count: 2 }) {
            Err(LockError::Held { holders, .. }) => {
                assert_eq!(holders.len(), 1);
                assert_eq!(holders[0].scope, "the whole sweep");
            }
            other => panic!("{other:?}"),
        }
        // Shards of another split overlap these: refused.
        drop(whole);
        let zero = acquire(out, Scope::Shard { index: 0, count: 2 }).unwrap();
        match acquire(out, Scope::Shard { index: 1, count: 3 }) {
            Err(e @ LockError::Held { .. }) => {
                assert!(e.to_string().contains("another split"), "{e}");
                assert!(e.to_string().contains("shard 0/2"), "{e}");
            }
            other => panic!("{other:?}"),
        }
        // The refused launch left no lock behind: the same split still works.
        let one = acquire(out, Scope::Shard { index: 1, count: 2 }).unwrap();
        drop((zero, one));
        // The analysis lock is independent of the launches'.
        let analysis = acquire(out, Scope::Analysis).unwrap();
        assert!(matches!(
            acquire(out, Scope::Analysis),
            Err(LockError::Held { .. })
        ));
        drop(analysis);
    }

    #[test]
    fn a_lock_file_without_holder_text_still_locks() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(ANALYSIS_LOCK);
        let raw = open_for_lock(&path).unwrap();
        raw.try_lock().unwrap();
        let err = acquire(dir.path(), Scope::Analysis).unwrap_err();
        assert!(err.to_string().contains("holder unknown"), "{err}");
    }

    #[test]
    fn lock_errors_of_filesystems_without_locks_name_the_way_out() {
        for errno in [libc::ENOSYS, libc::EOPNOTSUPP, libc::ENOLCK] {
            let e = classify(Path::new("/x"), std::io::Error::from_raw_os_error(errno));
            assert!(matches!(e, LockError::Unsupported { .. }), "{errno}");
            let text = e.to_string();
            assert!(
                text.contains("--no-lock") && text.contains("flock"),
                "{text}"
            );
        }
        let e = classify(
            Path::new("/x"),
            std::io::Error::from_raw_os_error(libc::EACCES),
        );
        assert!(matches!(e, LockError::Io { .. }));
    }
}
