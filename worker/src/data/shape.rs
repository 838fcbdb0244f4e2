//! The shape a dataset directory gives its network — input width and number of classes —
//! read from the four IDX files' headers and the labels alone, without decoding an image.
//!
//! - **Inputs**: one per pixel, `rows × cols` of the images (grey; training and test images
//!   must have the same rows and columns).
//! - **Classes**: labels are class indices and are never renumbered: the network has one
//!   output per label value `0..=max`, where `max` is the largest training label. So output
//!   `j` is label `j` in every table and figure, and the last layer reads like that of a
//!   PyTorch model trained on the same files with `CrossEntropyLoss` (which asks the same:
//!   labels `< C`). A value below `max` that no training sample has is an output that is
//!   never a target — EMNIST letters, labelled 1..26, get 27 outputs, output 0 unused, as in
//!   torchvision's `EMNIST(split="letters")`; [`Classes::absent`] lists such values so that
//!   callers can say so. Renumbering the labels present instead would save those few
//!   parameters but make every output index differ from the label the files and other tools
//!   show.
//!
//! Refused, each with the file, what was found and what is needed: a label file without
//! labels, training labels that are all one value (nothing to classify), a test label above
//! the largest training label (a class the network has no output for), image and label
//! files of different lengths, and test images of other rows or columns than the training
//! images. The classes are those of the whole training label file, not of the first
//! `train_size` samples a sweep may use: the network's shape is the dataset's, whatever
//! subset is trained on.
//!
//! ```
//! use eigensweep_worker::data::shape::Classes;
//! use std::path::Path;
//!
//! // EMNIST letters: labels 1..=26 → 27 outputs, output 0 never a target.
//! let labels: Vec<u8> = (0..260).map(|i| 1 + (i % 26) as u8).collect();
//! let classes = Classes::of_training_labels(Path::new("train-labels"), &labels).unwrap();
//! assert_eq!((classes.count, classes.smallest, classes.largest), (27, 1, 26));
//! assert_eq!(classes.absent, vec![0]);
//! ```

use std::path::{Path, PathBuf};

use super::idx::{read_images_header, read_labels, ImagesHeader};
use super::locate::{locate_files, IdxFiles};
use crate::WorkerError;

/// The classes the training labels define: label values `0..count`, `count` = largest + 1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Classes {
    /// Number of classes, i.e. of network outputs: the largest training label + 1.
    pub count: usize,
    /// The smallest training label.
    pub smallest: u8,
    /// The largest training label.
    pub largest: u8,
    /// Label values below `largest` that no training sample has (their outputs are never a
    /// target), ascending.
    pub absent: Vec<u8>,
}

impl Classes {
    /// The classes of a training set with these labels (read from `path`, named in errors):
    /// refused when there are no labels or only one distinct value.
    pub fn of_training_labels(path: &Path, labels: &[u8]) -> Result<Classes, WorkerError> {
        let mut seen = [false; 256];
        for &l in labels {
            seen[usize::from(l)] = true;
        }
        let present: Vec<u8> = (0..=u8::MAX).filter(|&l| seen[usize::from(l)]).collect();
        let (Some(&smallest), Some(&largest)) = (present.first(), present.last()) else {
            return Err(WorkerError::NoSamples {
                path: path.to_path_buf(),
                why: "a training set needs samples of at least 2 classes",
            });
        };
        if present.len() < 2 {
            return Err(WorkerError::SingleClass {
                path: path.to_path_buf(),
                label: smallest,
                count: labels.len(),
            });
        }
        Ok(Classes {
            count: usize::from(largest) + 1,
            smallest,
            largest,
            absent: (0..largest).filter(|&l| !seen[usize::from(l)]).collect(),
        })
    }

    /// Checks that every test label (of `path`) is one of these classes, which the training
    /// labels of `train_labels` defined; a test set without samples is refused too, since it
    /// has no loss or accuracy.
    pub fn check_test_labels(
        &self,
        path: &Path,
        labels: &[u8],
        train_labels: &Path,
    ) -> Result<(), WorkerError> {
        if labels.is_empty() {
            return Err(WorkerError::NoSamples {
                path: path.to_path_buf(),
                why: "test loss and accuracy need at least one test sample",
            });
        }
        match labels
            .iter()
            .enumerate()
            .find(|(_, &l)| usize::from(l) >= self.count)
        {
            Some((index, &label)) => Err(WorkerError::UnknownTestClass {
                path: path.to_path_buf(),
                label,
                index,
                train_labels: train_labels.to_path_buf(),
                largest: self.largest,
                classes: self.count,
            }),
            None => Ok(()),
        }
    }

    /// The absent label values as ranges, `0` or `0, 5..=7`; `None` when every value below
    /// the largest has training samples.
    pub fn absent_text(&self) -> Option<String> {
        let mut ranges: Vec<(u8, u8)> = Vec::new();
        for &l in &self.absent {
            match ranges.last_mut() {
                Some((_, end)) if *end + 1 == l => *end = l,
                _ => ranges.push((l, l)),
            }
        }
        let text: Vec<String> = ranges
            .iter()
            .map(|&(a, b)| {
                if a == b {
                    a.to_string()
                } else {
                    format!("{a}..={b}")
                }
            })
            .collect();
        (!text.is_empty()).then(|| text.join(", "))
    }
}

/// What a dataset directory's headers and labels say: the network's input width and classes,
/// and the sample counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirShape {
    /// The four files.
    pub files: IdxFiles,
    /// Pixel rows per image.
    pub rows: usize,
    /// Pixel columns per image.
    pub cols: usize,
    /// Training samples in the files.
    pub train_len: usize,
    /// Test samples in the files.
    pub test_len: usize,
    /// The classes of the training labels.
    pub classes: Classes,
}

impl DirShape {
    /// The network's input width: `rows × cols`.
    pub fn inputs(&self) -> usize {
        self.rows * self.cols
    }
}

/// Reads the shape of the dataset in `dir` (see [`locate_files`]) from the image headers and
/// the labels, checking everything that would make it unusable (module docs). Cheap: the
/// images are not read past their headers, gzip or not; only the labels are read whole.
pub fn read_dir_shape(dir: &Path) -> Result<DirShape, WorkerError> {
    let files = locate_files(dir)?;
    let pair = |images: &PathBuf, labels: &PathBuf| -> Result<_, WorkerError> {
        let header = read_images_header(images)?;
        let label_vec = read_labels(labels)?;
        if label_vec.len() != header.count {
            return Err(WorkerError::CountMismatch {
                images: images.clone(),
                n_images: header.count,
                labels: labels.clone(),
                n_labels: label_vec.len(),
            });
        }
        Ok((header, label_vec))
    };
    let (train, train_labels) = pair(&files.train_images, &files.train_labels)?;
    let (test, test_labels) = pair(&files.test_images, &files.test_labels)?;
    let size = |h: &ImagesHeader| (h.rows, h.cols);
    if size(&test) != size(&train) {
        return Err(WorkerError::BadHeader {
            path: files.test_images.clone(),
            detail: format!(
                "test images of {}×{} pixels, but the training images in {} are {}×{}",
                test.rows,
                test.cols,
                files.train_images.display(),
                train.rows,
                train.cols
            ),
        });
    }
    let classes = Classes::of_training_labels(&files.train_labels, &train_labels)?;
    classes.check_test_labels(&files.test_labels, &test_labels, &files.train_labels)?;
    Ok(DirShape {
        rows: train.rows,
        cols: train.cols,
        train_len: train.count,
        test_len: test.count,
        classes,
        files,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::idx::{write_idx_images, write_idx_labels};

    /// A dataset directory: `train` and `test` labels, images of `rows × cols` (gzip or not).
    fn dataset(dir: &Path, (rows, cols): (usize, usize), train: &[u8], test: &[u8], gz: bool) {
        let suffix = if gz { ".gz" } else { "" };
        for (role, labels) in [("train", train), ("t10k", test)] {
            let pixels = vec![7u8; labels.len() * rows * cols];
            let images = dir.join(format!("{role}-images-idx3-ubyte{suffix}"));
            write_idx_images(&images, rows, cols, &pixels, gz).unwrap();
            let label_file = dir.join(format!("{role}-labels-idx1-ubyte{suffix}"));
            write_idx_labels(&label_file, labels, gz).unwrap();
        }
    }

    #[test]
    fn inputs_come_from_the_header_and_classes_from_the_largest_training_label() {
        for gz in [false, true] {
            let tmp = tempfile::tempdir().unwrap();
            let train: Vec<u8> = (0..200).map(|i| (i % 10) as u8).collect();
            dataset(tmp.path(), (32, 32), &train, &[0, 9, 3], gz);
            let s = read_dir_shape(tmp.path()).unwrap();
            assert_eq!((s.rows, s.cols, s.inputs()), (32, 32, 1024));
            assert_eq!((s.train_len, s.test_len), (200, 3));
            assert_eq!(
                s.classes,
                Classes {
                    count: 10,
                    smallest: 0,
                    largest: 9,
                    absent: vec![]
                }
            );
            assert_eq!(s.classes.absent_text(), None);
        }
    }

    #[test]
    fn emnist_letters_keep_their_labels_and_class_zero_is_an_unused_output() {
        let tmp = tempfile::tempdir().unwrap();
        let train: Vec<u8> = (0..260).map(|i| 1 + (i % 26) as u8).collect();
        dataset(tmp.path(), (28, 28), &train, &[1, 26, 13], true);
        let s = read_dir_shape(tmp.path()).unwrap();
        assert_eq!(s.classes.count, 27);
        assert_eq!((s.classes.smallest, s.classes.largest), (1, 26));
        assert_eq!(s.classes.absent_text().as_deref(), Some("0"));
        // The same labels shifted to 0..25 give 26 classes and no unused output.
        let zero_based: Vec<u8> = train.iter().map(|l| l - 1).collect();
        let c = Classes::of_training_labels(Path::new("l"), &zero_based).unwrap();
        assert_eq!((c.count, c.absent.len()), (26, 0));
        // Gaps are listed as ranges.
        let c = Classes::of_training_labels(Path::new("l"), &[1, 4, 8, 9]).unwrap();
        assert_eq!(c.count, 10);
        assert_eq!(c.absent_text().as_deref(), Some("0, 2..=3, 5..=7"));
    }

    #[test]
    fn label_sets_that_make_no_classifier_are_refused_naming_the_file() {
        let p = Path::new("/d/train-labels-idx1-ubyte");
        let err = Classes::of_training_labels(p, &[]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "reading /d/train-labels-idx1-ubyte: no labels: a training set needs samples of at \
             least 2 classes"
        );
        let err = Classes::of_training_labels(p, &[3, 3, 3]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "reading /d/train-labels-idx1-ubyte: every one of its 3 labels is 3: a classifier \
             needs at least 2 classes among the training labels"
        );
        let c = Classes::of_training_labels(p, &[0, 1, 2]).unwrap();
        let t = Path::new("/d/t10k-labels-idx1-ubyte");
        assert!(c.check_test_labels(t, &[2, 0], p).is_ok());
        let err = c.check_test_labels(t, &[], p).unwrap_err();
        assert!(err.to_string().contains("no labels: test loss"), "{err}");
    }

    #[test]
    fn a_test_label_outside_the_training_classes_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        dataset(tmp.path(), (4, 4), &[0, 1, 2, 1], &[1, 5], false);
        let err = read_dir_shape(tmp.path()).unwrap_err();
        let files = locate_files(tmp.path()).unwrap();
        assert_eq!(
            err.to_string(),
            format!(
                "reading {}: label 5 at index 1 is not a class of the training set: the largest \
                 label in {} is 2, so the network has 3 outputs (classes 0..=2)",
                files.test_labels.display(),
                files.train_labels.display()
            )
        );
    }

    #[test]
    fn mismatched_counts_and_image_sizes_are_refused() {
        let tmp = tempfile::tempdir().unwrap();
        dataset(tmp.path(), (4, 4), &[0, 1, 2, 1], &[1, 0], false);
        let files = locate_files(tmp.path()).unwrap();
        write_idx_labels(&files.train_labels, &[0, 1, 2], false).unwrap();
        let err = read_dir_shape(tmp.path()).unwrap_err();
        assert!(
            matches!(
                err,
                WorkerError::CountMismatch {
                    n_images: 4,
                    n_labels: 3,
                    ..
                }
            ),
            "{err}"
        );
        write_idx_labels(&files.train_labels, &[0, 1, 2, 1], false).unwrap();
        write_idx_images(&files.test_images, 2, 8, &[0; 2 * 16], false).unwrap();
        let err = read_dir_shape(tmp.path()).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "reading {}: bad header: test images of 2×8 pixels, but the training images in \
                 {} are 4×4",
                files.test_images.display(),
                files.train_images.display()
            )
        );
    }
}
