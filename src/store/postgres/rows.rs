//! Reading PostgreSQL rows into the store's types. Columns are read with
//! `try_get`: a row that does not fit is an error, never a panic.

use super::cached::Cached;
use super::text;
use tokio_postgres::Row;

use crate::store::columns::{CONVERSATION_COLUMNS, MESSAGE_COLUMNS};
use crate::store::decode::{conversation_column, message_column};
use crate::store::model::{Conversation, Message};
use crate::store::records::TokenRecord;
use crate::store::{Result, StoreError};

/// A stored value that does not decode is an error naming the
/// conversation and the column (see `store/decode.rs`).
pub(super) fn conversation_from_row(row: &Row) -> Result<Conversation> {
    let id: String = row.try_get(0)?;
    let status: String = row.try_get(4)?;
    let metadata: String = row.try_get(8)?;
    let column = |name| conversation_column(&id, name);
    Ok(Conversation {
        status: column("status").parsed(&status)?,
        metadata: column("metadata").json(&metadata)?,
        source: row.try_get(1)?,
        target: row.try_get(2)?,
        title: text::restore_opt(row.try_get(3)?),
        created_at: row.try_get(5)?,
        updated_at: row.try_get(6)?,
        backend_session: row.try_get(7)?,
        message_count: row.try_get(9)?,
        id,
    })
}

pub(super) fn message_from_row(row: &Row) -> Result<Message> {
    message_at(row, 0)
}

/// Reads a message whose [`MESSAGE_COLUMNS`] start at column `o`.
/// A stored value that does not decode is an error naming the message and
/// the column (see `store/decode.rs`).
pub(super) fn message_at(row: &Row, o: usize) -> Result<Message> {
    let id: String = row.try_get(o)?;
    let role: String = row.try_get(o + 4)?;
    let status: String = row.try_get(o + 7)?;
    let usage: Option<String> = row.try_get(o + 10)?;
    let hop_chain: String = row.try_get(o + 14)?;
    let tool_uses: String = row.try_get(o + 19)?;
    let column = |name| message_column(&id, name);
    Ok(Message {
        role: column("role").parsed(&role)?,
        status: column("status").parsed(&status)?,
        usage: column("usage").json_opt(usage.as_deref())?,
        hop_chain: column("hop_chain").json(&hop_chain)?,
        tool_uses: column("tool_uses").json(&tool_uses)?,
        conversation_id: row.try_get(o + 1)?,
        seq: row.try_get(o + 2)?,
        sender: row.try_get(o + 3)?,
        content: text::restore(row.try_get(o + 5)?),
        created_at: row.try_get(o + 6)?,
        instance_id: row.try_get(o + 8)?,
        duration_ms: row.try_get(o + 9)?,
        cost_usd: row.try_get(o + 11)?,
        template_version: row.try_get(o + 12)?,
        idempotency_key: row.try_get(o + 13)?,
        context_note: text::restore_opt(row.try_get(o + 15)?),
        error: text::restore_opt(row.try_get(o + 16)?),
        reply_to: row.try_get(o + 17)?,
        owner: row.try_get(o + 18)?,
        module_commit: row.try_get(o + 20)?,
        module_dirty: row.try_get(o + 21)?,
        reused_from: row.try_get(o + 22)?,
        node: row.try_get(o + 23)?,
        stale: None,
        id,
    })
}

pub(super) fn token_from_row(row: &Row) -> Result<TokenRecord> {
    Ok(TokenRecord {
        id: row.try_get(0)?,
        secret_hash: row.try_get(1)?,
        module: row.try_get(2)?,
        admin: row.try_get(3)?,
        label: row.try_get(4)?,
        created_at: row.try_get(5)?,
        expires_at: row.try_get(6)?,
        revoked_at: row.try_get(7)?,
        last_used_at: row.try_get(8)?,
        expired: row.try_get(9)?,
    })
}

/// Every row through `read`, stopping at the first that does not fit.
pub(super) fn all<T>(rows: Vec<Row>, read: impl Fn(&Row) -> Result<T>) -> Result<Vec<T>> {
    rows.iter().map(read).collect()
}

pub(super) async fn load_conversation(client: &impl Cached, id: &str) -> Result<Conversation> {
    let sql = format!("SELECT {CONVERSATION_COLUMNS} FROM conversations WHERE id = $1");
    match client.row_opt(&sql, &[&id]).await? {
        Some(row) => conversation_from_row(&row),
        None => Err(StoreError::UnknownConversation(id.to_string())),
    }
}

pub(super) async fn load_message(client: &impl Cached, id: &str) -> Result<Message> {
    let sql = format!("SELECT {MESSAGE_COLUMNS} FROM messages WHERE id = $1");
    match client.row_opt(&sql, &[&id]).await? {
        Some(row) => message_from_row(&row),
        None => Err(StoreError::UnknownMessage(id.to_string())),
    }
}
