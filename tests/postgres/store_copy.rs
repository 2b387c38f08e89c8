//! `claude-comms store copy` between SQLite and a real PostgreSQL, as an
//! operator runs it: a data dir's SQLite store into PostgreSQL, and with
//! PostgreSQL as the configured store (`CLAUDE_COMMS_STORE_URL`) back into
//! SQLite; every field arrives both ways, PostgreSQL numbers new messages
//! after the copied ones, and a password in the URL never shows.

#[path = "../support/store_fixture.rs"]
mod store_fixture;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use claude_comms::config::{HOME_ENV, LoadedConfig, Overrides};
use claude_comms::store::{ConversationFilter, CopyOptions, Store};
use serde_json::Value;
use store_fixture::{
    assert_fixture, assert_same, begin, fill, fill_many, query, write_from_elsewhere,
};

use crate::pg_cluster::PgCluster;

const PASSWORD: &str = "hunter2-never-shown";

/// `store copy ARGS` in the data dir `home`, with `store_url` as the
/// configured store when given.
fn store_copy(home: &Path, store_url: Option<&str>, args: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_claude-comms"));
    command
        .env(HOME_ENV, home)
        .env_remove("CLAUDE_COMMS_CONFIG")
        .env_remove("CLAUDE_COMMS_STORE_URL")
        .env_remove("RUST_LOG")
        .args(["store", "copy"])
        .args(args)
        .stdin(Stdio::null());
    if let Some(url) = store_url {
        command.env("CLAUDE_COMMS_STORE_URL", url);
    }
    let output = command.output().expect("claude-comms runs");
    let said = crate::fleet_nodes::said(&output);
    assert!(!said.contains(PASSWORD), "the password shows: {said}");
    output
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).to_string()
}

/// A data dir of its own (no config but `hub = "embedded"`), and its
/// SQLite file.
fn data_dir() -> (tempfile::TempDir, PathBuf) {
    let home = tempfile::tempdir().unwrap();
    std::fs::write(home.path().join("config.toml"), "hub = \"embedded\"\n").unwrap();
    let shown = home.path().display().to_string();
    let config = LoadedConfig::load_with_env(&Overrides::default(), |k| {
        (k == HOME_ENV).then(|| shown.clone())
    })
    .unwrap();
    let database = config.database_path();
    (home, database)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_store_goes_to_postgresql_and_back_unchanged() {
    let Some(cluster) = PgCluster::start() else {
        return;
    };
    let url = cluster.create_database("copied");
    let with_password = url.replacen("comms@", &format!("comms:{PASSWORD}@"), 1);
    let (home, database) = data_dir();
    let source = Store::open(&database).unwrap();
    fill(&source).await;
    // Questions back and child questions (issue 29).
    store_fixture::fill_ask_backs(&source).await;
    // More rows than a batch holds, and replies bigger than a batch takes.
    fill_many(&source, 1_100, 6).await;

    // SQLite into PostgreSQL.
    let copied = store_copy(home.path(), None, &["--to", &with_password, "--json"]);
    assert!(copied.status.success(), "{}", stderr(&copied));
    let report: Value = serde_json::from_slice(&copied.stdout).unwrap();
    assert_eq!(report["to"], url, "{report}");
    assert_eq!(report["source"], report["target"], "{report}");
    let postgres = Store::open_postgres(&url).unwrap();
    assert_same(&source, &postgres).await;
    assert_fixture(&postgres).await;

    // Again: refused, naming the database (without the password) and what it holds.
    let refused = store_copy(home.path(), None, &["--to", &with_password]);
    assert_eq!(refused.status.code(), Some(1), "{}", stderr(&refused));
    let words = stderr(&refused);
    assert!(words.contains(&url), "{words}");
    assert!(
        words.contains(
            "6 conversations, 1132 messages, 2 access tokens, 3 questions back and 1 child question"
        ),
        "{words}"
    );
    // With --force: replaced.
    let replaced = store_copy(
        home.path(),
        None,
        &["--to", &with_password, "--force", "--json"],
    );
    assert!(replaced.status.success(), "{}", stderr(&replaced));
    let report: Value = serde_json::from_slice(&replaced.stdout).unwrap();
    assert_eq!(report["replaced"]["messages"], 1132, "{report}");
    assert_eq!(report["replaced"]["ask_backs"], 3, "{report}");
    assert_eq!(report["replaced"]["query_parents"], 1, "{report}");
    assert_same(&source, &postgres).await;

    // PostgreSQL as the configured store, into a new SQLite file.
    let back_path = home.path().join("back").join("claude-comms.db");
    let back = back_path.display().to_string();
    let copied_back = store_copy(home.path(), Some(&with_password), &["--to", &back]);
    assert!(copied_back.status.success(), "{}", stderr(&copied_back));
    let table = String::from_utf8_lossy(&copied_back.stdout).to_string();
    assert!(
        table.contains(&format!("copied {url} into {back}")),
        "{table}"
    );
    let back = Store::open(&back_path).unwrap();
    assert_same(&source, &back).await;
    assert_fixture(&back).await;

    // Nor onto itself, by another spelling of its URL.
    let onto_itself = store_copy(
        home.path(),
        Some(&url),
        &["--to", &with_password, "--force"],
    );
    assert_eq!(
        onto_itself.status.code(),
        Some(1),
        "{}",
        stderr(&onto_itself)
    );
    assert!(
        stderr(&onto_itself).contains("is the store being copied"),
        "{}",
        stderr(&onto_itself)
    );

    // PostgreSQL numbers the next message after the copied ones.
    let latest = postgres.latest_message_cursor().await.unwrap();
    let conversation = postgres
        .list_conversations(&ConversationFilter::default())
        .await
        .unwrap()
        .conversations
        .into_iter()
        .find(|c| c.status == claude_comms::store::ConversationStatus::Active)
        .unwrap();
    let note = postgres
        .add_note(&conversation.id, "operator", "after the copy")
        .await
        .unwrap();
    assert_eq!(note.seq, conversation.message_count + 1);
    assert!(postgres.latest_message_cursor().await.unwrap() > latest);

    // A copy from PostgreSQL is of one moment, while others write into it.
    let before = postgres.copy_counts().await.unwrap();
    let again = Store::open(&home.path().join("again.db")).unwrap();
    let mut wrote = false;
    let report = postgres
        .copy_to(&again, CopyOptions::default(), |progress| {
            if progress.noun == "messages" && !wrote {
                wrote = true;
                let url = url.clone();
                write_from_elsewhere(
                    move || Store::open_postgres(&url).unwrap(),
                    conversation.id.clone(),
                );
            }
        })
        .await
        .unwrap();
    assert!(wrote);
    assert_eq!((report.source, report.target), (before, before));
    let now = postgres.copy_counts().await.unwrap();
    assert_eq!(
        (now.conversations, now.messages),
        (before.conversations + 1, before.messages + 2),
        "the writes landed in the source"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_fleet_columns_survive_a_trip_through_sqlite() {
    let Some(cluster) = PgCluster::start() else {
        return;
    };
    let first = Store::open_postgres(&cluster.create_database("fleet_first")).unwrap();
    let second = Store::open_postgres(&cluster.create_database("fleet_second")).unwrap();
    fill(&first).await;
    let asked = first
        .create_conversation("marker", "arangodb", None, serde_json::json!({}))
        .await
        .unwrap();
    // One routed question claimed by a node, one routed and waiting.
    let claimed = begin(&first, query(&asked.id, "marker", "claimed?", None)).await;
    first
        .fleet()
        .unwrap()
        .route_query(&claimed, "arangodb", "route-7", None)
        .await
        .unwrap();
    let hosted = ["arangodb".to_string()];
    let taken = first
        .fleet()
        .unwrap()
        .claim_queries("node-a", &hosted, 60_000, 1)
        .await
        .unwrap();
    assert_eq!(
        taken.into_iter().map(|c| c.query.id).collect::<Vec<_>>(),
        vec![claimed.clone()]
    );
    let waiting = begin(&first, query(&asked.id, "marker", "waiting?", None)).await;
    first
        .fleet()
        .unwrap()
        .route_query(&waiting, "arangodb", "route-8", Some("node-b"))
        .await
        .unwrap();

    let dir = tempfile::tempdir().unwrap();
    let middle = Store::open(&dir.path().join("middle.db")).unwrap();
    first
        .copy_to(&middle, CopyOptions::default(), |_| {})
        .await
        .unwrap();
    middle
        .copy_to(&second, CopyOptions::default(), |_| {})
        .await
        .unwrap();
    assert_same(&first, &second).await;
    for id in [&claimed, &waiting] {
        assert_eq!(
            second.fleet().unwrap().query_state(id).await.unwrap(),
            first.fleet().unwrap().query_state(id).await.unwrap(),
            "{id}"
        );
    }
    assert_eq!(
        second
            .fleet()
            .unwrap()
            .query_state(&claimed)
            .await
            .unwrap()
            .claimed_by
            .as_deref(),
        Some("node-a")
    );
    // The waiting question is still routed there, and claimable once.
    let mut next = second
        .fleet()
        .unwrap()
        .claim_queries("node-b", &hosted, 60_000, 4)
        .await
        .unwrap();
    assert_eq!(next.len(), 1, "only the waiting question is claimable");
    let next = next.remove(0);
    assert_eq!(
        (next.query.id, next.route),
        (waiting, "route-8".to_string())
    );
    assert!(
        second
            .fleet()
            .unwrap()
            .claim_queries("node-b", &hosted, 60_000, 4)
            .await
            .unwrap()
            .is_empty()
    );
}

/// Into a PostgreSQL behind a transaction-mode pooler (PgBouncer), as a
/// managed database is often reached: with `--pooler transaction` no
/// statement outlives its transaction, and every row arrives.
#[tokio::test(flavor = "multi_thread")]
async fn a_store_is_copied_through_a_transaction_mode_pooler() {
    let Some(cluster) = PgCluster::start() else {
        return;
    };
    let direct = cluster.create_database("copied_pooled");
    let Some(bouncer) = crate::pgbouncer::PgBouncer::start(&cluster, "copied_pooled", 2) else {
        return;
    };
    let pooled = bouncer.url("copied_pooled");
    let (home, database) = data_dir();
    let source = Store::open(&database).unwrap();
    fill(&source).await;
    fill_many(&source, 300, 6).await;
    let copied = store_copy(
        home.path(),
        None,
        &["--to", &pooled, "--pooler", "transaction", "--json"],
    );
    assert!(
        copied.status.success(),
        "{}\npgbouncer:\n{}",
        stderr(&copied),
        bouncer.log_tail()
    );
    let report: Value = serde_json::from_slice(&copied.stdout).unwrap();
    assert_eq!(report["source"], report["target"], "{report}");
    let postgres = Store::open_postgres(&direct).unwrap();
    assert_same(&source, &postgres).await;
    assert_fixture(&postgres).await;
}
