//! The analysis tables' row types are declared with [`analysis_table!`], which builds and
//! reads their columns with the worker's shared helpers (`eigensweep_worker::output::schema`).

/// Declares a table row type: the struct, its column list (with descriptions) and its
/// [`TableRow`](eigensweep_worker::output::TableRow) impl, from one list of
/// `field: Type = ColumnType "description"` entries, so the schema cannot drift from the
/// struct. Integer fields (`u64`, `u32`) are stored as `Int64` columns, converted checked.
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

            fn to_arrays(rows: &[Self]) -> Result<Vec<arrow_array::ArrayRef>, String> {
                Ok(vec![ $( $crate::tables::columns::analysis_table!(@build $fty, rows, $field), )* ])
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
    (@build str, $rows:ident, $f:ident) => { eigensweep_worker::output::schema::utf8($rows.iter().map(|r| r.$f.as_str())) };
    (@build u64, $rows:ident, $f:ident) => { eigensweep_worker::output::schema::int64s(stringify!($f), $rows.iter().map(|r| r.$f))? };
    (@build u32, $rows:ident, $f:ident) => { eigensweep_worker::output::schema::int64s(stringify!($f), $rows.iter().map(|r| r.$f))? };
    (@build f64, $rows:ident, $f:ident) => { eigensweep_worker::output::schema::f64s($rows.iter().map(|r| r.$f)) };
    (@read str, $b:ident, $f:ident) => { eigensweep_worker::output::schema::col_utf8($b, stringify!($f))? };
    (@read u64, $b:ident, $f:ident) => { eigensweep_worker::output::schema::col_u64($b, stringify!($f))? };
    (@read u32, $b:ident, $f:ident) => { eigensweep_worker::output::schema::col_u32($b, stringify!($f))? };
    (@read f64, $b:ident, $f:ident) => { eigensweep_worker::output::schema::col_f64($b, stringify!($f))? };
}
pub(crate) use analysis_table;
