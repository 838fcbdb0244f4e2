//! Projected columns of a table's parts, as f64: what a figure plots of the analysis and
//! snapshot tables.
//!
//! The pair tables of a long run hold millions of rows; reading only the columns a figure
//! plots (a Parquet projection) keeps the report's memory small, where reading whole rows
//! would also decode the repeated run key, dataset and optimiser strings.

use std::path::Path;

use arrow_array::{Array, BooleanArray, Float64Array, Int64Array};
use eigensweep_worker::output::{list_parts, TableFile};

use crate::ReportError;

/// The named columns of every part in `dir`, as f64 (steps and indices are exact in f64 up
/// to 2^53; booleans are 0 and 1), one vector per column in the order asked. Empty if `dir`
/// has no parts. Parts of an earlier format version are read converted (their unsigned
/// integers as `Int64`).
pub fn read_columns(dir: &Path, columns: &[&str]) -> Result<Vec<Vec<f64>>, ReportError> {
    let mut values = vec![Vec::new(); columns.len()];
    for (_, path) in list_parts(dir)? {
        for batch in TableFile::open(&path)?.read(Some(columns))? {
            for (name, out) in columns.iter().zip(values.iter_mut()) {
                let column = batch
                    .column_by_name(name)
                    .ok_or_else(|| ReportError::parquet(&path, format!("no column `{name}`")))?;
                let any = column.as_any();
                if let Some(a) = any.downcast_ref::<Float64Array>() {
                    out.extend(a.iter().map(|v| v.unwrap_or(f64::NAN)));
                } else if let Some(a) = any.downcast_ref::<Int64Array>() {
                    out.extend(a.iter().map(|v| v.map_or(f64::NAN, |v| v as f64)));
                } else if let Some(a) = any.downcast_ref::<BooleanArray>() {
                    out.extend(
                        a.iter()
                            .map(|v| v.map_or(f64::NAN, |v| f64::from(u8::from(v)))),
                    );
                } else {
                    return Err(ReportError::parquet(
                        &path,
                        format!("column `{name}` has type {}", column.data_type()),
                    ));
                }
            }
        }
    }
    Ok(values)
}
