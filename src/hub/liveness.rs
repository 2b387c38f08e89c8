//! This process as seen by other processes that share the database: a
//! server row with a heartbeat and the list of its instances, so that
//! `claude-comms instances list` in another terminal sees them, and so that
//! a starting server can tell a dead server's pending messages (interrupted)
//! from a live one's (still running).

use std::time::Duration;

use super::HubError;
use crate::instances::InstanceStatus;
use crate::store::{InstanceRecord, ServerRecord};

/// How often a server writes its heartbeat and instance list.
pub const HEARTBEAT_EVERY: Duration = Duration::from_secs(5);

/// Shortest gap between beats prompted by changes (see [`Node::beat_soon`](crate::hub::Node::beat_soon)).
pub const PROMPT_BEAT_GAP: Duration = Duration::from_secs(1);

/// A server whose heartbeat is older than this is dead, even if a process
/// with its pid exists (pids are reused). Three missed beats.
pub const STALE_AFTER: Duration = Duration::from_secs(15);

/// The [`Node`](crate::hub::Node) service's own state.
#[derive(Default)]
pub(super) struct NodeState {
    /// Set once this process is registered in the database; holds the
    /// number of interrupted messages recovered then, until first asked.
    announced: tokio::sync::OnceCell<std::sync::Mutex<usize>>,
    /// When the heartbeat was last written (unix ms, this machine's clock:
    /// only ever compared with itself).
    last_beat_ms: std::sync::atomic::AtomicI64,
}

impl NodeState {
    pub(super) fn is_announced(&self) -> bool {
        self.announced.initialized()
    }
}

impl<'h> crate::hub::Node<'h> {
    /// Announces this process in the database, marks what dead servers left
    /// pending as interrupted, and keeps the heartbeat going until
    /// [`Hub::shutdown`](crate::hub::Hub::shutdown). `serve` calls it at start; anything that sends a
    /// message calls it first (only the first call does anything), so every
    /// pending query has a live, beating owner.
    pub async fn announce(self) -> Result<usize, HubError> {
        let first = self
            .node_state
            .announced
            .get_or_try_init(|| self.announce_once())
            .await?;
        Ok(std::mem::take(
            &mut *first.lock().unwrap_or_else(|e| e.into_inner()),
        ))
    }

    async fn announce_once(self) -> Result<std::sync::Mutex<usize>, HubError> {
        let record = ServerRecord {
            id: self.server_id().to_string(),
            pid: std::process::id(),
            hostname: crate::host::this_hostname(),
            started_at: crate::time::now_ms(),
            module: self.default_module().map(str::to_string),
        };
        self.store.register_server(&record).await?;
        let recovered = self.end_dead_servers_work().await?;
        self.end_children_of_dead_servers().await;
        // Subscribed before the first look, so a request stored in between
        // is not missed.
        let mut notices = self.store.notices();
        let server_id = self.server_id().to_string();
        let hub = std::sync::Arc::downgrade(&self.arc());
        self.spawn_until_shutdown(async move {
            let mut next_beat = tokio::time::Instant::now() + HEARTBEAT_EVERY;
            loop {
                wait_for_control(&mut notices, &server_id, next_beat).await;
                let Some(hub) = hub.upgrade() else { return };
                if let Err(e) = hub.instances().serve_control_requests().await {
                    tracing::warn!(error = %e, "could not serve instance control requests");
                }
                if tokio::time::Instant::now() >= next_beat {
                    next_beat += HEARTBEAT_EVERY;
                    if let Err(e) = hub.node().beat().await {
                        tracing::warn!(error = %e, "could not write the heartbeat");
                    }
                    // Not only at start: a server that dies while every
                    // other keeps running must not leave its questions
                    // pending for good.
                    match hub.node().end_dead_servers_work().await {
                        Ok(0) => {}
                        Ok(_) => hub.node().end_children_of_dead_servers().await,
                        Err(e) => tracing::warn!(error = %e, "could not end what dead servers left pending"),
                    }
                }
            }
        });
        Ok(std::sync::Mutex::new(recovered))
    }

    /// Beats soon after the instance list changed (a send started a child,
    /// say), at most once per [`PROMPT_BEAT_GAP`], so other processes see
    /// instances without waiting for the next regular beat. A change within
    /// the gap is beaten at its end, not dropped (it would otherwise wait
    /// for the regular beat, 5 s).
    pub(super) fn beat_soon(self) {
        use std::sync::atomic::Ordering::Relaxed;
        if !self.node_state.is_announced() {
            return;
        }
        let now = crate::time::now_ms();
        let last = self.node_state.last_beat_ms.load(Relaxed);
        let wait_ms = PROMPT_BEAT_GAP.as_millis() as i64 - (now - last);
        let hub = self.arc();
        self.spawn_until_shutdown(async move {
            if wait_ms > 0 {
                tokio::time::sleep(std::time::Duration::from_millis(wait_ms as u64)).await;
                // A beat since the change reads the instance list after it.
                if hub.node_state.last_beat_ms.load(Relaxed) > now {
                    return;
                }
            }
            if let Err(e) = hub.node().beat().await {
                tracing::warn!(error = %e, "could not write the heartbeat");
            }
        });
    }

    /// Marks as interrupted what servers that stopped beating left
    /// pending (one statement for all of them; their liveness judged by the
    /// store's clock), and says how many.
    async fn end_dead_servers_work(self) -> Result<usize, HubError> {
        let stale = STALE_AFTER.as_millis() as i64;
        let recovered = self
            .store
            .recover_interrupted(self.server_id(), stale)
            .await?;
        if recovered > 0 {
            tracing::warn!(
                recovered,
                "messages left pending by a stopped server were marked interrupted"
            );
            self.messages_changed();
        }
        Ok(recovered)
    }

    /// Writes the heartbeat with the current instance list.
    pub async fn beat(self) -> Result<(), HubError> {
        self.node_state
            .last_beat_ms
            .store(crate::time::now_ms(), std::sync::atomic::Ordering::Relaxed);
        let id = self.server_id().to_string();
        let instances: Vec<InstanceRecord> =
            self.instance_pool().list().iter().map(record_of).collect();
        Ok(self.store.heartbeat(&id, instances).await?)
    }
}

fn record_of(s: &InstanceStatus) -> InstanceRecord {
    InstanceRecord {
        id: s.instance_id.clone(),
        name: s.name.clone(),
        backend: s.backend.as_str().to_string(),
        state: s.state.as_str().to_string(),
        pid: s.pid,
        module_pair: (!s.pairs.is_empty()).then(|| s.pairs.join(", ")),
        started_at: Some(s.started_ms),
        requests_served: s.requests_served as i64,
        in_flight: s.in_flight as i64,
        queued: s.queued as i64,
        restarts: s.restarts as i64,
        last_error: s.last_error.clone(),
        rss_kib: s.rss_kib,
    }
}

impl<'h> crate::hub::Node<'h> {
    /// Ends what a server that died on this host left running: each of its
    /// instances' children leads a process group of its own, which a dead
    /// server can no longer stop (a `claude` mid-request would otherwise
    /// run on until its model answers). A recorded pid is only signalled if
    /// it still leads its group and runs one of the configured commands, so
    /// a reused pid is left alone.
    async fn end_children_of_dead_servers(self) {
        let stale = STALE_AFTER.as_millis() as i64;
        let Ok(rows) = self.store.list_instances(stale).await else {
            return;
        };
        let here = crate::host::this_hostname();
        let commands: Vec<String> = [
            &self.config().config.instances.claude_code_mcp.command,
            &self.config().config.instances.claude_stream.command,
        ]
        .iter()
        .filter_map(|c| std::path::Path::new(c).file_name())
        .map(|n| n.to_string_lossy().into_owned())
        .collect();
        for (server, instance) in rows {
            if server.alive || server.record.hostname != here {
                continue;
            }
            let Some(pid) = instance.pid else { continue };
            if leads_own_group_running(pid, &commands) {
                tracing::warn!(pid, instance = %instance.id, "ending the child of a server that died");
                let _ = nix::sys::signal::killpg(
                    nix::unistd::Pid::from_raw(pid as i32),
                    nix::sys::signal::Signal::SIGKILL,
                );
            }
        }
    }
}

/// Whether `pid` leads its own process group and its command line names
/// one of `commands` (a child we started, not a reused pid).
fn leads_own_group_running(pid: u32, commands: &[String]) -> bool {
    let raw = nix::unistd::Pid::from_raw(pid as i32);
    if pid <= 1 || nix::unistd::getpgid(Some(raw)).ok() != Some(raw) {
        return false;
    }
    let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
        return false;
    };
    let cmdline = String::from_utf8_lossy(&cmdline);
    commands
        .iter()
        .any(|c| !c.is_empty() && cmdline.contains(c.as_str()))
}

/// Until a control request for this process may be waiting: its notice
/// (PostgreSQL's, or the SQLite data directory's doorbell; a reconnect
/// also wakes it), with the next heartbeat as the slow safety net, so no
/// process polls the table; where the store gives no notices, every
/// [`super::CONTROL_POLL`].
async fn wait_for_control(
    notices: &mut Option<tokio::sync::broadcast::Receiver<crate::store::Notice>>,
    server_id: &str,
    next_beat: tokio::time::Instant,
) {
    if notices.is_none() {
        tokio::time::sleep(super::CONTROL_POLL).await;
        return;
    }
    let wanted = super::fleet::next_notice(
        notices,
        |notice| matches!(notice, crate::store::Notice::ControlRequested { server_id: ours } if ours == server_id),
    );
    tokio::select! {
        _ = wanted => {}
        _ = tokio::time::sleep_until(next_beat) => {}
    }
}
