//! Whether an MPI launcher (`mpirun`, `mpiexec`, `srun`) started this process.
//!
//! Checked through the environment every launcher sets for its processes, so that a binary
//! built with the `mpi` feature but started by hand runs as one process without initialising
//! MPI, exactly like a build without the feature.

/// Variables set by OpenMPI (`OMPI_*`), MPICH/Hydra and Intel MPI (`PMI_*`), PMIx launchers
/// (including srun --mpi=pmix) and Slurm's PMI2.
const LAUNCHER_VARIABLES: &[&str] = &[
    "OMPI_COMM_WORLD_SIZE",
    "PMI_SIZE",
    "PMI_RANK",
    "PMIX_RANK",
    "MPI_LOCALNRANKS",
];

/// Whether this process was started by an MPI launcher.
#[cfg_attr(not(feature = "mpi"), allow(dead_code))]
pub(crate) fn launched_by_mpi() -> bool {
    LAUNCHER_VARIABLES
        .iter()
        .any(|v| std::env::var_os(v).is_some())
}

/// Why this launch cannot work, if it cannot: the process is one of several tasks started by
/// a launcher, but it will not talk MPI (a build without the `mpi` feature, or `srun` without
/// a PMI plugin). Every task would then run the whole sweep into the same directory.
pub(crate) fn unsupported_launch() -> Option<String> {
    let count = |v: &str| {
        std::env::var(v)
            .ok()
            .and_then(|s| s.trim().parse::<u64>().ok())
    };
    let tasks = count("OMPI_COMM_WORLD_SIZE")
        .or_else(|| count("PMI_SIZE"))
        .or_else(|| {
            // A task of a Slurm job step (srun), not the batch script itself.
            std::env::var_os("SLURM_PROCID").and(count("SLURM_STEP_NUM_TASKS"))
        })
        .unwrap_or(1);
    if tasks <= 1 || (cfg!(feature = "mpi") && launched_by_mpi()) {
        return None;
    }
    Some(if cfg!(feature = "mpi") {
        format!(
            "started as one of {tasks} tasks, but without an MPI process manager (PMI): every \
             task would run the whole sweep. Launch with `srun --mpi=pmix` (see `srun --mpi=list`) \
             or mpirun, or use `--shard I/K` for independent tasks"
        )
    } else {
        format!(
            "started as one of {tasks} tasks of an MPI launcher, but this binary was built \
             without the `mpi` feature: every task would run the whole sweep. Build with \
             `cargo build --release --features mpi`, or use `--shard I/K` for independent tasks"
        )
    })
}
