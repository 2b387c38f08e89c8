//! What the MCP conformance suite checks of the daemon's HTTP face, checked
//! here without it (tests/real/conformance.rs runs the suite itself):
//! `completion/complete` offers module names and only the caller's own
//! conversation ids; on protocol 2026-07-28 the methods that revision
//! removed are "method not found" with status 404; a page of this machine
//! (a localhost `Origin`) may call a loopback daemon, a foreign one may not.

use crate::daemon_cli;
use crate::http_hardening::{daemon, module_token};
use crate::http_raw;

use daemon_cli::{cli, json_of};
use http_raw::{McpHttp, request};
use serde_json::{Value, json};

fn send(home: &std::path::Path, from: &str, to: &str) -> String {
    let sent = json_of(&cli(
        home,
        &[
            "--json",
            "send",
            "--from",
            from,
            "--to",
            to,
            "[[brief]] hello",
        ],
    ));
    sent["conversation_id"].as_str().unwrap().to_string()
}

fn complete(client: &mut McpHttp, reference: Value, argument: &str, value: &str) -> Value {
    client.call(
        "completion/complete",
        json!({"ref": reference, "argument": {"name": argument, "value": value}}),
    )
}

fn values(response: &Value) -> Vec<String> {
    serde_json::from_value(response["result"]["completion"]["values"].clone())
        .unwrap_or_else(|_| panic!("completion values: {response}"))
}

#[test]
fn completion_offers_module_names_and_only_the_callers_conversations() {
    let (home, _guard, addr) = daemon("");
    let mine = send(home.path(), "marker", "arangodb");
    let theirs = send(home.path(), "arangodb", "claude_mcp");

    let token = module_token(home.path(), "marker");
    let mut marker = McpHttp::new(&addr, Some(&token));
    let init = marker.initialize();
    assert!(
        init["result"]["capabilities"]["completions"].is_object(),
        "the capability is declared: {init}"
    );

    let prompt = json!({"type": "ref/prompt", "name": "ask_module"});
    assert_eq!(
        values(&complete(&mut marker, prompt.clone(), "target", "ar")),
        ["arangodb"]
    );
    let every = values(&complete(&mut marker, prompt.clone(), "source", ""));
    for module in ["marker", "arangodb", "claude_mcp"] {
        assert!(every.iter().any(|m| m == module), "{every:?}");
    }
    assert!(values(&complete(&mut marker, prompt.clone(), "topic", "a")).is_empty());
    let module = json!({"type": "ref/resource", "uri": "module://{name}"});
    assert_eq!(
        values(&complete(&mut marker, module, "name", "MAR")),
        ["marker"]
    );

    // marker's token is offered marker's conversation, never another's.
    let conversation = json!({"type": "ref/resource", "uri": "conversation://{id}"});
    let offered = values(&complete(&mut marker, conversation.clone(), "id", ""));
    assert_eq!(offered, std::slice::from_ref(&mine));
    let typed = &theirs[..8];
    assert!(values(&complete(&mut marker, conversation.clone(), "id", typed)).is_empty());
    // The operator sees both.
    let admin_token = json_of(&cli(
        home.path(),
        &["--json", "tokens", "create", "--admin"],
    ))["token"]
        .as_str()
        .unwrap()
        .to_string();
    let mut admin = McpHttp::new(&addr, Some(&admin_token));
    admin.initialize();
    let all = values(&complete(&mut admin, conversation, "id", ""));
    assert!(all.contains(&mine) && all.contains(&theirs), "{all:?}");

    // What is not ours is named.
    let unknown = complete(
        &mut marker,
        json!({"type": "ref/prompt", "name": "nope"}),
        "x",
        "",
    );
    assert_eq!(unknown["error"]["code"], -32602, "{unknown}");
    assert!(
        unknown["error"]["message"]
            .as_str()
            .unwrap()
            .contains("\"nope\""),
        "{unknown}"
    );
    let argument = complete(&mut marker, prompt, "colour", "");
    assert!(
        argument["error"]["message"]
            .as_str()
            .unwrap()
            .contains("\"colour\""),
        "{argument}"
    );
}

fn meta_2026() -> Value {
    json!({
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {},
        "io.modelcontextprotocol/clientInfo": {"name": "raw", "version": "0"},
    })
}

#[test]
fn methods_removed_in_2026_07_28_are_404_there_and_work_before() {
    let (home, _guard, addr) = daemon("");
    let token = module_token(home.path(), "marker");
    let auth = format!("Bearer {token}");
    let headers = [
        ("Content-Type", "application/json"),
        ("Accept", "application/json, text/event-stream"),
        ("Authorization", auth.as_str()),
        ("MCP-Protocol-Version", "2026-07-28"),
    ];
    for (id, method) in [
        "initialize",
        "logging/setLevel",
        "resources/subscribe",
        "resources/unsubscribe",
    ]
    .into_iter()
    .enumerate()
    {
        let body =
            json!({"jsonrpc": "2.0", "id": id, "method": method, "params": {"_meta": meta_2026()}});
        let reply = request(&addr, "POST", &headers, body.to_string().as_bytes());
        assert_eq!(reply.status, 404, "{method}: {reply:?}");
        let error = &reply.rpc(id as u64).unwrap()["error"];
        assert_eq!(error["code"], -32601, "{method}: {reply:?}");
        assert!(
            error["message"].as_str().unwrap().contains(method),
            "{reply:?}"
        );
    }
    // A host on 2025-11-25 still initializes.
    let mut legacy = McpHttp::new(&addr, Some(&token));
    legacy.initialize();
    let listed = legacy.call("tools/list", json!({}));
    assert!(listed["result"]["tools"].is_array(), "{listed}");
}

#[test]
fn a_localhost_page_may_call_a_loopback_daemon_and_a_foreign_one_may_not() {
    let (home, _guard, addr) = daemon("");
    let token = module_token(home.path(), "marker");
    let auth = format!("Bearer {token}");
    let port = addr.rsplit(':').next().unwrap();
    let ping = json!({"jsonrpc": "2.0", "id": 1, "method": "server/discover", "params": {"_meta": meta_2026()}})
        .to_string();
    let with = |host: &str, origin: &str| {
        let headers = [
            ("Content-Type", "application/json"),
            ("Accept", "application/json, text/event-stream"),
            ("Authorization", auth.as_str()),
            ("MCP-Protocol-Version", "2026-07-28"),
            ("Mcp-Method", "server/discover"),
            ("Host", host),
            ("Origin", origin),
        ];
        request(&addr, "POST", &headers, ping.as_bytes()).status
    };
    let local_host = format!("localhost:{port}");
    for origin in [
        format!("http://localhost:{port}"),
        format!("http://127.0.0.1:{port}"),
        "http://localhost:3000".to_string(),
        format!("http://[::1]:{port}"),
    ] {
        assert_eq!(with(&local_host, &origin), 200, "{origin}");
    }
    for origin in [
        "http://evil.example.com",
        "http://localhost.evil.example.com",
    ] {
        assert_eq!(with(&local_host, origin), 403, "{origin}");
    }
    assert_eq!(
        with("evil.example.com", "http://evil.example.com"),
        403,
        "a foreign Host stays refused"
    );
}
