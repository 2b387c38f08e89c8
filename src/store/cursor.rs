//! The cursor of conversation pages, the same on every backend (a cursor
//! one backend gave means the same to the other, e.g. after `store copy`).

use super::{Result, StoreError};

/// Cursors are `<updated_at>.<id>`: opaque to callers, readable in logs.
pub(crate) fn encode_cursor(updated_at: i64, id: &str) -> String {
    format!("{updated_at}.{id}")
}

pub(crate) fn decode_cursor(cursor: &str) -> Result<(i64, String)> {
    cursor
        .split_once('.')
        .and_then(|(t, id)| Some((t.parse().ok()?, id.to_string())))
        .filter(|(_, id)| !id.is_empty())
        .ok_or_else(|| StoreError::BadCursor(cursor.to_string()))
}
