//! The CLI's way to the hub daemon: commands whose work must outlive the
//! command or share warm instances (`send`, `instances start`, `jobs
//! cancel`) call the daemon's MCP tools when the `hub` policy uses one;
//! reads go to the shared database directly and never start a daemon.

use std::path::Path;

use rmcp::model::{CallToolRequest, CallToolRequestParams, ClientRequest, ServerResult};
use rmcp::service::{PeerRequestOptions, RunningService};
use rmcp::{RoleClient, ServiceError};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::config::LoadedConfig;
use crate::daemon::client;

/// Why a call to the daemon gave no value.
#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    /// The tool answered with an error (its text is for the user).
    #[error("{0}")]
    Tool(String),
    #[error(
        "the claude-comms daemon went away during this request: {0}; ask again (`claude-comms jobs list` shows whether it was answered)"
    )]
    Lost(String),
    #[error("{0}")]
    Other(String),
}

/// A connection to the daemon.
pub struct Daemon {
    service: RunningService<RoleClient, ()>,
}

impl Daemon {
    /// Connects to the daemon when the `hub` policy uses one (starting it
    /// for `auto`); `None` for `hub = "embedded"`.
    pub async fn when_used(config: &LoadedConfig) -> anyhow::Result<Option<Daemon>> {
        let Some(socket) = client::daemon_socket(config).await? else {
            return Ok(None);
        };
        Ok(Some(Daemon::connect(&socket).await?))
    }

    pub async fn connect(socket: &Path) -> anyhow::Result<Daemon> {
        Ok(Daemon {
            service: client::connect(socket, ()).await?,
        })
    }

    /// Calls a tool; Ctrl-C cancels the call at the daemon (and the work
    /// at the child).
    pub async fn call<T: DeserializeOwned>(
        &self,
        tool: &str,
        args: Value,
    ) -> Result<T, RemoteError> {
        let arguments = match args {
            Value::Object(map) => map,
            _ => {
                return Err(RemoteError::Other(
                    "tool arguments must be an object".into(),
                ));
            }
        };
        let request = ClientRequest::CallToolRequest(CallToolRequest::new(
            CallToolRequestParams::new(tool.to_string()).with_arguments(arguments),
        ));
        let handle = self
            .service
            .peer()
            .send_cancellable_request(request, PeerRequestOptions::no_options())
            .await
            .map_err(lost)?;
        let id = handle.id.clone();
        let response = tokio::select! {
            response = handle.await_response() => response.map_err(lost)?,
            _ = tokio::signal::ctrl_c() => {
                let _ = self.service.peer().notify_cancelled(
                    rmcp::model::CancelledNotificationParam::new(
                        Some(id),
                        Some("the user pressed Ctrl-C".into()),
                    ),
                ).await;
                return Err(RemoteError::Tool("cancelled (Ctrl-C)".into()));
            }
        };
        let ServerResult::CallToolResult(result) = response else {
            return Err(RemoteError::Other(
                "the daemon answered with something other than a tool result".into(),
            ));
        };
        if result.is_error == Some(true) {
            let text = result
                .content
                .iter()
                .filter_map(|c| c.as_text().map(|t| t.text.as_str()))
                .collect::<Vec<_>>()
                .join("\n");
            return Err(RemoteError::Tool(text));
        }
        let value = result.structured_content.unwrap_or(Value::Null);
        serde_json::from_value(value).map_err(|e| {
            RemoteError::Other(format!("the daemon's answer to {tool} did not parse: {e}"))
        })
    }

    pub async fn close(self) {
        let _ = self.service.cancel().await;
    }
}

fn lost(e: ServiceError) -> RemoteError {
    match e {
        ServiceError::McpError(e) => RemoteError::Tool(e.message.to_string()),
        other => RemoteError::Lost(other.to_string()),
    }
}
