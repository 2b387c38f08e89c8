//! Decoding stored text into the store's types, the same on every
//! backend: a stored value that does not decode is
//! [`StoreError::Corrupt`], naming its table, column and row. It is never
//! read as a default (a query whose status does not parse is not "failed",
//! a hop chain that does not parse is not empty): a default would hide the
//! damage and let the hub act on a value nobody stored.

use std::fmt::Display;
use std::str::FromStr;

use serde::de::DeserializeOwned;

use super::{Result, StoreError};

/// Where a stored value is: its table, its column, and which row (for
/// people: `message msg-…`, `node "a"`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Stored<'a> {
    pub table: &'static str,
    pub column: &'static str,
    pub row: &'a str,
}

impl Stored<'_> {
    /// The value parsed with its type's `FromStr` (a status, a role).
    pub(crate) fn parsed<T>(self, value: &str) -> Result<T>
    where
        T: FromStr,
        T::Err: Display,
    {
        value.parse().map_err(|e| self.corrupt(value, e))
    }

    /// The value read as JSON (a hop chain, tool uses, metadata).
    pub(crate) fn json<T: DeserializeOwned>(self, value: &str) -> Result<T> {
        serde_json::from_str(value).map_err(|e| self.corrupt(value, e))
    }

    /// [`Stored::json`] of a column that may be NULL (usage).
    pub(crate) fn json_opt<T: DeserializeOwned>(self, value: Option<&str>) -> Result<Option<T>> {
        value.map(|v| self.json(v)).transpose()
    }

    fn corrupt(self, value: &str, reason: impl Display) -> StoreError {
        StoreError::Corrupt {
            table: self.table,
            column: self.column,
            row: self.row.to_string(),
            value: value.to_string(),
            reason: reason.to_string(),
        }
    }
}

/// Where column `column` of message `id` is stored.
pub(crate) fn message_column<'a>(id: &'a str, column: &'static str) -> Stored<'a> {
    Stored {
        table: "messages",
        column,
        row: id,
    }
}

/// Where column `column` of conversation `id` is stored.
pub(crate) fn conversation_column<'a>(id: &'a str, column: &'static str) -> Stored<'a> {
    Stored {
        table: "conversations",
        column,
        row: id,
    }
}
