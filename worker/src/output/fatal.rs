//! Which output errors end a whole launch rather than one task.
//!
//! A full disk (ENOSPC), an exhausted quota (EDQUOT), a read-only filesystem (EROFS) or a
//! failing device (EIO) is not the fault of the task that met it first: every other task would
//! compute for minutes and then fail at its first write too. The launch must stop dispatching,
//! keep every intact checkpoint, leave the tasks unfailed and exit with
//! [`OUTPUT`](eigensweep_common::exit_codes::OUTPUT), so that the same command finishes the
//! sweep once the filesystem is fixed.

use std::error::Error;
use std::io;

/// `EIO` on Linux (and every other Unix): the device failed the operation.
const EIO: i32 = 5;

/// Whether `e` is an I/O error that no task can get past: no space, no quota, a read-only or
/// failing filesystem.
pub fn is_fatal_io(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::StorageFull
            | io::ErrorKind::QuotaExceeded
            | io::ErrorKind::ReadOnlyFilesystem
    ) || e.raw_os_error() == Some(EIO)
}

/// The first I/O error in `e`'s chain of causes (`e` itself included) that
/// [`is_fatal_io`], if any.
pub fn fatal_io_cause<'a>(e: &'a (dyn Error + 'static)) -> Option<&'a io::Error> {
    let mut current: Option<&'a (dyn Error + 'static)> = Some(e);
    while let Some(err) = current {
        if let Some(io) = err.downcast_ref::<io::Error>() {
            if is_fatal_io(io) {
                return Some(io);
            }
        }
        current = err.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::WorkerError;

    #[test]
    fn full_disk_quota_read_only_and_eio_are_fatal_others_not() {
        for (code, fatal) in [
            (28, true),
            (122, true),
            (30, true),
            (5, true),
            (2, false),
            (13, false),
        ] {
            let e = io::Error::from_raw_os_error(code);
            assert_eq!(is_fatal_io(&e), fatal, "os error {code}: {e}");
        }
    }

    #[test]
    fn found_through_a_chain_of_causes() {
        // WorkerError::Parquet → ParquetError::External → io::Error, as a full disk reaches
        // the Parquet writer.
        let parquet = parquet::errors::ParquetError::from(io::Error::from_raw_os_error(28));
        let e = WorkerError::parquet(
            "writing",
            std::path::Path::new("/x/part-00000.parquet"),
            parquet,
        );
        let cause = fatal_io_cause(&e).expect("found");
        assert_eq!(cause.raw_os_error(), Some(28));
        let not_found = WorkerError::output_io(
            "reading",
            std::path::Path::new("/x"),
            io::Error::from_raw_os_error(2),
        );
        assert!(fatal_io_cause(&not_found).is_none());
    }
}
