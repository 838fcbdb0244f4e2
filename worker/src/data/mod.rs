//! Datasets: the images and labels a run trains and evaluates on.
//!
//! Everything downstream (training, Hessian-vector products, evaluation) sees only a
//! [`Dataset`]: a dense row-major `f32` matrix of images plus `u8` labels. This module is the
//! only place that knows about files, so that the numerical code never has to handle I/O
//! errors:
//!
//! - [`idx`] reads and writes the MNIST-style IDX format, plain or gzip, strictly (magic
//!   numbers, shapes, exact byte counts), scaling pixels to `[0, 1]`.
//! - [`shape`] reads what a dataset directory gives the network — input width (`rows ×
//!   cols`) and classes (one per label value up to the largest training label) — from the
//!   headers and labels alone, and refuses label sets no classifier can use.
//! - [`locate`] names the datasets ([`DatasetKind`]), finds the four standard files in a
//!   directory ([`locate_files`]) and chooses the cache directory ([`cache_dir`]).
//! - [`load`] reads a dataset directory, or a cached dataset, into a [`TrainTest`]
//!   ([`load_dir`], [`load_cached`]).
//! - [`digest`] identifies a dataset directory by its files' content, for run keys.
//! - [`synthetic`](mod@synthetic) makes a seeded, learnable, MNIST-shaped dataset for tests
//!   and for machines without the real data.
//! - [`fetch`](mod@fetch) downloads the standard files into the cache and verifies their
//!   SHA-256 digests; offline it explains how to place them by hand.
//!
//! All fallible functions return [`WorkerError`], whose messages name the file concerned.

mod atomic;
pub mod digest;
pub mod fetch;
pub mod idx;
pub mod load;
pub mod locate;
pub mod shape;
pub mod synthetic;

pub use digest::data_digest;
pub use fetch::{fetch, manual_instructions, standard_files, verify_file, RemoteFile};
pub use idx::{
    load_idx_pair, read_images, read_images_header, read_labels, write_idx_images,
    write_idx_labels, ImagesHeader,
};
pub use load::{load_cached, load_dir};
pub use locate::{
    cache_dir, cached_dataset_dir, locate_files, test_mnist_dir, DatasetKind, IdxFiles,
};
pub use shape::{read_dir_shape, Classes, DirShape};
pub use synthetic::synthetic;

use crate::WorkerError;

/// Images as f32 rows of `dim` pixels (row-major, len*dim values) and labels < classes.
///
/// The fields are public so that hot loops can borrow the raw slices; code that builds a
/// `Dataset` from parts should go through [`Dataset::new`], which checks that they fit.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    /// `len * dim` pixel values, sample after sample.
    pub images: Vec<f32>,
    /// `len` class indices, each `< classes`.
    pub labels: Vec<u8>,
    /// Number of samples.
    pub len: usize,
    /// Values per sample (784 for 28×28 images).
    pub dim: usize,
    /// Number of classes (10 for MNIST and FashionMNIST; for IDX files, the largest training
    /// label + 1, see [`shape`]).
    pub classes: usize,
}

/// A training set and a test set of the same shape and classes.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainTest {
    /// The data training (and the Hessian) sees.
    pub train: Dataset,
    /// Held-out data for test loss and accuracy.
    pub test: Dataset,
}

impl Dataset {
    /// Builds a dataset from parts, checking that the sizes agree and every label is a class.
    ///
    /// The length is taken from `labels`, because a label count cannot be ambiguous while a
    /// pixel count can (any multiple of `dim`).
    pub fn new(
        images: Vec<f32>,
        labels: Vec<u8>,
        dim: usize,
        classes: usize,
    ) -> Result<Dataset, WorkerError> {
        let len = labels.len();
        if dim == 0 {
            return Err(WorkerError::InvalidDataset("dim must be at least 1".into()));
        }
        if classes == 0 || classes > usize::from(u8::MAX) + 1 {
            return Err(WorkerError::InvalidDataset(format!(
                "classes must be in 1..=256, got {classes}"
            )));
        }
        if len.checked_mul(dim) != Some(images.len()) {
            return Err(WorkerError::InvalidDataset(format!(
                "{} pixel values do not make {len} samples of {dim}",
                images.len()
            )));
        }
        if let Some((index, &label)) = labels
            .iter()
            .enumerate()
            .find(|(_, &l)| usize::from(l) >= classes)
        {
            return Err(WorkerError::InvalidDataset(format!(
                "label {label} at index {index} is not < {classes}"
            )));
        }
        Ok(Dataset {
            images,
            labels,
            len,
            dim,
            classes,
        })
    }

    /// The `dim` pixels of sample `i`, or `None` past the end.
    pub fn image(&self, i: usize) -> Option<&[f32]> {
        let start = i.checked_mul(self.dim)?;
        self.images.get(start..start.checked_add(self.dim)?)
    }

    /// The first `n` samples, e.g. to compute the Hessian on a fixed subset (METHOD.md).
    ///
    /// "First" rather than random so that the subset is the same for every seed and every
    /// reader of the same files. `n == 0` is an error because an empty dataset has no loss.
    pub fn subset(&self, n: usize) -> Result<Dataset, WorkerError> {
        self.check_subset(n)?;
        self.gather(0..n)
    }

    /// Refuses a subset of `n` samples that cannot be taken: `n == 0` or more than there are.
    fn check_subset(&self, n: usize) -> Result<(), WorkerError> {
        if n == 0 || n > self.len {
            return Err(WorkerError::BadSubset {
                requested: n,
                len: self.len,
            });
        }
        Ok(())
    }

    /// The samples at `indices`, in that order.
    fn gather(
        &self,
        indices: impl ExactSizeIterator<Item = usize>,
    ) -> Result<Dataset, WorkerError> {
        let n = indices.len();
        let mut images = Vec::with_capacity(n * self.dim);
        let mut labels = Vec::with_capacity(n);
        for i in indices {
            // `get` rather than indexing: the fields are public, so they may disagree.
            let (Some(image), Some(&label)) = (self.image(i), self.labels.get(i)) else {
                return Err(WorkerError::InvalidDataset(format!(
                    "len {} and dim {} do not match {} pixel values and {} labels",
                    self.len,
                    self.dim,
                    self.images.len(),
                    self.labels.len()
                )));
            };
            images.extend_from_slice(image);
            labels.push(label);
        }
        Ok(Dataset {
            images,
            labels,
            len: n,
            dim: self.dim,
            classes: self.classes,
        })
    }

    /// `n` samples drawn uniformly without replacement by a seeded stream, kept in file
    /// order: the documented, reproducible way to train on part of a real dataset
    /// (`train_size` / `test_size` with `seed` in a sweep file). `stream` is the sub-stream
    /// of [`Stream::Subset`](crate::rng::Stream::Subset): 0 for a training set, 1 for a test
    /// set, so the two selections are independent. `n == len` keeps every sample in order.
    ///
    /// The draw is a partial Fisher–Yates shuffle fed by ChaCha8 through an explicit
    /// rejection step (no library sampler whose algorithm could change between versions), so
    /// the selection is the same on every machine and every eigensweep release.
    ///
    /// Errors: [`WorkerError::BadSubset`] for `n == 0` or `n > len`.
    pub fn sample(&self, n: usize, seed: u64, stream: u64) -> Result<Dataset, WorkerError> {
        self.check_subset(n)?;
        let mut rng = crate::rng::stream_rng(seed, crate::rng::Stream::Subset, stream);
        let mut order: Vec<usize> = (0..self.len).collect();
        for i in 0..n {
            let j = i + bounded(&mut rng, (self.len - i) as u64) as usize;
            order.swap(i, j);
        }
        let mut chosen = order[..n].to_vec();
        chosen.sort_unstable();
        self.gather(chosen.into_iter())
    }

    /// Replaces every pixel x by `(x - mean) / std`, the optional normalisation of METHOD.md.
    ///
    /// Rejects a std that is not finite and positive (and a non-finite mean) before touching
    /// any value, so a bad option never leaves half-normalised data behind.
    pub fn normalize(&mut self, mean: f32, std: f32) -> Result<(), WorkerError> {
        // The sweep's validation applies the same rule (`positive_f32`): a subnormal std would
        // turn pixels into infinities.
        if !mean.is_finite() || !std.is_finite() || !std.is_normal() || std <= 0.0 {
            return Err(WorkerError::BadNormalization { mean, std });
        }
        for x in &mut self.images {
            *x = (*x - mean) / std;
        }
        Ok(())
    }

    /// Mean and (population) standard deviation over all pixels of all samples.
    ///
    /// Accumulated in `f64` with two passes, so the result does not drift with the size of
    /// the dataset. An empty dataset gives `(0.0, 0.0)`.
    pub fn pixel_mean_std(&self) -> (f64, f64) {
        if self.images.is_empty() {
            return (0.0, 0.0);
        }
        let n = self.images.len() as f64;
        let mean = self.images.iter().map(|&x| f64::from(x)).sum::<f64>() / n;
        let var = self
            .images
            .iter()
            .map(|&x| {
                let d = f64::from(x) - mean;
                d * d
            })
            .sum::<f64>()
            / n;
        (mean, var.sqrt())
    }

    /// How many samples each class has (index = class).
    pub fn class_counts(&self) -> Vec<usize> {
        let mut counts = vec![0; self.classes];
        for &l in &self.labels {
            if let Some(c) = counts.get_mut(usize::from(l)) {
                *c += 1;
            }
        }
        counts
    }
}

/// Uniform in `0..bound` (`bound ≥ 1`) from a 64-bit stream: values in the last, partial
/// block of `bound` are rejected so that every remainder is equally likely.
fn bounded(rng: &mut impl rand::RngCore, bound: u64) -> u64 {
    let zone = u64::MAX - u64::MAX % bound;
    loop {
        let v = rng.next_u64();
        if v < zone {
            return v % bound;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny() -> Dataset {
        Dataset::new(vec![0.0, 1.0, 0.5, 0.5, 1.0, 0.0], vec![0, 1, 2], 2, 3).unwrap()
    }

    #[test]
    fn new_checks_shapes_and_labels() {
        assert!(matches!(
            Dataset::new(vec![0.0; 5], vec![0, 1], 3, 10),
            Err(WorkerError::InvalidDataset(_))
        ));
        let err = Dataset::new(vec![0.0; 4], vec![0, 3], 2, 3).unwrap_err();
        assert!(
            err.to_string().contains("label 3 at index 1 is not < 3"),
            "{err}"
        );
        assert!(Dataset::new(vec![], vec![], 0, 10).is_err());
        let d = tiny();
        assert_eq!((d.len, d.dim, d.classes), (3, 2, 3));
        assert_eq!(d.image(1), Some(&[0.5, 0.5][..]));
        assert_eq!(d.image(3), None);
        assert_eq!(d.class_counts(), vec![1, 1, 1]);
    }

    #[test]
    fn subset_takes_the_first_samples() {
        let d = tiny();
        let s = d.subset(2).unwrap();
        assert_eq!(s.len, 2);
        assert_eq!(s.images, vec![0.0, 1.0, 0.5, 0.5]);
        assert_eq!(s.labels, vec![0, 1]);
        assert_eq!(d.subset(3).unwrap(), d);
        assert!(matches!(
            d.subset(0),
            Err(WorkerError::BadSubset {
                requested: 0,
                len: 3
            })
        ));
        let err = d.subset(4).unwrap_err();
        assert!(matches!(
            err,
            WorkerError::BadSubset {
                requested: 4,
                len: 3
            }
        ));
        assert!(err.to_string().contains("4 samples"), "{err}");
        // Public fields that disagree give an error, not a panic.
        let mut bad = d.clone();
        bad.len = 5;
        assert!(matches!(bad.subset(4), Err(WorkerError::InvalidDataset(_))));
    }

    #[test]
    fn sample_is_seeded_uniform_and_in_file_order() {
        // 100 samples whose single pixel is their index.
        let d = Dataset::new(
            (0..100).map(|i| i as f32).collect(),
            (0..100).map(|i| (i % 10) as u8).collect(),
            1,
            10,
        )
        .unwrap();
        let a = d.sample(30, 7, 0).unwrap();
        assert_eq!(a.len, 30);
        assert_eq!(a, d.sample(30, 7, 0).unwrap(), "same seed, same selection");
        assert_ne!(
            a,
            d.sample(30, 8, 0).unwrap(),
            "another seed, another selection"
        );
        assert_ne!(
            a,
            d.sample(30, 7, 1).unwrap(),
            "train and test streams differ"
        );
        // In file order, distinct, labels travel with their images.
        assert!(a.images.windows(2).all(|w| w[0] < w[1]), "{:?}", a.images);
        for (x, l) in a.images.iter().zip(&a.labels) {
            assert_eq!(*l as usize, *x as usize % 10);
        }
        // Not the first N.
        assert_ne!(a, d.subset(30).unwrap());
        // All of them: the dataset unchanged.
        assert_eq!(d.sample(100, 3, 0).unwrap(), d);
        assert!(matches!(
            d.sample(0, 0, 0),
            Err(WorkerError::BadSubset { requested: 0, .. })
        ));
        assert!(matches!(
            d.sample(101, 0, 0),
            Err(WorkerError::BadSubset { requested: 101, .. })
        ));
        // Uniform: over many seeds every index is chosen about n/len of the time.
        let mut hits = [0u32; 100];
        for seed in 0..2000 {
            for x in d.sample(10, seed, 0).unwrap().images {
                hits[x as usize] += 1;
            }
        }
        // Expected 200 each; a binomial(2000, 0.1) stays within ±60 at ~4.7 sigma.
        assert!(hits.iter().all(|&h| (140..=260).contains(&h)), "{hits:?}");
    }

    #[test]
    fn normalize_and_statistics() {
        let mut d = tiny();
        let (mean, std) = d.pixel_mean_std();
        assert!((mean - 0.5).abs() < 1e-12);
        // Values 0,1,.5,.5,1,0: variance = (4·0.25 + 2·0)/6 = 1/6.
        assert!((std - (1.0f64 / 6.0).sqrt()).abs() < 1e-12);
        d.normalize(mean as f32, std as f32).unwrap();
        let (m2, s2) = d.pixel_mean_std();
        assert!(m2.abs() < 1e-6, "{m2}");
        assert!((s2 - 1.0).abs() < 1e-6, "{s2}");

        let before = d.clone();
        for (m, s) in [
            (0.0, 0.0),
            (0.0, -1.0),
            (0.0, f32::NAN),
            (f32::INFINITY, 1.0),
        ] {
            assert!(matches!(
                d.normalize(m, s),
                Err(WorkerError::BadNormalization { .. })
            ));
        }
        assert_eq!(
            d, before,
            "a rejected normalisation must not change the data"
        );

        let empty = Dataset::new(vec![], vec![], 4, 10).unwrap();
        assert_eq!(empty.pixel_mean_std(), (0.0, 0.0));
    }
}
