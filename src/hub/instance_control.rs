//! Instances across processes: every server records its instances in the
//! shared database (see [`super::liveness`]); any face of any process (MCP
//! tools, the CLI, the dashboard) stops, pauses, resumes or restarts one with
//! [`Instances::control`](crate::hub::Instances::control). The owner acts at once when it is this
//! process; otherwise a request row in the store asks it, and it writes back
//! the instance's new status. The request and its result each wake the
//! other side with a notice (nothing is polled: a slow re-read covers a
//! lost notice): PostgreSQL's `NOTIFY`, or on SQLite, whose processes share
//! one machine, the data directory's doorbell. Only where no notice can be
//! had (no socket could be bound) does the owner look every [`CONTROL_POLL`].
//! The store is the one path because it is the one thing every process that
//! owns instances shares, wherever it runs.

use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::HubError;
use super::liveness::STALE_AFTER;
use crate::instances::InstanceStatus;
use crate::store::InstanceRecord;

/// Where the store gives no notices: how often a server looks for control
/// requests addressed to it.
pub const CONTROL_POLL: Duration = Duration::from_millis(250);

/// Where a notice says a control request is done: how often its asker
/// looks anyway (a notice lost in a reconnect, a full socket queue).
const CONTROL_RECHECK: Duration = Duration::from_secs(1);

/// How long an operator waits for the owning server to act.
const CONTROL_WAIT: Duration = Duration::from_secs(10);

/// The most a control result may take in the store: the owner's status
/// of the instance, with its stderr tail cut from the oldest line to fit.
pub(super) const MAX_CONTROL_RESULT_BYTES: usize = crate::store::limits::MAX_NOTE_BYTES;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ControlAction {
    Stop,
    Pause,
    Resume,
    /// A fresh child for the instance (same id and profile).
    Restart,
}

impl ControlAction {
    pub fn as_str(self) -> &'static str {
        match self {
            ControlAction::Stop => "stop",
            ControlAction::Pause => "pause",
            ControlAction::Resume => "resume",
            ControlAction::Restart => "restart",
        }
    }
}

impl std::str::FromStr for ControlAction {
    type Err = String;

    fn from_str(s: &str) -> Result<ControlAction, String> {
        [
            ControlAction::Stop,
            ControlAction::Pause,
            ControlAction::Resume,
            ControlAction::Restart,
        ]
        .into_iter()
        .find(|a| a.as_str() == s)
        .ok_or_else(|| format!("unknown action \"{s}\" (actions: stop, pause, resume, restart)"))
    }
}

/// One instance as any process sees it.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct InstanceRow {
    pub server_id: String,
    pub server_pid: u32,
    pub hostname: String,
    /// False when the owning server stopped or stopped beating.
    pub server_alive: bool,
    /// The module the owning server was started for.
    pub server_module: Option<String>,
    /// Seconds since the instance's child started (from `started_at`).
    pub uptime_s: Option<u64>,
    /// In a fleet: the node whose daemon runs it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    pub instance: InstanceRecord,
}

impl<'h> crate::hub::Instances<'h> {
    /// The instances of every server that shares the database.
    pub async fn all(self) -> Result<Vec<InstanceRow>, HubError> {
        let stale = STALE_AFTER.as_millis() as i64;
        let rows = self.store.list_instances(stale).await?;
        // In a fleet, each daemon is a node: name the node of each server.
        let nodes = if self.node().in_a_fleet() {
            self.node().fleet()?.nodes(self.lease_ms()).await?
        } else {
            Vec::new()
        };
        let now = crate::time::now_ms();
        Ok(rows
            .into_iter()
            .map(|(server, instance)| InstanceRow {
                node: nodes
                    .iter()
                    .find(|n| n.record.server_id == server.record.id)
                    .map(|n| n.record.name.clone()),
                server_id: server.record.id,
                server_pid: server.record.pid,
                hostname: server.record.hostname,
                server_alive: server.alive,
                server_module: server.record.module,
                uptime_s: instance
                    .started_at
                    .map(|started| ((now - started).max(0) / 1000) as u64),
                instance,
            })
            .collect())
    }

    /// Stops, pauses, resumes or restarts an instance of this or another
    /// server; the instance's status after the action.
    pub async fn control(
        self,
        id: &str,
        action: ControlAction,
    ) -> Result<InstanceStatus, HubError> {
        if self.instance_pool().status(id).is_ok() {
            return self.control_local(id, action).await;
        }
        let row = self.live_instance_row(id).await?;
        let text = self.await_control(&row, action.as_str()).await?;
        serde_json::from_str(&text).map_err(|e| {
            HubError::Fleet(format!(
                "server pid {} answered the {} request with an unreadable status: {e}",
                row.server_pid,
                action.as_str()
            ))
        })
    }

    /// The instance `id` (its id, name, or an id prefix of 8 characters or
    /// more) of any process that shares the store, whose owner still runs.
    pub(super) async fn live_instance_row(self, id: &str) -> Result<InstanceRow, HubError> {
        let row = self
            .instances()
            .all()
            .await?
            .into_iter()
            .find(|r| {
                r.instance.id == id
                    || r.instance.name.as_deref() == Some(id)
                    || (id.len() >= 8 && r.instance.id.starts_with(id))
            })
            .ok_or_else(|| HubError::not_found(super::Thing::Instance, id))?;
        if !row.server_alive {
            return Err(HubError::BadRequest(format!(
                "instance \"{id}\" belonged to server pid {} which is no longer running",
                row.server_pid
            )));
        }
        Ok(row)
    }

    /// Asks the owner of `row`'s instance to carry out `action` on it and
    /// waits (bounded) for its answer: the result text of a request it
    /// carried out, its error as a bad request otherwise.
    pub(super) async fn await_control(
        self,
        row: &InstanceRow,
        action: &str,
    ) -> Result<String, HubError> {
        // Subscribed before asking, so the answer's notice is not missed.
        let mut notices = self.store.notices();
        let request = self
            .store
            .request_control(&row.server_id, &row.instance.id, action)
            .await?;
        let deadline = tokio::time::Instant::now() + CONTROL_WAIT;
        loop {
            if let Some((ok, text)) = self.store.control_result(request).await? {
                return if ok {
                    Ok(text)
                } else {
                    Err(HubError::BadRequest(text))
                };
            }
            if tokio::time::Instant::now() >= deadline {
                let verb = action.split(' ').next().unwrap_or(action);
                return Err(HubError::BadRequest(format!(
                    "server pid {}{} did not act on the {verb} request within {}s",
                    row.server_pid,
                    row.node
                        .as_deref()
                        .map(|n| format!(" on node {n}"))
                        .unwrap_or_default(),
                    CONTROL_WAIT.as_secs()
                )));
            }
            // The owner's notice wakes this (a slow re-read
            // covers a lost one); without notices it is looked for again.
            let recheck = if notices.is_some() {
                CONTROL_RECHECK
            } else {
                CONTROL_POLL
            };
            let done = super::fleet::next_notice(
                &mut notices,
                |notice| matches!(notice, crate::store::Notice::ControlDone { id } if id == request),
            );
            tokio::select! {
                _ = done => {}
                _ = tokio::time::sleep(recheck) => {}
            }
        }
    }

    async fn control_local(
        self,
        id: &str,
        action: ControlAction,
    ) -> Result<InstanceStatus, HubError> {
        match action {
            ControlAction::Stop => self.stop_instance(id).await,
            ControlAction::Pause => self.pause_instance(id).await,
            ControlAction::Resume => self.resume_instance(id).await,
            ControlAction::Restart => self.restart_instance(id).await,
        }
    }

    /// Carries out the control requests other processes addressed to this server.
    pub(super) async fn serve_control_requests(self) -> Result<(), HubError> {
        let requests = self.store.take_control_requests(self.server_id()).await?;
        for request in requests {
            let result = if let Some(history) = super::fleet::watch_request(&request.action) {
                self.arc().start_watch(&request.instance_id, history).await
            } else {
                match request.action.parse::<ControlAction>() {
                    Ok(action) => self
                        .control_local(&request.instance_id, action)
                        .await
                        .map(status_for_the_store),
                    Err(e) => Err(HubError::BadRequest(e)),
                }
            };
            let (ok, text) = match result {
                Ok(text) => (true, text),
                Err(e) => (false, e.to_string()),
            };
            self.store.finish_control(request.id, ok, &text).await?;
            self.node().beat().await?;
        }
        Ok(())
    }
}

/// An instance's status as JSON within [`MAX_CONTROL_RESULT_BYTES`]: the
/// oldest stderr lines go first (the status itself is small).
fn status_for_the_store(mut status: InstanceStatus) -> String {
    loop {
        let text = serde_json::to_string(&status).unwrap_or_default();
        if text.len() <= MAX_CONTROL_RESULT_BYTES || status.stderr_tail.is_empty() {
            return text;
        }
        status.stderr_tail.remove(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_status_with_a_huge_stderr_tail_is_cut_to_fit_and_stays_readable() {
        let status: InstanceStatus = serde_json::from_value(serde_json::json!({
            "instance_id": "mcp-1", "backend": "claude-code-mcp", "state": "ready",
            "pid": 7, "module": null, "conversation_id": null, "pairs": [],
            "started_ms": 0, "uptime_s": 0, "requests_served": 0, "in_flight": 0,
            "queued": 0, "restarts": 0, "last_error": null,
            "stderr_tail": (0..20).map(|i| format!("{i} {}", "x".repeat(8000))).collect::<Vec<_>>(),
            "session_id": null
        }))
        .unwrap();
        let text = status_for_the_store(status);
        assert!(text.len() <= MAX_CONTROL_RESULT_BYTES, "{}", text.len());
        let back: InstanceStatus = serde_json::from_str(&text).unwrap();
        assert_eq!(back.instance_id, "mcp-1");
        assert!(!back.stderr_tail.is_empty() && back.stderr_tail.len() < 20);
        assert!(
            back.stderr_tail.last().unwrap().starts_with("19 "),
            "the newest lines stay"
        );
    }
}
