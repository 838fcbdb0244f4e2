//! One job: the product of two tiles, turned into the rows of the pair tables and written as
//! one part per table (or, for the baseline, into |cos| moments).

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;

use eigensweep_worker::output::{part_file_name, write_table_atomically, Row};
use serde::{Deserialize, Serialize};

use crate::catalog::{Catalog, RunEntry};
use crate::manifest::Moments;
use crate::plan::{Job, JobKind};
use crate::product::{gram_f32, gram_f64, product_flops};
use crate::tables::{
    ConvergenceRow, DisplacementRow, SubspaceOverlapRow, UpdateAlignmentRow, WeightDisplacementRow,
};
use crate::tile::Tile;
use crate::AnalysisError;

/// What a computed job reports back to the leader.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobOutcome {
    /// Position of the job in the plan.
    pub job: usize,
    /// Baseline jobs: |cos| moments per index and N.
    pub baseline: Option<(Vec<Moments>, u64)>,
    /// The error text if the job failed (the leader turns it into an error).
    pub error: Option<String>,
    /// Whether that error was a fatal output error (full disk, quota, read-only or failing
    /// filesystem), which ends the launch with the output exit code.
    #[serde(default)]
    pub fatal_output: bool,
}

/// Time and work spent on one job.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct JobCost {
    /// Seconds in the tile products.
    pub product_seconds: f64,
    /// Floating-point operations of the products.
    pub flops: f64,
    /// Seconds building rows and writing parts.
    pub write_seconds: f64,
}

/// `OUT/analysis/<table>/<dataset>/<optimizer>/seed-<S>`.
pub fn run_table_dir(analysis: &Path, table: &str, run: &RunEntry) -> PathBuf {
    analysis
        .join(table)
        .join(&run.dataset)
        .join(&run.optimizer)
        .join(format!("seed-{}", run.seed))
}

fn write_or_remove<R: Row>(dir: PathBuf, part: u64, rows: &[R]) -> Result<(), AnalysisError> {
    let path = dir.join(part_file_name(part as u32));
    if rows.is_empty() {
        match fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(AnalysisError::io("removing", &path, e)),
        }
    } else {
        fs::create_dir_all(&dir).map_err(|e| AnalysisError::io("creating directory", &dir, e))?;
        Ok(write_table_atomically(&path, rows)?)
    }
}

/// Computes `job` from its two tiles and writes its parts under `analysis`.
pub fn run_job(
    job_index: usize,
    job: &Job,
    left: &Tile,
    right: &Tile,
    catalog: &Catalog,
    analysis: &Path,
) -> Result<(JobOutcome, JobCost), AnalysisError> {
    let mut cost = JobCost::default();
    let n = left.n;
    if right.n != n && !right.is_empty() && !left.is_empty() {
        return Err(AnalysisError::data(
            analysis,
            format!(
                "job {}: eigenvectors of length {n} and {}",
                job.name, right.n
            ),
        ));
    }
    let k = left.k;
    let (ra, rb) = (left.len() * k, right.len() * right.k);
    let started = Instant::now();
    let mut g = vec![0.0; ra * rb];
    gram_f32(&left.vectors, ra, &right.vectors, rb, n, &mut g);
    cost.flops += product_flops(ra, rb, n);
    cost.product_seconds += started.elapsed().as_secs_f64();
    let cos = |sa: usize, i: usize, sb: usize, j: usize| g[(sa * k + i) * rb + sb * right.k + j];
    let mut outcome = JobOutcome {
        job: job_index,
        baseline: None,
        error: None,
        fatal_output: false,
    };
    match job.kind {
        JobKind::BaselinePair { a, b } => {
            let mut moments: Vec<Moments> = (1..=k as u32).map(Moments::empty).collect();
            for sa in 0..left.len() {
                let sb0 = if a == b { sa + 1 } else { 0 };
                for sb in sb0..right.len() {
                    for (i, m) in moments.iter_mut().enumerate() {
                        if left.present[sa * k + i] && right.present[sb * k + i] {
                            m.push(cos(sa, i, sb, i).abs().min(1.0));
                        }
                    }
                }
            }
            outcome.baseline = Some((moments, n as u64));
        }
        JobKind::Final { .. } => {
            let run = &catalog.runs[job.owner as usize];
            let started = Instant::now();
            let final_step = right.steps[0];
            let mut rows = Vec::new();
            for i in 0..k {
                for sa in 0..left.len() {
                    if left.present[sa * k + i] && right.present[i] {
                        rows.push(ConvergenceRow {
                            run_key: run.run_key.clone(),
                            dataset: run.dataset.clone(),
                            optimizer: run.optimizer.clone(),
                            seed: run.seed,
                            index: i as u32 + 1,
                            step: left.steps[sa],
                            final_step,
                            abs_cos: cos(sa, i, 0, i).abs().min(1.0),
                        });
                    }
                }
            }
            write_or_remove(run_table_dir(analysis, "convergence", run), job.part, &rows)?;
            cost.write_seconds += started.elapsed().as_secs_f64();
        }
        JobKind::Pair { a, b } => {
            let run = &catalog.runs[job.owner as usize];
            let same = a == b;
            // θ products, in f64 (see `product`): θ(s)·θ(s') and v_i(s)·θ(s').
            let (ta, tb) = (left.theta_sq.len(), right.theta_sq.len());
            let (mut w, mut x) = (Vec::new(), Vec::new());
            if ta > 0 && tb > 0 {
                let started = Instant::now();
                let theta_b = right.theta_f64();
                w = vec![0.0; ta * tb];
                gram_f64(&left.theta_f64(), ta, &theta_b, tb, n, &mut w);
                x = vec![0.0; ra * tb];
                gram_f64(&left.vectors_f64(), ra, &theta_b, tb, n, &mut x);
                cost.flops += product_flops(ta, tb, n) + product_flops(ra, tb, n);
                cost.product_seconds += started.elapsed().as_secs_f64();
            }
            let started = Instant::now();
            let inv_n = 1.0 / n as f64;
            let mut displacement = Vec::with_capacity(left.len() * right.len() * k);
            let mut overlap = Vec::new();
            let mut weights = Vec::new();
            let mut updates = Vec::new();
            let row_ids = || {
                (
                    run.run_key.clone(),
                    run.dataset.clone(),
                    run.optimizer.clone(),
                )
            };
            for i in 0..k {
                for sa in 0..left.len() {
                    let sb0 = if same { sa + 1 } else { 0 };
                    for sb in sb0..right.len() {
                        if !(left.present[sa * k + i] && right.present[sb * k + i]) {
                            continue;
                        }
                        let (run_key, dataset, optimizer) = row_ids();
                        let abs_cos = cos(sa, i, sb, i).abs().min(1.0);
                        displacement.push(DisplacementRow {
                            run_key,
                            dataset,
                            optimizer,
                            seed: run.seed,
                            index: i as u32 + 1,
                            step_w: left.steps[sa],
                            step: right.steps[sb],
                            lag: right.steps[sb] - left.steps[sa],
                            abs_cos,
                            delta: (2.0 - 2.0 * abs_cos) * inv_n,
                        });
                    }
                }
            }
            for sa in 0..left.len() {
                let sb0 = if same { sa + 1 } else { 0 };
                for sb in sb0..right.len() {
                    let (step_w, step) = (left.steps[sa], right.steps[sb]);
                    let common: Vec<usize> = (0..k)
                        .filter(|&i| left.present[sa * k + i] && right.present[sb * k + i])
                        .collect();
                    if !common.is_empty() {
                        let sum: f64 = common
                            .iter()
                            .flat_map(|&i| common.iter().map(move |&j| (i, j)))
                            .map(|(i, j)| cos(sa, i, sb, j).powi(2))
                            .sum();
                        let (run_key, dataset, optimizer) = row_ids();
                        overlap.push(SubspaceOverlapRow {
                            run_key,
                            dataset,
                            optimizer,
                            seed: run.seed,
                            k: common.len() as u32,
                            step_w,
                            step,
                            lag: step - step_w,
                            overlap: sum / common.len() as f64,
                        });
                    }
                    let (Some(pa), Some(pb)) = (left.theta_row[sa], right.theta_row[sb]) else {
                        continue;
                    };
                    let (pa, pb) = (pa as usize, pb as usize);
                    let dist_sq =
                        (left.theta_sq[pa] + right.theta_sq[pb] - 2.0 * w[pa * tb + pb]).max(0.0);
                    let (run_key, dataset, optimizer) = row_ids();
                    weights.push(WeightDisplacementRow {
                        run_key,
                        dataset,
                        optimizer,
                        seed: run.seed,
                        step_w,
                        step,
                        lag: step - step_w,
                        delta_w: dist_sq * inv_n,
                    });
                    for i in 0..k {
                        let r = sa * k + i;
                        if !left.present[r] {
                            continue;
                        }
                        let along = x[r * tb + pb] - left.v_dot_theta[r];
                        let alignment = if dist_sq > 0.0 {
                            (along.abs() / dist_sq.sqrt()).min(1.0)
                        } else {
                            f64::NAN
                        };
                        let (run_key, dataset, optimizer) = row_ids();
                        updates.push(UpdateAlignmentRow {
                            run_key,
                            dataset,
                            optimizer,
                            seed: run.seed,
                            index: i as u32 + 1,
                            step_w,
                            step,
                            lag: step - step_w,
                            alignment,
                        });
                    }
                }
            }
            // Rows sorted by (index, step_w, step) within the part, as they were built.
            updates.sort_by_key(|r| (r.index, r.step_w, r.step));
            write_or_remove(
                run_table_dir(analysis, "displacement", run),
                job.part,
                &displacement,
            )?;
            write_or_remove(
                run_table_dir(analysis, "subspace_overlap", run),
                job.part,
                &overlap,
            )?;
            write_or_remove(
                run_table_dir(analysis, "weight_displacement", run),
                job.part,
                &weights,
            )?;
            write_or_remove(
                run_table_dir(analysis, "update_alignment_two_time", run),
                job.part,
                &updates,
            )?;
            cost.write_seconds += started.elapsed().as_secs_f64();
        }
    }
    Ok((outcome, cost))
}
