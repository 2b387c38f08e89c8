//! The built binary spoken to in raw JSON-RPC over its stdin/stdout, as a
//! host does: malformed lines and bad calls get errors, serving goes on, and
//! end of stdin ends the process cleanly.

#[path = "support/serve_process.rs"]
mod serve_process;

use serde_json::{Value, json};
use serve_process::Server;

#[test]
fn raw_json_rpc_session_with_bad_input() {
    let home = tempfile::tempdir().unwrap();
    let mut server = Server::start(home.path());
    let init = server.request(
        1,
        "initialize",
        json!({"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "raw", "version": "0"}}),
    );
    assert_eq!(init["result"]["serverInfo"]["name"], "claude-comms");
    server.send(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));

    server.send_raw(b"{this is not json");
    let parse_error = server.next();
    assert_eq!(parse_error["error"]["code"], -32700, "{parse_error}");
    assert_eq!(parse_error["id"], Value::Null);

    let unknown_method = server.request(2, "modules/frobnicate", json!({}));
    assert_eq!(unknown_method["error"]["code"], -32601);

    let unknown_tool = server.request(
        3,
        "tools/call",
        json!({"name": "frobnicate", "arguments": {}}),
    );
    assert_eq!(unknown_tool["error"]["code"], -32602);
    assert!(
        unknown_tool["error"]["message"]
            .as_str()
            .unwrap()
            .contains("frobnicate")
    );

    let bad_args = server.request(
        4,
        "tools/call",
        json!({"name": "list_modules", "arguments": {"tag": 7}}),
    );
    assert_eq!(bad_args["result"]["isError"], true);
    assert!(
        bad_args["result"]["content"][0]["text"]
            .as_str()
            .unwrap()
            .contains("argument `tag`")
    );

    let listed = server.request(
        5,
        "tools/call",
        json!({"name": "list_modules", "arguments": {}}),
    );
    let modules = listed["result"]["structuredContent"]["modules"]
        .as_array()
        .unwrap();
    assert_eq!(modules.len(), 3);

    let ping = server.request(6, "ping", json!({}));
    assert!(ping["result"].is_object());

    // End of stdin: the server exits with 0 on its own.
    drop(server.stdin.take());
    let status = server.child.wait().unwrap();
    assert!(status.success(), "{status:?}");
}

#[test]
fn requests_sent_just_before_end_of_stdin_are_still_answered() {
    let home = tempfile::tempdir().unwrap();
    let mut server = Server::start(home.path());
    server.send(json!({"jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "raw", "version": "0"}}}));
    server.send(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
    for id in 2..12 {
        server.send(json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
            "params": {"name": "describe_module", "arguments": {"name": "marker"}}}));
    }
    drop(server.stdin.take());
    let mut ids: Vec<i64> = (0..11)
        .map(|_| server.next()["id"].as_i64().unwrap())
        .collect();
    ids.sort();
    assert_eq!(ids, (1..12).collect::<Vec<_>>());
    assert!(server.child.wait().unwrap().success());
}
