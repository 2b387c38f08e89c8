//! The operator CLI for conversations and instances, across processes:
//! `send`, `conversations ...`, `listen`, `instances list | stop | monitor`,
//! the seed names, and the loop guard on a nested call.

use crate::common;
use crate::serve_process;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use serve_process::{Server, descendants, process_exists};

fn cli(home: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_claude-comms"));
    command
        .env("CLAUDE_COMMS_HOME", home)
        .env("CLAUDE_COMMS_HUB", "embedded")
        .env_remove("CLAUDE_COMMS_CONFIG")
        .env_remove("CLAUDE_COMMS_MODULE")
        .env_remove("CLAUDE_COMMS_HOP")
        .env_remove("CLAUDE_COMMS_CHAIN")
        .env_remove("RUST_LOG");
    command
}

fn run(home: &Path, args: &[&str]) -> Output {
    cli(home).args(args).output().expect("claude-comms runs")
}

fn ok_json(output: &Output) -> Value {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("--json prints JSON")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).to_string()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).to_string()
}

#[test]
fn send_then_list_show_search_export_and_archive() {
    let home = common::home_with(&common::fake_child_toml());
    let sent = run(
        home.path(),
        &[
            "send", "--from", "marker", "--to", "arangodb", "where", "do", "lemurs", "go?",
        ],
    );
    assert!(sent.status.success(), "{}", stderr(&sent));
    assert!(
        stdout(&sent).contains("where do lemurs go?"),
        "the answer is printed: {}",
        stdout(&sent)
    );
    assert!(stderr(&sent).contains("conversation"), "{}", stderr(&sent));

    let listed = ok_json(&run(home.path(), &["--json", "conversations", "list"]));
    let id = listed["conversations"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(listed["conversations"][0]["message_count"], 2);
    // The seed name lists the same.
    let seed = ok_json(&run(home.path(), &["--json", "list-conversations"]));
    assert_eq!(seed["conversations"][0]["id"], id.as_str());

    let shown = run(home.path(), &["conversations", "show", &id]);
    // "#1 marker at 14:03:07 (query, delivered):": local time in tables.
    let shown_text = stdout(&shown);
    let header = |prefix: &str| {
        shown_text
            .lines()
            .find(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("no {prefix} in {shown_text}"))
            .to_string()
    };
    assert!(
        header("#1 marker at ").contains("(query, delivered"),
        "{shown_text}"
    );
    assert!(
        header("#2 arangodb at ").contains("(reply, delivered"),
        "{shown_text}"
    );

    let found = ok_json(&run(
        home.path(),
        &["--json", "conversations", "search", "lemurs"],
    ));
    assert!(!found["hits"].as_array().unwrap().is_empty());

    // Continue it under the seed name, then export to a file.
    let cont = run(
        home.path(),
        &["continue-conversation", &id, "and", "koalas?"],
    );
    assert!(cont.status.success(), "{}", stderr(&cont));
    assert!(
        stdout(&cont).contains("where do lemurs go?"),
        "the follow-up prompt carries turn 1"
    );
    let file = home.path().join("export.json");
    let exported = run(
        home.path(),
        &[
            "conversations",
            "export",
            &id,
            "--format",
            "json",
            "--output",
            file.to_str().unwrap(),
        ],
    );
    assert!(exported.status.success(), "{}", stderr(&exported));
    let doc: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    assert_eq!(doc["messages"].as_array().unwrap().len(), 4);
    let bad = run(
        home.path(),
        &["conversations", "export", &id, "--format", "pdf"],
    );
    assert_eq!(bad.status.code(), Some(2));
    assert!(stderr(&bad).contains("pdf"), "{}", stderr(&bad));

    assert!(
        run(home.path(), &["conversations", "archive", &id])
            .status
            .success()
    );
    let refused = run(home.path(), &["send", "--conversation", &id, "more?"]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        stderr(&refused).contains("archived"),
        "{}",
        stderr(&refused)
    );
}

#[test]
fn a_nested_send_past_the_hop_limit_is_refused_with_the_chain() {
    let home = common::home_with(&common::fake_child_toml());
    let out = cli(home.path())
        .args([
            "send",
            "--from",
            "arangodb",
            "--to",
            "marker",
            "back to you",
        ])
        .env("CLAUDE_COMMS_HOP", "3")
        .env("CLAUDE_COMMS_CHAIN", "marker,arangodb,marker,arangodb")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("marker → arangodb → marker → arangodb → marker"),
        "{err}"
    );
    assert!(err.contains("limited to 3"), "{err}");
    let listed = ok_json(&run(home.path(), &["--json", "conversations", "list"]));
    assert_eq!(
        listed["conversations"].as_array().map(Vec::len),
        Some(0),
        "a refused send leaves no empty conversation: {listed}"
    );
    // One hop less is allowed, and the child inherits hop + 1 and the chain.
    let out = cli(home.path())
        .args([
            "--json", "send", "--from", "arangodb", "--to", "marker", "one more",
        ])
        .env("CLAUDE_COMMS_HOP", "2")
        .env("CLAUDE_COMMS_CHAIN", "marker,arangodb")
        .output()
        .unwrap();
    let sent = ok_json(&out);
    let shown = ok_json(&run(
        home.path(),
        &[
            "--json",
            "conversations",
            "show",
            sent["conversation_id"].as_str().unwrap(),
        ],
    ));
    assert_eq!(
        shown["messages"][0]["hop_chain"],
        json!(["marker", "arangodb", "marker"])
    );
}

#[test]
fn listen_prints_messages_written_by_another_process() {
    let home = common::home_with(&common::fake_child_toml());
    let mut listener = cli(home.path())
        .args(["--json", "listen", "arangodb"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until it says it listens (it has read the cursor by then).
    let mut err = BufReader::new(listener.stderr.take().unwrap());
    let mut line = String::new();
    err.read_line(&mut line).unwrap();
    assert!(line.contains("listening"), "{line}");

    let sent = run(
        home.path(),
        &[
            "send",
            "--from",
            "marker",
            "--to",
            "arangodb",
            "are you listening?",
        ],
    );
    assert!(sent.status.success(), "{}", stderr(&sent));

    let mut out = BufReader::new(listener.stdout.take().unwrap());
    let mut roles = Vec::new();
    while roles.len() < 2 {
        let mut line = String::new();
        assert!(out.read_line(&mut line).unwrap() > 0, "listen ended early");
        let message: Value = serde_json::from_str(&line).unwrap();
        roles.push(message["role"].as_str().unwrap().to_string());
        if message["role"] == "query" {
            assert_eq!(message["content"], "are you listening?");
        }
    }
    assert_eq!(roles, vec!["query", "reply"]);
    listener.kill().unwrap();
    listener.wait().unwrap();
}

#[test]
fn instances_of_a_running_server_are_visible_and_stoppable_from_the_cli() {
    let home = common::home_with(&common::fake_child_toml());
    let mut server = Server::start(home.path());
    server.initialize();
    let sent = server.call_tool(
        1,
        "send_message",
        json!({"source": "marker", "target": "arangodb", "message": "warm up"}),
    );
    assert_ne!(sent["isError"], true, "{sent}");
    let instance_id = sent["structuredContent"]["instance_id"]
        .as_str()
        .unwrap()
        .to_string();

    // The server beats right after the send; poll the CLI until the row is there.
    let deadline = Instant::now() + Duration::from_secs(20);
    let row = loop {
        let rows = ok_json(&run(home.path(), &["--json", "instances", "list"]));
        if let Some(row) = rows
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["instance"]["id"] == instance_id.as_str())
        {
            break row.clone();
        }
        assert!(Instant::now() < deadline, "instance never listed: {rows}");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(row["server_alive"], true);
    assert_eq!(row["server_pid"], server.pid());
    let child_pid = row["instance"]["pid"].as_u64().unwrap() as u32;
    assert!(process_exists(child_pid));

    let monitor = run_until(
        home.path(),
        &["instances", "monitor", &instance_id, "--lines", "50"],
        "ready",
    );
    assert!(monitor.contains("state"), "{monitor}");

    let stopped = run(home.path(), &["instances", "stop", &instance_id]);
    assert!(stopped.status.success(), "{}", stderr(&stopped));
    assert!(stdout(&stopped).contains("stopped"), "{}", stdout(&stopped));
    assert!(!process_exists(child_pid), "the child was ended");
    assert!(
        run(home.path(), &["instances", "stop", "mcp-nosuch-1"])
            .status
            .code()
            == Some(1)
    );

    assert!(server.finish().success());
    let rows = ok_json(&run(home.path(), &["--json", "list-instances"]));
    assert!(
        rows.as_array().unwrap().is_empty(),
        "a cleanly stopped server lists nothing: {rows}"
    );
}

#[test]
fn sigterm_ends_the_server_and_its_children() {
    let home = common::home_with(&common::fake_child_toml());
    let mut server = Server::start(home.path());
    server.initialize();
    let sent = server.call_tool(
        1,
        "send_message",
        json!({"source": "marker", "target": "arangodb", "message": "start a child"}),
    );
    assert_ne!(sent["isError"], true, "{sent}");
    let children = descendants(server.pid());
    assert!(!children.is_empty(), "a child runs");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(server.pid() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let status = server.child.wait().unwrap();
    assert!(status.success(), "{status}");
    for pid in children {
        assert!(!process_exists(pid), "child {pid} outlived the server");
    }
}

/// Runs a command that follows forever, returning its output once a line
/// contains `wanted` (or after a deadline, which fails the test).
fn run_until(home: &Path, args: &[&str], wanted: &str) -> String {
    let mut child = cli(home)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut seen = String::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let mut line = String::new();
        if out.read_line(&mut line).unwrap() == 0 {
            break;
        }
        seen.push_str(&line);
        if line.contains(wanted) || Instant::now() > deadline {
            break;
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(seen.contains(wanted), "never saw {wanted:?}: {seen}");
    seen
}

/// A asks B, B's agent asks A back through claude-comms, and so on: every
/// hop runs on pre-started claude-code-mcp children (pool_min), and the
/// chain ends at the hop limit with the whole chain named, instead of
/// counting from 0 under a child that did not get the hop context.
#[test]
fn a_nested_ask_through_pre_started_children_ends_at_the_hop_limit() {
    let home = common::home_with(&format!("{}pool_min = 1\n", common::fake_child_toml()));
    let out = cli(home.path())
        .args([
            "send",
            "--from",
            "marker",
            "--to",
            "arangodb",
            "[[pingpong:marker,arangodb]]",
        ])
        .env("FAKE_CHILD_COMMS", env!("CARGO_BIN_EXE_claude-comms"))
        .output()
        .unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), stderr(&out));
    assert_eq!(
        text.matches(" asked ").count(),
        3,
        "hops 1 to 3 were answered, each asking once more: {text}"
    );
    assert!(
        text.contains("hop 4 of a chain limited to 3"),
        "the fourth hop is refused: {text}"
    );
    assert!(
        text.contains("marker → arangodb → marker → arangodb → marker"),
        "{text}"
    );
}

#[test]
fn search_help_promises_only_what_the_search_does() {
    let home = tempfile::tempdir().unwrap();
    let help = run(home.path(), &["conversations", "search", "--help"]);
    assert!(help.status.success(), "{help:?}");
    let text = String::from_utf8_lossy(&help.stdout);
    assert!(text.contains("every word occurs"), "{text}");
    for promise in ["a OR b", "prefix*", "exact phrase", "FTS5"] {
        assert!(
            !text.contains(promise),
            "help still promises {promise}: {text}"
        );
    }
}
