//! The hub daemon: one long-lived process per data dir that owns every
//! child process, the store writer and the live events. It serves the same
//! MCP server as `serve` (the same `Hub` underneath) over Streamable HTTP on
//! a Unix socket in the data dir that only its user can reach (0600), so the
//! CLI, every `serve` and the Rust `Communicator` share one pool of warm
//! instances and one view of jobs.
//!
//! * [`run`]: the daemon process itself (lock, socket, idle exit, shutdown).
//! * `http`, `auth`, `sessions`, `request_checks`, `tls`, `tcp`: its two
//!   faces (the socket, and the TCP face for remote hosts) and what guards
//!   them.
//!
//! How other processes find, start, check and call it is
//! [`crate::daemon_link`], a layer below the hub (which uses it); this
//! folder is a face above the hub (which it serves).

mod auth;
mod error;
mod http;
mod request_checks;
pub mod run;
mod sessions;
mod tcp;
mod tls;

pub use crate::daemon_link::{DaemonInfo, DaemonPaths, SOCKET_URI};
pub use error::RunError;
pub use tls::TlsError;
// The settings live with the rest of the config (the config layer sits
// below every face); they are re-exported here where daemon code reads them.
pub use crate::config::daemon::{DaemonConfig, HUB_ENV, HubPolicy};
