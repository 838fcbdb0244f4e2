//! Exit codes of the `eigensweep` binary. Scripts (Slurm job steps, CI) branch on these, so
//! their meaning never changes; new failure kinds get new numbers.

/// Everything asked for was done.
pub const SUCCESS: i32 = 0;
/// An unexpected internal error (a bug): please report it with the message.
pub const INTERNAL: i32 = 1;
/// The command line was malformed (clap's own usage errors also exit with 2).
pub const USAGE: i32 = 2;
/// Bad input: a missing, malformed or inconsistent input file, dataset or setting.
pub const INPUT: i32 = 3;
/// An output could not be written (unwritable directory, full disk).
pub const OUTPUT: i32 = 4;
/// A download failed (no network, server error, checksum mismatch).
pub const NETWORK: i32 = 5;
/// A numerical failure: training diverged (non-finite loss) or a device operation failed.
pub const NUMERICAL: i32 = 6;

/// The sweep ran to the end, but some runs or baseline networks failed or diverged (their
/// status and error are in `runs.parquet`); the others are complete.
pub const RUNS_FAILED: i32 = 7;

/// Stopped by SIGTERM, SIGUSR1 or SIGINT (e.g. Slurm preemption) after every running run
/// wrote a checkpoint (an unfinished eigen-snapshot or baseline network is abandoned and redone
/// on relaunch); running the same command again continues the sweep.
pub const INTERRUPTED: i32 = 8;

/// Another launch holds the output directory (or this shard of it): nothing was done. The
/// message names the holder (host, PID, start time); wait for it, or stop it, and run again.
pub const LOCKED: i32 = 9;

/// `eigensweep status`: the sweep is not complete yet (tasks pending, running, failed or
/// diverged); the table printed says which.
pub const INCOMPLETE: i32 = 10;

/// `(code, meaning)` for every exit code: the one list that `--help`, the README and the tests
/// use.
pub const ALL: &[(i32, &str)] = &[
    (SUCCESS, "success"),
    (INTERNAL, "internal error (a bug; please report it)"),
    (
        USAGE,
        "malformed command line, or started in a way it cannot run",
    ),
    (INPUT, "bad input: file, dataset or setting"),
    (
        OUTPUT,
        "an output could not be written (full disk, quota, read-only or failing filesystem)",
    ),
    (NETWORK, "a download failed"),
    (NUMERICAL, "training diverged or a device operation failed"),
    (
        RUNS_FAILED,
        "some runs of the sweep failed or diverged (see runs.parquet)",
    ),
    (
        INTERRUPTED,
        "stopped by SIGTERM/SIGUSR1/SIGINT after checkpointing: run the same command again",
    ),
    (
        LOCKED,
        "the output is in use by another launch (the message names it)",
    ),
    (INCOMPLETE, "status: the sweep is not complete yet"),
];

/// The exit codes as one paragraph, for `--help`.
pub fn help_text() -> String {
    let items: Vec<String> = ALL.iter().map(|(c, m)| format!("{c} {m}")).collect();
    format!("Exit codes: {}.", items.join(" · "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_distinct() {
        let mut codes: Vec<i32> = ALL.iter().map(|(c, _)| *c).collect();
        codes.sort();
        codes.dedup();
        assert_eq!(codes.len(), ALL.len());
    }

    #[test]
    fn every_code_is_listed_and_in_the_help() {
        let help = help_text();
        for code in [
            SUCCESS,
            INTERNAL,
            USAGE,
            INPUT,
            OUTPUT,
            NETWORK,
            NUMERICAL,
            RUNS_FAILED,
            INTERRUPTED,
            LOCKED,
            INCOMPLETE,
        ] {
            assert!(ALL.iter().any(|(c, _)| *c == code), "{code} missing");
            assert!(help.contains(&format!("{code} ")), "{code} not in help");
        }
    }
}
