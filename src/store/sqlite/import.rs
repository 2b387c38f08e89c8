//! Exports and imports of one conversation, as SQLite reads and writes
//! them; the formats are backend-independent (`store/export.rs`).

use super::export::{ExportFormat, ExportedConversation};
use super::model::Conversation;
use super::{Result, SqliteStore, StoreError};

impl SqliteStore {
    /// The conversation `id` and its messages, in `format`.
    pub fn export(&self, id: &str, format: ExportFormat) -> Result<String> {
        let conversation = self.conversation(id)?;
        let messages = self.messages(id, None, None)?;
        super::export::render_export(&conversation, &messages, format)
    }

    /// Stores an exported conversation as it was (same ids, sequence
    /// numbers and statuses), in one transaction. A conversation with the
    /// same id must not exist yet.
    pub fn import(&self, exported: &ExportedConversation) -> Result<Conversation> {
        let c = &exported.conversation;
        super::export::check_imported(exported)?;
        self.write(|tx| {
            let exists: bool = tx.query_row(
                "SELECT EXISTS (SELECT 1 FROM conversations WHERE id = ?1)",
                [&c.id],
                |r| r.get(0),
            )?;
            if exists {
                return Err(StoreError::Export(format!(
                    "conversation {} already exists; nothing was imported",
                    c.id
                )));
            }
            tx.execute(
                "INSERT INTO conversations (id, source, target, title, status, created_at, updated_at, backend_session, metadata, message_count)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                rusqlite::params![
                    c.id,
                    c.source,
                    c.target,
                    c.title,
                    c.status.as_str(),
                    c.created_at,
                    c.updated_at,
                    c.backend_session,
                    c.metadata.to_string(),
                    exported.messages.len() as i64
                ],
            )?;
            let mut insert = tx.prepare_cached(
                "INSERT INTO messages (id, conversation_id, seq, sender, role, content, created_at, status, instance_id, duration_ms, usage, cost_usd, template_version, idempotency_key, hop_chain, context_note, error, reply_to, owner, tool_uses, module_commit, module_dirty, reused_from, claimed_by)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24)",
            )?;
            for m in &exported.messages {
                insert.execute(rusqlite::params![
                    m.id,
                    c.id,
                    m.seq,
                    m.sender,
                    m.role.as_str(),
                    m.content,
                    m.created_at,
                    m.status.as_str(),
                    m.instance_id,
                    m.duration_ms,
                    m.usage.as_ref().map(|u| u.to_string()),
                    m.cost_usd,
                    m.template_version,
                    m.idempotency_key,
                    serde_json::to_string(&m.hop_chain).unwrap_or_else(|_| "[]".into()),
                    m.context_note,
                    m.error,
                    m.reply_to,
                    m.owner,
                    serde_json::to_string(&m.tool_uses).unwrap_or_else(|_| "[]".into()),
                    m.module_commit,
                    m.module_dirty,
                    m.reused_from,
                    m.node,
                ])?;
            }
            super::conversations::load_conversation(tx, &c.id)
        })
    }
}
