//! Removing conversations for good: one by id, or every one that matches a
//! cleanup rule (`conversations prune`). A conversation with a query still
//! pending is never removed: its answer is on its way and would have
//! nowhere to land.

use rusqlite::{OptionalExtension, Transaction, params};

use super::conversations::load_conversation;
use super::model::Conversation;
use super::records::PruneRule;
use super::{Result, SqliteStore, StoreError};

fn delete_in(tx: &Transaction<'_>, id: &str) -> Result<()> {
    let pending: Option<String> = tx
        .query_row(
            "SELECT id FROM messages WHERE conversation_id = ?1 AND status = 'pending' LIMIT 1",
            [id],
            |r| r.get(0),
        )
        .optional()?;
    crate::store::rules::refuse_busy(id, pending)?;
    // The FTS index follows through the delete trigger.
    tx.execute("DELETE FROM messages WHERE conversation_id = ?1", [id])?;
    tx.execute("DELETE FROM conversations WHERE id = ?1", [id])?;
    Ok(())
}

impl SqliteStore {
    /// Removes a conversation and all its messages; returns what was removed.
    pub fn delete_conversation(&self, id: &str) -> Result<Conversation> {
        self.write(|tx| {
            let conversation = load_conversation(tx, id)?;
            delete_in(tx, id)?;
            Ok(conversation)
        })
    }

    /// The conversations `rule` matches, oldest activity first (what
    /// [`SqliteStore::prune_conversations`] would remove).
    pub fn prunable_conversations(&self, rule: &PruneRule) -> Result<Vec<Conversation>> {
        self.read(|conn| matching(conn, rule))
    }

    /// Removes every conversation `rule` matches, in one transaction, and
    /// returns them. Conversations with a pending query are left alone.
    pub fn prune_conversations(&self, rule: &PruneRule) -> Result<Vec<Conversation>> {
        self.write(|tx| {
            let mut removed = Vec::new();
            for conversation in matching(tx, rule)? {
                match delete_in(tx, &conversation.id) {
                    Ok(()) => removed.push(conversation),
                    Err(StoreError::ConversationBusy { .. }) => {} // pending: kept
                    Err(e) => return Err(e),
                }
            }
            Ok(removed)
        })
    }
}

fn matching(conn: &rusqlite::Connection, rule: &PruneRule) -> Result<Vec<Conversation>> {
    let mut statement = conn.prepare_cached(&format!(
        "SELECT {} FROM conversations WHERE updated_at < ?1 AND (?2 IS NULL OR status = ?2) ORDER BY updated_at, id",
        super::conversations::CONVERSATION_COLUMNS
    ))?;
    let rows = statement
        .query_map(
            params![rule.inactive_before_ms, rule.status.map(|s| s.as_str())],
            super::conversations::conversation_from_row,
        )?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}
