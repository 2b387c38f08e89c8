//! Connections within the bounds an operator sets (issue 28): a role
//! limited to 3 connections serves 16 concurrent questions through one
//! node whose pool holds 1 (the listener is the second, and the third is
//! left for the node's CLI, which reads the store itself for `daemon
//! status`); a server at its
//! limit is asked again within a bound, then named in the error; and
//! libpq's key=value connection strings, whose password never shows.

use std::time::{Duration, Instant};

use claude_comms::store::Store;
use serde_json::Value;

use crate::fleet::{ANSWERED_WITHIN, answered_by, fleet_status};
use crate::fleet_nodes::{Node, NodeSettings, json_of, node_in, said};
use crate::pg_cluster::PgCluster;

const PASSWORD: &str = "hunter2-s3cret";

/// How many connections `role` holds now, as the server counts them.
fn connections_of(cluster: &PgCluster, role: &str) -> i64 {
    cluster
        .sql(
            "postgres",
            &format!("SELECT count(*) FROM pg_stat_activity WHERE usename = '{role}'"),
        )
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

#[test]
fn a_role_limited_to_three_connections_answers_sixteen_concurrent_questions() {
    let Some(cluster) = PgCluster::start() else {
        return;
    };
    cluster
        .sql("postgres", "CREATE ROLE limited LOGIN CONNECTION LIMIT 3")
        .unwrap();
    cluster
        .sql("postgres", "CREATE DATABASE lim OWNER limited")
        .unwrap();
    let url = format!("postgres://limited@127.0.0.1:{}/lim", cluster.port());
    let settings = NodeSettings {
        store_toml: "max_connections = 1".into(),
        ..NodeSettings::default()
    };
    let node = Node::new(&url, "solo", &["marker", "arangodb"], &settings);
    node.start_ok();

    let asked: Vec<_> = (0..16)
        .map(|i| {
            let text = format!("question {i} of 16");
            (text.clone(), node.spawn_send("marker", "arangodb", &text))
        })
        .collect();
    let mut most = 0;
    for (text, running) in asked {
        most = most.max(connections_of(&cluster, "limited"));
        let sent = json_of(&running.finish(ANSWERED_WITHIN));
        assert_eq!(sent["status"], "delivered", "{text}: {sent}");
        assert!(answered_by(&sent["reply"], &node, "arangodb"), "{sent}");
        assert!(sent["reply"].as_str().unwrap().contains(&text), "{sent}");
    }
    assert!(most <= 3, "the role held {most} connections");

    // With room for one more (the CLI's own), `fleet status` and `store
    // status` say how the connections are used and bounded.
    cluster
        .sql("postgres", "ALTER ROLE limited CONNECTION LIMIT 5")
        .unwrap();
    let status = fleet_status(&node);
    assert_eq!(status["max_connections"], 1, "{status}");
    assert_eq!(status["role_limit"], 5, "{status}");
    let solo = node_in(&status, "solo").unwrap();
    let open = solo["connections"]["open"].as_i64().unwrap();
    assert!((1..=4).contains(&open), "{solo}");
    let store: Value = json_of(&node.cli(&["--json", "store", "status"]));
    assert_eq!(store["connections"]["max"], 1, "{store}");
    assert_eq!(store["connections"]["pooler"], "none", "{store}");
    assert_eq!(store["server_connections"]["role_limit"], 5, "{store}");
}

/// Holds one connection of `role` on `cluster` until dropped.
struct Held {
    runtime: tokio::runtime::Runtime,
    client: Option<tokio_postgres::Client>,
}

fn hold(cluster: &PgCluster, role: &str, database: &str) -> Held {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let url = format!("postgres://{role}@127.0.0.1:{}/{database}", cluster.port());
    let (client, connection) = runtime
        .block_on(tokio_postgres::connect(&url, tokio_postgres::NoTls))
        .unwrap();
    runtime.spawn(connection);
    Held {
        runtime,
        client: Some(client),
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        drop(self.client.take());
        // Let the connection's task see its client go and close.
        self.runtime
            .block_on(async { tokio::time::sleep(Duration::from_millis(50)).await });
    }
}

#[test]
fn a_server_at_its_limit_is_asked_again_then_named_with_the_setting() {
    let Some(cluster) = PgCluster::start() else {
        return;
    };
    cluster
        .sql("postgres", "CREATE ROLE tiny LOGIN CONNECTION LIMIT 1")
        .unwrap();
    cluster
        .sql("postgres", "CREATE DATABASE tinydb OWNER tiny")
        .unwrap();
    let url = format!("postgres://tiny@127.0.0.1:{}/tinydb", cluster.port());

    // Someone else holds the role's only connection all along: the store
    // is refused after its retries, in words that name the limit.
    let held = hold(&cluster, "tiny", "tinydb");
    let started = Instant::now();
    let refused = Store::open_postgres(&url)
        .err()
        .expect("refused")
        .to_string();
    assert!(
        refused.contains("too many connections for role") && refused.contains("max_connections"),
        "{refused}"
    );
    assert!(started.elapsed() >= Duration::from_secs(5), "no retries");
    assert!(started.elapsed() < Duration::from_secs(20), "unbounded");

    // Released while the store waits: it opens.
    let opening = std::thread::spawn(move || Store::open_postgres(&url).map(drop));
    std::thread::sleep(Duration::from_millis(800));
    drop(held);
    opening
        .join()
        .unwrap()
        .expect("opened once the connection was free");
}

#[test]
fn key_value_strings_connect_and_a_malformed_one_never_shows_its_password() {
    let Some(cluster) = PgCluster::start() else {
        return;
    };
    cluster.create_database("kv");
    let port = cluster.port();
    let home = tempfile::tempdir().unwrap();
    std::fs::write(home.path().join("config.toml"), "hub = \"embedded\"\n").unwrap();
    let status = |store_url: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_claude-comms"))
            .env("CLAUDE_COMMS_HOME", home.path())
            .env("HOME", home.path())
            .env("CLAUDE_COMMS_STORE_URL", store_url)
            .env_remove("CLAUDE_COMMS_CONFIG")
            .env_remove("RUST_LOG")
            .args(["--json", "store", "status"])
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap()
    };

    // libpq's form, spaces around `=` and a quoted value included (trust
    // authentication takes any password).
    let good = format!(
        "host=127.0.0.1 port = {port} user=comms dbname='kv' password='{PASSWORD} x' sslmode=disable"
    );
    let shown = json_of(&status(&good));
    assert_eq!(shown["backend"], "postgresql", "{shown}");
    assert_eq!(
        shown["location"],
        format!("postgres://comms@127.0.0.1:{port}/kv"),
        "{shown}"
    );
    assert!(!shown.to_string().contains(PASSWORD), "{shown}");

    for bad in [
        // An unterminated quote.
        format!("host=127.0.0.1 port={port} user=comms password='{PASSWORD} dbname=kv"),
        // A keyword libpq does not have.
        format!("host=127.0.0.1 port={port} password={PASSWORD} sslmod=require"),
        // A port that is not one, in both forms.
        format!("host=127.0.0.1 port=x{port} password={PASSWORD}"),
        format!("postgres://comms:{PASSWORD}@127.0.0.1:x{port}/kv"),
        // A value libpq refuses.
        format!("host=127.0.0.1 password={PASSWORD} sslmode=sometimes"),
    ] {
        let refused = status(&bad);
        let text = said(&refused);
        assert!(!refused.status.success(), "{bad}: {text}");
        assert!(!text.contains(PASSWORD), "the password shows: {text}");
        assert!(
            text.contains("connection string") || text.contains("sslmode"),
            "{text}"
        );
    }
    let unknown = said(&status(&format!(
        "host=127.0.0.1 port={port} password={PASSWORD} sslmod=require"
    )));
    assert!(unknown.contains("`sslmod`"), "{unknown}");
    let mode = said(&status(&format!(
        "host=127.0.0.1 password={PASSWORD} sslmode=sometimes"
    )));
    assert!(mode.contains("verify-full"), "names the modes: {mode}");
}
