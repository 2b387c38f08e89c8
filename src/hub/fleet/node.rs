//! A daemon as a node of the fleet: it joins (refused when its name is
//! taken by a live node or the fleet runs another schema), beats (renewing
//! the leases of what it holds, ending the leases of dead nodes), and
//! claims the questions to the modules it hosts, woken by the store's
//! notices, with a slow re-scan as the safety net.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use crate::hub::{Hub, HubError};
use crate::store::{LeaseExpired, NodeRecord, Notice};

/// The slow safety net: look for unclaimed questions this often even
/// when no notice came.
const RESCAN_EVERY: Duration = Duration::from_secs(5);

/// Joins the fleet and serves as a node until `stop`. Returns an error at
/// once when the node may not join (the daemon then does not start).
pub async fn run_node(
    hub: Arc<Hub>,
    address: Option<String>,
    stop: CancellationToken,
) -> Result<(), HubError> {
    let name = hub.config().config.fleet.node_name();
    let lease_ms = hub.lease_ms();
    let record = NodeRecord {
        name: name.clone(),
        server_id: hub.server_id().to_string(),
        address,
        version: env!("CARGO_PKG_VERSION").to_string(),
        schema_version: crate::store::SCHEMA_VERSION,
        started_at: crate::time::now_ms(),
        modules: hub.node().hosted_modules(),
    };
    hub.node().fleet()?.register_node(&record, lease_ms).await?;
    // Modules registered here before this node joined (or while it was
    // away) are shared again; the others' arrive through the sync.
    for module in hub.modules().user_registered() {
        if let Err(e) = hub.share_descriptor(&module).await {
            tracing::warn!(%module, error = %e, "cannot share a descriptor with the fleet");
        }
    }
    let syncing = hub.clone();
    let sync_stop = stop.clone();
    hub.spawn_until_shutdown(
        async move { super::descriptors::sync_forever(syncing, sync_stop).await },
    );
    tracing::info!(node = %name, modules = ?record.modules, "joined the fleet");
    let beating = hub.clone();
    let beat_stop = stop.clone();
    hub.spawn_until_shutdown(async move { beat(beating, beat_stop).await });
    let claiming = hub.clone();
    hub.spawn_until_shutdown(async move { claim(claiming, stop).await });
    Ok(())
}

/// Every third of a lease: the node's heartbeat, then the sweep of
/// expired leases (any live node may end a dead node's claims).
async fn beat(hub: Arc<Hub>, stop: CancellationToken) {
    let name = hub.config().config.fleet.node_name();
    let lease_ms = hub.lease_ms();
    let every = Duration::from_millis((lease_ms / 3).max(500) as u64);
    // Started by `run_node` once the node joined: the store has a fleet.
    let Ok(fleet) = hub.node().fleet() else {
        return;
    };
    loop {
        let modules = hub.node().hosted_modules();
        match fleet
            .node_heartbeat(&name, hub.server_id(), &modules, lease_ms)
            .await
        {
            Ok(true) => {}
            Ok(false) => {
                tracing::error!(node = %name, "another process has taken this node's name; this node no longer claims questions")
            }
            Err(e) => {
                tracing::warn!(node = %name, error = %e, "heartbeat failed; leases held here may run out")
            }
        }
        match fleet.expire_leases(&hub.node().requeue_modules()).await {
            Ok(expired) => {
                for e in expired {
                    match e {
                        LeaseExpired::Interrupted { query_id, node } => {
                            tracing::warn!(query = %query_id, %node, "lease ran out; the question is interrupted")
                        }
                        LeaseExpired::Requeued { query_id, node } => {
                            tracing::warn!(query = %query_id, %node, "lease ran out; the read-only question is queued again")
                        }
                    }
                }
            }
            Err(e) => tracing::debug!(error = %e, "lease sweep failed"),
        }
        tokio::select! {
            _ = stop.cancelled() => break,
            _ = tokio::time::sleep(every) => {}
        }
    }
}

/// Claims as many questions as it has free slots (never more: a node
/// holds only what it runs, so a node that dies takes down no more than it
/// was running), then waits for a notice about one of its modules, a slot
/// coming free while questions may wait, or the slow re-scan.
async fn claim(hub: Arc<Hub>, stop: CancellationToken) {
    let name = hub.config().config.fleet.node_name();
    let lease_ms = hub.lease_ms();
    let slots = Arc::new(Semaphore::new(hub.node().answer_slots()));
    // Started by `run_node` once the node joined: the store has a fleet.
    let Ok(fleet) = hub.node().fleet() else {
        return;
    };
    let mut notices = Some(fleet.notices());
    loop {
        let hosted = hub.node().hosted_modules();
        let mut full = false;
        loop {
            if stop.is_cancelled() {
                return;
            }
            let free = slots.available_permits();
            if free == 0 {
                full = true;
                break;
            }
            match fleet.claim_queries(&name, &hosted, lease_ms, free).await {
                Ok(claimed) => {
                    let all_taken = claimed.len() == free;
                    for question in claimed {
                        let Ok(slot) = slots.clone().try_acquire_owned() else {
                            // Cannot happen (only this loop takes slots);
                            // the lease ends the question if it did.
                            tracing::error!(query = %question.query.id, "no free slot for a claimed question");
                            continue;
                        };
                        let answering = hub.clone();
                        hub.spawn_job(async move {
                            answering.answer_claimed(question).await;
                            drop(slot);
                        });
                    }
                    if !all_taken {
                        break;
                    }
                }
                Err(e) => {
                    tracing::warn!(node = %name, error = %e, "cannot claim questions");
                    break;
                }
            }
        }
        let wake = super::next_notice(
            &mut notices,
            |notice| matches!(notice, Notice::Question { target } if hosted.contains(&target)),
        );
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = wake => {}
            _ = slots.acquire(), if full => {}
            _ = tokio::time::sleep(RESCAN_EVERY) => {}
        }
    }
}

impl<'h> crate::hub::Node<'h> {
    /// Marks this node stopped in the fleet (a clean stop). Nothing to do
    /// outside a fleet; a failure is logged (the lease covers it).
    pub async fn leave_fleet(self) {
        let Some(fleet) = self.store.fleet() else {
            return;
        };
        let name = self.config().config.fleet.node_name();
        if let Err(e) = fleet.stop_node(&name, self.server_id()).await {
            tracing::warn!(node = %name, error = %e, "could not mark this node stopped; the others see it gone after its lease");
        }
    }

    /// The modules this node hosts: those whose folder is on this machine.
    /// And the A2A agents pinned to this node (`a2a.node`): it asks them
    /// for the whole fleet.
    pub fn hosted_modules(self) -> Vec<String> {
        let this_node = self.config().config.fleet.node_name();
        self.modules()
            .registry()
            .names()
            .filter(|m| match self.a2a_endpoint(m) {
                Some(endpoint) => endpoint.node.as_deref() == Some(this_node.as_str()),
                None => self
                    .modules()
                    .folder(m)
                    .map(|f| f.is_dir())
                    .unwrap_or(false),
            })
            .map(str::to_string)
            .collect()
    }

    /// How many routed questions this node runs at once: `[fleet] slots`,
    /// else what its backend runs at once (claude-code-mcp: children x
    /// requests per child; claude-stream: warm processes).
    fn answer_slots(self) -> usize {
        let config = &self.config().config;
        config
            .fleet
            .slots
            .unwrap_or_else(|| match config.instances.backend {
                crate::config::BackendKind::ClaudeCodeMcp => {
                    let mcp = &config.instances.claude_code_mcp;
                    mcp.pool_max.max(1) * mcp.max_in_flight.max(1)
                }
                crate::config::BackendKind::ClaudeStream => {
                    config.instances.claude_stream.max_warm.max(1)
                }
            })
            .max(1)
    }

    /// The modules whose questions may be queued again when their node
    /// dies: read-only ones, when `fleet.retry_read_only` is on.
    fn requeue_modules(self) -> Vec<String> {
        if !self.config().config.fleet.retry_read_only {
            return Vec::new();
        }
        self.modules()
            .registry()
            .names()
            .filter(|m| self.modules().policy(m).mode == crate::config::permissions::Mode::ReadOnly)
            .map(str::to_string)
            .collect()
    }
}
