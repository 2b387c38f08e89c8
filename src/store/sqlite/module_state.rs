//! Commit-pinned replies (issue 21) on SQLite: finding an earlier answer
//! to reuse. (The reply's folder state is written with the reply, in
//! `messages.rs`.)

use rusqlite::{OptionalExtension, params};

use super::SqliteStore;
use super::messages::{MESSAGE_COLUMNS, message_from_row};
use crate::store::{Message, Result};

impl SqliteStore {
    /// The newest delivered reply stored under `reuse_key` at `commit` with
    /// a clean folder, if any. Only answers an agent gave: a reused copy
    /// points at its original, which is what a new reuse names too.
    pub fn reusable_reply(&self, reuse_key: &str, commit: &str) -> Result<Option<Message>> {
        self.read(|conn| {
            Ok(conn
                .prepare_cached(&format!(
                    "SELECT {MESSAGE_COLUMNS} FROM messages
                     WHERE reuse_key = ?1 AND module_commit = ?2 AND module_dirty = 0
                       AND role = 'reply' AND status = 'delivered' AND reused_from IS NULL
                     ORDER BY pos DESC LIMIT 1"
                ))?
                .query_row(params![reuse_key, commit], message_from_row)
                .optional()?)
        })
    }
}
