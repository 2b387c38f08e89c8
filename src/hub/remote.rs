//! The hub of a process that is not the daemon: with `hub = "auto"` (or a
//! daemon's socket) the work that needs children (sending, instance
//! control, cancelling a job) is carried out by the daemon, through its MCP
//! tools; everything else (modules, conversations, search, jobs' state) is
//! read from the shared database here. Faces call the same `Hub` methods
//! either way.
//!
//! A daemon that goes away fails only the requests in flight, with a clear
//! error; the next request reconnects (starting a new daemon under `auto`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use rmcp::model::{
    CallToolRequest, CallToolRequestParams, CancelledNotificationParam, ClientRequest,
    ProgressNotificationParam, ProgressToken, ServerResult,
};
use rmcp::service::{NotificationContext, PeerRequestOptions, RunningService};
use rmcp::{ClientHandler, RoleClient, ServiceError};
use serde::de::DeserializeOwned;
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use super::HubError;
use super::messaging::{SendOutcome, SendRequest};
use crate::config::LoadedConfig;
use crate::daemon::client;
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

/// The daemon as this process's hub sees it.
pub(crate) struct RemoteHub {
    config: LoadedConfig,
    link: tokio::sync::Mutex<Option<RunningService<RoleClient, Relay>>>,
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

    /// The live connection, (re)connecting (and under `auto` starting a
    /// daemon) when there is none.
    async fn peer(&self) -> Result<rmcp::Peer<RoleClient>, HubError> {
        let mut link = self.link.lock().await;
        if let Some(service) = link.as_ref()
            && !service.peer().is_transport_closed()
        {
            return Ok(service.peer().clone());
        }
        let socket = client::daemon_socket(&self.config)
            .await
            .map_err(|e| HubError::Daemon(e.to_string()))?
            .ok_or_else(|| {
                HubError::Daemon("hub = \"embedded\": there is no daemon to use".into())
            })?;
        let service = client::connect(&socket, self.relay.clone())
            .await
            .map_err(|e| HubError::Daemon(e.to_string()))?;
        let peer = service.peer().clone();
        *link = Some(service);
        Ok(peer)
    }

    /// Calls one of the daemon's tools. Progress goes to `progress`;
    /// `cancel` cancels the call (and the work) at the daemon.
    pub async fn call<T: DeserializeOwned>(
        &self,
        tool: &str,
        args: Value,
        progress: Option<ProgressSink>,
        cancel: &CancellationToken,
    ) -> Result<T, HubError> {
        let Value::Object(arguments) = args else {
            return Err(HubError::Internal(
                "tool arguments must be an object".into(),
            ));
        };
        let peer = self.peer().await?;
        let request = ClientRequest::CallToolRequest(CallToolRequest::new(
            CallToolRequestParams::new(tool.to_string()).with_arguments(arguments),
        ));
        let handle = match peer
            .send_cancellable_request(request, PeerRequestOptions::no_options())
            .await
        {
            Ok(handle) => handle,
            Err(e) => {
                self.forget_link().await;
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
        };
        self.listeners().remove(&token);
        let response = match response {
            Ok(response) => response,
            Err(ServiceError::McpError(e)) => return Err(HubError::Daemon(e.message.to_string())),
            Err(e) => {
                self.forget_link().await;
                return Err(lost(tool, e));
            }
        };
        let ServerResult::CallToolResult(result) = response else {
            return Err(HubError::Daemon(format!(
                "the daemon answered {tool} with something other than a tool result"
            )));
        };
        if result.is_error == Some(true) {
            let text = result
                .content
                .iter()
                .filter_map(|c| c.as_text().map(|t| t.text.as_str()))
                .collect::<Vec<_>>()
                .join("\n");
            return Err(HubError::Daemon(text));
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

    async fn forget_link(&self) {
        if let Some(service) = self.link.lock().await.take() {
            let _ = service.cancel().await;
        }
    }

    pub async fn close(&self) {
        self.forget_link().await;
    }
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
            return Err(HubError::Internal("no daemon is used".into()));
        };
        self.check_message(&request.message)?;
        // The daemon has no module of its own: the asker is decided here.
        let source = match (&request.source, &request.conversation_id) {
            (Some(source), _) => Some(source.clone()),
            (None, None) => Some(self.resolve_source(None)?),
            (None, Some(_)) => None,
        };
        let args = serde_json::json!({
            "source": source,
            "target": request.target,
            "message": request.message,
            "conversation_id": request.conversation_id,
            "timeout_s": request.timeout_s,
            "idempotency_key": request.idempotency_key,
            "reuse": request.reuse,
            "wait": wait,
        });
        let progress = if wait { request.progress.clone() } else { None };
        let outcome: SendOutcome = remote
            .call("send_message", args, progress, &request.cancel)
            .await?;
        self.messages_changed();
        Ok(outcome)
    }
}
