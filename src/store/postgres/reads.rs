//! Reading messages on PostgreSQL: one, a window of a conversation, what
//! came after a cursor (for followers), recent activity, and export and
//! import of whole conversations.

use super::PostgresStore;
use super::cached::Cached;
use super::rows::{
    all, conversation_from_row, load_conversation, load_message, message_at, message_from_row,
};
use crate::store::columns::{CONVERSATION_COLUMNS, MESSAGE_COLUMNS, message_columns_of_m};
use crate::store::export::{ExportFormat, ExportedConversation};
use crate::store::limits;
use crate::store::model::{Conversation, Message};
use crate::store::records::MessageActivity;
use crate::store::{MessageCursor, Result, StoreError};

/// The id of the oldest transaction still running anywhere in the
/// cluster (or the next id when none runs): every row of a transaction
/// below it has been committed or rolled back for good.
const SETTLED_BELOW: &str = "pg_snapshot_xmin(pg_current_snapshot())::text::bigint";
use tokio_postgres::types::ToSql;

/// Messages per INSERT of an import (24 parameters each, well within
/// PostgreSQL's 65,535).
const IMPORT_CHUNK: usize = 500;

impl PostgresStore {
    pub async fn message(&self, id: &str) -> Result<Message> {
        load_message(&self.client().await?, id).await
    }

    /// The latest `limit` messages before sequence number `before_seq`
    /// (all when `None`), in ascending order.
    pub async fn messages(
        &self,
        conversation_id: &str,
        limit: Option<usize>,
        before_seq: Option<i64>,
    ) -> Result<Vec<Message>> {
        if let Some(limit) = limit {
            limits::check_page("limit", limit)?;
        }
        let client = self.client().await?;
        load_conversation(&client, conversation_id).await?;
        let limit = limit.map(|l| l as i64);
        let rows = client
            .rows(
                &format!(
                    "SELECT {MESSAGE_COLUMNS} FROM messages
                     WHERE conversation_id = $1 AND seq < $2 ORDER BY seq DESC LIMIT $3"
                ),
                &[&conversation_id, &before_seq.unwrap_or(i64::MAX), &limit],
            )
            .await?;
        let mut messages = all(rows, message_from_row)?;
        messages.reverse();
        Ok(messages)
    }

    /// A conversation and its messages numbered after `after_seq`, oldest
    /// first: one statement (one snapshot, one round trip).
    pub async fn conversation_since(
        &self,
        conversation_id: &str,
        after_seq: i64,
    ) -> Result<(Conversation, Vec<Message>)> {
        let conversation_columns = CONVERSATION_COLUMNS
            .split(", ")
            .map(|c| format!("c.{c}"))
            .collect::<Vec<_>>()
            .join(", ");
        let message_columns = message_columns_of_m();
        let rows = self
            .client()
            .await?
            .rows(
                &format!(
                    "SELECT {conversation_columns}, m.id IS NOT NULL, {message_columns}
                     FROM conversations c LEFT JOIN messages m ON m.conversation_id = c.id AND m.seq > $2
                     WHERE c.id = $1 ORDER BY m.seq"
                ),
                &[&conversation_id, &after_seq],
            )
            .await?;
        let Some(first) = rows.first() else {
            return Err(StoreError::UnknownConversation(conversation_id.to_string()));
        };
        let conversation = conversation_from_row(first)?;
        let width = CONVERSATION_COLUMNS.split(", ").count();
        let mut messages = Vec::with_capacity(rows.len());
        for row in &rows {
            if row.try_get::<_, bool>(width)? {
                messages.push(message_at(row, width + 1)?);
            }
        }
        Ok((conversation, messages))
    }

    /// Messages stored after `cursor` (by any process), in commit order
    /// (see [`MessageCursor`]), each with the cursor that follows it;
    /// optionally only conversations where `module` is the source or the
    /// target.
    ///
    /// Only rows written by transactions older than every transaction still
    /// running are read (`txid` below the snapshot's `xmin`): such a
    /// transaction has ended, so no row can later appear below a cursor
    /// handed out here (no miss), and the cursor only grows (no repeat).
    /// A long transaction anywhere in the cluster holds followers back
    /// until it ends; it never makes them skip.
    pub async fn messages_after(
        &self,
        cursor: MessageCursor,
        module: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(MessageCursor, Message)>> {
        limits::check_page("limit", limit)?;
        limits::check_opt_len("module", module, limits::MAX_NAME_BYTES)?;
        let columns = message_columns_of_m();
        let rows = self
            .client()
            .await?
            .rows(
                &format!(
                    "SELECT m.txid, m.pos, {columns} FROM messages m JOIN conversations c ON c.id = m.conversation_id
                     WHERE (m.txid, m.pos) > ($1, $2) AND m.txid < {SETTLED_BELOW}
                       AND ($3::text IS NULL OR c.source = $3 OR c.target = $3)
                     ORDER BY m.txid, m.pos LIMIT $4"
                ),
                &[&cursor.commit, &cursor.pos, &module, &(limit as i64)],
            )
            .await?;
        all(rows, |row| {
            let at = MessageCursor::new(row.try_get(0)?, row.try_get(1)?);
            Ok((at, message_at(row, 2)?))
        })
    }

    /// The cursor of the newest settled message (see
    /// [`PostgresStore::messages_after`]); the start when there is none.
    pub async fn latest_message_cursor(&self) -> Result<MessageCursor> {
        let row = self
            .client()
            .await?
            .row_opt(
                &format!(
                    "SELECT txid, pos FROM messages WHERE txid < {SETTLED_BELOW}
                     ORDER BY txid DESC, pos DESC LIMIT 1"
                ),
                &[],
            )
            .await?;
        match row {
            Some(row) => Ok(MessageCursor::new(row.try_get(0)?, row.try_get(1)?)),
            None => Ok(MessageCursor::START),
        }
    }

    pub async fn recent_messages(&self, limit: usize) -> Result<Vec<MessageActivity>> {
        limits::check_page("limit", limit)?;
        let columns = message_columns_of_m();
        let rows = self
            .client()
            .await?
            .rows(
                &format!(
                    "SELECT c.source, c.target, {columns} FROM messages m JOIN conversations c ON c.id = m.conversation_id
                     ORDER BY m.pos DESC LIMIT $1"
                ),
                &[&(limit as i64)],
            )
            .await?;
        all(rows, |row| {
            Ok(MessageActivity {
                source: row.try_get(0)?,
                target: row.try_get(1)?,
                message: message_at(row, 2)?,
            })
        })
    }

    pub async fn export(&self, id: &str, format: ExportFormat) -> Result<String> {
        let conversation = self.conversation(id).await?;
        let messages = self.messages(id, None, None).await?;
        crate::store::export::render_export(&conversation, &messages, format)
    }

    pub async fn import(&self, exported: &ExportedConversation) -> Result<Conversation> {
        let c = &exported.conversation;
        crate::store::export::check_imported(exported)?;
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        // The imported conversation's lock, as every writer of it takes.
        tx.run(
            super::flight::LOCK_KEYS,
            &[
                &vec![super::flight::CONVERSATION_LOCK],
                &vec![c.id.as_str()],
            ],
        )
        .await?;
        let exists = tx
            .row_opt("SELECT 1 FROM conversations WHERE id = $1", &[&c.id])
            .await?
            .is_some();
        if exists {
            return Err(StoreError::Export(format!(
                "conversation {} already exists; nothing was imported",
                c.id
            )));
        }
        tx.run(
            "INSERT INTO conversations (id, source, target, title, status, created_at, updated_at, backend_session, metadata, message_count)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            &[
                &c.id,
                &c.source,
                &c.target,
                &c.title,
                &c.status.as_str(),
                &c.created_at,
                &c.updated_at,
                &c.backend_session,
                &c.metadata.to_string(),
                &(exported.messages.len() as i64),
            ],
        )
        .await?;
        // Many rows per statement: one round trip per chunk, not per
        // message (a long conversation imports in seconds).
        let texts: Vec<[String; 3]> = exported
            .messages
            .iter()
            .map(|m| {
                [
                    m.usage.as_ref().map(|u| u.to_string()).unwrap_or_default(),
                    serde_json::to_string(&m.hop_chain).unwrap_or_else(|_| "[]".into()),
                    serde_json::to_string(&m.tool_uses).unwrap_or_else(|_| "[]".into()),
                ]
            })
            .collect();
        let usage: Vec<Option<&str>> = exported
            .messages
            .iter()
            .zip(&texts)
            .map(|(m, t)| m.usage.as_ref().map(|_| t[0].as_str()))
            .collect();
        let kinds: Vec<(&str, &str)> = exported
            .messages
            .iter()
            .map(|m| (m.role.as_str(), m.status.as_str()))
            .collect();
        for (chunk, first) in exported
            .messages
            .chunks(IMPORT_CHUNK)
            .zip((0..).step_by(IMPORT_CHUNK))
        {
            let mut params: Vec<&(dyn ToSql + Sync)> = Vec::with_capacity(chunk.len() * 24);
            for (i, m) in chunk.iter().enumerate() {
                let at = first + i;
                params.extend([
                    &m.id as &(dyn ToSql + Sync),
                    &c.id,
                    &m.seq,
                    &m.sender,
                    &kinds[at].0,
                    &m.content,
                    &m.created_at,
                    &kinds[at].1,
                    &m.instance_id,
                    &m.duration_ms,
                    &usage[at],
                    &m.cost_usd,
                    &m.template_version,
                    &m.idempotency_key,
                    &texts[at][1],
                    &m.context_note,
                    &m.error,
                    &m.reply_to,
                    &m.owner,
                    &texts[at][2],
                    &m.module_commit,
                    &m.module_dirty,
                    &m.reused_from,
                    &m.node,
                ]);
            }
            let values = (0..chunk.len())
                .map(|r| {
                    let row: Vec<String> = (1..=24).map(|c| format!("${}", r * 24 + c)).collect();
                    format!("({})", row.join(", "))
                })
                .collect::<Vec<_>>()
                .join(", ");
            tx.run(
                format!("INSERT INTO messages ({MESSAGE_COLUMNS}) VALUES {values}").as_str(),
                &params,
            )
            .await?;
        }
        let conversation = load_conversation(&tx, &c.id).await?;
        tx.commit().await?;
        Ok(conversation)
    }
}
