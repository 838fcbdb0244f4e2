//! The minima comparison (Appendix B.2, Fig. 8): per optimiser the run with the best final
//! test accuracy, the loss along the line between every two such minima, and λ1 and the
//! ε-sharpness at each.
//!
//! θ at a run's last step is always stored (the weights table), so this works on every
//! finished sweep; the data must be loaded as the sweep describes it, which only the CLI
//! knows how to do, so the caller passes it in.

mod loss;
pub mod provenance;
mod select;
mod sharpness;
mod table;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;

use eigensweep_worker::data::TrainTest;
use eigensweep_worker::eigen::{top_k_eigenpairs, EigenOptions, Interruptible};
use eigensweep_worker::mlp::{Architecture, HessianOperator, HessianOptions};
use eigensweep_worker::output::{read_table, write_table_atomically};

pub use loss::Evaluator;
pub use provenance::{freshness, Freshness};
pub use select::{best_runs, final_theta, not_selectable, BestRun};
pub use sharpness::{epsilon_sharpness, Sharpness};
pub use table::{InterpolationRow, MinimumRow, INTERPOLATION_FILE, MINIMA_DIR, MINIMA_FILE};

use crate::inputs::{read_out_sweep, Inputs};
use crate::{MinimaOptions, ReportError};

/// What [`minima`] computed and where it wrote it.
#[derive(Debug, Clone, PartialEq)]
pub struct MinimaReport {
    /// One row per dataset and optimiser.
    pub minima: Vec<MinimumRow>,
    /// The interpolation curves.
    pub interpolation: Vec<InterpolationRow>,
    /// Runs that were not candidates (unfinished, diverged, failed), with why, and optimisers
    /// left without a minimum.
    pub not_compared: Vec<String>,
    /// `OUT/minima`.
    pub dir: PathBuf,
    /// Wall-clock seconds.
    pub seconds: f64,
}

/// The two minima tables: the chosen minima and the interpolation curves.
pub type MinimaTables = (Vec<MinimumRow>, Vec<InterpolationRow>);

/// The minima tables of `out`, if `minima` has written them.
pub fn read_minima(out: &Path) -> Result<Option<MinimaTables>, ReportError> {
    let dir = out.join(MINIMA_DIR);
    let (m, i) = (dir.join(MINIMA_FILE), dir.join(INTERPOLATION_FILE));
    if !m.exists() || !i.exists() {
        return Ok(None);
    }
    Ok(Some((read_table(&m)?, read_table(&i)?)))
}

/// The α grid: `points` values evenly over [−1, 2], plus 0 and 1 exactly.
pub fn alpha_grid(points: usize) -> Vec<f64> {
    let mut alphas: Vec<f64> = (0..points)
        .map(|i| -1.0 + 3.0 * i as f64 / (points - 1).max(1) as f64)
        .collect();
    alphas.extend([0.0, 1.0]);
    alphas.sort_by(f64::total_cmp);
    alphas.dedup();
    alphas
}

/// Computes the minima comparison of the sweep in `out` and writes `OUT/minima/`. `data`
/// holds every dataset of the sweep, loaded as the sweep describes it (by name).
///
/// [`MinimaOptions::stop`] ends it early with [`ReportError::Interrupted`]: the tables are
/// written only at the end, so a stopped comparison leaves the previous ones (or none).
pub fn minima(
    out: &Path,
    data: &BTreeMap<String, TrainTest>,
    opts: &MinimaOptions,
) -> Result<MinimaReport, ReportError> {
    let started = Instant::now();
    opts.validate()?;
    let sweep = read_out_sweep(out)?;
    let resolved = sweep.sweep.resolved();
    let inputs = Inputs::load(out)?;
    let alphas = alpha_grid(opts.alpha_points);
    let stopped = || {
        if opts.stop.is_requested() {
            return Err(ReportError::Interrupted {
                step: "the minima comparison",
            });
        }
        Ok(())
    };
    let mut minima = Vec::new();
    let mut interpolation = Vec::new();
    let mut not_compared = Vec::new();

    for dataset in inputs.datasets() {
        not_compared.extend(not_selectable(&inputs, &dataset));
        let best = best_runs(&inputs, &dataset)?;
        if best.is_empty() {
            continue;
        }
        let tt = data.get(&dataset).ok_or_else(|| {
            ReportError::data(out, format!("no data passed for dataset `{dataset}`"))
        })?;
        let mut widths = vec![tt.train.dim];
        widths.extend(&resolved.model.hidden);
        widths.push(tt.train.classes);
        let arch = Architecture::new(widths)
            .map_err(|e| ReportError::data(&out.join("sweep.yaml"), e.to_string()))?;
        let model = |context: String| {
            move |source| ReportError::Model {
                context,
                source: Box::new(source),
            }
        };
        let train = Evaluator::new(&tt.train, &arch, opts.chunk)
            .map_err(model(format!("dataset `{dataset}` (training set)")))?;
        let test = Evaluator::new(&tt.test, &arch, opts.chunk)
            .map_err(model(format!("dataset `{dataset}` (test set)")))?;
        let hessian_samples = resolved
            .snapshots
            .hessian_samples
            .unwrap_or(train.len())
            .min(train.len());
        let hessian_data = train
            .data
            .head(hessian_samples)
            .map_err(model(format!("dataset `{dataset}` (Hessian samples)")))?;
        let (n_train, n_test) = (train.len() as f64, test.len() as f64);
        let both =
            |l_train: f64, l_test: f64| (n_train * l_train + n_test * l_test) / (n_train + n_test);

        let mut thetas = Vec::new();
        for b in &best {
            let what = format!("{dataset}/{}/seed {}", b.optimizer, b.seed);
            let theta = &b.theta;
            stopped()?;
            let (train_loss, _) = train
                .loss_and_accuracy(theta)
                .map_err(model(format!("{what}: training loss")))?;
            // The accuracy of the θ actually compared (the run's last step), not only the
            // metrics' last evaluation that chose the run.
            let (test_loss, test_accuracy) = test
                .loss_and_accuracy(theta)
                .map_err(model(format!("{what}: test loss")))?;
            stopped()?;
            let params = train.params(theta).map_err(model(what.clone()))?;
            let mut op = HessianOperator::new(
                &params,
                &hessian_data.x,
                &hessian_data.onehot,
                &HessianOptions::default(),
            )
            .map_err(model(format!("{what}: Hessian")))?;
            let eigen = top_k_eigenpairs(
                // A stop check before every product: the solve makes up to
                // `eigen_max_products` passes over the Hessian samples, the longest unit here.
                &mut Interruptible {
                    op: &mut op,
                    stop: opts.stop.as_arc(),
                },
                &EigenOptions {
                    k: 1,
                    tol: opts.eigen_tol,
                    max_products: opts.eigen_max_products,
                    seed: b.seed,
                    ..EigenOptions::default()
                },
                None,
            )
            .map_err(|source| match opts.stop.is_requested() {
                true => ReportError::Interrupted {
                    step: "the minima comparison",
                },
                false => ReportError::Eigen {
                    context: format!("{what}: λ1"),
                    source: Box::new(source),
                },
            })?;
            let top = &eigen.pairs[0];
            let sharp = epsilon_sharpness(
                &train,
                theta,
                opts.epsilon,
                opts.sharpness_iterations,
                opts.sharpness_step,
                &opts.stop,
            )
            .map_err(model(format!("{what}: ε-sharpness")))?
            .ok_or(ReportError::Interrupted {
                step: "the minima comparison",
            })?;
            minima.push(MinimumRow {
                dataset: dataset.clone(),
                optimizer: b.optimizer.clone(),
                seed: b.seed,
                run_key: b.run_key.clone(),
                step: b.step,
                test_accuracy,
                train_loss,
                test_loss,
                loss: both(train_loss, test_loss),
                lambda1: top.value,
                lambda1_residual: top.residual,
                lambda1_converged: top.converged,
                hessian_samples: hessian_samples as u64,
                epsilon: opts.epsilon,
                sharpness_iterations: opts.sharpness_iterations as u32,
                sharpness_max_loss: sharp.max_loss,
                sharpness: sharp.sharpness,
            });
            thetas.push((b.optimizer.clone(), theta));
        }

        for (i, (name_a, theta_a)) in thetas.iter().enumerate() {
            for (name_b, theta_b) in &thetas[i + 1..] {
                for &alpha in &alphas {
                    stopped()?;
                    let theta: Vec<f64> = theta_a
                        .iter()
                        .zip(theta_b.iter())
                        .map(|(a, b)| alpha * a + (1.0 - alpha) * b)
                        .collect();
                    let what = format!("{dataset}: {name_a}–{name_b} at α = {alpha}");
                    let (train_loss, train_acc) = train
                        .loss_and_accuracy(&theta)
                        .map_err(model(what.clone()))?;
                    stopped()?;
                    let (test_loss, test_acc) =
                        test.loss_and_accuracy(&theta).map_err(model(what))?;
                    interpolation.push(InterpolationRow {
                        dataset: dataset.clone(),
                        optimizer_a: name_a.clone(),
                        optimizer_b: name_b.clone(),
                        alpha,
                        train_loss,
                        test_loss,
                        loss: both(train_loss, test_loss),
                        accuracy: both(train_acc, test_acc),
                    });
                }
            }
        }
    }
    if minima.is_empty() {
        let mut why =
            "no finished run has a test accuracy and a stored θ: nothing to compare".to_string();
        if !not_compared.is_empty() {
            why.push_str(&format!(" ({})", not_compared.join("; ")));
        }
        return Err(ReportError::data(out, why));
    }
    stopped()?;
    let dir = out.join(MINIMA_DIR);
    fs::create_dir_all(&dir).map_err(|e| ReportError::io("creating directory", &dir, e))?;
    // Tables without a record are stale to every reader: the record goes last.
    let record = provenance::record(&inputs, opts);
    provenance::remove_provenance(&dir)?;
    write_table_atomically(&dir.join(MINIMA_FILE), &minima)?;
    write_table_atomically(&dir.join(INTERPOLATION_FILE), &interpolation)?;
    provenance::write_provenance(&dir, &record)?;
    Ok(MinimaReport {
        minima,
        interpolation,
        not_compared,
        dir,
        seconds: started.elapsed().as_secs_f64(),
    })
}
