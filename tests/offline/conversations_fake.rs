//! send_message and the conversation tools through the MCP server, with the
//! in-repo fake child answering (it echoes the prompt it was given, so these
//! tests see exactly what the answering agent would be told).

use crate::common;

use std::time::Duration;

use common::{
    Heard, call, connect, connect_listening, fake_child_toml, home_with, hub_in, ok_value, text_of,
};
use serde_json::json;

#[tokio::test]
async fn a_question_is_answered_in_the_target_folder_and_stored() {
    let home = home_with(&fake_child_toml());
    let hub = hub_in(home.path());
    let client = connect(hub.clone()).await;

    let result = call(
        &client,
        "send_message",
        json!({"source": "marker", "target": "arangodb", "message": "Which collection holds extracted blocks?"}),
    )
    .await;
    let sent = ok_value(&result);
    let reply = sent["reply"].as_str().unwrap();
    let folder = home.path().join("modules/arangodb");
    assert!(
        reply.starts_with(&format!("fake answer from {}:", folder.display())),
        "{reply}"
    );
    // The answering agent is told who it is, who asks, and gets the question fenced.
    assert!(reply.contains("arangodb"), "{reply}");
    assert!(reply.contains("marker"), "{reply}");
    assert!(reply.contains("Which collection holds extracted blocks?"));
    // The host sees a framed answer naming both sides.
    let text = text_of(&result);
    assert!(
        text.contains("arangodb") && text.contains("Which collection"),
        "{text}"
    );

    let id = sent["conversation_id"].as_str().unwrap();
    let shown = ok_value(&call(&client, "get_conversation", json!({"conversation_id": id})).await);
    let messages = shown["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 2);
    assert_eq!(messages[0]["role"], "query");
    assert_eq!(messages[0]["status"], "delivered");
    assert_eq!(messages[0]["id"], sent["message_id"]);
    assert_eq!(messages[1]["role"], "reply");
    assert_eq!(messages[1]["id"], sent["reply_id"]);
    assert_eq!(messages[1]["content"], sent["reply"]);
    assert!(
        messages[0]["template_version"]
            .as_str()
            .unwrap()
            .starts_with("first_query@")
    );
    client.cancel().await.unwrap();
    hub.shutdown().await;
}

#[tokio::test]
async fn a_follow_up_carries_the_earlier_exchange_even_after_a_restart() {
    let home = home_with(&fake_child_toml());
    let id = {
        let hub = hub_in(home.path());
        let client = connect(hub.clone()).await;
        let first = ok_value(
            &call(
                &client,
                "send_message",
                json!({"source": "marker", "target": "arangodb", "message": "first question zebra"}),
            )
            .await,
        );
        client.cancel().await.unwrap();
        hub.shutdown().await;
        first["conversation_id"].as_str().unwrap().to_string()
    };
    // A new server process on the same data.
    let hub = hub_in(home.path());
    let client = connect(hub.clone()).await;
    let second = ok_value(
        &call(
            &client,
            "send_message",
            json!({"conversation_id": id, "message": "second question yak"}),
        )
        .await,
    );
    let prompt = second["reply"].as_str().unwrap();
    let first_q = prompt
        .find("first question zebra")
        .expect("turn 1 question in the prompt");
    let second_q = prompt
        .rfind("second question yak")
        .expect("the new question");
    assert!(first_q < second_q, "history comes before the new question");
    assert_eq!(second["source"], "marker");
    assert_eq!(second["target"], "arangodb");
    let shown = ok_value(&call(&client, "get_conversation", json!({"conversation_id": id})).await);
    let seqs: Vec<i64> = shown["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["seq"].as_i64().unwrap())
        .collect();
    assert_eq!(seqs, vec![1, 2, 3, 4]);
    assert!(
        shown["messages"][2]["template_version"]
            .as_str()
            .unwrap()
            .starts_with("follow_up@")
    );
    client.cancel().await.unwrap();
    hub.shutdown().await;
}

#[tokio::test]
async fn the_same_idempotency_key_never_sends_twice() {
    let home = home_with(&fake_child_toml());
    let hub = hub_in(home.path());
    let client = connect(hub.clone()).await;
    let args = json!({"source": "marker", "target": "arangodb", "message": "create the index", "idempotency_key": "k-1"});
    let first = ok_value(&call(&client, "send_message", args.clone()).await);
    let mut again = args.clone();
    again["conversation_id"] = first["conversation_id"].clone();
    let second = ok_value(&call(&client, "send_message", again).await);
    assert_eq!(second["duplicate"], true);
    assert_eq!(second["reply_id"], first["reply_id"]);
    assert_eq!(second["reply"], first["reply"]);
    let served: u64 = hub
        .instances()
        .local()
        .await
        .unwrap()
        .iter()
        .map(|s| s.requests_served)
        .sum();
    assert_eq!(served, 1, "the child was asked once");
    let shown = ok_value(
        &call(
            &client,
            "get_conversation",
            json!({"conversation_id": first["conversation_id"]}),
        )
        .await,
    );
    assert_eq!(shown["messages"].as_array().unwrap().len(), 2);
    client.cancel().await.unwrap();
    hub.shutdown().await;
}

#[tokio::test]
async fn bad_requests_get_clear_errors_and_the_server_keeps_serving() {
    let home = home_with(&fake_child_toml());
    let hub = hub_in(home.path());
    let client = connect(hub.clone()).await;
    let cases = [
        (
            json!({"source": "marker", "target": "nosuch", "message": "hi"}),
            "nosuch",
        ),
        (
            json!({"source": "marker", "target": "arangodb", "message": "   "}),
            "empty",
        ),
        (
            json!({"source": "marker", "target": "arangodb", "message": "x".repeat(100_001)}),
            "limit",
        ),
        (json!({"target": "arangodb", "message": "hi"}), "source"),
        (json!({"source": "marker", "message": "hi"}), "target"),
        (
            json!({"conversation_id": "00000000-0000-0000-0000-000000000000", "message": "hi"}),
            "00000000-0000-0000-0000-000000000000",
        ),
        (
            json!({"source": "marker", "target": "arangodb", "message": 5}),
            "message",
        ),
    ];
    for (args, expected) in cases {
        let result = call(&client, "send_message", args.clone()).await;
        assert_eq!(result.is_error, Some(true), "{args}");
        let text = text_of(&result);
        assert!(
            text.contains(expected),
            "error for {args} should name {expected:?}: {text}"
        );
    }
    // Archived conversations take no new messages.
    let created = ok_value(
        &call(
            &client,
            "create_conversation",
            json!({"source": "marker", "target": "arangodb"}),
        )
        .await,
    );
    let id = created["id"].as_str().unwrap();
    ok_value(
        &call(
            &client,
            "archive_conversation",
            json!({"conversation_id": id}),
        )
        .await,
    );
    let result = call(
        &client,
        "send_message",
        json!({"conversation_id": id, "message": "hi"}),
    )
    .await;
    assert_eq!(result.is_error, Some(true));
    assert!(
        text_of(&result).contains("archived"),
        "{}",
        text_of(&result)
    );
    // And a normal call still works.
    ok_value(
        &call(
            &client,
            "send_message",
            json!({"source": "marker", "target": "arangodb", "message": "still fine?"}),
        )
        .await,
    );
    client.cancel().await.unwrap();
    hub.shutdown().await;
}

#[tokio::test]
async fn a_failed_query_is_stored_with_its_reason() {
    let home = home_with(&fake_child_toml());
    let hub = hub_in(home.path());
    let client = connect(hub.clone()).await;
    let result = call(
        &client,
        "send_message",
        json!({"source": "marker", "target": "arangodb", "message": "[[error:the database is on fire]]"}),
    )
    .await;
    assert_eq!(result.is_error, Some(true));
    let text = text_of(&result);
    assert!(text.contains("the database is on fire"), "{text}");
    let listed =
        ok_value(&call(&client, "list_conversations", json!({"module": "arangodb"})).await);
    let id = listed["conversations"][0]["id"].as_str().unwrap();
    assert!(
        text.contains(id),
        "the error names the conversation to continue: {text}"
    );
    let shown = ok_value(&call(&client, "get_conversation", json!({"conversation_id": id})).await);
    let messages = shown["messages"].as_array().unwrap();
    assert_eq!(messages[0]["status"], "failed");
    assert_eq!(messages[1]["role"], "error");
    assert!(
        messages[1]["content"]
            .as_str()
            .unwrap()
            .contains("the database is on fire")
    );
    client.cancel().await.unwrap();
    hub.shutdown().await;
}

#[tokio::test]
async fn search_export_and_list_see_what_was_said() {
    let home = home_with(&fake_child_toml());
    let hub = hub_in(home.path());
    let client = connect(hub.clone()).await;
    let sent = ok_value(&call(&client, "send_message", json!({"source": "marker", "target": "arangodb", "message": "where do quokka tables go?"})).await);
    let id = sent["conversation_id"].as_str().unwrap();

    let found = ok_value(&call(&client, "search_conversations", json!({"query": "quokka"})).await);
    let hits = found["hits"].as_array().unwrap();
    assert!(!hits.is_empty());
    assert!(hits.iter().all(|h| h["conversation_id"] == id));
    assert!(hits[0]["snippet"].as_str().unwrap().contains("quokka"));

    let exported = ok_value(
        &call(
            &client,
            "export_conversation",
            json!({"conversation_id": id, "format": "json"}),
        )
        .await,
    );
    let doc: serde_json::Value =
        serde_json::from_str(exported["content"].as_str().unwrap()).unwrap();
    let shown = ok_value(&call(&client, "get_conversation", json!({"conversation_id": id})).await);
    // Beside each stored field, the export has an RFC 3339 copy of the time.
    let mut messages = doc["messages"].clone();
    for message in messages.as_array_mut().unwrap() {
        let copy = message
            .as_object_mut()
            .unwrap()
            .remove("created_at_rfc3339")
            .expect("an RFC 3339 time");
        assert!(copy.as_str().unwrap().ends_with('Z'), "{copy}");
    }
    assert_eq!(
        messages, shown["messages"],
        "the export holds the stored messages"
    );
    let md = ok_value(
        &call(
            &client,
            "export_conversation",
            json!({"conversation_id": id, "format": "markdown"}),
        )
        .await,
    );
    assert!(
        md["content"]
            .as_str()
            .unwrap()
            .contains("where do quokka tables go?")
    );
    let bad = call(
        &client,
        "export_conversation",
        json!({"conversation_id": id, "format": "pdf"}),
    )
    .await;
    assert_eq!(bad.is_error, Some(true));
    assert!(text_of(&bad).contains("pdf"));

    let listed = ok_value(&call(&client, "list_conversations", json!({"module": "marker"})).await);
    assert_eq!(listed["conversations"][0]["id"], id);
    assert_eq!(listed["conversations"][0]["message_count"], 2);
    client.cancel().await.unwrap();
    hub.shutdown().await;
}

#[tokio::test]
async fn subscribers_hear_when_a_message_lands_and_progress_is_reported() {
    let home = home_with(&fake_child_toml());
    let hub = hub_in(home.path());
    let (client, mut heard) = connect_listening(hub.clone()).await;
    let created = ok_value(
        &call(
            &client,
            "create_conversation",
            json!({"source": "marker", "target": "arangodb"}),
        )
        .await,
    );
    let id = created["id"].as_str().unwrap().to_string();
    let uri = format!("conversation://{id}");
    // Hosts on protocol 2025-11-25 (Claude Code, the Python SDK) subscribe this way.
    #[allow(deprecated)]
    client
        .subscribe(rmcp::model::SubscribeRequestParams::new(uri.clone()))
        .await
        .unwrap();

    let mut params = rmcp::model::CallToolRequestParams::new("send_message").with_arguments(
        json!({"conversation_id": id, "message": "anything new?"})
            .as_object()
            .unwrap()
            .clone(),
    );
    rmcp::model::RequestParamsMeta::set_progress_token(
        &mut params,
        rmcp::model::ProgressToken(rmcp::model::NumberOrString::String("p-1".into())),
    );
    let result = client.call_tool(params).await.unwrap();
    ok_value(&result);

    let mut updated = false;
    let mut progress = 0;
    while !(updated && progress > 0) {
        match tokio::time::timeout(Duration::from_secs(10), heard.recv()).await {
            Ok(Some(Heard::ResourceUpdated(u))) => {
                assert_eq!(u, uri);
                updated = true;
            }
            Ok(Some(Heard::Progress(p))) => {
                // (rmcp's client puts its own token on the wire and routes by it.)
                assert!(p.message.is_some_and(|m| !m.is_empty()));
                progress += 1;
            }
            Ok(None) | Err(_) => panic!("heard updated={updated} progress={progress}"),
        }
    }
    let read = client
        .read_resource(rmcp::model::ReadResourceRequestParams::new(uri.clone()))
        .await
        .unwrap();
    let text = serde_json::to_string(&read).unwrap();
    assert!(text.contains("anything new?"), "{text}");
    client.cancel().await.unwrap();
    hub.shutdown().await;
}

#[tokio::test]
async fn the_ask_module_prompt_names_the_target_and_the_tool() {
    let home = home_with(&fake_child_toml());
    let hub = hub_in(home.path());
    let client = connect(hub.clone()).await;
    let prompts = client.list_prompts(None).await.unwrap();
    assert!(prompts.prompts.iter().any(|p| p.name == "ask_module"));
    let got = client
        .get_prompt(
            rmcp::model::GetPromptRequestParams::new("ask_module").with_arguments(
                json!({"target": "arangodb", "topic": "store my blocks", "source": "marker"})
                    .as_object()
                    .unwrap()
                    .clone(),
            ),
        )
        .await
        .unwrap();
    let text = serde_json::to_string(&got).unwrap();
    assert!(
        text.contains("send_message")
            && text.contains("arangodb")
            && text.contains("store my blocks"),
        "{text}"
    );
    let missing = client
        .get_prompt(rmcp::model::GetPromptRequestParams::new("ask_module"))
        .await
        .unwrap_err();
    assert!(missing.to_string().contains("target"), "{missing}");
    client.cancel().await.unwrap();
    hub.shutdown().await;
}

#[tokio::test]
async fn two_servers_on_one_database_lose_and_duplicate_nothing() {
    let home = home_with(&fake_child_toml());
    let (a, b) = (hub_in(home.path()), hub_in(home.path()));
    let created = common::new_conversation(&a, "marker", "arangodb").await;
    let mut tasks = Vec::new();
    for i in 0..40 {
        let hub = if i % 2 == 0 { a.clone() } else { b.clone() };
        let id = created.id.clone();
        tasks.push(tokio::spawn(async move {
            hub.messaging()
                .send(claude_comms::hub::SendRequest {
                    message: format!("message {i}"),
                    conversation_id: Some(id),
                    idempotency_key: Some(format!("key-{i}")),
                    ..Default::default()
                })
                .await
                .unwrap()
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let transcript = b
        .conversations()
        .get(&created.id, None, None)
        .await
        .unwrap();
    let queries: Vec<&str> = transcript
        .messages
        .iter()
        .filter(|m| m.role.as_str() == "query")
        .map(|m| m.content.as_str())
        .collect();
    assert_eq!(queries.len(), 40);
    let unique: std::collections::BTreeSet<&str> = queries.iter().copied().collect();
    assert_eq!(unique.len(), 40);
    let seqs: Vec<i64> = transcript.messages.iter().map(|m| m.seq).collect();
    assert_eq!(seqs, (1..=80).collect::<Vec<_>>());
    a.shutdown().await;
    b.shutdown().await;
}
