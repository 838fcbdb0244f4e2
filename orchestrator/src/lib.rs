//! # eigensweep (command line)
//!
//! The `eigensweep` command: subcommands dispatch to the worker library. Errors are printed
//! with their whole cause chain and mapped to the documented exit codes of
//! [`eigensweep_common::exit_codes`].

mod analyze_cmd;
mod analyze_follow;
mod analyze_pass;
#[macro_use]
mod console;
pub mod bench;
mod calibration;
mod cli;
mod data_cmd;
mod failure;
mod launcher;
mod output_dir;
mod output_lock;
mod report_cmd;
mod run_cmd;
mod status_cmd;
mod sweep_cmd;
mod threads;
mod train_cmd;

use std::ffi::OsString;

use clap::Parser;
use eigensweep_common::{exit_codes, provenance};

pub use cli::{Cli, Command};
pub use failure::{Failure, WithExitCode};

/// This binary's build: its version, the git commit it was built from (`build.rs`) and its
/// cargo features, for the provenance every output file records.
pub fn build() -> provenance::Build {
    let mut features = Vec::new();
    if cfg!(feature = "mpi") {
        features.push("mpi");
    }
    if cfg!(feature = "cuda") {
        features.push("cuda");
    }
    provenance::Build::new(
        env!("CARGO_PKG_VERSION"),
        env!("EIGENSWEEP_GIT_COMMIT"),
        &features,
    )
}

/// Runs the command line `args` (program name first) and returns the process exit code.
pub fn main_with_args<I: IntoIterator<Item = OsString>>(args: I) -> i32 {
    let args: Vec<OsString> = args.into_iter().collect();
    provenance::set_build(build());
    let cli = match Cli::try_parse_from(&args) {
        Ok(cli) => cli,
        Err(e) => {
            if let Some(message) = cli::from_environment(&e, &args) {
                console::note!("{message}");
                return exit_codes::USAGE;
            }
            let _ = e.print();
            return if e.use_stderr() {
                exit_codes::USAGE
            } else {
                exit_codes::SUCCESS
            };
        }
    };
    if let Some(threads) = cli.command.threads() {
        // candle and gemm read the thread count from RAYON_NUM_THREADS on every product, so
        // setting it here, before any work starts, applies to the whole process.
        std::env::set_var("RAYON_NUM_THREADS", threads.to_string());
    }
    let result = match cli.command {
        Command::Data(args) => data_cmd::run(args),
        Command::Train(args) => train_cmd::run(args),
        Command::Bench(args) => bench::run(args),
        Command::Validate(args) => sweep_cmd::validate(args),
        Command::Plan(args) => sweep_cmd::plan(args),
        Command::Run(args) => run_cmd::run(args),
        Command::Analyze(args) => analyze_cmd::run(args),
        Command::Minima(args) => report_cmd::run_minima(args),
        Command::Report(args) => report_cmd::run_report(args),
        Command::Status(args) => status_cmd::run(args),
    };
    match result {
        Ok(()) => exit_codes::SUCCESS,
        Err(failure) => {
            console::note!("error: {}", failure::chain(&failure.error));
            failure.code
        }
    }
}
