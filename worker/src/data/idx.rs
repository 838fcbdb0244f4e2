//! The IDX file format of MNIST and FashionMNIST, read strictly.
//!
//! An IDX file is a big-endian header followed by raw data:
//!
//! | file            | magic        | header                          | data                |
//! |-----------------|--------------|---------------------------------|---------------------|
//! | `*-idx3-ubyte`  | `0x00000803` | magic, count, rows, cols (u32)  | count·rows·cols u8  |
//! | `*-idx1-ubyte`  | `0x00000801` | magic, count (u32)              | count u8 labels     |
//!
//! Images are grey, of any `rows × cols` (28 × 28 for MNIST, 32 × 32 for CIFAR-shaped grey
//! data); labels are class indices `0..=255`. How many classes a dataset has is decided from
//! its training labels, in [`shape`](super::shape). Other IDX layouts are refused with a message
//! that says what was found: colour images (`count × rows × cols × channels`, magic
//! `0x00000804`) and other element types (`0x0d` float32, …).
//!
//! Files may be gzip-compressed; that is detected from the gzip magic bytes `1f 8b`, not from
//! the name, because mirrors and users rename files freely (a `.gz` name on a decompressed
//! file, or the reverse, is common). [`read_images_header`] reads only the first bytes of
//! the (decompressed) stream, so the shape of a large file costs next to nothing.
//!
//! The reader is strict on purpose: a truncated download, trailing garbage or swapped
//! image/label files would otherwise train silently on wrong data, and every later number
//! of the study would be wrong without any visible symptom.

use std::fs::{self, File};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;

use flate2::read::MultiGzDecoder;
use flate2::write::GzEncoder;
use flate2::Compression;

use super::atomic::write_atomic;
use super::Dataset;
use crate::WorkerError;

/// Magic number of an IDX file of unsigned-byte images with 3 dimensions.
pub const IMAGES_MAGIC: u32 = 0x0000_0803;
/// Magic number of an IDX file of unsigned-byte labels with 1 dimension.
pub const LABELS_MAGIC: u32 = 0x0000_0801;

const IMAGES_HEADER: usize = 16;
/// Bytes [`read_images_header`] reads: an IDX header of up to 8 dimensions, enough to name
/// the shape of a file that is not `count × rows × cols`.
const HEADER_PREFIX: usize = 4 + 4 * 8;
const LABELS_HEADER: usize = 8;
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Reads a file's content, decompressing it if it starts with the gzip magic bytes.
fn read_maybe_gz(path: &Path) -> Result<Vec<u8>, WorkerError> {
    let raw = fs::read(path).map_err(|e| WorkerError::data_io("reading", path, e))?;
    if !raw.starts_with(&GZIP_MAGIC) {
        return Ok(raw);
    }
    let mut out = Vec::new();
    // MultiGzDecoder: a concatenation of gzip members is still one valid gzip file.
    MultiGzDecoder::new(raw.as_slice())
        .read_to_end(&mut out)
        .map_err(|e| WorkerError::data_io("decompressing (gzip)", path, e))?;
    Ok(out)
}

/// The first `n` bytes of a file's content (fewer if it is shorter), decompressing only as
/// much of a gzip file as that takes.
fn read_prefix(path: &Path, n: usize) -> Result<Vec<u8>, WorkerError> {
    let file = File::open(path).map_err(|e| WorkerError::data_io("reading", path, e))?;
    let mut reader = BufReader::new(file);
    let gzip = reader
        .fill_buf()
        .map_err(|e| WorkerError::data_io("reading", path, e))?
        .starts_with(&GZIP_MAGIC);
    let mut out = Vec::with_capacity(n);
    let read = if gzip {
        MultiGzDecoder::new(reader)
            .take(n as u64)
            .read_to_end(&mut out)
            .map_err(|e| WorkerError::data_io("decompressing (gzip)", path, e))
    } else {
        reader
            .take(n as u64)
            .read_to_end(&mut out)
            .map_err(|e| WorkerError::data_io("reading", path, e))
    };
    read.map(|_| out)
}

fn be_u32(bytes: &[u8], at: usize) -> u32 {
    let mut b = [0u8; 4];
    b.copy_from_slice(&bytes[at..at + 4]);
    u32::from_be_bytes(b)
}

/// Checks the magic number and the header length, the parts common to both kinds of file.
fn check_header(
    path: &Path,
    bytes: &[u8],
    magic: u32,
    header_len: usize,
    what: &'static str,
) -> Result<(), WorkerError> {
    // Check the magic first when there is one, so that a wrong kind of file is reported as
    // such even when it is also too short.
    if bytes.len() >= 4 && be_u32(bytes, 0) != magic {
        return Err(WorkerError::BadMagic {
            path: path.to_path_buf(),
            found: be_u32(bytes, 0),
            expected: magic,
            what,
        });
    }
    if bytes.len() < header_len {
        return Err(WorkerError::TruncatedHeader {
            path: path.to_path_buf(),
            len: bytes.len(),
            header_len,
            what,
        });
    }
    Ok(())
}

/// Checks that exactly `expected` data bytes follow the header.
fn check_payload(
    path: &Path,
    bytes: &[u8],
    header_len: usize,
    expected: usize,
    described: impl FnOnce() -> String,
) -> Result<(), WorkerError> {
    let found = bytes.len() - header_len;
    if found < expected {
        return Err(WorkerError::Truncated {
            path: path.to_path_buf(),
            described: described(),
            expected,
            found,
            header_len,
        });
    }
    if found > expected {
        return Err(WorkerError::TrailingBytes {
            path: path.to_path_buf(),
            described: described(),
            expected,
            found,
            extra: found - expected,
            header_len,
        });
    }
    Ok(())
}

/// What an image file's header says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImagesHeader {
    /// Number of images.
    pub count: usize,
    /// Pixel rows per image.
    pub rows: usize,
    /// Pixel columns per image.
    pub cols: usize,
}

/// The name of an IDX element type (the magic number's third byte).
fn idx_type_name(code: u8) -> Option<&'static str> {
    Some(match code {
        0x08 => "unsigned byte",
        0x09 => "signed byte",
        0x0b => "16-bit integer",
        0x0c => "32-bit integer",
        0x0d => "32-bit float",
        0x0e => "64-bit float",
        _ => return None,
    })
}

/// Refuses, in words, an IDX file of another layout than grey unsigned-byte images: colour
/// (`count × rows × cols × channels`) or any other number of dimensions, and other element
/// types. Bytes that are not an IDX magic at all (a label file, something else) are left to
/// [`check_header`]'s plain magic-number message.
fn check_images_layout(path: &Path, bytes: &[u8]) -> Result<(), WorkerError> {
    if bytes.len() < 4 || bytes[0..2] != [0, 0] || be_u32(bytes, 0) == IMAGES_MAGIC {
        return Ok(());
    }
    let (code, dims) = (bytes[2], usize::from(bytes[3]));
    let Some(kind) = idx_type_name(code) else {
        return Ok(());
    };
    // The labels' magic where images are expected: the swapped-files mistake, said as such.
    if be_u32(bytes, 0) == LABELS_MAGIC {
        return Ok(());
    }
    let sizes: Vec<String> = (0..dims)
        .map(|d| 4 + 4 * d)
        .take_while(|&at| at + 4 <= bytes.len())
        .map(|at| be_u32(bytes, at).to_string())
        .collect();
    let shape = if sizes.len() == dims {
        format!(" ({})", sizes.join(" × "))
    } else {
        String::new()
    };
    let detail = if code != 0x08 {
        format!(
            "{kind} elements (IDX type {code:#04x}){shape}: only unsigned-byte images \
             (magic 0x00000803) are supported; convert the pixels to bytes 0..255"
        )
    } else if dims == 4 {
        format!(
            "4-dimensional images{shape}, i.e. with colour channels: only grey images \
             (count × rows × cols, magic 0x00000803) are supported; convert them to grey"
        )
    } else {
        format!(
            "{dims}-dimensional data{shape}: images must be count × rows × cols (magic \
             0x00000803)"
        )
    };
    Err(WorkerError::BadHeader {
        path: path.to_path_buf(),
        detail,
    })
}

/// Parses the header at the start of `bytes` (the whole file, or its first bytes).
fn parse_images_header(path: &Path, bytes: &[u8]) -> Result<ImagesHeader, WorkerError> {
    check_images_layout(path, bytes)?;
    check_header(path, bytes, IMAGES_MAGIC, IMAGES_HEADER, "idx3 images")?;
    let as_usize = |at| usize::try_from(be_u32(bytes, at)).unwrap_or(usize::MAX);
    let (count, rows, cols) = (as_usize(4), as_usize(8), as_usize(12));
    if rows == 0 || cols == 0 {
        return Err(WorkerError::BadHeader {
            path: path.to_path_buf(),
            detail: format!("images of {rows}×{cols} pixels"),
        });
    }
    // rows·cols first: it becomes the dataset's `dim`, so it must fit even when count is 0.
    rows.checked_mul(cols)
        .and_then(|x| x.checked_mul(count))
        .ok_or_else(|| WorkerError::BadHeader {
            path: path.to_path_buf(),
            detail: format!("{count} images of {rows}×{cols} is too many bytes to address"),
        })?;
    Ok(ImagesHeader { count, rows, cols })
}

/// Reads only the header of an `idx3-ubyte` image file (plain or gzip): the number of images
/// and their rows and columns, without reading (or decompressing) the pixels. Errors as
/// [`read_images`]' for the header; the pixel bytes are not checked.
pub fn read_images_header(path: &Path) -> Result<ImagesHeader, WorkerError> {
    parse_images_header(path, &read_prefix(path, HEADER_PREFIX)?)
}

/// Reads an `idx3-ubyte` image file: returns `(count, rows, cols, pixels)`, pixels row-major.
///
/// The file may be plain or gzip. Errors name the file: wrong magic (with what the file is
/// instead when it is another IDX layout, e.g. colour images), header too short, zero or
/// overflowing dimensions, and data that is shorter or longer than the header says.
pub fn read_images(path: &Path) -> Result<(usize, usize, usize, Vec<u8>), WorkerError> {
    let bytes = read_maybe_gz(path)?;
    let ImagesHeader { count, rows, cols } = parse_images_header(path, &bytes)?;
    check_payload(path, &bytes, IMAGES_HEADER, rows * cols * count, || {
        format!("{count} images of {rows}×{cols}")
    })?;
    let mut bytes = bytes;
    bytes.drain(..IMAGES_HEADER);
    Ok((count, rows, cols, bytes))
}

/// Reads an `idx1-ubyte` label file (plain or gzip). Any byte is a label; whether the labels
/// make sense as classes is [`Classes`](super::shape::Classes)' question.
pub fn read_labels(path: &Path) -> Result<Vec<u8>, WorkerError> {
    let bytes = read_maybe_gz(path)?;
    check_header(path, &bytes, LABELS_MAGIC, LABELS_HEADER, "idx1 labels")?;
    let count = usize::try_from(be_u32(&bytes, 4)).unwrap_or(usize::MAX);
    check_payload(path, &bytes, LABELS_HEADER, count, || {
        format!("{count} labels")
    })?;
    Ok(bytes[LABELS_HEADER..].to_vec())
}

/// Reads an image file and its label file into a [`Dataset`] of `classes` classes with pixels
/// `x/255` in `[0, 1]`.
///
/// The two files must hold the same number of samples; a mismatch (typically train images
/// paired with test labels) is an error naming both files, and so is a label `≥ classes`.
pub fn load_idx_pair(images: &Path, labels: &Path, classes: usize) -> Result<Dataset, WorkerError> {
    let (count, rows, cols, pixels) = read_images(images)?;
    let label_vec = read_labels(labels)?;
    if label_vec.len() != count {
        return Err(WorkerError::CountMismatch {
            images: images.to_path_buf(),
            n_images: count,
            labels: labels.to_path_buf(),
            n_labels: label_vec.len(),
        });
    }
    if let Some((index, &label)) = label_vec
        .iter()
        .enumerate()
        .find(|(_, &l)| usize::from(l) >= classes)
    {
        return Err(WorkerError::LabelOutOfRange {
            path: labels.to_path_buf(),
            label,
            index,
            classes,
        });
    }
    // Division (not multiplication by 1/255) so each value is the correctly rounded x/255.
    let pixels = pixels.into_iter().map(|p| f32::from(p) / 255.0).collect();
    Ok(Dataset {
        images: pixels,
        labels: label_vec,
        len: count,
        dim: rows * cols,
        classes,
    })
}

fn to_u32(value: usize, what: &str) -> Result<u32, WorkerError> {
    u32::try_from(value).map_err(|_| {
        WorkerError::InvalidDataset(format!("{what} {value} does not fit an IDX header"))
    })
}

fn gzip_bytes(bytes: &[u8], path: &Path) -> Result<Vec<u8>, WorkerError> {
    let mut enc = GzEncoder::new(Vec::new(), Compression::default());
    enc.write_all(bytes)
        .map_err(|e| WorkerError::data_io("compressing (gzip) for", path, e))?;
    enc.finish()
        .map_err(|e| WorkerError::data_io("compressing (gzip) for", path, e))
}

/// Writes images as an `idx3-ubyte` file (gzip-compressed if `gzip`), atomically.
///
/// `pixels` holds `count·rows·cols` bytes, row-major; `count` follows from its length. Used
/// by tests and to export subsets; writes under a temporary name and renames, so a reader
/// never sees a half-written file.
pub fn write_idx_images(
    path: &Path,
    rows: usize,
    cols: usize,
    pixels: &[u8],
    gzip: bool,
) -> Result<(), WorkerError> {
    let per = rows.checked_mul(cols).filter(|&p| p > 0).ok_or_else(|| {
        WorkerError::InvalidDataset(format!("cannot write images of {rows}×{cols} pixels"))
    })?;
    if !pixels.len().is_multiple_of(per) {
        return Err(WorkerError::InvalidDataset(format!(
            "{} pixel bytes are not a whole number of {rows}×{cols} images",
            pixels.len()
        )));
    }
    let mut bytes = Vec::with_capacity(IMAGES_HEADER + pixels.len());
    for v in [
        IMAGES_MAGIC,
        to_u32(pixels.len() / per, "count")?,
        to_u32(rows, "rows")?,
        to_u32(cols, "cols")?,
    ] {
        bytes.extend_from_slice(&v.to_be_bytes());
    }
    bytes.extend_from_slice(pixels);
    let bytes = if gzip {
        gzip_bytes(&bytes, path)?
    } else {
        bytes
    };
    write_atomic(path, &bytes)
}

/// Writes labels as an `idx1-ubyte` file (gzip-compressed if `gzip`), atomically.
///
/// Labels are written as given (no range check), so tests can make invalid files too.
pub fn write_idx_labels(path: &Path, labels: &[u8], gzip: bool) -> Result<(), WorkerError> {
    let mut bytes = Vec::with_capacity(LABELS_HEADER + labels.len());
    bytes.extend_from_slice(&LABELS_MAGIC.to_be_bytes());
    bytes.extend_from_slice(&to_u32(labels.len(), "count")?.to_be_bytes());
    bytes.extend_from_slice(labels);
    let bytes = if gzip {
        gzip_bytes(&bytes, path)?
    } else {
        bytes
    };
    write_atomic(path, &bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn pixels(n: usize, rows: usize, cols: usize) -> Vec<u8> {
        (0..n * rows * cols).map(|i| (i * 37 % 256) as u8).collect()
    }

    fn raw_images(count: u32, rows: u32, cols: u32, data: &[u8]) -> Vec<u8> {
        let mut b = Vec::new();
        for v in [IMAGES_MAGIC, count, rows, cols] {
            b.extend_from_slice(&v.to_be_bytes());
        }
        b.extend_from_slice(data);
        b
    }

    fn raw_labels(count: u32, data: &[u8]) -> Vec<u8> {
        let mut b = LABELS_MAGIC.to_be_bytes().to_vec();
        b.extend_from_slice(&count.to_be_bytes());
        b.extend_from_slice(data);
        b
    }

    fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
        let p = dir.join(name);
        fs::write(&p, bytes).unwrap();
        p
    }

    #[test]
    fn round_trip_plain_and_gzip() {
        let dir = tempfile::tempdir().unwrap();
        let px = pixels(5, 3, 4);
        let labels = vec![0, 9, 3, 3, 7];
        for gz in [false, true] {
            // Names deliberately say nothing about compression: detection is by content.
            let ip = dir.path().join(format!("img-{gz}"));
            let lp = dir.path().join(format!("lab-{gz}"));
            write_idx_images(&ip, 3, 4, &px, gz).unwrap();
            write_idx_labels(&lp, &labels, gz).unwrap();
            assert_eq!(fs::read(&ip).unwrap().starts_with(&GZIP_MAGIC), gz);
            assert_eq!(read_images(&ip).unwrap(), (5, 3, 4, px.clone()));
            assert_eq!(read_labels(&lp).unwrap(), labels);
            assert_eq!(
                read_images_header(&ip).unwrap(),
                ImagesHeader {
                    count: 5,
                    rows: 3,
                    cols: 4
                }
            );
            let d = load_idx_pair(&ip, &lp, 10).unwrap();
            assert_eq!((d.len, d.dim, d.classes), (5, 12, 10));
            assert_eq!(d.labels, labels);
            for (x, &p) in d.images.iter().zip(&px) {
                assert_eq!(*x, f32::from(p) / 255.0);
                assert!((0.0..=1.0).contains(x));
            }
        }
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 4, "no temporary files may remain: {names:?}");
    }

    #[test]
    fn bad_magic_names_the_file_and_both_numbers() {
        let dir = tempfile::tempdir().unwrap();
        let lp = write(
            dir.path(),
            "train-labels-idx1-ubyte",
            &raw_labels(2, &[1, 2]),
        );
        // A label file where images are expected: the classic swapped-arguments mistake.
        let err = read_images(&lp).unwrap_err();
        assert!(matches!(
            err,
            WorkerError::BadMagic {
                found: 0x801,
                expected: 0x803,
                ..
            }
        ));
        let msg = err.to_string();
        assert_eq!(
            msg,
            format!(
                "reading {}: bad magic number 0x00000801, expected 0x00000803 (idx3 images)",
                lp.display()
            )
        );
        let ip = write(dir.path(), "imgs", &raw_images(1, 1, 1, &[0]));
        let err = read_labels(&ip).unwrap_err();
        assert!(
            err.to_string()
                .contains("expected 0x00000801 (idx1 labels)"),
            "{err}"
        );
    }

    #[test]
    fn truncated_header_and_data() {
        let dir = tempfile::tempdir().unwrap();
        let short = write(dir.path(), "short", &IMAGES_MAGIC.to_be_bytes()[..3]);
        let err = read_images(&short).unwrap_err();
        assert!(
            matches!(
                err,
                WorkerError::TruncatedHeader {
                    len: 3,
                    header_len: 16,
                    ..
                }
            ),
            "{err}"
        );
        assert!(err.to_string().contains(&short.display().to_string()));

        let p = write(
            dir.path(),
            "train-images-idx3-ubyte",
            &raw_images(60000, 28, 28, &[0; 1000]),
        );
        let err = read_images(&p).unwrap_err();
        assert!(matches!(
            err,
            WorkerError::Truncated {
                expected: 47_040_000,
                found: 1000,
                ..
            }
        ));
        assert_eq!(
            err.to_string(),
            format!(
                "reading {}: truncated: header says 60000 images of 28×28 = 47040000 bytes, \
                 file has 1000 bytes after the 16-byte header",
                p.display()
            )
        );
        let lp = write(dir.path(), "labels", &raw_labels(5, &[1, 2]));
        let err = read_labels(&lp).unwrap_err();
        assert!(
            matches!(
                err,
                WorkerError::Truncated {
                    expected: 5,
                    found: 2,
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn truncated_gzip_stream_is_an_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.gz");
        write_idx_images(&p, 28, 28, &pixels(50, 28, 28), true).unwrap();
        let bytes = fs::read(&p).unwrap();
        fs::write(&p, &bytes[..bytes.len() / 2]).unwrap();
        let err = read_images(&p).unwrap_err();
        assert!(err.to_string().contains(&p.display().to_string()), "{err}");
    }

    #[test]
    fn trailing_bytes_are_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(dir.path(), "imgs", &raw_images(2, 2, 2, &[0; 9]));
        let err = read_images(&p).unwrap_err();
        assert!(matches!(
            err,
            WorkerError::TrailingBytes {
                expected: 8,
                found: 9,
                extra: 1,
                ..
            }
        ));
        let msg = err.to_string();
        assert!(
            msg.contains(&p.display().to_string()) && msg.contains("1 trailing bytes"),
            "{msg}"
        );

        let lp = dir.path().join("labels.gz");
        let mut raw = raw_labels(2, &[1, 2]);
        raw.extend_from_slice(b"garbage");
        fs::write(&lp, gzip_bytes(&raw, &lp).unwrap()).unwrap();
        let err = read_labels(&lp).unwrap_err();
        assert!(
            matches!(err, WorkerError::TrailingBytes { extra: 7, .. }),
            "{err}"
        );
    }

    #[test]
    fn zero_or_huge_dimensions_are_bad_headers() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(dir.path(), "zero", &raw_images(0, 0, 28, &[]));
        assert!(matches!(
            read_images(&p),
            Err(WorkerError::BadHeader { .. })
        ));
        let p = write(
            dir.path(),
            "huge",
            &raw_images(u32::MAX, u32::MAX, u32::MAX, &[]),
        );
        let err = read_images(&p).unwrap_err();
        assert!(matches!(err, WorkerError::BadHeader { .. }), "{err}");
    }

    #[test]
    fn count_mismatch_names_both_files() {
        let dir = tempfile::tempdir().unwrap();
        let ip = dir.path().join("train-images-idx3-ubyte.gz");
        let lp = dir.path().join("train-labels-idx1-ubyte.gz");
        write_idx_images(&ip, 2, 2, &pixels(3, 2, 2), true).unwrap();
        write_idx_labels(&lp, &[1, 2], true).unwrap();
        let err = load_idx_pair(&ip, &lp, 10).unwrap_err();
        assert!(matches!(
            err,
            WorkerError::CountMismatch {
                n_images: 3,
                n_labels: 2,
                ..
            }
        ));
        assert_eq!(
            err.to_string(),
            format!(
                "reading {}: 3 images but {} has 2 labels",
                ip.display(),
                lp.display()
            )
        );
    }

    #[test]
    fn labels_are_any_bytes_and_a_pair_checks_them_against_its_classes() {
        let dir = tempfile::tempdir().unwrap();
        let (ip, lp) = (dir.path().join("images"), dir.path().join("labels"));
        write_idx_images(&ip, 1, 1, &[0; 7], false).unwrap();
        write_idx_labels(&lp, &[0, 1, 2, 3, 4, 12, 5], false).unwrap();
        assert_eq!(read_labels(&lp).unwrap(), vec![0, 1, 2, 3, 4, 12, 5]);
        assert_eq!(load_idx_pair(&ip, &lp, 13).unwrap().classes, 13);
        let err = load_idx_pair(&ip, &lp, 10).unwrap_err();
        assert!(matches!(
            err,
            WorkerError::LabelOutOfRange {
                label: 12,
                index: 5,
                classes: 10,
                ..
            }
        ));
        assert_eq!(
            err.to_string(),
            format!("reading {}: label 12 at index 5 is not < 10", lp.display())
        );
    }

    #[test]
    fn the_header_alone_is_read_from_large_plain_and_gzip_files() {
        let dir = tempfile::tempdir().unwrap();
        for gz in [false, true] {
            let p = dir.path().join(format!("big-{gz}"));
            write_idx_images(&p, 32, 32, &pixels(300, 32, 32), gz).unwrap();
            let h = read_images_header(&p).unwrap();
            assert_eq!((h.count, h.rows, h.cols), (300, 32, 32));
        }
        // A truncated pixel payload is the full read's business, not the header's.
        let p = write(dir.path(), "short", &raw_images(60000, 28, 28, &[0; 10]));
        assert_eq!(read_images_header(&p).unwrap().count, 60000);
        assert!(read_images(&p).is_err());
        let short = write(dir.path(), "tiny", &IMAGES_MAGIC.to_be_bytes());
        assert!(matches!(
            read_images_header(&short),
            Err(WorkerError::TruncatedHeader { len: 4, .. })
        ));
    }

    /// An IDX header of `dims` dimensions of element type `code`.
    fn raw_idx(code: u8, sizes: &[u32]) -> Vec<u8> {
        let mut b = vec![0, 0, code, sizes.len() as u8];
        for s in sizes {
            b.extend_from_slice(&s.to_be_bytes());
        }
        b
    }

    #[test]
    fn colour_images_and_other_element_types_are_refused_in_words() {
        let dir = tempfile::tempdir().unwrap();
        let mut colour = raw_idx(0x08, &[2, 32, 32, 3]);
        colour.extend(vec![0u8; 2 * 32 * 32 * 3]);
        let p = write(dir.path(), "colour", &colour);
        for err in [
            read_images_header(&p).unwrap_err(),
            read_images(&p).unwrap_err(),
        ] {
            assert_eq!(
                err.to_string(),
                format!(
                    "reading {}: bad header: 4-dimensional images (2 × 32 × 32 × 3), i.e. with \
                     colour channels: only grey images (count × rows × cols, magic 0x00000803) \
                     are supported; convert them to grey",
                    p.display()
                )
            );
        }
        let p = write(dir.path(), "float", &raw_idx(0x0d, &[2, 28, 28]));
        let msg = read_images_header(&p).unwrap_err().to_string();
        assert!(
            msg.contains("32-bit float elements (IDX type 0x0d) (2 × 28 × 28): only unsigned-byte"),
            "{msg}"
        );
        let p = write(dir.path(), "flat", &raw_idx(0x08, &[2, 784]));
        let msg = read_images_header(&p).unwrap_err().to_string();
        assert!(
            msg.contains("2-dimensional data (2 × 784): images must be count × rows × cols"),
            "{msg}"
        );
    }

    #[test]
    fn missing_file_names_the_path() {
        let err = read_labels(Path::new("/nonexistent/eigensweep/labels")).unwrap_err();
        assert!(matches!(err, WorkerError::DataIo { .. }));
        assert!(
            err.to_string().contains("/nonexistent/eigensweep/labels"),
            "{err}"
        );
    }

    #[test]
    fn writer_rejects_ragged_pixels() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x");
        assert!(write_idx_images(&p, 2, 2, &[0; 5], false).is_err());
        assert!(write_idx_images(&p, 0, 2, &[], false).is_err());
        assert!(!p.exists());
    }
}
