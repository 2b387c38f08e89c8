//! Reading messages: one, a window of a conversation, what came after a
//! cursor (for followers), and what a conversation gained since a turn.

use rusqlite::{Connection, params};

use super::conversations::load_conversation;
use super::limits;
use super::messages::{MESSAGE_COLUMNS, load_message, message_at, message_from_row};
use super::model::Message;
use super::{Result, SqliteStore};
use crate::store::MessageCursor;

impl SqliteStore {
    pub fn message(&self, id: &str) -> Result<Message> {
        self.read(|conn| load_message(conn, id))
    }

    /// The latest `limit` messages before sequence number `before_seq`
    /// (all when `None`), in ascending order.
    pub fn messages(
        &self,
        conversation_id: &str,
        limit: Option<usize>,
        before_seq: Option<i64>,
    ) -> Result<Vec<Message>> {
        if let Some(limit) = limit {
            limits::check_page("limit", limit)?;
        }
        self.read(|conn| {
            load_conversation(conn, conversation_id)?;
            let mut statement = conn.prepare_cached(&format!(
                "SELECT {MESSAGE_COLUMNS} FROM messages
                 WHERE conversation_id = ?1 AND seq < ?2 ORDER BY seq DESC LIMIT ?3"
            ))?;
            let mut messages = statement
                .query_map(
                    params![
                        conversation_id,
                        before_seq.unwrap_or(i64::MAX),
                        limit.map_or(-1, |l| l as i64)
                    ],
                    message_from_row,
                )?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            messages.reverse();
            Ok(messages)
        })
    }

    /// A conversation and its messages numbered after `after_seq`, oldest
    /// first, read together (a sender that keeps the earlier ones reads
    /// only what is new).
    pub fn conversation_since(
        &self,
        conversation_id: &str,
        after_seq: i64,
    ) -> Result<(super::model::Conversation, Vec<Message>)> {
        self.read(|conn| conversation_since(conn, conversation_id, after_seq))
    }

    /// Messages stored after `cursor` (by any process), oldest first, each
    /// with the cursor that follows it; optionally only conversations where
    /// `module` is the source or the target.
    pub fn messages_after(
        &self,
        cursor: MessageCursor,
        module: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(MessageCursor, Message)>> {
        limits::check_page("limit", limit)?;
        limits::check_opt_len("module", module, limits::MAX_NAME_BYTES)?;
        let columns = super::messages::message_columns_of_m();
        self.read(|conn| {
            let mut statement = conn.prepare_cached(&format!(
                "SELECT m.pos, {columns} FROM messages m JOIN conversations c ON c.id = m.conversation_id
                 WHERE m.pos > ?1 AND (?2 IS NULL OR c.source = ?2 OR c.target = ?2)
                 ORDER BY m.pos LIMIT ?3"
            ))?;
            let rows = statement
                .query_map(params![cursor.pos, module, limit as i64], |row| {
                    let pos: i64 = row.get(0)?;
                    Ok((MessageCursor::new(0, pos), message_at(row, 1)?))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows)
        })
    }

    /// The cursor of the newest message (0 when there is none).
    pub fn latest_message_cursor(&self) -> Result<MessageCursor> {
        self.read(|conn| {
            let pos = conn.query_row("SELECT COALESCE(MAX(pos), 0) FROM messages", [], |r| {
                r.get(0)
            })?;
            Ok(MessageCursor::new(0, pos))
        })
    }
}

/// [`SqliteStore::conversation_since`] on `conn`.
pub(super) fn conversation_since(
    conn: &Connection,
    conversation_id: &str,
    after_seq: i64,
) -> Result<(super::model::Conversation, Vec<Message>)> {
    let conversation = load_conversation(conn, conversation_id)?;
    let mut statement = conn.prepare_cached(&format!(
        "SELECT {MESSAGE_COLUMNS} FROM messages WHERE conversation_id = ?1 AND seq > ?2 ORDER BY seq"
    ))?;
    let messages = statement
        .query_map(params![conversation_id, after_seq], message_from_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok((conversation, messages))
}
