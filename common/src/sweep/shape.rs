//! What a dataset gives the network: its input width and its number of classes.
//!
//! The sweep file says only the hidden widths (`model.hidden`); the first and last widths
//! come from the data, so that one sweep can train on 28 × 28 digits and 32 × 32 grey images,
//! 10 or 27 classes. This crate reads no files: the command line reads a dataset directory's
//! headers and labels (`eigensweep_worker::data::read_dir_shape`) and hands the result to
//! [`ValidatedSweep::set_data_shape`](super::ValidatedSweep::set_data_shape); the built-in
//! sources have a shape known without reading ([`DataSource::known_shape`]).
//!
//! ```
//! use eigensweep_common::sweep::{DataShape, ModelSpec};
//!
//! let model = ModelSpec { hidden: vec![100, 100], ..ModelSpec::default() };
//! assert_eq!(model.widths(DataShape::MNIST), vec![784, 100, 100, 10]);
//! assert_eq!(model.param_count(DataShape::MNIST), 89_610);
//! // 32 × 32 grey images of EMNIST letters (labels 1..26: 27 outputs).
//! let letters = DataShape { inputs: 1024, classes: 27 };
//! assert_eq!(model.param_count(letters), 1024 * 100 + 100 + 100 * 100 + 100 + 100 * 27 + 27);
//! ```
//!
//! [`DataSource::known_shape`]: super::DataSource::known_shape

use serde::{Deserialize, Serialize};

/// A dataset's input width and number of classes: the network's first and last widths.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct DataShape {
    /// Values per sample: `rows × cols` of grey images.
    pub inputs: usize,
    /// Network outputs: the largest training label + 1 (labels are never renumbered).
    pub classes: usize,
}

impl DataShape {
    /// MNIST, FashionMNIST and the synthetic look-alike: 28 × 28 grey pixels, 10 classes.
    pub const MNIST: DataShape = DataShape {
        inputs: 784,
        classes: 10,
    };

    /// The shape of a network with these widths (input first, outputs last), if it has at
    /// least two — e.g. as a run recorded them.
    pub fn of_widths(widths: &[usize]) -> Option<DataShape> {
        match widths {
            [inputs, .., classes] => Some(DataShape {
                inputs: *inputs,
                classes: *classes,
            }),
            _ => None,
        }
    }
}
