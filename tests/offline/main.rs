//! The offline tier: every test that needs no Node and no `claude` CLI (the
//! in-repo fake child stands in). One binary, not one per file: each test
//! binary links the whole crate, and forty of them filled CI's disk.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test stops at its first failed step"
)]

#[path = "../common/mod.rs"]
mod common;
#[path = "../support/console_http.rs"]
mod console_http;
#[path = "../support/daemon_cli.rs"]
mod daemon_cli;
#[path = "../support/http_raw.rs"]
mod http_raw;
#[path = "../support/serve_process.rs"]
mod serve_process;
#[path = "../store_suite/mod.rs"]
mod store_suite;

mod a2a_agents_fake;
mod a2a_face;
mod ask_back_fake;
mod ask_back_mrtr;
mod ask_back_wake;
mod bad_input;
mod cli_conversations;
mod cli_doctor;
mod cli_modules;
mod cli_modules_draft;
mod cli_modules_init;
mod cli_operator;
mod cli_permissions;
mod cli_setup;
mod commit_pinned;
mod communicator;
mod console;
mod conversations_fake;
mod daemon_build;
mod daemon_errors;
mod daemon_fake;
mod daemon_link;
mod dashboard_pty;
mod example_script;
mod faults;
mod hardening_children;
mod history_fake;
mod http_foreign_ids;
mod http_hardening;
mod http_remote;
mod http_tls_revisions;
mod instances_fake;
mod jobs_fake;
mod layers;
mod ledger_fake;
mod listen_fake;
mod mcp_server;
mod packaging;
mod policy_shim;
mod properties;
mod protocol_revisions;
mod registry;
mod serve_binary;
mod standards_http;
mod store_copy;
mod store_suite_sqlite;
mod tasks_fake;
