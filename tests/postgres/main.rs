//! The PostgreSQL tier: the store on a real PostgreSQL server, a
//! throw-away cluster per test (see tests/support/pg_cluster.rs). Without
//! PostgreSQL's server binaries these tests say so and pass as skipped,
//! unless CLAUDE_COMMS_REQUIRE_REAL=1 (scripts/test.sh, CI), which makes
//! that a failure naming the package to install.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test stops at its first failed step"
)]

#[path = "../support/fleet_nodes.rs"]
mod fleet_nodes;
#[path = "../support/http_raw.rs"]
mod http_raw;
#[path = "../support/pg_cluster.rs"]
mod pg_cluster;
#[path = "../support/pgbouncer.rs"]
mod pgbouncer;
#[path = "../store_suite/mod.rs"]
mod store_suite;
#[path = "../support/tcp_proxy.rs"]
mod tcp_proxy;

mod ask_back_fleet;
mod cluster;
mod connections;
mod fleet;
mod fleet_cutoff;
mod fleet_distributed;
mod fleet_faces;
mod fleet_instances;
mod fleet_store;
mod pooler;
mod round_trips;
mod store_admin;
mod store_copy;
mod store_faults;
mod store_suite_pooler;
mod store_suite_postgres;
mod tls;
