//! The store contract: every operation the hub asks of a store, stated
//! once, with what it promises. Each backend (`sqlite/`, `postgres/`)
//! implements [`StoreBackend`]; [`super::Store`] holds one as a trait
//! object and dereferences to it, so `store.message(id)` is a call of this
//! trait. What only some backends can do is a capability reached through
//! the contract, never a runtime error: a fleet ([`FleetQueue`], through
//! [`StoreBackend::fleet`]).
//!
//! Why a trait object: the hub holds one store chosen at startup, callers
//! never name a backend, and an async method of a dyn-compatible trait has
//! to box its future (`async_trait` writes that box); one allocation per
//! operation is nothing beside a database round trip.
//!
//! Every implementation keeps these rules (the suite in `tests/store_suite`
//! checks them on each backend):
//! * a write is one short transaction: what it stores is all there or
//!   none of it, and sequence numbers are assigned inside it;
//! * a committed write survives a crash of the process;
//! * no operation blocks an async worker (SQLite runs on the blocking
//!   pool, PostgreSQL within a time bound);
//! * a stored value that does not decode is [`super::StoreError::Corrupt`],
//!   never a default;
//! * errors are the same [`super::StoreError`] variants, with the same
//!   texts, on every backend.

mod copy;
mod fleet;

pub use copy::CopySnapshot;
pub use fleet::FleetQueue;

use serde_json::Value;

use super::Result;
use super::ask_back::{AskBack, AskBackCount};
use super::copy::{CopyCounts, CopyRow, CopyTable};
use super::cursor::MessageCursor;
use super::export::{ExportFormat, ExportedConversation};
use super::ids::IdKind;
use super::model::{
    AskBackState, BeginQuery, Conversation, ConversationFilter, ConversationPage,
    ConversationStatus, InstanceRecord, Message, MessageStatus, NewQuery, Outcome, SearchHit,
    ServerRecord, ServerRow,
};
use super::records::{
    ControlRequest, MessageActivity, NewToken, OutcomeRow, PruneRule, QueryCap, Spend, SpendScope,
    StoreCounts, TokenRecord, WindowSpend,
};
use super::{PoolStatus, ServerConnections};

/// Every store operation, once. Arguments are borrowed, except what
/// carries message bodies (a new query, an outcome, an import, copied
/// rows): those are taken by value, so SQLite moves them to its blocking
/// thread without a copy.
#[async_trait::async_trait]
pub trait StoreBackend: Send + Sync {
    /// `sqlite` or `postgresql`.
    fn backend_name(&self) -> &'static str;

    /// The fleet this store can hold, if it can hold one (PostgreSQL
    /// only: nodes on several machines need one shared database).
    fn fleet(&self) -> Option<&dyn FleetQueue> {
        None
    }

    // --- conversations ---

    /// Stores a new open conversation from `source` to `target`.
    async fn create_conversation(
        &self,
        source: &str,
        target: &str,
        title: Option<&str>,
        metadata: Value,
    ) -> Result<Conversation>;

    /// The conversation `id`, or [`super::StoreError::UnknownConversation`].
    async fn conversation(&self, id: &str) -> Result<Conversation>;

    /// One page of conversations, newest activity first.
    async fn list_conversations(&self, filter: &ConversationFilter) -> Result<ConversationPage>;

    async fn set_conversation_status(
        &self,
        id: &str,
        status: ConversationStatus,
    ) -> Result<Conversation>;

    /// Stores the backend (stream) session a conversation continues in.
    async fn set_backend_session(&self, id: &str, session: Option<&str>) -> Result<()>;

    /// Deletes a conversation and its messages; refused with
    /// [`super::StoreError::ConversationBusy`] while a query of it is
    /// pending.
    async fn delete_conversation(&self, id: &str) -> Result<Conversation>;

    /// The conversations `rule` would delete (busy ones left out).
    async fn prunable_conversations(&self, rule: &PruneRule) -> Result<Vec<Conversation>>;

    /// Deletes what [`StoreBackend::prunable_conversations`] lists.
    async fn prune_conversations(&self, rule: &PruneRule) -> Result<Vec<Conversation>>;

    /// The full id that `prefix` stands for (unknown, too short and
    /// ambiguous prefixes are errors that say so).
    async fn resolve_id(&self, kind: IdKind, prefix: &str) -> Result<String>;

    async fn export(&self, id: &str, format: ExportFormat) -> Result<String>;

    /// Stores an exported conversation as it was, in one transaction.
    async fn import(&self, exported: ExportedConversation) -> Result<Conversation>;

    // --- messages and queries ---

    /// Stores a note (neither query nor reply) in a conversation.
    async fn add_note(&self, conversation_id: &str, sender: &str, content: &str)
    -> Result<Message>;

    /// Stores a query `pending` (or finds the earlier one with the same
    /// idempotency key); refused when its conversation is archived.
    async fn begin_query(&self, query: NewQuery) -> Result<BeginQuery>;

    /// [`StoreBackend::begin_query`], refused with
    /// [`super::StoreError::OverCap`] when a cap is reached, checked in
    /// the transaction that would store it.
    async fn begin_query_capped(&self, query: NewQuery, caps: Vec<QueryCap>) -> Result<BeginQuery>;

    async fn set_query_context(
        &self,
        query_id: &str,
        template_version: &str,
        context_note: Option<&str>,
    ) -> Result<()>;

    /// Stores the reply or failure that closes a pending query, in the
    /// transaction that marks it closed; [`super::StoreError::NotPending`]
    /// if it is closed already.
    async fn finish_query(&self, query_id: &str, outcome: Outcome) -> Result<Message>;

    /// The newest reply an agent gave under `reuse_key` at `commit` with a
    /// clean folder, if any (`send_message` with `reuse: "unchanged"`).
    async fn reusable_reply(&self, reuse_key: &str, commit: &str) -> Result<Option<Message>>;

    /// Marks `interrupted` the pending queries of servers that are not
    /// alive (other than `this_server`); returns how many.
    async fn recover_interrupted(&self, this_server: &str, stale_after_ms: i64) -> Result<usize>;

    /// The message `id`, or [`super::StoreError::UnknownMessage`].
    async fn message(&self, id: &str) -> Result<Message>;

    /// A conversation's messages in order: the last `limit` before
    /// `before_seq` (all when `None`).
    async fn messages(
        &self,
        conversation_id: &str,
        limit: Option<usize>,
        before_seq: Option<i64>,
    ) -> Result<Vec<Message>>;

    /// The conversation and its messages after `after_seq`, read together.
    async fn conversation_since(
        &self,
        conversation_id: &str,
        after_seq: i64,
    ) -> Result<(Conversation, Vec<Message>)>;

    /// Messages stored after `cursor`, each with its cursor; a follower
    /// that reads on from the last cursor misses none.
    async fn messages_after(
        &self,
        cursor: MessageCursor,
        module: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(MessageCursor, Message)>>;

    /// The cursor a follower starts from to see only what comes next.
    async fn latest_message_cursor(&self) -> Result<MessageCursor>;

    async fn recent_messages(&self, limit: usize) -> Result<Vec<MessageActivity>>;

    /// Full-text search; [`super::StoreError::EmptySearch`] for an empty
    /// query.
    async fn search(
        &self,
        query: &str,
        module: Option<&str>,
        limit: usize,
    ) -> Result<Vec<SearchHit>>;

    /// The reply (or error) that closed a query, if it is closed.
    async fn outcome_of(&self, query_id: &str) -> Result<Option<Message>>;

    /// [`StoreBackend::outcome_of`] for many queries in one read (a list of
    /// jobs must not cost a round trip a job): the outcomes of those that
    /// are closed, in no particular order (each names its query in
    /// `reply_to`).
    async fn outcomes_of(&self, query_ids: &[String]) -> Result<Vec<Message>>;

    async fn recent_queries(
        &self,
        status: Option<MessageStatus>,
        module: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Message>>;

    /// Every query closed since `since_ms`, with how it closed.
    async fn outcomes_since(&self, since_ms: i64, module: Option<&str>) -> Result<Vec<OutcomeRow>>;

    /// What queries in `scope` have spent since `since_ms`.
    async fn spend_since(&self, scope: &SpendScope, since_ms: i64) -> Result<Spend>;

    /// What queries in `scope` have spent in the current fixed window of
    /// `window_ms`, placed by the store's clock (see [`QueryCap`]).
    async fn spend_in_window(&self, scope: &SpendScope, window_ms: i64) -> Result<WindowSpend>;

    // --- the processes that share the store ---

    async fn register_server(&self, server: &ServerRecord) -> Result<()>;

    /// Records that `server_id` is alive, with its instances now.
    async fn heartbeat(&self, server_id: &str, instances: Vec<InstanceRecord>) -> Result<()>;

    async fn unregister_server(&self, server_id: &str) -> Result<()>;

    /// Every instance of every server, with its server judged alive or not.
    async fn list_instances(&self, stale_after_ms: i64)
    -> Result<Vec<(ServerRow, InstanceRecord)>>;

    /// Asks `server_id` to act on one of its instances; returns the
    /// request's id.
    async fn request_control(
        &self,
        server_id: &str,
        instance_id: &str,
        action: &str,
    ) -> Result<i64>;

    /// The requests waiting for `server_id`, taken (each is handed once).
    async fn take_control_requests(&self, server_id: &str) -> Result<Vec<ControlRequest>>;

    async fn finish_control(&self, id: i64, ok: bool, result: &str) -> Result<()>;

    /// Whether a control request is done, and its result.
    async fn control_result(&self, id: i64) -> Result<Option<(bool, String)>>;

    // --- access tokens ---

    async fn insert_token(&self, token: &NewToken) -> Result<TokenRecord>;

    async fn token(&self, id: &str) -> Result<Option<TokenRecord>>;

    async fn tokens(&self) -> Result<Vec<TokenRecord>>;

    /// Revokes a token; false when it does not exist.
    async fn revoke_token(&self, id: &str) -> Result<bool>;

    async fn touch_token(&self, id: &str, now: i64) -> Result<()>;

    // --- the store itself ---

    /// Notices from the other processes that share this store, from now
    /// on: PostgreSQL's `LISTEN/NOTIFY`, or on SQLite the data
    /// directory's doorbell (`sqlite/doorbell.rs`). `None` when there are
    /// none to be had: the caller looks at the store on a timer.
    fn notices(&self) -> Option<tokio::sync::broadcast::Receiver<super::Notice>> {
        None
    }

    /// The store's clock (unix ms): on PostgreSQL the database's, the one
    /// clock every node of a fleet shares; on SQLite this machine's. A
    /// window over stored times ("the last hour", "no message for 30
    /// days") starts from it, never from the asking machine's clock.
    async fn clock_ms(&self) -> Result<i64>;

    /// The schema version and the row counts of the main tables.
    async fn counts(&self) -> Result<StoreCounts>;

    /// Where the data is, for people: the SQLite file, or the PostgreSQL
    /// URL without its password.
    async fn location(&self) -> Result<String>;

    /// The server's count of connections and its limits (`None` where
    /// the store has no server).
    async fn server_connections(&self) -> Result<Option<ServerConnections>> {
        Ok(None)
    }

    /// The store's pool of connections now (`None` where it has none).
    fn pool_status(&self) -> Option<PoolStatus> {
        None
    }

    // --- `store copy` (driven by `copy.rs`) ---

    /// The same for two handles of one database (one file, one cluster's
    /// database), whatever path or URL opened them.
    async fn identity(&self) -> Result<String>;

    /// Rows of the copied tables (conversations, messages, access
    /// tokens), read together.
    async fn copy_counts(&self) -> Result<CopyCounts>;

    /// The columns `table` has here, to check against what is copied.
    async fn copy_columns(&self, table: &'static CopyTable) -> Result<Vec<String>>;

    /// Empties the copied tables (a copy with `replace`).
    async fn copy_clear(&self) -> Result<()>;

    /// Stores one batch of `table`'s rows as they are, keys included.
    async fn copy_insert(&self, table: &'static CopyTable, rows: Vec<CopyRow>) -> Result<()>;

    /// After the last batch of `table`: keys the store numbers itself
    /// continue past the copied ones.
    async fn copy_finish_table(&self, _table: &'static CopyTable) -> Result<()> {
        Ok(())
    }

    /// A snapshot to copy from: every read of it sees the store as it was
    /// at its first read.
    async fn copy_snapshot(&self) -> Result<Box<dyn CopySnapshot + '_>>;

    // ----- questions back (issue 29) -----

    /// Stores the answering agent's `question` about pending query
    /// `query_id` (sent by the conversation's target) as `waiting`.
    /// Refused when the query is not pending or already waits for an answer.
    async fn ask_back(&self, query_id: &str, question: &str) -> Result<AskBack>;

    /// Stores the asker's `answer` to the question waiting on pending query
    /// `query_id`, closing it `answered`. Refused when nothing waits (never
    /// answered twice).
    async fn answer_ask_back(&self, query_id: &str, answer: &str) -> Result<AskBack>;

    /// Closes the question `ask_id` as `state` (`unanswered` or `ended`) if
    /// it still waits; the question as it is now either way (an answer that
    /// came first is kept).
    async fn close_ask_back(&self, ask_id: &str, state: AskBackState) -> Result<AskBack>;

    /// The question `ask_id` and its answer, if any.
    async fn ask_back_of(&self, ask_id: &str) -> Result<AskBack>;

    /// The question that waits on query `query_id`, if one does.
    async fn waiting_ask_back(&self, query_id: &str) -> Result<Option<AskBack>>;

    /// Records query `child` as asked while query `parent` was being
    /// answered (`ask_module`). Recording it again changes nothing.
    async fn link_child_query(&self, child: &str, parent: &str) -> Result<()>;

    /// Questions back asked since `since_ms` (unix ms), by pair and state;
    /// with `module`, only pairs it takes part in.
    async fn ask_backs_since(
        &self,
        since_ms: i64,
        module: Option<&str>,
    ) -> Result<Vec<AskBackCount>>;

    /// The queries asked while `parent` was being answered, oldest first.
    async fn child_queries(&self, parent: &str) -> Result<Vec<String>>;
}
