//! Reading and managing stored conversations: list, show, search, export,
//! archive, and following new messages as they land (from any process).

use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{HubError, NewConversationRequest};
use crate::store::{
    Conversation, ConversationFilter, ConversationPage, ConversationStatus, ExportFormat, Message,
    SearchHit,
};

/// How often a follower looks for messages written by other processes;
/// writes of this process wake it at once.
pub const FOLLOW_POLL: Duration = Duration::from_millis(500);

/// A conversation and (a window of) its messages.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ConversationTranscript {
    pub conversation: Conversation,
    /// Ascending by `seq`.
    pub messages: Vec<Message>,
    /// True when older messages exist before the first one returned.
    pub more_before: bool,
}

/// The result of a search.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct SearchResults {
    pub query: String,
    pub hits: Vec<SearchHit>,
}

impl<'h> crate::hub::Conversations<'h> {
    /// Starts a conversation between two known modules.
    pub async fn create(self, request: NewConversationRequest) -> Result<Conversation, HubError> {
        let source = self.messaging().resolve_source(request.source.as_deref())?;
        self.modules().descriptor(&request.target)?;
        let backend = request
            .backend
            .unwrap_or(self.config().config.instances.backend);
        let metadata = serde_json::json!({ "backend": backend.as_str() });
        let title = request.title;
        let target = request.target;
        let conversation = self
            .store
            .create_conversation(&source, &target, title.as_deref(), metadata)
            .await?;
        self.messages_changed();
        Ok(conversation)
    }

    pub async fn list(self, filter: ConversationFilter) -> Result<ConversationPage, HubError> {
        Ok(self.store.list_conversations(&filter).await?)
    }

    /// A conversation with its latest `limit` messages before `before`
    /// (a sequence number), or all of them.
    pub async fn get(
        self,
        id: &str,
        limit: Option<usize>,
        before: Option<i64>,
    ) -> Result<ConversationTranscript, HubError> {
        let id = &self.conversations().full_id(id).await?;
        let conversation = self.store.conversation(id).await?;
        let mut messages = self.store.messages(id, limit, before).await?;
        let more_before = messages.first().is_some_and(|m| m.seq > 1);
        self.mark_stale(&conversation.target, &mut messages).await;
        Ok(ConversationTranscript {
            conversation,
            messages,
            more_before,
        })
    }

    pub async fn search(
        self,
        query: &str,
        module: Option<String>,
        limit: usize,
    ) -> Result<SearchResults, HubError> {
        let text = query.to_string();
        let hits = self.store.search(&text, module.as_deref(), limit).await?;
        Ok(SearchResults {
            query: query.to_string(),
            hits,
        })
    }

    pub async fn export(self, id: &str, format: ExportFormat) -> Result<String, HubError> {
        let id = &self.conversations().full_id(id).await?;
        let conversation = self.store.conversation(id).await?;
        let mut messages = self.store.messages(id, None, None).await?;
        self.mark_stale(&conversation.target, &mut messages).await;
        Ok(crate::store::render_export(
            &conversation,
            &messages,
            format,
        )?)
    }

    /// Stores a JSON or JSON Lines export (from this or another database).
    pub async fn import(self, text: String) -> Result<Conversation, HubError> {
        let conversation = self
            .store
            .import(crate::store::parse_export(&text)?)
            .await?;
        self.messages_changed();
        Ok(conversation)
    }

    pub async fn archive(self, id: &str) -> Result<Conversation, HubError> {
        let id = &self.conversations().full_id(id).await?;
        let conversation = self
            .store
            .set_conversation_status(id, ConversationStatus::Archived)
            .await?;
        self.messages_changed();
        Ok(conversation)
    }

    /// The cursor just past the newest stored message.
    pub async fn cursor(self) -> Result<crate::store::MessageCursor, HubError> {
        Ok(self.store.latest_message_cursor().await?)
    }

    /// Messages stored after `cursor` (to or from `module`, if given), by
    /// any process sharing the database. Waits up to `max_wait` for the
    /// first one; returns the messages with the cursor to continue from.
    pub async fn follow(
        self,
        cursor: crate::store::MessageCursor,
        module: Option<String>,
        max_wait: Duration,
    ) -> Result<(crate::store::MessageCursor, Vec<Message>), HubError> {
        let deadline = tokio::time::Instant::now() + max_wait;
        loop {
            // Register interest before reading, so a write in between is not missed.
            let woken = self.local_writes.notified();
            let found = self
                .store
                .messages_after(cursor, module.as_deref(), 500)
                .await?;
            if let Some((last, _)) = found.last() {
                let next = *last;
                return Ok((next, found.into_iter().map(|(_, m)| m).collect()));
            }
            let now = tokio::time::Instant::now();
            if now >= deadline {
                return Ok((cursor, Vec::new()));
            }
            let nap = FOLLOW_POLL.min(deadline - now);
            tokio::select! {
                _ = woken => {}
                _ = tokio::time::sleep(nap) => {}
            }
        }
    }
}

impl<'h> crate::hub::Conversations<'h> {
    /// A conversation's full id from the id or its first 8+ characters.
    pub async fn full_id(self, id: &str) -> Result<String, HubError> {
        if uuid::Uuid::parse_str(id).is_ok() {
            return Ok(id.to_string());
        }
        self.jobs()
            .full_id(crate::store::IdKind::Conversation, id)
            .await
    }
}
