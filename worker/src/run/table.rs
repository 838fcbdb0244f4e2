//! One table of a run as the run loop writes it: its part writer and the rows buffered until
//! the next checkpoint, written as one part per checkpoint. The run's tables (`tables.rs`) and
//! each per-snapshot statistic (`statistics/`) hold one each.

use std::path::Path;

use crate::output::{part_file_name, remove_parts_from, PartWriter, Row};
use crate::WorkerError;

/// One table of a run: its part writer (absent for an optional table the run does not write,
/// so no empty directory appears) and the rows buffered until the next checkpoint.
pub(super) struct Table<R: Row> {
    writer: Option<PartWriter<R>>,
    rows: Vec<R>,
}

impl<R: Row> Table<R> {
    /// The table `R::TABLE` under `dir`, continuing after the parts a checkpoint recorded in
    /// `parts`: later parts (written after that checkpoint) are removed first, whether the
    /// table is `enabled` this launch or not.
    pub(super) fn open(
        dir: &Path,
        parts: &[(String, u32)],
        enabled: bool,
    ) -> Result<Self, WorkerError> {
        let path = dir.join(R::TABLE);
        let start = parts
            .iter()
            .find(|(t, _)| t == R::TABLE)
            .map_or(0, |(_, n)| *n);
        remove_parts_from(&path, start)?;
        let writer = if enabled {
            Some(PartWriter::open(path, start)?)
        } else {
            None
        };
        Ok(Self {
            writer,
            rows: Vec::new(),
        })
    }

    pub(super) fn push(&mut self, row: R) {
        self.rows.push(row);
    }

    /// Writes the buffered rows as one part (none when there are no rows).
    pub(super) fn flush(&mut self) -> Result<(), WorkerError> {
        let rows = std::mem::take(&mut self.rows);
        if let Some(writer) = &mut self.writer {
            writer.write_part(&rows)?;
        }
        Ok(())
    }

    /// The last part written, if the table is written and has one.
    pub(super) fn last_part(&self) -> Option<std::path::PathBuf> {
        let writer = self.writer.as_ref()?;
        let last = writer.next_index().checked_sub(1)?;
        Some(writer.dir().join(part_file_name(last)))
    }

    /// (table, next part index) for the checkpoint; `None` for a table not written.
    pub(super) fn part(&self) -> Option<(String, u32)> {
        self.writer
            .as_ref()
            .map(|w| (R::TABLE.to_string(), w.next_index()))
    }
}
