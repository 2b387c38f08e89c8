//! Descriptors are fleet-wide: a module registered (or removed) on any
//! node is shared through the store, and every node keeps the others'
//! descriptors in `<data dir>/fleet-descriptors/`, which its registry
//! reads after the shipped ones and before its own (see
//! `descriptor/load.rs`). A shared copy carries no `path`: a folder means
//! something only on the machine that has it, so another node's module is
//! hosted there and asked through the fleet.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::hub::{Hub, HubError};
use crate::store::Notice;

/// The slow safety net of the sync (a notice lost in a reconnect).
const RESYNC_EVERY: Duration = Duration::from_secs(5);

impl Hub {
    /// Shares a module this process registered with the fleet (nothing to
    /// do outside one).
    pub(in crate::hub) async fn share_descriptor(&self, name: &str) -> Result<(), HubError> {
        if !self.node().in_a_fleet() {
            return Ok(());
        }
        let mut value = serde_json::to_value(self.modules().descriptor(name)?)
            .map_err(|e| HubError::Internal(format!("descriptor {name}: {e}")))?;
        if let Some(fields) = value.as_object_mut() {
            fields.remove("path");
        }
        let node = self.config().config.fleet.node_name();
        self.node()
            .fleet()?
            .publish_descriptor(name, &node, &value.to_string(), false)
            .await?;
        Ok(())
    }

    /// Withdraws a module this process removed from the fleet.
    pub(in crate::hub) async fn withdraw_descriptor(&self, name: &str) -> Result<(), HubError> {
        if !self.node().in_a_fleet() {
            return Ok(());
        }
        let node = self.config().config.fleet.node_name();
        self.node()
            .fleet()?
            .publish_descriptor(name, &node, "{}", true)
            .await?;
        Ok(())
    }

    /// Writes the other nodes' descriptors into this node's fleet folder,
    /// changing only what changed (each change reloads the registry).
    async fn sync_descriptors(&self) -> Result<(), HubError> {
        let Some(dir) = self.config().descriptor_sources().fleet_dir else {
            return Ok(());
        };
        let me = self.config().config.fleet.node_name();
        let wanted: BTreeMap<String, String> = self
            .node()
            .fleet()?
            .fleet_descriptors()
            .await?
            .into_iter()
            .filter(|d| !d.removed && d.node != me)
            .map(|d| (format!("{}.json", d.name), d.descriptor))
            .collect();
        tokio::task::spawn_blocking(move || write_folder(&dir, &wanted))
            .await
            .map_err(|e| HubError::Internal(format!("the descriptor sync failed: {e}")))?
            .map_err(|e| HubError::Fleet(format!("the fleet's descriptor folder: {e}")))
    }
}

/// Makes `dir` hold exactly `wanted` (file name -> text).
fn write_folder(dir: &std::path::Path, wanted: &BTreeMap<String, String>) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let name = path.file_name().map(|n| n.to_string_lossy().to_string());
        if name
            .as_ref()
            .is_some_and(|n| n.ends_with(".json") && !wanted.contains_key(n))
        {
            std::fs::remove_file(&path)?;
        }
    }
    for (name, text) in wanted {
        let path = dir.join(name);
        if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
            crate::descriptor::write_atomically(&path, text.as_bytes())?;
        }
    }
    Ok(())
}

/// A node's sync of the fleet's descriptors: at once, on every notice,
/// and every few seconds as the safety net.
pub(super) async fn sync_forever(hub: Arc<Hub>, stop: CancellationToken) {
    // Started by `run_node` once the node joined: the store has a fleet.
    let Ok(fleet) = hub.node().fleet() else {
        return;
    };
    let mut notices = Some(fleet.notices());
    loop {
        if let Err(e) = hub.sync_descriptors().await {
            tracing::warn!(error = %e, "cannot sync the fleet's descriptors");
        }
        // A module registered here (by any process on this data dir) is
        // hosted here from now on: say so at once, not at the next beat.
        let modules = hub.node().hosted_modules();
        let name = hub.config().config.fleet.node_name();
        if let Err(e) = fleet
            .node_heartbeat(&name, hub.server_id(), &modules, hub.lease_ms())
            .await
        {
            tracing::debug!(error = %e, "heartbeat after a descriptor change failed");
        }
        let wake = super::next_notice(&mut notices, |notice| matches!(notice, Notice::Descriptors));
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = wake => {}
            _ = tokio::time::sleep(RESYNC_EVERY) => {}
        }
    }
}
