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

/// Where a follower of every stored message stands (`messages_after`):
/// opaque to callers, who pass back what they were given. Ordered, so a
/// later cursor compares greater.
///
/// Why two numbers: on PostgreSQL writers of different conversations
/// commit in any order, so `pos` (taken at insert) is not commit order. A
/// follower reads by `(commit, pos)`, where `commit` is the id of the
/// transaction that wrote the row, and only rows of transactions older
/// than the oldest one still running (see `store/postgres/reads.rs`): no
/// row can later appear below a cursor already handed out. On SQLite,
/// whose writers take turns, `commit` is always 0 and `pos` is the order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, Hash)]
pub struct MessageCursor {
    pub(crate) commit: i64,
    pub(crate) pos: i64,
}

impl MessageCursor {
    /// Before the first message: a follower from here reads everything.
    pub const START: MessageCursor = MessageCursor { commit: 0, pos: 0 };

    pub(crate) fn new(commit: i64, pos: i64) -> MessageCursor {
        MessageCursor { commit, pos }
    }
}

impl std::fmt::Display for MessageCursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.commit, self.pos)
    }
}
