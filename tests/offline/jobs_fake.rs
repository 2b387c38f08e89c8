//! Jobs: questions sent with `wait: false` through the MCP tools, with the
//! in-repo fake child. The job is a stored message: its state and answer
//! can be collected later, it can be cancelled, and a process that stops
//! under it leaves it `interrupted`.

use crate::common;

use common::{call, connect, fake_child_toml, home_with, hub_in, ok_value, text_of};
use serde_json::json;

fn detached(message: &str) -> serde_json::Value {
    json!({"source": "marker", "target": "arangodb", "message": message, "wait": false})
}

#[tokio::test]
async fn a_detached_question_is_pending_at_once_and_its_answer_is_collected_later() {
    let home = home_with(&fake_child_toml());
    let hub = hub_in(home.path());
    let client = connect(hub.clone()).await;
    let sent = ok_value(
        &call(
            &client,
            "send_message",
            detached("[[delay:300]] which index?"),
        )
        .await,
    );
    assert_eq!(sent["status"], "pending");
    assert!(sent.get("reply").is_none(), "{sent}");
    let id = sent["message_id"].as_str().unwrap().to_string();
    // By a prefix of the id, as a person would type it.
    let job = ok_value(
        &call(
            &client,
            "get_reply",
            json!({"message_id": &id[..8], "wait_s": 60}),
        )
        .await,
    );
    assert_eq!(job["status"], "delivered");
    assert_eq!(job["message_id"], id);
    assert!(job["reply"].as_str().unwrap().contains("which index?"));
    let listed = ok_value(&call(&client, "list_jobs", json!({"status": "delivered"})).await);
    assert_eq!(listed["jobs"][0]["message_id"], id);
    client.cancel().await.unwrap();
    hub.shutdown().await;
}

#[tokio::test]
async fn a_pending_job_can_be_cancelled_and_says_so() {
    let home = home_with(&fake_child_toml());
    let hub = hub_in(home.path());
    let client = connect(hub.clone()).await;
    let sent = ok_value(&call(&client, "send_message", detached("[[hang]]")).await);
    let id = sent["message_id"].as_str().unwrap();
    let now = ok_value(&call(&client, "get_reply", json!({"message_id": id})).await);
    assert_eq!(now["status"], "pending");
    let cancelled = ok_value(&call(&client, "cancel_job", json!({"message_id": id})).await);
    assert_eq!(cancelled["status"], "cancelled");
    let again = call(&client, "cancel_job", json!({"message_id": id})).await;
    assert_eq!(again.is_error, Some(true));
    assert!(
        text_of(&again).contains("already cancelled"),
        "{}",
        text_of(&again)
    );
    client.cancel().await.unwrap();
    hub.shutdown().await;
}

#[tokio::test]
async fn a_job_cut_by_shutdown_is_interrupted_not_replayed() {
    let home = home_with(&fake_child_toml());
    let hub = hub_in(home.path());
    let client = connect(hub.clone()).await;
    let sent = ok_value(&call(&client, "send_message", detached("[[hang]] long work")).await);
    let id = sent["message_id"].as_str().unwrap().to_string();
    client.cancel().await.unwrap();
    hub.shutdown().await;
    let next = hub_in(home.path());
    let job = next.jobs().get(&id).await.unwrap();
    assert_eq!(job.status, "interrupted", "{job:?}");
    assert!(job.error.unwrap_or_default().contains("stopped"));
    next.shutdown().await;
}

#[tokio::test]
async fn ids_shorter_than_eight_characters_or_unknown_are_refused_clearly() {
    let home = home_with(&fake_child_toml());
    let hub = hub_in(home.path());
    let client = connect(hub.clone()).await;
    let short = call(&client, "get_reply", json!({"message_id": "abc"})).await;
    assert_eq!(short.is_error, Some(true));
    assert!(
        text_of(&short).contains("at least 8"),
        "{}",
        text_of(&short)
    );
    let unknown = call(&client, "get_reply", json!({"message_id": "ffffffff-0000"})).await;
    assert_eq!(unknown.is_error, Some(true));
    assert!(
        text_of(&unknown).contains("ffffffff-0000"),
        "{}",
        text_of(&unknown)
    );
    client.cancel().await.unwrap();
    hub.shutdown().await;
}
