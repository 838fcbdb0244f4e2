//! The shape of the network and the layout of its flat parameter vector.

use crate::WorkerError;

/// How biases start. METHOD.md's default is zero; PyTorch's `nn.Linear` default is offered so
/// results can be compared with PyTorch-initialised runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BiasInit {
    /// All biases zero.
    #[default]
    Zero,
    /// U(−1/√fan_in, 1/√fan_in), as `torch.nn.Linear`.
    PyTorchUniform,
}

/// A fully connected ReLU network `widths[0] → widths[1] → … → widths[L]`, biases on every
/// layer, ReLU after every layer but the last.
///
/// The flat parameter vector is laid out as PyTorch's `parameters_to_vector` lays out an
/// `nn.Sequential` of `nn.Linear`s: for each layer, the weight as an `out × in` row-major
/// matrix, then the bias. Eigenvectors are stored in this order, so they can be compared
/// one-to-one with a PyTorch model of the same shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Architecture {
    widths: Vec<usize>,
}

/// Where one layer's weight and bias sit in the flat vector.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LayerSlots {
    /// Input width (`fan_in`).
    pub fan_in: usize,
    /// Output width (`fan_out`).
    pub fan_out: usize,
    /// Offset of the `fan_out × fan_in` weight.
    pub weight_offset: usize,
    /// Offset of the `fan_out` bias.
    pub bias_offset: usize,
}

impl Architecture {
    /// Checks and wraps the widths: [`WorkerError::TooFewLayers`] for fewer than two,
    /// [`WorkerError::ZeroWidth`] for a zero width.
    pub fn new(widths: Vec<usize>) -> Result<Self, WorkerError> {
        if widths.len() < 2 {
            return Err(WorkerError::TooFewLayers(widths));
        }
        if widths.contains(&0) {
            return Err(WorkerError::ZeroWidth(widths));
        }
        Ok(Self { widths })
    }

    /// The paper's 784-100-100-10 network (N = 89,610).
    pub fn paper() -> Self {
        Self {
            widths: vec![784, 100, 100, 10],
        }
    }

    /// Layer widths, input first.
    pub fn widths(&self) -> &[usize] {
        &self.widths
    }

    /// Number of linear layers.
    pub fn num_layers(&self) -> usize {
        self.widths.len() - 1
    }

    /// Input dimension.
    pub fn input_dim(&self) -> usize {
        self.widths[0]
    }

    /// Number of classes.
    pub fn output_dim(&self) -> usize {
        *self.widths.last().expect("at least two widths")
    }

    /// Total number of parameters N.
    pub fn num_params(&self) -> usize {
        self.widths.windows(2).map(|w| w[0] * w[1] + w[1]).sum()
    }

    /// The flat-vector slots of every layer, in order.
    pub fn layers(&self) -> Vec<LayerSlots> {
        let mut offset = 0;
        self.widths
            .windows(2)
            .map(|w| {
                let slots = LayerSlots {
                    fan_in: w[0],
                    fan_out: w[1],
                    weight_offset: offset,
                    bias_offset: offset + w[0] * w[1],
                };
                offset += w[0] * w[1] + w[1];
                slots
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paper_network_has_89610_parameters() {
        assert_eq!(Architecture::paper().num_params(), 89_610);
        let layers = Architecture::paper().layers();
        assert_eq!(layers[1].weight_offset, 784 * 100 + 100);
        assert_eq!(layers[2].bias_offset + 10, 89_610);
    }

    #[test]
    fn rejects_bad_widths() {
        assert!(matches!(
            Architecture::new(vec![5]),
            Err(WorkerError::TooFewLayers(_))
        ));
        assert!(matches!(
            Architecture::new(vec![5, 0, 2]),
            Err(WorkerError::ZeroWidth(_))
        ));
    }
}
