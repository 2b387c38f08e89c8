//! The daemon link: how any process finds, starts, checks and calls the
//! daemon of its data dir. The hub uses it to route work (`hub = "auto"`),
//! the CLI to start, stop and show the daemon, and the daemon itself to
//! hold its lock and announce where it listens. It sits below the hub and
//! knows nothing of it; the daemon process (`crate::daemon`) is a face above.
//!
//! * [`client`]: an MCP client of the daemon, started on demand (`hub = "auto"`).
//! * [`lifecycle`]: `daemon start` (detach, wait until it answers), `stop`, `status`.
//! * [`lock`]: one daemon per data dir.
//! * [`peer`]: which process serves a socket, and whether it still runs.
//! * [`build`]: the build id a client and its daemon compare.
//!
//! One daemon per data dir: `daemon.lock` is held with `flock` for the
//! daemon's lifetime, so a daemon that crashed leaves no stale lock (the
//! kernel drops it with the process); `daemon.json` says where it listens.

pub mod build;
pub mod client;
mod error;
pub use error::{LinkError, full_text};
pub mod lifecycle;
pub mod lock;
pub mod peer;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::config::daemon::HubPolicy;

/// The files of the daemon of one data dir.
#[derive(Debug, Clone)]
pub struct DaemonPaths {
    pub socket: PathBuf,
    pub lock: PathBuf,
    /// Held by the command that is starting a daemon on demand.
    pub start_lock: PathBuf,
    pub state: PathBuf,
    pub log: PathBuf,
}

impl DaemonPaths {
    pub fn of(config: &crate::config::LoadedConfig) -> DaemonPaths {
        let data = &config.paths.data_dir;
        let socket = match (
            &config.config.daemon.socket,
            HubPolicy::parse(&config.config.hub),
        ) {
            (_, Ok(HubPolicy::Socket(path))) => path,
            (Some(socket), _) => {
                crate::expand::expand_path(socket).unwrap_or_else(|_| PathBuf::from(socket))
            }
            (None, _) => data.join("daemon.sock"),
        };
        DaemonPaths {
            socket,
            lock: data.join("daemon.lock"),
            start_lock: data.join("daemon.start.lock"),
            state: data.join("daemon.json"),
            log: data.join("daemon.log"),
        }
    }
}

/// What a running daemon writes to `daemon.json` once it answers.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DaemonInfo {
    pub pid: u32,
    /// The Unix socket it serves MCP on.
    pub socket: String,
    /// Unix ms.
    pub started_at: i64,
    pub version: String,
    /// The build id of its executable (see `build`); empty from a daemon
    /// older than build ids.
    #[serde(default)]
    pub build: String,
    /// Started on demand (`hub = "auto"`), not by hand: such a daemon makes
    /// way for a client of another build once it is idle.
    #[serde(default)]
    pub on_demand: bool,
    /// The executable it was started from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exe: Option<String>,
    /// Seconds without work before it exits (0: never).
    pub idle_exit_s: u64,
    /// The MCP endpoint for remote hosts (`https://127.0.0.1:8765/mcp`), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_url: Option<String>,
}

impl DaemonInfo {
    pub fn read(path: &Path) -> Option<DaemonInfo> {
        let text = std::fs::read_to_string(path).ok()?;
        serde_json::from_str(&text).ok()
    }
}

/// The URI the daemon's MCP endpoint has on its socket (the host part only
/// fills the `Host` header, which the server checks).
pub const SOCKET_URI: &str = "http://localhost/mcp";

/// Whether something accepts connections on `socket`.
pub async fn listening(socket: &Path) -> bool {
    tokio::net::UnixStream::connect(socket).await.is_ok()
}
