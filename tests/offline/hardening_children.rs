//! What a misbehaving or untrusted child cannot do to claude-comms, and
//! what the hub guarantees when its own database fails, with the in-repo
//! fake child: a child that never starts cannot hold a caller past its
//! deadline; an answer over the line limit fails its request at once; a
//! child's stderr is cut per line and stripped of secrets; pooled children
//! carry the loop guard's hop context; once a query is stored, its outcome
//! is stored (or the caller is told it could not be).

use crate::common;

use claude_comms::store::WriteFault;
use common::{call, connect, fake_child_toml, home_with, hub_in, ok_value, text_of};
use serde_json::json;

fn send(message: &str, timeout_s: u64) -> serde_json::Value {
    json!({"source": "marker", "target": "arangodb", "message": message, "timeout_s": timeout_s})
}

#[tokio::test]
async fn the_deadline_covers_a_child_that_never_answers_initialize() {
    let home = home_with(&format!(
        "{}[instances.claude_code_mcp.env]\nFAKE_CHILD_HANG_AT_START = \"1\"\n",
        fake_child_toml()
    ));
    let hub = hub_in(home.path());
    let client = connect(hub.clone()).await;
    let result = call(&client, "send_message", send("are you there?", 2)).await;
    assert_eq!(result.is_error, Some(true));
    let text = text_of(&result);
    assert!(
        text.contains("timed out after 2s") && text.contains("starting"),
        "{text}"
    );
    client.cancel().await.unwrap();
    hub.shutdown().await;
}

#[tokio::test]
async fn an_answer_over_the_line_limit_fails_its_request_at_once() {
    let home = home_with(&fake_child_toml());
    let hub = hub_in(home.path());
    let client = connect(hub.clone()).await;
    let huge = claude_comms::instances::ANSWER_LINE_MAX + 1000;
    let result = call(
        &client,
        "send_message",
        send(&format!("[[huge:{huge}]]"), 120),
    )
    .await;
    assert_eq!(result.is_error, Some(true));
    let text = text_of(&result);
    assert!(text.contains("over the limit of"), "{text}");
    assert!(!text.contains("timed out"), "{text}");
    // The child is still usable afterwards.
    let again = ok_value(&call(&client, "send_message", send("[[brief]] still there?", 60)).await);
    assert!(
        again["reply"]
            .as_str()
            .unwrap()
            .starts_with("brief fake answer")
    );
    client.cancel().await.unwrap();
    hub.shutdown().await;
}

#[tokio::test]
async fn child_stderr_is_cut_per_line_and_stripped_of_configured_secrets() {
    let secret = "ghp_0123456789abcdefSECRET";
    let home = home_with(&format!(
        "{}[instances.claude_code_mcp.env]\nGITHUB_PAT = \"{secret}\"\n",
        fake_child_toml()
    ));
    let hub = hub_in(home.path());
    let client = connect(hub.clone()).await;
    let message = format!("[[stderr:token {secret} leaked]] [[stderr-line:1000000]] [[brief]]");
    let sent = ok_value(&call(&client, "send_message", send(&message, 60)).await);
    let instance_id = sent["instance_id"].as_str().unwrap().to_string();
    let status = ok_value(
        &call(
            &client,
            "instance_status",
            json!({"instance_id": instance_id}),
        )
        .await,
    );
    let tail: Vec<String> = status["stderr_tail"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap().to_string())
        .collect();
    assert!(
        tail.iter().any(|l| l.contains("token [redacted] leaked")),
        "{tail:?}"
    );
    let long = tail
        .iter()
        .find(|l| l.ends_with("TAIL"))
        .expect("the long line is kept with its tail");
    assert!(long.len() < 20_000, "cut to {} bytes", long.len());
    assert!(long.contains("1000004 bytes"), "names the size it had");
    let journal_path = hub
        .config()
        .paths
        .data_dir
        .join("instances")
        .join(format!("{instance_id}.jsonl"));
    hub.shutdown().await;
    // The journal is written by a background thread: wait (bounded) for the line.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let journal = loop {
        let journal = std::fs::read_to_string(&journal_path).unwrap_or_default();
        if journal.contains("token [redacted] leaked") || std::time::Instant::now() > deadline {
            break journal;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    assert!(
        journal.contains("token [redacted] leaked"),
        "the journal has the line"
    );
    assert!(!journal.contains(secret), "the journal holds no secret");
    assert!(!tail.concat().contains(secret));
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn a_pre_started_child_never_serves_a_query_without_its_hop_context() {
    let home = home_with(&format!(
        "{}pool_min = 1\npool_max = 1\n",
        fake_child_toml()
    ));
    let hub = hub_in(home.path());
    let client = connect(hub.clone()).await;
    for _ in 0..2 {
        let sent = ok_value(&call(&client, "send_message", send("[[env]]", 60)).await);
        assert_eq!(sent["reply"], "env hop=1 chain=marker,arangodb");
    }
    client.cancel().await.unwrap();
    hub.shutdown().await;
}

/// Injected failure: the store refuses the reply (the store's fault
/// seam). The query must not stay `pending`: it is closed as failed,
/// naming why.
#[tokio::test]
async fn a_reply_that_cannot_be_stored_closes_the_query_as_failed() {
    let home = home_with(&fake_child_toml());
    let hub = hub_in(home.path());
    hub.store_faults().inject(WriteFault::Reply);
    let db = rusqlite::Connection::open(hub.config().database_path()).unwrap();
    let client = connect(hub.clone()).await;
    let result = call(&client, "send_message", send("[[brief]] hello", 60)).await;
    assert_eq!(result.is_error, Some(true));
    let text = text_of(&result);
    assert!(text.contains("could not be stored"), "{text}");
    let status: String = db
        .query_row(
            "SELECT status FROM messages WHERE role = 'query'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(status, "failed");
    client.cancel().await.unwrap();
    hub.shutdown().await;
}

/// Injected failure: nothing about the outcome can be written. The caller
/// is told so (not given a success or a silent hang), and the query is
/// marked interrupted when the next process starts.
#[tokio::test]
async fn when_no_outcome_can_be_stored_the_caller_is_told_and_the_next_start_recovers() {
    let home = home_with(&fake_child_toml());
    let hub = hub_in(home.path());
    hub.store_faults().inject(WriteFault::Outcome);
    let db = rusqlite::Connection::open(hub.config().database_path()).unwrap();
    let client = connect(hub.clone()).await;
    let result = call(&client, "send_message", send("[[brief]] hello", 60)).await;
    assert_eq!(result.is_error, Some(true));
    let text = text_of(&result);
    assert!(text.contains("stays pending"), "{text}");
    client.cancel().await.unwrap();
    hub.shutdown().await;
    // The next process has a store of its own, without the fault.
    let next = hub_in(home.path());
    next.node().announce().await.unwrap();
    let status: String = db
        .query_row(
            "SELECT status FROM messages WHERE role = 'query'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(status, "interrupted");
    next.shutdown().await;
}
