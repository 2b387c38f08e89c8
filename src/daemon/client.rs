//! Reaching the daemon: find it (or start it, with `hub = "auto"`) and
//! connect an MCP client to its socket. What the client's handler does with
//! the daemon's notifications (progress, resource updates) is the caller's.

use std::path::{Path, PathBuf};
use std::time::Duration;

use std::sync::Arc;

use rmcp::service::RunningService;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::common::client_side_sse::ExponentialBackoff;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::{ClientHandler, RoleClient, ServiceExt};

use super::{DaemonPaths, HubPolicy, SOCKET_URI, lifecycle};
use crate::config::LoadedConfig;

/// How long connecting to a daemon's socket may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Times a broken response stream is resumed before the call fails. rmcp's
/// default tries forever with doubling delays, so a call whose daemon died
/// was never answered; a live daemon on a local socket resumes at once.
const STREAM_RESUMES: usize = 3;

#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    #[error("no claude-comms daemon listens on {0} (start one with `claude-comms daemon start`)")]
    NotRunning(String),
    #[error("the claude-comms daemon could not be started: {0}")]
    StartFailed(String),
    #[error("cannot talk to the claude-comms daemon on {socket}: {why}")]
    Connect { socket: String, why: String },
}

/// The daemon's socket this process should use, starting the daemon when
/// the policy says so; `None` for `hub = "embedded"`.
pub async fn daemon_socket(config: &LoadedConfig) -> Result<Option<PathBuf>, DaemonError> {
    let policy = HubPolicy::parse(&config.config.hub).map_err(DaemonError::StartFailed)?;
    let paths = DaemonPaths::of(config);
    match policy {
        HubPolicy::Embedded => Ok(None),
        HubPolicy::Socket(socket) => {
            if listening(&socket).await {
                Ok(Some(socket))
            } else {
                Err(DaemonError::NotRunning(socket.display().to_string()))
            }
        }
        HubPolicy::Auto => {
            if !listening(&paths.socket).await {
                lifecycle::start(config, config.config.daemon.idle_exit_s)
                    .await
                    .map_err(|e| DaemonError::StartFailed(format!("{e:#}")))?;
            }
            Ok(Some(paths.socket))
        }
    }
}

/// Whether something accepts connections on `socket`.
pub async fn listening(socket: &Path) -> bool {
    tokio::net::UnixStream::connect(socket).await.is_ok()
}

/// An MCP client session with the daemon on `socket`.
pub async fn connect<H: ClientHandler>(
    socket: &Path,
    handler: H,
) -> Result<RunningService<RoleClient, H>, DaemonError> {
    let failed = |why: String| DaemonError::Connect {
        socket: socket.display().to_string(),
        why,
    };
    let mut config = StreamableHttpClientTransportConfig::with_uri(SOCKET_URI);
    let mut resume = ExponentialBackoff::default();
    resume.max_times = Some(STREAM_RESUMES);
    resume.base_duration = Duration::from_millis(100);
    resume.max_delay = Some(Duration::from_secs(1));
    config.retry_config = Arc::new(resume);
    let transport = StreamableHttpClientTransport::from_unix_socket_with_config(
        &socket.display().to_string(),
        config,
    );
    tokio::time::timeout(CONNECT_TIMEOUT, handler.serve(transport))
        .await
        .map_err(|_| failed(format!("no answer within {}s", CONNECT_TIMEOUT.as_secs())))?
        .map_err(|e| failed(e.to_string()))
}
