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

use super::peer::DaemonProcess;
use super::{DaemonInfo, DaemonPaths, SOCKET_URI, build, lifecycle, listening};
use crate::config::LoadedConfig;
use crate::config::daemon::HubPolicy;

/// How long a daemon of another build asked to make way may take to show
/// that it is stopping (it stops at once when idle); a busy one is used
/// meanwhile.
const MAKE_WAY_WAIT: Duration = Duration::from_secs(2);
/// How long a daemon that is stopping to make way may take to exit.
const MAKE_WAY_EXIT: Duration = Duration::from_secs(30);
/// Between checks while waiting.
const POLL: Duration = Duration::from_millis(25);

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
                // Given by its socket: never replaced from here.
                if let Some(other) = build::other_build_daemon(&paths) {
                    tracing::warn!("{}", build::note(&other));
                }
                Ok(Some(socket))
            } else {
                Err(DaemonError::NotRunning(socket.display().to_string()))
            }
        }
        HubPolicy::Auto => {
            let start = || async {
                lifecycle::start(config, config.config.daemon.idle_exit_s, true)
                    .await
                    .map_err(|e| DaemonError::StartFailed(super::full_text(&e)))
            };
            if !listening(&paths.socket).await {
                start().await?;
            } else if let Some(other) = build::other_build_daemon(&paths) {
                if build::may_replace(&other) && made_way(&paths, &other).await {
                    tracing::info!("the daemon of another build made way; starting this build's");
                    start().await?;
                } else {
                    tracing::warn!("{}", build::note(&other));
                }
            }
            Ok(Some(paths.socket))
        }
    }
}

/// Asks the daemon of another build `other`, started on demand, to make way
/// (SIGUSR1: it stops once idle). True once it has exited; false when it
/// is busy (it stops later, when its work is done) or cannot be asked.
async fn made_way(paths: &DaemonPaths, other: &DaemonInfo) -> bool {
    // Only the process that really listens on the socket is signalled.
    let Some(daemon) = DaemonProcess::behind(&paths.socket)
        .await
        .filter(|d| d.pid == other.pid)
    else {
        return false;
    };
    let pid = nix::unistd::Pid::from_raw(daemon.pid as i32);
    if nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGUSR1).is_err() {
        return false;
    }
    let asked = tokio::time::Instant::now();
    while daemon.is_alive() {
        // It stops listening as soon as it starts stopping.
        let stopping = !listening(&paths.socket).await;
        if (!stopping && asked.elapsed() >= MAKE_WAY_WAIT) || asked.elapsed() >= MAKE_WAY_EXIT {
            return false;
        }
        tokio::time::sleep(POLL).await;
    }
    true
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
