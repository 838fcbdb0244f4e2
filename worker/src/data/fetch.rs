//! Downloading the standard MNIST / FashionMNIST files, verified by SHA-256.
//!
//! The study's numbers are only comparable if everyone trains on the same bytes, so each
//! file is checked against the SHA-256 digest and size of the canonical distribution before
//! it may carry its final name. A download is written under a temporary name and renamed
//! only after it verifies; a file already present with the right digest is not downloaded
//! again, so `fetch` doubles as the "verify my hand-placed files" command.
//!
//! Machines without internet access are common (clusters, sandboxes): there the error says,
//! in plain words, which four files to fetch from where and where to put them.

use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use sha2::{Digest, Sha256};

use super::atomic::{partial_path, rename_into_place};
use super::locate::DatasetKind;
use super::DataError;

/// One file of a standard dataset: its name, size in bytes and SHA-256 (lowercase hex).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RemoteFile<'a> {
    /// File name, identical on every mirror and in the dataset directory.
    pub name: &'a str,
    /// Size in bytes of the (gzip) file.
    pub size: u64,
    /// SHA-256 of the file, lowercase hex.
    pub sha256: &'a str,
}

// Digests and sizes of the canonical gzip files. Sources, cross-checked:
// - MNIST: tensorflow/datasets `tensorflow_datasets/url_checksums/mnist.txt` (size and SHA-256
//   of each file at storage.googleapis.com/cvdf-datasets/mnist/); the same SHA-256 values are
//   used by torchvision-derived loaders for ossci-datasets.s3.amazonaws.com/mnist/ (torch.rb
//   `resources`, guild.ai's mnist package), and the files have torchvision's MD5s
//   f68b3c2d…, d53e105e…, 9fb629c4…, ec29112d…  (train-images, train-labels, t10k-images,
//   t10k-labels).
// - FashionMNIST: tensorflow/datasets `tensorflow_datasets/url_checksums/fashion_mnist.txt`
//   (files at fashion-mnist.s3-website.eu-central-1.amazonaws.com); the same digests are
//   in tensorflow/datasets' legacy `_CHECKSUMS` table for fashion_mnist and other loaders; MD5s
//   (torchvision) 8d4fb7e6…, 25c81989…, bef4ecab…, bb300cfd….

const MNIST_FILES: [RemoteFile<'static>; 4] = [
    RemoteFile {
        name: "train-images-idx3-ubyte.gz",
        size: 9_912_422,
        sha256: "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
    },
    RemoteFile {
        name: "train-labels-idx1-ubyte.gz",
        size: 28_881,
        sha256: "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
    },
    RemoteFile {
        name: "t10k-images-idx3-ubyte.gz",
        size: 1_648_877,
        sha256: "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
    },
    RemoteFile {
        name: "t10k-labels-idx1-ubyte.gz",
        size: 4_542,
        sha256: "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
    },
];

const FASHION_FILES: [RemoteFile<'static>; 4] = [
    RemoteFile {
        name: "train-images-idx3-ubyte.gz",
        size: 26_421_880,
        sha256: "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
    },
    RemoteFile {
        name: "train-labels-idx1-ubyte.gz",
        size: 29_515,
        sha256: "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
    },
    RemoteFile {
        name: "t10k-images-idx3-ubyte.gz",
        size: 4_422_102,
        sha256: "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
    },
    RemoteFile {
        name: "t10k-labels-idx1-ubyte.gz",
        size: 5_148,
        sha256: "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
    },
];

const MNIST_MIRRORS: [&str; 2] = [
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
];

const FASHION_MIRRORS: [&str; 1] = ["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"];

/// How long to wait for a TCP connection: short, so an offline machine fails in seconds.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long one read may stall mid-download before the mirror is given up.
pub const READ_TIMEOUT: Duration = Duration::from_secs(60);

/// The four standard files of a dataset, with sizes and SHA-256 digests.
pub fn standard_files(kind: DatasetKind) -> [RemoteFile<'static>; 4] {
    match kind {
        DatasetKind::Mnist => MNIST_FILES,
        DatasetKind::FashionMnist => FASHION_FILES,
    }
}

/// Base URLs (ending in `/`) the files of a dataset are fetched from, in order of preference.
pub fn mirrors(kind: DatasetKind) -> &'static [&'static str] {
    match kind {
        DatasetKind::Mnist => &MNIST_MIRRORS,
        DatasetKind::FashionMnist => &FASHION_MIRRORS,
    }
}

/// SHA-256 (lowercase hex) and size of a file, read in chunks so memory stays small.
pub fn sha256_file(path: &Path) -> Result<(String, u64), DataError> {
    let mut f = fs::File::open(path).map_err(|e| DataError::io("opening", path, e))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut size = 0u64;
    loop {
        let n = f
            .read(&mut buf)
            .map_err(|e| DataError::io("reading", path, e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        size += n as u64;
    }
    Ok((hex(&hasher.finalize()), size))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Checks that the file at `path` is exactly `expected` (size and SHA-256).
///
/// The error carries both digests and sizes so a user can tell a truncated download (smaller)
/// from a different release of the file (same size, other digest).
pub fn verify_file(path: &Path, expected: &RemoteFile<'_>) -> Result<(), DataError> {
    let (actual, size) = sha256_file(path)?;
    check_digest(path, &actual, size, expected)
}

fn check_digest(
    path: &Path,
    actual: &str,
    size: u64,
    expected: &RemoteFile<'_>,
) -> Result<(), DataError> {
    if size == expected.size && actual.eq_ignore_ascii_case(expected.sha256) {
        return Ok(());
    }
    Err(DataError::ChecksumMismatch {
        path: path.to_path_buf(),
        size,
        actual: actual.to_string(),
        expected_size: expected.size,
        expected: expected.sha256.to_string(),
    })
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
         Then run `eigensweep data fetch {kind}`: it checks each file's SHA-256 and downloads \
         nothing that is already there and correct. Alternatively, name any directory that \
         holds the four files (plain or .gz) directly as the dataset directory, or set \
         EIGENSWEEP_DATA to choose the cache location.",
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

/// Downloads the 4 standard `.gz` files of `kind` into `dest` and verifies their SHA-256.
///
/// The caller normally passes [`cached_dataset_dir`](super::locate::cached_dataset_dir).
/// Files already in `dest` with the right digest are kept and not downloaded; a file there
/// with a wrong digest is moved aside to `NAME.rejected` (so it can no longer be read as the
/// dataset, yet nothing the user placed is deleted) and downloaded again. Each download goes
/// to a temporary name and is renamed only once its digest matches. `progress` receives one
/// line per event (already verified, downloading, percentage, verified). Returns `dest`.
///
/// Stops at the first file that no mirror can provide, with an error that says how to place
/// the files by hand (see [`manual_instructions`]).
pub fn fetch(
    kind: DatasetKind,
    dest: &Path,
    progress: &mut dyn FnMut(&str),
) -> Result<PathBuf, DataError> {
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

fn fetch_plan(
    plan: &FetchPlan<'_>,
    dest: &Path,
    progress: &mut dyn FnMut(&str),
) -> Result<PathBuf, DataError> {
    fs::create_dir_all(dest).map_err(|e| DataError::io("creating directory", dest, e))?;
    let agent = ureq::AgentBuilder::new()
        .timeout_connect(plan.connect_timeout)
        .timeout_read(READ_TIMEOUT)
        .try_proxy_from_env(true)
        .user_agent(concat!("eigensweep/", env!("CARGO_PKG_VERSION")))
        .build();
    for file in plan.files {
        let path = dest.join(file.name);
        if path.exists() {
            match verify_file(&path, file) {
                Ok(()) => {
                    progress(&format!(
                        "{}: {} present, SHA-256 verified",
                        plan.dataset, file.name
                    ));
                    continue;
                }
                Err(e) => {
                    let aside = path.with_file_name(format!("{}.rejected", file.name));
                    fs::rename(&path, &aside)
                        .map_err(|e| DataError::io("moving aside a bad file", &path, e))?;
                    progress(&format!(
                        "{}: rejected {e}; moved to {}",
                        plan.dataset,
                        aside.display()
                    ));
                }
            }
        }
        let mut attempts = String::new();
        let mut done = false;
        for base in plan.mirrors {
            let url = format!("{base}{}", file.name);
            progress(&format!(
                "{}: downloading {url} ({} bytes)",
                plan.dataset, file.size
            ));
            match download(&agent, &url, &path, file, progress) {
                Ok(()) => {
                    progress(&format!(
                        "{}: {} downloaded, SHA-256 verified",
                        plan.dataset, file.name
                    ));
                    done = true;
                    break;
                }
                Err(e) => {
                    progress(&format!("{}: {url} failed: {e}", plan.dataset));
                    attempts.push_str(&format!("  {url}: {e}\n"));
                }
            }
        }
        if !done {
            return Err(DataError::FetchFailed {
                dataset: plan.dataset.clone(),
                file: file.name.to_string(),
                dir: dest.to_path_buf(),
                attempts: attempts.trim_end().to_string(),
                instructions: plan.instructions.clone(),
            });
        }
    }
    Ok(dest.to_path_buf())
}

/// Downloads one URL to `final_path` via a temporary file, verifying size and SHA-256.
///
/// Errors are returned as text for the per-mirror attempt list; the temporary file is always
/// removed on failure so nothing unverified remains.
fn download(
    agent: &ureq::Agent,
    url: &str,
    final_path: &Path,
    file: &RemoteFile<'_>,
    progress: &mut dyn FnMut(&str),
) -> Result<(), String> {
    let tmp = partial_path(final_path);
    let result = download_to(agent, url, &tmp, final_path, file, progress);
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

fn download_to(
    agent: &ureq::Agent,
    url: &str,
    tmp: &Path,
    final_path: &Path,
    file: &RemoteFile<'_>,
    progress: &mut dyn FnMut(&str),
) -> Result<(), String> {
    let response = agent.get(url).call().map_err(|e| describe_ureq_error(&e))?;
    let mut reader = response.into_reader();
    let mut out = fs::File::create(tmp).map_err(|e| format!("creating {}: {e}", tmp.display()))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut size = 0u64;
    let mut next_report = 1u64;
    loop {
        let n = reader
            .read(&mut buf)
            .map_err(|e| format!("reading the response: {e}"))?;
        if n == 0 {
            break;
        }
        size += n as u64;
        if size > file.size {
            // Stop early: the file is not the standard one, and a wrong server must not be
            // able to fill the disk.
            return Err(format!(
                "server sent more than the expected {} bytes",
                file.size
            ));
        }
        hasher.update(&buf[..n]);
        out.write_all(&buf[..n])
            .map_err(|e| format!("writing {}: {e}", tmp.display()))?;
        if file.size >= 1 << 20 && size * 10 >= next_report * file.size && next_report < 10 {
            progress(&format!("  {}: {}%", file.name, next_report * 10));
            next_report += 1;
        }
    }
    out.sync_all()
        .map_err(|e| format!("writing {}: {e}", tmp.display()))?;
    drop(out);
    check_digest(final_path, &hex(&hasher.finalize()), size, file)
        .map_err(|e| format!("rejected the download (not written to its final name): {e}"))?;
    rename_into_place(tmp, final_path).map_err(|e| e.to_string())
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
    use std::io::{BufRead, BufReader};
    use std::net::TcpListener;
    use std::time::Instant;

    /// The digest of the bytes `data`, as a `RemoteFile` called `name`.
    fn spec(name: &'static str, data: &[u8]) -> RemoteFile<'static> {
        let digest: &'static str = Box::leak(hex(&Sha256::digest(data)).into_boxed_str());
        RemoteFile {
            name,
            size: data.len() as u64,
            sha256: digest,
        }
    }

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

    #[test]
    fn constants_are_well_formed() {
        for kind in DatasetKind::ALL {
            let files = standard_files(kind);
            for f in &files {
                assert_eq!(f.sha256.len(), 64);
                assert!(f
                    .sha256
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
                assert!(f.name.ends_with("-ubyte.gz"));
            }
            assert!(mirrors(kind).iter().all(|m| m.ends_with('/')));
        }
    }

    #[test]
    fn verify_accepts_right_and_rejects_wrong_files() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        fs::write(&p, b"abc").unwrap();
        // Known vector: SHA-256("abc").
        let good = RemoteFile {
            name: "f",
            size: 3,
            sha256: "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
        };
        verify_file(&p, &good).unwrap();
        let wrong_size = RemoteFile { size: 4, ..good };
        let err = verify_file(&p, &wrong_size).unwrap_err();
        assert!(matches!(
            err,
            DataError::ChecksumMismatch {
                size: 3,
                expected_size: 4,
                ..
            }
        ));
        let wrong_hash = RemoteFile {
            sha256: MNIST_FILES[0].sha256,
            ..good
        };
        let msg = verify_file(&p, &wrong_hash).unwrap_err().to_string();
        assert!(
            msg.contains(&p.display().to_string()) && msg.contains("ba7816bf"),
            "{msg}"
        );
        assert!(verify_file(&dir.path().join("missing"), &good).is_err());
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
        assert_eq!(log.len(), 2, "{log:?}");
        assert!(log.iter().all(|l| l.contains("verified")), "{log:?}");
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
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 1, "no temporary file may remain: {names:?}");
    }

    #[test]
    fn wrong_download_is_rejected_and_not_left_under_the_final_name() {
        let dir = tempfile::tempdir().unwrap();
        let files = [spec("a.gz", b"the right content")];
        let base = serve(b"the WRONG content".to_vec(), 1);
        let err = fetch_plan(&plan(&files, &[base.as_str()]), dir.path(), &mut |_| {}).unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, DataError::FetchFailed { .. }));
        assert!(
            msg.contains("rejected the download") && msg.contains("SHA-256"),
            "{msg}"
        );
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert!(names.is_empty(), "nothing may remain: {names:?}");
    }

    #[test]
    fn present_file_with_wrong_hash_is_moved_aside() {
        let dir = tempfile::tempdir().unwrap();
        let files = [spec("a.gz", b"right")];
        fs::write(dir.path().join("a.gz"), b"wrong").unwrap();
        let dead = dead_url();
        let mut log = Vec::new();
        let err = fetch_plan(&plan(&files, &[dead.as_str()]), dir.path(), &mut |m| {
            log.push(m.to_string())
        })
        .unwrap_err();
        assert!(matches!(err, DataError::FetchFailed { .. }));
        assert!(
            !dir.path().join("a.gz").exists(),
            "bad file must leave its final name"
        );
        assert_eq!(
            fs::read(dir.path().join("a.gz.rejected")).unwrap(),
            b"wrong"
        );
        assert!(log.iter().any(|l| l.contains("rejected")), "{log:?}");
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
                assert!(matches!(e, DataError::FetchFailed { .. }));
                assert!(
                    t0.elapsed() < Duration::from_secs(60),
                    "took {:?}",
                    t0.elapsed()
                );
            }
        }
    }
}
