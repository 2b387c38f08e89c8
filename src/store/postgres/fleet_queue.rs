//! The PostgreSQL backend's fleet capability: each [`FleetQueue`]
//! operation runs `PostgresStore`'s own method of the same name
//! (`fleet.rs` holds the SQL) within [`PostgresStore::bounded`].

use tokio::sync::broadcast;

use super::PostgresStore;
use crate::store::Result;
use crate::store::contract::FleetQueue;
use crate::store::fleet::{
    ClaimedQuery, FleetDescriptor, LeaseExpired, NodeRecord, NodeRow, Notice, QueryState,
    RoutedState,
};
use crate::store::model::{Message, Outcome};

#[async_trait::async_trait]
impl FleetQueue for PostgresStore {
    async fn register_node(&self, node: &NodeRecord, lease_ms: i64) -> Result<()> {
        self.bounded(self.register_node(node, lease_ms)).await
    }

    async fn node_heartbeat(
        &self,
        name: &str,
        server_id: &str,
        modules: &[String],
        lease_ms: i64,
    ) -> Result<bool> {
        self.bounded(self.node_heartbeat(name, server_id, modules, lease_ms))
            .await
    }

    async fn stop_node(&self, name: &str, server_id: &str) -> Result<()> {
        self.bounded(self.stop_node(name, server_id)).await
    }

    async fn nodes(&self, lease_ms: i64) -> Result<Vec<NodeRow>> {
        self.bounded(self.nodes(lease_ms)).await
    }

    async fn nodes_hosting(&self, module: &str, lease_ms: i64) -> Result<Vec<NodeRow>> {
        self.bounded(self.nodes_hosting(module, lease_ms)).await
    }

    async fn route_query(
        &self,
        query_id: &str,
        target: &str,
        route: &str,
        prefer: Option<&str>,
    ) -> Result<()> {
        self.bounded(self.route_query(query_id, target, route, prefer))
            .await
    }

    async fn claim_queries(
        &self,
        node: &str,
        hosted: &[String],
        lease_ms: i64,
        max: usize,
    ) -> Result<Vec<ClaimedQuery>> {
        self.bounded(self.claim_queries(node, hosted, lease_ms, max))
            .await
    }

    async fn finish_claimed_query(
        &self,
        query_id: &str,
        claimant: &str,
        outcome: Outcome,
    ) -> Result<Message> {
        self.bounded(self.finish_query_held(query_id, &outcome, Some(claimant)))
            .await
    }

    async fn routed_state(&self, query_id: &str) -> Result<RoutedState> {
        self.bounded(self.routed_state(query_id)).await
    }

    async fn query_state(&self, query_id: &str) -> Result<QueryState> {
        self.bounded(self.query_state(query_id)).await
    }

    async fn expire_leases(&self, requeue_modules: &[String]) -> Result<Vec<LeaseExpired>> {
        self.bounded(self.expire_leases(requeue_modules)).await
    }

    async fn publish_descriptor(
        &self,
        name: &str,
        node: &str,
        descriptor: &str,
        removed: bool,
    ) -> Result<()> {
        self.bounded(self.publish_descriptor(name, node, descriptor, removed))
            .await
    }

    async fn announce_progress(&self, query_id: &str, message: &str) -> Result<()> {
        self.bounded(self.announce_progress(query_id, message))
            .await
    }

    async fn announce_instance_events(&self, instance_id: &str, events: &[String]) -> Result<()> {
        self.bounded(self.announce_instance_events(instance_id, events))
            .await
    }

    async fn fleet_descriptors(&self) -> Result<Vec<FleetDescriptor>> {
        self.bounded(self.fleet_descriptors()).await
    }

    fn notices(&self) -> broadcast::Receiver<Notice> {
        self.notices()
    }
}
