//! Claude Code as a remote host: it reaches the daemon's TCP face over
//! Streamable HTTP with a module's token (`"type": "http"` in its
//! `--mcp-config`, an `Authorization` header), calls `send_message`, and
//! the real child answers through the daemon. Without the header, the
//! daemon refuses it and nothing is asked.

use crate::daemon_cli;
use crate::host;
use crate::real_children;

use std::path::Path;

use daemon_cli::{DaemonGuard, cli, json_of};
use real_children::RealChildren;
use serde_json::json;

fn mcp_config(dir: &Path, url: &str, token: Option<&str>) -> Vec<String> {
    let mut server = json!({"type": "http", "url": url});
    if let Some(token) = token {
        server["headers"] = json!({"Authorization": format!("Bearer {token}")});
    }
    let path = dir.join("mcp.json");
    std::fs::write(
        &path,
        json!({"mcpServers": {"claude-comms": server}}).to_string(),
    )
    .unwrap();
    vec!["--mcp-config".into(), path.display().to_string()]
}

/// Starts the home's daemon listening on a free loopback port and makes a
/// token for module marker; the endpoint's URL and the token.
fn daemon_on_tcp_with_marker_token(home: &Path) -> (String, String) {
    let started = json_of(&cli(
        home,
        &["--json", "daemon", "start", "--listen", "127.0.0.1:0"],
    ));
    let created = json_of(&cli(
        home,
        &["--json", "tokens", "create", "--module", "marker"],
    ));
    (
        started["http_url"].as_str().unwrap().to_string(),
        created["token"].as_str().unwrap().to_string(),
    )
}

fn stored_conversations(home: &Path) -> Vec<serde_json::Value> {
    let list = json_of(&cli(home, &["--json", "conversations", "list"]));
    list["conversations"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

#[ignore = "end-to-end tier: needs the real children (bash scripts/install-real-children.sh); scripts/test.sh runs it"]
#[test]
fn claude_code_over_http_with_a_module_token_gets_the_real_answer() {
    let Some(real) = RealChildren::find() else {
        return;
    };
    let (model, _rt) = host::host_model();
    let home = host::home_for(&real, &model);
    let _guard = DaemonGuard(home.path().to_path_buf());
    let (url, token) = daemon_on_tcp_with_marker_token(home.path());
    let token = token.as_str();

    let host_home = tempfile::tempdir().unwrap();
    let project = host_home.path().join("project");
    std::fs::create_dir_all(&project).unwrap();
    let args = mcp_config(host_home.path(), &url, Some(token));
    let (out, offered) = host::run_claude_host(&real, &model, host_home.path(), &project, &args);
    host::assert_answered_through_claude_comms(&model, &out, &offered);
    let stored = stored_conversations(home.path());
    assert_eq!(stored.len(), 1, "{stored:?}");
    assert_eq!(stored[0]["source"], "marker", "the token's module asked");

    // The same host without the header: refused, its model is offered no
    // claude-comms tool, and nothing more is asked.
    let (bare_model, _bare_rt) = host::host_model();
    let bare_home = tempfile::tempdir().unwrap();
    let bare_project = bare_home.path().join("project");
    std::fs::create_dir_all(&bare_project).unwrap();
    let args = mcp_config(bare_home.path(), &url, None);
    let (_out, offered) =
        host::run_claude_host(&real, &bare_model, bare_home.path(), &bare_project, &args);
    assert!(
        offered.iter().flatten().all(|t| t != host::HOST_TOOL),
        "an unauthenticated host gets no tools: {offered:?}"
    );
    assert_eq!(
        stored_conversations(home.path()).len(),
        1,
        "nothing more was asked"
    );
    let log = std::fs::read_to_string(home.path().join("daemon.log")).unwrap_or_default();
    assert!(log.contains("HTTP request refused"), "{log}");
}

#[ignore = "end-to-end tier: needs the real children (bash scripts/install-real-children.sh); scripts/test.sh runs it"]
#[test]
fn the_python_sdk_over_http_uses_tasks_with_a_module_token() {
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
    let (model, _rt) = host::model_in_background(|r| {
        crate::model_stub::Turn::Text(crate::model_stub::echo_answer(r))
    });
    let home = host::home_for(&real, &model);
    let _guard = DaemonGuard(home.path().to_path_buf());
    let (url, token) = daemon_on_tcp_with_marker_token(home.path());
    let out = std::process::Command::new(python)
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/host/python_http_client.py"))
        .arg(&url)
        .arg(&token)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let seen: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(seen["protocol_version"], "2026-07-28", "{seen}");
    assert!(seen["tools"].to_string().contains("send_message"), "{seen}");
    // The first send ran as a task, polled with tasks/get to its answer.
    let polls = seen["task_polls"].as_array().unwrap();
    assert_eq!(polls.last().unwrap(), "completed", "{seen}");
    assert_eq!(seen["send_error"], false, "{seen}");
    assert_eq!(
        seen["send"]["source"], "marker",
        "the token's module asked: {seen}"
    );
    assert_eq!(
        seen["send"]["reply"],
        "stub model answer to: Python over HTTP asks: where do blocks go?"
    );
    // The second was cancelled, and the job says so too.
    assert_eq!(seen["second_is_task"], true, "{seen}");
    assert_eq!(seen["cancelled_status"], "cancelled", "{seen}");
    // (`jobs show` exits non-zero for a job that got no answer.)
    let job = daemon_cli::json_of_any(&cli(
        home.path(),
        &[
            "--json",
            "jobs",
            "show",
            seen["cancelled_id"].as_str().unwrap(),
        ],
    ));
    assert_eq!(job["status"], "cancelled", "{job}");
}
