//! `eigensweep data`: dataset downloads and locations.

use eigensweep_common::exit_codes;
use eigensweep_worker::data::{cache_dir, cached_dataset_dir, fetch, DatasetKind};
use eigensweep_worker::WorkerError;

use crate::cli::DataCommand;
use crate::failure::{Failure, WithExitCode};

pub(crate) fn run(cmd: DataCommand) -> Result<(), Failure> {
    match cmd {
        DataCommand::Fetch { dataset, dir } => {
            let kind: DatasetKind = dataset
                .parse()
                .exit_code(exit_codes::USAGE, "eigensweep data fetch")?;
            let dest = match dir {
                Some(d) => d,
                None => cached_dataset_dir(kind)
                    .exit_code(exit_codes::INPUT, "choosing the cache directory")?,
            };
            let path = match fetch(kind, &dest, &mut |msg: &str| crate::console::note!("{msg}")) {
                Ok(path) => path,
                Err(e) => {
                    let code = fetch_exit_code(&e);
                    return Err(e).exit_code(code, format!("fetching {}", kind.name()));
                }
            };
            crate::console::say!("{}", path.display());
            Ok(())
        }
        DataCommand::Where => {
            let dir = cache_dir().exit_code(exit_codes::INPUT, "choosing the cache directory")?;
            crate::console::say!("cache directory: {}", dir.display());
            for kind in [DatasetKind::Mnist, DatasetKind::FashionMnist] {
                let d = cached_dataset_dir(kind)
                    .exit_code(exit_codes::INPUT, "choosing the cache directory")?;
                crate::console::say!("{:<14} {}", kind.name(), d.display());
            }
            Ok(())
        }
    }
}

/// The exit code of a failed `data fetch`: [`OUTPUT`](exit_codes::OUTPUT) where the dataset
/// directory could not be written (read-only, full, no permission: nothing was downloaded in
/// vain, and no mirror would help), [`NETWORK`](exit_codes::NETWORK) where no mirror gave a
/// verified file.
fn fetch_exit_code(e: &WorkerError) -> i32 {
    match e {
        WorkerError::CacheWrite { .. } => exit_codes::OUTPUT,
        WorkerError::DataIo { source, .. } if eigensweep_worker::output::is_fatal_io(source) => {
            exit_codes::OUTPUT
        }
        // FetchFailed, and anything else a download may meet.
        _ => exit_codes::NETWORK,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io;
    use std::path::PathBuf;

    #[test]
    fn an_unwritable_cache_is_an_output_error_and_a_failed_download_a_network_error() {
        for kind in [
            io::ErrorKind::ReadOnlyFilesystem,
            io::ErrorKind::PermissionDenied,
            io::ErrorKind::StorageFull,
        ] {
            let e = WorkerError::CacheWrite {
                dir: PathBuf::from("/c"),
                action: "creating",
                path: PathBuf::from("/c/.x.partial-1"),
                source: io::Error::from(kind),
                state: String::new(),
            };
            assert_eq!(fetch_exit_code(&e), exit_codes::OUTPUT, "{kind:?}");
        }
        let e = WorkerError::FetchFailed {
            dataset: "mnist".into(),
            file: "x.gz".into(),
            dir: PathBuf::from("/c"),
            attempts: "".into(),
            help: "".into(),
        };
        assert_eq!(fetch_exit_code(&e), exit_codes::NETWORK);
    }
}
