//! What a store operation can fail with, the same on every backend:
//! callers branch on the variant, never on the text, and no backend's own
//! error type appears in it.

#[cfg(doc)]
use super::{QueryCap, WriteFault};

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
    /// A value given to the store is not one it takes (an unknown status
    /// or export format, a malformed id prefix, too long a hop chain).
    #[error("{0}")]
    BadValue(String),
    /// What this store cannot do (a fleet on SQLite); the text says what,
    /// and what to do instead.
    #[error("{0}")]
    NotSupported(String),
    /// A conversation with a query still pending cannot be deleted: its
    /// answer is on its way and would have nowhere to land.
    #[error(
        "conversation {id} has a query still pending (message {message}); wait for its answer, or stop the process that sent it"
    )]
    ConversationBusy { id: String, message: String },
    /// Another live node of the fleet has this node's name.
    #[error(
        "a live node named \"{name}\" is already in the fleet (claude-comms {version}, heard from {heard_s} s ago); give this one another [fleet] node name, or stop that one"
    )]
    NodeNameTaken {
        name: String,
        version: String,
        heard_s: i64,
    },
    /// A live node of the fleet writes another schema version.
    #[error(
        "node \"{node}\" runs schema version {found} and this claude-comms writes version {known}: a fleet runs one schema version; upgrade the older nodes"
    )]
    SchemaMismatch {
        node: String,
        found: i64,
        known: i64,
    },
    /// A stored value does not decode (never read as a default): which
    /// table, column and row, the value, and why (see `decode.rs`).
    #[error("stored {table}.{column} of row {row} does not decode ({value:?}): {reason}")]
    Corrupt {
        table: &'static str,
        column: &'static str,
        row: String,
        value: String,
        reason: String,
    },
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
    /// A cap checked with the write refused it (see [`QueryCap`]): its
    /// window began at `since_ms`, and the store's clock read `now_ms`.
    #[error("{name} is used up: {count} of {max} queries")]
    OverCap {
        name: String,
        count: i64,
        max: i64,
        since_ms: i64,
        now_ms: i64,
    },
    /// A test made this write fail on purpose (see [`WriteFault`]).
    #[error("database: injected fault: {0}")]
    Injected(String),
    /// The task that ran the operation ended without an answer (it
    /// panicked, or the runtime is shutting down).
    #[error("the database task failed: {0}")]
    Task(String),
}

pub type Result<T> = std::result::Result<T, StoreError>;
