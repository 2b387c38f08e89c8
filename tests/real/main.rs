//! The end-to-end tier: the real children (claude-code-mcp and the `claude`
//! CLI) against the stand-in model on 127.0.0.1. Every test here is
//! #[ignore]d for a bare `cargo test` and run by scripts/test.sh, which
//! installs the children first and fails if they are missing.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test stops at its first failed step"
)]

#[path = "../common/mod.rs"]
mod common;
#[path = "../support/daemon_cli.rs"]
mod daemon_cli;
#[path = "../support/fleet_nodes.rs"]
mod fleet_nodes;
#[path = "../support/http_raw.rs"]
mod http_raw;
#[path = "../support/model_stub.rs"]
mod model_stub;
#[path = "../support/pg_cluster.rs"]
mod pg_cluster;
#[path = "../support/real_children.rs"]
mod real_children;
#[path = "../support/token_proxy.rs"]
mod token_proxy;
#[path = "../support/webdriver.rs"]
mod webdriver;

// fleet_nodes includes serve_process; one copy serves every test.
use fleet_nodes::serve_process;

mod a2a;
mod a2a_fleet;
mod a2a_modules;
mod ask_back;
mod ask_back_faces;
mod ask_back_python;
mod conformance;
mod console_browser;
mod conversations;
mod daemon;
mod fleet;
mod host;
mod http_host;
mod instances;
mod ledger;
mod named_stream;
mod permissions;
mod plugin;
mod setup;
mod standby;
