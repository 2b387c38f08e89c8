//! End-to-end from real hosts: the `claude-comms` binary driven by raw
//! JSON-RPC, by the Python MCP SDK and by Claude Code itself, with the real
//! children answering against the stand-in model.

use crate::common;
use crate::model_stub;
use crate::real_children;
use crate::serve_process;

use std::path::Path;
use std::time::{Duration, Instant};

use model_stub::{ModelStub, Turn, is_tool_result, last_user_text, request_text};
use real_children::RealChildren;
use serde_json::{Value, json};
use serve_process::{Server, descendants, process_exists};

/// The stand-in model, served by its own runtime so the test can block.
pub(crate) fn model_in_background(
    script: impl Fn(&Value) -> Turn + Send + Sync + 'static,
) -> (ModelStub, tokio::runtime::Runtime) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let model = runtime.block_on(ModelStub::start_with(script));
    (model, runtime)
}

pub(crate) fn home_for(real: &RealChildren, model: &ModelStub) -> tempfile::TempDir {
    let claude_home = tempfile::tempdir().unwrap().keep();
    common::home_with(&real.config_toml(model, &claude_home))
}

#[ignore = "end-to-end tier: needs the real children (bash scripts/install-real-children.sh); scripts/test.sh runs it"]
#[test]
fn a_killed_child_fails_only_its_request_and_the_next_one_is_answered() {
    let Some(real) = RealChildren::find() else {
        return;
    };
    let (model, _rt) = model_in_background(|r| Turn::Text(model_stub::echo_answer(r)));
    let home = home_for(&real, &model);
    let mut server = Server::start(home.path());
    server.initialize();

    // A question the stand-in model sits on, so it is in flight at the child.
    server.send(json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "send_message",
        "arguments": {"source": "marker", "target": "arangodb", "message": "[[stall:30000]] slow question"}}}));
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut n = 100;
    let (instance, pid) = loop {
        n += 1;
        let listed = server.call_tool(n, "list_instances", json!({}));
        let busy = listed["structuredContent"]["instances"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["in_flight"] == 1)
            .cloned();
        // in flight at the child, and the child's CLI has reached the model
        if let Some(i) = busy
            && model
                .requests()
                .iter()
                .any(|r| last_user_text(r).contains("slow question"))
        {
            break (
                i["instance_id"].as_str().unwrap().to_string(),
                i["pid"].as_u64().unwrap() as u32,
            );
        }
        assert!(
            Instant::now() < deadline,
            "the request never reached the child"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let tree = descendants(server.pid());
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();

    let failed = loop {
        let frame = server.next();
        if frame["id"] == 1 {
            break frame["result"].clone();
        }
    };
    assert_eq!(failed["isError"], true, "{failed}");
    let text = failed["content"][0]["text"].as_str().unwrap();
    assert!(
        text.contains("died") && text.contains("signal 9"),
        "the error says what happened: {text}"
    );
    assert!(text.contains(&format!("pid {pid}")), "{text}");

    let next = server.call_tool(
        2,
        "send_message",
        json!({"source": "marker", "target": "arangodb", "message": "after the crash"}),
    );
    assert_ne!(next["isError"], true, "{next}");
    assert_eq!(
        next["structuredContent"]["reply"],
        "stub model answer to: after the crash"
    );
    let status = server.call_tool(3, "instance_status", json!({"instance_id": instance}));
    assert!(
        status["structuredContent"]["last_error"]
            .as_str()
            .unwrap_or("")
            .contains("signal 9"),
        "{status}"
    );

    // The stored query of the killed request is marked failed, not lost.
    let listed = server.call_tool(4, "list_conversations", json!({}));
    let killed = listed["structuredContent"]["conversations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["title"].as_str().unwrap_or("").contains("slow question"))
        .cloned()
        .expect("the killed conversation is listed");
    let shown = server.call_tool(
        5,
        "get_conversation",
        json!({"conversation_id": killed["id"]}),
    );
    assert_eq!(
        shown["structuredContent"]["messages"][0]["status"],
        "failed"
    );

    let tree: Vec<u32> = tree.into_iter().chain(descendants(server.pid())).collect();
    assert!(server.finish().success());
    for pid in tree {
        assert!(
            !process_exists(pid),
            "process {pid} outlived the server: {}",
            std::fs::read_to_string(format!("/proc/{pid}/cmdline"))
                .unwrap_or_default()
                .replace('\0', " ")
        );
    }
}

#[ignore = "end-to-end tier: needs the real children (bash scripts/install-real-children.sh); scripts/test.sh runs it"]
#[test]
fn the_python_sdk_drives_claude_comms() {
    let Some(real) = RealChildren::find() else {
        return;
    };
    let python = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/real-children/.venv/bin/python");
    if !python.exists() {
        assert!(
            std::env::var("CLAUDE_COMMS_REQUIRE_REAL").as_deref() != Ok("1"),
            "the Python MCP SDK is not installed (scripts/install-real-children.sh)"
        );
        return;
    }
    let (model, _rt) = model_in_background(|r| Turn::Text(model_stub::echo_answer(r)));
    let home = home_for(&real, &model);
    let out = std::process::Command::new(python)
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/host/python_client.py"))
        .arg(env!("CARGO_BIN_EXE_claude-comms"))
        .arg(home.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let seen: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(seen["server_name"], "claude-comms");
    assert!(
        seen["instructions"]
            .as_str()
            .unwrap()
            .contains("send_message")
    );
    for tool in [
        "send_message",
        "list_modules",
        "create_conversation",
        "list_instances",
    ] {
        assert!(
            seen["tools"].as_array().unwrap().iter().any(|t| t == tool),
            "{tool}"
        );
    }
    assert_eq!(seen["modules"], json!(["arangodb", "claude_mcp", "marker"]));
    assert_eq!(seen["send_error"], false, "{}", seen["send_text"]);
    assert_eq!(
        seen["send"]["source"], "marker",
        "the default module from serve --module"
    );
    assert_eq!(
        seen["send"]["reply"],
        "stub model answer to: Python asks: where do blocks go?"
    );
    assert_eq!(seen["bad_error"], true);
    assert!(seen["bad_text"].as_str().unwrap().contains("nosuch"));
}

/// How a test registers claude-comms with Claude Code.
enum Setup {
    /// `claude -p ... --mcp-config FILE` (the shape of `.mcp.json` and
    /// Claude Desktop's config).
    McpConfigFile,
    /// `claude mcp add claude-comms -e ... -- claude-comms serve --module marker`,
    /// as the README says.
    McpAdd,
}

#[ignore = "end-to-end tier: needs the real children (bash scripts/install-real-children.sh); scripts/test.sh runs it"]
#[test]
fn claude_code_as_host_calls_send_message() {
    host_round_trip(Setup::McpConfigFile);
}

#[ignore = "end-to-end tier: needs the real children (bash scripts/install-real-children.sh); scripts/test.sh runs it"]
#[test]
fn claude_mcp_add_as_in_the_readme_works() {
    host_round_trip(Setup::McpAdd);
}

/// The tool Claude Code offers its model for our `send_message`.
pub(crate) const HOST_TOOL: &str = "mcp__claude-comms__send_message";

/// The stand-in model for a host round trip: the host model asks for the
/// tool; the answering agent (a CLI started by claude-code-mcp, without our
/// tools) gets the echo; the host model then reports what the tool returned.
pub(crate) fn host_model() -> (ModelStub, tokio::runtime::Runtime) {
    model_in_background(|r| {
        if is_tool_result(r) {
            let result = last_user_text(r);
            return Turn::Text(format!("The host received: {}", result.trim()));
        }
        let offers_tool = r["tools"]
            .as_array()
            .is_some_and(|t| t.iter().any(|t| t["name"] == HOST_TOOL));
        if offers_tool {
            Turn::ToolUse {
                name: HOST_TOOL.into(),
                input: json!({"target": "arangodb", "message": "How should marker store page blocks?"}),
            }
        } else {
            Turn::Text(model_stub::echo_answer(r))
        }
    })
}

/// Runs `claude -p` as the host in `project` with `extra_args`; the
/// output and the tool names the host offered its model, per request.
pub(crate) fn run_claude_host(
    real: &RealChildren,
    model: &ModelStub,
    host_home: &Path,
    project: &Path,
    extra_args: &[String],
) -> (std::process::Output, Vec<Vec<String>>) {
    let out = std::process::Command::new(&real.claude)
        .args([
            "-p",
            "Ask arangodb how to store page blocks.",
            "--output-format",
            "json",
        ])
        .args(extra_args)
        .args(["--allowedTools", HOST_TOOL])
        .envs(model.cli_env(host_home))
        .env_remove("CLAUDE_COMMS_HOME")
        .current_dir(project)
        .output()
        .unwrap();
    let offered: Vec<Vec<String>> = model
        .requests()
        .iter()
        .map(|r| {
            r["tools"]
                .as_array()
                .map(|t| {
                    t.iter()
                        .map(|t| t["name"].as_str().unwrap_or("?").to_string())
                        .collect()
                })
                .unwrap_or_default()
        })
        .collect();
    (out, offered)
}

/// The host's final answer text (its `--output-format json` result).
pub(crate) fn host_answer(out: &std::process::Output) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let result: Value = serde_json::from_str(stdout.trim()).unwrap();
    result["result"].as_str().unwrap().to_string()
}

/// The answer went through claude-comms and a real child, and the
/// answering agent was told who it is and who asks.
pub(crate) fn assert_answered_through_claude_comms(
    model: &ModelStub,
    out: &std::process::Output,
    offered: &[Vec<String>],
) {
    let text = host_answer(out);
    assert!(
        text.contains("stub model answer to: How should marker store page blocks?"),
        "the answer went through claude-comms and a real child: {text}\ntools offered per request: {offered:?}\nstderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let answering = model
        .requests()
        .into_iter()
        .find(|r| request_text(r).contains("You are the agent of the module \"arangodb\""))
        .expect("claude-comms asked the arangodb agent");
    assert!(request_text(&answering).contains("\"marker\" is asking you"));
}

fn host_round_trip(setup: Setup) {
    let Some(real) = RealChildren::find() else {
        return;
    };
    let (model, _rt) = host_model();
    let home = home_for(&real, &model);
    let host_home = tempfile::tempdir().unwrap();
    let project = host_home.path().join("project");
    std::fs::create_dir_all(&project).unwrap();
    let mut extra_args: Vec<String> = Vec::new();
    match setup {
        Setup::McpConfigFile => {
            let mcp_config = host_home.path().join("mcp.json");
            std::fs::write(
                &mcp_config,
                json!({"mcpServers": {"claude-comms": {
                    "command": env!("CARGO_BIN_EXE_claude-comms"),
                    "args": ["serve", "--module", "marker"],
                    "env": {"CLAUDE_COMMS_HOME": home.path(), "RUST_LOG": "warn"}
                }}})
                .to_string(),
            )
            .unwrap();
            extra_args = vec!["--mcp-config".into(), mcp_config.display().to_string()];
        }
        Setup::McpAdd => {
            let added = std::process::Command::new(&real.claude)
                .args(["mcp", "add", "claude-comms", "-e"])
                .arg(format!("CLAUDE_COMMS_HOME={}", home.path().display()))
                .args([
                    "--",
                    env!("CARGO_BIN_EXE_claude-comms"),
                    "serve",
                    "--module",
                    "marker",
                ])
                .envs(model.cli_env(host_home.path()))
                .current_dir(&project)
                .output()
                .unwrap();
            assert!(
                added.status.success(),
                "claude mcp add: {}",
                String::from_utf8_lossy(&added.stderr)
            );
        }
    }
    let (out, offered) = run_claude_host(&real, &model, host_home.path(), &project, &extra_args);
    assert_answered_through_claude_comms(&model, &out, &offered);
}
