//! The fleet (issue 19): a daemon on every machine, one PostgreSQL store.
//! A question to a module whose folder is not on this machine is stored
//! and *routed*: a node that hosts the module claims it, runs the agent in
//! its own folder under its own config's policy, and stores the reply;
//! the asker is woken by the store's notice. No broker of our own.
//!
//! * `ask.rs`: the asking side (route, wait, read the outcome);
//! * `node.rs`: a daemon as a node (join, heartbeat, claim, leases);
//! * `answer.rs`: a node answering a question it claimed;
//! * `status.rs`: `fleet status`, one view of every node;
//! * `watch.rs`: `instances monitor` of an instance on another node.

mod answer;
mod ask;
mod descriptors;
mod node;
mod status;
mod watch;

use serde::{Deserialize, Serialize};

pub use node::run_node;
pub use status::{FleetStatus, NodeStatus};
pub use watch::RemoteEvents;
pub(in crate::hub) use watch::{Watches, watch_request};

/// What a fleet operation says on a store that cannot hold a fleet.
const NEEDS_POSTGRES: &str =
    "a fleet needs a PostgreSQL store: set [store] url = \"postgres://...\" on every node";

impl<'h> crate::hub::Node<'h> {
    /// Whether this hub's store holds a fleet (it is PostgreSQL): a daemon
    /// on it is a node.
    pub fn in_a_fleet(self) -> bool {
        self.store.fleet().is_some()
    }

    /// The fleet of this hub's store; on a store that cannot hold one
    /// (SQLite), the error that says a fleet needs PostgreSQL.
    pub(in crate::hub) fn fleet(self) -> Result<crate::store::Fleet<'h>, crate::store::StoreError> {
        self.hub()
            .store
            .fleet()
            .ok_or_else(|| crate::store::StoreError::NotSupported(NEEDS_POSTGRES.into()))
    }
}

pub(in crate::hub) use super::notices::next_notice;

/// What the answering node needs of the asker's request, kept with the
/// routed query (JSON in the store).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Route {
    timeout_s: Option<u64>,
    #[serde(default)]
    reuse: super::Reuse,
    /// The node (or process) that asked, for `fleet status` and errors.
    asked_on: String,
    /// Whether the asker shows progress: the answering node sends none
    /// to an asker that would drop it.
    #[serde(default = "yes")]
    progress: bool,
}

fn yes() -> bool {
    true
}
