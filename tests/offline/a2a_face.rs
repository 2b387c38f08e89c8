//! The A2A face (issue 31) under bad input, with the fake child: no or a
//! bad token, an unknown module, malformed JSON-RPC, unknown methods,
//! wrong params, a file part, an unserved protocol version, a
//! wrong Content-Type and an oversized body each get a clear error (and
//! the HTTP status that goes with it); a module cannot reach another's
//! conversation or task; an admin token must name its asker. After every
//! case the daemon still answers.

use crate::daemon_cli;
use crate::http_hardening::{daemon, module_token};
use crate::http_raw;

use daemon_cli::{cli, json_of};
use http_raw::{Reply, request_to};
use serde_json::{Value, json};

const AGENT: &str = "/a2a/arangodb";

fn post(addr: &str, token: Option<&str>, path: &str, body: &[u8]) -> Reply {
    let bearer = token.map(|t| format!("Bearer {t}"));
    let mut headers = vec![("Content-Type", "application/json")];
    if let Some(bearer) = &bearer {
        headers.push(("Authorization", bearer));
    }
    request_to(addr, "POST", path, &headers, body)
}

fn rpc(addr: &str, token: &str, method: &str, params: Value) -> Value {
    let body = json!({"jsonrpc": "2.0", "id": 7, "method": method, "params": params});
    let reply = post(addr, Some(token), AGENT, body.to_string().as_bytes());
    assert_eq!(reply.status, 200, "{reply:?}");
    serde_json::from_str(&reply.body).unwrap()
}

fn error_of(answer: &Value) -> (i64, String) {
    (
        answer["error"]["code"]
            .as_i64()
            .unwrap_or_else(|| panic!("an error: {answer}")),
        answer["error"]["message"].as_str().unwrap().to_string(),
    )
}

fn send_params(text: &str, extra: Value) -> Value {
    let mut message = json!({"messageId": "m1", "role": "ROLE_USER", "parts": [{"text": text}]});
    if let (Value::Object(m), Value::Object(extra)) = (&mut message, extra) {
        m.extend(extra);
    }
    json!({ "message": message })
}

/// A question answered (by the fake child): the task.
fn answered(addr: &str, token: &str, params: Value) -> Value {
    let answer = rpc(addr, token, "SendMessage", params);
    let task = answer["result"]["task"].clone();
    assert_eq!(task["status"]["state"], "TASK_STATE_COMPLETED", "{answer}");
    task
}

#[test]
fn bad_requests_get_clear_errors_and_the_face_keeps_serving() {
    let (home, _guard, addr) = daemon("");
    let token = module_token(home.path(), "marker");
    let card_path = format!("{AGENT}/.well-known/agent-card.json");

    let bare = request_to(&addr, "GET", &card_path, &[], b"");
    assert_eq!(bare.status, 401, "{bare:?}");
    assert!(
        bare.header("www-authenticate")
            .unwrap()
            .starts_with("Bearer")
    );
    let forged = post(&addr, Some("cct_abc_00"), AGENT, b"{}");
    assert_eq!(forged.status, 401, "{forged:?}");
    assert!(forged.body.contains("unknown token"), "{}", forged.body);

    let bearer = format!("Bearer {token}");
    let auth = [("Authorization", bearer.as_str())];
    let card = request_to(&addr, "GET", &card_path, &auth, b"");
    assert_eq!(card.status, 200, "{card:?}");
    let card: Value = serde_json::from_str(&card.body).unwrap();
    assert_eq!(
        card["supportedInterfaces"][0]["url"],
        format!("http://{addr}{AGENT}")
    );
    let directory = request_to(&addr, "GET", "/a2a", &auth, b"");
    let directory: Value = serde_json::from_str(&directory.body).unwrap();
    let names: Vec<&str> = directory["agents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"arangodb") && names.contains(&"marker"),
        "{names:?}"
    );

    let unknown = request_to(
        &addr,
        "GET",
        "/a2a/nobody/.well-known/agent-card.json",
        &auth,
        b"",
    );
    assert_eq!(unknown.status, 404);
    assert!(
        unknown.body.contains("no module named \\\"nobody\\\""),
        "{}",
        unknown.body
    );
    let unknown = post(&addr, Some(&token), "/a2a/nobody", b"{}");
    assert_eq!(unknown.status, 404, "{unknown:?}");

    let cases: [(&[u8], i64, &str); 5] = [
        (b"{not json", -32700, "not JSON"),
        (b"[]", -32600, "batch"),
        (br#"{"jsonrpc":"2.0","method":"GetTask"}"#, -32600, "no id"),
        (
            br#"{"jsonrpc":"2.0","id":1,"method":"Nope"}"#,
            -32601,
            "unknown method",
        ),
        (
            br#"{"jsonrpc":"2.0","id":1,"method":"tasks/get"}"#,
            -32602,
            "params must be a JSON object",
        ),
    ];
    for (body, code, words) in cases {
        let reply = post(&addr, Some(&token), AGENT, body);
        let answer: Value = serde_json::from_str(&reply.body).unwrap();
        let (got, message) = error_of(&answer);
        assert_eq!(got, code, "{answer}");
        assert!(message.contains(words), "{message}");
    }
    let (code, message) = error_of(&rpc(&addr, &token, "GetTask", json!({"id": 5})));
    assert_eq!(code, -32602);
    assert!(message.starts_with("params.id:"), "{message}");
    let (code, message) = error_of(&rpc(&addr, &token, "SendMessage", json!({})));
    assert_eq!(code, -32602);
    assert!(message.contains("message"), "{message}");
    let file = json!({"message": {"messageId": "m", "role": "ROLE_USER",
                      "parts": [{"url": "file:///etc/passwd"}]}});
    let (code, message) = error_of(&rpc(&addr, &token, "SendMessage", file));
    assert_eq!(code, -32005, "{message}");
    assert!(message.contains("text parts only"), "{message}");
    let (code, _) = error_of(&rpc(
        &addr,
        &token,
        "CreateTaskPushNotificationConfig",
        json!({}),
    ));
    assert_eq!(code, -32003);

    let old = request_to(
        &addr,
        "POST",
        AGENT,
        &[
            ("Authorization", bearer.as_str()),
            ("Content-Type", "application/json"),
            ("A2A-Version", "0.3"),
        ],
        br#"{"jsonrpc":"2.0","id":1,"method":"GetTask","params":{"id":"x"}}"#,
    );
    assert_eq!(
        error_of(&serde_json::from_str(&old.body).unwrap()).0,
        -32009
    );
    let text = request_to(
        &addr,
        "POST",
        AGENT,
        &[
            ("Authorization", bearer.as_str()),
            ("Content-Type", "text/plain"),
        ],
        b"hello",
    );
    assert_eq!(text.status, 415, "{text:?}");
    let huge = vec![b' '; 5 * 1024 * 1024];
    let reply = post(&addr, Some(&token), AGENT, &huge);
    assert_eq!(reply.status, 413, "{}", reply.status);
    assert!(reply.body.contains("over 4194304 bytes"), "{}", reply.body);

    // Still serving: a question is answered.
    answered(&addr, &token, send_params("still there?", json!({})));
}

#[test]
fn a_module_reaches_only_its_own_conversations_and_an_admin_names_its_asker() {
    let (home, _guard, addr) = daemon("");
    let marker = module_token(home.path(), "marker");
    let claude_mcp = module_token(home.path(), "claude_mcp");
    let created = json_of(&cli(
        home.path(),
        &["--json", "tokens", "create", "--admin"],
    ));
    let admin = created["token"].as_str().unwrap();

    let task = answered(&addr, &marker, send_params("first", json!({})));
    let (context, id) = (
        task["contextId"].as_str().unwrap(),
        task["id"].as_str().unwrap(),
    );
    // marker goes on in its conversation.
    let next = answered(
        &addr,
        &marker,
        send_params("next", json!({"contextId": context})),
    );
    assert_eq!(next["contextId"], context);

    // Another module sees neither the conversation nor the task.
    let (code, message) = error_of(&rpc(
        &addr,
        &claude_mcp,
        "SendMessage",
        send_params("mine now", json!({"contextId": context})),
    ));
    assert_eq!(code, -32602);
    assert!(message.contains("unknown contextId"), "{message}");
    for method in ["GetTask", "CancelTask", "SubscribeToTask"] {
        let (code, _) = error_of(&rpc(&addr, &claude_mcp, method, json!({"id": id})));
        assert_eq!(code, -32001, "{method}");
    }
    // marker's own finished task: readable, not cancelable, no stream.
    let got = rpc(
        &addr,
        &marker,
        "GetTask",
        json!({"id": id, "historyLength": 1}),
    );
    assert_eq!(
        got["result"]["history"].as_array().unwrap().len(),
        1,
        "{got}"
    );
    let (code, _) = error_of(&rpc(&addr, &marker, "CancelTask", json!({"id": id})));
    assert_eq!(code, -32002);
    let (code, _) = error_of(&rpc(&addr, &marker, "SubscribeToTask", json!({"id": id})));
    assert_eq!(code, -32004);
    // A module token cannot ask as another module.
    let (code, message) = error_of(&rpc(
        &addr,
        &marker,
        "SendMessage",
        send_params("as them", json!({"metadata": {"asker": "claude_mcp"}})),
    ));
    assert_eq!(code, -32602);
    assert!(
        message.contains("cannot ask as \"claude_mcp\""),
        "{message}"
    );

    // An admin token names the asker, or is told to.
    let (code, message) = error_of(&rpc(
        &addr,
        admin,
        "SendMessage",
        send_params("who?", json!({})),
    ));
    assert_eq!(code, -32602);
    assert!(message.contains("\"asker\""), "{message}");
    let task = answered(
        &addr,
        admin,
        send_params(
            "from claude_mcp",
            json!({"metadata": {"asker": "claude_mcp"}}),
        ),
    );
    assert_eq!(
        task["metadata"]["claude-comms"]["source"], "claude_mcp",
        "{task}"
    );
}

#[test]
fn a2a_0_3_method_names_are_answered_in_0_3_json() {
    let (home, _guard, addr) = daemon("");
    let token = module_token(home.path(), "marker");
    let message = json!({"kind": "message", "messageId": "m", "role": "user",
                         "parts": [{"kind": "text", "text": "old words"}]});
    let sent = rpc(&addr, &token, "message/send", json!({ "message": message }));
    let task = &sent["result"];
    assert_eq!(
        task["kind"], "task",
        "the task itself, not {{task: ...}}: {sent}"
    );
    assert_eq!(task["status"]["state"], "completed");
    assert_eq!(task["artifacts"][0]["parts"][0]["kind"], "text");
    assert_eq!(task["history"][0]["role"], "user");
    let got = rpc(&addr, &token, "tasks/get", json!({"id": task["id"]}));
    assert_eq!(got["result"]["status"]["state"], "completed", "{got}");
    let bearer = format!("Bearer {token}");
    let refused = request_to(
        &addr,
        "POST",
        AGENT,
        &[
            ("Authorization", bearer.as_str()),
            ("Content-Type", "application/json"),
            ("A2A-Version", "0.3"),
        ],
        br#"{"jsonrpc":"2.0","id":1,"method":"GetTask","params":{"id":"x"}}"#,
    );
    let (code, words) = error_of(&serde_json::from_str(&refused.body).unwrap());
    assert_eq!(code, -32009, "a 1.0 name with A2A-Version 0.3: {words}");
}
