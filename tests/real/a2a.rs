//! End-to-end (issue 31): the official Python A2A SDK (`a2a-sdk` 1.3,
//! tests/host/a2a_client.py) against the daemon's A2A face, with the real
//! children answering from the stand-in model: the card resolved from the
//! agent's base URL, a send and a follow-up in the same contextId, a
//! stream (with the agent's progress as working updates), an input-required task answered by a message with its taskId,
//! a slow task got and cancelled, an unknown task and a bad token refused;
//! and the SDK's A2A 0.3 transport (0.3's method names and JSON).

use crate::ask_back::asking;
use crate::common;
use crate::daemon_cli;
use crate::model_stub;
use crate::real_children;

use std::path::{Path, PathBuf};

use daemon_cli::{DaemonGuard, cli, json_of};
use model_stub::ModelStub;
use real_children::RealChildren;
use serde_json::{Value, json};

/// The project's Python with the A2A SDK (scripts/install-real-children.sh).
pub(crate) fn python() -> Option<PathBuf> {
    let python = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/real-children/.venv/bin/python");
    assert!(
        python.exists() || std::env::var("CLAUDE_COMMS_REQUIRE_REAL").as_deref() != Ok("1"),
        "the Python SDKs are not installed (scripts/install-real-children.sh)"
    );
    python.exists().then_some(python)
}

/// Starts `home`'s daemon on a free loopback port; its origin
/// (`http://127.0.0.1:PORT`).
pub(crate) fn daemon_origin(home: &Path) -> String {
    let started = json_of(&cli(
        home,
        &["--json", "daemon", "start", "--listen", "127.0.0.1:0"],
    ));
    started["http_url"]
        .as_str()
        .unwrap()
        .trim_end_matches("/mcp")
        .to_string()
}

pub(crate) fn token(home: &Path, args: &[&str]) -> String {
    let mut all = vec!["--json", "tokens", "create"];
    all.extend_from_slice(args);
    json_of(&cli(home, &all))["token"]
        .as_str()
        .unwrap()
        .to_string()
}

#[ignore = "end-to-end tier: needs the real children (bash scripts/install-real-children.sh); scripts/test.sh runs it"]
#[test]
fn the_python_a2a_sdk_asks_a_module_streams_answers_back_and_cancels() {
    let Some(real) = RealChildren::find() else {
        return;
    };
    let Some(python) = python() else {
        return;
    };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let model = runtime.block_on(ModelStub::start());
    let claude_home = tempfile::tempdir().unwrap();
    let home = common::home_with(&real.config_toml(&model, claude_home.path()));
    let _daemon = DaemonGuard(home.path().to_path_buf());
    let origin = daemon_origin(home.path());
    let token = token(home.path(), &["--module", "marker"]);
    let agent = format!("{origin}/a2a/arangodb");

    let out = std::process::Command::new(python)
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/host/a2a_client.py"))
        .args([&agent, &token, &asking("Which port does it listen on?")])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let seen: Value = serde_json::from_slice(&out.stdout).unwrap();

    assert_eq!(seen["card"]["name"], "arangodb", "{seen}");
    assert_eq!(seen["card"]["streaming"], true);
    assert_eq!(
        seen["card"]["interfaces"],
        json!([[agent, "JSONRPC", "1.0"], [agent, "JSONRPC", "0.3"]])
    );
    assert_eq!(seen["card"]["schemes"], json!(["bearer"]));
    assert!(
        seen["card"]["skills"]
            .as_array()
            .unwrap()
            .contains(&json!("search")),
        "a skill per capability: {seen}"
    );

    let first = &seen["first"];
    assert_eq!(first["state"], "TASK_STATE_COMPLETED", "{seen}");
    assert!(
        first["answer"]
            .as_str()
            .unwrap()
            .contains("stub model answer to: Where are page blocks stored?"),
        "{seen}"
    );
    let follow = &seen["follow_up"];
    assert_eq!(follow["state"], "TASK_STATE_COMPLETED");
    assert_eq!(
        follow["context_id"], first["context_id"],
        "one conversation"
    );
    assert_ne!(follow["task_id"], first["task_id"], "a task per question");

    assert_eq!(seen["asked"]["state"], "TASK_STATE_INPUT_REQUIRED");
    assert_eq!(seen["asked"]["question"], "Which port does it listen on?");
    assert_eq!(seen["answered"]["state"], "TASK_STATE_COMPLETED");
    let answer = seen["answered"]["answer"].as_str().unwrap();
    assert!(
        answer.contains("OK marker answers: 8529, over TLS"),
        "{answer}"
    );

    let stream = seen["stream"].as_array().unwrap();
    assert_eq!(stream[0], json!(["task", "TASK_STATE_WORKING"]), "{seen}");
    let last = stream.last().unwrap();
    assert_eq!(
        (&last[0], &last[1]),
        (&json!("status"), &json!("TASK_STATE_COMPLETED"))
    );
    assert!(
        stream.iter().any(|e| e[0] == "status"
            && e[1] == "TASK_STATE_WORKING"
            && e[2]
                .as_str()
                .unwrap()
                .contains("waiting for arangodb's agent")),
        "the agent's progress came as working updates: {seen}"
    );
    assert!(
        stream
            .iter()
            .any(|e| e[0] == "artifact" && e[1].as_str().unwrap().contains("Stream me the answer")),
        "the answer came as an artifact: {seen}"
    );

    assert_eq!(
        seen["cancel"],
        json!({"returned": "TASK_STATE_WORKING", "got": "TASK_STATE_WORKING",
               "cancelled": "TASK_STATE_CANCELED", "after": "TASK_STATE_CANCELED"})
    );
    assert_eq!(seen["unknown_task"], "TaskNotFoundError");
    let old = &seen["v03"];
    assert_eq!(old["transport"], "CompatJsonRpcTransport", "{seen}");
    assert_eq!(
        (&old["state"], &old["got"]),
        (
            &json!("TASK_STATE_COMPLETED"),
            &json!("TASK_STATE_COMPLETED")
        )
    );
    assert!(
        old["answer"].as_str().unwrap().contains("Old words?"),
        "{old}"
    );
    assert_eq!(
        old["stream"].as_array().unwrap().last().unwrap(),
        "status_update",
        "{old}"
    );
    assert_eq!(seen["bad_token"], 401);

    // Stored like any other question: the first conversation holds both
    // turns, asked by the token's module.
    let context = first["context_id"].as_str().unwrap();
    let shown = json_of(&cli(
        home.path(),
        &["--json", "conversations", "show", context],
    ));
    assert_eq!(shown["conversation"]["source"], "marker", "{shown}");
    let queries: Vec<&str> = shown["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["role"] == "query")
        .map(|m| m["content"].as_str().unwrap())
        .collect();
    assert_eq!(
        queries,
        ["Where are page blocks stored?", "And their sections?"]
    );
    drop(model);
}
