//! Writing tables as numbered part files, atomically, and reading them back.
//!
//! A part is `DIR/part-NNNNN.parquet` (the number zero-padded to five digits; wider numbers
//! are allowed and still read in numeric order). It is written under the hidden name
//! `DIR/.part-NNNNN.parquet.tmp`, fsync'd, renamed into place, and the directory fsync'd, so a
//! reader (or a resumed run) never sees a torn file under a `part-*.parquet` name.

use std::fs::{self, File};
use std::io;
use std::marker::PhantomData;
use std::path::{Path, PathBuf};

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::{ArrowWriter, ProjectionMask};

use super::format::{upgrade_batch, upgraded_schema, FormatVersion};
use super::schema::{check_schema, writer_properties, TABLE_KEY};
use super::table::Row;
use crate::WorkerError;

/// File name of part `index`: `part-00042.parquet`.
pub fn part_file_name(index: u32) -> String {
    format!("part-{index:05}.parquet")
}

/// The part number of a file name `part-N.parquet`, if it is one.
pub fn parse_part_file_name(name: &str) -> Option<u32> {
    let digits = name.strip_prefix("part-")?.strip_suffix(".parquet")?;
    if digits.len() < 5 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// The temporary name a file is written under before the rename: `.NAME.tmp` beside it.
pub fn temp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "table".to_string());
    path.with_file_name(format!(".{name}.tmp"))
}

fn is_temp_name(name: &str) -> bool {
    name.starts_with('.') && name.ends_with(".tmp")
}

/// Writes parts of one table into one directory.
#[derive(Debug)]
pub struct PartWriter<R> {
    dir: PathBuf,
    next: u32,
    rows: PhantomData<fn(&R)>,
}

impl<R: Row> PartWriter<R> {
    /// A writer whose first part is `start_index`; creates `dir` and its parents.
    ///
    /// On resume, call [`remove_parts_from`]`(dir, k)` first and open with `start_index = k`.
    pub fn open(dir: impl Into<PathBuf>, start_index: u32) -> Result<Self, WorkerError> {
        let dir = dir.into();
        fs::create_dir_all(&dir)
            .map_err(|e| WorkerError::output_io("creating directory", &dir, e))?;
        Ok(Self {
            dir,
            next: start_index,
            rows: PhantomData,
        })
    }

    /// The number the next written part will get.
    pub fn next_index(&self) -> u32 {
        self.next
    }

    /// The directory the parts go to.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Writes `rows` as the next part and returns its path; writes nothing and returns `None`
    /// for zero rows (the index is not used up then).
    ///
    /// Fails with [`WorkerError::PartExists`] rather than replace an existing part.
    pub fn write_part(&mut self, rows: &[R]) -> Result<Option<PathBuf>, WorkerError> {
        if rows.is_empty() {
            return Ok(None);
        }
        let path = self.dir.join(part_file_name(self.next));
        match fs::symlink_metadata(&path) {
            Ok(_) => return Err(WorkerError::PartExists { path }),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(WorkerError::output_io("checking", &path, e)),
        }
        write_table_atomically(&path, rows)?;
        self.next = self
            .next
            .checked_add(1)
            .expect("more than 4 billion parts in one directory");
        Ok(Some(path))
    }
}

/// Writes `rows` as one Parquet file at `path` through `.NAME.tmp` + fsync + rename (+ fsync
/// of the directory). An empty `rows` gives a valid file with the schema and no rows. The
/// parent directory must exist. Used for `OUT/runs.parquet` (rows: [`super::RunRecord`]) and
/// by [`PartWriter`].
///
/// The same rows always give the same bytes (see [`super::schema::writer_properties`]).
pub fn write_table_atomically<R: Row>(path: &Path, rows: &[R]) -> Result<(), WorkerError> {
    let tmp = temp_path(path);
    let result = write_file(&tmp, path, rows).and_then(|()| {
        fs::rename(&tmp, path)
            .map_err(|e| WorkerError::output_io("renaming a temporary file to", path, e))
    });
    if result.is_err() {
        // Best effort: the error that matters is the one in `result`.
        let _ = fs::remove_file(&tmp);
        return result;
    }
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => sync_dir(dir),
        _ => sync_dir(Path::new(".")),
    }
}

fn write_file<R: Row>(tmp: &Path, path: &Path, rows: &[R]) -> Result<(), WorkerError> {
    let batch = R::to_batch(rows).map_err(|problem| WorkerError::Batch {
        path: path.to_path_buf(),
        problem: Box::new(problem),
    })?;
    let file = File::create(tmp).map_err(|e| WorkerError::output_io("creating", tmp, e))?;
    let sync_handle = file
        .try_clone()
        .map_err(|e| WorkerError::output_io("duplicating the handle of", tmp, e))?;
    let mut writer = ArrowWriter::try_new(file, R::schema(), Some(writer_properties::<R>()))
        .map_err(|e| WorkerError::parquet("writing", path, e))?;
    if !rows.is_empty() {
        writer
            .write(&batch)
            .map_err(|e| WorkerError::parquet("writing", path, e))?;
    }
    writer
        .close()
        .map_err(|e| WorkerError::parquet("writing", path, e))?;
    sync_handle
        .sync_all()
        .map_err(|e| WorkerError::output_io("syncing", path, e))
}

/// Makes a rename or removal in `dir` durable.
fn sync_dir(dir: &Path) -> Result<(), WorkerError> {
    let d =
        File::open(dir).map_err(|e| WorkerError::output_io("opening directory to sync", dir, e))?;
    d.sync_all()
        .map_err(|e| WorkerError::output_io("syncing directory", dir, e))
}

/// The parts in `dir` as (number, path), in numeric order; none if `dir` does not exist.
/// Temporary files and other names are ignored.
pub fn list_parts(dir: &Path) -> Result<Vec<(u32, PathBuf)>, WorkerError> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(WorkerError::output_io("reading directory", dir, e)),
    };
    let mut parts = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| WorkerError::output_io("reading directory", dir, e))?;
        if let Some(index) = entry.file_name().to_str().and_then(parse_part_file_name) {
            parts.push((index, entry.path()));
        }
    }
    parts.sort();
    Ok(parts)
}

/// How many parts `dir` holds (0 if it does not exist).
pub fn count_parts(dir: &Path) -> Result<usize, WorkerError> {
    Ok(list_parts(dir)?.len())
}

/// Deletes the parts numbered `index` and above, and every `.*.tmp` leftover, from `dir`;
/// returns how many parts (not temporary files) were deleted. A missing `dir` is fine (0).
///
/// Used on resume: the parts written after the last checkpoint are dropped and rewritten.
pub fn remove_parts_from(dir: &Path, index: u32) -> Result<usize, WorkerError> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(WorkerError::output_io("reading directory", dir, e)),
    };
    let mut removed = 0;
    let mut touched = false;
    for entry in entries {
        let entry = entry.map_err(|e| WorkerError::output_io("reading directory", dir, e))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let is_late_part = parse_part_file_name(name).is_some_and(|n| n >= index);
        if is_late_part || is_temp_name(name) {
            let path = entry.path();
            fs::remove_file(&path).map_err(|e| WorkerError::output_io("removing", &path, e))?;
            touched = true;
            if is_late_part {
                removed += 1;
            }
        }
    }
    if touched {
        sync_dir(dir)?;
    }
    Ok(removed)
}

/// Reads one table file written by [`write_table_atomically`] or [`PartWriter`]; checks that
/// it holds table `R` (by its `eigensweep.table` metadata), the format version (a version-1
/// file is converted, see [`super::format`]) and the column types.
pub fn read_table<R: Row>(path: &Path) -> Result<Vec<R>, WorkerError> {
    let file = TableFile::open(path)?;
    if file.table() != R::TABLE {
        return Err(WorkerError::schema(
            path,
            format!(
                "holds the `{}` table, expected `{}`",
                file.table(),
                R::TABLE
            ),
        ));
    }
    check_schema::<R>(file.schema()).map_err(|e| WorkerError::column(path, e))?;
    let mut rows = Vec::new();
    for batch in file.read(None)? {
        rows.extend(R::from_batch(&batch).map_err(|e| WorkerError::column(path, e))?);
    }
    Ok(rows)
}

/// Reads all parts of table `R` in `dir`, in part order (empty if `dir` does not exist).
pub fn read_parts<R: Row>(dir: &Path) -> Result<Vec<R>, WorkerError> {
    let mut rows = Vec::new();
    for (_, path) in list_parts(dir)? {
        rows.extend(read_table::<R>(&path)?);
    }
    Ok(rows)
}

/// The Arrow schema of a table file as stored (a version-1 file's unsigned types included;
/// [`TableFile::schema`] gives the layout as read): field descriptions in the field metadata,
/// and the Parquet key-value metadata (table name, version, descriptions) in the schema
/// metadata.
pub fn read_schema(path: &Path) -> Result<SchemaRef, WorkerError> {
    let file = File::open(path).map_err(|e| WorkerError::output_io("opening", path, e))?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file)
        .map_err(|e| WorkerError::parquet("reading", path, e))?;
    Ok(builder.schema().clone())
}

/// One table file opened for reading, in the layout of this build whatever its format
/// version: the one way every reader (typed rows, the analysis catalog and tiles, the
/// report's columns) opens a part, so that a version-1 file reads like a current one.
pub struct TableFile {
    path: PathBuf,
    builder: ParquetRecordBatchReaderBuilder<File>,
    table: String,
    version: FormatVersion,
    schema: SchemaRef,
}

impl TableFile {
    /// Opens `path` and reads its footer: the table name and a format version this build
    /// reads are required.
    pub fn open(path: &Path) -> Result<Self, WorkerError> {
        let file = File::open(path).map_err(|e| WorkerError::output_io("opening", path, e))?;
        let builder = ParquetRecordBatchReaderBuilder::try_new(file)
            .map_err(|e| WorkerError::parquet("reading", path, e))?;
        let file_schema = builder.schema().clone();
        let table = match file_schema.metadata().get(TABLE_KEY) {
            Some(t) => t.clone(),
            None => {
                return Err(WorkerError::schema(
                    path,
                    format!("no `{TABLE_KEY}` metadata: not an eigensweep table"),
                ))
            }
        };
        let version = FormatVersion::of(path, &file_schema)?;
        let schema = upgraded_schema(version, &table, &file_schema);
        Ok(Self {
            path: path.to_path_buf(),
            builder,
            table,
            version,
            schema,
        })
    }

    /// The table the file holds (`eigensweep.table`).
    pub fn table(&self) -> &str {
        &self.table
    }

    /// The file's format version.
    pub fn version(&self) -> FormatVersion {
        self.version
    }

    /// The schema as read: the current layout (integers `Int64`), with the file's metadata.
    pub fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    /// Reads the file's rows: all columns, or only the named ones (a projection: the others
    /// are not decoded; columns come in file order). A missing column is an error naming it.
    pub fn read(self, columns: Option<&[&str]>) -> Result<Vec<RecordBatch>, WorkerError> {
        let path = self.path;
        let upgrade = |batch: RecordBatch| {
            upgrade_batch(self.version, &self.table, batch)
                .map_err(|m| WorkerError::schema(&path, m))
        };
        // A version-1 runs table is converted whole (its `network` derives from `kind` and
        // `seed`) and projected afterwards; it is a few hundred rows.
        let whole_first =
            self.version != FormatVersion::Current && self.table == super::RunRecord::TABLE;
        let mut builder = self.builder;
        if let Some(names) = columns.filter(|_| !whole_first) {
            let file_schema = builder.schema().clone();
            let mut roots = Vec::with_capacity(names.len());
            for name in names {
                roots.push(
                    file_schema
                        .index_of(name)
                        .map_err(|_| WorkerError::column(&path, missing(name)))?,
                );
            }
            let mask = ProjectionMask::roots(builder.parquet_schema(), roots);
            builder = builder.with_projection(mask);
        }
        let reader = builder
            .build()
            .map_err(|e| WorkerError::parquet("reading", &path, e))?;
        let mut batches = Vec::new();
        for batch in reader {
            let batch = batch.map_err(|e| WorkerError::schema(&path, e.to_string()))?;
            let mut batch = upgrade(batch)?;
            if let Some(names) = columns.filter(|_| whole_first) {
                let indices = names
                    .iter()
                    .map(|name| {
                        batch
                            .schema()
                            .index_of(name)
                            .map_err(|_| WorkerError::column(&path, missing(name)))
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                batch = batch
                    .project(&indices)
                    .map_err(|e| WorkerError::schema(&path, e.to_string()))?;
            }
            batches.push(batch);
        }
        Ok(batches)
    }
}

fn missing(name: &str) -> WorkerError {
    WorkerError::MissingColumn {
        column: name.to_string(),
    }
}
