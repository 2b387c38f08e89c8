//! Running a PostgreSQL store as an operator sees it: `store status`,
//! migrations that take turns when processes start together, and a
//! database whose schema is newer than the binary refused with both
//! versions named. The password never shows.

use std::path::Path;
use std::process::{Command, Output, Stdio};

use claude_comms::config::HOME_ENV;
use claude_comms::store::{SCHEMA_VERSION, Store, StoreError};
use serde_json::Value;

use crate::pg_cluster::PgCluster;

const PASSWORD: &str = "s3cret-never-shown";

fn claude_comms(home: &Path, store_url: &str, args: &[&str]) -> Output {
    let output = Command::new(env!("CARGO_BIN_EXE_claude-comms"))
        .env(HOME_ENV, home)
        .env_remove("CLAUDE_COMMS_CONFIG")
        .env_remove("RUST_LOG")
        .env("CLAUDE_COMMS_STORE_URL", store_url)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("claude-comms runs");
    let said = crate::fleet_nodes::said(&output);
    assert!(!said.contains(PASSWORD), "the password shows: {said}");
    output
}

/// The URL with a password in it (trust authentication ignores it).
fn with_password(url: &str) -> String {
    url.replacen(
        "postgres://comms@",
        &format!("postgres://comms:{PASSWORD}@"),
        1,
    )
}

#[test]
fn store_status_names_the_backend_location_schema_and_counts() {
    let Some(cluster) = PgCluster::start() else {
        return;
    };
    let url = with_password(&cluster.create_database("status"));
    let home = tempfile::tempdir().unwrap();
    std::fs::write(home.path().join("config.toml"), "hub = \"embedded\"\n").unwrap();
    let out = claude_comms(home.path(), &url, &["--json", "store", "status"]);
    assert!(out.status.success(), "{out:?}");
    let status: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(status["backend"], "postgresql");
    assert_eq!(
        status["location"],
        format!("postgres://comms@127.0.0.1:{}/status", cluster.port())
    );
    assert_eq!(status["schema_version"], SCHEMA_VERSION);
    assert_eq!(status["conversations"], 0);
    // A note is a message: the counts follow what is stored.
    let store = Store::open_postgres(&url).unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let c = store
            .create_conversation("marker", "arangodb", None, serde_json::json!({}))
            .await
            .unwrap();
        store.add_note(&c.id, "marker", "hello").await.unwrap();
    });
    let out = claude_comms(home.path(), &url, &["store", "status"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("backend:        postgresql")
            && text.contains("conversations:  1")
            && text.contains("messages:       1 (0 queries pending)"),
        "{text}"
    );
}

#[test]
fn processes_starting_together_migrate_once_and_all_open() {
    let Some(cluster) = PgCluster::start() else {
        return;
    };
    let url = cluster.create_database("together");
    let opened: Vec<Result<(), String>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..6)
            .map(|_| {
                let url = url.clone();
                scope.spawn(move || {
                    Store::open_postgres(&url)
                        .map(|_| ())
                        .map_err(|e| e.to_string())
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for result in &opened {
        assert!(result.is_ok(), "{result:?}");
    }
    let version = cluster
        .sql("together", "SELECT version FROM schema_version")
        .unwrap();
    assert_eq!(version.trim(), SCHEMA_VERSION.to_string());
    let rows = cluster
        .sql("together", "SELECT COUNT(*) FROM schema_version")
        .unwrap();
    assert_eq!(rows.trim(), "1");
}

#[test]
fn a_database_newer_than_the_binary_is_refused_naming_both_versions() {
    let Some(cluster) = PgCluster::start() else {
        return;
    };
    let url = cluster.create_database("newer");
    drop(Store::open_postgres(&url).unwrap());
    cluster
        .sql(
            "newer",
            &format!("UPDATE schema_version SET version = {}", SCHEMA_VERSION + 3),
        )
        .unwrap();
    let e = Store::open_postgres(&url).err().expect("refused");
    assert!(matches!(e, StoreError::TooNew { .. }), "{e:?}");
    let text = e.to_string();
    assert!(
        text.contains(&(SCHEMA_VERSION + 3).to_string())
            && text.contains(&SCHEMA_VERSION.to_string())
            && text.contains("upgrade claude-comms"),
        "{text}"
    );
    // Refused, not rewritten: the database keeps its newer version.
    let version = cluster
        .sql("newer", "SELECT version FROM schema_version")
        .unwrap();
    assert_eq!(version.trim(), (SCHEMA_VERSION + 3).to_string());
}
