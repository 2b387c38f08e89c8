//! The protocol revisions `claude-comms serve` negotiates, spoken to in raw
//! JSON-RPC over its stdin/stdout as a host does: 2025-06-18 and 2025-11-25
//! with `initialize`, 2026-07-28 without it (`server/discover`, then `_meta`
//! on every request), and a clear error for a version it does not speak.

use std::time::{Duration, Instant};

use crate::common;
use crate::serve_process;

use serde_json::{Value, json};
use serve_process::Server;

/// The per-request metadata of protocol 2026-07-28, with `capabilities`.
fn meta_2026(capabilities: Value) -> Value {
    json!({
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": capabilities,
        "io.modelcontextprotocol/clientInfo": {"name": "raw", "version": "0"},
    })
}

fn ask(message: &str) -> Value {
    json!({"name": "send_message", "arguments": {"source": "marker", "target": "arangodb", "message": message}})
}

/// `params` with `_meta` added.
fn with_meta(mut params: Value, meta: &Value) -> Value {
    params["_meta"] = meta.clone();
    params
}

#[test]
fn revisions_with_initialize_list_tools_and_send_a_message() {
    for version in ["2025-06-18", "2025-11-25"] {
        let home = common::home_with(&common::fake_child_toml());
        let mut server = Server::start(home.path());
        let init = server.request(
            1,
            "initialize",
            json!({"protocolVersion": version, "capabilities": {}, "clientInfo": {"name": "raw", "version": "0"}}),
        );
        assert_eq!(init["result"]["protocolVersion"], version, "{init}");
        server.send(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
        let tools = server.request(2, "tools/list", json!({}));
        assert!(
            tools["result"]["tools"]
                .as_array()
                .unwrap()
                .iter()
                .any(|t| t["name"] == "send_message"),
            "{version}: {tools}"
        );
        let sent = server.request(3, "tools/call", ask(&format!("hello on {version}")));
        let outcome = &sent["result"]["structuredContent"];
        assert_eq!(outcome["status"], "delivered", "{version}: {sent}");
        assert!(
            outcome["reply"]
                .as_str()
                .unwrap()
                .contains(&format!("hello on {version}")),
            "{sent}"
        );
        assert!(server.finish().success());
    }
}

#[test]
fn revision_2026_07_28_discovers_then_calls_with_meta_on_every_request() {
    let home = common::home_with(&common::fake_child_toml());
    let mut server = Server::start(home.path());
    let meta = meta_2026(json!({}));
    let discovered = server.request(1, "server/discover", json!({"_meta": meta}));
    let versions = discovered["result"]["supportedVersions"].to_string();
    for version in ["2025-06-18", "2025-11-25", "2026-07-28"] {
        assert!(versions.contains(version), "{discovered}");
    }
    assert!(
        discovered["result"]["capabilities"]["extensions"]
            .get("io.modelcontextprotocol/tasks")
            .is_some(),
        "tasks are advertised: {discovered}"
    );
    let tools = server.request(2, "tools/list", json!({"_meta": meta}));
    assert!(tools["result"]["tools"].is_array(), "{tools}");
    let sent = server.request(3, "tools/call", with_meta(ask("hello on 2026"), &meta));
    let outcome = &sent["result"]["structuredContent"];
    assert_eq!(outcome["status"], "delivered", "{sent}");
    assert!(outcome["reply"].as_str().unwrap().contains("hello on 2026"));

    // The conversation continues by its id, not by the connection.
    let conversation = outcome["conversation_id"].as_str().unwrap().to_string();
    let follow_up = json!({"name": "send_message", "arguments": {"conversation_id": conversation, "message": "and then?"}});
    let again = server.request(4, "tools/call", with_meta(follow_up, &meta));
    assert_eq!(
        again["result"]["structuredContent"]["conversation_id"],
        conversation.as_str(),
        "{again}"
    );

    // Without its _meta a request is refused, naming what is missing.
    let bare = server.request(5, "tools/list", json!({}));
    let message = bare["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("protocolVersion"), "{bare}");

    // The methods 2026-07-28 removed are unknown on it, whatever the params.
    let removed = server.request(6, "initialize", json!({"_meta": meta}));
    assert_eq!(removed["error"]["code"], -32601, "{removed}");
    assert!(server.finish().success());
}

#[test]
fn an_unsupported_version_is_refused_with_the_supported_ones() {
    let home = tempfile::tempdir().unwrap();
    let mut server = Server::start(home.path());
    let mut meta = meta_2026(json!({}));
    meta["io.modelcontextprotocol/protocolVersion"] = json!("2099-01-01");
    let refused = server.request(1, "tools/list", json!({"_meta": meta}));
    assert_eq!(refused["error"]["code"], -32022, "{refused}");
    assert_eq!(refused["error"]["data"]["requested"], "2099-01-01");
    let supported = refused["error"]["data"]["supported"].to_string();
    for version in ["2025-06-18", "2025-11-25", "2026-07-28"] {
        assert!(supported.contains(version), "{refused}");
    }
    // `initialize` with a version it does not speak is answered with one it
    // does (the host then decides), as the 2025 revisions specify.
    let init = server.request(
        2,
        "initialize",
        json!({"protocolVersion": "1999-01-01", "capabilities": {}, "clientInfo": {"name": "raw", "version": "0"}}),
    );
    assert_eq!(init["result"]["protocolVersion"], "2025-11-25", "{init}");
    assert!(server.finish().success());
}

/// A 2026-07-28 host that declares the tasks extension in its request
/// `_meta` gets a task, and follows it with `tasks/get` to the answer.
#[test]
fn a_2026_host_declaring_tasks_gets_a_task_and_polls_it_to_the_answer() {
    let home = common::home_with(&common::fake_child_toml());
    let mut server = Server::start(home.path());
    let meta = meta_2026(json!({"extensions": {"io.modelcontextprotocol/tasks": {}}}));
    let created = server.request(
        1,
        "tools/call",
        with_meta(ask("[[delay:300]] as a task"), &meta),
    );
    assert_eq!(created["result"]["resultType"], "task", "{created}");
    assert_eq!(created["result"]["status"], "working", "{created}");
    let task_id = created["result"]["taskId"].as_str().unwrap().to_string();
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut id = 2;
    let done = loop {
        let got = server.request(id, "tasks/get", json!({"taskId": task_id, "_meta": meta}));
        id += 1;
        let status = got["result"]["status"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        if status != "working" {
            break got;
        }
        assert!(Instant::now() < deadline, "{got}");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(done["result"]["status"], "completed", "{done}");
    let outcome = &done["result"]["result"]["structuredContent"];
    assert_eq!(outcome["message_id"], task_id.as_str(), "{done}");
    assert!(
        outcome["reply"].as_str().unwrap().contains("as a task"),
        "{done}"
    );
    assert!(server.finish().success());
}

/// 2026-07-28 replaces resources/subscribe with subscriptions/listen: the
/// open listen request carries the conversation's updates.
#[test]
fn a_2026_host_listens_for_conversation_updates() {
    let home = common::home_with(&common::fake_child_toml());
    let mut server = Server::start(home.path());
    let meta = meta_2026(json!({}));
    let created = server.request(
        1,
        "tools/call",
        json!({"name": "create_conversation", "arguments": {"source": "marker", "target": "arangodb"}, "_meta": meta}),
    );
    let conversation = created["result"]["structuredContent"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let uri = format!("conversation://{conversation}");
    server.send(json!({"jsonrpc": "2.0", "id": 2, "method": "subscriptions/listen",
        "params": {"notifications": {"resourceSubscriptions": [uri, "module://marker"]}, "_meta": meta}}));
    let ack = server.next();
    assert_eq!(
        ack["method"], "notifications/subscriptions/acknowledged",
        "{ack}"
    );
    // Only conversations change; the module resource is not accepted.
    assert_eq!(
        ack["params"]["notifications"]["resourceSubscriptions"],
        json!([uri]),
        "{ack}"
    );
    let follow_up = json!({"name": "send_message", "arguments": {"conversation_id": conversation, "message": "news?"}});
    server.send(json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": with_meta(follow_up, &meta)}));
    let (mut updated, mut answered) = (false, false);
    while !(updated && answered) {
        let frame = server.next();
        if frame["method"] == "notifications/resources/updated" {
            assert_eq!(frame["params"]["uri"], uri.as_str(), "{frame}");
            updated = true;
        } else if frame["id"] == 3 {
            assert_eq!(frame["result"]["structuredContent"]["status"], "delivered");
            answered = true;
        }
    }
    // End of stdin ends the server promptly even with the listen open.
    let started = Instant::now();
    assert!(server.finish().success());
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "took {:?}",
        started.elapsed()
    );
}
