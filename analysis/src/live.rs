//! The live job set of `analyze --follow`: the sweep's tiles as a differential-dataflow
//! collection that stays alive from one pass to the next, and the tile-pair jobs derived from
//! it, whose changes say what a pass must compute.
//!
//! ```text
//!  each pass: catalog → tile digests ──(difference to the last pass)──► tiles: (owner, (block, digest))
//!                                                                        │ join on owner (a ≤ b)
//!                                                                        ▼
//!                                       jobs: (name, fingerprint) ──► consolidated changes
//!                                       (+1 new or replaced, −1 retracted) ──► the pass's todo
//! ```
//!
//! A committed snapshot changes its run's last tile (or adds one): the tile's old digest is
//! retracted and the new one inserted, and the join yields exactly the jobs touching it, as
//! retractions of their old fingerprints and insertions of their new ones. A snapshot redone
//! after a resume with other numbers replaces its tile the same way; one redone with the same
//! numbers has the same digest, and its retraction and insertion cancel. A tile that vanishes
//! (a run restarted with fewer snapshots) retracts its jobs, whose parts the pass then removes.
//! The work of a pass's dataflow step is proportional to the tiles that changed times the
//! tiles they pair with, not to the sweep.
//!
//! The collection holds digests (32 bytes a tile), never eigenvectors: a job's vectors are
//! loaded by the engine when it runs ([`crate::engine`]). The restart state is the manifest:
//! a new follower's first pass inserts every tile, and of the jobs that yields computes those
//! the manifest does not hold as current.
//!
//! One timely worker on its own thread runs the dataflow (the digests are small); each pass is
//! one timestamp.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::mpsc;
use std::sync::Mutex;
use std::thread::JoinHandle;

use differential_dataflow::input::Input;

use crate::catalog::Catalog;
use crate::plan::{job_of_tiles, tile_digests, Digest32, TileOwner};
use crate::AnalysisError;

/// One tile as the dataflow sees it: its owner, and its block with its digest.
type TileRecord = (TileOwner, (u32, Digest32));
/// One job as the dataflow derives it: its name (the manifest key) and fingerprint.
type JobRecord = (String, String);

/// How the jobs changed at one pass.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct JobChanges {
    /// The pass (timestamp) these changes belong to, from 1.
    pub pass: u64,
    /// Tiles inserted, replaced or retracted at this pass.
    pub tiles_changed: usize,
    /// Jobs inserted at this pass, by name, with their fingerprint: new jobs and jobs whose
    /// tiles changed.
    pub inserted: BTreeMap<String, String>,
    /// Jobs retracted at this pass and not inserted again: their tiles are gone.
    pub removed: BTreeSet<String>,
    /// Of [`Self::inserted`], those that replace a retracted fingerprint of the same name.
    pub replaced: usize,
    /// Jobs the pass computed although this pass did not insert them, because the manifest
    /// did not hold them as current (set by [`crate::analyze_live`]; 0 unless the analysis
    /// directory changed under the follower).
    pub resynced: usize,
}

/// The live job set: a differential-dataflow computation on its own thread, fed one pass at
/// a time ([`LiveJobs::update`]). Dropping it ends the dataflow and joins the thread.
pub struct LiveJobs {
    /// The tiles as the dataflow holds them, to send it only the difference.
    tiles: BTreeMap<(TileOwner, u32), Digest32>,
    pass: u64,
    to_dataflow: Option<mpsc::Sender<Vec<(TileRecord, isize)>>>,
    from_dataflow: mpsc::Receiver<Vec<(JobRecord, isize)>>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for LiveJobs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveJobs")
            .field("pass", &self.pass)
            .field("tiles", &self.tiles.len())
            .finish()
    }
}

impl LiveJobs {
    /// Starts the dataflow with no tiles.
    ///
    /// Errors: [`AnalysisError::Engine`] if its thread cannot be started (the process is out of
    /// threads or memory).
    pub fn start() -> Result<Self, AnalysisError> {
        let (to_dataflow, updates) = mpsc::channel::<Vec<(TileRecord, isize)>>();
        let (changes, from_dataflow) = mpsc::channel::<Vec<(JobRecord, isize)>>();
        // `execute_directly` wants a `Sync` closure; the channel ends are only `Send`.
        let ends = Mutex::new(Some((updates, changes)));
        let thread = std::thread::Builder::new()
            .name("analysis-live-jobs".into())
            .spawn(move || {
                timely::execute_directly(move |worker| {
                    let (updates, changes) = ends
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .take()
                        .expect("the dataflow starts once");
                    dataflow_loop(worker, &updates, &changes);
                })
            })
            .map_err(|e| {
                AnalysisError::Engine(format!("starting the live job set's thread: {e}"))
            })?;
        Ok(Self {
            tiles: BTreeMap::new(),
            pass: 0,
            to_dataflow: Some(to_dataflow),
            from_dataflow,
            thread: Some(thread),
        })
    }

    /// Passes so far.
    pub fn passes(&self) -> u64 {
        self.pass
    }

    /// Feeds the tiles of `catalog` at `tile_rows` vector rows a tile as the next pass: tiles
    /// that are new, replaced or gone since the last pass enter the dataflow as insertions and
    /// retractions; returns how the jobs changed.
    ///
    /// Errors: [`AnalysisError::Engine`] if the dataflow's thread has ended (a bug).
    pub fn update(
        &mut self,
        catalog: &Catalog,
        tile_rows: usize,
    ) -> Result<JobChanges, AnalysisError> {
        let now: BTreeMap<(TileOwner, u32), Digest32> = tile_digests(catalog, tile_rows)
            .into_iter()
            .map(|(owner, block, digest)| ((owner, block), digest))
            .collect();
        let mut batch = Vec::new();
        for ((owner, block), digest) in &self.tiles {
            if now.get(&(owner.clone(), *block)) != Some(digest) {
                batch.push(((owner.clone(), (*block, *digest)), -1));
            }
        }
        for ((owner, block), digest) in &now {
            if self.tiles.get(&(owner.clone(), *block)) != Some(digest) {
                batch.push(((owner.clone(), (*block, *digest)), 1));
            }
        }
        let tiles_changed = now
            .keys()
            .chain(self.tiles.keys())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .filter(|key| now.get(*key) != self.tiles.get(*key))
            .count();
        let gone = || AnalysisError::Engine("the live job set's dataflow has ended".into());
        self.to_dataflow
            .as_ref()
            .ok_or_else(gone)?
            .send(batch)
            .map_err(|_| gone())?;
        let updates = self.from_dataflow.recv().map_err(|_| gone())?;
        self.tiles = now;
        self.pass += 1;
        Ok(changes_of(self.pass, tiles_changed, updates))
    }
}

impl Drop for LiveJobs {
    fn drop(&mut self) {
        // Closing the channel ends the dataflow's loop; the worker then drains and returns.
        self.to_dataflow = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Folds one pass's consolidated job updates into insertions, removals and replacements.
fn changes_of(pass: u64, tiles_changed: usize, updates: Vec<(JobRecord, isize)>) -> JobChanges {
    let mut inserted = BTreeMap::new();
    let mut retracted = BTreeSet::new();
    for ((name, fingerprint), diff) in updates {
        if diff > 0 {
            inserted.insert(name, fingerprint);
        } else if diff < 0 {
            retracted.insert(name);
        }
    }
    let replaced = retracted
        .iter()
        .filter(|n| inserted.contains_key(*n))
        .count();
    let removed = retracted
        .into_iter()
        .filter(|n| !inserted.contains_key(n))
        .collect();
    JobChanges {
        pass,
        tiles_changed,
        inserted,
        removed,
        replaced,
        resynced: 0,
    }
}

/// The dataflow and its driver loop: one timestamp per batch of tile updates, until the
/// sending end closes.
fn dataflow_loop(
    worker: &mut timely::worker::Worker,
    updates: &mpsc::Receiver<Vec<(TileRecord, isize)>>,
    changes: &mpsc::Sender<Vec<(JobRecord, isize)>>,
) {
    use std::cell::RefCell;
    use std::rc::Rc;

    let out: Rc<RefCell<Vec<(JobRecord, isize)>>> = Rc::default();
    let sink = Rc::clone(&out);
    let (mut input, probe) = worker.dataflow::<u64, _, _>(|scope| {
        let (input, tiles) = scope.new_collection::<TileRecord, isize>();
        // Every pair of tiles of one owner; `job_of_tiles` keeps a ≤ b (and a run's blocks
        // against its final tile) and names the job.
        let (probe, _) = tiles
            .clone()
            .join_map(tiles, |owner, &(a, x), &(b, y)| {
                job_of_tiles(owner, (a, &x), (b, &y))
            })
            .flat_map(|job| job)
            .consolidate()
            .inspect(move |(job, _time, diff)| {
                sink.borrow_mut().push((job.clone(), *diff));
            })
            .probe();
        (input, probe)
    });
    let mut time = 0u64;
    while let Ok(batch) = updates.recv() {
        for (tile, diff) in batch {
            input.update(tile, diff);
        }
        time += 1;
        input.advance_to(time);
        input.flush();
        worker.step_while(|| probe.less_than(input.time()));
        let done = std::mem::take(&mut *out.borrow_mut());
        if changes.send(done).is_err() {
            break;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::{JobRecord as ManifestRecord, Manifest};
    use crate::plan::Plan;
    use crate::testdata::{make_run, write_run, Synth};
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    const TILE_ROWS: usize = 6;

    /// Removes the snapshot and θ parts of `run` from part `first` on, as a run resumed from
    /// the checkpoint before them rewrites them.
    fn remove_parts_from(out: &std::path::Path, run: &crate::testdata::SynthRun, first: u32) {
        let dirs =
            eigensweep_worker::output::RunDirs::new(out, &run.dataset, &run.optimizer, run.seed)
                .unwrap();
        for dir in [&dirs.snapshots, &dirs.weights] {
            for (number, path) in eigensweep_worker::output::list_parts(dir).unwrap() {
                if number >= first {
                    std::fs::remove_file(path).unwrap();
                }
            }
        }
    }

    /// The manifest of an analysis that computed every job of `plan`.
    fn all_done(plan: &Plan) -> Manifest {
        Manifest {
            format: crate::plan::ANALYSIS_FORMAT,
            jobs: plan
                .jobs
                .iter()
                .map(|j| {
                    (
                        j.name.clone(),
                        ManifestRecord {
                            fingerprint: j.fingerprint.clone(),
                            pairs: j.pairs,
                            baseline: None,
                        },
                    )
                })
                .collect(),
        }
    }

    /// The independent answer: the jobs the plan computes against the manifest of the last
    /// pass (fingerprint comparison), and the jobs of the last plan that are gone.
    fn expected(
        catalog: &Catalog,
        last: Option<&Plan>,
    ) -> (BTreeMap<String, String>, BTreeSet<String>) {
        let manifest = last.map(all_done).unwrap_or_default();
        let plan = Plan::new(catalog, TILE_ROWS, 2, 1, &manifest, false);
        let todo = plan
            .todo
            .iter()
            .map(|&j| (plan.jobs[j].name.clone(), plan.jobs[j].fingerprint.clone()))
            .collect();
        let now: BTreeSet<&String> = plan.jobs.iter().map(|j| &j.name).collect();
        let gone = manifest
            .jobs
            .keys()
            .filter(|n| !now.contains(n))
            .cloned()
            .collect();
        (todo, gone)
    }

    #[test]
    fn changes_equal_the_manifest_comparison_through_growth_redo_and_restart() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path();
        let synth = Synth::standard();
        synth.write(out);
        let mut live = LiveJobs::start().unwrap();
        let scan = || Catalog::scan(out, false).unwrap();

        // Pass 1: every tile is new, every job inserted.
        let c1 = scan();
        let p1 = Plan::new(&c1, TILE_ROWS, 2, 1, &Manifest::default(), false);
        let ch = live.update(&c1, TILE_ROWS).unwrap();
        let (todo, gone) = expected(&c1, None);
        assert_eq!(ch.pass, 1);
        assert_eq!(ch.inserted, todo);
        assert_eq!(ch.inserted.len(), p1.jobs.len());
        assert!(gone.is_empty() && ch.removed.is_empty() && ch.replaced == 0);

        // Pass 2, nothing changed: nothing to do.
        let ch = live.update(&scan(), TILE_ROWS).unwrap();
        assert_eq!((ch.tiles_changed, ch.inserted.len()), (0, 0));
        assert!(ch.removed.is_empty());

        // Pass 3: run synth/adam/1 (5 of 8 steps) grows by three snapshots: its last tile
        // changes, a new one appears, its final snapshot moves.
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let steps: Vec<u64> = (0..8).map(|i| i * 10).collect();
        let grown = make_run(&mut rng, synth.n, ("synth", "adam", 1), 3, &steps, false);
        let mut longer = synth.runs[3].clone();
        for (&s, v) in grown.vectors.iter().skip(5) {
            longer.vectors.insert(s, v.clone());
            longer.alignments.insert(s, grown.alignments[&s].clone());
        }
        remove_parts_from(out, &longer, 1);
        write_run(out, &longer, 1);
        let c3 = scan();
        let ch = live.update(&c3, TILE_ROWS).unwrap();
        let (todo, gone) = expected(&c3, Some(&p1));
        assert_eq!(ch.inserted, todo, "the changed jobs");
        assert!(!todo.is_empty() && todo.len() < p1.jobs.len() / 2);
        assert!(todo.keys().all(|n| n.starts_with("run/synth/adam/1/")));
        assert!(ch.replaced > 0, "the last tile's jobs are replaced");
        assert_eq!(ch.removed, gone);
        let p3 = Plan::new(&c3, TILE_ROWS, 2, 1, &Manifest::default(), false);

        // Pass 4: the run resumes from a checkpoint and redoes its last part with other
        // numbers.
        // The fingerprints hash the scalars (eigenvalue, residual, IPR), so other vectors are
        // other IPRs.
        let mut redone = longer.clone();
        for v in redone.vectors.values_mut().skip(6) {
            *v = (0..v.len())
                .map(|_| crate::testdata::unit(&mut rng, synth.n))
                .collect();
        }
        remove_parts_from(out, &redone, 2);
        write_run(out, &redone, 2);
        let c4 = scan();
        let ch = live.update(&c4, TILE_ROWS).unwrap();
        let (todo, gone) = expected(&c4, Some(&p3));
        assert_eq!(ch.inserted, todo);
        assert!(!todo.is_empty() && gone.is_empty() && ch.removed.is_empty());
        let p4 = Plan::new(&c4, TILE_ROWS, 2, 1, &Manifest::default(), false);

        // Pass 5: the run is restarted from step 0 and has only two snapshots so far: its
        // later tiles' jobs are retracted.
        let dirs = eigensweep_worker::output::RunDirs::new(out, "synth", "adam", 1).unwrap();
        std::fs::remove_dir_all(&dirs.root).unwrap();
        let mut short = synth.runs[3].clone();
        let keep: Vec<u64> = short.vectors.keys().copied().take(2).collect();
        short.vectors.retain(|s, _| keep.contains(s));
        short.finished = false;
        write_run(out, &short, 0);
        let c5 = scan();
        let ch = live.update(&c5, TILE_ROWS).unwrap();
        let (todo, gone) = expected(&c5, Some(&p4));
        assert_eq!(ch.inserted, todo);
        assert_eq!(ch.removed, gone);
        assert!(!gone.is_empty(), "the vanished tiles' jobs are removed");
        assert_eq!(live.passes(), 5);
    }
}
