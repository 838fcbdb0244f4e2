//! Records the git commit the binary is built from, for the provenance every output file
//! carries (`eigensweep_common::provenance`; set once at start-up by `main_with_args`).
//!
//! `EIGENSWEEP_GIT_COMMIT` in the build's environment wins (a packager building from a
//! tarball knows the commit); otherwise `git rev-parse HEAD` of the source tree, with `+dirty`
//! when the tracked sources of the five crates (or the workspace's Cargo.toml / Cargo.lock)
//! differ from that commit; otherwise `unknown` (no git, or not a checkout).
//!
//! It lives in the binary's crate, not in `common`: a new commit then rebuilds this crate
//! only, not the whole workspace. It reruns when HEAD or its branch moves and when a source
//! file of the five crates changes, so the `+dirty` mark follows the sources built.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The workspace's crates, relative to the workspace root (this crate's parent).
const SOURCES: [&str; 7] = [
    "common",
    "worker",
    "analysis",
    "report",
    "orchestrator/src",
    "Cargo.toml",
    "Cargo.lock",
];

fn git(root: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .args(args)
        .current_dir(root)
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    Some(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn main() {
    println!("cargo:rerun-if-env-changed=EIGENSWEEP_GIT_COMMIT");
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    for source in SOURCES {
        let path = root.join(source);
        if path.exists() {
            println!("cargo:rerun-if-changed={}", path.display());
        }
    }
    let commit = match std::env::var("EIGENSWEEP_GIT_COMMIT") {
        Ok(c) if !c.trim().is_empty() => c.trim().to_string(),
        _ => from_git(&root).unwrap_or_else(|| "unknown".into()),
    };
    println!("cargo:rustc-env=EIGENSWEEP_GIT_COMMIT={commit}");
}

fn from_git(root: &Path) -> Option<String> {
    let git_dir = PathBuf::from(git(root, &["rev-parse", "--absolute-git-dir"])?);
    for watched in ["HEAD", "packed-refs"] {
        let path = git_dir.join(watched);
        if path.exists() {
            println!("cargo:rerun-if-changed={}", path.display());
        }
    }
    if let Some(reference) = git(root, &["symbolic-ref", "-q", "HEAD"]) {
        let path = git_dir.join(reference);
        if path.exists() {
            println!("cargo:rerun-if-changed={}", path.display());
        }
    }
    let head = git(root, &["rev-parse", "HEAD"])?;
    if head.len() != 40 {
        return None;
    }
    let mut status = vec!["status", "--porcelain", "--untracked-files=no", "--"];
    status.extend(SOURCES);
    let dirty = git(root, &status).is_some_and(|s| !s.is_empty());
    Some(if dirty { format!("{head}+dirty") } else { head })
}
