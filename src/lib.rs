//! # claude-comms
//!
//! An MCP server that lets the modules of a software system (a PDF extractor,
//! a graph-database service, ...) talk to each other through Claude agents.
//!
//! ```text
//!  host (Claude Code / Desktop)   remote host        operator     Rust program
//!        │ JSON-RPC over stdio     │ Streamable HTTP    │ CLI          │
//!        ▼                         ▼ + module token     ▼              ▼
//!   mcp (serve) ───────┐   daemon (socket, TCP face)   cli    Communicator      faces
//!                      ▼          ▼                     ▼          ▼
//!                    hub::Hub  (the one library API, typed end to end)         hub
//!      ┌─────────────┬──────────┼────────────┬──────────────┬─────────────┐
//!      ▼             ▼          ▼            ▼              ▼             ▼
//!  descriptor    context      store      instances        policy     daemon_link
//!  (who is who)  (prompt)   (SQLite;   (children that    (what an     (find, start,
//!                            the one    answer)           agent may    call the daemon)
//!                            interface)                   do)
//!                                       config (below them all)
//! ```
//!
//! Layers read top-down and never back up: faces → hub → the concerns
//! beneath it → config. No two folders import each other.
//!
//! * [`mcp`]: the MCP server (tools, resources, prompts, tasks) over a stdio
//!   transport that answers malformed lines with proper JSON-RPC errors.
//! * [`cli`]: the operator's commands, tables and `--json`.
//! * [`daemon`]: the hub daemon process (one per data dir, owner of every
//!   child) and its faces: a Unix socket for this user's processes and a
//!   TCP face (Streamable HTTP, TLS, module tokens) for hosts elsewhere.
//! * [`console`]: the web console on the daemon's TCP face (`/console`):
//!   server-rendered pages of the fleet, jobs, conversations, graph, costs
//!   and instances, signed in with a token.
//! * [`Communicator`]: the same operations for Rust programs, in a few lines.
//! * [`hub`]: the operations every face calls; the only door to the store
//!   and the instances (the faces import neither).
//! * [`descriptor`]: module descriptors (YAML/JSON, checked against the JSON
//!   Schema in `schemas/`) and the registry that answers "who can consume what".
//! * [`context`]: the prompt that tells the answering agent who it is, who
//!   asks and what was said, within a token budget.
//! * [`store`]: the store interface (async [`store::Store`]) over its
//!   backends (SQLite in `store/sqlite/`, where every SQL statement lives);
//!   its API and errors carry nothing of SQLite, so another backend can
//!   take its place.
//! * [`instances`]: every child process (scheduling, supervision, limits).
//! * [`policy`]: least privilege for answering agents (per-module modes,
//!   their Claude Code settings, the exec shim, tool-use records).
//! * [`daemon_link`]: how a process finds, starts, checks and calls the
//!   daemon of its data dir (the hub routes work through it).
//! * [`setup`]: installing the pinned child and writing its command.
//! * [`config`]: the TOML configuration and where each value came from.
//! * [`redact`]: what never reaches a log, an error or an export.
//!
//! Nothing in this crate writes to stdout except the MCP transport and the
//! CLI's own output; logs go to stderr through `tracing`.

#![deny(clippy::print_stdout, clippy::print_stderr)]
// `unwrap_used` and `expect_used` are denied for every target by the
// `[lints.clippy]` table of Cargo.toml; unit tests may unwrap.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod cli;
pub mod communicator;
pub mod config;
pub mod console;
pub mod context;
pub mod daemon;
pub mod daemon_link;
pub mod descriptor;
pub mod expand;
pub mod hub;
pub mod instances;
pub mod logging;
pub mod mcp;
pub mod policy;
pub mod redact;
pub mod setup;
pub mod store;
pub mod time;
pub mod workspace;

pub use communicator::Communicator;
