//! The store: where conversations, messages, jobs, servers, instances and
//! tokens are kept, behind one interface.
//!
//! [`Store`] is a handle with one async method per operation the hub
//! needs. It dispatches to a backend (an enum, so dispatch stays static):
//! * `sqlite/`: one SQLite file (WAL mode, FTS5 for search); its
//!   synchronous SQLite calls run on tokio's blocking pool, so a write
//!   waiting for another process's lock never stalls the async workers;
//! * `postgres/`: a shared PostgreSQL database (many processes, many
//!   machines), the second arm of the backend enum, with the same methods
//!   (async ones).
//!
//! What is backend-independent lives here, beside the backends: the types
//! the store speaks in (`model.rs`, `records.rs`), the limits every write
//! is checked against (`limits.rs`), the export format (`export.rs`), id
//! prefixes (`ids.rs`), process liveness (`hosts.rs`), the error type
//! (nothing of any backend's own types appears in it) and the fault seam
//! for tests (`faults.rs`).
//!
//! Durability rules, which [`crate::hub`] relies on and every backend
//! keeps:
//! * every write is one short transaction, so several server processes
//!   (one per host) can share the data: sequence numbers are assigned
//!   inside the transaction, so two writers never take the same one;
//! * a committed message survives any crash of the process (see
//!   `sqlite/mod.rs` for what SQLite's settings promise);
//! * queries are stored `pending` before they are dispatched; after a crash
//!   [`Store::recover_interrupted`] marks those of dead servers `interrupted`.

mod ask_back;
mod columns;
mod copy;
mod cursor;
mod export;
mod faults;
mod fleet;
mod handle;
mod hosts;
mod ids;
pub mod limits;
mod model;
mod module_state;
mod operations;
mod operations_ask_back;
mod operations_copy;
mod operations_fleet;
mod operations_servers;
mod postgres;
mod records;
mod sqlite;

pub use ask_back::{AskBack, AskBackCount};
pub use copy::{CopyCounts, CopyError, CopyOptions, CopyProgress, CopyReport};
pub use cursor::MessageCursor;
pub use export::{ExportFormat, ExportedConversation, parse_export, render_export, tool_use_line};
pub use faults::{WriteFault, WriteFaults};
pub use fleet::{
    ClaimedQuery, FleetDescriptor, LeaseExpired, NodeRecord, NodeRow, Notice, QueryState,
    RoutedState,
};
pub use handle::Store;
pub use postgres::{
    ApplicationConnections, DEFAULT_MAX_CONNECTIONS, PgOptions, PoolStatus, ServerConnections,
    StoreUrl, hide_password, is_postgres_url,
};
/// The schema version this claude-comms writes, the same on both backends.
pub const SCHEMA_VERSION: i64 = sqlite::SCHEMA_VERSION;
pub(crate) use hosts::pid_exists;
pub use hosts::this_hostname;
pub use ids::{IdKind, MIN_ID_PREFIX};
pub(crate) use model::optional_object_schema;
pub use model::{
    AskBackState, BeginQuery, Conversation, ConversationFilter, ConversationPage,
    ConversationStatus, InstanceRecord, Message, MessageStatus, NewQuery, Outcome, Role, SearchHit,
    ServerRecord, ServerRow,
};
pub use module_state::ReplyModule;
pub use records::{
    ControlRequest, MessageActivity, NewToken, OutcomeRow, PruneRule, QueryCap, Spend, SpendScope,
    StoreCounts, TokenRecord,
};

/// Why a store operation failed, in terms that hold for every backend.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open the database {path}: {reason}")]
    Open { path: String, reason: String },
    /// The database refused or failed the operation (the backend's words).
    #[error("database: {message}")]
    Database { message: String },
    /// Another writer held the database past the wait allowed for it; the
    /// operation may succeed if tried again.
    #[error("database: {message}")]
    Busy { message: String },
    #[error(
        "the database has schema version {found}, newer than this claude-comms knows ({known}); upgrade claude-comms"
    )]
    TooNew { found: i64, known: i64 },
    #[error("unknown conversation \"{0}\"")]
    UnknownConversation(String),
    #[error("unknown message \"{0}\"")]
    UnknownMessage(String),
    #[error("conversation {0} is archived; start a new conversation")]
    Archived(String),
    #[error("message {id} is {status}, not pending; it cannot be finished again")]
    NotPending { id: String, status: String },
    #[error("bad cursor \"{0}\": pass the next_cursor of a previous page")]
    BadCursor(String),
    #[error("the search query is empty")]
    EmptySearch,
    #[error("{0}")]
    BadValue(String),
    #[error("`{field}` is {len} bytes, over the limit of {limit} bytes")]
    TooLong {
        field: &'static str,
        len: usize,
        limit: usize,
    },
    #[error("`{field}` is {value}; it must be between 1 and {max}")]
    PageSize {
        field: &'static str,
        value: usize,
        max: usize,
    },
    #[error("database: the write was not committed: {0}")]
    NotCommitted(String),
    #[error("export: {0}")]
    Export(String),
    /// A test made this write fail on purpose (see [`WriteFault`]).
    /// A cap checked with the write refused it (see [`QueryCap`]).
    #[error("{name} is used up: {count} of {max} queries")]
    OverCap { name: String, count: i64, max: i64 },
    #[error("database: injected fault: {0}")]
    Injected(String),
    /// The task that ran the operation ended without an answer (it
    /// panicked, or the runtime is shutting down).
    #[error("the database task failed: {0}")]
    Task(String),
}

pub type Result<T> = std::result::Result<T, StoreError>;

/// A store URL for people: `postgres://user@host:port/db`, never with its
/// password (also when the URL does not parse).
pub fn shown_url(url: &str) -> String {
    match StoreUrl::parse(url) {
        Ok(parsed) => parsed.shown().to_string(),
        Err(_) => hide_password(url),
    }
}

pub(crate) use crate::time::now_ms;
