//! `claude-comms fleet status`: every node of the fleet that shares this
//! store (PostgreSQL), what it hosts and holds.

use clap::Subcommand;

use super::output::Output;
use super::when::ago;
use crate::hub::Hub;

#[derive(Debug, Subcommand)]
pub enum FleetCommand {
    /// Every node: address, version, last heartbeat, hosted modules,
    /// instances and questions in flight.
    Status,
}

pub async fn run(hub: &Hub, cmd: FleetCommand, out: &Output) -> anyhow::Result<i32> {
    match cmd {
        FleetCommand::Status => status(hub, out).await,
    }
}

/// `fleet status`: one row a node, then the connections of this role.
async fn status(hub: &Hub, out: &Output) -> anyhow::Result<i32> {
    let status = hub.node().fleet_status().await?;
    if out.json {
        out.json(&status)?;
        return Ok(0);
    }
    let now = crate::time::now_ms();
    let rows: Vec<Vec<String>> = status
        .nodes
        .iter()
        .map(|n| {
            vec![
                n.name.clone(),
                if n.alive {
                    "live".into()
                } else if n.stopped {
                    "stopped".into()
                } else {
                    "lost".into()
                },
                n.address.clone().unwrap_or_else(|| "-".into()),
                n.version.clone(),
                // Measured by the database's clock, not this machine's.
                ago(now - n.heard_ms_ago, now),
                n.modules.join(","),
                n.instances.to_string(),
                n.in_flight.to_string(),
                format!("{}/{}", n.connections.active, n.connections.open),
            ]
        })
        .collect();
    out.table(
        &[
            "NODE",
            "STATE",
            "ADDRESS",
            "VERSION",
            "HEARD",
            "MODULES",
            "INSTANCES",
            "IN FLIGHT",
            "CONNS",
        ],
        &rows,
    )?;
    let limit = status
        .role_limit
        .map_or("no role limit".to_string(), |l| format!("role limit {l}"));
    out.line(format!(
        "connections: CONNS is active/open per node; {} open for this role ({limit}, server max_connections {}); each process here keeps at most {} ([store] max_connections) + 1 listener",
        status.role_open, status.server_max, status.max_connections
    ))?;
    Ok(0)
}
