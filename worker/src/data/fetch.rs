//! Downloading the standard MNIST / FashionMNIST files into a dataset directory, verified by
//! SHA-256, after judging the files already there.
//!
//! The study's numbers are only comparable if everyone trains on the same data, so every file
//! of the directory is first judged against the canonical distribution, reading only
//! ([`judge`]: by its `.gz` bytes, else by its decompressed content; see
//! [`digest`](super::digest)). Verified files are kept as they are and not downloaded, so
//! `fetch` doubles as the "verify my hand-placed files" command, and a cache whose files are
//! all verified needs no network and no write (a read-only cache is fine).
//!
//! A file of the user's is never renamed, deleted or overwritten before a verified replacement
//! sits complete under a temporary name beside it (`atomic::PartialFile`); the replacement then takes
//! the final name in one rename, the old file kept as `NAME.rejected`. Offline, the directory is
//! left exactly as it was, and the error says which files could not be verified, why, and how
//! to place them by hand; machines without internet access are common (clusters, sandboxes). A
//! directory that cannot be written is [`WorkerError::CacheWrite`] (exit code 4, not a failed
//! download's 5), found before anything is downloaded.

use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use sha2::{Digest, Sha256};

use super::atomic::{rejected_path, replace_keeping_old, PartialFile};
use super::digest::{check_digest, content_digest, hex, judge, LocalFile, Verdict};
use super::locate::DatasetKind;
use crate::WorkerError;

// The standard files are described with their digests (`digest`); they are part of what
// `fetch` offers, and `data` re-exports them from here.
pub use super::digest::{standard_files, verify_file, RemoteFile};

const MNIST_MIRRORS: [&str; 2] = [
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
];

const FASHION_MIRRORS: [&str; 1] = ["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"];

/// How long to wait for a TCP connection: short, so an offline machine fails in seconds.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long one read may stall mid-download before the mirror is given up.
pub const READ_TIMEOUT: Duration = Duration::from_secs(60);

/// Base URLs (ending in `/`) the files of a dataset are fetched from, in order of preference.
pub fn mirrors(kind: DatasetKind) -> &'static [&'static str] {
    match kind {
        DatasetKind::Mnist => &MNIST_MIRRORS,
        DatasetKind::FashionMnist => &FASHION_MIRRORS,
    }
}

/// Instructions, in plain words, for installing a dataset's files by hand into `dest`.
pub fn manual_instructions(kind: DatasetKind, dest: &Path) -> String {
    let files = standard_files(kind);
    let urls = mirrors(kind);
    let mut s = format!(
        "To install {kind} by hand, download these 4 files on a machine with internet access:\n"
    );
    for f in &files {
        s.push_str(&format!("  {}{}  ({} bytes)\n", urls[0], f.name, f.size));
    }
    for alt in &urls[1..] {
        s.push_str(&format!("(the same names are also at {alt})\n"));
    }
    s.push_str(&format!(
        "and copy them, still gzipped and with these names, into the directory\n  {}\n\
         (in place of any file reported above as not the standard one). Then run \
         `eigensweep data fetch {kind}`: it checks each file's SHA-256, or that of its \
         decompressed content, and downloads nothing that is already there and correct. \
         Alternatively, name any directory that holds the four files (plain or .gz) directly \
         as the dataset directory, or set EIGENSWEEP_DATA to choose the cache location.",
        dest.display()
    ));
    s
}

/// Options of the download loop; tests point it at local servers with short timeouts.
struct FetchPlan<'a> {
    dataset: String,
    files: &'a [RemoteFile<'a>],
    mirrors: &'a [&'a str],
    connect_timeout: Duration,
    instructions: String,
}

/// Makes the 4 standard files of `kind` present and verified in `dest`; returns `dest`.
///
/// The caller normally passes [`cached_dataset_dir`](super::locate::cached_dataset_dir).
/// First every file there is judged, reading only ([`judge`]); files verified by their bytes
/// or their decompressed content are kept as they are and not downloaded, so `fetch` doubles
/// as the "verify my hand-placed files" command. Each other file is downloaded to a temporary
/// name (created before connecting, so a read-only directory fails at once with
/// [`WorkerError::CacheWrite`]) and verified; only then does it take the final name, in one
/// rename, the file it replaces kept as `NAME.rejected`. A FashionMNIST file judged
/// well-formed whose decompressed content equals the download's is kept instead, untouched.
/// `progress` receives one line per event (judged, downloading, percentage, verified) and a
/// last line summing up how the files were verified.
///
/// Stops at the first file that no mirror can provide, with [`WorkerError::FetchFailed`]: it
/// lists every file's state (the directory is left as it was) and how to place the files by
/// hand (see [`manual_instructions`]).
pub fn fetch(
    kind: DatasetKind,
    dest: &Path,
    progress: &mut dyn FnMut(&str),
) -> Result<PathBuf, WorkerError> {
    let files = standard_files(kind);
    let plan = FetchPlan {
        dataset: kind.name().to_string(),
        files: &files,
        mirrors: mirrors(kind),
        connect_timeout: CONNECT_TIMEOUT,
        instructions: manual_instructions(kind, dest),
    };
    fetch_plan(&plan, dest, progress)
}

/// One standard file during a fetch: as judged, and what this fetch did to it.
struct Entry<'f> {
    file: &'f RemoteFile<'f>,
    local: LocalFile,
    /// What this fetch did to the file, if anything.
    done: Option<Done>,
}

/// What a fetch did to one file.
enum Done {
    /// Downloaded to the final name, where there was none (or only a file of another name,
    /// moved aside to the given path where that worked).
    Downloaded { aside: Option<PathBuf> },
    /// Downloaded and put in place of the file there, kept at the given path.
    Replaced { aside: PathBuf },
    /// The local file's decompressed content equals the download's: kept untouched.
    SameAsDownload,
}

impl Entry<'_> {
    fn verified(&self) -> bool {
        self.done.is_some() || self.local.verdict.is_verified()
    }

    /// The file's name as it is in the directory (the loader's, which may not be the standard).
    fn shown_name(&self) -> String {
        self.local
            .path
            .as_ref()
            .and_then(|p| p.file_name())
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| self.file.name.to_string())
    }

    /// One line on the file's state, for the summary of a failed fetch.
    fn state(&self) -> String {
        let name = self.shown_name();
        match (&self.done, &self.local.verdict) {
            (Some(Done::Downloaded { aside: None }), _) => {
                format!("{}: downloaded now and verified", self.file.name)
            }
            (Some(Done::Downloaded { aside: Some(aside) }), _) => format!(
                "{}: downloaded now and verified ({name}, not the standard file, moved to {})",
                self.file.name,
                aside.display()
            ),
            (Some(Done::Replaced { aside }), _) => format!(
                "{}: downloaded now and verified (the file there kept as {})",
                self.file.name,
                aside.display()
            ),
            (Some(Done::SameAsDownload), _) => format!(
                "{name}: verified (its decompressed content is that of a download), kept as it is"
            ),
            (None, Verdict::Canonical) => format!("{name}: verified (the published .gz file)"),
            (None, Verdict::SameContent { .. }) => {
                format!("{name}: verified (by the SHA-256 of its decompressed content)")
            }
            (None, Verdict::Missing) => format!("{}: missing", self.file.name),
            (None, Verdict::WellFormed { holds }) => format!(
                "{name}: NOT verified: a well-formed IDX file ({holds}), but not the published \
                 .gz file, and no SHA-256 of the decompressed data is published to compare it \
                 with; left as it is (`run` can read it; a download would confirm it)"
            ),
            (None, Verdict::Bad { why }) => {
                format!("{name}: NOT verified: {why}; left as it is")
            }
        }
    }
}

/// The progress line of a file just judged.
fn judged_line(dataset: &str, entry: &Entry<'_>) -> String {
    let name = entry.shown_name();
    match &entry.local.verdict {
        Verdict::Missing => format!("{dataset}: {name} missing"),
        Verdict::Canonical => format!("{dataset}: {name} present, SHA-256 verified"),
        Verdict::SameContent { gzip: true } => format!(
            "{dataset}: {name} present, verified by the SHA-256 of its decompressed content \
             (its .gz bytes are not the published file's: compressed by another tool)"
        ),
        Verdict::SameContent { gzip: false } => format!(
            "{dataset}: {name} present (not compressed), verified by the SHA-256 of its content"
        ),
        Verdict::WellFormed { holds } => format!(
            "{dataset}: {name} present, not verified: a well-formed IDX file ({holds}), but \
             not the published .gz file, and no SHA-256 of the decompressed {dataset} data is \
             published; downloading the standard file to compare"
        ),
        Verdict::Bad { why } => format!(
            "{dataset}: {name} present but not the standard file: {why}; it stays as it is \
             unless a verified replacement is downloaded"
        ),
    }
}

/// The last progress line of a successful fetch: how each file was verified.
fn summary_line(dataset: &str, dest: &Path, entries: &[Entry<'_>]) -> String {
    let count = |f: fn(&Entry<'_>) -> bool| entries.iter().filter(|e| f(e)).count();
    let parts = [
        (
            count(|e| e.done.is_none() && e.local.verdict == Verdict::Canonical),
            "by their published .gz SHA-256",
        ),
        (
            count(|e| e.done.is_none() && matches!(e.local.verdict, Verdict::SameContent { .. })),
            "by the SHA-256 of their decompressed content",
        ),
        (
            count(|e| matches!(e.done, Some(Done::SameAsDownload))),
            "by comparing their decompressed content with a download, kept as they were",
        ),
        (
            count(|e| {
                matches!(
                    e.done,
                    Some(Done::Downloaded { .. } | Done::Replaced { .. })
                )
            }),
            "downloaded now",
        ),
    ];
    let said: Vec<String> = parts
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, how)| format!("{n} {how}"))
        .collect();
    let nothing_done = entries.iter().all(|e| e.done.is_none());
    format!(
        "{dataset}: all {} files in {} verified: {}{}",
        entries.len(),
        dest.display(),
        said.join(", "),
        if nothing_done {
            "; nothing downloaded, nothing changed"
        } else {
            ""
        }
    )
}

/// Where a failed fetch left the directory: every file's state and what was changed.
fn files_state(plan: &FetchPlan<'_>, dest: &Path, entries: &[Entry<'_>]) -> String {
    let mut s = format!("The {} files in {}:\n", plan.dataset, dest.display());
    for e in entries {
        s.push_str(&format!("  {}\n", e.state()));
    }
    let changed = entries.iter().any(|e| {
        matches!(
            e.done,
            Some(Done::Downloaded { .. } | Done::Replaced { .. })
        )
    });
    s.push_str(if changed {
        "Apart from the files downloaded now, nothing in the directory was changed."
    } else {
        "Nothing in the directory was changed."
    });
    if entries.iter().any(|e| !e.verified()) {
        s.push_str(&format!(
            "\nTo verify the files marked NOT verified or missing, run `eigensweep data fetch \
             {}` again where {} can be reached (verified files are not downloaded again), or \
             place the standard files there by hand.",
            plan.dataset,
            plan.mirrors.first().copied().unwrap_or("a mirror")
        ));
    }
    s
}

/// A write into the directory failed: [`WorkerError::CacheWrite`], saying what is left to do.
fn cache_write(dest: &Path, error: WorkerError, entries: &[Entry<'_>]) -> WorkerError {
    let WorkerError::DataIo {
        action,
        path,
        source,
    } = error
    else {
        return error;
    };
    let downloaded: Vec<&str> = entries
        .iter()
        .filter(|e| {
            matches!(
                e.done,
                Some(Done::Downloaded { .. } | Done::Replaced { .. })
            )
        })
        .map(|e| e.file.name)
        .collect();
    let pending: Vec<&str> = entries
        .iter()
        .filter(|e| !e.verified())
        .map(|e| e.file.name)
        .collect();
    let mut state = if downloaded.is_empty() {
        "Nothing in the directory was changed".to_string()
    } else {
        format!(
            "Apart from {}, downloaded and verified, nothing in the directory was changed",
            downloaded.join(", ")
        )
    };
    if !pending.is_empty() {
        state.push_str(&format!(
            "; still to download and verify: {}",
            pending.join(", ")
        ));
    }
    state.push('.');
    WorkerError::CacheWrite {
        dir: dest.to_path_buf(),
        action,
        path,
        source,
        state,
    }
}

fn fetch_plan(
    plan: &FetchPlan<'_>,
    dest: &Path,
    progress: &mut dyn FnMut(&str),
) -> Result<PathBuf, WorkerError> {
    let mut entries: Vec<Entry<'_>> = plan
        .files
        .iter()
        .map(|file| Entry {
            file,
            local: judge(dest, file),
            done: None,
        })
        .collect();
    for e in &entries {
        progress(&judged_line(&plan.dataset, e));
    }
    if entries.iter().any(|e| !e.verified()) {
        fs::create_dir_all(dest).map_err(|e| {
            cache_write(
                dest,
                WorkerError::data_io("creating directory", dest, e),
                &entries,
            )
        })?;
        let agent = ureq::AgentBuilder::new()
            .timeout_connect(plan.connect_timeout)
            .timeout_read(READ_TIMEOUT)
            .try_proxy_from_env(true)
            .user_agent(concat!("eigensweep/", env!("CARGO_PKG_VERSION")))
            .build();
        for i in 0..entries.len() {
            if entries[i].verified() {
                continue;
            }
            let done = download_and_install(plan, dest, &agent, &entries[i], progress).map_err(
                |failure| match failure {
                    Failure::Cache(e) => cache_write(dest, e, &entries),
                    Failure::Mirrors(attempts) => WorkerError::FetchFailed {
                        dataset: plan.dataset.clone(),
                        file: entries[i].file.name.to_string(),
                        dir: dest.to_path_buf(),
                        attempts: attempts.into(),
                        help: format!(
                            "{}\n\n{}",
                            files_state(plan, dest, &entries),
                            plan.instructions
                        )
                        .into(),
                    },
                },
            )?;
            entries[i].done = Some(done);
        }
    }
    progress(&summary_line(&plan.dataset, dest, &entries));
    Ok(dest.to_path_buf())
}

/// Why a file could not be made verified.
enum Failure {
    /// No mirror gave the standard file: one line per URL tried.
    Mirrors(String),
    /// The directory could not be written (a [`WorkerError::DataIo`]).
    Cache(WorkerError),
}

/// Downloads `entry`'s file to a temporary name beside its final one, then puts it in place
/// (or, for a well-formed file of the same decompressed content, keeps the local file).
fn download_and_install(
    plan: &FetchPlan<'_>,
    dest: &Path,
    agent: &ureq::Agent,
    entry: &Entry<'_>,
    progress: &mut dyn FnMut(&str),
) -> Result<Done, Failure> {
    let file = entry.file;
    let final_path = dest.join(file.name);
    // Before connecting: a directory that cannot be written fails here, having changed nothing.
    let mut tmp = PartialFile::create(&final_path).map_err(Failure::Cache)?;
    let mut attempts = String::new();
    let mut downloaded = false;
    for base in plan.mirrors {
        let url = format!("{base}{}", file.name);
        progress(&format!(
            "{}: downloading {url} ({} bytes)",
            plan.dataset, file.size
        ));
        match download(agent, &url, &mut tmp, &final_path, file, progress) {
            Ok(()) => {
                progress(&format!(
                    "{}: {} downloaded, SHA-256 verified",
                    plan.dataset, file.name
                ));
                downloaded = true;
                break;
            }
            Err(DownloadError::Write(e)) => return Err(Failure::Cache(e)),
            Err(DownloadError::Mirror(e)) => {
                progress(&format!("{}: {url} failed: {e}", plan.dataset));
                attempts.push_str(&format!("  {url}: {e}\n"));
            }
        }
    }
    if !downloaded {
        // `tmp` is removed as it is dropped: the directory is as it was.
        return Err(Failure::Mirrors(attempts.trim_end().to_string()));
    }
    let Some(local) = &entry.local.path else {
        tmp.rename_to(&final_path).map_err(|e| {
            Failure::Cache(WorkerError::data_io(
                "renaming a temporary file to",
                &final_path,
                e,
            ))
        })?;
        return Ok(Done::Downloaded { aside: None });
    };
    if let Verdict::WellFormed { .. } = entry.local.verdict {
        let theirs = content_digest(tmp.path()).map_err(Failure::Cache)?;
        if content_digest(local).is_ok_and(|ours| ours.sha256 == theirs.sha256) {
            progress(&format!(
                "{}: {} has the decompressed content of the download: verified, kept as it is",
                plan.dataset,
                local.display()
            ));
            return Ok(Done::SameAsDownload);
        }
    }
    if *local == final_path {
        let aside = replace_keeping_old(tmp, &final_path).map_err(Failure::Cache)?;
        progress(&format!(
            "{}: {} replaced by the download; the file that was there is kept as {}",
            plan.dataset,
            final_path.display(),
            aside.display()
        ));
        return Ok(Done::Replaced { aside });
    }
    // The loader read another name (a plain or dotted file): the standard name, now taken by
    // the verified download, comes first, and the old file is moved out of the loader's way.
    tmp.rename_to(&final_path).map_err(|e| {
        Failure::Cache(WorkerError::data_io(
            "renaming a temporary file to",
            &final_path,
            e,
        ))
    })?;
    let aside = rejected_path(local);
    match fs::rename(local, &aside) {
        Ok(()) => {
            progress(&format!(
                "{}: {} downloaded; {} (not the standard file) moved to {}",
                plan.dataset,
                final_path.display(),
                local.display(),
                aside.display()
            ));
            Ok(Done::Downloaded { aside: Some(aside) })
        }
        Err(e) => {
            // Harmless: the loader reads the verified file first.
            progress(&format!(
                "{}: {} downloaded; {} (not the standard file) could not be moved aside ({e}), \
                 but the verified file is read first",
                plan.dataset,
                final_path.display(),
                local.display()
            ));
            Ok(Done::Downloaded { aside: None })
        }
    }
}

/// Why one download attempt failed.
enum DownloadError {
    /// The mirror (connection, status, content): try the next one.
    Mirror(String),
    /// The temporary file could not be written: no mirror will help.
    Write(WorkerError),
}

/// Downloads one URL into `tmp`, verifying size and SHA-256 against `file`.
fn download(
    agent: &ureq::Agent,
    url: &str,
    tmp: &mut PartialFile,
    final_path: &Path,
    file: &RemoteFile<'_>,
    progress: &mut dyn FnMut(&str),
) -> Result<(), DownloadError> {
    let response = agent
        .get(url)
        .call()
        .map_err(|e| DownloadError::Mirror(describe_ureq_error(&e)))?;
    let mut reader = response.into_reader();
    let tmp_path = tmp.path().to_path_buf();
    let write_error = |e| DownloadError::Write(WorkerError::data_io("writing", &tmp_path, e));
    let out = tmp.restart().map_err(write_error)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut size = 0u64;
    let mut next_report = 1u64;
    loop {
        let n = reader
            .read(&mut buf)
            .map_err(|e| DownloadError::Mirror(format!("reading the response: {e}")))?;
        if n == 0 {
            break;
        }
        size += n as u64;
        if size > file.size {
            // Stop early: the file is not the standard one, and a wrong server must not be
            // able to fill the disk.
            return Err(DownloadError::Mirror(format!(
                "server sent more than the expected {} bytes",
                file.size
            )));
        }
        hasher.update(&buf[..n]);
        out.write_all(&buf[..n]).map_err(write_error)?;
        if file.size >= 1 << 20 && size * 10 >= next_report * file.size && next_report < 10 {
            progress(&format!("  {}: {}%", file.name, next_report * 10));
            next_report += 1;
        }
    }
    tmp.finish().map_err(write_error)?;
    check_digest(final_path, &hex(&hasher.finalize()), size, file).map_err(|e| {
        DownloadError::Mirror(format!(
            "rejected the download (not written to its final name): {e}"
        ))
    })
}

fn describe_ureq_error(e: &ureq::Error) -> String {
    match e {
        ureq::Error::Status(code, _) => format!("HTTP status {code}"),
        ureq::Error::Transport(t) => {
            // The transport error's Display repeats the URL; keep the kind and the cause.
            let mut s = t.kind().to_string();
            if let Some(msg) = t.message() {
                s.push_str(&format!(": {msg}"));
            }
            if let Some(src) = std::error::Error::source(t) {
                s.push_str(&format!(": {src}"));
            }
            s
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::atomic::partial_path;
    use crate::data::digest::testing::{gzip, idx_labels, spec, standard_labels, LABELS};
    use std::io::{BufRead, BufReader};
    use std::net::TcpListener;
    use std::time::Instant;

    /// A one-thread HTTP server on localhost that answers `n` GET requests with `body`.
    fn serve(body: Vec<u8>, n: usize) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            for stream in listener.incoming().take(n) {
                let mut stream = stream.unwrap();
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut line = String::new();
                while reader.read_line(&mut line).unwrap() > 2 {
                    line.clear();
                }
                let head = format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                stream.write_all(head.as_bytes()).unwrap();
                stream.write_all(&body).unwrap();
            }
        });
        format!("http://{addr}/")
    }

    /// A URL on which nothing listens: connection refused at once.
    fn dead_url() -> String {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        format!("http://{addr}/")
    }

    fn plan<'a>(files: &'a [RemoteFile<'a>], mirrors: &'a [&'a str]) -> FetchPlan<'a> {
        FetchPlan {
            dataset: "test".into(),
            files,
            mirrors,
            connect_timeout: Duration::from_secs(2),
            instructions: "INSTRUCTIONS".into(),
        }
    }

    /// Every file of `dir` with its bytes, sorted by name: to prove nothing changed.
    fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
        let mut v: Vec<(String, Vec<u8>)> = fs::read_dir(dir)
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                (
                    e.file_name().to_string_lossy().into_owned(),
                    fs::read(e.path()).unwrap(),
                )
            })
            .collect();
        v.sort();
        v
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn present_and_verified_files_are_not_downloaded() {
        let dir = tempfile::tempdir().unwrap();
        let files = [spec("a.gz", b"first"), spec("b.gz", b"second")];
        fs::write(dir.path().join("a.gz"), b"first").unwrap();
        fs::write(dir.path().join("b.gz"), b"second").unwrap();
        let dead = dead_url();
        let mut log = Vec::new();
        let out = fetch_plan(&plan(&files, &[dead.as_str()]), dir.path(), &mut |m| {
            log.push(m.to_string())
        })
        .unwrap();
        assert_eq!(out, dir.path());
        assert_eq!(log.len(), 3, "{log:?}");
        assert!(log.iter().all(|l| l.contains("verified")), "{log:?}");
        assert!(log[2].contains("nothing downloaded"), "{log:?}");
    }

    /// Issue 27: the standard data compressed by another tool, offline: verified by content,
    /// nothing downloaded, nothing touched.
    #[test]
    fn recompressed_files_are_verified_offline_and_left_as_they_are() {
        let dir = tempfile::tempdir().unwrap();
        let (_, file) = standard_labels("l-labels-idx1-ubyte.gz", true);
        let (_, other) = standard_labels("m-labels-idx1-ubyte.gz", true);
        let files = [file, other];
        fs::write(dir.path().join(file.name), gzip(&idx_labels(&LABELS), 1)).unwrap();
        // Unpacked, under the name the loader reads after the .gz one.
        fs::write(dir.path().join("m-labels-idx1-ubyte"), idx_labels(&LABELS)).unwrap();
        let before = snapshot(dir.path());
        let dead = dead_url();
        let mut log = Vec::new();
        fetch_plan(&plan(&files, &[dead.as_str()]), dir.path(), &mut |m| {
            log.push(m.to_string())
        })
        .unwrap();
        assert_eq!(snapshot(dir.path()), before, "nothing may change");
        let last = log.last().unwrap();
        assert!(
            last.contains("all 2 files")
                && last.contains("2 by the SHA-256 of their decompressed content")
                && last.contains("nothing downloaded"),
            "{log:?}"
        );
        assert!(
            log[1].contains("m-labels-idx1-ubyte present (not compressed)"),
            "{log:?}"
        );
    }

    /// A file that is not the standard data stays where it is, byte for byte, when no verified
    /// replacement can be downloaded; the error says what could not be verified.
    #[test]
    fn a_bad_file_stays_in_place_when_the_download_fails() {
        let dir = tempfile::tempdir().unwrap();
        let (published, file) = standard_labels("l-labels-idx1-ubyte.gz", true);
        let (_, missing) = standard_labels("m-labels-idx1-ubyte.gz", true);
        let files = [file, missing];
        let mut bad = published.clone();
        let at = bad.len() / 2;
        bad[at] ^= 0xff;
        fs::write(dir.path().join(file.name), &bad).unwrap();
        let before = snapshot(dir.path());
        let dead = dead_url();
        let err = fetch_plan(&plan(&files, &[dead.as_str()]), dir.path(), &mut |_| {}).unwrap_err();
        assert!(matches!(err, WorkerError::FetchFailed { .. }), "{err}");
        assert_eq!(snapshot(dir.path()), before, "nothing may change");
        let msg = err.to_string();
        for says in [
            "l-labels-idx1-ubyte.gz: NOT verified:",
            "left as it is",
            "m-labels-idx1-ubyte.gz: missing",
            "Nothing in the directory was changed.",
            "run `eigensweep data fetch test` again",
            "INSTRUCTIONS",
        ] {
            assert!(msg.contains(says), "{says}: {msg}");
        }
    }

    #[test]
    fn downloads_verify_and_rename() {
        let dir = tempfile::tempdir().unwrap();
        let body = b"the bytes of the file".to_vec();
        let files = [spec("a.gz", &body)];
        let base = serve(body.clone(), 1);
        let dead = dead_url();
        // The first mirror is dead: the second one must be used.
        let mirrors = [dead.as_str(), base.as_str()];
        fetch_plan(&plan(&files, &mirrors), dir.path(), &mut |_| {}).unwrap();
        assert_eq!(fs::read(dir.path().join("a.gz")).unwrap(), body);
        assert_eq!(names(dir.path()), ["a.gz"], "no temporary file may remain");
    }

    #[test]
    fn a_bad_file_is_replaced_by_a_verified_download_and_kept_aside() {
        let dir = tempfile::tempdir().unwrap();
        let (published, file) = standard_labels("l-labels-idx1-ubyte.gz", true);
        let bad = gzip(&idx_labels(&[0; 8]), 9);
        fs::write(dir.path().join(file.name), &bad).unwrap();
        let base = serve(published.clone(), 1);
        let mut log = Vec::new();
        fetch_plan(&plan(&[file], &[base.as_str()]), dir.path(), &mut |m| {
            log.push(m.to_string())
        })
        .unwrap();
        assert_eq!(
            snapshot(dir.path()),
            [
                (file.name.to_string(), published),
                (format!("{}.rejected", file.name), bad)
            ]
        );
        assert!(log.last().unwrap().contains("1 downloaded now"), "{log:?}");
    }

    /// The loader read a plain file of other content: the verified download takes the
    /// standard name, which the loader reads first, and the old file is moved out of its way.
    #[test]
    fn a_bad_unpacked_file_gives_way_to_the_verified_download() {
        let dir = tempfile::tempdir().unwrap();
        let (published, file) = standard_labels("l-labels-idx1-ubyte.gz", true);
        let bad = idx_labels(&[0; 8]);
        fs::write(dir.path().join("l-labels-idx1-ubyte"), &bad).unwrap();
        let base = serve(published.clone(), 1);
        fetch_plan(&plan(&[file], &[base.as_str()]), dir.path(), &mut |_| {}).unwrap();
        assert_eq!(
            snapshot(dir.path()),
            [
                ("l-labels-idx1-ubyte.gz".to_string(), published),
                ("l-labels-idx1-ubyte.rejected".to_string(), bad)
            ]
        );
    }

    /// FashionMNIST: a well-formed file whose content the download confirms is kept, untouched.
    #[test]
    fn a_well_formed_file_of_the_downloaded_content_is_kept_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let (published, file) = standard_labels("l-labels-idx1-ubyte.gz", false);
        fs::write(dir.path().join(file.name), gzip(&idx_labels(&LABELS), 1)).unwrap();
        let before = snapshot(dir.path());
        let dead = dead_url();
        // Offline it is not verified: exit code 5's error, nothing changed.
        let err =
            fetch_plan(&plan(&[file], &[dead.as_str()]), dir.path(), &mut |_| {}).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("NOT verified: a well-formed IDX file (8 labels, all below 10)"),
            "{msg}"
        );
        assert_eq!(snapshot(dir.path()), before);
        let base = serve(published, 1);
        let mut log = Vec::new();
        fetch_plan(&plan(&[file], &[base.as_str()]), dir.path(), &mut |m| {
            log.push(m.to_string())
        })
        .unwrap();
        assert_eq!(snapshot(dir.path()), before, "kept as it was");
        assert!(
            log.last()
                .unwrap()
                .contains("1 by comparing their decompressed content with a download"),
            "{log:?}"
        );
    }

    #[test]
    fn a_well_formed_file_of_other_content_is_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let (published, file) = standard_labels("l-labels-idx1-ubyte.gz", false);
        let other = gzip(&idx_labels(&[7; 8]), 1);
        fs::write(dir.path().join(file.name), &other).unwrap();
        let base = serve(published.clone(), 1);
        fetch_plan(&plan(&[file], &[base.as_str()]), dir.path(), &mut |_| {}).unwrap();
        assert_eq!(
            snapshot(dir.path()),
            [
                (file.name.to_string(), published),
                (format!("{}.rejected", file.name), other)
            ]
        );
    }

    /// A directory where the temporary file cannot be written fails before any connection,
    /// as a write error (exit code 4), having changed nothing.
    #[test]
    fn an_unwritable_directory_is_a_write_error_before_any_download() {
        let dir = tempfile::tempdir().unwrap();
        let (published, file) = standard_labels("l-labels-idx1-ubyte.gz", true);
        let bad = gzip(&idx_labels(&[0; 8]), 9);
        fs::write(dir.path().join(file.name), &bad).unwrap();
        // A directory where the temporary file would go: creating it fails, even for root.
        fs::create_dir(partial_path(&dir.path().join(file.name))).unwrap();
        let before = names(dir.path());
        // A mirror that would serve the right file, if it were asked.
        let base = serve(published, 1);
        let err =
            fetch_plan(&plan(&[file], &[base.as_str()]), dir.path(), &mut |_| {}).unwrap_err();
        assert!(matches!(err, WorkerError::CacheWrite { .. }), "{err}");
        let msg = err.to_string();
        for says in [
            "cannot write into the data directory",
            "Nothing in the directory was changed; still to download and verify: \
             l-labels-idx1-ubyte.gz",
            "EIGENSWEEP_DATA",
        ] {
            assert!(msg.contains(says), "{says}: {msg}");
        }
        assert_eq!(names(dir.path()), before);
        assert_eq!(fs::read(dir.path().join(file.name)).unwrap(), bad);
    }

    #[test]
    fn wrong_download_is_rejected_and_not_left_under_the_final_name() {
        let dir = tempfile::tempdir().unwrap();
        let files = [spec("a.gz", b"the right content")];
        let base = serve(b"the WRONG content".to_vec(), 1);
        let err = fetch_plan(&plan(&files, &[base.as_str()]), dir.path(), &mut |_| {}).unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, WorkerError::FetchFailed { .. }));
        assert!(
            msg.contains("rejected the download") && msg.contains("SHA-256"),
            "{msg}"
        );
        assert!(names(dir.path()).is_empty(), "nothing may remain");
    }

    #[test]
    fn offline_error_fails_fast_and_explains_the_manual_route() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("cache").join("mnist");
        let files = standard_files(DatasetKind::Mnist);
        let dead = dead_url();
        let p = FetchPlan {
            dataset: "mnist".into(),
            files: &files,
            mirrors: &[dead.as_str(), dead.as_str()],
            connect_timeout: CONNECT_TIMEOUT,
            instructions: manual_instructions(DatasetKind::Mnist, &dest),
        };
        let t0 = Instant::now();
        let err = fetch_plan(&p, &dest, &mut |_| {}).unwrap_err();
        assert!(
            t0.elapsed() < Duration::from_secs(30),
            "took {:?}",
            t0.elapsed()
        );
        let msg = err.to_string();
        for f in &files {
            assert!(msg.contains(f.name), "{msg}");
            assert!(
                msg.contains(&format!("{}{}", MNIST_MIRRORS[0], f.name)),
                "{msg}"
            );
        }
        assert!(msg.contains(MNIST_MIRRORS[1]), "{msg}");
        assert!(msg.contains(&dest.display().to_string()), "{msg}");
        assert!(msg.contains("eigensweep data fetch mnist"), "{msg}");
        assert!(msg.contains("directory"), "{msg}");
        assert!(msg.contains(&dead), "the failed URL is listed: {msg}");
        // Nothing half-downloaded is left behind.
        assert_eq!(fs::read_dir(&dest).unwrap().count(), 0);
    }

    /// The real entry point against the real mirrors: on a machine without internet it
    /// must fail within the connect timeouts with the manual instructions; with internet it
    /// downloads (so it is ignored by default: it costs 11 MB).
    #[test]
    #[ignore = "uses the network; run explicitly"]
    fn real_fetch_mnist() {
        let dir = tempfile::tempdir().unwrap();
        let t0 = Instant::now();
        match fetch(DatasetKind::Mnist, dir.path(), &mut |m| eprintln!("{m}")) {
            Ok(p) => {
                let tt = crate::data::load_dir(&p).unwrap();
                assert_eq!((tt.train.len, tt.test.len), (60000, 10000));
            }
            Err(e) => {
                eprintln!("{e}");
                assert!(matches!(e, WorkerError::FetchFailed { .. }));
                assert!(
                    t0.elapsed() < Duration::from_secs(60),
                    "took {:?}",
                    t0.elapsed()
                );
            }
        }
    }

    #[test]
    fn mirrors_are_urls_of_folders() {
        for kind in DatasetKind::ALL {
            assert!(mirrors(kind).iter().all(|m| m.ends_with('/')));
        }
    }
}
