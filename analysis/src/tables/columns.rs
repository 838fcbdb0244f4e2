//! Building and taking apart the Arrow columns of the analysis tables. The worker crate keeps
//! its own helpers private to it; these are the few the analysis tables need.

use std::sync::Arc;

use arrow_array::{
    Array, ArrayRef, Float64Array, RecordBatch, StringArray, UInt32Array, UInt64Array,
};

pub(crate) fn utf8<'a>(values: impl Iterator<Item = &'a str>) -> ArrayRef {
    Arc::new(StringArray::from_iter_values(values))
}

pub(crate) fn u64s(values: impl Iterator<Item = u64>) -> ArrayRef {
    Arc::new(UInt64Array::from_iter_values(values))
}

pub(crate) fn u32s(values: impl Iterator<Item = u32>) -> ArrayRef {
    Arc::new(UInt32Array::from_iter_values(values))
}

pub(crate) fn f64s(values: impl Iterator<Item = f64>) -> ArrayRef {
    Arc::new(Float64Array::from_iter_values(values))
}

fn typed<'a, T: Array + 'static>(batch: &'a RecordBatch, name: &str) -> Result<&'a T, String> {
    let column = batch
        .column_by_name(name)
        .ok_or_else(|| format!("missing column `{name}`"))?;
    let typed = column
        .as_any()
        .downcast_ref::<T>()
        .ok_or_else(|| format!("column `{name}` has type {}", column.data_type()))?;
    if typed.null_count() > 0 {
        return Err(format!("column `{name}` has null values but is required"));
    }
    Ok(typed)
}

pub(crate) fn col_utf8(batch: &RecordBatch, name: &str) -> Result<Vec<String>, String> {
    Ok(typed::<StringArray>(batch, name)?
        .iter()
        .map(|v| v.unwrap_or_default().to_string())
        .collect())
}

pub(crate) fn col_u64(batch: &RecordBatch, name: &str) -> Result<Vec<u64>, String> {
    Ok(typed::<UInt64Array>(batch, name)?.values().to_vec())
}

pub(crate) fn col_u32(batch: &RecordBatch, name: &str) -> Result<Vec<u32>, String> {
    Ok(typed::<UInt32Array>(batch, name)?.values().to_vec())
}

pub(crate) fn col_f64(batch: &RecordBatch, name: &str) -> Result<Vec<f64>, String> {
    Ok(typed::<Float64Array>(batch, name)?.values().to_vec())
}

/// Declares a table row type: the struct, its column list (with descriptions) and its
/// [`TableRow`](eigensweep_worker::output::TableRow) impl, from one list of
/// `field: Type = ColumnType "description"` entries, so the schema cannot drift from the
/// struct.
macro_rules! analysis_table {
    (
        $(#[$meta:meta])*
        $name:ident, table = $table:literal, description = $desc:literal,
        { $( $(#[$fmeta:meta])* $field:ident : $fty:tt = $cty:ident $cdesc:literal ),* $(,)? }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq)]
        pub struct $name {
            $( $(#[$fmeta])* pub $field: $crate::tables::columns::analysis_table!(@rust $fty), )*
        }

        impl eigensweep_worker::output::TableRow for $name {
            const TABLE: &'static str = $table;
            const DESCRIPTION: &'static str = $desc;

            fn columns() -> &'static [eigensweep_worker::output::schema::ColumnSpec] {
                use eigensweep_worker::output::schema::{ColumnSpec, ColumnType};
                const COLUMNS: &[ColumnSpec] = &[
                    $( ColumnSpec::required(stringify!($field), ColumnType::$cty, $cdesc), )*
                ];
                COLUMNS
            }

            fn to_arrays(rows: &[Self]) -> Vec<arrow_array::ArrayRef> {
                vec![ $( $crate::tables::columns::analysis_table!(@build $fty, rows, $field), )* ]
            }

            fn from_batch(batch: &arrow_array::RecordBatch) -> Result<Vec<Self>, String> {
                $( let $field = $crate::tables::columns::analysis_table!(@read $fty, batch, $field); )*
                let n = batch.num_rows();
                $( let mut $field = $field.into_iter(); )*
                Ok((0..n)
                    .map(|_| $name { $( $field: $field.next().unwrap_or_default(), )* })
                    .collect())
            }
        }
    };
    (@rust str) => { String };
    (@rust u64) => { u64 };
    (@rust u32) => { u32 };
    (@rust f64) => { f64 };
    (@build str, $rows:ident, $f:ident) => { $crate::tables::columns::utf8($rows.iter().map(|r| r.$f.as_str())) };
    (@build u64, $rows:ident, $f:ident) => { $crate::tables::columns::u64s($rows.iter().map(|r| r.$f)) };
    (@build u32, $rows:ident, $f:ident) => { $crate::tables::columns::u32s($rows.iter().map(|r| r.$f)) };
    (@build f64, $rows:ident, $f:ident) => { $crate::tables::columns::f64s($rows.iter().map(|r| r.$f)) };
    (@read str, $b:ident, $f:ident) => { $crate::tables::columns::col_utf8($b, stringify!($f))? };
    (@read u64, $b:ident, $f:ident) => { $crate::tables::columns::col_u64($b, stringify!($f))? };
    (@read u32, $b:ident, $f:ident) => { $crate::tables::columns::col_u32($b, stringify!($f))? };
    (@read f64, $b:ident, $f:ident) => { $crate::tables::columns::col_f64($b, stringify!($f))? };
}
pub(crate) use analysis_table;
