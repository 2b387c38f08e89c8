//! End-to-end: conversations through the real chain. MCP client ->
//! claude-comms -> real claude-code-mcp / real `claude` CLI -> the stand-in
//! model on 127.0.0.1, which records what reached it.

use crate::common;
use crate::model_stub;
use crate::real_children;

use std::path::Path;
use std::sync::Arc;

use claude_comms::hub::Hub;
use claude_comms::store::parse_export;
use common::{call, connect, home_with, ok_value};
use model_stub::{ModelStub, request_text};
use real_children::RealChildren;
use serde_json::json;

fn real_hub(home: &Path, real: &RealChildren, model: &ModelStub) -> Arc<Hub> {
    let mut config = common::config_in(home);
    config.config.instances = real.instances_config(model, &home.join("claude-home"));
    std::fs::create_dir_all(home.join("claude-home")).unwrap();
    Hub::open(config, None).expect("hub opens")
}

#[ignore = "end-to-end tier: needs the real children (bash scripts/install-real-children.sh); scripts/test.sh runs it"]
#[tokio::test]
async fn two_turns_through_claude_code_mcp_with_a_restart_between() {
    let Some(real) = RealChildren::find() else {
        return;
    };
    let model = ModelStub::start().await;
    let home = home_with("");

    let first = {
        let hub = real_hub(home.path(), &real, &model);
        let client = connect(hub.clone()).await;
        let first = ok_value(
            &call(
                &client,
                "send_message",
                json!({"source": "marker", "target": "arangodb", "message": "Which collection stores page blocks?", "idempotency_key": "q1"}),
            )
            .await,
        );
        assert_eq!(
            first["reply"],
            "stub model answer to: Which collection stores page blocks?"
        );
        // The model was told who it is and who asks.
        let turn1 = request_text(model.requests().last().unwrap());
        assert!(
            turn1.contains("You are the agent of the module \"arangodb\""),
            "{turn1}"
        );
        assert!(turn1.contains("marker"));
        client.cancel().await.unwrap();
        hub.shutdown().await;
        first
    };

    // A new server process on the same data continues the conversation.
    let hub = real_hub(home.path(), &real, &model);
    let client = connect(hub.clone()).await;
    let id = first["conversation_id"].as_str().unwrap();
    let second = ok_value(
        &call(
            &client,
            "send_message",
            json!({"conversation_id": id, "message": "And where do their embeddings go?"}),
        )
        .await,
    );
    assert_eq!(
        second["reply"],
        "stub model answer to: And where do their embeddings go?"
    );
    let turn2 = request_text(model.requests().last().unwrap());
    assert!(
        turn2.contains("Which collection stores page blocks?"),
        "turn 2 carries turn 1's question: {turn2}"
    );
    assert!(
        turn2.contains("stub model answer to: Which collection stores page blocks?"),
        "and its answer"
    );
    assert!(turn2.contains("And where do their embeddings go?"));

    // Resending turn 1's key returns its answer without asking the model again.
    let asked = model.requests().len();
    let again = ok_value(
        &call(&client, "send_message", json!({"conversation_id": id, "message": "Which collection stores page blocks?", "idempotency_key": "q1"})).await,
    );
    assert_eq!(again["duplicate"], true);
    assert_eq!(again["reply_id"], first["reply_id"]);
    assert_eq!(model.requests().len(), asked);

    // The export holds exactly what is stored.
    let exported = ok_value(
        &call(
            &client,
            "export_conversation",
            json!({"conversation_id": id, "format": "jsonl"}),
        )
        .await,
    );
    let parsed = parse_export(exported["content"].as_str().unwrap()).unwrap();
    let shown = hub.conversations().get(id, None, None).await.unwrap();
    assert_eq!(parsed.messages, shown.messages);
    assert_eq!(parsed.messages.len(), 4);
    client.cancel().await.unwrap();
    hub.shutdown().await;
}

#[ignore = "end-to-end tier: needs the real children (bash scripts/install-real-children.sh); scripts/test.sh runs it"]
#[tokio::test]
async fn a_stream_conversation_sends_only_new_turns_and_resumes_after_a_restart() {
    let Some(real) = RealChildren::find() else {
        return;
    };
    let model = ModelStub::start().await;
    let home = home_with("");
    let id = {
        let hub = real_hub(home.path(), &real, &model);
        let client = connect(hub.clone()).await;
        let created = ok_value(
            &call(
                &client,
                "create_conversation",
                json!({"source": "marker", "target": "arangodb", "backend": "claude-stream"}),
            )
            .await,
        );
        let id = created["id"].as_str().unwrap().to_string();
        for question in ["first stream question", "second stream question"] {
            let sent = ok_value(
                &call(
                    &client,
                    "send_message",
                    json!({"conversation_id": id, "message": question}),
                )
                .await,
            );
            assert_eq!(sent["reply"], format!("stub model answer to: {question}"));
        }
        let shown = hub.conversations().get(&id, None, None).await.unwrap();
        assert_eq!(
            shown.messages[0].template_version.as_deref(),
            Some("first_query@1")
        );
        assert_eq!(
            shown.messages[2].template_version.as_deref(),
            Some("new_turn@1"),
            "turn 2 sent only the new turn"
        );
        assert!(
            shown.conversation.backend_session.is_some(),
            "the Claude session is stored"
        );
        let turn2 = request_text(model.requests().last().unwrap());
        assert!(
            turn2.contains("first stream question"),
            "the session holds turn 1: {turn2}"
        );
        client.cancel().await.unwrap();
        hub.shutdown().await;
        id
    };
    let hub = real_hub(home.path(), &real, &model);
    let client = connect(hub.clone()).await;
    let third = ok_value(
        &call(
            &client,
            "send_message",
            json!({"conversation_id": id, "message": "third stream question"}),
        )
        .await,
    );
    assert_eq!(
        third["reply"],
        "stub model answer to: third stream question"
    );
    let turn3 = request_text(model.requests().last().unwrap());
    assert!(
        turn3.contains("first stream question") && turn3.contains("second stream question"),
        "resumed with --resume: {turn3}"
    );
    let shown = hub.conversations().get(&id, None, None).await.unwrap();
    assert_eq!(
        shown.messages[4].template_version.as_deref(),
        Some("new_turn@1")
    );
    client.cancel().await.unwrap();
    hub.shutdown().await;
}

#[ignore = "end-to-end tier: needs the real children (bash scripts/install-real-children.sh); scripts/test.sh runs it"]
#[tokio::test]
async fn two_servers_share_one_database_through_the_real_chain() {
    let Some(real) = RealChildren::find() else {
        return;
    };
    let model = ModelStub::start().await;
    let home = home_with("");
    let (a, b) = (
        real_hub(home.path(), &real, &model),
        real_hub(home.path(), &real, &model),
    );
    let (ca, cb) = (connect(a.clone()).await, connect(b.clone()).await);
    let created = ok_value(
        &call(
            &ca,
            "create_conversation",
            json!({"source": "marker", "target": "arangodb"}),
        )
        .await,
    );
    let id = created["id"].as_str().unwrap();
    let mut sends = tokio::task::JoinSet::new();
    for i in 0..6 {
        let peer = if i % 2 == 0 {
            ca.peer().clone()
        } else {
            cb.peer().clone()
        };
        let args = json!({"conversation_id": id, "message": format!("parallel question {i}")});
        sends.spawn(async move {
            peer.call_tool(
                rmcp::model::CallToolRequestParams::new("send_message")
                    .with_arguments(args.as_object().unwrap().clone()),
            )
            .await
            .unwrap()
        });
    }
    while let Some(result) = sends.join_next().await {
        ok_value(&result.unwrap());
    }
    let shown = b.conversations().get(id, None, None).await.unwrap();
    assert_eq!(shown.messages.len(), 12);
    assert_eq!(
        shown.messages.iter().map(|m| m.seq).collect::<Vec<_>>(),
        (1..=12).collect::<Vec<_>>()
    );
    for i in 0..6 {
        let q = format!("parallel question {i}");
        assert_eq!(
            shown.messages.iter().filter(|m| m.content == q).count(),
            1,
            "{q} stored once"
        );
        let answer = format!("stub model answer to: {q}");
        assert_eq!(
            shown
                .messages
                .iter()
                .filter(|m| m.content == answer)
                .count(),
            1,
            "its answer stored once"
        );
    }
    ca.cancel().await.unwrap();
    cb.cancel().await.unwrap();
    a.shutdown().await;
    b.shutdown().await;
}

/// Injected failure: the stream session cannot be written (the store's
/// fault seam makes every write of a backend session fail). The answer that
/// arrived is still stored and returned; the next turn, with no session
/// stored, re-sends the history instead of resuming.
#[ignore = "end-to-end tier: needs the real children (bash scripts/install-real-children.sh); scripts/test.sh runs it"]
#[tokio::test]
async fn a_reply_is_kept_when_its_stream_session_cannot_be_stored() {
    let Some(real) = RealChildren::find() else {
        return;
    };
    let model = ModelStub::start().await;
    let home = home_with("");
    let hub = real_hub(home.path(), &real, &model);
    hub.store_faults()
        .inject(claude_comms::store::WriteFault::BackendSession);
    let client = connect(hub.clone()).await;
    let created = ok_value(
        &call(
            &client,
            "create_conversation",
            json!({"source": "marker", "target": "arangodb", "backend": "claude-stream"}),
        )
        .await,
    );
    let id = created["id"].as_str().unwrap().to_string();
    let sent = ok_value(
        &call(
            &client,
            "send_message",
            json!({"conversation_id": id, "message": "the first question"}),
        )
        .await,
    );
    assert_eq!(sent["reply"], "stub model answer to: the first question");
    let shown = hub.conversations().get(&id, None, None).await.unwrap();
    assert_eq!(shown.messages.len(), 2, "query and reply are stored");
    assert_eq!(
        shown.messages[1].content,
        "stub model answer to: the first question"
    );
    assert_eq!(shown.messages[0].status.as_str(), "delivered");
    assert!(shown.conversation.backend_session.is_none());
    // With no session stored, the next turn carries the history itself.
    let second = ok_value(
        &call(
            &client,
            "send_message",
            json!({"conversation_id": id, "message": "the second question"}),
        )
        .await,
    );
    assert_eq!(second["reply"], "stub model answer to: the second question");
    client.cancel().await.unwrap();
    hub.shutdown().await;
}
