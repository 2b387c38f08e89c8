//! # claude-comms
//!
//! An MCP server that lets the modules of a software system (a PDF extractor,
//! a graph-database service, ...) talk to each other through Claude agents.
//!
//! ```text
//!  host (Claude Code / Desktop)          operator
//!        │ JSON-RPC over stdio               │ claude-comms <command>
//!        ▼                                   ▼
//!   mcp::server ─────────────┐      cli ─────┘
//!                            ▼      ▼
//!                          hub::Hub  (the one library API)
//!            ┌──────────────┼───────────────┬──────────────┐
//!            ▼              ▼               ▼              ▼
//!      descriptor::     context::       store::         instances::
//!      Registry         prompt for      SQLite:         children that
//!      (who is who)     the answerer    conversations   answer (claude-code-mcp,
//!                                       and messages    claude stream-json)
//! ```
//!
//! * [`descriptor`]: module descriptors (YAML/JSON, checked against the JSON
//!   Schema in `schemas/`) and the registry that answers "who can consume what".
//! * [`config`]: the TOML configuration and where each value came from.
//! * [`hub`]: the operations both front ends call; the only door to the
//!   store and the instances (the faces import neither).
//! * [`instances`]: every child process (scheduling, supervision, limits).
//! * [`store`]: every SQL statement (SQLite now; kept free of SQLite-only
//!   ideas in its API so another store can take its place).
//! * [`redact`]: what never reaches a log, an error or an export.
//! * [`Communicator`]: the same operations for Rust programs, in a few lines.
//! * [`mcp`]: the MCP server (tools, resources) over a stdio transport that
//!   answers malformed lines with proper JSON-RPC errors.
//!
//! Nothing in this crate writes to stdout except the MCP transport and the
//! CLI's own output; logs go to stderr through `tracing`.

#![deny(clippy::print_stdout, clippy::print_stderr)]
// A panic in a long-running daemon or a host's tool server is an outage:
// errors are values here. The few sites that cannot fail say why with
// `#[expect(..., reason = "...")]`. Tests may unwrap.
#![deny(clippy::unwrap_used, clippy::expect_used)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod cli;
pub mod communicator;
pub mod config;
pub mod context;
pub mod daemon;
pub mod descriptor;
pub mod expand;
pub mod hub;
pub mod instances;
pub mod logging;
pub mod mcp;
pub mod policy;
pub mod redact;
pub mod store;
pub mod time;
pub mod workspace;

pub use communicator::Communicator;
