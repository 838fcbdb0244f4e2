//! Write-then-rename, so that a file under its final name is always complete.
//!
//! Readers (and `fetch`'s skip-if-verified check) trust any file under a standard name; a
//! crash or a full disk halfway through writing must therefore never leave a partial file
//! there. Writing to a hidden temporary name in the same directory and renaming it into place
//! gives that, because a rename within one file system is atomic. A file that is replaced
//! (`fetch` replacing a user's file by a verified download) is kept beside, under a name no
//! reader takes for the dataset, and its final name is never empty in between.

use std::fs;
use std::io::{self, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crate::WorkerError;

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
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), WorkerError> {
    let tmp = partial_path(path);
    let result = (|| {
        let mut f =
            fs::File::create(&tmp).map_err(|e| WorkerError::data_io("creating", &tmp, e))?;
        f.write_all(bytes)
            .map_err(|e| WorkerError::data_io("writing", &tmp, e))?;
        f.sync_all()
            .map_err(|e| WorkerError::data_io("syncing", &tmp, e))?;
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
pub(crate) fn rename_into_place(tmp: &Path, path: &Path) -> Result<(), WorkerError> {
    fs::rename(tmp, path).map_err(|e| WorkerError::data_io("renaming a temporary file to", path, e))
}

/// A file being written under [`partial_path`] of its final name: removed when dropped unless
/// it was renamed into place, so that no path of an error leaves an unverified file behind.
#[derive(Debug)]
pub(crate) struct PartialFile {
    path: PathBuf,
    file: Option<fs::File>,
}

impl PartialFile {
    /// Creates (or truncates) the temporary file of `final_path`. This is the first write into
    /// the directory, done before anything is downloaded: a read-only cache fails here, at once.
    pub(crate) fn create(final_path: &Path) -> Result<Self, WorkerError> {
        let path = partial_path(final_path);
        match fs::File::create(&path) {
            Ok(file) => Ok(Self {
                path,
                file: Some(file),
            }),
            Err(e) => Err(WorkerError::data_io("creating", path, e)),
        }
    }

    /// Where the file is.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// The open file, emptied and positioned at its start (for a fresh attempt).
    pub(crate) fn restart(&mut self) -> io::Result<&mut fs::File> {
        let file = match self.file.take() {
            Some(f) => f,
            None => fs::OpenOptions::new().write(true).open(&self.path)?,
        };
        let file = self.file.insert(file);
        file.set_len(0)?;
        file.seek(SeekFrom::Start(0))?;
        Ok(file)
    }

    /// Flushes the content to disk and closes the file (it stays under its temporary name).
    pub(crate) fn finish(&mut self) -> io::Result<()> {
        if let Some(f) = self.file.take() {
            f.sync_all()?;
        }
        Ok(())
    }

    /// Renames the finished file to `final_path`, replacing in one step whatever is there.
    pub(crate) fn rename_to(mut self, final_path: &Path) -> io::Result<()> {
        self.finish()?;
        fs::rename(&self.path, final_path)?;
        // Renamed: nothing is left to remove.
        self.path = PathBuf::new();
        Ok(())
    }
}

impl Drop for PartialFile {
    fn drop(&mut self) {
        self.file = None;
        if !self.path.as_os_str().is_empty() {
            // Best effort: the error that matters has already been returned.
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// The first of `NAME.rejected`, `NAME.rejected.1`, `NAME.rejected.2`, … that does not exist
/// beside `path`: where a file that is being replaced is kept, never over an earlier one.
pub(crate) fn rejected_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "file".to_string());
    (0..)
        .map(|i| match i {
            0 => path.with_file_name(format!("{name}.rejected")),
            _ => path.with_file_name(format!("{name}.rejected.{i}")),
        })
        .find(|p| fs::symlink_metadata(p).is_err())
        .unwrap_or_else(|| path.with_file_name(format!("{name}.rejected")))
}

/// Puts the finished `new` file at `path` in one rename, keeping the file that was there as
/// [`rejected_path`]. Returns where the old file was kept.
///
/// The old file is first linked (or, where the file system has no hard links, copied) to its
/// new name, and only then replaced by the rename: at every moment `path` holds either the old
/// file or the new one, complete, and an error at any step leaves `path` as it was.
pub(crate) fn replace_keeping_old(new: PartialFile, path: &Path) -> Result<PathBuf, WorkerError> {
    let aside = rejected_path(path);
    if fs::hard_link(path, &aside).is_err() {
        if let Err(e) = fs::copy(path, &aside) {
            let _ = fs::remove_file(&aside);
            return Err(WorkerError::data_io(
                "keeping the replaced file as",
                aside,
                e,
            ));
        }
    }
    if let Err(e) = new.rename_to(path) {
        let _ = fs::remove_file(&aside);
        return Err(WorkerError::data_io(
            "renaming a temporary file to",
            path,
            e,
        ));
    }
    Ok(aside)
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

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn a_partial_file_is_removed_unless_renamed_into_place() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.gz");
        let mut p = PartialFile::create(&path).unwrap();
        p.restart().unwrap().write_all(b"first try").unwrap();
        p.restart().unwrap().write_all(b"new").unwrap();
        assert!(p.path().exists());
        drop(p);
        assert!(names(dir.path()).is_empty(), "{:?}", names(dir.path()));

        let mut p = PartialFile::create(&path).unwrap();
        p.restart().unwrap().write_all(b"new").unwrap();
        p.rename_to(&path).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"new");
        assert_eq!(names(dir.path()), ["x.gz"]);
    }

    #[test]
    fn replacing_keeps_the_old_file_beside_under_a_free_name() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.gz");
        fs::write(&path, b"old").unwrap();
        fs::write(dir.path().join("x.gz.rejected"), b"older").unwrap();
        let mut p = PartialFile::create(&path).unwrap();
        p.restart().unwrap().write_all(b"new").unwrap();
        let aside = replace_keeping_old(p, &path).unwrap();
        assert_eq!(aside, dir.path().join("x.gz.rejected.1"));
        assert_eq!(fs::read(&path).unwrap(), b"new");
        assert_eq!(fs::read(&aside).unwrap(), b"old");
        assert_eq!(
            fs::read(dir.path().join("x.gz.rejected")).unwrap(),
            b"older"
        );
        assert_eq!(
            names(dir.path()),
            ["x.gz", "x.gz.rejected", "x.gz.rejected.1"]
        );
    }

    #[test]
    fn a_partial_file_that_cannot_be_created_says_where() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.gz");
        // A directory where the temporary file would go: creating it fails, even for root.
        fs::create_dir(partial_path(&path)).unwrap();
        let err = PartialFile::create(&path).unwrap_err();
        assert!(
            matches!(&err, WorkerError::DataIo { action: "creating", path: p, .. } if *p == partial_path(&path)),
            "{err}"
        );
    }

    #[test]
    fn failure_names_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("no-such-dir").join("x.bin");
        let err = write_atomic(&path, b"hello").unwrap_err();
        assert!(err.to_string().contains("no-such-dir"), "{err}");
    }
}
