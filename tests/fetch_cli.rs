//! End-to-end tests of `eigensweep data fetch` on a cache that already holds files (issue 27):
//! the files are judged by their content, a file of the user's is never lost, an offline
//! machine's cache is left exactly as it was, and a read-only cache that needs a write exits
//! with code 4. Every download is made impossible by pointing all proxies at a closed port, so
//! the tests behave the same whether or not this machine is online.
//!
//! The genuine digits are read from `$EIGENSWEEP_TEST_MNIST_FULL_DIR` (the full MNIST; set by
//! `.ci/run`); the tests that need them skip, saying so, where it is not set.

mod support;

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Output;

use eigensweep_common::exit_codes;
use eigensweep_worker::data::{
    read_images, read_labels, standard_files, verify_file, write_idx_images, write_idx_labels,
    DatasetKind,
};
use support::{eigensweep, stderr, Tmpfs};

/// The full MNIST named by `$EIGENSWEEP_TEST_MNIST_FULL_DIR`, or `None` (with a note) where it
/// is not set.
fn mnist_full() -> Option<PathBuf> {
    let Some(dir) = std::env::var_os("EIGENSWEEP_TEST_MNIST_FULL_DIR") else {
        eprintln!(
            "note: EIGENSWEEP_TEST_MNIST_FULL_DIR is not set (the full MNIST, e.g. \
             ../shared/data/mnist); skipping this test"
        );
        return None;
    };
    let dir = PathBuf::from(dir);
    assert!(
        dir.is_dir(),
        "EIGENSWEEP_TEST_MNIST_FULL_DIR={} is not a directory",
        dir.display()
    );
    Some(dir)
}

/// Writes the genuine digits of `genuine` into `dest` as another tool would: decompressed and
/// compressed again (flate2's default level, 6: neither the published files' bytes nor those of
/// `genuine`), under the standard names. Asserts that the bytes do differ from both.
fn recompressed_copy(genuine: &Path, dest: &Path) {
    std::fs::create_dir_all(dest).unwrap();
    for file in &standard_files(DatasetKind::Mnist) {
        let (from, to) = (genuine.join(file.name), dest.join(file.name));
        if file.name.contains("images") {
            let (_, rows, cols, pixels) = read_images(&from).unwrap();
            write_idx_images(&to, rows, cols, &pixels, true).unwrap();
        } else {
            write_idx_labels(&to, &read_labels(&from).unwrap(), true).unwrap();
        }
        assert_ne!(
            std::fs::read(&from).unwrap(),
            std::fs::read(&to).unwrap(),
            "{}: the copy must be other bytes",
            file.name
        );
        assert!(
            verify_file(&to, file).is_err(),
            "{}: the copy must not be the published .gz file",
            file.name
        );
    }
}

/// Every file under `dir` (recursively) with its bytes: to prove that nothing changed.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut files = BTreeMap::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(snapshot(&path));
        } else {
            files.insert(path.clone(), std::fs::read(&path).unwrap());
        }
    }
    files
}

/// `eigensweep data fetch mnist` with `EIGENSWEEP_DATA=cache`, no mirror reachable: every
/// proxy variable ureq reads points at a port on which nothing listens.
fn fetch_offline(cache: &Path) -> Output {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let closed = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let mut cmd = eigensweep(&["data", "fetch", "mnist"]);
    cmd.env("EIGENSWEEP_DATA", cache);
    for var in [
        "ALL_PROXY",
        "all_proxy",
        "HTTPS_PROXY",
        "https_proxy",
        "HTTP_PROXY",
        "http_proxy",
    ] {
        cmd.env(var, &closed);
    }
    cmd.output().expect("running eigensweep")
}

/// Issue 27: the genuine digits, gunzipped and gzipped again by another tool, on a machine
/// without network: verified by their decompressed content, nothing downloaded or touched.
#[test]
fn recompressed_genuine_mnist_is_verified_offline_and_left_untouched() {
    let Some(genuine) = mnist_full() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache");
    recompressed_copy(&genuine, &cache.join("mnist"));
    let before = snapshot(&cache);

    let o = fetch_offline(&cache);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(exit_codes::SUCCESS), "{err}");
    for file in &standard_files(DatasetKind::Mnist) {
        assert!(
            err.contains(&format!(
                "mnist: {} present, verified by the SHA-256 of its decompressed content",
                file.name
            )),
            "{err}"
        );
    }
    assert!(
        err.contains(
            "verified: 4 by the SHA-256 of their decompressed content; nothing downloaded, \
             nothing changed"
        ),
        "{err}"
    );
    assert_eq!(
        String::from_utf8_lossy(&o.stdout).trim(),
        cache.join("mnist").display().to_string()
    );
    assert!(
        snapshot(&cache) == before,
        "the cache must be byte for byte as it was, with no other file: {:?}",
        snapshot(&cache).keys().collect::<Vec<_>>()
    );
}

/// A training label file of other content (one label changed) on a machine without network:
/// exit 5, the file left in place byte for byte, the message naming what could not be
/// verified and why, and what to do.
#[test]
fn a_corrupted_file_is_left_in_place_offline_and_named() {
    let Some(genuine) = mnist_full() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache");
    let dir = cache.join("mnist");
    recompressed_copy(&genuine, &dir);
    let labels_path = dir.join("train-labels-idx1-ubyte.gz");
    let mut labels = read_labels(&labels_path).unwrap();
    labels[0] = (labels[0] + 1) % 10;
    write_idx_labels(&labels_path, &labels, true).unwrap();
    let before = snapshot(&cache);

    let o = fetch_offline(&cache);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(exit_codes::NETWORK), "{err}");
    for says in [
        "could not download train-labels-idx1-ubyte.gz for mnist",
        "train-labels-idx1-ubyte.gz: NOT verified: its decompressed content is 60008 bytes with \
         SHA-256",
        "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
        "train-images-idx3-ubyte.gz: verified (by the SHA-256 of its decompressed content)",
        "t10k-labels-idx1-ubyte.gz: verified",
        "Nothing in the directory was changed.",
        "run `eigensweep data fetch mnist` again where",
        "To install mnist by hand",
    ] {
        assert!(err.contains(says), "{says}:\n{err}");
    }
    assert!(
        snapshot(&cache) == before,
        "the cache must be byte for byte as it was, with no other file: {:?}",
        snapshot(&cache).keys().collect::<Vec<_>>()
    );
}

/// A read-only directory tree: by its permissions where they bind (not root), else a tmpfs
/// remounted read-only (root, as in CI). Writable again, or unmounted, when dropped.
enum ReadOnly {
    Permissions(Vec<PathBuf>),
    /// Unmounted when dropped.
    Mount {
        _tmpfs: Tmpfs,
    },
}

impl ReadOnly {
    /// Fills a directory with `fill` and makes it read-only; returns it, or `None` (with a
    /// note) where this user's permissions do not bind and a tmpfs cannot be mounted, unless
    /// EIGENSWEEP_REQUIRE_MOUNT is set.
    fn make(tmp: &Path, fill: impl Fn(&Path)) -> Option<(PathBuf, ReadOnly)> {
        let root = tmp.join("by-permissions");
        std::fs::create_dir(&root).unwrap();
        let set_mode = |dirs: &[PathBuf], mode| {
            for d in dirs {
                std::fs::set_permissions(d, std::fs::Permissions::from_mode(mode)).unwrap();
            }
        };
        set_mode(std::slice::from_ref(&root), 0o555);
        let binds = std::fs::write(root.join("probe"), b"").is_err();
        set_mode(std::slice::from_ref(&root), 0o755);
        if !binds {
            // Root: permissions do not bind. A read-only file system does.
            let tmpfs = Tmpfs::mount(&tmp.join("by-mount"), "64m")?;
            fill(&tmpfs.dir);
            tmpfs.remount("ro");
            return Some((tmpfs.dir.clone(), ReadOnly::Mount { _tmpfs: tmpfs }));
        }
        fill(&root);
        let mut dirs = vec![root.clone()];
        let mut i = 0;
        while i < dirs.len() {
            for entry in std::fs::read_dir(&dirs[i]).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    dirs.push(path);
                }
            }
            i += 1;
        }
        set_mode(&dirs, 0o555);
        Some((root, ReadOnly::Permissions(dirs)))
    }
}

impl Drop for ReadOnly {
    fn drop(&mut self) {
        if let ReadOnly::Permissions(dirs) = self {
            for d in dirs.iter() {
                let _ = std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o755));
            }
        }
    }
}

/// A read-only cache whose files are all verified needs nothing written: exit 0. One that needs
/// a download exits with code 4 (an output could not be written) before trying any mirror,
/// naming the cause, leaving every file as it was.
#[test]
fn a_read_only_cache_exits_4_when_it_needs_a_write_and_0_when_it_does_not() {
    let tmp = tempfile::tempdir().unwrap();
    let genuine = mnist_full();
    let Some((root, _read_only)) = ReadOnly::make(tmp.path(), |root| {
        // A cache holding a bad training image file and nothing else.
        let bad = root.join("needs-write").join("mnist");
        std::fs::create_dir_all(&bad).unwrap();
        std::fs::write(bad.join("train-images-idx3-ubyte.gz"), b"not the digits").unwrap();
        if let Some(genuine) = &genuine {
            recompressed_copy(genuine, &root.join("verified").join("mnist"));
        }
    }) else {
        return;
    };
    let cache = root.join("needs-write");
    let dir_text = cache.join("mnist").display().to_string();
    let before = snapshot(&cache);
    let o = fetch_offline(&cache);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(exit_codes::OUTPUT), "{err}");
    assert!(
        err.contains("Read-only file system") || err.contains("Permission denied"),
        "{err}"
    );
    for says in [
        "cannot write into the data directory",
        dir_text.as_str(),
        "Nothing in the directory was changed; still to download and verify: \
         train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz, \
         t10k-labels-idx1-ubyte.gz",
        "EIGENSWEEP_DATA",
    ] {
        assert!(err.contains(says), "{says}:\n{err}");
    }
    assert!(
        !err.contains("downloading"),
        "no mirror is tried when nothing can be written: {err}"
    );
    assert!(snapshot(&cache) == before, "the cache must be as it was");

    if genuine.is_none() {
        return;
    }
    let cache = root.join("verified");
    let before = snapshot(&cache);
    let o = fetch_offline(&cache);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(exit_codes::SUCCESS), "{err}");
    assert!(err.contains("nothing downloaded, nothing changed"), "{err}");
    assert!(snapshot(&cache) == before, "the cache must be as it was");
}
