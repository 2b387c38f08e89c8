//! `claude-comms store copy` from a data dir's SQLite store into another
//! SQLite file, as an operator runs it: every field arrives (the ledger,
//! reuse, tokens, the global order), a store that holds data is refused
//! unless `--force` (which replaces what it held), and a store is never
//! copied onto itself.

#[path = "../support/store_fixture.rs"]
mod store_fixture;

use crate::common;
use store_fixture::{assert_fixture, assert_same, fill, fill_many, write_from_elsewhere};

use std::path::Path;
use std::process::{Command, Output, Stdio};

use claude_comms::store::{CopyOptions, Store};
use serde_json::Value;

fn store_copy(home: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_claude-comms"))
        .env("CLAUDE_COMMS_HOME", home)
        .env_remove("CLAUDE_COMMS_CONFIG")
        .env_remove("RUST_LOG")
        .args(["store", "copy"])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("claude-comms runs")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).to_string()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).to_string()
}

#[tokio::test]
async fn a_copy_carries_every_field_and_refuses_a_store_that_holds_data() {
    let home = common::home_with("");
    let source_path = common::config_in(home.path()).database_path();
    let source = Store::open(&source_path).unwrap();
    fill(&source).await;
    let target_path = home.path().join("elsewhere").join("copy.db");
    let target = target_path.display().to_string();

    let copied = store_copy(home.path(), &["--to", &target, "--json"]);
    assert!(copied.status.success(), "{}", stderr(&copied));
    let report: Value = serde_json::from_slice(&copied.stdout).unwrap();
    let counts = serde_json::json!({"conversations": 2, "messages": 10, "tokens": 2, "ask_backs": 0, "query_parents": 0});
    assert_eq!(report["source"], counts, "{report}");
    assert_eq!(report["target"], counts, "{report}");
    assert_eq!(report["from"], source_path.display().to_string());
    assert_eq!(report["to"], target);

    let copy = Store::open(&target_path).unwrap();
    assert_same(&source, &copy).await;
    assert_fixture(&copy).await;
    // The copy takes new messages after the copied ones.
    let conversation = &source
        .list_conversations(&Default::default())
        .await
        .unwrap()
        .conversations[0];
    let latest = copy.latest_message_cursor().await.unwrap();
    let note = copy
        .add_note(&conversation.id, "operator", "written into the copy")
        .await
        .unwrap();
    assert_eq!(note.seq, conversation.message_count + 1);
    assert!(copy.latest_message_cursor().await.unwrap() > latest);

    // Again without --force: refused, naming the target and what it holds.
    let refused = store_copy(home.path(), &["--to", &target]);
    assert_eq!(refused.status.code(), Some(1), "{}", stderr(&refused));
    let words = stderr(&refused);
    assert!(words.contains(&target), "{words}");
    assert!(
        words.contains("2 conversations, 11 messages and 2 access tokens"),
        "{words}"
    );
    assert!(words.contains("--force"), "{words}");
    assert_eq!(
        copy.copy_counts().await.unwrap().messages,
        11,
        "nothing changed"
    );

    // With --force: what the target held is replaced by the source's.
    let replaced = store_copy(home.path(), &["--to", &target, "--force"]);
    assert!(replaced.status.success(), "{}", stderr(&replaced));
    let table = stdout(&replaced);
    assert!(table.contains(&format!("into {target}")), "{table}");
    assert!(
        table.contains("replacing what it held: 2 conversations, 11 messages"),
        "{table}"
    );
    assert!(
        table
            .lines()
            .any(|l| l.split_whitespace().collect::<Vec<_>>() == ["messages", "10", "10"]),
        "{table}"
    );
    assert_same(&source, &copy).await;
}

#[tokio::test]
async fn a_store_is_never_copied_onto_itself() {
    let home = common::home_with("");
    let source_path = common::config_in(home.path()).database_path();
    let source = Store::open(&source_path).unwrap();
    fill(&source).await;
    // The same file under another name: through a link.
    let link = home.path().join("same.db");
    std::os::unix::fs::symlink(&source_path, &link).unwrap();
    for to in [
        source_path.display().to_string(),
        link.display().to_string(),
    ] {
        let refused = store_copy(home.path(), &["--to", &to, "--force"]);
        assert_eq!(refused.status.code(), Some(1), "{}", stderr(&refused));
        assert!(
            stderr(&refused).contains("is the store being copied"),
            "{}",
            stderr(&refused)
        );
    }
    assert_eq!(
        source.copy_counts().await.unwrap().messages,
        10,
        "nothing deleted"
    );
}

#[tokio::test]
async fn a_big_store_is_copied_in_batches_whole() {
    let home = common::home_with("");
    let source = Store::open(&common::config_in(home.path()).database_path()).unwrap();
    fill(&source).await;
    // Over two batches of rows, and big replies over a batch's bytes.
    fill_many(&source, 1_100, 6).await;
    let target_path = home.path().join("copy.db");
    let copied = store_copy(home.path(), &["--to", &target_path.display().to_string()]);
    assert!(copied.status.success(), "{}", stderr(&copied));
    let copy = Store::open(&target_path).unwrap();
    assert_eq!(copy.copy_counts().await.unwrap().messages, 10 + 1_100 + 12);
    assert_same(&source, &copy).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_copy_is_of_one_moment_while_others_write() {
    let home = common::home_with("");
    let path = common::config_in(home.path()).database_path();
    let source = Store::open(&path).unwrap();
    fill(&source).await;
    fill_many(&source, 600, 0).await;
    let before = source.copy_counts().await.unwrap();
    let conversation = source
        .list_conversations(&Default::default())
        .await
        .unwrap()
        .conversations[0]
        .id
        .clone();
    let target = Store::open(&home.path().join("copy.db")).unwrap();
    let mut wrote = false;
    // Others write after the first batch of messages is copied.
    let report = source
        .copy_to(&target, CopyOptions::default(), |progress| {
            if progress.noun == "messages" && !wrote {
                wrote = true;
                let path = path.clone();
                write_from_elsewhere(move || Store::open(&path).unwrap(), conversation.clone());
            }
        })
        .await
        .unwrap();
    assert!(wrote);
    assert_eq!((report.source, report.target), (before, before));
    assert_eq!(target.copy_counts().await.unwrap(), before);
    let now = source.copy_counts().await.unwrap();
    assert_eq!(
        (now.conversations, now.messages),
        (before.conversations + 1, before.messages + 2),
        "the writes landed in the source"
    );
}

#[tokio::test]
async fn questions_back_and_child_questions_are_copied() {
    let home = common::home_with("");
    let source_path = common::config_in(home.path()).database_path();
    let source = Store::open(&source_path).unwrap();
    fill(&source).await;
    store_fixture::fill_ask_backs(&source).await;
    let target_path = home.path().join("elsewhere").join("copy.db");
    let target = target_path.display().to_string();
    let copied = store_copy(home.path(), &["--to", &target, "--json"]);
    assert!(copied.status.success(), "{}", stderr(&copied));
    let report: Value = serde_json::from_slice(&copied.stdout).unwrap();
    let counts = serde_json::json!({"conversations": 3, "messages": 20, "tokens": 2, "ask_backs": 3, "query_parents": 1});
    assert_eq!(report["source"], counts, "{report}");
    assert_eq!(report["target"], counts, "{report}");
    // Read back as jobs show and stats read them (assert_same compares
    // every question back, its state and answer, and every child).
    let copy = Store::open(&target_path).unwrap();
    assert_same(&source, &copy).await;
    let counted = copy.ask_backs_since(0, Some("claude_mcp")).await.unwrap();
    let states: Vec<(&str, i64)> = counted
        .iter()
        .map(|c| (c.state.as_str(), c.count))
        .collect();
    assert_eq!(
        states,
        [("answered", 1), ("ended", 1), ("unanswered", 1)],
        "{counted:?}"
    );
    // The table names them.
    let refused = store_copy(home.path(), &["--to", &target]);
    assert!(
        stderr(&refused).contains("3 questions back and 1 child question"),
        "{}",
        stderr(&refused)
    );
}
