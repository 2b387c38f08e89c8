//! The SQLite backend's side of the store contract: each operation runs
//! [`SqliteStore`]'s synchronous method on tokio's blocking pool. SQLite
//! calls may wait for another process's write lock (busy timeout), and
//! must not stall the async workers that carry the protocol.
//!
//! Arguments are copied into owned values first: the blocking task
//! outlives the borrow of the caller's future. (Inside `run`'s closure,
//! `s.op(...)` is [`SqliteStore`]'s own synchronous method, not the
//! trait's.)

use std::sync::Arc;

use serde_json::Value;

use super::SqliteStore;
use super::copy_snapshot::SqliteCopySnapshot;
use super::doorbell::Doorbell;
use crate::store::Notice;
use crate::store::ask_back::{AskBack, AskBackCount};
use crate::store::contract::{CopySnapshot, StoreBackend};
use crate::store::copy::{CopyCounts, CopyRow, CopyTable};
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
use crate::store::{Result, StoreError};

/// A SQLite store as a [`StoreBackend`]. The store is shared with the
/// blocking tasks that run its operations.
pub(crate) struct SqliteBackend {
    store: Arc<SqliteStore>,
    /// Notices to and from the other processes of the data directory.
    doorbell: Option<Doorbell>,
}

impl SqliteBackend {
    /// The store of the database at `path`.
    pub(crate) fn new(store: SqliteStore, path: &std::path::Path) -> SqliteBackend {
        SqliteBackend {
            store: Arc::new(store),
            doorbell: Doorbell::beside(path),
        }
    }

    fn ring(&self, notice: Notice) {
        if let Some(doorbell) = &self.doorbell {
            doorbell.ring(&notice);
        }
    }

    /// A question back changed: every process waiting on its query hears
    /// it (as PostgreSQL's `claude_comms_ask_backs`).
    fn asked_back(&self, changed: Result<AskBack>) -> Result<AskBack> {
        if let Ok(ask) = &changed {
            self.ring(Notice::AskBack {
                query_id: ask.query_id.clone(),
            });
        }
        changed
    }

    /// Runs `op` on the blocking pool.
    async fn run<T, F>(&self, op: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&SqliteStore) -> Result<T> + Send + 'static,
    {
        let store = self.store.clone();
        on_blocking_pool(move || op(&store)).await
    }
}

/// Runs `op` on tokio's blocking pool; a task that ends without an answer
/// (it panicked, or the runtime is shutting down) is [`StoreError::Task`].
pub(super) async fn on_blocking_pool<T: Send + 'static>(
    op: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(op)
        .await
        .map_err(|e| StoreError::Task(e.to_string()))?
}

#[async_trait::async_trait]
impl StoreBackend for SqliteBackend {
    fn backend_name(&self) -> &'static str {
        "sqlite"
    }

    async fn create_conversation(
        &self,
        source: &str,
        target: &str,
        title: Option<&str>,
        metadata: Value,
    ) -> Result<Conversation> {
        let (source, target) = (source.to_owned(), target.to_owned());
        let title = title.map(str::to_owned);
        self.run(move |s| s.create_conversation(&source, &target, title.as_deref(), metadata))
            .await
    }

    async fn conversation(&self, id: &str) -> Result<Conversation> {
        let id = id.to_owned();
        self.run(move |s| s.conversation(&id)).await
    }

    async fn list_conversations(&self, filter: &ConversationFilter) -> Result<ConversationPage> {
        let filter = filter.clone();
        self.run(move |s| s.list_conversations(&filter)).await
    }

    async fn set_conversation_status(
        &self,
        id: &str,
        status: ConversationStatus,
    ) -> Result<Conversation> {
        let id = id.to_owned();
        self.run(move |s| s.set_conversation_status(&id, status))
            .await
    }

    async fn set_backend_session(&self, id: &str, session: Option<&str>) -> Result<()> {
        let (id, session) = (id.to_owned(), session.map(str::to_owned));
        self.run(move |s| s.set_backend_session(&id, session.as_deref()))
            .await
    }

    async fn delete_conversation(&self, id: &str) -> Result<Conversation> {
        let id = id.to_owned();
        self.run(move |s| s.delete_conversation(&id)).await
    }

    async fn prunable_conversations(&self, rule: &PruneRule) -> Result<Vec<Conversation>> {
        let rule = rule.clone();
        self.run(move |s| s.prunable_conversations(&rule)).await
    }

    async fn prune_conversations(&self, rule: &PruneRule) -> Result<Vec<Conversation>> {
        let rule = rule.clone();
        self.run(move |s| s.prune_conversations(&rule)).await
    }

    async fn resolve_id(&self, kind: IdKind, prefix: &str) -> Result<String> {
        let prefix = prefix.to_owned();
        self.run(move |s| s.resolve_id(kind, &prefix)).await
    }

    async fn export(&self, id: &str, format: ExportFormat) -> Result<String> {
        let id = id.to_owned();
        self.run(move |s| s.export(&id, format)).await
    }

    async fn import(&self, exported: ExportedConversation) -> Result<Conversation> {
        self.run(move |s| s.import(&exported)).await
    }

    async fn add_note(
        &self,
        conversation_id: &str,
        sender: &str,
        content: &str,
    ) -> Result<Message> {
        let (id, sender) = (conversation_id.to_owned(), sender.to_owned());
        let content = content.to_owned();
        self.run(move |s| s.add_note(&id, &sender, &content)).await
    }

    async fn begin_query(&self, query: NewQuery) -> Result<BeginQuery> {
        self.store.begin_query_capped_async(&query, &[]).await
    }

    async fn begin_query_capped(&self, query: NewQuery, caps: Vec<QueryCap>) -> Result<BeginQuery> {
        self.store.begin_query_capped_async(&query, &caps).await
    }

    async fn set_query_context(
        &self,
        query_id: &str,
        template_version: &str,
        context_note: Option<&str>,
    ) -> Result<()> {
        let (id, version) = (query_id.to_owned(), template_version.to_owned());
        let note = context_note.map(str::to_owned);
        self.run(move |s| s.set_query_context(&id, &version, note.as_deref()))
            .await
    }

    async fn finish_query(&self, query_id: &str, outcome: Outcome) -> Result<Message> {
        let id = query_id.to_owned();
        let outcome = self.store.finish_query_async(&id, &outcome).await?;
        self.ring(Notice::Outcome {
            query_id: query_id.to_owned(),
        });
        Ok(outcome)
    }

    async fn reusable_reply(&self, reuse_key: &str, commit: &str) -> Result<Option<Message>> {
        let (key, commit) = (reuse_key.to_owned(), commit.to_owned());
        self.run(move |s| s.reusable_reply(&key, &commit)).await
    }

    async fn recover_interrupted(&self, this_server: &str, stale_after_ms: i64) -> Result<usize> {
        let server = this_server.to_owned();
        self.run(move |s| s.recover_interrupted(&server, stale_after_ms))
            .await
    }

    async fn message(&self, id: &str) -> Result<Message> {
        let id = id.to_owned();
        self.run(move |s| s.message(&id)).await
    }

    async fn messages(
        &self,
        conversation_id: &str,
        limit: Option<usize>,
        before_seq: Option<i64>,
    ) -> Result<Vec<Message>> {
        let id = conversation_id.to_owned();
        self.run(move |s| s.messages(&id, limit, before_seq)).await
    }

    async fn conversation_since(
        &self,
        conversation_id: &str,
        after_seq: i64,
    ) -> Result<(Conversation, Vec<Message>)> {
        // After a known `seq` (the hub keeps the history) this reads the
        // conversation's row and the few messages since: a read of a few
        // pages, cheaper on this thread than the two thread hand-offs of the
        // blocking pool, when a reader connection is free.
        if after_seq > 0
            && let Some(read) = self.store.read_if_free(|conn| {
                super::message_reads::conversation_since(conn, conversation_id, after_seq)
            })
        {
            return read;
        }
        let id = conversation_id.to_owned();
        self.run(move |s| s.conversation_since(&id, after_seq))
            .await
    }

    async fn messages_after(
        &self,
        cursor: MessageCursor,
        module: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(MessageCursor, Message)>> {
        let module = module.map(str::to_owned);
        self.run(move |s| s.messages_after(cursor, module.as_deref(), limit))
            .await
    }

    async fn latest_message_cursor(&self) -> Result<MessageCursor> {
        self.run(|s| s.latest_message_cursor()).await
    }

    async fn recent_messages(&self, limit: usize) -> Result<Vec<MessageActivity>> {
        self.run(move |s| s.recent_messages(limit)).await
    }

    async fn search(
        &self,
        query: &str,
        module: Option<&str>,
        limit: usize,
    ) -> Result<Vec<SearchHit>> {
        let (query, module) = (query.to_owned(), module.map(str::to_owned));
        self.run(move |s| s.search(&query, module.as_deref(), limit))
            .await
    }

    async fn outcome_of(&self, query_id: &str) -> Result<Option<Message>> {
        let id = query_id.to_owned();
        self.run(move |s| s.outcome_of(&id)).await
    }

    async fn outcomes_of(&self, query_ids: &[String]) -> Result<Vec<Message>> {
        let ids = query_ids.to_vec();
        self.run(move |s| s.outcomes_of(&ids)).await
    }

    async fn recent_queries(
        &self,
        status: Option<MessageStatus>,
        module: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Message>> {
        let module = module.map(str::to_owned);
        self.run(move |s| s.recent_queries(status, module.as_deref(), limit))
            .await
    }

    async fn outcomes_since(&self, since_ms: i64, module: Option<&str>) -> Result<Vec<OutcomeRow>> {
        let module = module.map(str::to_owned);
        self.run(move |s| s.outcomes_since(since_ms, module.as_deref()))
            .await
    }

    async fn spend_in_window(&self, scope: &SpendScope, window_ms: i64) -> Result<WindowSpend> {
        // One machine, one clock: this process's is the store's.
        let now_ms = crate::time::now_ms();
        let since_ms = crate::store::window_start(now_ms, window_ms);
        let spend = self.spend_since(scope, since_ms).await?;
        Ok(WindowSpend {
            spend,
            since_ms,
            now_ms,
        })
    }

    async fn spend_since(&self, scope: &SpendScope, since_ms: i64) -> Result<Spend> {
        let scope = scope.clone();
        self.run(move |s| s.spend_since(&scope, since_ms)).await
    }

    async fn register_server(&self, server: &ServerRecord) -> Result<()> {
        let server = server.clone();
        self.run(move |s| s.register_server(&server)).await
    }

    async fn heartbeat(&self, server_id: &str, instances: Vec<InstanceRecord>) -> Result<()> {
        let id = server_id.to_owned();
        self.run(move |s| s.heartbeat(&id, &instances)).await
    }

    async fn unregister_server(&self, server_id: &str) -> Result<()> {
        let id = server_id.to_owned();
        self.run(move |s| s.unregister_server(&id)).await
    }

    async fn list_instances(
        &self,
        stale_after_ms: i64,
    ) -> Result<Vec<(ServerRow, InstanceRecord)>> {
        self.run(move |s| s.list_instances(stale_after_ms)).await
    }

    async fn request_control(
        &self,
        server_id: &str,
        instance_id: &str,
        action: &str,
    ) -> Result<i64> {
        let (server, instance) = (server_id.to_owned(), instance_id.to_owned());
        let action = action.to_owned();
        let id = self
            .run(move |s| s.request_control(&server, &instance, &action))
            .await?;
        // Committed: the owner is woken (as PostgreSQL's notice does).
        self.ring(Notice::ControlRequested {
            server_id: server_id.to_owned(),
        });
        Ok(id)
    }

    async fn take_control_requests(&self, server_id: &str) -> Result<Vec<ControlRequest>> {
        let id = server_id.to_owned();
        self.run(move |s| s.take_control_requests(&id)).await
    }

    async fn finish_control(&self, id: i64, ok: bool, result: &str) -> Result<()> {
        let result = result.to_owned();
        self.run(move |s| s.finish_control(id, ok, &result)).await?;
        self.ring(Notice::ControlDone { id });
        Ok(())
    }

    fn notices(&self) -> Option<tokio::sync::broadcast::Receiver<Notice>> {
        self.doorbell.as_ref()?.listen()
    }

    async fn control_result(&self, id: i64) -> Result<Option<(bool, String)>> {
        self.run(move |s| s.control_result(id)).await
    }

    async fn insert_token(&self, token: &NewToken) -> Result<TokenRecord> {
        let token = token.clone();
        self.run(move |s| s.insert_token(&token)).await
    }

    async fn token(&self, id: &str) -> Result<Option<TokenRecord>> {
        let id = id.to_owned();
        self.run(move |s| s.token(&id)).await
    }

    async fn tokens(&self) -> Result<Vec<TokenRecord>> {
        self.run(|s| s.tokens()).await
    }

    async fn revoke_token(&self, id: &str) -> Result<bool> {
        let id = id.to_owned();
        self.run(move |s| s.revoke_token(&id)).await
    }

    async fn touch_token(&self, id: &str, now: i64) -> Result<()> {
        let id = id.to_owned();
        self.run(move |s| s.touch_token(&id, now)).await
    }

    async fn counts(&self) -> Result<StoreCounts> {
        self.run(|s| s.counts()).await
    }

    async fn clock_ms(&self) -> Result<i64> {
        Ok(crate::time::now_ms())
    }

    async fn location(&self) -> Result<String> {
        self.run(|s| Ok(s.file_path()?.display().to_string())).await
    }

    async fn identity(&self) -> Result<String> {
        self.run(|s| s.identity()).await
    }

    async fn copy_counts(&self) -> Result<CopyCounts> {
        self.run(|s| s.copy_counts()).await
    }

    async fn copy_columns(&self, table: &'static CopyTable) -> Result<Vec<String>> {
        self.run(move |s| s.copy_columns(table)).await
    }

    async fn copy_clear(&self) -> Result<()> {
        self.run(|s| s.copy_clear()).await
    }

    async fn copy_insert(&self, table: &'static CopyTable, rows: Vec<CopyRow>) -> Result<()> {
        self.run(move |s| s.copy_insert(table, &rows)).await
    }

    // `copy_finish_table`: nothing to do; SQLite numbers new rows after
    // the largest key by itself.

    async fn copy_snapshot(&self) -> Result<Box<dyn CopySnapshot + '_>> {
        let snapshot = self.run(|s| s.copy_snapshot()).await?;
        Ok(Box::new(SqliteCopySnapshot::new(snapshot)))
    }

    async fn ask_back(&self, query_id: &str, question: &str) -> Result<AskBack> {
        let (query_id, question) = (query_id.to_owned(), question.to_owned());
        self.asked_back(self.run(move |s| s.ask_back(&query_id, &question)).await)
    }

    async fn answer_ask_back(&self, query_id: &str, answer: &str) -> Result<AskBack> {
        let (query_id, answer) = (query_id.to_owned(), answer.to_owned());
        self.asked_back(
            self.run(move |s| s.answer_ask_back(&query_id, &answer))
                .await,
        )
    }

    async fn close_ask_back(&self, ask_id: &str, state: AskBackState) -> Result<AskBack> {
        let ask_id = ask_id.to_owned();
        self.asked_back(self.run(move |s| s.close_ask_back(&ask_id, state)).await)
    }

    async fn ask_back_of(&self, ask_id: &str) -> Result<AskBack> {
        let ask_id = ask_id.to_owned();
        self.run(move |s| s.ask_back_of(&ask_id)).await
    }

    async fn waiting_ask_back(&self, query_id: &str) -> Result<Option<AskBack>> {
        let query_id = query_id.to_owned();
        self.run(move |s| s.waiting_ask_back(&query_id)).await
    }

    async fn link_child_query(&self, child: &str, parent: &str) -> Result<()> {
        let (child, parent) = (child.to_owned(), parent.to_owned());
        self.run(move |s| s.link_child_query(&child, &parent)).await
    }

    async fn ask_backs_since(
        &self,
        since_ms: i64,
        module: Option<&str>,
    ) -> Result<Vec<AskBackCount>> {
        let module = module.map(str::to_owned);
        self.run(move |s| s.ask_backs_since(since_ms, module.as_deref()))
            .await
    }

    async fn child_queries(&self, parent: &str) -> Result<Vec<String>> {
        let parent = parent.to_owned();
        self.run(move |s| s.child_queries(&parent)).await
    }
}
