//! `eigensweep analyze OUT`: the dataflow analysis of a sweep's output (every two-time
//! displacement pair, the random-init baseline τ, weight displacement, two-time update
//! alignment, convergence, subspace overlap, summaries) into `OUT/analysis/`.
//!
//! `-w THREADS` timely workers in this process; under `mpirun`/`srun` (feature `mpi`) the
//! ranks form one timely cluster, with the addresses gathered over MPI, and write the same
//! tables a single process would.
//!
//! SIGTERM, SIGUSR1 or SIGINT (Slurm preemption) halts every worker within one tile-pair job
//! (a signal to one rank halts the whole cluster) and the command exits with
//! [`INTERRUPTED`](exit_codes::INTERRUPTED): the finished jobs are recorded, so the same
//! command continues. A full disk, quota, read-only or failing filesystem exits with
//! [`OUTPUT`](exit_codes::OUTPUT), naming the file and the cause; an input it cannot read (a
//! torn part, a table of a newer eigensweep) exits with [`INPUT`](exit_codes::INPUT).

use eigensweep_analysis::AnalyzeOptions;
use eigensweep_common::exit_codes;
use eigensweep_common::stop::StopFlag;

use crate::cli::AnalyzeArgs;
use crate::failure::Failure;

pub(crate) fn run(args: AnalyzeArgs) -> Result<(), Failure> {
    // First, so that a signal at any later moment is a request to stop, not a kill.
    let stop = StopFlag::from(crate::run_cmd::install_signal_flag()?);
    if let Some(problem) = crate::launcher::unsupported_launch() {
        return Err(Failure {
            code: exit_codes::USAGE,
            error: anyhow::anyhow!(problem),
        });
    }
    // A follower may start before the launch has made the directory: it waits for it.
    if !(args.follow && !args.out.exists()) {
        crate::output_dir::require_output_dir("analyze", &args.out)?;
    }
    let workers = args.workers.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    });
    let opts = AnalyzeOptions {
        workers,
        process: None,
        tile_rows: args.tile_rows,
        panel: args.panel,
        only_finished: args.only_finished,
        force: args.force,
        stop,
    };
    if args.follow {
        if crate::launcher::launched_by_mpi() {
            return Err(Failure {
                code: exit_codes::USAGE,
                error: anyhow::anyhow!(
                    "--follow runs in one process: start it without mpirun/srun (-w sets its threads)"
                ),
            });
        }
        return crate::analyze_follow::follow(&args, &opts);
    }
    #[cfg(feature = "mpi")]
    if crate::launcher::launched_by_mpi() {
        return cluster::run(&args.out, opts);
    }
    // Beside a `run` is fine (it reads the snapshots as far as they go); beside another
    // analysis is not (both would write the same tables).
    let _lock = crate::output_lock::acquire_for_analysis(&args.out)?;
    crate::analyze_pass::run_process(&args.out, &opts, true).map(|_| ())
}

#[cfg(feature = "mpi")]
mod cluster {
    //! The ranks of an MPI job as one timely cluster.

    use std::net::TcpListener;
    use std::path::Path;

    use eigensweep_analysis::{AnalyzeOptions, ClusterProcess};
    use eigensweep_common::exit_codes;
    use mpi::collective::SystemOperation;
    use mpi::traits::*;

    use crate::failure::{Failure, WithExitCode};

    /// Bytes per address in the all-gather (`host:port`, zero-padded).
    const ADDRESS_BYTES: usize = 256;

    pub(super) fn run(out: &Path, mut opts: AnalyzeOptions) -> Result<(), Failure> {
        let Some(universe) = mpi::initialize() else {
            return Err(Failure {
                code: exit_codes::INTERNAL,
                error: anyhow::anyhow!("MPI was already initialised"),
            });
        };
        let world = universe.world();
        let rank = world.rank();
        // Rank 0 holds the analysis lock for the job; refused, every rank stops with its code.
        let lock = if rank == 0 {
            crate::output_lock::acquire_for_analysis(out)
        } else {
            Ok(None)
        };
        let mut code = lock.as_ref().err().map_or(0, |f| f.code);
        world.process_at_rank(0).broadcast_into(&mut code);
        let _lock = match lock {
            Err(f) => return Err(f),
            Ok(_) if code != 0 => {
                return Err(Failure {
                    code,
                    error: anyhow::anyhow!(
                        "rank {rank}: rank 0 could not start the analysis (see its error)"
                    ),
                })
            }
            Ok(held) => held,
        };
        // Each rank picks a free port on its host; timely binds it right after the exchange.
        let host = std::env::var("EIGENSWEEP_ANALYZE_HOST")
            .ok()
            .or_else(|| mpi::environment::processor_name().ok())
            .unwrap_or_else(|| "localhost".into());
        // A rank that finds no port still takes part in the all-gather (with an empty
        // address), so that every rank fails together instead of waiting for it.
        let port = TcpListener::bind(("0.0.0.0", 0))
            .and_then(|l| l.local_addr())
            .map(|a| a.port());
        let mine = match &port {
            Ok(port) => format!("{host}:{port}"),
            Err(_) => String::new(),
        };
        let mut buf = [0u8; ADDRESS_BYTES];
        buf[..mine.len().min(ADDRESS_BYTES)]
            .copy_from_slice(&mine.as_bytes()[..mine.len().min(ADDRESS_BYTES)]);
        let mut all = vec![0u8; ADDRESS_BYTES * world.size() as usize];
        world.all_gather_into(&buf[..], &mut all[..]);
        let addresses: Vec<String> = all
            .chunks(ADDRESS_BYTES)
            .map(|c| {
                let end = c.iter().position(|&b| b == 0).unwrap_or(c.len());
                String::from_utf8_lossy(&c[..end]).into_owned()
            })
            .collect();
        if let Err(e) = port {
            return Err(e).exit_code(
                exit_codes::NETWORK,
                format!("rank {rank}: finding a free TCP port for the timely cluster"),
            );
        }
        if let Some(r) = addresses.iter().position(String::is_empty) {
            return Err(Failure {
                code: exit_codes::NETWORK,
                error: anyhow::anyhow!("rank {r} found no free TCP port for the timely cluster"),
            });
        }
        if rank == 0 {
            crate::console::note!(
                "timely cluster of {} processes × {} workers: {}",
                addresses.len(),
                opts.workers,
                addresses.join(", ")
            );
        }
        opts.process = Some(ClusterProcess {
            index: rank as usize,
            addresses,
        });
        let result = crate::analyze_pass::run_process(out, &opts, rank == 0).map(|_| ());
        // Every rank ends with the worst exit code, so mpirun's status means something.
        let code = result.as_ref().err().map_or(0, |f| f.code);
        let mut worst = 0;
        world.all_reduce_into(&code, &mut worst, SystemOperation::max());
        match result {
            Err(f) => Err(f),
            Ok(()) if worst != 0 => Err(Failure {
                code: worst,
                error: anyhow::anyhow!(
                    "rank {rank}: another rank's analysis failed (see its error)"
                ),
            }),
            Ok(()) => Ok(()),
        }
    }
}
