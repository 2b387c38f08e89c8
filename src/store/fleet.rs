//! What the store keeps about a fleet (issue 19): its nodes, and the
//! questions routed through the store to the node that hosts their target.
//! Only the PostgreSQL backend holds a fleet (see `contract/fleet.rs`).

use serde::{Deserialize, Serialize};

use super::model::{Message, MessageStatus};

/// A node as it announces itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct NodeRecord {
    pub name: String,
    /// The daemon process that is this node now (a restarted node keeps
    /// its name and gets a new server id).
    pub server_id: String,
    /// Where its HTTP face listens, when it has one.
    pub address: Option<String>,
    /// The claude-comms version it runs.
    pub version: String,
    pub schema_version: i64,
    pub started_at: i64,
    /// The modules whose folders it has.
    pub modules: Vec<String>,
}

/// A node as the fleet sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct NodeRow {
    #[serde(flatten)]
    pub record: NodeRecord,
    pub last_heartbeat: i64,
    /// How long ago its last heartbeat was, by the database's clock (the
    /// one clock every node shares; never this machine's minus another's).
    pub heard_ms_ago: i64,
    pub stopped: bool,
    /// Heard from within the lease, and not stopped.
    pub alive: bool,
    /// Questions it has claimed and not yet answered.
    pub in_flight: i64,
}

/// A routed question a node has claimed: the stored query, the routing
/// details its asker left (JSON, read by the hub), and how often it was
/// queued again.
#[derive(Debug, Clone)]
pub struct ClaimedQuery {
    pub query: Message,
    pub route: String,
    pub retries: i64,
}

/// Where a question stands, for the asker waiting on another node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryState {
    pub status: MessageStatus,
    pub claimed_by: Option<String>,
    pub retries: i64,
    pub error: Option<String>,
}

/// A routed question as its asker reads it once it may be over: where it
/// stands, the answering node's note on it, and its outcome if stored.
#[derive(Debug, Clone)]
pub struct RoutedState {
    pub state: QueryState,
    /// What the answering node noted (its own backend, context left out).
    pub note: Option<String>,
    /// The reply or error row, once stored (it is stored in the
    /// transaction that closes the query).
    pub outcome: Option<Message>,
}

/// What the lease sweep did to a question whose node stopped renewing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LeaseExpired {
    /// Closed as `interrupted`; its asker is told.
    Interrupted { query_id: String, node: String },
    /// A read-only question queued again for another node (once).
    Requeued { query_id: String, node: String },
}

/// Something the store told every listener (PostgreSQL NOTIFY).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    /// A question to `target` waits for a node.
    Question { target: String },
    /// The query `query_id` has its outcome (or was closed).
    Outcome { query_id: String },
    /// The answering agent of query `query_id` asked back, or its
    /// question was answered or closed (issue 29).
    AskBack { query_id: String },
    /// A node registered or removed a module descriptor.
    Descriptors,
    /// What the agent answering `query_id` on another node is doing.
    Progress { query_id: String, message: String },
    /// Events of an instance someone on another node watches
    /// (`instances monitor`), each an `InstanceEvent` as JSON.
    InstanceEvent { instance_id: String, event: String },
    /// A control request (stop, pause, watch, ...) waits for the process
    /// `server_id`, which owns the instance.
    ControlRequested { server_id: String },
    /// The control request `id` was carried out (or refused).
    ControlDone { id: i64 },
    /// The listener reconnected: notices may have been missed; re-read.
    Reconnected,
    /// There is no listener (a transaction-mode pooler without
    /// `[store] listen_url`): sent about once a second; re-read.
    Poll,
}

/// A module descriptor a node shared with the fleet (JSON, without the
/// `path` that only means something on that node).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FleetDescriptor {
    pub name: String,
    pub node: String,
    pub descriptor: String,
    pub removed: bool,
}
