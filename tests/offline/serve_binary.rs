//! The built binary spoken to in raw JSON-RPC over its stdin/stdout, as a
//! host does: malformed lines and bad calls get errors, serving goes on, and
//! end of stdin ends the process cleanly.

use crate::common;
use crate::serve_process;

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

/// Hosts send things in the wrong order; none of it may end the session.
#[test]
fn notifications_and_responses_before_initialize_are_ignored() {
    let home = tempfile::tempdir().unwrap();
    let mut server = Server::start(home.path());
    for early in [
        json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
        json!({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 1}}),
        json!({"jsonrpc": "2.0", "method": "notifications/no_such_thing", "params": {}}),
        json!({"jsonrpc": "2.0", "id": 77, "result": {}}),
        json!({"jsonrpc": "2.0", "id": 78, "error": {"code": -1, "message": "x"}}),
    ] {
        server.send(early);
    }
    // A request other than initialize or ping is refused, naming the cause.
    let early = server.request(1, "tools/list", json!({}));
    assert_eq!(early["error"]["code"], -32600, "{early}");
    assert!(
        early["error"]["message"]
            .as_str()
            .unwrap()
            .contains("initialize"),
        "{early}"
    );
    let ping = server.request(2, "ping", json!({}));
    assert!(ping["result"].is_object(), "{ping}");
    let init = server.initialize();
    assert_eq!(init["result"]["serverInfo"]["name"], "claude-comms");
    let listed = server.request(3, "tools/list", json!({}));
    assert!(listed["result"]["tools"].is_array(), "{listed}");
    assert!(server.finish().success());
}

/// rmcp routes the methods it knows; the transport no longer answers
/// -32601 for those of newer protocol revisions.
#[test]
fn methods_of_the_2026_revision_reach_rmcp() {
    let home = tempfile::tempdir().unwrap();
    let mut server = Server::start(home.path());
    let meta = json!({
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {},
        "io.modelcontextprotocol/clientInfo": {"name": "raw", "version": "0"},
    });
    let discovered = server.request(1, "server/discover", json!({"_meta": meta.clone()}));
    assert!(
        discovered["result"]["supportedVersions"]
            .to_string()
            .contains("2026-07-28"),
        "{discovered}"
    );
    server.initialize();
    let again = server.request(2, "server/discover", json!({"_meta": meta}));
    assert!(again["result"]["supportedVersions"].is_array(), "{again}");
    assert!(server.finish().success());
}

/// Two requests in flight with one id: the second is refused (naming the
/// id) and the first still gets its own answer.
#[test]
fn a_duplicate_in_flight_id_is_refused_and_the_first_answer_arrives() {
    let home = common::home_with(&common::fake_child_toml());
    let mut server = Server::start(home.path());
    server.initialize();
    let slow = json!({"jsonrpc": "2.0", "id": 5, "method": "tools/call", "params": {"name": "send_message",
        "arguments": {"source": "marker", "target": "arangodb", "message": "first [[delay:1500]]"}}});
    server.send(slow);
    server.send(
        json!({"jsonrpc": "2.0", "id": 5, "method": "tools/call", "params": {"name": "send_message",
        "arguments": {"source": "marker", "target": "arangodb", "message": "second"}}}),
    );
    let refused = server.next();
    assert_eq!(refused["id"], 5, "{refused}");
    assert_eq!(refused["error"]["code"], -32600, "{refused}");
    let message = refused["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("id 5") && message.contains("in flight"),
        "{message}"
    );
    let first = server.next();
    assert_eq!(first["id"], 5, "{first}");
    assert_ne!(first["result"]["isError"], true, "{first}");
    assert!(first["result"].to_string().contains("first"), "{first}");
    // Once answered, the id may be used again.
    let reused = server.request(5, "ping", json!({}));
    assert!(reused["result"].is_object(), "{reused}");
    assert!(server.finish().success());
}

/// A data folder the user cannot write: the error names the path and says
/// "permission denied", once, instead of SQLite's code 14 three times.
#[test]
fn an_unwritable_data_dir_is_named_with_permission_denied() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    use std::os::unix::process::CommandExt;
    let outer = tempfile::tempdir().unwrap();
    std::fs::set_permissions(outer.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let data = outer.path().join("data");
    std::fs::create_dir(&data).unwrap();
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o555)).unwrap();
    // root may write anywhere: run as `nobody` then, as a user would be.
    let as_root = std::fs::metadata("/proc/self").unwrap().uid() == 0;
    for args in [&["conversations", "list"][..], &["serve"][..]] {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_claude-comms"));
        command
            .args(args)
            .env("CLAUDE_COMMS_HOME", &data)
            .env_remove("CLAUDE_COMMS_CONFIG")
            .env("RUST_LOG", "off")
            .stdin(std::process::Stdio::null());
        if as_root {
            command.uid(65534).gid(65534);
        }
        let output = command.output().unwrap();
        assert!(!output.status.success(), "{args:?} succeeded");
        let stderr = String::from_utf8_lossy(&output.stderr);
        let db = data.join("claude-comms.db").display().to_string();
        assert!(stderr.contains(&db), "{args:?}: {stderr}");
        assert!(stderr.contains("permission denied"), "{args:?}: {stderr}");
        assert!(!stderr.contains("code 14"), "{args:?}: {stderr}");
        assert_eq!(
            stderr.matches("permission denied").count(),
            1,
            "{args:?}: {stderr}"
        );
        assert!(
            output.stdout.is_empty(),
            "{args:?}: stdout carries only frames"
        );
    }
}

/// A database file this user cannot write, in a folder it cannot write:
/// SQLite would open it for reading only and fail each write later with
/// "attempt to write a readonly database (code 8)", naming nothing. The
/// error names the file and says it is read-only, at open.
#[test]
fn a_read_only_database_is_named_and_said_to_be_read_only() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    use std::os::unix::process::CommandExt;
    let outer = tempfile::tempdir().unwrap();
    std::fs::set_permissions(outer.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let data = outer.path().join("data");
    let run = |args: &[&str], as_nobody: bool| {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_claude-comms"));
        command
            .args(args)
            .env("CLAUDE_COMMS_HOME", &data)
            .env("CLAUDE_COMMS_HUB", "embedded")
            .env_remove("CLAUDE_COMMS_CONFIG")
            .env("RUST_LOG", "off")
            .stdin(std::process::Stdio::null());
        if as_nobody {
            command.uid(65534).gid(65534);
        }
        command.output().unwrap()
    };
    // The database exists, with its -wal and -shm beside it, as after use.
    assert!(run(&["conversations", "list"], false).status.success());
    let db = data.join("claude-comms.db");
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o444)).unwrap();
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o555)).unwrap();
    // root may write anywhere: run as `nobody` then, as a user would be.
    let as_root = std::fs::metadata("/proc/self").unwrap().uid() == 0;
    for args in [
        &["conversations", "list"][..],
        &["send", "--from", "marker", "--to", "arangodb", "hello"][..],
        &["serve"][..],
    ] {
        let output = run(args, as_root);
        assert!(!output.status.success(), "{args:?} succeeded");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains(&db.display().to_string()),
            "{args:?}: {stderr}"
        );
        assert!(stderr.contains("read-only"), "{args:?}: {stderr}");
        assert!(!stderr.contains("code 8"), "{args:?}: {stderr}");
        assert!(output.stdout.is_empty(), "{args:?}: stdout stays clean");
    }
}

#[test]
fn an_empty_module_setting_names_no_module() {
    // A Claude Desktop bundle passes its unset "module" setting as an empty
    // CLAUDE_COMMS_MODULE: that must mean "no module", not a module named "".
    let home = common::home_with(&common::fake_child_toml());
    let mut server = Server::start_with(home.path(), &[("CLAUDE_COMMS_MODULE", "")]);
    server.initialize();
    let result = server.call_tool(
        2,
        "send_message",
        json!({"target": "arangodb", "message": "hello"}),
    );
    assert_eq!(result["isError"], true, "{result}");
    assert!(
        result.to_string().contains("no asking module given"),
        "{result}"
    );
    let result = server.call_tool(
        3,
        "send_message",
        json!({"source": "marker", "target": "arangodb", "message": "hello"}),
    );
    assert_ne!(result["isError"], true, "{result}");
    assert!(server.finish().success());
}
