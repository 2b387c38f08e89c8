//! `[fleet]`: a daemon whose store is PostgreSQL is a node of one fleet.
//! It hosts the modules whose folders it has, claims the questions to
//! them from the shared store, and holds each claimed question under a
//! lease its heartbeat renews.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FleetConfig {
    /// This node's name in the fleet (default: the host name). A second
    /// live node with the same name is refused at start.
    pub node: Option<String>,
    /// A claimed question's lease: when its node has not renewed it for
    /// this many seconds (the node died or lost the database), the
    /// question is `interrupted` and its asker told.
    pub lease_s: u64,
    /// A question to a module whose policy is `read-only` is queued again,
    /// once, for another node when its lease runs out (a read-only question
    /// changes nothing, so asking again is safe). Off by default.
    pub retry_read_only: bool,
    /// Routed questions this node runs at once: it claims no more than it
    /// has free slots, so a node that dies takes down only what it was
    /// running. Default: what its backend runs at once
    /// (`claude_code_mcp.pool_max` x `max_in_flight`, or
    /// `claude_stream.max_warm`).
    pub slots: Option<usize>,
}

impl Default for FleetConfig {
    fn default() -> Self {
        FleetConfig {
            node: None,
            lease_s: 15,
            retry_read_only: false,
            slots: None,
        }
    }
}

impl FleetConfig {
    /// This node's name: `node`, else the host name.
    pub fn node_name(&self) -> String {
        self.node
            .clone()
            .filter(|n| !n.trim().is_empty())
            .unwrap_or_else(crate::host::this_hostname)
    }
}

pub(super) fn validate(fleet: &FleetConfig) -> Result<(), String> {
    if let Some(node) = &fleet.node
        && (node.trim().is_empty()
            || node.len() > 64
            || !node
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
    {
        return Err(format!(
            "fleet.node `{node}`: a node name is 1-64 letters, digits, '-', '_' or '.'"
        ));
    }
    if !(3..=3600).contains(&fleet.lease_s) {
        return Err(format!(
            "fleet.lease_s is {}; it must be between 3 and 3600 seconds",
            fleet.lease_s
        ));
    }
    if let Some(slots) = fleet.slots
        && !(1..=1024).contains(&slots)
    {
        return Err(format!(
            "fleet.slots is {slots}; it must be between 1 and 1024 questions at once"
        ));
    }
    Ok(())
}
