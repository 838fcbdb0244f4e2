//! ε-sharpness (Keskar et al. 2017, as METHOD.md fixes it): the largest relative rise of the
//! loss inside the box |y_j| ≤ ε(|θ_j| + 1) around a minimum,
//! (max_y L(θ + y) − L(θ)) / (1 + L(θ)) × 100.
//!
//! Keskar et al. maximise with L-BFGS-B; we use projected gradient ascent with sign steps
//! (each coordinate moves by a fixed fraction of its own box half-width, then is clipped to
//! the box), the natural ascent for a box, whose steps do not depend on the gradient's
//! scale. The largest loss seen at any iterate (y = 0 included) is the estimate, so it is
//! never negative and is exactly 0 for ε = 0.

use eigensweep_common::stop::StopFlag;
use eigensweep_worker::WorkerError;

use super::loss::Evaluator;

/// The outcome of [`epsilon_sharpness`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sharpness {
    /// L(θ).
    pub loss: f64,
    /// The largest L(θ + y) found.
    pub max_loss: f64,
    /// (max_loss − loss) / (1 + loss) × 100.
    pub sharpness: f64,
}

/// ε-sharpness of the loss `eval` computes, at `theta`, after `iterations` ascent steps of
/// `step` box half-widths each; `None` if `stop` was requested before the last step (each
/// step is one pass over the data).
pub fn epsilon_sharpness(
    eval: &Evaluator,
    theta: &[f64],
    epsilon: f64,
    iterations: usize,
    step: f64,
    stop: &StopFlag,
) -> Result<Option<Sharpness>, WorkerError> {
    let radius: Vec<f64> = theta.iter().map(|t| epsilon * (t.abs() + 1.0)).collect();
    let mut y = vec![0.0; theta.len()];
    let mut point = theta.to_vec();
    let mut loss = f64::NAN;
    let mut max_loss = f64::NEG_INFINITY;
    for it in 0..=iterations {
        if stop.is_requested() {
            return Ok(None);
        }
        let last = it == iterations;
        let (l, gradient) = if last {
            (eval.loss_and_accuracy(&point)?.0, Vec::new())
        } else {
            eval.loss_and_gradient(&point)?
        };
        if it == 0 {
            // The starting point is θ itself: its loss is L(θ), computed the same way as
            // every other iterate, so that ε = 0 gives exactly 0.
            loss = l;
        }
        if l.is_finite() {
            max_loss = max_loss.max(l);
        }
        if last || epsilon == 0.0 {
            break;
        }
        for j in 0..y.len() {
            let r = radius[j];
            let g = gradient[j];
            if g != 0.0 {
                y[j] = (y[j] + step * r * g.signum()).clamp(-r, r);
            }
            point[j] = theta[j] + y[j];
        }
    }
    // The final evaluation (without gradient) may differ from the gradient pass at θ by
    // rounding; L(θ) is taken from the first pass and the maximum includes it.
    max_loss = max_loss.max(loss);
    Ok(Some(Sharpness {
        loss,
        max_loss,
        sharpness: (max_loss - loss) / (1.0 + loss) * 100.0,
    }))
}
