//! Commit-pinned replies (issue 21): what a reply records about the
//! answering module's folder, and finding an earlier answer to reuse.
//! Kept apart from the message life cycle so that another store backend
//! ports these few statements as one piece.

use rusqlite::{OptionalExtension, Transaction, params};

use super::messages::{MESSAGE_COLUMNS, message_from_row};
use super::model::Message;
use super::{Result, Store};
use crate::workspace::FolderState;

/// What a reply records besides its text: the folder's state when it was
/// answered, the key under which it can be reused, the reply it repeats.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReplyModule {
    pub state: FolderState,
    /// Target, question and policy, hashed (see `hub/reuse.rs`).
    pub reuse_key: Option<String>,
    pub reused_from: Option<String>,
}

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

impl Store {
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
