//! Loading a dataset directory into memory: the training and test sets of a directory
//! ([`load_dir`]) or of a cached dataset ([`load_cached`]), after its shape
//! ([`read_dir_shape`]) has checked everything that can be checked without decoding an image.

use std::path::Path;

use super::idx::load_idx_pair;
use super::locate::{cached_dataset_dir, DatasetKind};
use super::shape::read_dir_shape;
use super::TrainTest;
use crate::WorkerError;

/// Loads a dataset from the cache ([`cached_dataset_dir`]): [`load_dir`] whose advice, when
/// the folder or some of its files are missing, names this dataset's `data fetch` command and
/// the cache (the one place that advice is written, so no caller adds it again).
pub fn load_cached(kind: DatasetKind) -> Result<TrainTest, WorkerError> {
    let dir = cached_dataset_dir(kind)?;
    let advice = || {
        format!(
            "; `eigensweep data fetch {name}` downloads the standard files there (or set \
             EIGENSWEEP_DATA=DIR with them in DIR/{name})",
            name = kind.name()
        )
    };
    load_dir(&dir).map_err(|e| match e {
        WorkerError::NotADirectory { path, .. } => WorkerError::NotADirectory {
            path,
            hint: advice(),
        },
        WorkerError::MissingFiles { dir, missing, .. } => WorkerError::MissingFiles {
            dir,
            missing,
            hint: advice(),
        },
        other => other,
    })
}

/// Loads the training and test sets from a dataset directory (see
/// [`locate_files`](super::locate::locate_files)), with the classes of its training labels
/// (see [`read_dir_shape`], which checks everything it checks first, before any image is
/// decoded).
pub fn load_dir(dir: &Path) -> Result<TrainTest, WorkerError> {
    let shape = read_dir_shape(dir)?;
    let files = &shape.files;
    let classes = shape.classes.count;
    let train = load_idx_pair(&files.train_images, &files.train_labels, classes)?;
    let test = load_idx_pair(&files.test_images, &files.test_labels, classes)?;
    // The headers were read a moment ago; files replaced since are not half-trusted.
    for (d, path) in [(&train, &files.train_images), (&test, &files.test_images)] {
        if d.dim != shape.inputs() {
            return Err(WorkerError::BadHeader {
                path: path.clone(),
                detail: format!(
                    "images of {} pixels, but {} pixels a moment ago: the file changed while \
                     it was read",
                    d.dim,
                    shape.inputs()
                ),
            });
        }
    }
    Ok(TrainTest { train, test })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::idx::{write_idx_images, write_idx_labels};
    use crate::data::locate::{test_mnist_dir, TEST_MNIST_DIR_VAR};

    fn write_set(dir: &Path, names: [&str; 4], gz: bool) {
        write_idx_images(
            &dir.join(names[0]),
            2,
            2,
            &[0, 64, 128, 255, 1, 2, 3, 4, 5, 6, 7, 8],
            gz,
        )
        .unwrap();
        write_idx_labels(&dir.join(names[1]), &[1, 2, 3], gz).unwrap();
        write_idx_images(&dir.join(names[2]), 2, 2, &[9, 9, 9, 9], gz).unwrap();
        write_idx_labels(&dir.join(names[3]), &[2], gz).unwrap();
    }

    #[test]
    fn load_dir_accepts_all_naming_variants() {
        let sets = [
            (
                [
                    "train-images-idx3-ubyte.gz",
                    "train-labels-idx1-ubyte.gz",
                    "t10k-images-idx3-ubyte.gz",
                    "t10k-labels-idx1-ubyte.gz",
                ],
                true,
            ),
            (
                [
                    "train-images-idx3-ubyte",
                    "train-labels-idx1-ubyte",
                    "t10k-images-idx3-ubyte",
                    "t10k-labels-idx1-ubyte",
                ],
                false,
            ),
            (
                [
                    "train-images.idx3-ubyte",
                    "train-labels.idx1-ubyte.gz",
                    "t10k-images.idx3-ubyte",
                    "t10k-labels.idx1-ubyte",
                ],
                false,
            ),
        ];
        for (names, gz) in sets {
            let dir = tempfile::tempdir().unwrap();
            write_set(dir.path(), names, gz);
            let tt = load_dir(dir.path()).unwrap();
            assert_eq!((tt.train.len, tt.test.len, tt.train.dim), (3, 1, 4));
            assert_eq!(tt.train.labels, vec![1, 2, 3]);
            assert_eq!(tt.test.labels, vec![2]);
            assert_eq!((tt.train.classes, tt.test.classes), (4, 4));
            assert_eq!(tt.train.images[3], 1.0);
        }
    }

    #[test]
    fn missing_files_are_listed_with_the_directory() {
        let dir = tempfile::tempdir().unwrap();
        write_idx_labels(&dir.path().join("train-labels-idx1-ubyte.gz"), &[1], true).unwrap();
        write_idx_labels(&dir.path().join("t10k-labels-idx1-ubyte"), &[1], false).unwrap();
        let err = load_dir(dir.path()).unwrap_err();
        let msg = err.to_string();
        assert!(matches!(&err, WorkerError::MissingFiles { missing, .. } if missing.len() == 2));
        assert!(msg.contains(&dir.path().display().to_string()), "{msg}");
        assert!(msg.contains("training images (looked for train-images-idx3-ubyte.gz, train-images-idx3-ubyte, train-images.idx3-ubyte.gz, train-images.idx3-ubyte)"), "{msg}");
        assert!(
            msg.contains("test images (looked for t10k-images-idx3-ubyte.gz"),
            "{msg}"
        );
        assert!(!msg.contains("training labels"), "{msg}");

        let err = load_dir(&dir.path().join("nope")).unwrap_err();
        assert!(matches!(err, WorkerError::NotADirectory { .. }));
        assert!(err.to_string().contains("nope"), "{err}");
    }

    #[test]
    fn real_mnist_extract_loads() {
        let dir = test_mnist_dir();
        assert!(
            dir.is_dir(),
            "test MNIST directory {} does not exist: set {TEST_MNIST_DIR_VAR} to a directory \
             holding the 8,000/2,000-sample MNIST extract (standard IDX .gz files)",
            dir.display()
        );
        let tt = load_dir(&dir).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(tt.train.len, 8000);
        assert_eq!(tt.test.len, 2000);
        for d in [&tt.train, &tt.test] {
            assert_eq!(d.dim, 784);
            assert_eq!(d.classes, 10);
            assert_eq!(d.images.len(), d.len * 784);
            assert!(d.labels.iter().all(|&l| l < 10));
            assert!(d.images.iter().all(|x| (0.0..=1.0).contains(x)));
            assert!(d.class_counts().iter().all(|&c| c > 0));
        }
        let (mean, std) = tt.train.pixel_mean_std();
        assert!(
            (mean - 0.1307).abs() < 0.01,
            "MNIST mean pixel {mean}, expected ≈ 0.1307"
        );
        assert!(
            (std - 0.3081).abs() < 0.02,
            "MNIST pixel std {std}, expected ≈ 0.3081"
        );
    }
}
