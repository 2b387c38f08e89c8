//! The hub of a process that is not the daemon: with `hub = "auto"` (or a
//! daemon's socket) the work that needs children (sending, instance
//! control, cancelling a job) is carried out by the daemon, through its MCP
//! tools; everything else (modules, conversations, search, jobs' state) is
//! read from the shared database here. Faces call the same `Hub` methods
//! either way.
//!
//! A daemon that goes away (stopped or killed) fails only the requests in
//! flight, as soon as its process has exited and saying so; the next request
//! reconnects (starting a new daemon under `auto`). Each call watches the
//! daemon's process rather than trusting the HTTP stream to break. A failed
//! call comes back as the daemon's own `HubError` (QueryFailed, NotFound,
//! a bad argument, ...), not as text: see `daemon_ops::DaemonFailure`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use rmcp::model::{
    CallToolRequest, CallToolRequestParams, CallToolResult, CancelledNotificationParam,
    ClientRequest, ProgressNotificationParam, ProgressToken, ServerResult,
};
use rmcp::service::{NotificationContext, PeerRequestOptions, RunningService};
use rmcp::{ClientHandler, RoleClient, ServiceError};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use super::HubError;
use super::daemon_ops::{DaemonFailure, DaemonOp, FAILURE_META, SEND_MESSAGE, SendMessageArgs};
use super::send_types::{SendOutcome, SendRequest};
use crate::config::LoadedConfig;
use crate::daemon_link::client;
use crate::daemon_link::peer::DaemonProcess;
use crate::instances::{Progress, ProgressSink};

/// Progress sinks of the calls in flight, by the token the daemon sees.
type Listeners = Arc<Mutex<HashMap<ProgressToken, ProgressSink>>>;

/// Relays the daemon's progress notifications to the callers' sinks.
#[derive(Clone, Default)]
struct Relay {
    listeners: Listeners,
}

impl ClientHandler for Relay {
    async fn on_progress(
        &self,
        params: ProgressNotificationParam,
        _context: NotificationContext<RoleClient>,
    ) {
        let sink = self
            .listeners
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&params.progress_token)
            .cloned();
        if let (Some(sink), Some(message)) = (sink, params.message) {
            sink(Progress { message });
        }
    }
}

/// A session with one daemon process.
struct Link {
    service: RunningService<RoleClient, Relay>,
    /// The process that serves it (`None` if the kernel would not say).
    daemon: Option<DaemonProcess>,
}

impl Link {
    fn usable(&self) -> bool {
        !self.service.peer().is_transport_closed() && self.daemon.is_none_or(|d| d.is_alive())
    }
}

/// The daemon as this process's hub sees it.
pub(crate) struct RemoteHub {
    config: LoadedConfig,
    link: tokio::sync::Mutex<Option<Link>>,
    relay: Relay,
}

impl RemoteHub {
    pub fn new(config: LoadedConfig) -> RemoteHub {
        RemoteHub {
            config,
            link: tokio::sync::Mutex::new(None),
            relay: Relay::default(),
        }
    }

    /// The live connection and its daemon, (re)connecting (and under
    /// `auto` starting a daemon) when there is none or its daemon is gone.
    async fn peer(&self) -> Result<(rmcp::Peer<RoleClient>, Option<DaemonProcess>), HubError> {
        let mut link = self.link.lock().await;
        if let Some(live) = link.as_ref().filter(|l| l.usable()) {
            return Ok((live.service.peer().clone(), live.daemon));
        }
        if let Some(dead) = link.take() {
            let _ = dead.service.cancel().await;
        }
        let socket = client::daemon_socket(&self.config)
            .await
            .map_err(|e| HubError::Daemon(e.to_string()))?
            .ok_or_else(|| {
                HubError::Daemon("hub = \"embedded\": there is no daemon to use".into())
            })?;
        let daemon = DaemonProcess::behind(&socket).await;
        let service = client::connect(&socket, self.relay.clone())
            .await
            .map_err(|e| HubError::Daemon(e.to_string()))?;
        let peer = service.peer().clone();
        *link = Some(Link { service, daemon });
        Ok((peer, daemon))
    }

    /// Calls one of the daemon's tools. Progress goes to `progress`;
    /// `cancel` cancels the call (and the work) at the daemon.
    pub async fn call<Args: Serialize, Output: DeserializeOwned>(
        &self,
        op: &DaemonOp<Args, Output>,
        args: &Args,
        progress: Option<ProgressSink>,
        cancel: &CancellationToken,
    ) -> Result<Output, HubError> {
        let tool = op.tool;
        let Ok(Value::Object(arguments)) = serde_json::to_value(args) else {
            return Err(HubError::Internal(format!(
                "the arguments of {tool} are not a JSON object"
            )));
        };
        let (peer, daemon) = self.peer().await?;
        let request = ClientRequest::CallToolRequest(CallToolRequest::new(
            CallToolRequestParams::new(tool.to_string()).with_arguments(arguments),
        ));
        let handle = match peer
            .send_cancellable_request(request, PeerRequestOptions::no_options())
            .await
        {
            Ok(handle) => handle,
            Err(e) => {
                self.forget_link_to(daemon).await;
                return Err(lost(tool, e));
            }
        };
        let (id, token) = (handle.id.clone(), handle.progress_token.clone());
        if let Some(sink) = progress {
            self.listeners().insert(token.clone(), sink);
        }
        let response = tokio::select! {
            response = handle.await_response() => response,
            _ = cancel.cancelled() => {
                let _ = peer
                    .notify_cancelled(CancelledNotificationParam::new(
                        Some(id),
                        Some("cancelled by the caller".into()),
                    ))
                    .await;
                self.listeners().remove(&token);
                return Err(HubError::Instance(crate::instances::InstanceError::Cancelled));
            }
            _ = exited(daemon) => {
                self.listeners().remove(&token);
                self.forget_link_to(daemon).await;
                return Err(daemon_exited(tool, daemon));
            }
        };
        self.listeners().remove(&token);
        let response = match response {
            Ok(response) => response,
            Err(ServiceError::McpError(e)) => return Err(HubError::Daemon(e.message.to_string())),
            Err(e) => {
                self.forget_link_to(daemon).await;
                return Err(lost(tool, e));
            }
        };
        let ServerResult::CallToolResult(result) = response else {
            return Err(HubError::Daemon(format!(
                "the daemon answered {tool} with something other than a tool result"
            )));
        };
        if result.is_error == Some(true) {
            return Err(failure_of(&result));
        }
        serde_json::from_value(result.structured_content.unwrap_or(Value::Null)).map_err(|e| {
            HubError::Daemon(format!("the daemon's answer to {tool} did not parse: {e}"))
        })
    }

    fn listeners(&self) -> std::sync::MutexGuard<'_, HashMap<ProgressToken, ProgressSink>> {
        self.relay
            .listeners
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    /// Drops the link to `daemon`, unless another call has already
    /// replaced it with a link to a new daemon.
    async fn forget_link_to(&self, daemon: Option<DaemonProcess>) {
        let mut link = self.link.lock().await;
        if link.as_ref().is_some_and(|l| l.daemon == daemon)
            && let Some(link) = link.take()
        {
            let _ = link.service.cancel().await;
        }
    }

    pub async fn close(&self) {
        if let Some(link) = self.link.lock().await.take() {
            let _ = link.service.cancel().await;
        }
    }
}

/// The error a failed tool result stands for: the typed failure the
/// daemon put in its `_meta`, rebuilt, so faces branch on it as they do in
/// process; else (a failure no face treats apart) its text.
fn failure_of(result: &CallToolResult) -> HubError {
    let carried = result
        .meta
        .as_ref()
        .and_then(|meta| meta.0.get(FAILURE_META))
        .and_then(|value| serde_json::from_value::<DaemonFailure>(value.clone()).ok());
    if let Some(carried) = carried {
        return carried.into_error();
    }
    let text = result
        .content
        .iter()
        .filter_map(|c| c.as_text().map(|t| t.text.as_str()))
        .collect::<Vec<_>>()
        .join("\n");
    HubError::Daemon(text)
}

/// Returns once `daemon` has exited; never when it is not known.
async fn exited(daemon: Option<DaemonProcess>) {
    match daemon {
        Some(daemon) => daemon.exited().await,
        None => std::future::pending().await,
    }
}

fn daemon_exited(tool: &str, daemon: Option<DaemonProcess>) -> HubError {
    let pid = daemon
        .map(|d| format!(" (pid {})", d.pid))
        .unwrap_or_default();
    HubError::Daemon(format!(
        "the claude-comms daemon{pid} stopped or was killed during {tool}; this request failed and was not retried (its job is recorded cancelled or interrupted: `claude-comms jobs list` shows it); the next request starts or reaches a new daemon"
    ))
}

fn lost(tool: &str, e: ServiceError) -> HubError {
    HubError::Daemon(format!(
        "the claude-comms daemon went away during {tool} ({e}); this request failed and was not retried (a question may still have been answered: get_reply or `claude-comms jobs list` shows it); the next request reconnects"
    ))
}

impl super::Hub {
    /// `send_message` carried out by the daemon (see `hub/remote.rs`).
    pub(super) async fn send_through_daemon(
        &self,
        request: SendRequest,
        wait: bool,
    ) -> Result<SendOutcome, HubError> {
        let Some(remote) = &self.remote else {
            return Err(HubError::NoDaemon);
        };
        self.messaging().check_message(&request.message)?;
        // The daemon has no module of its own: the asker is decided here.
        let source = match (&request.source, &request.conversation_id) {
            (Some(source), _) => Some(source.clone()),
            (None, None) => Some(self.messaging().resolve_source(None)?),
            (None, Some(_)) => None,
        };
        let args = SendMessageArgs {
            source,
            target: request.target.clone(),
            message: request.message.clone(),
            conversation_id: request.conversation_id.clone(),
            timeout_s: request.timeout_s,
            idempotency_key: request.idempotency_key.clone(),
            reuse: Some(request.reuse),
            wait: Some(wait),
        };
        let progress = if wait { request.progress.clone() } else { None };
        let outcome = remote
            .call(&SEND_MESSAGE, &args, progress, &request.cancel)
            .await?;
        self.messages_changed();
        Ok(outcome)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hub::{Argument, Thing};

    /// What the daemon's tool answers for `error`, read back by a routed hub.
    fn through_the_daemon(error: HubError) -> HubError {
        let result = crate::hub::daemon_ops::failure_result(&error);
        let wire = serde_json::to_value(&result).unwrap();
        failure_of(&serde_json::from_value(wire).unwrap())
    }

    #[test]
    fn a_failed_query_comes_back_typed_with_its_fields() {
        let rebuilt = through_the_daemon(HubError::QueryFailed {
            explanation: "for the agent".into(),
            reason: "the graph is down".into(),
            conversation_id: "c-1".into(),
            message_id: "m-1".into(),
        });
        let HubError::QueryFailed {
            explanation,
            reason,
            conversation_id,
            message_id,
        } = rebuilt
        else {
            panic!("not rebuilt as QueryFailed: {rebuilt:?}");
        };
        assert_eq!(
            (explanation, reason, conversation_id, message_id),
            (
                "for the agent".to_string(),
                "the graph is down".to_string(),
                "c-1".to_string(),
                "m-1".to_string()
            )
        );
    }

    #[test]
    fn the_failures_faces_branch_on_keep_their_variant_and_text() {
        let cases = [
            HubError::bad_argument(Argument::Target, "conversation c is between a and b, not x"),
            HubError::MissingArgument {
                argument: Argument::Source,
            },
            HubError::not_found(Thing::Instance, "i-9"),
            HubError::NotFound {
                thing: Thing::Job,
                id: "j-1".into(),
                module: Some("marker".into()),
            },
            HubError::OverBudget("marker has spent its 10 queries today".into()),
            HubError::Instance(crate::instances::InstanceError::Cancelled),
        ];
        for error in cases {
            let text = error.to_string();
            let kind = std::mem::discriminant(&error);
            let rebuilt = through_the_daemon(error);
            assert_eq!(std::mem::discriminant(&rebuilt), kind, "{rebuilt:?}");
            assert_eq!(rebuilt.to_string(), text);
        }
    }

    #[test]
    fn other_failures_come_back_as_their_text() {
        let rebuilt = through_the_daemon(HubError::BadRequest("job j is already delivered".into()));
        assert!(
            matches!(&rebuilt, HubError::Daemon(text) if text == "job j is already delivered"),
            "{rebuilt:?}"
        );
    }
}
