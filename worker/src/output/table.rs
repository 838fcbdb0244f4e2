//! A row type stored as one Parquet table ([`Row`]), and [`crate::table!`], which declares one
//! from a single list of columns (name, Rust type, column kind, description): the struct, the
//! Arrow schema, the rows → record batch building and the reader all come from that list, so
//! they cannot drift apart.

use std::sync::Arc;

use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{Schema, SchemaRef};

use super::column_spec::ColumnSpec;
use crate::WorkerError;

/// A row type that is stored as one Parquet table. Declare one with [`crate::table!`].
pub trait Row: Sized {
    /// Table name, stored under [`TABLE_KEY`](super::schema::TABLE_KEY) and checked on
    /// reading.
    const TABLE: &'static str;
    /// One sentence on what a row is, stored under
    /// [`TABLE_DESCRIPTION_KEY`](super::schema::TABLE_DESCRIPTION_KEY).
    const DESCRIPTION: &'static str;
    /// The columns, in file order.
    fn columns() -> &'static [ColumnSpec];
    /// Builds the Arrow columns for `rows`, in the order of [`Self::columns`]; fails (naming
    /// the column) only for an integer above `i64::MAX`.
    fn to_arrays(rows: &[Self]) -> Result<Vec<ArrayRef>, WorkerError>;
    /// Takes a batch (whose schema has been checked against [`Self::columns`]) apart; a
    /// column of the wrong type, with nulls where it is required or with an integer out of
    /// the field's range is an error naming it.
    fn from_batch(batch: &RecordBatch) -> Result<Vec<Self>, WorkerError>;

    /// The Arrow schema: the columns with their descriptions. The table-level metadata is
    /// kept out of it on purpose (it goes to the Parquet key-value metadata in a fixed order,
    /// whereas Arrow's schema metadata is a hash map whose order would vary between runs).
    fn schema() -> SchemaRef {
        Arc::new(Schema::new(
            Self::columns()
                .iter()
                .map(|c| c.field())
                .collect::<Vec<_>>(),
        ))
    }

    /// Builds a record batch for `rows`.
    fn to_batch(rows: &[Self]) -> Result<RecordBatch, WorkerError> {
        RecordBatch::try_new(Self::schema(), Self::to_arrays(rows)?).map_err(WorkerError::Arrow)
    }
}

/// Declares a table from one list of columns, each `name: RustType = Kind "description"`
/// (`Kind` a [`ColumnType`](crate::output::schema::ColumnType) variant; an `Option` type
/// makes the column nullable; `[added]` before the kind marks a nullable column added after
/// its format version was fixed, which files without it read as null).
///
/// The first form declares the row struct too: its fields are the columns, in file order,
/// each documented by its column's description (extra `///` lines may follow it), with
/// `Debug`, `Clone`, `Default` and `PartialEq`:
///
/// ```
/// eigensweep_worker::table! {
///     /// A loss at one step.
///     pub struct LossRow;
///     table = "loss", description = "One row per step: the loss.",
///     {
///         step: u64 = Int64 "Training step.",
///         loss: Option<f64> = Float64 "Mean loss; null when not evaluated.",
///     }
/// }
/// use eigensweep_worker::output::Row;
/// let rows = vec![LossRow { step: 3, loss: Some(0.5) }, LossRow { step: 4, loss: None }];
/// let batch = LossRow::to_batch(&rows).unwrap();
/// assert!(LossRow::columns()[1].nullable);
/// assert_eq!(LossRow::from_batch(&batch).unwrap(), rows);
/// ```
///
/// The second form, `impl Type;`, declares the table of a struct written by hand (one that
/// groups some columns in a nested struct): a column whose value is not the field of its name
/// says where it is, `=> field.path`. The struct must implement `Default`; reading sets each
/// column's place in a default row.
#[macro_export]
macro_rules! table {
    (
        $(#[$meta:meta])*
        pub struct $name:ident;
        table = $table:literal, description = $desc:literal,
        {
            $(
                $(#[$fmeta:meta])*
                $col:ident : $fty:ty = $([$flag:ident])? $kind:ident $cdesc:expr
            ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Default, PartialEq)]
        pub struct $name {
            $( #[doc = $cdesc] $(#[$fmeta])* pub $col: $fty, )*
        }

        $crate::table! {
            impl $name;
            table = $table, description = $desc,
            { $( $col : $fty = $([$flag])? $kind $cdesc ),* }
        }
    };
    (
        impl $name:ident;
        table = $table:literal, description = $desc:literal,
        {
            $(
                $col:ident : $fty:ty = $([$flag:ident])? $kind:ident $cdesc:expr
                $(=> $($path:ident).+)?
            ),* $(,)?
        }
    ) => {
        impl $crate::output::Row for $name {
            const TABLE: &'static str = $table;
            const DESCRIPTION: &'static str = $desc;

            fn columns() -> &'static [$crate::output::schema::ColumnSpec] {
                const COLUMNS: &[$crate::output::schema::ColumnSpec] = &[$(
                    $crate::output::schema::ColumnSpec {
                        name: stringify!($col),
                        ty: $crate::output::schema::ColumnType::$kind,
                        nullable: <$fty as $crate::output::columns::ColumnValue<
                            $crate::output::columns::kind::$kind,
                        >>::NULLABLE,
                        description: $cdesc,
                        absent_is_null: $crate::table!(@added $($flag)?),
                    },
                )*];
                COLUMNS
            }

            fn to_arrays(
                rows: &[Self],
            ) -> Result<Vec<$crate::output::__arrow::ArrayRef>, $crate::WorkerError> {
                Ok(vec![$(
                    <$fty as $crate::output::columns::ColumnValue<
                        $crate::output::columns::kind::$kind,
                    >>::to_array(
                        stringify!($col),
                        rows.iter().map(|row| &$crate::table!(@get row, $col $(, $($path).+)?)),
                    )?,
                )*])
            }

            fn from_batch(
                batch: &$crate::output::__arrow::RecordBatch,
            ) -> Result<Vec<Self>, $crate::WorkerError> {
                let mut rows: Vec<Self> = (0..batch.num_rows()).map(|_| Self::default()).collect();
                $(
                    let values = $crate::output::columns::read_column::<
                        $crate::output::columns::kind::$kind,
                        $fty,
                    >(batch, stringify!($col), $crate::table!(@added $($flag)?))?;
                    for (row, value) in rows.iter_mut().zip(values) {
                        $crate::table!(@set row, value, $col $(, $($path).+)?);
                    }
                )*
                Ok(rows)
            }
        }
    };
    (@added added) => { true };
    (@added) => { false };
    (@get $row:ident, $col:ident) => { $row.$col };
    (@get $row:ident, $col:ident, $($path:ident).+) => { $row.$($path).+ };
    (@set $row:ident, $value:ident, $col:ident) => { $row.$col = $value };
    (@set $row:ident, $value:ident, $col:ident, $($path:ident).+) => { $row.$($path).+ = $value };
}
