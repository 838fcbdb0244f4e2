//! The identity of data: of a dataset directory, and of each standard file.
//!
//! Run keys depend on the data a run trains on, not on how its directory is spelled
//! (`../shared/data/mnist-10k`, an absolute path, a link): the same files give the same
//! [`data_digest`] wherever they are. Measured on the full MNIST (four `.gz` files, 11 MB): about
//! 80 ms in a debug build (`eigensweep validate` of the 60k sweep: 82 ms against 4 ms for a
//! synthetic one), small beside reading and decoding the data for a run.
//!
//! The standard MNIST / FashionMNIST files ([`standard_files`]) are known by the size and
//! SHA-256 of their published `.gz` bytes and, where published, of their decompressed IDX
//! data. A file already in a dataset directory is judged by what it holds, not by how it is
//! packed ([`judge`]; issue 27: the genuine digits, gunzipped and gzipped again by another
//! tool, were taken for a bad download):
//!
//! | the file | [`Verdict`] |
//! |---|---|
//! | the published `.gz` bytes | `Canonical`: verified |
//! | other bytes whose decompressed content (or, not compressed, whose bytes) has the published size and SHA-256 | `SameContent`: verified |
//! | other bytes, no published content digest (FashionMNIST), a well-formed IDX file of the standard layout | `WellFormed`: usable, not verified |
//! | corrupt, cut short, of other content or layout, unreadable | `Bad`, with the reason |

use std::fs;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use flate2::read::MultiGzDecoder;
use sha2::{Digest, Sha256};

use super::idx::{read_images, read_labels};
use super::locate::{locate_files, DatasetKind};
use crate::WorkerError;

/// `sha256:` and the first 32 hex digits of SHA-256 over the four files of `dir` (training
/// images, training labels, test images, test labels, in that order), each preceded by its
/// length so that bytes cannot move between files unnoticed. The file names are not part of
/// it: `train-images-idx3-ubyte.gz` and `train-images.idx3-ubyte.gz` with the same bytes are
/// the same data. A gzip file and its unpacked copy are different files, and digests.
pub fn data_digest(dir: &Path) -> Result<String, WorkerError> {
    let files = locate_files(dir)?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1 << 16];
    for path in [
        &files.train_images,
        &files.train_labels,
        &files.test_images,
        &files.test_labels,
    ] {
        let io = |source| WorkerError::DataIo {
            action: "reading",
            path: path.clone(),
            source,
        };
        let mut file = std::fs::File::open(path).map_err(io)?;
        let len = file.metadata().map_err(io)?.len();
        hasher.update(len.to_le_bytes());
        loop {
            let n = file.read(&mut buffer).map_err(io)?;
            if n == 0 {
                break;
            }
            hasher.update(&buffer[..n]);
        }
    }
    Ok(format!("sha256:{}", hex(&hasher.finalize()[..16])))
}

/// The size and SHA-256 of a file's content (see [`content_digest`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContentDigest {
    /// Bytes of content: decompressed, for a gzip file.
    pub size: u64,
    /// SHA-256 of the content, lowercase hex.
    pub sha256: String,
    /// Whether the file was gzip-compressed.
    pub gzip: bool,
}

/// The size and SHA-256 of what a file holds: its decompressed bytes if it is gzip (told by the
/// magic bytes `1f 8b`, as the IDX reader tells it, whatever the name), else its bytes as they
/// are. The same IDX data compressed by two tools, or at two levels, or not at all, has one
/// content digest. Read in chunks: memory stays small whatever the file's size.
///
/// A gzip stream that is corrupt or cut short is an error (`decompressing (gzip) PATH: …`).
pub fn content_digest(path: &Path) -> Result<ContentDigest, WorkerError> {
    let file = std::fs::File::open(path).map_err(|e| WorkerError::data_io("reading", path, e))?;
    let mut reader = BufReader::new(file);
    let gzip = reader
        .fill_buf()
        .map_err(|e| WorkerError::data_io("reading", path, e))?
        .starts_with(&[0x1f, 0x8b]);
    let (mut content, action): (Box<dyn Read>, _) = if gzip {
        // Multi-member, as the IDX reader: a concatenation of gzip members is one gzip file.
        (
            Box::new(MultiGzDecoder::new(reader)),
            "decompressing (gzip)",
        )
    } else {
        (Box::new(reader), "reading")
    };
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1 << 16];
    let mut size = 0u64;
    loop {
        let n = content
            .read(&mut buffer)
            .map_err(|e| WorkerError::data_io(action, path, e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
        size += n as u64;
    }
    Ok(ContentDigest {
        size,
        sha256: hex(&hasher.finalize()),
        gzip,
    })
}

/// Lowercase hex of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// One file of a standard dataset: its name, size in bytes and SHA-256 (lowercase hex), and
/// what it holds once decompressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RemoteFile<'a> {
    /// File name, identical on every mirror and in the dataset directory.
    pub name: &'a str,
    /// Size in bytes of the (gzip) file.
    pub size: u64,
    /// SHA-256 of the file, lowercase hex.
    pub sha256: &'a str,
    /// Size and SHA-256 of the decompressed IDX data, where known: a local file of other
    /// bytes with this content is the standard data, packed differently.
    pub content: Option<ContentSpec<'a>>,
    /// What the IDX data holds: how a local file is judged when `content` is unknown.
    pub layout: IdxLayout,
}

/// The size and SHA-256 (lowercase hex) of a standard file's decompressed content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContentSpec<'a> {
    /// Bytes of IDX data (header included).
    pub size: u64,
    /// Their SHA-256, lowercase hex.
    pub sha256: &'a str,
}

/// What a standard IDX file holds, as its header and labels tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdxLayout {
    /// `count` grey images of `rows × cols` bytes.
    Images {
        /// Number of images.
        count: usize,
        /// Pixel rows per image.
        rows: usize,
        /// Pixel columns per image.
        cols: usize,
    },
    /// `count` labels, each below `classes`.
    Labels {
        /// Number of labels.
        count: usize,
        /// Every label is below this.
        classes: usize,
    },
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
//
// Digests and sizes of the decompressed MNIST files (`content`), for issue 27: computed here
// with `gunzip -c FILE | sha256sum` and `gunzip -c FILE | wc -c` from the full MNIST beside the
// repository (`../shared/data/mnist`, whose README gives the training images' digest as that
// of the published file). Those four `.gz` files are NOT the canonical ones byte for byte
// (9,719,438 bytes for the training images, not 9,912,422: recompressed with `gzip -9 -n`), so
// the `.gz` digests above could not be checked against them; the decompressed digests are
// checked instead against third-party download scripts that list both digests of each file,
// the canonical `.gz` one above and the decompressed one below, as a pair (found the same in
// several, independent projects), and the training labels' class counts are MNIST's (5923,
// 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949).
// FashionMNIST: no published digest of the decompressed files was found (the distribution
// and every loader checked list the `.gz` files only), so `content` is unknown there and a
// local file of other bytes is judged by its IDX header and labels (`layout`), kept, and
// reported as not verified until a download compares it.

const MNIST_FILES: [RemoteFile<'static>; 4] = [
    RemoteFile {
        name: "train-images-idx3-ubyte.gz",
        size: 9_912_422,
        sha256: "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
        content: Some(ContentSpec {
            size: 47_040_016,
            sha256: "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
        }),
        layout: TRAIN_IMAGES,
    },
    RemoteFile {
        name: "train-labels-idx1-ubyte.gz",
        size: 28_881,
        sha256: "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
        content: Some(ContentSpec {
            size: 60_008,
            sha256: "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
        }),
        layout: TRAIN_LABELS,
    },
    RemoteFile {
        name: "t10k-images-idx3-ubyte.gz",
        size: 1_648_877,
        sha256: "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
        content: Some(ContentSpec {
            size: 7_840_016,
            sha256: "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
        }),
        layout: TEST_IMAGES,
    },
    RemoteFile {
        name: "t10k-labels-idx1-ubyte.gz",
        size: 4_542,
        sha256: "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
        content: Some(ContentSpec {
            size: 10_008,
            sha256: "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
        }),
        layout: TEST_LABELS,
    },
];

const FASHION_FILES: [RemoteFile<'static>; 4] = [
    RemoteFile {
        name: "train-images-idx3-ubyte.gz",
        size: 26_421_880,
        sha256: "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
        content: None,
        layout: TRAIN_IMAGES,
    },
    RemoteFile {
        name: "train-labels-idx1-ubyte.gz",
        size: 29_515,
        sha256: "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
        content: None,
        layout: TRAIN_LABELS,
    },
    RemoteFile {
        name: "t10k-images-idx3-ubyte.gz",
        size: 4_422_102,
        sha256: "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
        content: None,
        layout: TEST_IMAGES,
    },
    RemoteFile {
        name: "t10k-labels-idx1-ubyte.gz",
        size: 5_148,
        sha256: "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
        content: None,
        layout: TEST_LABELS,
    },
];

// MNIST and FashionMNIST share their layout: 60,000 / 10,000 images of 28 × 28, 10 classes.
const TRAIN_IMAGES: IdxLayout = IdxLayout::Images {
    count: 60_000,
    rows: 28,
    cols: 28,
};
const TRAIN_LABELS: IdxLayout = IdxLayout::Labels {
    count: 60_000,
    classes: 10,
};
const TEST_IMAGES: IdxLayout = IdxLayout::Images {
    count: 10_000,
    rows: 28,
    cols: 28,
};
const TEST_LABELS: IdxLayout = IdxLayout::Labels {
    count: 10_000,
    classes: 10,
};

/// The four standard files of a dataset, with sizes and SHA-256 digests.
pub fn standard_files(kind: DatasetKind) -> [RemoteFile<'static>; 4] {
    match kind {
        DatasetKind::Mnist => MNIST_FILES,
        DatasetKind::FashionMnist => FASHION_FILES,
    }
}

/// SHA-256 (lowercase hex) and size of a file, read in chunks so memory stays small.
pub fn sha256_file(path: &Path) -> Result<(String, u64), WorkerError> {
    let mut f = fs::File::open(path).map_err(|e| WorkerError::data_io("opening", path, e))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut size = 0u64;
    loop {
        let n = f
            .read(&mut buf)
            .map_err(|e| WorkerError::data_io("reading", path, e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        size += n as u64;
    }
    Ok((hex(&hasher.finalize()), size))
}

/// Checks that the file at `path` is exactly `expected` (size and SHA-256).
///
/// The error carries both digests and sizes so a user can tell a truncated download (smaller)
/// from a different release of the file (same size, other digest).
pub fn verify_file(path: &Path, expected: &RemoteFile<'_>) -> Result<(), WorkerError> {
    let (actual, size) = sha256_file(path)?;
    check_digest(path, &actual, size, expected)
}

pub(crate) fn check_digest(
    path: &Path,
    actual: &str,
    size: u64,
    expected: &RemoteFile<'_>,
) -> Result<(), WorkerError> {
    if size == expected.size && actual.eq_ignore_ascii_case(expected.sha256) {
        return Ok(());
    }
    Err(WorkerError::ChecksumMismatch {
        path: path.to_path_buf(),
        size,
        actual: actual.to_string(),
        expected_size: expected.size,
        expected: expected.sha256.to_string(),
    })
}

/// How a file already in the dataset directory was judged (see the module's table).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// No file under any name the loader reads for this role.
    Missing,
    /// The published `.gz` file, byte for byte.
    Canonical,
    /// Other bytes whose content (decompressed, if `gzip`) has the published size and
    /// SHA-256: the standard data, compressed by another tool or not at all.
    SameContent {
        /// Whether the file is gzip-compressed.
        gzip: bool,
    },
    /// Other bytes than the published file, of unknown content digest, forming a well-formed
    /// IDX file of the standard layout: usable, not verified.
    WellFormed {
        /// What it holds, e.g. "60000 images of 28×28".
        holds: String,
    },
    /// Not the standard data (corrupt, cut short, other content, unreadable): why, in words.
    Bad {
        /// What is wrong.
        why: String,
    },
}

impl Verdict {
    /// Whether the file is known to be the standard data.
    pub fn is_verified(&self) -> bool {
        matches!(self, Verdict::Canonical | Verdict::SameContent { .. })
    }
}

/// A standard file as a dataset directory holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalFile {
    /// The file the loader reads for this role ([`locate_files`]' first
    /// accepted name that exists), or `None` when there is none.
    pub path: Option<PathBuf>,
    /// How it was judged.
    pub verdict: Verdict,
}

/// The names the loader accepts for a standard file, in its order of preference:
/// `train-images-idx3-ubyte.gz`, `train-images-idx3-ubyte`, `train-images.idx3-ubyte.gz`,
/// `train-images.idx3-ubyte` (the rule of `locate.rs`; a test keeps the two in step).
fn loader_names(name: &str) -> [String; 4] {
    let base = name.strip_suffix(".gz").unwrap_or(name);
    let dotted = match base.rfind("-idx") {
        Some(i) => format!("{}.{}", &base[..i], &base[i + 1..]),
        None => base.to_string(),
    };
    [
        format!("{base}.gz"),
        base.to_string(),
        format!("{dotted}.gz"),
        dotted,
    ]
}

/// Judges the file that `dir` holds for `file`'s role: the one the loader would read. Reads
/// only; an unreadable file is [`Verdict::Bad`], with the reason.
pub fn judge(dir: &Path, file: &RemoteFile<'_>) -> LocalFile {
    let found = loader_names(file.name)
        .iter()
        .map(|n| dir.join(n))
        .find(|p| p.is_file());
    match found {
        None => LocalFile {
            path: None,
            verdict: Verdict::Missing,
        },
        Some(path) => LocalFile {
            verdict: judge_file(&path, file),
            path: Some(path),
        },
    }
}

/// Judges one file against the standard `file`: by its bytes, then by its content (see the
/// module's table).
pub fn judge_file(path: &Path, file: &RemoteFile<'_>) -> Verdict {
    match sha256_file(path) {
        Err(e) => return Verdict::Bad { why: e.to_string() },
        Ok((sha256, size)) if size == file.size && sha256.eq_ignore_ascii_case(file.sha256) => {
            return Verdict::Canonical;
        }
        Ok(_) => {}
    }
    let content = match content_digest(path) {
        Ok(c) => c,
        Err(e) => return Verdict::Bad { why: e.to_string() },
    };
    let Some(expected) = file.content else {
        return match check_layout(path, file.layout) {
            Ok(holds) => Verdict::WellFormed { holds },
            Err(why) => Verdict::Bad { why },
        };
    };
    if content.size == expected.size && content.sha256.eq_ignore_ascii_case(expected.sha256) {
        return Verdict::SameContent { gzip: content.gzip };
    }
    let what = if content.gzip {
        "its decompressed content"
    } else {
        "its content (not compressed)"
    };
    Verdict::Bad {
        why: format!(
            "{what} is {} bytes with SHA-256 {}, but the standard file's is {} bytes with \
             SHA-256 {}: it is corrupt, incomplete or other data",
            content.size, content.sha256, expected.size, expected.sha256
        ),
    }
}

/// What the IDX file at `path` holds if it matches `layout`, else why not: the checks `run`
/// makes on a dataset directory (magic, header, exact length, labels below the classes).
fn check_layout(path: &Path, layout: IdxLayout) -> Result<String, String> {
    match layout {
        IdxLayout::Images { count, rows, cols } => {
            let (n, r, c, _) = read_images(path).map_err(|e| e.to_string())?;
            if (n, r, c) != (count, rows, cols) {
                return Err(format!(
                    "it holds {n} images of {r}×{c}, the standard file {count} of {rows}×{cols}"
                ));
            }
            Ok(format!("{n} images of {r}×{c}"))
        }
        IdxLayout::Labels { count, classes } => {
            let labels = read_labels(path).map_err(|e| e.to_string())?;
            if labels.len() != count {
                return Err(format!(
                    "it holds {} labels, the standard file {count}",
                    labels.len()
                ));
            }
            if let Some((i, l)) = labels
                .iter()
                .enumerate()
                .find(|(_, &l)| usize::from(l) >= classes)
            {
                return Err(format!(
                    "label {l} at index {i}: the standard file's are all below {classes}"
                ));
            }
            Ok(format!("{count} labels, all below {classes}"))
        }
    }
}

/// Standard files made up for tests (of this module and of `fetch`).
#[cfg(test)]
pub(crate) mod testing {
    use super::*;
    use flate2::{write::GzEncoder, Compression};
    use std::io::Write;

    fn leak(s: String) -> &'static str {
        Box::leak(s.into_boxed_str())
    }

    /// The bytes `data` as a standard file called `name`, its content being `data` itself.
    pub(crate) fn spec(name: &'static str, data: &[u8]) -> RemoteFile<'static> {
        let digest = leak(hex(&Sha256::digest(data)));
        RemoteFile {
            name,
            size: data.len() as u64,
            sha256: digest,
            content: Some(ContentSpec {
                size: data.len() as u64,
                sha256: digest,
            }),
            layout: TRAIN_LABELS,
        }
    }

    /// `content` gzip-compressed at `level` (0–9).
    pub(crate) fn gzip(content: &[u8], level: u32) -> Vec<u8> {
        let mut enc = GzEncoder::new(Vec::new(), Compression::new(level));
        enc.write_all(content).unwrap();
        enc.finish().unwrap()
    }

    /// An IDX label file of `labels`, not compressed.
    pub(crate) fn idx_labels(labels: &[u8]) -> Vec<u8> {
        let mut b = 0x0000_0801u32.to_be_bytes().to_vec();
        b.extend_from_slice(&(labels.len() as u32).to_be_bytes());
        b.extend_from_slice(labels);
        b
    }

    /// The labels of [`standard_labels`].
    pub(crate) const LABELS: [u8; 8] = [3, 1, 4, 1, 5, 9, 2, 6];

    /// A standard label file called `name`: its published bytes (`LABELS` gzipped at level 9)
    /// and its spec, with the content digest published or not.
    pub(crate) fn standard_labels(
        name: &'static str,
        content_known: bool,
    ) -> (Vec<u8>, RemoteFile<'static>) {
        let content = idx_labels(&LABELS);
        let published = gzip(&content, 9);
        let spec = RemoteFile {
            name,
            size: published.len() as u64,
            sha256: leak(hex(&Sha256::digest(&published))),
            content: content_known.then(|| ContentSpec {
                size: content.len() as u64,
                sha256: leak(hex(&Sha256::digest(&content))),
            }),
            layout: IdxLayout::Labels {
                count: LABELS.len(),
                classes: 10,
            },
        };
        (published, spec)
    }
}

#[cfg(test)]
mod tests {
    use super::testing::*;
    use super::*;
    use crate::data::{write_idx_images, write_idx_labels};

    /// A dataset directory of two training and two test images of pixel value `fill`.
    fn dataset(dir: &Path, fill: u8) {
        let images: Vec<u8> = vec![fill; 2 * 28 * 28];
        let labels = [1u8, 2];
        for (images_name, labels_name) in [
            ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
            ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
        ] {
            write_idx_images(&dir.join(images_name), 28, 28, &images, false).unwrap();
            write_idx_labels(&dir.join(labels_name), &labels, false).unwrap();
        }
    }

    #[test]
    fn same_files_same_digest_wherever_they_are() {
        let tmp = tempfile::tempdir().unwrap();
        let (a, b, c) = (
            tmp.path().join("a"),
            tmp.path().join("b"),
            tmp.path().join("c"),
        );
        for d in [&a, &b, &c] {
            std::fs::create_dir(d).unwrap();
        }
        dataset(&a, 0);
        dataset(&b, 0);
        dataset(&c, 7);
        let da = data_digest(&a).unwrap();
        assert!(da.starts_with("sha256:") && da.len() == 7 + 32, "{da}");
        assert_eq!(da, data_digest(&b).unwrap());
        assert_eq!(da, data_digest(&a.join("../a")).unwrap());
        assert_ne!(da, data_digest(&c).unwrap());
    }

    #[test]
    fn content_digest_is_that_of_the_decompressed_bytes_however_packed() {
        use flate2::{write::GzEncoder, Compression};
        use std::io::Write;
        let tmp = tempfile::tempdir().unwrap();
        let content: Vec<u8> = (0..100_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let want = ContentDigest {
            size: content.len() as u64,
            sha256: hex(&Sha256::digest(&content)),
            gzip: false,
        };
        let plain = tmp.path().join("plain");
        std::fs::write(&plain, &content).unwrap();
        assert_eq!(content_digest(&plain).unwrap(), want);
        let mut gz_files = Vec::new();
        for level in [1, 9] {
            let mut enc = GzEncoder::new(Vec::new(), Compression::new(level));
            enc.write_all(&content).unwrap();
            gz_files.push(enc.finish().unwrap());
        }
        assert_ne!(gz_files[0], gz_files[1], "two levels, two byte streams");
        // Two members, as `cat a.gz b.gz` makes: still one content.
        let mut two_members = Vec::new();
        for half in content.chunks(content.len() / 2) {
            let mut enc = GzEncoder::new(Vec::new(), Compression::default());
            enc.write_all(half).unwrap();
            two_members.extend(enc.finish().unwrap());
        }
        gz_files.push(two_members);
        for (i, bytes) in gz_files.iter().enumerate() {
            // A name that says nothing of the compression: told by the magic bytes.
            let p = tmp.path().join(format!("packed-{i}"));
            std::fs::write(&p, bytes).unwrap();
            let got = content_digest(&p).unwrap();
            assert_eq!(
                got,
                ContentDigest {
                    gzip: true,
                    ..want.clone()
                }
            );
        }
        let cut = tmp.path().join("cut.gz");
        std::fs::write(&cut, &gz_files[0][..gz_files[0].len() / 2]).unwrap();
        let err = content_digest(&cut).unwrap_err().to_string();
        assert!(
            err.starts_with("decompressing (gzip)") && err.contains("cut.gz"),
            "{err}"
        );
    }

    #[test]
    fn a_missing_directory_is_named() {
        let e = data_digest(Path::new("/no/such/dataset")).unwrap_err();
        assert!(e.to_string().contains("/no/such/dataset"), "{e}");
    }

    #[test]
    fn constants_are_well_formed() {
        let is_hex = |s: &str| {
            s.len() == 64
                && s.bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        };
        for kind in DatasetKind::ALL {
            let files = standard_files(kind);
            for f in &files {
                assert!(is_hex(f.sha256), "{f:?}");
                assert!(f.name.ends_with("-ubyte.gz"));
                if let Some(c) = f.content {
                    assert!(is_hex(c.sha256), "{f:?}");
                    // The header and one byte per label or pixel: the layout's size.
                    let size = match f.layout {
                        IdxLayout::Images { count, rows, cols } => 16 + count * rows * cols,
                        IdxLayout::Labels { count, .. } => 8 + count,
                    };
                    assert_eq!(c.size, size as u64, "{f:?}");
                }
            }
        }
        assert!(standard_files(DatasetKind::Mnist)
            .iter()
            .all(|f| f.content.is_some()));
    }

    /// The published digests of the decompressed MNIST files are those of the real digits
    /// (`$EIGENSWEEP_TEST_MNIST_FULL_DIR`, the full MNIST; skipped where it is not set).
    #[test]
    fn the_real_mnist_is_verified_by_its_content() {
        let Some(dir) = std::env::var_os("EIGENSWEEP_TEST_MNIST_FULL_DIR") else {
            eprintln!(
                "note: EIGENSWEEP_TEST_MNIST_FULL_DIR is not set; skipping the check of the \
                 decompressed MNIST digests against the real digits"
            );
            return;
        };
        let dir = PathBuf::from(dir);
        for file in &standard_files(DatasetKind::Mnist) {
            let local = judge(&dir, file);
            assert!(
                local.verdict.is_verified(),
                "{}: {:?}",
                dir.display(),
                local
            );
        }
    }

    #[test]
    fn the_loader_and_the_judge_read_the_same_file() {
        let files = standard_files(DatasetKind::Mnist);
        // With the names from position `first` on present, both take the one at `first`.
        for first in 0..4 {
            let dir = tempfile::tempdir().unwrap();
            for f in &files {
                for name in &loader_names(f.name)[first..] {
                    fs::write(dir.path().join(name), b"").unwrap();
                }
            }
            let located = crate::data::locate_files(dir.path()).unwrap();
            let located = [
                located.train_images,
                located.train_labels,
                located.test_images,
                located.test_labels,
            ];
            for (f, want) in files.iter().zip(located) {
                assert_eq!(judge(dir.path(), f).path, Some(want), "names from {first}");
            }
        }
        let empty = tempfile::tempdir().unwrap();
        assert_eq!(
            judge(empty.path(), &files[0]),
            LocalFile {
                path: None,
                verdict: Verdict::Missing
            }
        );
    }

    #[test]
    fn verify_accepts_right_and_rejects_wrong_files() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        fs::write(&p, b"abc").unwrap();
        // Known vector: SHA-256("abc").
        let good = RemoteFile {
            sha256: "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
            ..spec("f", b"abc")
        };
        verify_file(&p, &good).unwrap();
        let wrong_size = RemoteFile { size: 4, ..good };
        let err = verify_file(&p, &wrong_size).unwrap_err();
        assert!(matches!(
            err,
            WorkerError::ChecksumMismatch {
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

    /// Issue 27: a file is judged by its content, not by how it is compressed.
    #[test]
    fn the_same_content_is_verified_however_it_is_packed() {
        let dir = tempfile::tempdir().unwrap();
        let (published, file) = standard_labels("l-labels-idx1-ubyte.gz", true);
        let content = idx_labels(&LABELS);
        let p = dir.path().join("f");
        let judged = |bytes: &[u8]| {
            fs::write(&p, bytes).unwrap();
            judge_file(&p, &file)
        };
        assert_eq!(judged(&published), Verdict::Canonical);
        let other_level = gzip(&content, 1);
        assert_ne!(other_level, published);
        assert_eq!(judged(&other_level), Verdict::SameContent { gzip: true });
        assert_eq!(judged(&content), Verdict::SameContent { gzip: false });

        // One label changed: the same size, another digest.
        let mut corrupt = content.clone();
        corrupt[9] ^= 1;
        let Verdict::Bad { why } = judged(&gzip(&corrupt, 9)) else {
            panic!("a changed label must be bad")
        };
        assert!(
            why.contains("its decompressed content is 16 bytes with SHA-256")
                && why.contains(file.content.unwrap().sha256),
            "{why}"
        );
        let Verdict::Bad { why } = judged(&corrupt) else {
            panic!("a changed label must be bad")
        };
        assert!(why.contains("its content (not compressed)"), "{why}");
        let Verdict::Bad { why } = judged(&published[..published.len() - 6]) else {
            panic!("a cut gzip stream must be bad")
        };
        assert!(why.starts_with("decompressing (gzip)"), "{why}");
    }

    /// FashionMNIST: no digest of the decompressed files is published; a file of other bytes
    /// is judged by its IDX header and labels.
    #[test]
    fn without_a_content_digest_a_file_is_judged_by_its_layout() {
        let dir = tempfile::tempdir().unwrap();
        let (published, file) = standard_labels("l-labels-idx1-ubyte.gz", false);
        let p = dir.path().join("f");
        let judged = |bytes: &[u8]| {
            fs::write(&p, bytes).unwrap();
            judge_file(&p, &file)
        };
        assert_eq!(judged(&published), Verdict::Canonical);
        assert_eq!(
            judged(&gzip(&idx_labels(&LABELS), 1)),
            Verdict::WellFormed {
                holds: "8 labels, all below 10".into()
            }
        );
        // Well-formed, of other content: not told apart without a digest, but not verified.
        assert!(!judged(&idx_labels(&[0; 8])).is_verified());
        for (bytes, says) in [
            (
                idx_labels(&[0; 7]),
                "it holds 7 labels, the standard file 8",
            ),
            (
                idx_labels(&[0, 1, 2, 3, 4, 12, 5, 6]),
                "label 12 at index 5: the standard file's are all below 10",
            ),
            (b"not an IDX file".to_vec(), "bad magic number"),
        ] {
            match judged(&bytes) {
                Verdict::Bad { why } => assert!(why.contains(says), "{why}"),
                v => panic!("{says}: {v:?}"),
            }
        }
    }
}
