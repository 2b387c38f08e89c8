//! The PostgreSQL backend's side of the store contract: each operation
//! runs [`PostgresStore`]'s own async method within
//! [`PostgresStore::bounded`] (its time bound, and the statement mode of a
//! direct or a pooled connection).
//!
//! Inside these methods `self.op(...)` is `PostgresStore`'s inherent
//! method of the same name (Rust picks an inherent method before a
//! trait's), which holds the SQL; this file only bounds it.

use serde_json::Value;

use super::PostgresStore;
use super::copy::PgSnapshot;
use crate::store::Result;
use crate::store::ask_back::{AskBack, AskBackCount};
use crate::store::contract::{CopySnapshot, FleetQueue, StoreBackend};
use crate::store::copy::{CopyCounts, CopyRow, CopyTable, CopyValue};
use crate::store::cursor::MessageCursor;
use crate::store::export::{ExportFormat, ExportedConversation};
use crate::store::ids::IdKind;
use crate::store::model::AskBackState;
use crate::store::model::{
    BeginQuery, Conversation, ConversationFilter, ConversationPage, ConversationStatus,
    InstanceRecord, Message, MessageStatus, NewQuery, Outcome, SearchHit, ServerRecord, ServerRow,
};
use crate::store::records::{
    ControlRequest, MessageActivity, NewToken, OutcomeRow, PruneRule, QueryCap, Spend, SpendScope,
    StoreCounts, TokenRecord, WindowSpend,
};
use crate::store::{PoolStatus, ServerConnections};

#[async_trait::async_trait]
impl StoreBackend for PostgresStore {
    fn backend_name(&self) -> &'static str {
        "postgresql"
    }

    fn fleet(&self) -> Option<&dyn FleetQueue> {
        Some(self)
    }

    fn notices(&self) -> Option<tokio::sync::broadcast::Receiver<crate::store::Notice>> {
        Some(PostgresStore::notices(self))
    }

    async fn create_conversation(
        &self,
        source: &str,
        target: &str,
        title: Option<&str>,
        metadata: Value,
    ) -> Result<Conversation> {
        self.bounded(self.create_conversation(source, target, title, metadata))
            .await
    }

    async fn conversation(&self, id: &str) -> Result<Conversation> {
        self.bounded(self.conversation(id)).await
    }

    async fn list_conversations(&self, filter: &ConversationFilter) -> Result<ConversationPage> {
        self.bounded(self.list_conversations(filter)).await
    }

    async fn set_conversation_status(
        &self,
        id: &str,
        status: ConversationStatus,
    ) -> Result<Conversation> {
        self.bounded(self.set_conversation_status(id, status)).await
    }

    async fn set_backend_session(&self, id: &str, session: Option<&str>) -> Result<()> {
        self.bounded(self.set_backend_session(id, session)).await
    }

    async fn delete_conversation(&self, id: &str) -> Result<Conversation> {
        self.bounded(self.delete_conversation(id)).await
    }

    async fn prunable_conversations(&self, rule: &PruneRule) -> Result<Vec<Conversation>> {
        self.bounded(self.prunable_conversations(rule)).await
    }

    async fn prune_conversations(&self, rule: &PruneRule) -> Result<Vec<Conversation>> {
        self.bounded(self.prune_conversations(rule)).await
    }

    async fn resolve_id(&self, kind: IdKind, prefix: &str) -> Result<String> {
        self.bounded(self.resolve_id(kind, prefix)).await
    }

    async fn export(&self, id: &str, format: ExportFormat) -> Result<String> {
        self.bounded(self.export(id, format)).await
    }

    async fn import(&self, exported: ExportedConversation) -> Result<Conversation> {
        self.bounded(self.import(&exported)).await
    }

    async fn add_note(
        &self,
        conversation_id: &str,
        sender: &str,
        content: &str,
    ) -> Result<Message> {
        self.bounded(self.add_note(conversation_id, sender, content))
            .await
    }

    async fn begin_query(&self, query: NewQuery) -> Result<BeginQuery> {
        self.bounded(self.begin_query(&query)).await
    }

    async fn begin_query_capped(&self, query: NewQuery, caps: Vec<QueryCap>) -> Result<BeginQuery> {
        self.bounded(self.begin_query_capped(&query, &caps)).await
    }

    async fn set_query_context(
        &self,
        query_id: &str,
        template_version: &str,
        context_note: Option<&str>,
    ) -> Result<()> {
        self.bounded(self.set_query_context(query_id, template_version, context_note))
            .await
    }

    async fn finish_query(&self, query_id: &str, outcome: Outcome) -> Result<Message> {
        self.bounded(self.finish_query(query_id, &outcome)).await
    }

    async fn reusable_reply(&self, reuse_key: &str, commit: &str) -> Result<Option<Message>> {
        self.bounded(self.reusable_reply(reuse_key, commit)).await
    }

    async fn recover_interrupted(&self, this_server: &str, stale_after_ms: i64) -> Result<usize> {
        self.bounded(self.recover_interrupted(this_server, stale_after_ms))
            .await
    }

    async fn message(&self, id: &str) -> Result<Message> {
        self.bounded(self.message(id)).await
    }

    async fn messages(
        &self,
        conversation_id: &str,
        limit: Option<usize>,
        before_seq: Option<i64>,
    ) -> Result<Vec<Message>> {
        self.bounded(self.messages(conversation_id, limit, before_seq))
            .await
    }

    async fn conversation_since(
        &self,
        conversation_id: &str,
        after_seq: i64,
    ) -> Result<(Conversation, Vec<Message>)> {
        self.bounded(self.conversation_since(conversation_id, after_seq))
            .await
    }

    async fn messages_after(
        &self,
        cursor: MessageCursor,
        module: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(MessageCursor, Message)>> {
        self.bounded(self.messages_after(cursor, module, limit))
            .await
    }

    async fn latest_message_cursor(&self) -> Result<MessageCursor> {
        self.bounded(self.latest_message_cursor()).await
    }

    async fn recent_messages(&self, limit: usize) -> Result<Vec<MessageActivity>> {
        self.bounded(self.recent_messages(limit)).await
    }

    async fn search(
        &self,
        query: &str,
        module: Option<&str>,
        limit: usize,
    ) -> Result<Vec<SearchHit>> {
        self.bounded(self.search(query, module, limit)).await
    }

    async fn outcome_of(&self, query_id: &str) -> Result<Option<Message>> {
        self.bounded(self.outcome_of(query_id)).await
    }

    async fn outcomes_of(&self, query_ids: &[String]) -> Result<Vec<Message>> {
        self.bounded(self.outcomes_of(query_ids)).await
    }

    async fn recent_queries(
        &self,
        status: Option<MessageStatus>,
        module: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Message>> {
        self.bounded(self.recent_queries(status, module, limit))
            .await
    }

    async fn outcomes_since(&self, since_ms: i64, module: Option<&str>) -> Result<Vec<OutcomeRow>> {
        self.bounded(self.outcomes_since(since_ms, module)).await
    }

    async fn spend_in_window(&self, scope: &SpendScope, window_ms: i64) -> Result<WindowSpend> {
        self.bounded(self.spend_in_window(scope, window_ms)).await
    }

    async fn spend_since(&self, scope: &SpendScope, since_ms: i64) -> Result<Spend> {
        self.bounded(self.spend_since(scope, since_ms)).await
    }

    async fn register_server(&self, server: &ServerRecord) -> Result<()> {
        self.bounded(self.register_server(server)).await
    }

    async fn heartbeat(&self, server_id: &str, instances: Vec<InstanceRecord>) -> Result<()> {
        self.bounded(self.heartbeat(server_id, &instances)).await
    }

    async fn unregister_server(&self, server_id: &str) -> Result<()> {
        self.bounded(self.unregister_server(server_id)).await
    }

    async fn list_instances(
        &self,
        stale_after_ms: i64,
    ) -> Result<Vec<(ServerRow, InstanceRecord)>> {
        self.bounded(self.list_instances(stale_after_ms)).await
    }

    async fn request_control(
        &self,
        server_id: &str,
        instance_id: &str,
        action: &str,
    ) -> Result<i64> {
        self.bounded(self.request_control(server_id, instance_id, action))
            .await
    }

    async fn take_control_requests(&self, server_id: &str) -> Result<Vec<ControlRequest>> {
        self.bounded(self.take_control_requests(server_id)).await
    }

    async fn finish_control(&self, id: i64, ok: bool, result: &str) -> Result<()> {
        self.bounded(self.finish_control(id, ok, result)).await
    }

    async fn control_result(&self, id: i64) -> Result<Option<(bool, String)>> {
        self.bounded(self.control_result(id)).await
    }

    async fn insert_token(&self, token: &NewToken) -> Result<TokenRecord> {
        self.bounded(self.insert_token(token)).await
    }

    async fn token(&self, id: &str) -> Result<Option<TokenRecord>> {
        self.bounded(self.token(id)).await
    }

    async fn tokens(&self) -> Result<Vec<TokenRecord>> {
        self.bounded(self.tokens()).await
    }

    async fn revoke_token(&self, id: &str) -> Result<bool> {
        self.bounded(self.revoke_token(id)).await
    }

    async fn touch_token(&self, id: &str, now: i64) -> Result<()> {
        self.bounded(self.touch_token(id, now)).await
    }

    async fn counts(&self) -> Result<StoreCounts> {
        self.bounded(self.counts()).await
    }

    async fn clock_ms(&self) -> Result<i64> {
        self.bounded(self.clock_ms()).await
    }

    async fn location(&self) -> Result<String> {
        Ok(self.shown_location())
    }

    async fn server_connections(&self) -> Result<Option<ServerConnections>> {
        self.bounded(self.server_connections()).await.map(Some)
    }

    fn pool_status(&self) -> Option<PoolStatus> {
        Some(self.pool_status())
    }

    async fn identity(&self) -> Result<String> {
        self.bounded(self.identity()).await
    }

    async fn copy_counts(&self) -> Result<CopyCounts> {
        self.bounded(self.copy_counts()).await
    }

    async fn copy_columns(&self, table: &'static CopyTable) -> Result<Vec<String>> {
        self.bounded(self.copy_columns(table)).await
    }

    async fn copy_clear(&self) -> Result<()> {
        self.bounded(self.copy_clear()).await
    }

    async fn copy_insert(&self, table: &'static CopyTable, rows: Vec<CopyRow>) -> Result<()> {
        self.bounded(self.copy_insert(table, &rows)).await
    }

    /// PostgreSQL's identity sequence moves past the copied keys.
    async fn copy_finish_table(&self, table: &'static CopyTable) -> Result<()> {
        self.bounded(self.copy_finish_table(table)).await
    }

    async fn copy_snapshot(&self) -> Result<Box<dyn CopySnapshot + '_>> {
        let snapshot = self.bounded(self.copy_snapshot()).await?;
        Ok(Box::new(PgCopySnapshot {
            store: self,
            snapshot,
        }))
    }

    async fn ask_back(&self, query_id: &str, question: &str) -> Result<AskBack> {
        self.bounded(self.ask_back(query_id, question)).await
    }

    async fn answer_ask_back(&self, query_id: &str, answer: &str) -> Result<AskBack> {
        self.bounded(self.answer_ask_back(query_id, answer)).await
    }

    async fn close_ask_back(&self, ask_id: &str, state: AskBackState) -> Result<AskBack> {
        self.bounded(self.close_ask_back(ask_id, state)).await
    }

    async fn ask_back_of(&self, ask_id: &str) -> Result<AskBack> {
        self.bounded(self.ask_back_of(ask_id)).await
    }

    async fn waiting_ask_back(&self, query_id: &str) -> Result<Option<AskBack>> {
        self.bounded(self.waiting_ask_back(query_id)).await
    }

    async fn link_child_query(&self, child: &str, parent: &str) -> Result<()> {
        self.bounded(self.link_child_query(child, parent)).await
    }

    async fn ask_backs_since(
        &self,
        since_ms: i64,
        module: Option<&str>,
    ) -> Result<Vec<AskBackCount>> {
        self.bounded(self.ask_backs_since(since_ms, module)).await
    }

    async fn child_queries(&self, parent: &str) -> Result<Vec<String>> {
        self.bounded(self.child_queries(parent)).await
    }
}

/// A PostgreSQL snapshot, read within its store's bound.
struct PgCopySnapshot<'a> {
    store: &'a PostgresStore,
    snapshot: PgSnapshot,
}

#[async_trait::async_trait]
impl CopySnapshot for PgCopySnapshot<'_> {
    async fn counts(&self) -> Result<CopyCounts> {
        self.store.bounded(self.snapshot.counts()).await
    }

    async fn read_batch(
        &self,
        table: &'static CopyTable,
        after: Option<CopyValue>,
    ) -> Result<Vec<CopyRow>> {
        self.store
            .bounded(self.snapshot.read_batch(table, after))
            .await
    }

    async fn finish(self: Box<Self>) -> Result<()> {
        let PgCopySnapshot { store, snapshot } = *self;
        store.bounded(snapshot.finish()).await
    }
}
