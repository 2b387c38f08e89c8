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

mod columns;
mod contract;
mod copy;
mod cursor;
mod decode;
mod error;
mod export;
mod faults;
mod fleet;
mod handle;
mod hosts;
mod ids;
pub mod limits;
mod model;
mod module_state;
mod postgres;
mod records;
mod rules;
mod settings;
mod sqlite;
mod tool_use;

pub use contract::{CopySnapshot, FleetQueue, StoreBackend};
pub use copy::{CopyCounts, CopyError, CopyOptions, CopyProgress, CopyReport};
pub use cursor::MessageCursor;
pub use export::{ExportFormat, ExportedConversation, parse_export, render_export, tool_use_line};
pub use faults::{WriteFault, WriteFaults};
pub use fleet::{
    ClaimedQuery, FleetDescriptor, LeaseExpired, NodeRecord, NodeRow, Notice, QueryState,
    RoutedState,
};
pub use handle::{Fleet, Store};
pub use postgres::{
    ApplicationConnections, DEFAULT_MAX_CONNECTIONS, PgOptions, PoolStatus, ServerConnections,
    StoreUrl, hide_password, is_postgres_url,
};
pub use settings::{DatabaseSync, StoreLocation};
pub use tool_use::{ToolOutcome, ToolUse};
/// The schema version this claude-comms writes, the same on both backends.
pub const SCHEMA_VERSION: i64 = sqlite::SCHEMA_VERSION;
pub(crate) use hosts::pid_exists;
pub use hosts::this_hostname;
pub use ids::{IdKind, MIN_ID_PREFIX};
pub(crate) use model::optional_object_schema;
pub use model::{
    BeginQuery, Conversation, ConversationFilter, ConversationPage, ConversationStatus,
    InstanceRecord, Message, MessageStatus, NewQuery, Outcome, Role, SearchHit, ServerRecord,
    ServerRow,
};
pub use module_state::ReplyModule;
pub use records::{
    ControlRequest, MessageActivity, NewToken, OutcomeRow, PruneRule, QueryCap, Spend, SpendScope,
    StoreCounts, TokenRecord,
};

pub use error::{Result, StoreError};

/// A store URL for people: `postgres://user@host:port/db`, never with its
/// password (also when the URL does not parse).
pub fn shown_url(url: &str) -> String {
    match StoreUrl::parse(url) {
        Ok(parsed) => parsed.shown().to_string(),
        Err(_) => hide_password(url),
    }
}

pub(crate) use crate::time::now_ms;
