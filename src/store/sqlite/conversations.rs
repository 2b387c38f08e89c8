//! Conversations: create, read, list (keyset pages), status, session.

use rusqlite::{OptionalExtension, Row, params};
use serde_json::Value;

use super::error::in_row;
use super::limits::{self, MAX_CURSOR_BYTES, MAX_METADATA_BYTES, MAX_TITLE_BYTES};
use super::model::{Conversation, ConversationFilter, ConversationPage, ConversationStatus};
use super::{Result, SqliteStore, StoreError, now_ms};
use crate::store::cursor::{decode_cursor, encode_cursor};
use crate::store::decode::conversation_column;

pub(super) use crate::store::columns::CONVERSATION_COLUMNS;

/// A stored value that does not decode is an error naming the
/// conversation and the column (see `store/decode.rs`).
pub(super) fn conversation_from_row(row: &Row<'_>) -> rusqlite::Result<Conversation> {
    let id: String = row.get(0)?;
    let status: String = row.get(4)?;
    let metadata: String = row.get(8)?;
    let column = |name| conversation_column(&id, name);
    Ok(Conversation {
        status: in_row(4, column("status").parsed(&status))?,
        metadata: in_row(8, column("metadata").json(&metadata))?,
        source: row.get(1)?,
        target: row.get(2)?,
        title: row.get(3)?,
        created_at: row.get(5)?,
        updated_at: row.get(6)?,
        backend_session: row.get(7)?,
        message_count: row.get(9)?,
        id,
    })
}

pub(super) fn load_conversation(conn: &rusqlite::Connection, id: &str) -> Result<Conversation> {
    // Cached, like `load_message`: every query of the write path loads one.
    conn.prepare_cached(&format!(
        "SELECT {CONVERSATION_COLUMNS} FROM conversations WHERE id = ?1"
    ))?
    .query_row([id], conversation_from_row)
    .optional()?
    .ok_or_else(|| StoreError::UnknownConversation(id.to_string()))
}

impl SqliteStore {
    pub fn create_conversation(
        &self,
        source: &str,
        target: &str,
        title: Option<&str>,
        metadata: Value,
    ) -> Result<Conversation> {
        limits::check_name("source", source)?;
        limits::check_name("target", target)?;
        limits::check_opt_len("title", title, MAX_TITLE_BYTES)?;
        let metadata = metadata.to_string();
        limits::check_len("metadata", &metadata, MAX_METADATA_BYTES)?;
        let id = uuid::Uuid::new_v4().to_string();
        let now = now_ms();
        self.write(|tx| {
            tx.execute(
                "INSERT INTO conversations (id, source, target, title, status, created_at, updated_at, metadata)
                 VALUES (?1, ?2, ?3, ?4, 'active', ?5, ?5, ?6)",
                params![id, source, target, title, now, metadata],
            )?;
            load_conversation(tx, &id)
        })
    }

    pub fn conversation(&self, id: &str) -> Result<Conversation> {
        self.read(|conn| load_conversation(conn, id))
    }

    /// Most recently active first; `next_cursor` continues after the last one.
    pub fn list_conversations(&self, filter: &ConversationFilter) -> Result<ConversationPage> {
        limits::check_page("limit", filter.limit)?;
        let limit = filter.limit;
        limits::check_opt_len("module", filter.module.as_deref(), limits::MAX_NAME_BYTES)?;
        limits::check_opt_len("cursor", filter.cursor.as_deref(), MAX_CURSOR_BYTES)?;
        let after = filter.cursor.as_deref().map(decode_cursor).transpose()?;
        let mut sql = format!("SELECT {CONVERSATION_COLUMNS} FROM conversations WHERE 1 = 1");
        let mut args: Vec<Box<dyn rusqlite::ToSql>> = Vec::new();
        if let Some(module) = &filter.module {
            sql.push_str(" AND (source = ? OR target = ?)");
            args.push(Box::new(module.clone()));
            args.push(Box::new(module.clone()));
        }
        if let Some(status) = filter.status {
            sql.push_str(" AND status = ?");
            args.push(Box::new(status.as_str()));
        }
        if let Some((updated_at, id)) = after {
            sql.push_str(" AND (updated_at < ? OR (updated_at = ? AND id < ?))");
            args.push(Box::new(updated_at));
            args.push(Box::new(updated_at));
            args.push(Box::new(id));
        }
        sql.push_str(" ORDER BY updated_at DESC, id DESC LIMIT ?");
        args.push(Box::new((limit + 1) as i64));
        self.read(|conn| {
            let mut statement = conn.prepare_cached(&sql)?;
            let mut conversations = statement
                .query_map(
                    rusqlite::params_from_iter(args.iter().map(|a| a.as_ref())),
                    conversation_from_row,
                )?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let next_cursor = if conversations.len() > limit {
                conversations.truncate(limit);
                conversations
                    .last()
                    .map(|c| encode_cursor(c.updated_at, &c.id))
            } else {
                None
            };
            Ok(ConversationPage {
                conversations,
                next_cursor,
            })
        })
    }

    pub fn set_conversation_status(
        &self,
        id: &str,
        status: ConversationStatus,
    ) -> Result<Conversation> {
        self.write(|tx| {
            let changed = tx.execute(
                "UPDATE conversations SET status = ?2, updated_at = ?3 WHERE id = ?1",
                params![id, status.as_str(), now_ms()],
            )?;
            if changed == 0 {
                return Err(StoreError::UnknownConversation(id.to_string()));
            }
            load_conversation(tx, id)
        })
    }

    pub fn set_backend_session(&self, id: &str, session: Option<&str>) -> Result<()> {
        limits::check_opt_len("backend_session", session, limits::MAX_NAME_BYTES)?;
        self.write(|tx| {
            let changed = tx.execute(
                "UPDATE conversations SET backend_session = ?2 WHERE id = ?1",
                params![id, session],
            )?;
            if changed == 0 {
                return Err(StoreError::UnknownConversation(id.to_string()));
            }
            Ok(())
        })
    }
}
