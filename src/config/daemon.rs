//! `[daemon]` and the `hub` policy: where the CLI and `serve` send their
//! work, and how the daemon listens. Plain data, read with the rest of the
//! config; [`crate::daemon`] runs the daemon they describe.

use std::path::PathBuf;

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
    /// A session (protocols before 2026-07-28) without requests for this
    /// many seconds is ended, on both faces; its client gets 404 and
    /// initializes again.
    pub session_idle_s: u64,
    /// The most sessions one token holds on the TCP face; opening one more
    /// ends that token's least recently used session.
    pub sessions_per_token: usize,
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
            session_idle_s: 300,
            sessions_per_token: 16,
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
