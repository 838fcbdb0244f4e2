//! Stopping a launch cleanly: a signal sets a flag that every running run checks at its steps,
//! instead of killing the process.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use eigensweep_common::exit_codes;

use crate::failure::{Failure, WithExitCode};

/// SIGTERM / SIGUSR1 (Slurm's preemption warning) / SIGINT set the flag: every running run
/// checkpoints at its next step and returns, and no new task starts.
pub(crate) fn install_signal_flag() -> Result<Arc<AtomicBool>, Failure> {
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [
        signal_hook::consts::SIGTERM,
        signal_hook::consts::SIGUSR1,
        signal_hook::consts::SIGINT,
    ] {
        signal_hook::flag::register(signal, Arc::clone(&stop))
            .exit_code(exit_codes::INTERNAL, "installing signal handlers")?;
    }
    Ok(stop)
}
