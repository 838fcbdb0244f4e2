//! A column declaration ([`ColumnSpec`]: name, [`ColumnType`], nullability, description) and
//! the Arrow field it becomes. Kept apart as a leaf because everything else builds on it: the
//! table declarations (`table.rs`), the value conversions (`columns.rs`) and the writer
//! settings and schema checks (`schema.rs`, which re-exports these items under their public
//! paths, `output::schema::ColumnSpec` and so on).

use std::collections::HashMap;
use std::sync::Arc;

use arrow_schema::{DataType, Field, FieldRef, TimeUnit};

/// Arrow field metadata key holding the column's description.
pub const FIELD_DESCRIPTION_KEY: &str = "description";
/// Name of the item field of list columns (Arrow's default).
pub const LIST_ITEM_NAME: &str = "item";

/// The logical type of a column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    /// UTF-8 text (Arrow `Utf8`, DuckDB `VARCHAR`).
    Utf8,
    /// Arrow `Int64` (DuckDB `BIGINT`): every integer (steps, lags, seeds, indices, counts).
    /// The Rust field may be a `u64` or `u32`, converted at the column boundary (the
    /// `ColumnValue` impls of `columns.rs`), checked: a value above `i64::MAX`, or a negative
    /// one read back, is an error naming the column, never a wrapped number.
    Int64,
    /// Arrow `Float64` (DuckDB `DOUBLE`).
    Float64,
    /// Arrow `Boolean`.
    Boolean,
    /// Milliseconds since the Unix epoch, UTC: Arrow `Timestamp(ms, "UTC")` (DuckDB
    /// `TIMESTAMP WITH TIME ZONE`). The Rust field is an `i64`.
    TimestampMsUtc,
    /// Arrow `List<Float32>` with non-null items (DuckDB `FLOAT[]`).
    ListFloat32,
}

impl ColumnType {
    /// The Arrow data type.
    pub fn data_type(self) -> DataType {
        match self {
            ColumnType::Utf8 => DataType::Utf8,
            ColumnType::Int64 => DataType::Int64,
            ColumnType::Float64 => DataType::Float64,
            ColumnType::Boolean => DataType::Boolean,
            ColumnType::TimestampMsUtc => {
                DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into()))
            }
            ColumnType::ListFloat32 => DataType::List(list_item_field()),
        }
    }

    /// How the column reads in DuckDB (for documentation).
    pub fn duckdb_type(self) -> &'static str {
        match self {
            ColumnType::Utf8 => "VARCHAR",
            ColumnType::Int64 => "BIGINT",
            ColumnType::Float64 => "DOUBLE",
            ColumnType::Boolean => "BOOLEAN",
            ColumnType::TimestampMsUtc => "TIMESTAMP WITH TIME ZONE",
            ColumnType::ListFloat32 => "FLOAT[]",
        }
    }
}

/// The item field of `List<Float32>` columns: named "item", non-null, no metadata.
pub fn list_item_field() -> FieldRef {
    Arc::new(Field::new(LIST_ITEM_NAME, DataType::Float32, false))
}

/// One column of a table: name (= the Rust field's name), type, nullability, description.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ColumnSpec {
    /// Column name.
    pub name: &'static str,
    /// Logical type.
    pub ty: ColumnType,
    /// Whether the column may hold nulls (the Rust field is an `Option`).
    pub nullable: bool,
    /// One-sentence description, stored in the field metadata.
    pub description: &'static str,
    /// A nullable column added to a table after its format version was fixed: files written
    /// before have no such column, and it reads as null there.
    pub absent_is_null: bool,
}

impl ColumnSpec {
    /// A non-null column.
    pub const fn required(name: &'static str, ty: ColumnType, description: &'static str) -> Self {
        Self {
            name,
            ty,
            nullable: false,
            description,
            absent_is_null: false,
        }
    }

    /// A nullable column.
    pub const fn optional(name: &'static str, ty: ColumnType, description: &'static str) -> Self {
        Self {
            name,
            ty,
            nullable: true,
            description,
            absent_is_null: false,
        }
    }

    /// A nullable column added without a format-version bump (see `absent_is_null`).
    pub const fn added(name: &'static str, ty: ColumnType, description: &'static str) -> Self {
        Self {
            name,
            ty,
            nullable: true,
            description,
            absent_is_null: true,
        }
    }

    /// The Arrow field, with the description under [`FIELD_DESCRIPTION_KEY`].
    pub fn field(&self) -> Field {
        Field::new(self.name, self.ty.data_type(), self.nullable).with_metadata(HashMap::from([(
            FIELD_DESCRIPTION_KEY.to_string(),
            self.description.to_string(),
        )]))
    }
}
