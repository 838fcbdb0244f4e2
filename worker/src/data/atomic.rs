//! Write-then-rename, so that a file under its final name is always complete.
//!
//! Readers (and `fetch`'s skip-if-verified check) trust any file under a standard name; a
//! crash or a full disk halfway through writing must therefore never leave a partial file
//! there. Writing to a hidden temporary name in the same directory and renaming it into place
//! gives that, because a rename within one file system is atomic.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use super::DataError;

/// The temporary name a file is written under before it is renamed to `final_path`.
///
/// Same directory (so the rename does not cross file systems), hidden, and tagged with the
/// process id so that two processes fetching at once do not write into each other's file.
pub(crate) fn partial_path(final_path: &Path) -> PathBuf {
    let name = final_path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned());
    let name = name.unwrap_or_else(|| "file".to_string());
    final_path.with_file_name(format!(".{name}.partial-{}", std::process::id()))
}

/// Writes `bytes` to `path` through a temporary file and a rename.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), DataError> {
    let tmp = partial_path(path);
    let result = (|| {
        let mut f = fs::File::create(&tmp).map_err(|e| DataError::io("creating", &tmp, e))?;
        f.write_all(bytes)
            .map_err(|e| DataError::io("writing", &tmp, e))?;
        f.sync_all()
            .map_err(|e| DataError::io("syncing", &tmp, e))?;
        drop(f);
        rename_into_place(&tmp, path)
    })();
    if result.is_err() {
        // Best effort: the error that matters is the one already in `result`.
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Renames a finished temporary file to its final name.
pub(crate) fn rename_into_place(tmp: &Path, path: &Path) -> Result<(), DataError> {
    fs::rename(tmp, path).map_err(|e| DataError::io("renaming a temporary file to", path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_complete_file_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.bin");
        write_atomic(&path, b"hello").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"hello");
        write_atomic(&path, b"bye").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"bye");
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("x.bin")]);
    }

    #[test]
    fn failure_names_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("no-such-dir").join("x.bin");
        let err = write_atomic(&path, b"hello").unwrap_err();
        assert!(err.to_string().contains("no-such-dir"), "{err}");
    }
}
