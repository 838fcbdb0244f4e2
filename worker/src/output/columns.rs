//! How a Rust field becomes an Arrow column and back: one [`ColumnValue`] impl per pair of a
//! Rust type and a column kind ([`kind`]), so that a table declared with [`crate::table!`]
//! names each column's Rust type and kind once and the compiler checks that they fit (a
//! `u64` field declared `Float64` does not compile). Nullability follows from the Rust type:
//! an `Option` field is a nullable column.
//!
//! Every builder here is the one the tables used before they were declared with the macro,
//! so the arrays, and the files, are the same bytes.

use std::sync::Arc;

use arrow_array::{
    Array, ArrayRef, BooleanArray, Float32Array, Float64Array, Int64Array, ListArray, RecordBatch,
    StringArray, TimestampMillisecondArray,
};
use arrow_buffer::OffsetBuffer;

use super::column_spec::list_item_field;
use crate::WorkerError;

/// The column kinds as types, one per [`ColumnType`](super::schema::ColumnType) variant of the
/// same name: the second parameter of [`ColumnValue`].
pub mod kind {
    /// [`ColumnType::Utf8`](crate::output::schema::ColumnType::Utf8).
    #[derive(Debug)]
    pub struct Utf8;
    /// [`ColumnType::Int64`](crate::output::schema::ColumnType::Int64).
    #[derive(Debug)]
    pub struct Int64;
    /// [`ColumnType::Float64`](crate::output::schema::ColumnType::Float64).
    #[derive(Debug)]
    pub struct Float64;
    /// [`ColumnType::Boolean`](crate::output::schema::ColumnType::Boolean).
    #[derive(Debug)]
    pub struct Boolean;
    /// [`ColumnType::TimestampMsUtc`](crate::output::schema::ColumnType::TimestampMsUtc).
    #[derive(Debug)]
    pub struct TimestampMsUtc;
    /// [`ColumnType::ListFloat32`](crate::output::schema::ColumnType::ListFloat32).
    #[derive(Debug)]
    pub struct ListFloat32;
}

/// A Rust field type stored as a column of kind `K`.
pub trait ColumnValue<K>: Sized + Default {
    /// Whether the column may hold nulls (the field is an `Option`).
    const NULLABLE: bool;

    /// The column `name` of these values; fails only for an integer above `i64::MAX`.
    fn to_array<'a>(
        name: &str,
        values: impl Iterator<Item = &'a Self> + Clone,
    ) -> Result<ArrayRef, WorkerError>
    where
        Self: 'a;

    /// The values of column `name` of `batch`, checked for type, nulls and range.
    fn from_array(batch: &RecordBatch, name: &str) -> Result<Vec<Self>, WorkerError>;
}

/// Reads column `name` as `T`; a column that may be `absent` (added to its table after files
/// were written without it) reads as defaults (nulls) where the file lacks it.
pub fn read_column<K, T: ColumnValue<K>>(
    batch: &RecordBatch,
    name: &str,
    absent: bool,
) -> Result<Vec<T>, WorkerError> {
    if absent && batch.schema().column_with_name(name).is_none() {
        return Ok((0..batch.num_rows()).map(|_| T::default()).collect());
    }
    T::from_array(batch, name)
}

impl ColumnValue<kind::Utf8> for String {
    const NULLABLE: bool = false;
    fn to_array<'a>(
        _: &str,
        values: impl Iterator<Item = &'a Self> + Clone,
    ) -> Result<ArrayRef, WorkerError> {
        Ok(Arc::new(StringArray::from_iter_values(
            values.map(String::as_str),
        )))
    }
    fn from_array(batch: &RecordBatch, name: &str) -> Result<Vec<Self>, WorkerError> {
        let a = typed::<StringArray>(batch, name)?;
        no_nulls(a, name)?;
        Ok(a.iter()
            .map(|v| v.unwrap_or_default().to_string())
            .collect())
    }
}

impl ColumnValue<kind::Utf8> for Option<String> {
    const NULLABLE: bool = true;
    fn to_array<'a>(
        _: &str,
        values: impl Iterator<Item = &'a Self> + Clone,
    ) -> Result<ArrayRef, WorkerError> {
        Ok(Arc::new(
            values.map(Option::as_deref).collect::<StringArray>(),
        ))
    }
    fn from_array(batch: &RecordBatch, name: &str) -> Result<Vec<Self>, WorkerError> {
        let a = typed::<StringArray>(batch, name)?;
        Ok(a.iter().map(|v| v.map(str::to_string)).collect())
    }
}

/// The integer field types: stored as `Int64`, converted checked both ways.
macro_rules! int64_values {
    ($($t:ty),*) => {$(
        impl ColumnValue<kind::Int64> for $t {
            const NULLABLE: bool = false;
            fn to_array<'a>(
                name: &str,
                values: impl Iterator<Item = &'a Self> + Clone,
            ) -> Result<ArrayRef, WorkerError> {
                int64_array(name, values.copied())
            }
            fn from_array(batch: &RecordBatch, name: &str) -> Result<Vec<Self>, WorkerError> {
                read_int(batch, name)
            }
        }

        impl ColumnValue<kind::Int64> for Option<$t> {
            const NULLABLE: bool = true;
            fn to_array<'a>(
                name: &str,
                values: impl Iterator<Item = &'a Self> + Clone,
            ) -> Result<ArrayRef, WorkerError> {
                int64_array_opt(name, values.copied())
            }
            fn from_array(batch: &RecordBatch, name: &str) -> Result<Vec<Self>, WorkerError> {
                read_int_opt(batch, name)
            }
        }
    )*};
}
int64_values!(u64, u32);

impl ColumnValue<kind::Float64> for f64 {
    const NULLABLE: bool = false;
    fn to_array<'a>(
        _: &str,
        values: impl Iterator<Item = &'a Self> + Clone,
    ) -> Result<ArrayRef, WorkerError> {
        Ok(Arc::new(Float64Array::from_iter_values(values.copied())))
    }
    fn from_array(batch: &RecordBatch, name: &str) -> Result<Vec<Self>, WorkerError> {
        let a = typed::<Float64Array>(batch, name)?;
        no_nulls(a, name)?;
        Ok(a.values().to_vec())
    }
}

impl ColumnValue<kind::Float64> for Option<f64> {
    const NULLABLE: bool = true;
    fn to_array<'a>(
        _: &str,
        values: impl Iterator<Item = &'a Self> + Clone,
    ) -> Result<ArrayRef, WorkerError> {
        Ok(Arc::new(values.copied().collect::<Float64Array>()))
    }
    fn from_array(batch: &RecordBatch, name: &str) -> Result<Vec<Self>, WorkerError> {
        Ok(typed::<Float64Array>(batch, name)?.iter().collect())
    }
}

impl ColumnValue<kind::Boolean> for bool {
    const NULLABLE: bool = false;
    fn to_array<'a>(
        _: &str,
        values: impl Iterator<Item = &'a Self> + Clone,
    ) -> Result<ArrayRef, WorkerError> {
        Ok(Arc::new(BooleanArray::from(
            values.copied().collect::<Vec<bool>>(),
        )))
    }
    fn from_array(batch: &RecordBatch, name: &str) -> Result<Vec<Self>, WorkerError> {
        let a = typed::<BooleanArray>(batch, name)?;
        no_nulls(a, name)?;
        Ok(a.values().iter().collect())
    }
}

impl ColumnValue<kind::Boolean> for Option<bool> {
    const NULLABLE: bool = true;
    fn to_array<'a>(
        _: &str,
        values: impl Iterator<Item = &'a Self> + Clone,
    ) -> Result<ArrayRef, WorkerError> {
        Ok(Arc::new(values.copied().collect::<BooleanArray>()))
    }
    fn from_array(batch: &RecordBatch, name: &str) -> Result<Vec<Self>, WorkerError> {
        Ok(typed::<BooleanArray>(batch, name)?.iter().collect())
    }
}

/// Unix milliseconds (UTC).
impl ColumnValue<kind::TimestampMsUtc> for Option<i64> {
    const NULLABLE: bool = true;
    fn to_array<'a>(
        _: &str,
        values: impl Iterator<Item = &'a Self> + Clone,
    ) -> Result<ArrayRef, WorkerError> {
        Ok(Arc::new(
            values
                .copied()
                .collect::<TimestampMillisecondArray>()
                .with_timezone("UTC"),
        ))
    }
    fn from_array(batch: &RecordBatch, name: &str) -> Result<Vec<Self>, WorkerError> {
        Ok(typed::<TimestampMillisecondArray>(batch, name)?
            .iter()
            .collect())
    }
}

/// Eigenvectors and θ.
impl ColumnValue<kind::ListFloat32> for Vec<f32> {
    const NULLABLE: bool = false;
    fn to_array<'a>(
        _: &str,
        values: impl Iterator<Item = &'a Self> + Clone,
    ) -> Result<ArrayRef, WorkerError> {
        Ok(f32_list_array(values.map(Vec::as_slice)))
    }
    fn from_array(batch: &RecordBatch, name: &str) -> Result<Vec<Self>, WorkerError> {
        let a = typed::<ListArray>(batch, name)?;
        no_nulls(a, name)?;
        let items = a
            .values()
            .as_any()
            .downcast_ref::<Float32Array>()
            .ok_or_else(|| WorkerError::NotFloatList {
                column: name.to_string(),
            })?;
        no_nulls(items, name)?;
        let values = items.values();
        let offsets = a.value_offsets();
        Ok(offsets
            .windows(2)
            .map(|w| values[w[0] as usize..w[1] as usize].to_vec())
            .collect())
    }
}

// ---------------------------------------------------------------------------------------
// The building blocks of the impls above.

/// A `list<float32>` column.
fn f32_list_array<'a>(values: impl Iterator<Item = &'a [f32]> + Clone) -> ArrayRef {
    let offsets = OffsetBuffer::from_lengths(values.clone().map(<[f32]>::len));
    let items = Float32Array::from_iter_values(values.flat_map(|v| v.iter().copied()));
    Arc::new(ListArray::new(
        list_item_field(),
        offsets,
        Arc::new(items),
        None,
    ))
}

/// One integer stored as `Int64`, or an error naming column `name` and the value.
fn to_i64<T: TryInto<i64> + Copy + std::fmt::Display>(
    name: &str,
    value: T,
) -> Result<i64, WorkerError> {
    value.try_into().map_err(|_| WorkerError::IntegerOverflow {
        column: name.to_string(),
        value: value.to_string(),
    })
}

/// A required Int64 column from unsigned Rust values, checked.
fn int64_array<T: TryInto<i64> + Copy + std::fmt::Display>(
    name: &str,
    values: impl Iterator<Item = T>,
) -> Result<ArrayRef, WorkerError> {
    let values = values
        .map(|v| to_i64(name, v))
        .collect::<Result<Vec<i64>, _>>()?;
    Ok(Arc::new(Int64Array::from(values)))
}

/// A nullable Int64 column from unsigned Rust values, checked.
fn int64_array_opt<T: TryInto<i64> + Copy + std::fmt::Display>(
    name: &str,
    values: impl Iterator<Item = Option<T>>,
) -> Result<ArrayRef, WorkerError> {
    let values = values
        .map(|v| v.map(|v| to_i64(name, v)).transpose())
        .collect::<Result<Int64Array, _>>()?;
    Ok(Arc::new(values))
}

/// Column `name` of `batch` as array type `T`: missing or of another type is an error naming
/// it.
fn typed<'a, T: Array + 'static>(batch: &'a RecordBatch, name: &str) -> Result<&'a T, WorkerError> {
    let column = batch
        .column_by_name(name)
        .ok_or_else(|| WorkerError::MissingColumn {
            column: name.to_string(),
        })?;
    column
        .as_any()
        .downcast_ref::<T>()
        .ok_or_else(|| WorkerError::ColumnType {
            column: name.to_string(),
            found: column.data_type().to_string(),
            expected: std::any::type_name::<T>()
                .rsplit("::")
                .next()
                .unwrap_or("?")
                .to_string(),
        })
}

/// An error when the required column `name` holds nulls.
fn no_nulls(array: &dyn Array, name: &str) -> Result<(), WorkerError> {
    if array.null_count() > 0 {
        Err(WorkerError::NullValues {
            column: name.to_string(),
            count: array.null_count(),
        })
    } else {
        Ok(())
    }
}

/// One stored integer as the Rust field's type, or an error naming the column and the value
/// (a negative step, or an index beyond `u32`, is not silently wrapped).
fn from_i64<T: TryFrom<i64>>(name: &str, value: i64) -> Result<T, WorkerError> {
    T::try_from(value).map_err(|_| WorkerError::ColumnOutOfRange {
        column: name.to_string(),
        value,
        target: std::any::type_name::<T>(),
    })
}

/// A required Int64 column as unsigned Rust values, checked.
fn read_int<T: TryFrom<i64>>(batch: &RecordBatch, name: &str) -> Result<Vec<T>, WorkerError> {
    let a = typed::<Int64Array>(batch, name)?;
    no_nulls(a, name)?;
    a.values().iter().map(|&v| from_i64(name, v)).collect()
}

/// A nullable Int64 column as unsigned Rust values, checked.
fn read_int_opt<T: TryFrom<i64>>(
    batch: &RecordBatch,
    name: &str,
) -> Result<Vec<Option<T>>, WorkerError> {
    typed::<Int64Array>(batch, name)?
        .iter()
        .map(|v| v.map(|v| from_i64(name, v)).transpose())
        .collect()
}
