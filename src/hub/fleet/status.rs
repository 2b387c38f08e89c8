//! `fleet status`: every node of the fleet, what it hosts, how many
//! instances it runs and how many questions it holds.

use serde::Serialize;

use crate::hub::HubError;

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
    /// Its processes' connections to the database now, as the server
    /// counts them (`application_name` `claude-comms:NODE`).
    pub connections: NodeConnections,
}

/// A node's connections to the database.
#[derive(Debug, Clone, Default, Serialize, schemars::JsonSchema)]
pub struct NodeConnections {
    /// Open (in use or idle), listener included.
    pub open: i64,
    /// Running a statement now (a listener waiting counts as idle).
    pub active: i64,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct FleetStatus {
    /// This process's node name (whether or not it is a node).
    pub this_node: String,
    pub lease_s: u64,
    /// `[store] max_connections` here: the pooled connections each
    /// process of this node may open (the listener is one more).
    pub max_connections: usize,
    /// The connections of this role the server holds, its limit and the
    /// server's `max_connections`.
    pub role_open: i64,
    pub role_limit: Option<i64>,
    pub server_max: i64,
    pub nodes: Vec<NodeStatus>,
}

impl<'h> crate::hub::Node<'h> {
    pub async fn fleet_status(self) -> Result<FleetStatus, HubError> {
        let nodes = self.fleet()?.nodes(self.lease_ms()).await?;
        let instances = self.store.list_instances(self.lease_ms()).await?;
        let server = self.store.server_connections().await?.unwrap_or_default();
        let connections_of = |node: &str| {
            let name = format!("claude-comms:{node}");
            server
                .by_application
                .iter()
                .filter(|a| a.application_name == name)
                .fold(NodeConnections::default(), |sum, a| NodeConnections {
                    open: sum.open + a.open,
                    active: sum.active + a.active,
                })
        };
        Ok(FleetStatus {
            this_node: self.config().config.fleet.node_name(),
            lease_s: self.config().config.fleet.lease_s,
            max_connections: self.config().config.store.max_connections,
            role_open: server.role_open,
            role_limit: server.role_limit,
            server_max: server.server_max,
            nodes: nodes
                .into_iter()
                .map(|n| NodeStatus {
                    connections: connections_of(&n.record.name),
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
