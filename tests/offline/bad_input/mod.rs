//! A corpus of bad input to `serve`: each line gets the right JSON-RPC
//! error, or the right tool error naming the problem, and after all of them
//! the server still answers a normal call.

use crate::common;
use crate::serve_process;

use serde_json::{Value, json};
use serve_process::Server;

mod hardening;
use hardening::hardening_corpus;

/// What a bad line must get back.
pub(super) enum Expect {
    /// A JSON-RPC error with this code.
    Rpc(i64),
    /// A tool result with `isError: true` whose text contains this.
    Tool(&'static str),
    /// A JSON-RPC error with this code whose message names all of these.
    RpcNaming(i64, &'static [&'static str]),
    /// A tool error whose text names all of these.
    ToolNaming(&'static [&'static str]),
    /// A tool result that is not an error (odd input handled correctly).
    ToolOk,
}

pub(super) fn rpc(id: Value, method: &str, params: Value) -> Vec<u8> {
    json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params})
        .to_string()
        .into_bytes()
}

pub(super) fn call(id: i64, name: &str, arguments: Value) -> Vec<u8> {
    json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": {"name": name, "arguments": arguments}})
        .to_string()
        .into_bytes()
}

fn corpus() -> Vec<(&'static str, Vec<u8>, Expect)> {
    use Expect::*;
    let raw = |s: &str| s.as_bytes().to_vec();
    let nested = |depth: usize| format!("{}{}", "[".repeat(depth), "]".repeat(depth));
    let big = "x".repeat(10 * 1024 * 1024);
    let mut cases: Vec<(&'static str, Vec<u8>, Expect)> = vec![
        // Not JSON at all.
        ("open brace", raw("{"), Rpc(-32700)),
        ("close brace", raw("}"), Rpc(-32700)),
        ("bare word", raw("hello"), Rpc(-32700)),
        ("single quotes", raw("{'jsonrpc':'2.0'}"), Rpc(-32700)),
        ("missing value", raw(r#"{"jsonrpc":}"#), Rpc(-32700)),
        ("trailing comma", raw(r#"{"jsonrpc":"2.0","id":1,}"#), Rpc(-32700)),
        ("unterminated string", raw(r#"{"jsonrpc":"2.0","id":1,"method":"ping}"#), Rpc(-32700)),
        ("truncated object", raw(r#"{"jsonrpc":"2.0","id":1,"method":"ping""#), Rpc(-32700)),
        ("NaN", raw(r#"{"jsonrpc":"2.0","id":NaN,"method":"ping"}"#), Rpc(-32700)),
        ("leading zero", raw(r#"{"jsonrpc":"2.0","id":01,"method":"ping"}"#), Rpc(-32700)),
        ("two objects on a line", raw(r#"{"a":1}{"b":2}"#), Rpc(-32700)),
        ("raw control character in a string", b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"pi\x01ng\"}".to_vec(), Rpc(-32700)),
        ("invalid UTF-8", b"\xff\xfe\xfd".to_vec(), Rpc(-32700)),
        ("invalid UTF-8 inside JSON", b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"\xc3\x28\"}".to_vec(), Rpc(-32700)),
        ("deeply nested arrays", nested(100_000).into_bytes(), Rpc(-32700)),
        // JSON, but not a JSON-RPC request.
        ("empty batch", raw("[]"), Rpc(-32600)),
        ("a batch", raw(r#"[{"jsonrpc":"2.0","id":1,"method":"ping"}]"#), Rpc(-32600)),
        ("a number", raw("42"), Rpc(-32600)),
        ("a string", raw(r#""ping""#), Rpc(-32600)),
        ("null", raw("null"), Rpc(-32600)),
        ("jsonrpc 1.0", raw(r#"{"jsonrpc":"1.0","id":1,"method":"ping"}"#), Rpc(-32600)),
        ("jsonrpc 2 as a number", raw(r#"{"jsonrpc":2.0,"id":1,"method":"ping"}"#), Rpc(-32600)),
        ("jsonrpc missing", raw(r#"{"id":1,"method":"ping"}"#), Rpc(-32600)),
        ("id is an object", raw(r#"{"jsonrpc":"2.0","id":{},"method":"ping"}"#), Rpc(-32600)),
        ("method is a number", raw(r#"{"jsonrpc":"2.0","id":1,"method":7}"#), Rpc(-32600)),
        ("deeply nested arguments", format!(r#"{{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{{"name":"list_modules","arguments":{{"tag":{}}}}}}}"#, nested(5_000)).into_bytes(), Rpc(-32700)),
        // Methods that do not exist.
        ("unknown method", raw(r#"{"jsonrpc":"2.0","id":1,"method":"foo"}"#), Rpc(-32601)),
        ("unknown tools method", raw(r#"{"jsonrpc":"2.0","id":1,"method":"tools/foo"}"#), Rpc(-32601)),
        ("empty method", raw(r#"{"jsonrpc":"2.0","id":1,"method":""}"#), Rpc(-32601)),
        ("escaped control character in method", raw(r#"{"jsonrpc":"2.0","id":1,"method":"ping\u0001"}"#), Rpc(-32601)),
        ("resources/write", raw(r#"{"jsonrpc":"2.0","id":1,"method":"resources/write","params":{}}"#), Rpc(-32601)),
        // Known methods with bad parameters.
        ("unknown tool", call(1, "rm_rf", json!({})), Rpc(-32602)),
        ("tools/call without a name", raw(r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{}}"#), Rpc(-32602)),
        ("unknown prompt", raw(r#"{"jsonrpc":"2.0","id":1,"method":"prompts/get","params":{"name":"nope"}}"#), Rpc(-32602)),
        ("ask_module without a target", raw(r#"{"jsonrpc":"2.0","id":1,"method":"prompts/get","params":{"name":"ask_module","arguments":{"topic":"x"}}}"#), Rpc(-32602)),
        ("path traversal resource", raw(r#"{"jsonrpc":"2.0","id":1,"method":"resources/read","params":{"uri":"module://../../etc/passwd"}}"#), Rpc(-32002)),
        ("unknown resource scheme", raw(r#"{"jsonrpc":"2.0","id":1,"method":"resources/read","params":{"uri":"file:///etc/passwd"}}"#), Rpc(-32002)),
        ("unknown conversation resource", raw(r#"{"jsonrpc":"2.0","id":1,"method":"resources/read","params":{"uri":"conversation://nope"}}"#), Rpc(-32002)),
        // Tools with bad arguments: the error names the field and the reason.
        ("list_modules tag as a number", call(1, "list_modules", json!({"tag": 5})), Tool("tag")),
        ("list_modules unknown field", call(1, "list_modules", json!({"colour": "red"})), Tool("colour")),
        ("describe_module without name", call(1, "describe_module", json!({})), Tool("name")),
        ("describe_module name as a number", call(1, "describe_module", json!({"name": 7})), Tool("name")),
        ("describe_module path traversal", call(1, "describe_module", json!({"name": "../../etc"})), Tool("../../etc")),
        ("find_consumers of an unknown module", call(1, "find_consumers", json!({"module": "ghost"})), Tool("ghost")),
        ("register_module with a string", call(1, "register_module", json!({"descriptor": "x"})), Tool("descriptor")),
        ("register_module path traversal name", call(1, "register_module", json!({"descriptor": {"name": "../../etc", "version": "1", "description": "x"}})), Tool("name")),
        ("register_module missing fields", call(1, "register_module", json!({"descriptor": {"name": "lonely"}})), Tool("version")),
        ("send_message without message", call(1, "send_message", json!({"source": "marker", "target": "arangodb"})), Tool("message")),
        ("send_message message as an array", call(1, "send_message", json!({"source": "marker", "target": "arangodb", "message": []})), Tool("message")),
        ("send_message empty message", call(1, "send_message", json!({"source": "marker", "target": "arangodb", "message": ""})), Tool("empty")),
        ("send_message 10 MB message", call(1, "send_message", json!({"source": "marker", "target": "arangodb", "message": big})), Tool("over the limit")),
        ("send_message to a traversal name", call(1, "send_message", json!({"source": "marker", "target": "../../etc", "message": "hi"})), Tool("../../etc")),
        ("send_message from an unknown module", call(1, "send_message", json!({"source": "ghost", "target": "arangodb", "message": "hi"})), Tool("ghost")),
        ("send_message timeout of zero", call(1, "send_message", json!({"source": "marker", "target": "arangodb", "message": "hi", "timeout_s": 0})), Tool("timeout_s")),
        ("send_message to an unknown conversation", call(1, "send_message", json!({"conversation_id": "nope", "message": "hi"})), Tool("nope")),
        ("create_conversation without target", call(1, "create_conversation", json!({"source": "marker"})), Tool("target")),
        ("create_conversation unknown backend", call(1, "create_conversation", json!({"source": "marker", "target": "arangodb", "backend": "gpu"})), Tool("backend")),
        ("get_conversation id as a number", call(1, "get_conversation", json!({"conversation_id": 5})), Tool("conversation_id")),
        ("get_conversation unknown id", call(1, "get_conversation", json!({"conversation_id": "../../x"})), Tool("../../x")),
        ("list_conversations negative limit", call(1, "list_conversations", json!({"limit": -1})), Tool("limit")),
        ("list_conversations bad status", call(1, "list_conversations", json!({"status": "deleted"})), Tool("deleted")),
        ("list_conversations bad cursor", call(1, "list_conversations", json!({"cursor": "garbage"})), Tool("garbage")),
        ("search_conversations empty query", call(1, "search_conversations", json!({"query": "   "})), Tool("empty")),
        ("export_conversation bad format", call(1, "export_conversation", json!({"conversation_id": "x", "format": "exe"})), Tool("exe")),
        ("archive_conversation unknown id", call(1, "archive_conversation", json!({"conversation_id": "nope"})), Tool("nope")),
        ("instance_status unknown id", call(1, "instance_status", json!({"instance_id": "../../x"})), Tool("../../x")),
        ("stop_instance without id", call(1, "stop_instance", json!({})), Tool("instance_id")),
        ("start_instance unknown backend", call(1, "start_instance", json!({"backend": "gpu"})), Tool("backend")),
    ];
    cases.extend(hardening_corpus());
    // Number the requests so each answer can be matched to its line.
    for (i, (_, line, _)) in cases.iter_mut().enumerate() {
        // Only ids rmcp can represent; the others are the point of a case.
        if let Ok(mut v) = serde_json::from_slice::<Value>(line)
            && v.get("id").is_some_and(|id| id.as_i64().is_some())
        {
            v["id"] = json!(1000 + i);
            *line = v.to_string().into_bytes();
        }
    }
    cases
}

#[test]
fn every_bad_input_gets_the_right_error_and_the_server_keeps_serving() {
    let home = common::home_with(&common::fake_child_toml());
    let mut server = Server::start(home.path());
    server.initialize();
    let cases = corpus();
    assert!(cases.len() >= 108, "{} cases", cases.len());
    let mut failures = Vec::new();
    for (name, line, expect) in &cases {
        server.send_raw(line);
        let frame = server.next();
        let sent_id = serde_json::from_slice::<Value>(line)
            .ok()
            .and_then(|v| v.get("id").cloned())
            .filter(|id| id.as_i64().is_some());
        if let Some(id) = sent_id
            && frame["id"] != id
        {
            failures.push(format!(
                "{name}: answered id {} instead of {id}",
                frame["id"]
            ));
            continue;
        }
        match expect {
            Expect::Rpc(code) => {
                if frame["error"]["code"] != *code {
                    failures.push(format!(
                        "{name}: expected JSON-RPC error {code}, got {frame}"
                    ));
                }
            }
            Expect::RpcNaming(code, needles) => {
                let message = frame["error"]["message"].as_str().unwrap_or("");
                if frame["error"]["code"] != *code || !needles.iter().all(|n| message.contains(n)) {
                    failures.push(format!(
                        "{name}: expected JSON-RPC error {code} naming {needles:?}, got {frame}"
                    ));
                }
            }
            Expect::ToolNaming(needles) => {
                let text = frame["result"]["content"][0]["text"].as_str().unwrap_or("");
                if frame["result"]["isError"] != true || !needles.iter().all(|n| text.contains(n)) {
                    let shown: String = frame.to_string().chars().take(400).collect();
                    failures.push(format!(
                        "{name}: expected a tool error naming {needles:?}, got {shown}"
                    ));
                }
            }
            Expect::ToolOk => {
                if frame.get("result").is_none() || frame["result"]["isError"] == true {
                    let shown: String = frame.to_string().chars().take(400).collect();
                    failures.push(format!("{name}: expected a result, got {shown}"));
                }
            }
            Expect::Tool(needle) => {
                let text = frame["result"]["content"][0]["text"].as_str().unwrap_or("");
                if frame["result"]["isError"] != true || !text.contains(needle) {
                    let shown: String = frame.to_string().chars().take(400).collect();
                    failures.push(format!(
                        "{name}: expected a tool error naming {needle:?}, got {shown}"
                    ));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases wrong:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    // After all of that, a normal call works.
    let ok = server.call_tool(
        1,
        "send_message",
        json!({"source": "marker", "target": "arangodb", "message": "still here?"}),
    );
    assert_ne!(ok["isError"], true, "{ok}");
    assert!(server.finish().success());
}
