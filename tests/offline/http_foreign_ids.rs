//! A module token learns nothing from an id it may not use: another
//! module's conversation, job or task gets the same answer as an unknown
//! id, from every tool, resource and task method (issue 22). After each
//! case the daemon still serves.

use crate::daemon_cli;
use crate::http_hardening::{answers, daemon, module_token, still_serves};
use crate::http_raw;

use daemon_cli::{cli, json_of};
use http_raw::McpHttp;
use serde_json::{Value, json};

/// The error a reply carries (a tool error's text or a JSON-RPC error),
/// with `id` replaced, so a foreign and an unknown id compare equal.
fn refusal(reply: &Value, id: &str) -> String {
    let text = if reply["error"].is_object() {
        reply["error"].to_string()
    } else {
        let result = &reply["result"];
        assert_eq!(result["isError"], json!(true), "a refusal: {reply}");
        http_raw::tool_text(result)
    };
    assert!(!text.is_empty(), "{reply}");
    text.replace(id, "<id>")
}

#[test]
fn a_foreign_id_gets_the_same_answer_as_an_unknown_one_everywhere() {
    let (home, _guard, addr) = daemon("");
    let token = module_token(home.path(), "marker");
    // A conversation (and its job) marker takes no part in.
    let sent = json_of(&cli(
        home.path(),
        &[
            "--json",
            "send",
            "--from",
            "arangodb",
            "--to",
            "claude_mcp",
            "[[brief]] private",
        ],
    ));
    let conversation = sent["conversation_id"].as_str().unwrap().to_string();
    let job = sent["message_id"].as_str().unwrap().to_string();
    let unknown_conversation = "c0ffee00-0000-4000-8000-000000000000";
    let unknown_job = "c0ffee00-0000-4000-8000-000000000001";

    let tasks = json!({"extensions": {"io.modelcontextprotocol/tasks": {}}});
    let mut marker = McpHttp::new(&addr, Some(&token));
    marker.initialize_with(tasks);
    let tool = |name: &'static str, key: &'static str| {
        move |id: &str| ("tools/call", json!({"name": name, "arguments": {key: id}}))
    };
    type Probe = Box<dyn Fn(&str) -> (&'static str, Value)>;
    let conversation_probes: Vec<(&str, Probe)> = vec![
        (
            "send_message",
            Box::new(|id: &str| {
                (
                    "tools/call",
                    json!({"name": "send_message", "arguments": {"conversation_id": id, "message": "x"}}),
                )
            }),
        ),
        (
            "get_conversation",
            Box::new(tool("get_conversation", "conversation_id")),
        ),
        (
            "export_conversation",
            Box::new(|id: &str| {
                (
                    "tools/call",
                    json!({"name": "export_conversation", "arguments": {"conversation_id": id, "format": "json"}}),
                )
            }),
        ),
        (
            "archive_conversation",
            Box::new(tool("archive_conversation", "conversation_id")),
        ),
        (
            "resources/read",
            Box::new(|id: &str| {
                (
                    "resources/read",
                    json!({"uri": format!("conversation://{id}")}),
                )
            }),
        ),
        (
            "resources/subscribe",
            Box::new(|id: &str| {
                (
                    "resources/subscribe",
                    json!({"uri": format!("conversation://{id}")}),
                )
            }),
        ),
    ];
    let job_probes: Vec<(&str, Probe)> = vec![
        ("get_reply", Box::new(tool("get_reply", "message_id"))),
        ("cancel_job", Box::new(tool("cancel_job", "message_id"))),
        (
            "answer_question",
            Box::new(|id: &str| {
                (
                    "tools/call",
                    json!({"name": "answer_question", "arguments": {"query_id": id, "answer": "x"}}),
                )
            }),
        ),
        (
            "tasks/get",
            Box::new(|id: &str| ("tasks/get", json!({"taskId": id}))),
        ),
        (
            "tasks/cancel",
            Box::new(|id: &str| ("tasks/cancel", json!({"taskId": id}))),
        ),
    ];
    let mut compared = 0;
    for (probes, foreign, unknown) in [
        (&conversation_probes, &conversation, unknown_conversation),
        (&job_probes, &job, unknown_job),
    ] {
        for (name, probe) in probes {
            let (method, params) = probe(foreign);
            let theirs = refusal(&marker.call(method, params), foreign);
            let (method, params) = probe(unknown);
            let nobodys = refusal(&marker.call(method, params), unknown);
            assert_eq!(theirs, nobodys, "{name}: foreign and unknown ids differ");
            assert!(theirs.contains("can use"), "{name}: {theirs}");
            assert!(answers(&marker), "{name}: the daemon still serves");
            compared += 1;
        }
    }
    assert_eq!(compared, 11);
    // Nothing of the foreign conversation changed.
    let shown = json_of(&cli(
        home.path(),
        &["--json", "conversations", "show", &conversation],
    ));
    assert_ne!(shown["conversation"]["status"], "archived", "{shown}");
    still_serves(&addr, &token);
}
