//! Helpers of the tests that stop `analyze`, `minima` and `report` with a signal or a full
//! disk: a synthetic sweep output large enough to be stopped mid-way, a tmpfs that unmounts
//! itself, and comparisons of whole directory trees.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output};
use std::time::{Duration, Instant};

use eigensweep_worker::output::{
    baseline_dir, BaselineRow, PartWriter, RunDirs, SnapshotRow, WeightRow,
};

/// A deterministic generator (xorshift64*): the synthetic outputs must be byte-identical
/// each time they are written.
struct Rng(u64);

impl Rng {
    fn next_f32(&mut self) -> f32 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let x = self.0.wrapping_mul(0x2545_F491_4F6C_DD1D);
        (x >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0
    }

    fn unit(&mut self, n: usize) -> Vec<f32> {
        let v: Vec<f32> = (0..n).map(|_| self.next_f32()).collect();
        let norm = v.iter().map(|&x| f64::from(x).powi(2)).sum::<f64>().sqrt();
        v.iter().map(|&x| (f64::from(x) / norm) as f32).collect()
    }
}

/// Size of a synthetic sweep output: `runs` finished runs of `snapshots` snapshots each, with
/// `k` eigenvectors of length `n` and θ at every snapshot, and a baseline of 4 networks.
#[derive(Debug, Clone, Copy)]
pub struct Synthetic {
    pub runs: usize,
    pub snapshots: usize,
    pub k: usize,
    pub n: usize,
}

impl Synthetic {
    /// Writes the output into `out` with the worker's own writers (4 snapshots per part).
    pub fn write(&self, out: &Path) {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        for r in 0..self.runs {
            let optimizer = ["sgd", "adam", "sam"][r % 3];
            let seed = (r / 3) as u64;
            let dirs = RunDirs::new(out, "synthetic", optimizer, seed).unwrap();
            let mut snaps = PartWriter::<SnapshotRow>::open(&dirs.snapshots, 0).unwrap();
            let mut weights = PartWriter::<WeightRow>::open(&dirs.weights, 0).unwrap();
            let run_key = format!("synthetic-{optimizer}-{seed}");
            let steps: Vec<u64> = (0..self.snapshots as u64).map(|s| s * 10).collect();
            for chunk in steps.chunks(4) {
                let mut rows = Vec::new();
                let mut wrows = Vec::new();
                for &step in chunk {
                    for i in 0..self.k {
                        let v = rng.unit(self.n);
                        rows.push(SnapshotRow {
                            run_key: run_key.clone(),
                            step,
                            index: i as u32 + 1,
                            eigenvalue: 10.0 - i as f64 + step as f64 * 1e-3,
                            residual: 1e-4,
                            converged: true,
                            products: 7,
                            ipr: v.iter().map(|&x| f64::from(x).powi(4)).sum(),
                            grad_alignment: 0.5,
                            full_grad_alignment: 0.25,
                            update_alignment: 0.125,
                            eigenvector: v,
                        });
                    }
                    wrows.push(WeightRow {
                        run_key: run_key.clone(),
                        step,
                        theta: (0..self.n).map(|_| rng.next_f32() * 0.3).collect(),
                    });
                }
                snaps.write_part(&rows).unwrap();
                weights.write_part(&wrows).unwrap();
            }
            std::fs::write(dirs.root.join("_SUCCESS"), b"").unwrap();
        }
        let mut w =
            PartWriter::<BaselineRow>::open(baseline_dir(out, "synthetic").unwrap(), 0).unwrap();
        let rows: Vec<BaselineRow> = (0..4u32)
            .flat_map(|m| (0..self.k as u32).map(move |i| (m, i)))
            .map(|(m, i)| {
                let v = rng.unit(self.n);
                BaselineRow {
                    dataset: "synthetic".into(),
                    network: m,
                    task_key: "baseline".into(),
                    index: i + 1,
                    eigenvalue: 1.0 + f64::from(m),
                    residual: 0.0,
                    converged: true,
                    products: 1,
                    ipr: v.iter().map(|&x| f64::from(x).powi(4)).sum(),
                    eigenvector: v,
                }
            })
            .collect();
        w.write_part(&rows).unwrap();
    }
}

/// The paths of the files under `dir`. Files may come and go while a command runs (a
/// temporary file renamed): those that vanish while listed are left out.
pub fn file_paths(dir: &Path) -> Vec<PathBuf> {
    let mut all = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            match entry.file_type() {
                Ok(t) if t.is_dir() => stack.push(path),
                Ok(_) => all.push(path),
                Err(_) => {}
            }
        }
    }
    all
}

/// Every file under `dir` (relative path → bytes), for a directory no command is writing.
pub fn files(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    file_paths(dir)
        .into_iter()
        .map(|path| {
            let bytes = std::fs::read(&path).unwrap();
            (path.strip_prefix(dir).unwrap().to_path_buf(), bytes)
        })
        .collect()
}

/// Asserts that the two trees hold the same files with the same bytes.
pub fn assert_same_files(want: &Path, got: &Path, context: &str) {
    let (a, b) = (files(want), files(got));
    let names = |m: &BTreeMap<PathBuf, Vec<u8>>| m.keys().cloned().collect::<Vec<_>>();
    assert_eq!(names(&a), names(&b), "{context}: different files");
    for (name, bytes) in &a {
        assert!(
            bytes == &b[name],
            "{context}: {} differs from the uninterrupted result",
            name.display()
        );
    }
}

/// Temporary files (`*.tmp`) anywhere under `dir`.
pub fn temp_files(dir: &Path) -> Vec<PathBuf> {
    file_paths(dir)
        .into_iter()
        .filter(|p| p.to_string_lossy().ends_with(".tmp"))
        .collect()
}

/// Sends SIGTERM to `child`.
pub fn sigterm(child: &Child) {
    // SAFETY: kill(2) with the PID of our own child and a valid signal number.
    let rc = unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
    assert_eq!(rc, 0, "kill: {}", std::io::Error::last_os_error());
}

/// Waits for `child` at most `limit`; kills it and fails if it takes longer.
pub fn wait_at_most(mut child: Child, limit: Duration, what: &str) -> (Output, Duration) {
    let started = Instant::now();
    loop {
        if let Some(_status) = child.try_wait().unwrap() {
            let elapsed = started.elapsed();
            return (child.wait_with_output().unwrap(), elapsed);
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what}: still running {limit:?} after SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A tmpfs mounted at a directory for the life of the guard (unmounted on drop, also when
/// the test fails).
pub struct Tmpfs {
    pub dir: PathBuf,
}

impl Tmpfs {
    /// Mounts a tmpfs of `kib` KiB at `dir`. `None` (with a note) where mounting is not
    /// permitted (not root, no CAP_SYS_ADMIN); with `EIGENSWEEP_REQUIRE_MOUNT=1` that fails
    /// the test instead.
    pub fn mount(dir: &Path, kib: u64) -> Option<Tmpfs> {
        std::fs::create_dir_all(dir).unwrap();
        let o = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={kib}k"), "tmpfs"])
            .arg(dir)
            .output();
        match o {
            Ok(o) if o.status.success() => Some(Tmpfs {
                dir: dir.to_path_buf(),
            }),
            other => {
                let why = match other {
                    Ok(o) => String::from_utf8_lossy(&o.stderr).into_owned(),
                    Err(e) => e.to_string(),
                };
                assert!(
                    std::env::var("EIGENSWEEP_REQUIRE_MOUNT").as_deref() != Ok("1"),
                    "EIGENSWEEP_REQUIRE_MOUNT=1 but mounting a tmpfs failed: {why}"
                );
                eprintln!("SKIPPED: this test needs to mount a tmpfs (root): {why}");
                None
            }
        }
    }

    /// Grows (or shrinks) the filesystem to `kib` KiB.
    pub fn resize(&self, kib: u64) {
        let o = Command::new("mount")
            .args(["-o", &format!("remount,size={kib}k")])
            .arg(&self.dir)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.dir).status();
    }
}

/// Bytes in use on the filesystem holding `dir` (as `df` counts them: whole blocks).
pub fn used_kib(dir: &Path) -> u64 {
    let o = Command::new("df")
        .args(["--output=used", "-k"])
        .arg(dir)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&o.stdout).into_owned();
    text.lines().nth(1).unwrap().trim().parse().unwrap()
}

/// Copies the tree `from` into `to` (`cp -a`).
pub fn copy_tree(from: &Path, to: &Path) {
    let o = Command::new("cp")
        .arg("-a")
        .arg(from)
        .arg(to)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}
