//! `eigensweep data`: dataset downloads and locations.

use eigensweep_common::exit_codes;
use eigensweep_worker::data::{cache_dir, cached_dataset_dir, fetch, DatasetKind};

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
            let path = fetch(kind, &dest, &mut |msg: &str| crate::console::note!("{msg}"))
                .exit_code(exit_codes::NETWORK, format!("fetching {}", kind.name()))?;
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
