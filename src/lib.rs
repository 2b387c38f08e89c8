//! # claude-comms
//!
//! An MCP server that lets the modules of a software system (a PDF extractor,
//! a graph-database service, ...) talk to each other through Claude agents.
//!
//! ```text
//!  host (Claude Code / Desktop)   remote host, A2A client   operator     Rust program
//!        │ JSON-RPC over stdio     │ Streamable HTTP, A2A      │ CLI          │
//!        ▼                         ▼ + token                   ▼              ▼
//!   mcp (serve) ◄── daemon (socket, TCP face: mcp, console, a2a) ◄── cli, setup   Communicator   faces
//!        └────────────────┬─────────┴───────────────────┴───────────┘
//!                         ▼
//!                       hub::Hub  (the one library API, typed end to end)       hub
//!      ┌──────────┬──────────┼────────────┬─────────────┬──────────────┐
//!      ▼          ▼          ▼            ▼             ▼              ▼
//!   context   instances    policy     daemon_link     descriptor      store
//!  (prompt)  (children)  (what an     (find, start,   (who is who)  (a contract,
//!                         agent may    call the                      two backends)
//!                         do)          daemon)
//!            a2a_link (claude-comms as an A2A client: A2A agents as modules)
//!                          config (the TOML; reads the store's own settings)
//!            store: StoreBackend over SQLite or PostgreSQL; the fleet
//!                   (FleetQueue) is a capability of PostgreSQL alone
//!        leaves: host, redact, time, expand, workspace (import no folder)
//! ```
//!
//! Layers read top-down and never back up: faces (`a2a` among them) →
//! hub → the concerns beneath it (`a2a_link` among them) → config →
//! store and descriptor (whose settings types config reads) → the leaf
//! modules. No two folders import each other, directly
//! or round a longer loop, no face imports `store` or `instances` (the hub
//! re-exports the types they need), and `anyhow` stays in `main.rs` and
//! `cli/` (every other module returns its own error type, keeping the
//! error beneath as its source): `tests/offline/layers.rs` checks all three,
//! and that no file of `src/` is over 500 lines.
//! Among the faces, `cli` runs the daemon and `setup`, and the daemon
//! serves `mcp` over HTTP; none of them is imported back.
//!
//! * [`mcp`]: the MCP server (tools, resources, prompts, tasks) over a stdio
//!   transport that answers malformed lines with proper JSON-RPC errors.
//! * [`cli`]: the operator's commands, tables and `--json`.
//! * [`daemon`]: the hub daemon process (one per data dir, owner of every
//!   child) and its faces: a Unix socket for this user's processes and a
//!   TCP face (Streamable HTTP, TLS, module tokens) for hosts elsewhere.
//! * [`a2a`]: the A2A 1.0 face on the daemon's TCP face (`/a2a/{module}`):
//!   every module as an A2A agent (cards, JSON-RPC, SSE); a task is a
//!   question, a `contextId` a conversation.
//! * [`console`]: the web console on the daemon's TCP face (`/console`):
//!   server-rendered pages of the fleet, jobs, conversations, graph, costs
//!   and instances, signed in with a token.
//! * [`Communicator`]: the same operations for Rust programs, in a few lines.
//! * [`setup`]: installing the pinned child and writing its command (it
//!   reuses the hub's doctor checks).
//! * [`hub`]: the operations every face calls, as eight services
//!   (`hub.messaging()`, `conversations()`, `jobs()`, `instances()`,
//!   `modules()`, `tokens()`, `node()`, `maintenance()`); the only door to
//!   the store and the instances.
//! * [`context`]: the prompt that tells the answering agent who it is, who
//!   asks and what was said, within a token budget.
//! * [`instances`]: every child process (scheduling, supervision, limits).
//! * [`policy`]: least privilege for answering agents (per-module modes,
//!   their Claude Code settings, the exec shim, tool-use records).
//! * [`a2a_link`]: claude-comms as an A2A client, for modules whose
//!   descriptor names an A2A agent (`a2a: {url, token_env}`).
//! * [`daemon_link`]: how a process finds, starts, checks and calls the
//!   daemon of its data dir (the hub routes work through it).
//! * [`config`]: the TOML configuration and where each value came from;
//!   the store's settings (`[store]`, its location) are the store's types.
//! * [`descriptor`]: module descriptors (YAML/JSON, checked against the JSON
//!   Schema in `schemas/`) and the registry that answers "who can consume what".
//! * [`store`]: a contract (the async `StoreBackend`, behind
//!   [`store::Store`]) with two backends, SQLite (`store/sqlite/`) and
//!   PostgreSQL (`store/postgres/`), each holding all of its own SQL; its
//!   API and errors name neither database. The fleet (nodes, claims,
//!   leases, notices: `FleetQueue`) is a capability that only the
//!   PostgreSQL backend has.
//! * Leaves, importing no folder: [`host`] (this machine's name, which
//!   processes live), [`redact`] (what never reaches a log, an error or an
//!   export), [`time`], [`expand`] (`~` and variables in paths),
//!   [`workspace`] (a module folder's git state).
//!
//! Nothing in this crate writes to stdout except the MCP transport and the
//! CLI's own output; logs go to stderr through `tracing`.

#![deny(clippy::print_stdout, clippy::print_stderr)]
// `unwrap_used` and `expect_used` are denied for every target by the
// `[lints.clippy]` table of Cargo.toml; unit tests may unwrap.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod a2a;
pub mod a2a_link;
pub mod cli;
pub mod communicator;
pub mod config;
pub mod console;
pub mod context;
pub mod daemon;
pub mod daemon_link;
pub mod descriptor;
pub mod expand;
pub mod host;
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
