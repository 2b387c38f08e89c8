//! The store: where conversations, messages, jobs, servers, instances and
//! tokens are kept, behind one contract.
//!
//! * `contract/`: the contract. [`StoreBackend`] states every store
//!   operation once, with what it promises; [`FleetQueue`] is the fleet, a
//!   capability only some backends have, reached through
//!   [`StoreBackend::fleet`] (`None` where there is none: "a fleet needs
//!   PostgreSQL" is a type, not an error of every call); [`CopySnapshot`]
//!   is what `store copy` reads from.
//! * `handle.rs`: [`Store`], the handle the hub holds: the backend opened,
//!   as a `Box<dyn StoreBackend>` it dereferences to (so `store.op(..)` is
//!   the contract's operation, with no forwarding layer), plus the fault
//!   seam for tests in front of the few writes a test makes fail.
//! * `sqlite/`: one SQLite file (WAL mode, FTS5 for search); its
//!   `backend.rs` runs each synchronous operation on tokio's blocking pool,
//!   so a write waiting for another process's lock never stalls the async
//!   workers. No fleet.
//! * `postgres/`: a shared PostgreSQL database (many processes, many
//!   machines); its `backend.rs` runs each operation within `bounded` (a
//!   time bound, and the statement mode of a direct or pooled connection),
//!   and `fleet_queue.rs` is its fleet.
//!
//! What is backend-independent lives here, beside the backends: the types
//! the store speaks in (`model.rs`, `records.rs`, `fleet.rs`,
//! `tool_use.rs`), the settings it is opened with (`settings.rs`; the
//! config re-exports them, the store never imports the config), the limits
//! every write is checked against (`limits.rs`), the decisions both
//! backends make alike (`rules.rs`, `ids.rs`), the decoding of stored
//! values, where a value that does not decode is an error naming its row
//! (`decode.rs`), the export format (`export.rs`), `store copy`
//! (`copy.rs`), the error type (`error.rs`:
//! nothing of any backend's own types appears in it) and the fault seam
//! for tests (`faults.rs`). Which processes are alive, and this machine's
//! name, it asks the leaf [`crate::host`].
//!
//! Durability rules, which [`crate::hub`] relies on and every backend
//! keeps:
//! * every write is one short transaction, so several server processes
//!   (one per host) can share the data: sequence numbers are assigned
//!   inside the transaction, so two writers never take the same one;
//! * a committed message survives any crash of the process (see
//!   `sqlite/mod.rs` for what SQLite's settings promise);
//! * queries are stored `pending` before they are dispatched; after a crash
//!   [`StoreBackend::recover_interrupted`] marks those of dead servers
//!   `interrupted`.

mod ask_back;
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
mod ids;
pub mod limits;
mod model;
mod module_state;
mod outcome_write;
mod postgres;
mod records;
mod rules;
mod settings;
mod sqlite;
mod tool_use;

pub use ask_back::{AskBack, AskBackCount};
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
    StoreUrl, is_postgres_url,
};
pub use settings::{DatabaseSync, StoreLocation};
pub use tool_use::{ToolOutcome, ToolUse};
/// The schema version this claude-comms writes, the same on both backends.
pub const SCHEMA_VERSION: i64 = sqlite::SCHEMA_VERSION;
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
    StoreCounts, TokenRecord, WindowSpend, window_start,
};

pub use error::{Result, StoreError};

pub(crate) use crate::time::now_ms;
