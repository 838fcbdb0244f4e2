//! The plan: which tiles exist, which tile-pair jobs cover every snapshot pair exactly once,
//! which of them must be computed (the rest are current in the manifest), and the waves in
//! which they are fed to the dataflow.
//!
//! Every process builds the same plan from the same catalog, so no coordination is needed to
//! agree on who computes what: a job's worker is a function of its position in its wave.

use std::collections::{BTreeMap, BTreeSet};

use sha2::{Digest, Sha256};

use crate::catalog::{Catalog, SnapshotMeta};
use crate::manifest::Manifest;
pub use crate::manifest::ANALYSIS_FORMAT;
use crate::tile::{TileKey, TileSource};

/// What a job computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobKind {
    /// All snapshot pairs between run blocks `a ≤ b` (pairs inside the block when `a == b`).
    Pair {
        /// Earlier block.
        a: u32,
        /// Later block.
        b: u32,
    },
    /// Block `a` of a run against the run's final snapshot (convergence).
    Final {
        /// Block.
        a: u32,
    },
    /// All network pairs between baseline blocks `a ≤ b`.
    BaselinePair {
        /// First block.
        a: u32,
        /// Second block.
        b: u32,
    },
}

/// One unit of work: the product of two tiles and the rows it yields.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    /// Stable name, the manifest key (`run/<dataset>/<optimizer>/<seed>/pair/<a>/<b>`).
    pub name: String,
    /// What it computes.
    pub kind: JobKind,
    /// Run or baseline position in the catalog.
    pub owner: u32,
    /// The two tiles (left is the earlier block).
    pub left: TileKey,
    /// See `left`.
    pub right: TileKey,
    /// Hash of everything the job's output depends on.
    pub fingerprint: String,
    /// Snapshot (or network) pairs it covers.
    pub pairs: u64,
    /// Part number of its files in each per-run table.
    pub part: u64,
}

/// A batch of jobs fed to the dataflow at one timestamp.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Wave {
    /// Jobs (positions in [`Plan::jobs`]).
    pub jobs: Vec<usize>,
    /// The worker of each job.
    pub workers: Vec<u32>,
    /// Each tile the wave needs and the workers that need it.
    pub loads: Vec<(TileKey, Vec<u32>)>,
}

/// Tiles, jobs and waves of one analysis.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// Vector rows per tile (a run's tiles hold `max(1, tile_rows / k)` snapshots).
    pub tile_rows: usize,
    /// Per run, the steps of each block.
    pub run_blocks: Vec<Vec<Vec<u64>>>,
    /// Per baseline, the network numbers of each block.
    pub baseline_blocks: Vec<Vec<Vec<u64>>>,
    /// Every job of the analysis, computed now or reused.
    pub jobs: Vec<Job>,
    /// Jobs to compute now (positions in `jobs`).
    pub todo: Vec<usize>,
    /// `todo` in waves.
    pub waves: Vec<Wave>,
    /// Total workers over all processes.
    pub peers: usize,
}

fn blocks(snapshots: &[SnapshotMeta], tile: usize) -> Vec<Vec<u64>> {
    snapshots
        .chunks(tile)
        .map(|c| c.iter().map(|s| s.step).collect())
        .collect()
}

fn hash_snapshots(h: &mut Sha256, snapshots: &[SnapshotMeta]) {
    for s in snapshots {
        h.update(s.step.to_le_bytes());
        h.update([u8::from(s.has_theta)]);
        h.update((s.pairs.len() as u64).to_le_bytes());
        for p in &s.pairs {
            h.update(p.index.to_le_bytes());
            h.update(p.eigenvalue.to_bits().to_le_bytes());
            h.update(p.residual.to_bits().to_le_bytes());
            h.update(p.ipr.to_bits().to_le_bytes());
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn pairs_between(a: usize, b: usize, same: bool) -> u64 {
    if same {
        (a * a.saturating_sub(1) / 2) as u64
    } else {
        (a * b) as u64
    }
}

/// `run/<dataset>/<optimizer>/<seed>`: the start of a run's job names, and what its jobs'
/// fingerprints are salted with.
pub(crate) fn run_prefix(run: &crate::catalog::RunEntry) -> String {
    format!("run/{}/{}/{}", run.dataset, run.optimizer, run.seed)
}

/// Snapshots per tile of a run or baseline with `k` eigenvectors a snapshot.
pub(crate) fn tile_len(tile_rows: usize, k: u32) -> usize {
    (tile_rows / k.max(1) as usize).max(1)
}

/// Fingerprint of one tile of a run: the run, k and every scalar of its snapshots.
fn run_tile_digest(run: &crate::catalog::RunEntry, tile: &[SnapshotMeta]) -> Digest32 {
    let mut h = Sha256::new();
    h.update(ANALYSIS_FORMAT.to_le_bytes());
    h.update(b"run-tile\0");
    h.update(run.run_key.as_bytes());
    h.update((run.k as u64).to_le_bytes());
    hash_snapshots(&mut h, tile);
    h.finalize().into()
}

/// Fingerprint of a run's final snapshot (the convergence jobs' right tile).
fn run_final_digest(run: &crate::catalog::RunEntry) -> Digest32 {
    let mut h = Sha256::new();
    h.update(ANALYSIS_FORMAT.to_le_bytes());
    h.update(b"run-final\0");
    h.update(run.run_key.as_bytes());
    hash_snapshots(&mut h, &run.snapshots[run.snapshots.len() - 1..]);
    h.finalize().into()
}

/// Fingerprint of one tile of a baseline: the dataset, k and every network's scalars.
fn baseline_tile_digest(base: &crate::catalog::BaselineEntry, tile: &[SnapshotMeta]) -> Digest32 {
    let mut h = Sha256::new();
    h.update(ANALYSIS_FORMAT.to_le_bytes());
    h.update(b"baseline-tile\0");
    h.update(base.dataset.as_bytes());
    h.update((base.k as u64).to_le_bytes());
    hash_snapshots(&mut h, tile);
    h.finalize().into()
}

/// A SHA-256 digest.
pub(crate) type Digest32 = [u8; 32];

/// Whose tile it is: a run (by its job-name prefix, [`run_prefix`]) or a baseline (by dataset).
#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub(crate) enum TileOwner {
    /// A run: `run/<dataset>/<optimizer>/<seed>`.
    Run(String),
    /// A baseline: its dataset.
    Baseline(String),
}

/// Block number of a run's final-snapshot tile in [`tile_digests`] (the other blocks count
/// from 0).
pub(crate) const FINAL_BLOCK: u32 = u32::MAX;

/// Every tile of `catalog` at `tile_rows` vector rows a tile, with its fingerprint: each run's
/// blocks, its final snapshot (block [`FINAL_BLOCK`]) and each baseline's blocks. The jobs of
/// the analysis, their names and fingerprints follow from these alone ([`job_of_tiles`]).
pub(crate) fn tile_digests(catalog: &Catalog, tile_rows: usize) -> Vec<(TileOwner, u32, Digest32)> {
    let mut out = Vec::new();
    for run in &catalog.runs {
        let owner = TileOwner::Run(run_prefix(run));
        for (b, c) in run.snapshots.chunks(tile_len(tile_rows, run.k)).enumerate() {
            out.push((owner.clone(), b as u32, run_tile_digest(run, c)));
        }
        if !run.snapshots.is_empty() {
            out.push((owner, FINAL_BLOCK, run_final_digest(run)));
        }
    }
    for base in &catalog.baselines {
        let owner = TileOwner::Baseline(base.dataset.clone());
        for (b, c) in base
            .networks
            .chunks(tile_len(tile_rows, base.k))
            .enumerate()
        {
            out.push((owner.clone(), b as u32, baseline_tile_digest(base, c)));
        }
    }
    out
}

/// The name and fingerprint of the job between tiles `a ≤ b` of `owner` with fingerprints
/// `x` and `y`; `b` = [`FINAL_BLOCK`] is a run's convergence job of block `a`. `None` for a
/// pair that is no job (`a > b`, two final tiles, a final tile of a baseline).
pub(crate) fn job_of_tiles(
    owner: &TileOwner,
    (a, x): (u32, &Digest32),
    (b, y): (u32, &Digest32),
) -> Option<(String, String)> {
    if a > b || a == FINAL_BLOCK {
        return None;
    }
    match owner {
        TileOwner::Run(prefix) => {
            let (tag, name) = if b == FINAL_BLOCK {
                ("final\0", format!("{prefix}/final/{a}"))
            } else {
                ("pair\0", format!("{prefix}/pair/{a}/{b}"))
            };
            let mut h = Sha256::new();
            h.update(ANALYSIS_FORMAT.to_le_bytes());
            h.update(tag.as_bytes());
            h.update(prefix.as_bytes());
            h.update(x);
            h.update(y);
            Some((name, hex(&h.finalize())))
        }
        TileOwner::Baseline(dataset) => {
            if b == FINAL_BLOCK {
                return None;
            }
            let mut h = Sha256::new();
            h.update(ANALYSIS_FORMAT.to_le_bytes());
            h.update(b"baseline-pair\0");
            h.update(x);
            h.update(y);
            Some((
                format!("baseline/{dataset}/pair/{a}/{b}"),
                hex(&h.finalize()),
            ))
        }
    }
}

impl Plan {
    /// Plans the analysis of `catalog` over `peers` workers, reusing every job whose
    /// fingerprint `manifest` holds (unless `force`).
    pub fn new(
        catalog: &Catalog,
        tile_rows: usize,
        panel: usize,
        peers: usize,
        manifest: &Manifest,
        force: bool,
    ) -> Self {
        Self::with_todo(catalog, tile_rows, panel, peers, &|j: &Job| {
            force || !manifest.is_current(&j.name, &j.fingerprint)
        })
    }

    /// Plans the analysis of `catalog` over `peers` workers, computing the jobs for which
    /// `todo` says so (the live job set of `analyze --follow` decides it from what changed,
    /// [`crate::live`]) and reusing the others.
    // Block numbers index the fingerprints and also name the jobs and their parts.
    #[allow(clippy::needless_range_loop)]
    pub fn with_todo(
        catalog: &Catalog,
        tile_rows: usize,
        panel: usize,
        peers: usize,
        todo: &dyn Fn(&Job) -> bool,
    ) -> Self {
        let mut jobs = Vec::new();
        // Groups of jobs sharing tiles (one panel pair), in the order they become waves.
        let mut groups: Vec<Vec<usize>> = Vec::new();
        let mut run_blocks = Vec::new();
        for (r, run) in catalog.runs.iter().enumerate() {
            let r32 = r as u32;
            let tile = tile_len(tile_rows, run.k);
            let blocks = blocks(&run.snapshots, tile);
            let tile_fp: Vec<Digest32> = run
                .snapshots
                .chunks(tile)
                .map(|c| run_tile_digest(run, c))
                .collect();
            let final_fp = run_final_digest(run);
            let owner = TileOwner::Run(run_prefix(run));
            let job_of = |a: usize, x: &Digest32, b: u32, y: &Digest32| {
                job_of_tiles(&owner, (a as u32, x), (b, y)).expect("a ≤ b")
            };
            let t = blocks.len();
            for c in 0..t.div_ceil(panel) {
                for rp in 0..=c {
                    let mut group = Vec::new();
                    for b in c * panel..((c + 1) * panel).min(t) {
                        for a in rp * panel..((rp + 1) * panel).min(b + 1) {
                            let part = (b * (b + 1) / 2 + a) as u64;
                            let (name, fingerprint) = job_of(a, &tile_fp[a], b as u32, &tile_fp[b]);
                            group.push(jobs.len());
                            jobs.push(Job {
                                name,
                                kind: JobKind::Pair {
                                    a: a as u32,
                                    b: b as u32,
                                },
                                owner: r32,
                                left: TileKey::Run {
                                    run: r32,
                                    block: a as u32,
                                },
                                right: TileKey::Run {
                                    run: r32,
                                    block: b as u32,
                                },
                                fingerprint,
                                pairs: pairs_between(blocks[a].len(), blocks[b].len(), a == b),
                                part,
                            });
                        }
                    }
                    if rp == c {
                        for a in c * panel..((c + 1) * panel).min(t) {
                            let (name, fingerprint) =
                                job_of(a, &tile_fp[a], FINAL_BLOCK, &final_fp);
                            group.push(jobs.len());
                            jobs.push(Job {
                                name,
                                kind: JobKind::Final { a: a as u32 },
                                owner: r32,
                                left: TileKey::Run {
                                    run: r32,
                                    block: a as u32,
                                },
                                right: TileKey::RunFinal { run: r32 },
                                fingerprint,
                                pairs: 0,
                                part: a as u64,
                            });
                        }
                    }
                    groups.push(group);
                }
            }
            run_blocks.push(blocks);
        }
        let mut baseline_blocks = Vec::new();
        for (d, base) in catalog.baselines.iter().enumerate() {
            let d32 = d as u32;
            let tile = tile_len(tile_rows, base.k);
            let blocks = blocks(&base.networks, tile);
            let tile_fp: Vec<Digest32> = base
                .networks
                .chunks(tile)
                .map(|c| baseline_tile_digest(base, c))
                .collect();
            let owner = TileOwner::Baseline(base.dataset.clone());
            let t = blocks.len();
            let mut group = Vec::new();
            for b in 0..t {
                for a in 0..=b {
                    let (name, fingerprint) =
                        job_of_tiles(&owner, (a as u32, &tile_fp[a]), (b as u32, &tile_fp[b]))
                            .expect("a ≤ b");
                    group.push(jobs.len());
                    jobs.push(Job {
                        name,
                        kind: JobKind::BaselinePair {
                            a: a as u32,
                            b: b as u32,
                        },
                        owner: d32,
                        left: TileKey::Baseline {
                            dataset: d32,
                            block: a as u32,
                        },
                        right: TileKey::Baseline {
                            dataset: d32,
                            block: b as u32,
                        },
                        fingerprint,
                        pairs: pairs_between(blocks[a].len(), blocks[b].len(), a == b),
                        part: (b * (b + 1) / 2 + a) as u64,
                    });
                    if group.len() >= panel * panel {
                        groups.push(std::mem::take(&mut group));
                    }
                }
            }
            if !group.is_empty() {
                groups.push(group);
            }
            baseline_blocks.push(blocks);
        }

        let todo: Vec<usize> = (0..jobs.len()).filter(|&j| todo(&jobs[j])).collect();
        let todo_set: BTreeSet<usize> = todo.iter().copied().collect();
        // Consecutive groups are merged until a wave has work for every worker: more waves
        // bound memory tighter, but a wave with fewer jobs than workers leaves cores idle.
        let min_jobs = (2 * peers).max(1);
        let mut waves = Vec::new();
        let mut current: Vec<usize> = Vec::new();
        for group in groups {
            current.extend(group.into_iter().filter(|j| todo_set.contains(j)));
            if current.len() >= min_jobs {
                waves.push(make_wave(std::mem::take(&mut current), &jobs, peers));
            }
        }
        if !current.is_empty() {
            waves.push(make_wave(current, &jobs, peers));
        }
        Plan {
            tile_rows,
            run_blocks,
            baseline_blocks,
            jobs,
            todo,
            waves,
            peers,
        }
    }

    /// Where tile `key` is read from.
    pub(crate) fn source<'a>(&'a self, catalog: &'a Catalog, key: TileKey) -> TileSource<'a> {
        match key {
            TileKey::Run { run, block } => {
                let entry = &catalog.runs[run as usize];
                TileSource {
                    key,
                    steps: &self.run_blocks[run as usize][block as usize],
                    k: entry.k as usize,
                    vector_parts: &entry.snapshot_parts,
                    step_column: "step",
                    theta_parts: &entry.weight_parts,
                    theta_steps: &entry.theta_steps,
                }
            }
            TileKey::RunFinal { run } => {
                let entry = &catalog.runs[run as usize];
                let blocks = &self.run_blocks[run as usize];
                let last = blocks.last().expect("a run in the plan has a snapshot");
                TileSource {
                    key,
                    steps: &last[last.len() - 1..],
                    k: entry.k as usize,
                    vector_parts: &entry.snapshot_parts,
                    step_column: "step",
                    theta_parts: &[],
                    theta_steps: empty_steps(),
                }
            }
            TileKey::Baseline { dataset, block } => {
                let entry = &catalog.baselines[dataset as usize];
                TileSource {
                    key,
                    steps: &self.baseline_blocks[dataset as usize][block as usize],
                    k: entry.k as usize,
                    vector_parts: &entry.parts,
                    step_column: "network",
                    theta_parts: &[],
                    theta_steps: empty_steps(),
                }
            }
        }
    }

    /// Snapshot pairs of the jobs to compute.
    pub fn pairs_todo(&self) -> u64 {
        self.todo.iter().map(|&j| self.jobs[j].pairs).sum()
    }

    /// Snapshot pairs of the jobs reused.
    pub fn pairs_reused(&self) -> u64 {
        self.jobs.iter().map(|j| j.pairs).sum::<u64>() - self.pairs_todo()
    }

    /// Snapshot pairs of the jobs that worker `worker` computes.
    pub fn pairs_of_worker(&self, workers: std::ops::Range<usize>) -> u64 {
        self.waves
            .iter()
            .flat_map(|w| w.jobs.iter().zip(&w.workers))
            .filter(|(_, &wk)| workers.contains(&(wk as usize)))
            .map(|(&j, _)| self.jobs[j].pairs)
            .sum()
    }
}

fn make_wave(jobs: Vec<usize>, all: &[Job], peers: usize) -> Wave {
    let workers: Vec<u32> = (0..jobs.len()).map(|i| (i % peers.max(1)) as u32).collect();
    let mut loads: BTreeMap<TileKey, BTreeSet<u32>> = BTreeMap::new();
    for (&j, &w) in jobs.iter().zip(&workers) {
        loads.entry(all[j].left).or_default().insert(w);
        loads.entry(all[j].right).or_default().insert(w);
    }
    Wave {
        jobs,
        workers,
        loads: loads
            .into_iter()
            .map(|(k, w)| (k, w.into_iter().collect()))
            .collect(),
    }
}

fn empty_steps() -> &'static BTreeSet<u64> {
    static EMPTY: BTreeSet<u64> = BTreeSet::new();
    &EMPTY
}
