//! Whether an MPI launcher (`mpirun`, `mpiexec`, `srun`) started this process.
//!
//! Checked through the environment every launcher sets for its processes, so that a binary
//! built with the `mpi` feature but started by hand runs as one process without initialising
//! MPI, exactly like a build without the feature. The decisions are pure functions of a
//! variable lookup, so that tests (which run in parallel threads of one process) never touch
//! the process environment.

/// Variables set by OpenMPI (`OMPI_*`), MPICH/Hydra and Intel MPI (`PMI_*`,
/// `MPI_LOCALNRANKS`), PMIx launchers (including srun --mpi=pmix, which may set nothing else),
/// Slurm's PMI2 and MVAPICH2 (`MV2_*`).
const LAUNCHER_VARIABLES: &[&str] = &[
    "OMPI_COMM_WORLD_SIZE",
    "PMI_SIZE",
    "PMI_RANK",
    "PMIX_RANK",
    "MPI_LOCALNRANKS",
    "MV2_COMM_WORLD_SIZE",
    "MV2_COMM_WORLD_RANK",
];

/// Variables that hold the number of tasks of the job, most specific first.
const SIZE_VARIABLES: &[&str] = &[
    "OMPI_COMM_WORLD_SIZE",
    "PMI_SIZE",
    "MV2_COMM_WORLD_SIZE",
    "PMIX_SIZE",
];

/// Variables that hold this task's rank; a rank above 0 proves there are several tasks even
/// where no size is published (PMIx publishes the size only through its API).
const RANK_VARIABLES: &[&str] = &[
    "OMPI_COMM_WORLD_RANK",
    "PMI_RANK",
    "MV2_COMM_WORLD_RANK",
    "PMIX_RANK",
];

/// How many tasks the launcher started, as far as the environment tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tasks {
    /// Not started by a launcher, or by one that says it started one task.
    One,
    /// Several tasks (the number, where known).
    Several(Option<u64>),
    /// Started by a launcher that does not say how many tasks (PMIx rank 0 alone).
    Unknown,
}

/// Whether this process was started by an MPI launcher.
#[cfg_attr(not(feature = "mpi"), allow(dead_code))]
pub(crate) fn launched_by_mpi() -> bool {
    launched_by_mpi_in(|v| std::env::var(v).ok())
}

fn launched_by_mpi_in(var: impl Fn(&str) -> Option<String>) -> bool {
    LAUNCHER_VARIABLES.iter().any(|v| var(v).is_some())
}

/// How many tasks the launcher described by `var` started.
fn tasks_in(var: impl Fn(&str) -> Option<String>) -> Tasks {
    let number = |v: &str| var(v).and_then(|s| s.trim().parse::<u64>().ok());
    let size = SIZE_VARIABLES.iter().find_map(|v| number(v)).or_else(|| {
        // A task of a Slurm job step (srun), not the batch script itself.
        var("SLURM_PROCID").and(number("SLURM_STEP_NUM_TASKS"))
    });
    match size {
        Some(n) if n > 1 => Tasks::Several(Some(n)),
        Some(_) => Tasks::One,
        None if RANK_VARIABLES
            .iter()
            .any(|v| number(v).is_some_and(|r| r > 0)) =>
        {
            Tasks::Several(None)
        }
        None if launched_by_mpi_in(&var) => Tasks::Unknown,
        None => Tasks::One,
    }
}

/// Why this launch cannot work, if it cannot: the process is one of several tasks started by
/// a launcher, but it will not talk MPI (a build without the `mpi` feature, or `srun` without
/// a PMI plugin). Every task would then run the whole sweep into the same directory.
pub(crate) fn unsupported_launch() -> Option<String> {
    unsupported_launch_in(|v| std::env::var(v).ok(), cfg!(feature = "mpi"))
}

/// [`unsupported_launch`] for the environment `var` and a build with (`mpi_build`) or
/// without the `mpi` feature.
fn unsupported_launch_in(var: impl Fn(&str) -> Option<String>, mpi_build: bool) -> Option<String> {
    let tasks = match tasks_in(&var) {
        Tasks::One => return None,
        // The mpi build joins the job through MPI whenever a launcher variable is present
        // (always so for `Unknown`). Started by `srun` without a PMI plugin (only SLURM_*
        // variables) it would run alone in every task: refused below.
        _ if mpi_build && launched_by_mpi_in(&var) => return None,
        Tasks::Several(Some(n)) => format!("one of {n} tasks"),
        Tasks::Several(None) => "one of several tasks".to_string(),
        Tasks::Unknown => "a task (of an unknown number)".to_string(),
    };
    Some(if mpi_build {
        format!(
            "started as {tasks}, but without an MPI process manager (PMI): every \
             task would run the whole sweep. Launch with `srun --mpi=pmix` (see `srun --mpi=list`) \
             or mpirun, or use `--shard I/K` for independent tasks"
        )
    } else {
        format!(
            "started as {tasks} of an MPI launcher, but this binary was built \
             without the `mpi` feature: every task would run the whole sweep. Build with \
             `cargo build --release --features mpi`, run it without the launcher, or use \
             `--shard I/K` for independent tasks"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A lookup over `vars` only.
    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn no_launcher_is_one_task() {
        assert_eq!(tasks_in(env(&[])), Tasks::One);
        assert!(unsupported_launch_in(env(&[]), false).is_none());
        assert!(unsupported_launch_in(env(&[]), true).is_none());
        // The batch script of a Slurm job (no job step) is not a task of srun.
        let batch = [("SLURM_STEP_NUM_TASKS", "4")];
        assert!(unsupported_launch_in(env(&batch), false).is_none());
    }

    #[test]
    fn every_launcher_with_several_tasks_is_refused_without_mpi() {
        let launches: &[&[(&str, &str)]] = &[
            &[("OMPI_COMM_WORLD_SIZE", "3"), ("OMPI_COMM_WORLD_RANK", "0")],
            &[("PMI_SIZE", "2"), ("PMI_RANK", "0")],
            &[("MPI_LOCALNRANKS", "2"), ("PMI_SIZE", "2")],
            &[("SLURM_PROCID", "0"), ("SLURM_STEP_NUM_TASKS", "2")],
            &[("MV2_COMM_WORLD_SIZE", "2")],
            &[("MV2_COMM_WORLD_SIZE", "2"), ("MV2_COMM_WORLD_RANK", "1")],
            // PMIx alone publishes the rank, not the size.
            &[("PMIX_RANK", "0")],
            &[("PMIX_RANK", "1")],
        ];
        for vars in launches {
            let problem = unsupported_launch_in(env(vars), false)
                .unwrap_or_else(|| panic!("{vars:?} was accepted"));
            assert!(problem.contains("--features mpi"), "{vars:?}: {problem}");
            assert!(problem.contains("--shard"), "{vars:?}: {problem}");
        }
    }

    #[test]
    fn task_counts_are_named_where_known() {
        let m = unsupported_launch_in(env(&[("MV2_COMM_WORLD_SIZE", "2")]), false).unwrap();
        assert!(m.contains("one of 2 tasks"), "{m}");
        let m = unsupported_launch_in(env(&[("PMIX_RANK", "3")]), false).unwrap();
        assert!(m.contains("one of several tasks"), "{m}");
        let m = unsupported_launch_in(env(&[("PMIX_RANK", "0")]), false).unwrap();
        assert!(m.contains("unknown number"), "{m}");
    }

    #[test]
    fn a_single_task_launch_runs() {
        for vars in [
            &[("OMPI_COMM_WORLD_SIZE", "1")][..],
            &[("PMI_SIZE", "1"), ("PMI_RANK", "0")][..],
            &[("MV2_COMM_WORLD_SIZE", "1")][..],
        ] {
            assert!(
                unsupported_launch_in(env(vars), false).is_none(),
                "{vars:?}"
            );
        }
    }

    #[test]
    fn the_mpi_build_joins_any_launcher_but_refuses_srun_without_pmi() {
        for vars in [
            &[("PMIX_RANK", "0")][..],
            &[("MV2_COMM_WORLD_SIZE", "2")][..],
            &[("OMPI_COMM_WORLD_SIZE", "2")][..],
        ] {
            assert!(launched_by_mpi_in(env(vars)), "{vars:?}");
            assert!(unsupported_launch_in(env(vars), true).is_none(), "{vars:?}");
        }
        let srun = [("SLURM_PROCID", "1"), ("SLURM_STEP_NUM_TASKS", "2")];
        let m = unsupported_launch_in(env(&srun), true).unwrap();
        assert!(m.contains("srun --mpi=pmix"), "{m}");
    }
}
