//! The store's operations on conversations and messages: one async method
//! each, dispatched to the backend (see `handle.rs`).
//!
//! Arguments are borrowed as the backends take them, except what carries
//! message bodies (a new query, an outcome, an import): those are taken by
//! value, so the SQLite arm moves them to its thread without a copy.

use serde_json::Value;

use super::Result;
use super::cursor::MessageCursor;
use super::export::{ExportFormat, ExportedConversation};
use super::handle::{Store, on_backend};
use super::ids::IdKind;
use super::model::{
    BeginQuery, Conversation, ConversationFilter, ConversationPage, ConversationStatus, Message,
    MessageStatus, NewQuery, Outcome, SearchHit,
};
use super::records::{MessageActivity, OutcomeRow, PruneRule, QueryCap, Spend, SpendScope};

impl Store {
    pub async fn create_conversation(
        &self,
        source: &str,
        target: &str,
        title: Option<&str>,
        metadata: Value,
    ) -> Result<Conversation> {
        let (source, target) = (source.to_owned(), target.to_owned());
        let title = title.map(str::to_owned);
        on_backend!(self, |s| s.create_conversation(
            &source,
            &target,
            title.as_deref(),
            metadata
        ))
    }

    pub async fn conversation(&self, id: &str) -> Result<Conversation> {
        let id = id.to_owned();
        on_backend!(self, |s| s.conversation(&id))
    }

    pub async fn list_conversations(
        &self,
        filter: &ConversationFilter,
    ) -> Result<ConversationPage> {
        let filter = filter.clone();
        on_backend!(self, |s| s.list_conversations(&filter))
    }

    pub async fn set_conversation_status(
        &self,
        id: &str,
        status: ConversationStatus,
    ) -> Result<Conversation> {
        let id = id.to_owned();
        on_backend!(self, |s| s.set_conversation_status(&id, status))
    }

    /// Stores the backend (stream) session a conversation continues in
    /// (an injected fault may refuse it first; see `faults.rs`).
    pub async fn set_backend_session(&self, id: &str, session: Option<&str>) -> Result<()> {
        self.faults.check_session(session.is_some())?;
        let (id, session) = (id.to_owned(), session.map(str::to_owned));
        on_backend!(self, |s| s.set_backend_session(&id, session.as_deref()))
    }

    /// Stores a note (neither query nor reply) in a conversation.
    pub async fn add_note(
        &self,
        conversation_id: &str,
        sender: &str,
        content: &str,
    ) -> Result<Message> {
        let (id, sender) = (conversation_id.to_owned(), sender.to_owned());
        let content = content.to_owned();
        on_backend!(self, |s| s.add_note(&id, &sender, &content))
    }

    /// Stores a query `pending` (or finds the earlier one with the same
    /// idempotency key).
    pub async fn begin_query(&self, query: NewQuery) -> Result<BeginQuery> {
        on_backend!(self, |s| s.begin_query(&query))
    }

    /// [`Store::begin_query`], refused with [`StoreError::OverCap`] when a
    /// cap is reached, checked in the transaction that would store it.
    pub async fn begin_query_capped(
        &self,
        query: NewQuery,
        caps: Vec<QueryCap>,
    ) -> Result<BeginQuery> {
        on_backend!(self, |s| s.begin_query_capped(&query, &caps))
    }

    pub async fn set_query_context(
        &self,
        query_id: &str,
        template_version: &str,
        context_note: Option<&str>,
    ) -> Result<()> {
        let (id, version) = (query_id.to_owned(), template_version.to_owned());
        let note = context_note.map(str::to_owned);
        on_backend!(self, |s| s.set_query_context(
            &id,
            &version,
            note.as_deref()
        ))
    }

    /// Stores the reply or failure that closes a query (an injected fault
    /// may refuse it first; see `faults.rs`).
    pub async fn finish_query(&self, query_id: &str, outcome: Outcome) -> Result<Message> {
        self.faults.check_outcome(&outcome)?;
        let id = query_id.to_owned();
        on_backend!(self, |s| s.finish_query(&id, &outcome))
    }

    /// The newest reply an agent gave under `reuse_key` at `commit` with a
    /// clean folder, if any (`send_message` with `reuse: "unchanged"`).
    pub async fn reusable_reply(&self, reuse_key: &str, commit: &str) -> Result<Option<Message>> {
        let (key, commit) = (reuse_key.to_owned(), commit.to_owned());
        on_backend!(self, |s| s.reusable_reply(&key, &commit))
    }

    /// Marks `interrupted` the pending queries of servers that are not
    /// alive (other than `this_server`); returns how many.
    pub async fn recover_interrupted(
        &self,
        this_server: &str,
        stale_after_ms: i64,
    ) -> Result<usize> {
        let server = this_server.to_owned();
        on_backend!(self, |s| s.recover_interrupted(&server, stale_after_ms))
    }

    pub async fn message(&self, id: &str) -> Result<Message> {
        let id = id.to_owned();
        on_backend!(self, |s| s.message(&id))
    }

    pub async fn messages(
        &self,
        conversation_id: &str,
        limit: Option<usize>,
        before_seq: Option<i64>,
    ) -> Result<Vec<Message>> {
        let id = conversation_id.to_owned();
        on_backend!(self, |s| s.messages(&id, limit, before_seq))
    }

    /// The conversation and its messages after `after_seq`, read together.
    pub async fn conversation_since(
        &self,
        conversation_id: &str,
        after_seq: i64,
    ) -> Result<(Conversation, Vec<Message>)> {
        let id = conversation_id.to_owned();
        on_backend!(self, |s| s.conversation_since(&id, after_seq))
    }

    /// Messages stored after `cursor`, each with its cursor.
    pub async fn messages_after(
        &self,
        cursor: MessageCursor,
        module: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(MessageCursor, Message)>> {
        let module = module.map(str::to_owned);
        on_backend!(self, |s| s.messages_after(cursor, module.as_deref(), limit))
    }

    pub async fn latest_message_cursor(&self) -> Result<MessageCursor> {
        on_backend!(self, |s| s.latest_message_cursor())
    }

    pub async fn recent_messages(&self, limit: usize) -> Result<Vec<MessageActivity>> {
        on_backend!(self, |s| s.recent_messages(limit))
    }

    pub async fn search(
        &self,
        query: &str,
        module: Option<&str>,
        limit: usize,
    ) -> Result<Vec<SearchHit>> {
        let (query, module) = (query.to_owned(), module.map(str::to_owned));
        on_backend!(self, |s| s.search(&query, module.as_deref(), limit))
    }

    pub async fn export(&self, id: &str, format: ExportFormat) -> Result<String> {
        let id = id.to_owned();
        on_backend!(self, |s| s.export(&id, format))
    }

    /// Stores an exported conversation as it was, in one transaction.
    pub async fn import(&self, exported: ExportedConversation) -> Result<Conversation> {
        on_backend!(self, |s| s.import(&exported))
    }

    pub async fn delete_conversation(&self, id: &str) -> Result<Conversation> {
        let id = id.to_owned();
        on_backend!(self, |s| s.delete_conversation(&id))
    }

    pub async fn prunable_conversations(&self, rule: &PruneRule) -> Result<Vec<Conversation>> {
        let rule = rule.clone();
        on_backend!(self, |s| s.prunable_conversations(&rule))
    }

    pub async fn prune_conversations(&self, rule: &PruneRule) -> Result<Vec<Conversation>> {
        let rule = rule.clone();
        on_backend!(self, |s| s.prune_conversations(&rule))
    }

    /// The full id that `prefix` stands for.
    pub async fn resolve_id(&self, kind: IdKind, prefix: &str) -> Result<String> {
        let prefix = prefix.to_owned();
        on_backend!(self, |s| s.resolve_id(kind, &prefix))
    }

    /// The reply (or error) that closed a query, if it is closed.
    pub async fn outcome_of(&self, query_id: &str) -> Result<Option<Message>> {
        let id = query_id.to_owned();
        on_backend!(self, |s| s.outcome_of(&id))
    }

    pub async fn recent_queries(
        &self,
        status: Option<MessageStatus>,
        module: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Message>> {
        let module = module.map(str::to_owned);
        on_backend!(self, |s| s.recent_queries(status, module.as_deref(), limit))
    }

    pub async fn outcomes_since(
        &self,
        since_ms: i64,
        module: Option<&str>,
    ) -> Result<Vec<OutcomeRow>> {
        let module = module.map(str::to_owned);
        on_backend!(self, |s| s.outcomes_since(since_ms, module.as_deref()))
    }

    pub async fn spend_since(&self, scope: &SpendScope, since_ms: i64) -> Result<Spend> {
        let scope = scope.clone();
        on_backend!(self, |s| s.spend_since(&scope, since_ms))
    }
}
