//! The fleet capability (issue 19): nodes, questions routed through the
//! store to the node that hosts their target, leases and notices. Only a
//! store that several machines share can hold one (PostgreSQL); a store
//! that cannot answers `None` to [`super::StoreBackend::fleet`], so "a
//! fleet needs PostgreSQL" is a type, not an error of every operation.

use tokio::sync::broadcast;

use crate::store::Result;
use crate::store::fleet::{
    ClaimedQuery, FleetDescriptor, LeaseExpired, NodeRecord, NodeRow, Notice, QueryState,
    RoutedState,
};
use crate::store::model::{Message, Outcome};

/// The fleet's queue of routed questions and its nodes. Every time (a
/// heartbeat, a lease) is the database's clock, the one clock all nodes
/// share.
#[async_trait::async_trait]
pub trait FleetQueue: Send + Sync {
    /// Registers a node (or a restart of it) under its name; refused with
    /// [`crate::store::StoreError::NodeNameTaken`] while another live
    /// process holds the name, and
    /// [`crate::store::StoreError::SchemaMismatch`] while a live node
    /// writes another schema version.
    async fn register_node(&self, node: &NodeRecord, lease_ms: i64) -> Result<()>;

    /// Renews a node's lease and its hosted modules; false when the node
    /// is no longer this process (another took its name, or it stopped).
    async fn node_heartbeat(
        &self,
        name: &str,
        server_id: &str,
        modules: &[String],
        lease_ms: i64,
    ) -> Result<bool>;

    /// Marks a node stopped (if `server_id` still is that node).
    async fn stop_node(&self, name: &str, server_id: &str) -> Result<()>;

    /// Every node, judged alive by its lease.
    async fn nodes(&self, lease_ms: i64) -> Result<Vec<NodeRow>>;

    /// The live nodes that host `module`.
    async fn nodes_hosting(&self, module: &str, lease_ms: i64) -> Result<Vec<NodeRow>>;

    /// Hands a stored query to the fleet; `prefer` is the node that
    /// answered the conversation's last routed turn (it gets it first).
    async fn route_query(
        &self,
        query_id: &str,
        target: &str,
        route: &str,
        prefer: Option<&str>,
    ) -> Result<()>;

    /// Claims up to `max` routed questions to the modules `hosted` (as
    /// many as the node can start now); each is claimed by one node.
    async fn claim_queries(
        &self,
        node: &str,
        hosted: &[String],
        lease_ms: i64,
        max: usize,
    ) -> Result<Vec<ClaimedQuery>>;

    /// Stores the outcome of a routed question, only while node
    /// `claimant` still holds it (see [`super::StoreBackend::finish_query`]).
    async fn finish_claimed_query(
        &self,
        query_id: &str,
        claimant: &str,
        outcome: Outcome,
    ) -> Result<Message>;

    /// A routed question's state, note and outcome, read together.
    async fn routed_state(&self, query_id: &str) -> Result<RoutedState>;

    /// Where a routed question stands.
    async fn query_state(&self, query_id: &str) -> Result<QueryState>;

    /// Ends the leases of nodes that stopped renewing: their questions
    /// are closed `interrupted`, or (read-only ones to `requeue_modules`)
    /// queued again once.
    async fn expire_leases(&self, requeue_modules: &[String]) -> Result<Vec<LeaseExpired>>;

    /// Shares (or, `removed`, withdraws) a module descriptor with the
    /// fleet.
    async fn publish_descriptor(
        &self,
        name: &str,
        node: &str,
        descriptor: &str,
        removed: bool,
    ) -> Result<()>;

    /// Tells the asker's node how a routed question is going.
    async fn announce_progress(&self, query_id: &str, message: &str) -> Result<()>;

    /// Tells every node what happened to one of this node's instances.
    async fn announce_instance_events(&self, instance_id: &str, events: &[String]) -> Result<()>;

    /// Every module descriptor the nodes shared.
    async fn fleet_descriptors(&self) -> Result<Vec<FleetDescriptor>>;

    /// Every notice of the store from now on.
    fn notices(&self) -> broadcast::Receiver<Notice>;
}
