//! Commit-pinned replies (issue 21) on SQLite: the reply's folder state,
//! written inside `finish_query`'s transaction, and the reuse lookup. Kept
//! apart from the message life cycle so that another backend ports these
//! few statements as one piece.

use rusqlite::{OptionalExtension, Transaction, params};

use super::SqliteStore;
use super::messages::{MESSAGE_COLUMNS, message_from_row};
use crate::store::{Message, ReplyModule, Result};

/// Writes `module` onto the reply row `reply_id` (inside `finish_query`'s
/// transaction). Nothing to write, nothing done.
pub(super) fn record(tx: &Transaction<'_>, reply_id: &str, module: &ReplyModule) -> Result<()> {
    if *module == ReplyModule::default() {
        return Ok(());
    }
    tx.prepare_cached(
        "UPDATE messages SET module_commit = ?2, module_dirty = ?3, reuse_key = ?4, reused_from = ?5 WHERE id = ?1",
    )?
    .execute(params![
        reply_id,
        module.state.commit,
        module.state.dirty,
        module.reuse_key,
        module.reused_from,
    ])?;
    Ok(())
}

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
