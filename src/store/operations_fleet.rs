//! The store's fleet operations (issue 19): nodes, routed questions,
//! leases and notices. Only PostgreSQL holds a fleet; on SQLite each says
//! so (see `fleet.rs`).

use tokio::sync::broadcast;

use super::Result;
use super::fleet::{
    ClaimedQuery, FleetDescriptor, LeaseExpired, NodeRecord, NodeRow, Notice, QueryState,
    needs_postgres,
};
use super::handle::{Backend, Store};

/// Runs `$call` on the PostgreSQL backend within its bound; on SQLite,
/// the error that says a fleet needs PostgreSQL.
macro_rules! on_postgres {
    ($store:expr, |$s:ident| $call:expr) => {
        match &$store.backend {
            Backend::Postgres(postgres) => {
                let $s: &super::postgres::PostgresStore = postgres;
                postgres.bounded(async move { $call.await }).await
            }
            Backend::Sqlite(_) => Err(needs_postgres()),
        }
    };
}

impl Store {
    /// Whether this store can hold a fleet (it is PostgreSQL).
    pub fn holds_a_fleet(&self) -> bool {
        matches!(self.backend, Backend::Postgres(_))
    }

    pub async fn register_node(&self, node: &NodeRecord, lease_ms: i64) -> Result<()> {
        on_postgres!(self, |s| s.register_node(node, lease_ms))
    }

    pub async fn node_heartbeat(
        &self,
        name: &str,
        server_id: &str,
        modules: &[String],
        lease_ms: i64,
    ) -> Result<bool> {
        on_postgres!(self, |s| s
            .node_heartbeat(name, server_id, modules, lease_ms))
    }

    pub async fn stop_node(&self, name: &str, server_id: &str) -> Result<()> {
        on_postgres!(self, |s| s.stop_node(name, server_id))
    }

    pub async fn nodes(&self, lease_ms: i64) -> Result<Vec<NodeRow>> {
        on_postgres!(self, |s| s.nodes(lease_ms))
    }

    pub async fn nodes_hosting(&self, module: &str, lease_ms: i64) -> Result<Vec<NodeRow>> {
        on_postgres!(self, |s| s.nodes_hosting(module, lease_ms))
    }

    /// Hands a stored query to the fleet; `prefer` is the node that
    /// answered the conversation's last routed turn (it gets it first).
    pub async fn route_query(
        &self,
        query_id: &str,
        target: &str,
        route: &str,
        prefer: Option<&str>,
    ) -> Result<()> {
        on_postgres!(self, |s| s.route_query(query_id, target, route, prefer))
    }

    /// Claims up to `max` routed questions to the modules `hosted` (as
    /// many as the node can start now).
    pub async fn claim_queries(
        &self,
        node: &str,
        hosted: &[String],
        lease_ms: i64,
        max: usize,
    ) -> Result<Vec<ClaimedQuery>> {
        on_postgres!(self, |s| s.claim_queries(node, hosted, lease_ms, max))
    }

    /// Stores the outcome of a routed question, only while node
    /// `claimant` still holds it (see `finish_query`).
    pub async fn finish_claimed_query(
        &self,
        query_id: &str,
        claimant: &str,
        outcome: super::model::Outcome,
    ) -> Result<super::model::Message> {
        self.faults.check_outcome(&outcome)?;
        on_postgres!(self, |s| s.finish_query_held(
            query_id,
            &outcome,
            Some(claimant)
        ))
    }

    /// A routed question's state, note and outcome, read together.
    pub async fn routed_state(&self, query_id: &str) -> Result<super::fleet::RoutedState> {
        on_postgres!(self, |s| s.routed_state(query_id))
    }

    pub async fn query_state(&self, query_id: &str) -> Result<QueryState> {
        on_postgres!(self, |s| s.query_state(query_id))
    }

    pub async fn expire_leases(&self, requeue_modules: &[String]) -> Result<Vec<LeaseExpired>> {
        on_postgres!(self, |s| s.expire_leases(requeue_modules))
    }

    pub async fn publish_descriptor(
        &self,
        name: &str,
        node: &str,
        descriptor: &str,
        removed: bool,
    ) -> Result<()> {
        on_postgres!(self, |s| s
            .publish_descriptor(name, node, descriptor, removed))
    }

    pub async fn announce_progress(&self, query_id: &str, message: &str) -> Result<()> {
        on_postgres!(self, |s| s.announce_progress(query_id, message))
    }

    pub async fn announce_instance_events(
        &self,
        instance_id: &str,
        events: &[String],
    ) -> Result<()> {
        on_postgres!(self, |s| s.announce_instance_events(instance_id, events))
    }

    pub async fn fleet_descriptors(&self) -> Result<Vec<FleetDescriptor>> {
        on_postgres!(self, |s| s.fleet_descriptors())
    }

    /// Every notice of the store from now on; `None` on SQLite (which
    /// has none: one machine's processes poll it).
    pub fn notices(&self) -> Option<broadcast::Receiver<Notice>> {
        match &self.backend {
            Backend::Postgres(postgres) => Some(postgres.notices()),
            Backend::Sqlite(_) => None,
        }
    }
}
