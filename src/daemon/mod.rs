//! The hub daemon: one long-lived process per data dir that owns every
//! child process, the store writer and the live events. It serves the same
//! MCP server as `serve` (the same `Hub` underneath) over Streamable HTTP on
//! a Unix socket in the data dir that only its user can reach (0600), so the
//! CLI, every `serve` and the Rust `Communicator` share one pool of warm
//! instances and one view of jobs.
//!
//! * [`run`]: the daemon process itself (lock, socket, idle exit, shutdown).
//! * [`lifecycle`]: `daemon start` (detach, wait until it answers), `stop`, `status`.
//! * [`client`]: an MCP client of the daemon, started on demand (`hub = "auto"`).
//! * [`peer`]: which process serves a socket, and whether it still runs.
//! * [`build`]: the build id a client and its daemon compare.
//!
//! One daemon per data dir: `daemon.lock` is held with `flock` for the
//! daemon's lifetime, so a daemon that crashed leaves no stale lock (the
//! kernel drops it with the process); `daemon.json` says where it listens.

mod auth;
pub mod build;
pub mod client;
mod http;
pub mod lifecycle;
pub mod peer;
pub mod run;
mod tls;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Overrides the `hub` key of the config.
pub const HUB_ENV: &str = "CLAUDE_COMMS_HUB";

/// The daemon's settings (`[daemon]` in config.toml).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DaemonConfig {
    /// A daemon started on demand (`hub = "auto"`) exits after this many
    /// seconds without requests, jobs or busy instances; 0 keeps it.
    pub idle_exit_s: u64,
    /// The socket's path; defaults to `<data dir>/daemon.sock`.
    pub socket: Option<String>,
    /// Also serve MCP over Streamable HTTP at `http(s)://ADDR/mcp` for
    /// hosts on other machines, such as "127.0.0.1:8765" or
    /// "0.0.0.0:8765". Every request there needs a token (`tokens create`).
    pub listen: Option<String>,
    /// PEM certificate chain and private key: serve HTTPS (rustls).
    /// Required to listen on a non-loopback address unless
    /// `allow_plain_http` is set.
    pub tls_cert: Option<String>,
    pub tls_key: Option<String>,
    /// Plain HTTP on a non-loopback address, for a daemon behind a reverse
    /// proxy that terminates TLS. Tokens are still required.
    pub allow_plain_http: bool,
    /// Host names (or host:port) hosts use to reach the daemon, checked
    /// against each request's `Host` header (DNS rebinding); loopback names
    /// and the listen address are always accepted.
    pub allowed_hosts: Vec<String>,
    /// Browser origins allowed to call (scheme://host:port). Empty: any
    /// request that carries an `Origin` header is refused (hosts that are
    /// not browsers send none).
    pub allowed_origins: Vec<String>,
}

impl Default for DaemonConfig {
    fn default() -> Self {
        DaemonConfig {
            idle_exit_s: 1800,
            socket: None,
            listen: None,
            tls_cert: None,
            tls_key: None,
            allow_plain_http: false,
            allowed_hosts: Vec::new(),
            allowed_origins: Vec::new(),
        }
    }
}

/// Where the CLI and `serve` send their work.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HubPolicy {
    /// A running daemon, else start one.
    Auto,
    /// This process owns its children; no daemon.
    Embedded,
    /// The daemon listening on this socket (it is not started on demand).
    Socket(PathBuf),
}

impl HubPolicy {
    pub fn parse(text: &str) -> Result<HubPolicy, String> {
        match text.trim() {
            "auto" => Ok(HubPolicy::Auto),
            "embedded" => Ok(HubPolicy::Embedded),
            path if path.starts_with('/') => Ok(HubPolicy::Socket(PathBuf::from(path))),
            other => Err(format!(
                "hub: \"{other}\" is not a hub policy: use \"auto\" (a running daemon, else start one), \"embedded\" (no daemon) or the absolute path of a daemon's socket"
            )),
        }
    }
}

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
