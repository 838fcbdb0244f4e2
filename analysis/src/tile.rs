//! Tiles: the unit in which vectors travel between workers. A tile is a block of consecutive
//! snapshots of one run (or of baseline networks of one dataset) with the eigenvectors of
//! every index at each, and θ where it was stored.
//!
//! All indices of a snapshot travel together because the subspace overlap needs the products
//! between different indices anyway; one product of two tiles then yields every quantity of
//! the pair tables at once.

use std::collections::BTreeSet;

use arrow_array::{Array, Float32Array, ListArray};
use serde::{Deserialize, Serialize};

use eigensweep_worker::memory::{thousands, try_filled, try_reserve, Need};
use eigensweep_worker::WorkerError;

use crate::catalog::{column, int_column, read_columns, PartSteps};
use crate::AnalysisError;

/// Which tile: a block of a run, the run's final snapshot, or a block of a baseline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum TileKey {
    /// Snapshots `[block·tile, (block+1)·tile)` of run `run` (position in the catalog).
    Run {
        /// Run position in the catalog.
        run: u32,
        /// Block number.
        block: u32,
    },
    /// The last snapshot of run `run` (for the convergence table).
    RunFinal {
        /// Run position in the catalog.
        run: u32,
    },
    /// Networks `[block·tile, (block+1)·tile)` of baseline `dataset` (position in the catalog).
    Baseline {
        /// Baseline position in the catalog.
        dataset: u32,
        /// Block number.
        block: u32,
    },
}

impl TileKey {
    /// A stable number for spreading tiles over loaders (same on every process).
    pub fn spread(&self) -> u64 {
        let (kind, a, b) = match *self {
            TileKey::Run { run, block } => (1u64, run, block),
            TileKey::RunFinal { run } => (2, run, 0),
            TileKey::Baseline { dataset, block } => (3, dataset, block),
        };
        // SplitMix64 of the packed fields: neighbouring blocks land on different workers.
        let mut z = kind
            .wrapping_mul(0x9E37_79B9_7F4A_7C15)
            .wrapping_add(u64::from(a) << 32 | u64::from(b));
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// The vectors of one tile. Row `s·k + i` of `vectors` is eigen-index `i + 1` at the tile's
/// `s`-th snapshot (all zero, and `present` false, where that index is missing).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tile {
    /// Which tile.
    pub key: TileKey,
    /// Steps (baseline: network numbers), ascending.
    pub steps: Vec<u64>,
    /// Rows per snapshot: the largest eigen-index of the run.
    pub k: usize,
    /// Vector length N.
    pub n: usize,
    /// `steps.len()·k` rows of `n` entries.
    pub vectors: Vec<f32>,
    /// Whether row `s·k + i` holds an eigenvector.
    pub present: Vec<bool>,
    /// Per snapshot, the row of `theta` holding θ there.
    pub theta_row: Vec<Option<u32>>,
    /// θ rows of `n` entries.
    pub theta: Vec<f32>,
    /// ‖θ‖² per θ row, in f64.
    pub theta_sq: Vec<f64>,
    /// v_i(s)·θ(s) per row of `vectors` (NaN where θ(s) is missing), in f64.
    pub v_dot_theta: Vec<f64>,
}

impl Tile {
    /// Snapshots in the tile.
    pub fn len(&self) -> usize {
        self.steps.len()
    }

    /// Whether the tile holds no snapshot.
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// The θ rows as f64 (for the products that need f64 accumulation).
    pub fn theta_f64(&self) -> Vec<f64> {
        self.theta.iter().map(|&x| f64::from(x)).collect()
    }

    /// The eigenvector rows as f64.
    pub fn vectors_f64(&self) -> Vec<f64> {
        self.vectors.iter().map(|&x| f64::from(x)).collect()
    }

    /// Bytes of vector data held.
    pub fn bytes(&self) -> usize {
        (self.vectors.len() + self.theta.len()) * 4
    }
}

/// Where a tile's vectors are: the parts, which columns, and which steps.
pub(crate) struct TileSource<'a> {
    pub key: TileKey,
    pub steps: &'a [u64],
    pub k: usize,
    /// Parts holding the eigenvectors.
    pub vector_parts: &'a [PartSteps],
    /// Name of the step column in those parts ("step" or "network").
    pub step_column: &'static str,
    /// Parts holding θ (empty for baselines), and the steps whose θ is wanted.
    pub theta_parts: &'a [PartSteps],
    pub theta_steps: &'a BTreeSet<u64>,
}

/// The description of a tile's `rows` vectors of `n` entries (`what`: eigenvectors or θ).
fn tile_need(key: TileKey, what: &str, rows: usize, n: usize) -> Need {
    Need {
        buffer: format!("the {what} of tile {key:?}"),
        size: format!(
            "{} rows × {} entries × 4 bytes; a tile holds --tile-rows rows (its snapshots × \
             their eigen-indices), --panel tiles of two waves at a time per worker (-w)",
            thousands(rows as u64),
            thousands(n as u64)
        ),
    }
}

/// A tile's buffer that could not be allocated, as the analysis reports it: the part being
/// read, and what to lower.
fn tile_memory(path: &std::path::Path, e: WorkerError) -> AnalysisError {
    AnalysisError::data(
        path,
        format!("{e}: lower --tile-rows, --panel or -w, or give the job more memory"),
    )
}

/// Reads one tile from its Parquet parts (only the parts holding its steps are opened).
///
/// Its vectors (`--tile-rows` rows of N f32) are allocated fallibly: a tile the memory cannot
/// hold is an error naming the tile, its size and the options that set it, not an abort.
pub(crate) fn load_tile(src: &TileSource<'_>) -> Result<Tile, AnalysisError> {
    let wanted: BTreeSet<u64> = src.steps.iter().copied().collect();
    let position = |step: u64| src.steps.binary_search(&step).ok();
    let rows = src.steps.len() * src.k;
    let mut n = None::<usize>;
    let mut vectors: Vec<f32> = Vec::new();
    let mut present = vec![false; rows];
    for part in src.vector_parts {
        if part.steps.is_disjoint(&wanted) {
            continue;
        }
        for batch in read_columns(&part.path, &[src.step_column, "index", "eigenvector"])? {
            let steps: Vec<u64> = int_column(&batch, &part.path, src.step_column)?;
            let index: Vec<u32> = int_column(&batch, &part.path, "index")?;
            let lists = column::<ListArray>(&batch, &part.path, "eigenvector")?;
            let items = lists
                .values()
                .as_any()
                .downcast_ref::<Float32Array>()
                .ok_or_else(|| {
                    AnalysisError::data(&part.path, "eigenvector is not a list of float32")
                })?;
            let offsets = lists.value_offsets();
            for (r, &step) in steps.iter().enumerate() {
                let Some(s) = position(step) else { continue };
                let idx = index[r] as usize;
                if idx == 0 || idx > src.k {
                    return Err(AnalysisError::data(
                        &part.path,
                        format!("eigen-index {idx} outside 1..={}", src.k),
                    ));
                }
                let (lo, hi) = (offsets[r] as usize, offsets[r + 1] as usize);
                let len = hi - lo;
                let n = match n {
                    Some(n) => n,
                    None => {
                        vectors = try_filled(rows * len, 0.0, || {
                            tile_need(src.key, "eigenvectors", rows, len)
                        })
                        .map_err(|e| tile_memory(&part.path, e))?;
                        *n.insert(len)
                    }
                };
                if len != n {
                    return Err(AnalysisError::data(
                        &part.path,
                        format!("eigenvector of length {len} where the others have {n}"),
                    ));
                }
                let row = s * src.k + idx - 1;
                vectors[row * n..(row + 1) * n].copy_from_slice(&items.values()[lo..hi]);
                present[row] = true;
            }
        }
    }
    let n = n.unwrap_or(0);
    let mut theta_row = vec![None; src.steps.len()];
    let mut theta: Vec<f32> = Vec::new();
    let theta_wanted: BTreeSet<u64> = wanted.intersection(src.theta_steps).copied().collect();
    for part in src.theta_parts {
        if part.steps.is_disjoint(&theta_wanted) {
            continue;
        }
        for batch in read_columns(&part.path, &["step", "theta"])? {
            let steps: Vec<u64> = int_column(&batch, &part.path, "step")?;
            let lists = column::<ListArray>(&batch, &part.path, "theta")?;
            let items = lists
                .values()
                .as_any()
                .downcast_ref::<Float32Array>()
                .ok_or_else(|| AnalysisError::data(&part.path, "theta is not a list of float32"))?;
            let offsets = lists.value_offsets();
            for (r, &step) in steps.iter().enumerate() {
                let Some(s) = position(step) else { continue };
                if !theta_wanted.contains(&step) || theta_row[s].is_some() {
                    continue;
                }
                let (lo, hi) = (offsets[r] as usize, offsets[r + 1] as usize);
                if hi - lo != n {
                    return Err(AnalysisError::data(
                        &part.path,
                        format!("θ of length {} where the eigenvectors have {n}", hi - lo),
                    ));
                }
                theta_row[s] = Some((theta.len() / n.max(1)) as u32);
                if theta.capacity() == 0 {
                    // Room for θ at every wanted snapshot of the tile, at once.
                    let rows = theta_wanted.len();
                    try_reserve(&mut theta, rows * n, || {
                        tile_need(src.key, "θ rows", rows, n)
                    })
                    .map_err(|e| tile_memory(&part.path, e))?;
                }
                theta.extend_from_slice(&items.values()[lo..hi]);
            }
        }
    }
    Ok(finish_tile(
        src.key,
        src.steps.to_vec(),
        src.k,
        n,
        vectors,
        present,
        theta_row,
        theta,
    ))
}

/// Completes a tile: the f64 self-products (‖θ‖², v·θ at the same snapshot) that pairs of
/// different tiles need but their product does not contain.
#[allow(clippy::too_many_arguments)]
pub(crate) fn finish_tile(
    key: TileKey,
    steps: Vec<u64>,
    k: usize,
    n: usize,
    vectors: Vec<f32>,
    present: Vec<bool>,
    theta_row: Vec<Option<u32>>,
    theta: Vec<f32>,
) -> Tile {
    let dot = |x: &[f32], y: &[f32]| -> f64 {
        x.iter()
            .zip(y)
            .map(|(&a, &b)| f64::from(a) * f64::from(b))
            .sum()
    };
    let theta_sq = theta.chunks(n.max(1)).map(|t| dot(t, t)).collect();
    let mut v_dot_theta = vec![f64::NAN; steps.len() * k];
    for (s, row) in theta_row.iter().enumerate() {
        let Some(row) = row else { continue };
        let t = &theta[*row as usize * n..(*row as usize + 1) * n];
        for i in 0..k {
            let r = s * k + i;
            if present[r] {
                v_dot_theta[r] = dot(&vectors[r * n..(r + 1) * n], t);
            }
        }
    }
    Tile {
        key,
        steps,
        k,
        n,
        vectors,
        present,
        theta_row,
        theta,
        theta_sq,
        v_dot_theta,
    }
}
