//! `fleet status`: every node of the fleet, what it hosts, how many
//! instances it runs and how many questions it holds.

use serde::Serialize;

use crate::hub::{Hub, HubError};

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct NodeStatus {
    pub name: String,
    pub address: Option<String>,
    pub version: String,
    pub schema_version: i64,
    pub started_at: i64,
    pub last_heartbeat: i64,
    /// How long ago its last heartbeat was, by the database's clock.
    pub heard_ms_ago: i64,
    /// Heard from within the lease and not stopped.
    pub alive: bool,
    pub stopped: bool,
    /// The modules whose folders it has.
    pub modules: Vec<String>,
    /// Background instances it runs (as its last heartbeat said).
    pub instances: usize,
    /// Questions it has claimed and not answered yet.
    pub in_flight: i64,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct FleetStatus {
    /// This process's node name (whether or not it is a node).
    pub this_node: String,
    pub lease_s: u64,
    pub nodes: Vec<NodeStatus>,
}

impl Hub {
    pub async fn fleet_status(&self) -> Result<FleetStatus, HubError> {
        let nodes = self.store.nodes(self.lease_ms()).await?;
        let instances = self.store.list_instances(self.lease_ms()).await?;
        Ok(FleetStatus {
            this_node: self.config().config.fleet.node_name(),
            lease_s: self.config().config.fleet.lease_s,
            nodes: nodes
                .into_iter()
                .map(|n| NodeStatus {
                    instances: instances
                        .iter()
                        .filter(|(server, _)| {
                            server.record.id == n.record.server_id && server.alive
                        })
                        .count(),
                    name: n.record.name,
                    address: n.record.address,
                    version: n.record.version,
                    schema_version: n.record.schema_version,
                    started_at: n.record.started_at,
                    last_heartbeat: n.last_heartbeat,
                    heard_ms_ago: n.heard_ms_ago,
                    alive: n.alive,
                    stopped: n.stopped,
                    modules: n.record.modules,
                    in_flight: n.in_flight,
                })
                .collect(),
        })
    }
}
