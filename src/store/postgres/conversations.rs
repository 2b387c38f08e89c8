//! Conversations on PostgreSQL: create, read, list (keyset pages),
//! status, session, delete and prune.

use super::cached::Cached;
use deadpool_postgres::GenericClient;
use serde_json::Value;
use tokio_postgres::types::ToSql;

use super::PostgresStore;
use super::flight::DB_NOW_MS;
use super::rows::{all, conversation_from_row, load_conversation};
use crate::store::columns::CONVERSATION_COLUMNS;
use crate::store::cursor::{decode_cursor, encode_cursor};
use crate::store::limits::{self, MAX_CURSOR_BYTES, MAX_METADATA_BYTES, MAX_TITLE_BYTES};
use crate::store::model::{Conversation, ConversationFilter, ConversationPage, ConversationStatus};
use crate::store::records::PruneRule;
use crate::store::{Result, StoreError};

impl PostgresStore {
    pub async fn create_conversation(
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
        let client = self.client().await?;
        // Times by the database's clock, like every time of a message.
        let row = client
            .row(
                &format!(
                    "INSERT INTO conversations (id, source, target, title, status, created_at, updated_at, metadata)
                     VALUES ($1, $2, $3, $4, 'active', {DB_NOW_MS}, {DB_NOW_MS}, $5) RETURNING {CONVERSATION_COLUMNS}"
                ),
                &[&id, &source, &target, &title, &metadata],
            )
            .await?;
        conversation_from_row(&row)
    }

    pub async fn conversation(&self, id: &str) -> Result<Conversation> {
        load_conversation(&self.client().await?, id).await
    }

    /// Most recently active first; `next_cursor` continues after the last one.
    pub async fn list_conversations(
        &self,
        filter: &ConversationFilter,
    ) -> Result<ConversationPage> {
        limits::check_page("limit", filter.limit)?;
        let limit = filter.limit;
        limits::check_opt_len("module", filter.module.as_deref(), limits::MAX_NAME_BYTES)?;
        limits::check_opt_len("cursor", filter.cursor.as_deref(), MAX_CURSOR_BYTES)?;
        let after = filter.cursor.as_deref().map(decode_cursor).transpose()?;
        let mut sql = format!("SELECT {CONVERSATION_COLUMNS} FROM conversations WHERE TRUE");
        let mut args: Vec<Box<dyn ToSql + Sync + Send>> = Vec::new();
        let arg = |value: Box<dyn ToSql + Sync + Send>, args: &mut Vec<_>| {
            args.push(value);
            format!("${}", args.len())
        };
        if let Some(module) = &filter.module {
            let p = arg(Box::new(module.clone()), &mut args);
            sql.push_str(&format!(" AND (source = {p} OR target = {p})"));
        }
        if let Some(status) = filter.status {
            let p = arg(Box::new(status.as_str().to_string()), &mut args);
            sql.push_str(&format!(" AND status = {p}"));
        }
        if let Some((updated_at, id)) = after {
            let t = arg(Box::new(updated_at), &mut args);
            let i = arg(Box::new(id), &mut args);
            sql.push_str(&format!(
                " AND (updated_at < {t} OR (updated_at = {t} AND id < {i}))"
            ));
        }
        let l = arg(Box::new((limit + 1) as i64), &mut args);
        sql.push_str(&format!(" ORDER BY updated_at DESC, id DESC LIMIT {l}"));
        let params: Vec<&(dyn ToSql + Sync)> = args
            .iter()
            .map(|a| a.as_ref() as &(dyn ToSql + Sync))
            .collect();
        let rows = self.client().await?.rows(&sql, &params).await?;
        let mut conversations = all(rows, conversation_from_row)?;
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
    }

    pub async fn set_conversation_status(
        &self,
        id: &str,
        status: ConversationStatus,
    ) -> Result<Conversation> {
        let row = self
            .client()
            .await?
            .row_opt(
                &format!(
                    "UPDATE conversations SET status = $2, updated_at = {DB_NOW_MS} WHERE id = $1 RETURNING {CONVERSATION_COLUMNS}"
                ),
                &[&id, &status.as_str()],
            )
            .await?;
        match row {
            Some(row) => conversation_from_row(&row),
            None => Err(StoreError::UnknownConversation(id.to_string())),
        }
    }

    pub async fn set_backend_session(&self, id: &str, session: Option<&str>) -> Result<()> {
        limits::check_opt_len("backend_session", session, limits::MAX_NAME_BYTES)?;
        let changed = self
            .client()
            .await?
            .run(
                "UPDATE conversations SET backend_session = $2 WHERE id = $1",
                &[&id, &session],
            )
            .await?;
        if changed == 0 {
            return Err(StoreError::UnknownConversation(id.to_string()));
        }
        Ok(())
    }

    pub async fn delete_conversation(&self, id: &str) -> Result<Conversation> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let conversation = load_conversation(&tx, id).await?;
        delete_in(&tx, id).await?;
        tx.commit().await?;
        Ok(conversation)
    }

    pub async fn prunable_conversations(&self, rule: &PruneRule) -> Result<Vec<Conversation>> {
        matching(&self.client().await?, rule).await
    }

    pub async fn prune_conversations(&self, rule: &PruneRule) -> Result<Vec<Conversation>> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let mut removed = Vec::new();
        for conversation in matching(&tx, rule).await? {
            if has_pending(&tx, &conversation.id).await?.is_none() {
                delete_rows(&tx, &conversation.id).await?;
                removed.push(conversation);
            }
        }
        tx.commit().await?;
        Ok(removed)
    }
}

/// The first pending query of conversation `id`, if any.
async fn has_pending(client: &impl Cached, id: &str) -> Result<Option<String>> {
    let row = client
        .row_opt(
            "SELECT id FROM messages WHERE conversation_id = $1 AND status = 'pending' LIMIT 1",
            &[&id],
        )
        .await?;
    Ok(row.map(|r| r.try_get(0)).transpose()?)
}

/// Deletes a conversation unless a query of it is still pending.
async fn delete_in(client: &impl Cached, id: &str) -> Result<()> {
    crate::store::rules::refuse_busy(id, has_pending(client, id).await?)?;
    delete_rows(client, id).await
}

async fn delete_rows(client: &impl Cached, id: &str) -> Result<()> {
    client
        .run("DELETE FROM messages WHERE conversation_id = $1", &[&id])
        .await?;
    client
        .run("DELETE FROM conversations WHERE id = $1", &[&id])
        .await?;
    Ok(())
}

async fn matching(client: &impl Cached, rule: &PruneRule) -> Result<Vec<Conversation>> {
    let status = rule.status.map(|s| s.as_str());
    let rows = client
        .rows(
            &format!(
                "SELECT {CONVERSATION_COLUMNS} FROM conversations
                 WHERE updated_at < $1 AND ($2::text IS NULL OR status = $2) ORDER BY updated_at, id"
            ),
            &[&rule.inactive_before_ms, &status],
        )
        .await?;
    all(rows, conversation_from_row)
}
