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
