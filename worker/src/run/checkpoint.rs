//! A run's checkpoint: everything needed to continue it exactly as if it had never stopped.
//!
//! What is *not* stored is as important as what is: the data order and every random start are
//! functions of (seed, epoch) and (seed, snapshot index), so positions suffice; rows already
//! flushed to Parquet parts are on disk, and the checkpoint records how many parts each table
//! had, so that parts written after it can be dropped on resume and rewritten identically.
//!
//! Format: a small little-endian binary file, `ESCKPT02` magic, then the fields, then the
//! SHA-256 of everything before it, written to a temporary name, fsync'd and renamed. A torn or
//! foreign file is detected (bad magic, short read, checksum) and reported, never half-used.

use std::fs::{self, File};
use std::io::Write;
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::WorkerError;

const MAGIC: &[u8; 8] = b"ESCKPT02";

/// Why bytes did not decode as a checkpoint of this build.
enum Undecodable {
    /// Torn, altered or foreign.
    Corrupt(String),
    /// Intact, of a newer build (what shows it).
    Newer(String),
}

impl From<&str> for Undecodable {
    fn from(reason: &str) -> Self {
        Undecodable::Corrupt(reason.into())
    }
}

/// The format version a magic `ESCKPTnn` names, if it has that shape.
fn magic_version(bytes: &[u8]) -> Option<u32> {
    let head = bytes.get(..MAGIC.len())?;
    let digits = head.strip_prefix(b"ESCKPT")?;
    std::str::from_utf8(digits).ok()?.parse().ok()
}

/// The state of a run between two steps.
#[derive(Debug, Clone, PartialEq)]
pub struct Checkpoint {
    /// Key of the run this belongs to (a checkpoint of another configuration is refused).
    pub run_key: String,
    /// Steps taken.
    pub step: u64,
    /// Epoch of the batch order.
    pub epoch: u64,
    /// Offset within the epoch's permutation.
    pub offset: u64,
    /// Snapshots completed.
    pub snapshots_done: u64,
    /// Flat parameters θ_step, in the compute dtype's bits widened to f64 exactly.
    pub params: Vec<f64>,
    /// Optimiser state tensors, flattened (Adam: m then v), and its step counter.
    pub optimizer_state: Vec<Vec<f64>>,
    /// Optimiser step counter (Adam's t).
    pub optimizer_steps: u64,
    /// Warm-start vectors of the next snapshot.
    pub warm_start: Vec<Vec<f64>>,
    /// Parquet parts written so far, per table, in a fixed table order.
    pub parts: Vec<(String, u32)>,
    /// Wall seconds spent on the run before this checkpoint.
    pub wall_seconds: f64,
    /// Whether the run had finished (every step, snapshot and row done) at this checkpoint.
    pub complete: bool,
    /// CPU threads the run computed with: results are bit-identical only for the same count.
    pub threads: u64,
    /// Kind of device the run computed on (`cpu` or `cuda`): results are bit-identical only
    /// on the same kind. Checkpoints written before this field existed read as `cpu`.
    pub device: String,
    /// The training engine that took the steps (`host` or `tensors`, see
    /// [`TrainingEngine`](crate::train::TrainingEngine)): a resumed run continues on it, so
    /// its numbers stay those of one engine. Checkpoints written before this field existed
    /// were all computed by the tensor engine and read as `tensors`.
    pub engine: String,
    /// The state the run's per-snapshot statistics carry from one snapshot to the next, by
    /// table (`preconditioned`: the last preconditioned solve's vectors, its next warm
    /// start). Written only when some statistic has state, so other checkpoints keep their
    /// bytes; absent in older checkpoints (read as none).
    pub statistics: Vec<(String, Vec<Vec<f64>>)>,
}

struct Enc(Vec<u8>);

impl Enc {
    fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn f64(&mut self, v: f64) {
        self.0.extend_from_slice(&v.to_bits().to_le_bytes());
    }
    fn str(&mut self, s: &str) {
        self.u64(s.len() as u64);
        self.0.extend_from_slice(s.as_bytes());
    }
    fn vec(&mut self, v: &[f64]) {
        self.u64(v.len() as u64);
        for x in v {
            self.f64(*x);
        }
    }
    fn vecs(&mut self, vs: &[Vec<f64>]) {
        self.u64(vs.len() as u64);
        for v in vs {
            self.vec(v);
        }
    }
}

struct Dec<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Dec<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], String> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.bytes.len())
            .ok_or("truncated")?;
        let out = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(out)
    }
    fn u64(&mut self) -> Result<u64, String> {
        Ok(u64::from_le_bytes(
            self.take(8)?.try_into().expect("8 bytes"),
        ))
    }
    fn f64(&mut self) -> Result<f64, String> {
        Ok(f64::from_bits(self.u64()?))
    }
    fn len(&mut self) -> Result<usize, String> {
        let n = self.u64()?;
        // Every element takes at least one byte, so a length beyond the file is corruption.
        if n as usize > self.bytes.len() {
            return Err(format!("implausible length {n}"));
        }
        Ok(n as usize)
    }
    fn str(&mut self) -> Result<String, String> {
        let n = self.len()?;
        String::from_utf8(self.take(n)?.to_vec()).map_err(|e| e.to_string())
    }
    fn vec(&mut self) -> Result<Vec<f64>, String> {
        let n = self.len()?;
        (0..n).map(|_| self.f64()).collect()
    }
    fn vecs(&mut self) -> Result<Vec<Vec<f64>>, String> {
        let n = self.len()?;
        (0..n).map(|_| self.vec()).collect()
    }
}

impl Checkpoint {
    fn encode(&self) -> Vec<u8> {
        let mut e = Enc(MAGIC.to_vec());
        e.str(&self.run_key);
        e.u64(self.step);
        e.u64(self.epoch);
        e.u64(self.offset);
        e.u64(self.snapshots_done);
        e.vec(&self.params);
        e.vecs(&self.optimizer_state);
        e.u64(self.optimizer_steps);
        e.vecs(&self.warm_start);
        e.u64(self.parts.len() as u64);
        for (name, n) in &self.parts {
            e.str(name);
            e.u64(u64::from(*n));
        }
        e.f64(self.wall_seconds);
        e.u64(u64::from(self.complete));
        e.u64(self.threads);
        e.str(&self.device);
        e.str(&self.engine);
        if !self.statistics.is_empty() {
            e.u64(self.statistics.len() as u64);
            for (table, state) in &self.statistics {
                e.str(table);
                e.vecs(state);
            }
        }
        let digest = Sha256::digest(&e.0);
        e.0.extend_from_slice(&digest);
        e.0
    }

    fn decode(bytes: &[u8]) -> Result<Self, Undecodable> {
        let ours = magic_version(MAGIC).expect("our magic has a version");
        let intact = bytes.len() >= MAGIC.len() + 32 && {
            let (body, digest) = bytes.split_at(bytes.len() - 32);
            Sha256::digest(body).as_slice() == digest
        };
        match magic_version(bytes) {
            Some(v) if v > ours && intact => {
                return Err(Undecodable::Newer(format!(
                    "checkpoint format ESCKPT{v:02}"
                )))
            }
            _ if bytes.len() < MAGIC.len() + 32 || &bytes[..MAGIC.len()] != MAGIC => {
                return Err("missing ESCKPT02 header".into());
            }
            _ => {}
        }
        if !intact {
            return Err("checksum mismatch (the file was cut short or altered)".into());
        }
        let (body, _) = bytes.split_at(bytes.len() - 32);
        // The checksum holds, so the bytes are as their writer meant them: fields this build
        // cannot read were laid out by a build that records more.
        Self::decode_fields(body).map_err(|reason| {
            Undecodable::Newer(format!(
                "its fields do not follow this build's layout: {reason}"
            ))
        })
    }

    /// The fields of an intact body (magic included, checksum removed).
    fn decode_fields(body: &[u8]) -> Result<Self, String> {
        let mut d = Dec {
            bytes: body,
            pos: MAGIC.len(),
        };
        let run_key = d.str()?;
        let step = d.u64()?;
        let epoch = d.u64()?;
        let offset = d.u64()?;
        let snapshots_done = d.u64()?;
        let params = d.vec()?;
        let optimizer_state = d.vecs()?;
        let optimizer_steps = d.u64()?;
        let warm_start = d.vecs()?;
        let n = d.len()?;
        let mut parts = Vec::with_capacity(n);
        for _ in 0..n {
            let name = d.str()?;
            let count = u32::try_from(d.u64()?).map_err(|e| e.to_string())?;
            parts.push((name, count));
        }
        let wall_seconds = d.f64()?;
        let complete = d.u64()? == 1;
        let threads = d.u64()?;
        // Optional trailing field: older checkpoints end here and were all computed on a CPU.
        let device = if d.pos == body.len() {
            "cpu".to_string()
        } else {
            d.str()?
        };
        // Another optional trailing field: before it, every run trained on the tensor engine.
        let engine = if d.pos == body.len() {
            "tensors".to_string()
        } else {
            d.str()?
        };
        // A third: the statistics' state, written only when there is some.
        let mut statistics = Vec::new();
        if d.pos != body.len() {
            let n = d.len()?;
            for _ in 0..n {
                let table = d.str()?;
                statistics.push((table, d.vecs()?));
            }
        }
        if d.pos != body.len() {
            return Err(format!(
                "{} bytes of fields after the last one this build knows",
                body.len() - d.pos
            ));
        }
        Ok(Self {
            run_key,
            step,
            epoch,
            offset,
            snapshots_done,
            params,
            optimizer_state,
            optimizer_steps,
            warm_start,
            parts,
            wall_seconds,
            complete,
            threads,
            device,
            engine,
            statistics,
        })
    }

    /// Writes the checkpoint to `path` atomically (temporary file, fsync, rename).
    pub fn save(&self, path: &Path) -> Result<(), WorkerError> {
        let io = |action, source| WorkerError::CheckpointIo {
            action,
            path: path.to_path_buf(),
            source,
        };
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir).map_err(|e| io("creating the directory of", e))?;
        }
        let tmp = path.with_extension("tmp");
        let written = (|| {
            let mut f = File::create(&tmp).map_err(|e| io("creating", e))?;
            f.write_all(&self.encode()).map_err(|e| io("writing", e))?;
            f.sync_all().map_err(|e| io("syncing", e))?;
            drop(f);
            fs::rename(&tmp, path).map_err(|e| io("renaming into place", e))
        })();
        if written.is_err() {
            // A full disk must not leave a torn temporary beside the intact checkpoint; the
            // error that matters is the one already in `written`.
            let _ = fs::remove_file(&tmp);
        }
        written
    }

    /// Reads `path`; `Ok(None)` when there is no checkpoint.
    pub fn load(path: &Path) -> Result<Option<Self>, WorkerError> {
        let bytes = match fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => {
                return Err(WorkerError::CheckpointIo {
                    action: "reading",
                    path: path.to_path_buf(),
                    source,
                })
            }
        };
        Self::decode(&bytes).map(Some).map_err(|e| match e {
            Undecodable::Corrupt(reason) => WorkerError::CheckpointCorrupt {
                path: path.to_path_buf(),
                reason,
            },
            Undecodable::Newer(what) => WorkerError::CheckpointNewer {
                path: path.to_path_buf(),
                what,
                current: "ESCKPT02",
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Checkpoint {
        Checkpoint {
            run_key: "abc123".into(),
            step: 630,
            epoch: 10,
            offset: 256,
            snapshots_done: 11,
            params: vec![0.5, -1.25, f64::from(1.1f32), 0.0],
            optimizer_state: vec![vec![1.0, 2.0], vec![3.0, 4.0]],
            optimizer_steps: 630,
            warm_start: vec![vec![0.6, 0.8], vec![-0.8, 0.6]],
            parts: vec![("snapshots".into(), 3), ("metrics".into(), 3)],
            wall_seconds: 12.5,
            complete: false,
            threads: 2,
            device: "cuda".into(),
            engine: "host".into(),
            statistics: Vec::new(),
        }
    }

    /// A checkpoint with a statistic's state reads back whole; one without any writes no
    /// field for it, so its bytes are those of the version before the field existed.
    #[test]
    fn statistics_state_round_trips_and_is_absent_when_empty() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("checkpoint.bin");
        let mut c = sample();
        c.statistics = vec![(
            "preconditioned".into(),
            vec![vec![0.5, -0.5], vec![1.0, 0.0]],
        )];
        c.save(&path).unwrap();
        assert_eq!(Checkpoint::load(&path).unwrap().unwrap(), c);
        let without = sample().encode();
        let with = c.encode();
        assert!(with.len() > without.len());
        assert_eq!(
            with[..without.len() - 32],
            without[..without.len() - 32],
            "the field only appends"
        );
    }

    /// The checkpoint's bytes with the last `drop` trailing fields (strings) removed and the
    /// checksum re-sealed: what an older version wrote.
    fn without_trailing_strings(lengths: &[usize]) -> Vec<u8> {
        let bytes = sample().encode();
        let mut body = bytes[..bytes.len() - 32].to_vec();
        for len in lengths {
            body.truncate(body.len() - 8 - len);
        }
        let digest = Sha256::digest(&body);
        body.extend_from_slice(&digest);
        body
    }

    /// A checkpoint written before the device field existed (it ended after `threads`) reads
    /// as a CPU run's on the tensor engine.
    #[test]
    fn a_checkpoint_without_the_device_field_reads_as_cpu() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("checkpoint.bin");
        // Drop "host" (the engine) and "cuda" (the device).
        fs::write(&path, without_trailing_strings(&[4, 4])).unwrap();
        let read = Checkpoint::load(&path).unwrap().unwrap();
        assert_eq!(read.device, "cpu");
        assert_eq!(read.engine, "tensors");
        assert_eq!(read.threads, 2);
        assert_eq!(read.params, sample().params);
    }

    /// A checkpoint written before the engine field existed reads as the tensor engine's.
    #[test]
    fn a_checkpoint_without_the_engine_field_reads_as_tensors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("checkpoint.bin");
        fs::write(&path, without_trailing_strings(&[4])).unwrap();
        let read = Checkpoint::load(&path).unwrap().unwrap();
        assert_eq!(read.device, "cuda");
        assert_eq!(read.engine, "tensors");
    }

    #[test]
    fn round_trips_exactly() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/checkpoint.bin");
        sample().save(&path).unwrap();
        assert_eq!(Checkpoint::load(&path).unwrap(), Some(sample()));
        assert!(!path.with_extension("tmp").exists());
        assert_eq!(
            Checkpoint::load(&dir.path().join("none.bin")).unwrap(),
            None
        );
    }

    #[test]
    fn a_failed_save_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        // The final name is taken by a non-empty directory: the rename fails.
        let path = dir.path().join("checkpoint.bin");
        std::fs::create_dir_all(path.join("x")).unwrap();
        assert!(sample().save(&path).is_err());
        assert!(!path.with_extension("tmp").exists());
    }

    #[test]
    fn damaged_files_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("checkpoint.bin");
        sample().save(&path).unwrap();
        let bytes = fs::read(&path).unwrap();
        fs::write(&path, &bytes[..bytes.len() - 40]).unwrap();
        let err = Checkpoint::load(&path).unwrap_err().to_string();
        assert!(
            err.contains("checksum") && err.contains("checkpoint.bin"),
            "{err}"
        );
        let mut flipped = bytes.clone();
        flipped[20] ^= 1;
        fs::write(&path, flipped).unwrap();
        assert!(Checkpoint::load(&path).is_err());
        fs::write(&path, b"not a checkpoint at all, definitely not").unwrap();
        assert!(Checkpoint::load(&path)
            .unwrap_err()
            .to_string()
            .contains("ESCKPT02"));
    }

    /// Bytes sealed with a valid checksum, as a build of another format would write them.
    fn sealed(body: &[u8]) -> Vec<u8> {
        let mut bytes = body.to_vec();
        bytes.extend_from_slice(&Sha256::digest(body));
        bytes
    }

    #[test]
    fn a_newer_builds_checkpoint_is_named_as_such_not_as_damaged() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("checkpoint.bin");
        let bytes = sample().encode();
        let body = &bytes[..bytes.len() - 32];
        // A new magic.
        let mut newer = body.to_vec();
        newer[..8].copy_from_slice(b"ESCKPT03");
        fs::write(&path, sealed(&newer)).unwrap();
        let err = Checkpoint::load(&path).unwrap_err();
        assert!(err.is_newer(), "{err}");
        let text = err.to_string();
        assert!(
            text.contains("newer eigensweep") && text.contains("ESCKPT03"),
            "{text}"
        );
        assert!(text.contains("delete the checkpoint"), "{text}");
        // One more trailing field.
        let mut more = body.to_vec();
        more.extend_from_slice(&5u64.to_le_bytes());
        more.extend_from_slice(b"extra");
        fs::write(&path, sealed(&more)).unwrap();
        let err = Checkpoint::load(&path).unwrap_err();
        assert!(err.is_newer(), "{err}");
        assert!(err.to_string().contains("do not follow"), "{err}");
        // A newer magic on a torn file is damage, not a newer build.
        let mut torn = sealed(&newer);
        torn.truncate(torn.len() - 1);
        fs::write(&path, torn).unwrap();
        assert!(!Checkpoint::load(&path).unwrap_err().is_newer());
    }
}
