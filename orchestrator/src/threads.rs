//! How many CPU threads a process should use when several share a node.
//!
//! Launchers differ: `mpirun` may bind each rank to its own cores, `srun --cpus-per-task`
//! gives each task a disjoint mask, and a plain launch leaves every rank free to run on every
//! core of the node (or of the job's cgroup). Counting, for each CPU in this process's
//! affinity mask, how many processes of the node may run there, and taking the fair share,
//! gives the right answer in all three cases without knowing which launcher ran us.
//! [`size_threads`] then splits a process's budget among its jobs. `run` and `plan` share
//! these rules, so that `plan` prices and refuses layouts as `run` would launch them.

// Without the `mpi` feature only the affinity count is used.
#![cfg_attr(not(feature = "mpi"), allow(dead_code))]

use eigensweep_common::exit_codes;

use crate::cli::RunArgs;
use crate::failure::Failure;

/// Refuses `--jobs`, `--threads` and `--threads-per-run` given together where they cannot
/// all hold: `--threads` is a process's budget, so its jobs' threads must fit in it (zero
/// counts are refused by the command-line parser, naming the option). `plan` refuses the
/// layouts `run` would refuse, with this same message and exit code (issue 26.4: it priced
/// `--jobs 16 --threads 8`, which `run` refuses).
pub(crate) fn check_parallelism(
    jobs: usize,
    threads: Option<usize>,
    threads_per_run: Option<usize>,
) -> Result<(), Failure> {
    let Some(threads) = threads else {
        return Ok(());
    };
    let per_run = threads_per_run.unwrap_or(1);
    let needed = jobs.saturating_mul(per_run);
    if needed <= threads {
        return Ok(());
    }
    let asked = match threads_per_run {
        Some(r) => format!("--jobs {jobs} × --threads-per-run {r}"),
        None => format!("--jobs {jobs} (one thread each at least)"),
    };
    Err(Failure {
        code: exit_codes::USAGE,
        error: anyhow::anyhow!(
            "{asked} need {needed} threads, more than --threads {threads}: raise --threads, or \
             lower --jobs or --threads-per-run"
        ),
    })
}

/// Bits in the affinity bitmap exchanged between the ranks of a node (glibc's CPU_SETSIZE).
pub(crate) const MAX_CPUS: usize = 1024;

/// The CPUs this process may run on, by index.
pub(crate) fn affinity() -> Vec<usize> {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: cpu_set_t is plain data; sched_getaffinity fills at most its size in bytes.
        unsafe {
            let mut set: libc::cpu_set_t = std::mem::zeroed();
            if libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) == 0 {
                let cpus: Vec<usize> = (0..MAX_CPUS)
                    .filter(|&c| libc::CPU_ISSET(c, &set))
                    .collect();
                if !cpus.is_empty() {
                    return cpus;
                }
            }
        }
    }
    let n = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    (0..n).collect()
}

/// A CPU list as a fixed-size bitmap (for an all-gather among the ranks of a node).
pub(crate) fn to_bitmap(cpus: &[usize]) -> Vec<u64> {
    let mut words = vec![0u64; MAX_CPUS / 64];
    for &c in cpus.iter().filter(|&&c| c < MAX_CPUS) {
        words[c / 64] |= 1 << (c % 64);
    }
    words
}

/// The CPU list of a bitmap made by [`to_bitmap`].
pub(crate) fn from_bitmap(words: &[u64]) -> Vec<usize> {
    (0..words.len() * 64)
        .filter(|&c| words[c / 64] & (1 << (c % 64)) != 0)
        .collect()
}

/// This process's fair share of its CPUs: Σ over its CPUs of 1 / (processes of the node that
/// may run on that CPU), rounded down, at least 1. `all` holds every process's mask, its own
/// included.
pub(crate) fn fair_share(mine: &[usize], all: &[Vec<usize>]) -> usize {
    let share: f64 = mine
        .iter()
        .map(|c| {
            let sharing = all.iter().filter(|m| m.contains(c)).count().max(1);
            1.0 / sharing as f64
        })
        .sum();
    // A little slack so that 3 × (1/3) counts as 1.
    ((share + 1e-9).floor() as usize).max(1)
}

/// Threads per run from this process's CPU budget (`--threads`, else `process_budget`); sets
/// RAYON_NUM_THREADS, which candle and the HVP engine read on every operation. Explicit
/// options that would exceed `--threads` were refused by `prepare` ([`check_parallelism`]).
pub(crate) fn size_threads(args: &RunArgs, process_budget: usize) -> (usize, usize) {
    let per_process = args.threads.unwrap_or(process_budget).max(1);
    let jobs = args.jobs.max(1);
    let per_run = args.threads_per_run.unwrap_or((per_process / jobs).max(1));
    std::env::set_var("RAYON_NUM_THREADS", per_run.to_string());
    (jobs, per_run)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unbound_ranks_split_the_node() {
        let node: Vec<usize> = (0..16).collect();
        let all = vec![node.clone(); 4];
        assert_eq!(fair_share(&node, &all), 4);
        let all3 = vec![node.clone(); 3];
        assert_eq!(fair_share(&node, &all3), 5);
    }

    #[test]
    fn bound_ranks_keep_their_cores() {
        let a: Vec<usize> = (0..8).collect();
        let b: Vec<usize> = (8..16).collect();
        let all = vec![a.clone(), b.clone()];
        assert_eq!(fair_share(&a, &all), 8);
        assert_eq!(fair_share(&b, &all), 8);
    }

    #[test]
    fn oversubscribed_ranks_get_one_thread_each() {
        let node: Vec<usize> = vec![0, 1];
        let all = vec![node.clone(); 3];
        assert_eq!(fair_share(&node, &all), 1);
    }

    #[test]
    fn partly_overlapping_masks() {
        // Rank A alone on 0..4, shares 4..8 with B: 4 + 4/2 = 6.
        let a: Vec<usize> = (0..8).collect();
        let b: Vec<usize> = (4..8).collect();
        assert_eq!(fair_share(&a, &[a.clone(), b.clone()]), 6);
        assert_eq!(fair_share(&b, &[a.clone(), b.clone()]), 2);
    }

    #[test]
    fn jobs_must_fit_in_the_threads_given() {
        assert!(check_parallelism(16, None, None).is_ok(), "no budget given");
        assert!(check_parallelism(8, Some(8), None).is_ok());
        assert!(check_parallelism(4, Some(8), Some(2)).is_ok());
        let e = check_parallelism(16, Some(8), None).unwrap_err();
        assert_eq!(e.code, exit_codes::USAGE);
        assert_eq!(
            e.error.to_string(),
            "--jobs 16 (one thread each at least) need 16 threads, more than --threads 8: \
             raise --threads, or lower --jobs or --threads-per-run"
        );
        let e = check_parallelism(3, Some(8), Some(4)).unwrap_err();
        assert!(
            e.error
                .to_string()
                .starts_with("--jobs 3 × --threads-per-run 4 need 12 threads"),
            "{}",
            e.error
        );
    }

    #[test]
    fn bitmaps_round_trip() {
        let cpus = vec![0, 1, 63, 64, 200, 1023];
        assert_eq!(from_bitmap(&to_bitmap(&cpus)), cpus);
        assert!(!affinity().is_empty());
    }
}
