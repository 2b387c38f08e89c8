//! End-to-end (issue 29) with the official Python MCP SDK as the asker, on
//! protocol 2026-07-28 over the daemon's HTTP face with a module token: the
//! real `claude` CLI (stand-in model) calls `ask_asker`; the SDK gets the
//! question as an elicitation in an `InputRequiredResult`, answers, and its
//! own retry of the same call returns the final reply (both backends); a
//! changed `requestState` is refused; as a task, the question is the task's
//! input request and `tasks/update` answers it. See
//! tests/host/python_ask_back.py.

use crate::daemon_cli;
use crate::model_stub;
use crate::real_children;

use std::path::Path;

use daemon_cli::{DaemonGuard, cli, json_of};
use model_stub::{ModelStub, is_tool_result, request_text};
use real_children::RealChildren;

#[ignore = "end-to-end tier: needs the real children (bash scripts/install-real-children.sh); scripts/test.sh runs it"]
#[test]
fn the_python_sdk_answers_the_agents_elicitation_and_gets_the_reply_on_the_same_call() {
    let Some(real) = RealChildren::find() else {
        return;
    };
    let python = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/real-children/.venv/bin/python");
    assert!(
        python.exists() || std::env::var("CLAUDE_COMMS_REQUIRE_REAL").as_deref() != Ok("1"),
        "the Python MCP SDK is not installed (scripts/install-real-children.sh)"
    );
    if !python.exists() {
        return;
    }
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let model = runtime.block_on(ModelStub::start());
    let claude_home = tempfile::tempdir().unwrap();
    let home = crate::common::home_with(&real.config_toml(&model, claude_home.path()));
    let _daemon = DaemonGuard(home.path().to_path_buf());
    let started = json_of(&cli(
        home.path(),
        &["--json", "daemon", "start", "--listen", "127.0.0.1:0"],
    ));
    let created = json_of(&cli(
        home.path(),
        &["--json", "tokens", "create", "--module", "marker"],
    ));
    let out = std::process::Command::new(python)
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/host/python_ask_back.py"))
        .arg(started["http_url"].as_str().unwrap())
        .arg(created["token"].as_str().unwrap())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let seen: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(seen["protocol_version"], "2026-07-28", "{seen}");

    // Through elicitation, on both backends: the SDK was asked the agent's
    // question, and the same call returned the reply built on its answer.
    let elicited = seen["elicited"].to_string();
    for backend in ["claude-code-mcp", "claude-stream"] {
        assert!(
            elicited.contains(&format!("arangodb asks you back before it answers your question: Pages or blocks, on {backend}?")),
            "{seen}"
        );
        let outcome = &seen[backend]["outcome"];
        assert_eq!(seen[backend]["error"], false, "{seen}");
        assert_eq!(outcome["status"], "delivered", "{backend}: {seen}");
        assert_eq!(outcome["source"], "marker", "the token's module asked");
        let answer = format!("blocks, in page_blocks ({backend})");
        let reply = outcome["reply"].as_str().unwrap();
        assert!(
            reply.contains(&format!("OK marker answers: {answer}")),
            "{backend}: {reply}"
        );
        // The agent's next model request carried the answer, in the same turn.
        assert!(
            model
                .requests()
                .iter()
                .any(|r| is_tool_result(r) && request_text(r).contains(&answer)),
            "{backend}: no model request carried the answer"
        );
    }

    // A changed requestState is refused, and answers nothing: the true one
    // then gets the agent's reply to the answer.
    let tampered = &seen["tampered"];
    assert_eq!(tampered["refused"], true, "{seen}");
    assert_eq!(tampered["code"], -32602, "{seen}");
    assert!(
        tampered["message"]
            .as_str()
            .unwrap()
            .contains("requestState"),
        "{seen}"
    );
    assert!(
        tampered["then"]["reply"]
            .as_str()
            .unwrap()
            .contains("OK marker answers: 8529 (after tampering)"),
        "{seen}"
    );

    // As a task: input_required with the question as its input request.
    let waiting = &seen["task_waiting"];
    assert_eq!(waiting["status"], "input_required", "{seen}");
    let requests = waiting["inputRequests"].as_object().unwrap();
    assert_eq!(requests.len(), 1, "{seen}");
    let request = requests.values().next().unwrap();
    assert_eq!(request["method"], "elicitation/create", "{seen}");
    assert!(
        request["params"]["message"]
            .as_str()
            .unwrap()
            .contains("Which index, for the task?"),
        "{seen}"
    );
    // tasks/update answered it; the task completed with the reply.
    let done = &seen["task_done"];
    assert_eq!(done["status"], "completed", "{seen}");
    let answer = seen["task_answer"].as_str().unwrap();
    let reply = done["result"]["structuredContent"]["reply"]
        .as_str()
        .unwrap();
    assert!(
        reply.contains(&format!("OK marker answers: {answer}")),
        "{reply}"
    );
    let id = done["taskId"].as_str().unwrap();
    let job = json_of(&cli(home.path(), &["--json", "jobs", "show", id]));
    assert_eq!(job["status"], "delivered", "{job}");
    drop(model);
}
