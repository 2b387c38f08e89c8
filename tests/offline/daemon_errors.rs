//! Errors through the daemon are the errors of the embedded hub: a CLI
//! command whose work the daemon carries (`hub = "auto"`) prints the same
//! CLI advice and flags as one that works in process, because the daemon's
//! failure travels typed, not as text. Every test stops the daemon it
//! started (a guard does, also when the test fails).

use crate::common;
use crate::daemon_cli;

use std::path::Path;
use std::process::{Command, Output};

use daemon_cli::{DaemonGuard, cli, json_of};

/// The CLI with every process owning its children (no daemon).
fn embedded(home: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_claude-comms"))
        .args(args)
        .env("CLAUDE_COMMS_HOME", home)
        .env("CLAUDE_COMMS_HUB", "embedded")
        .env_remove("CLAUDE_COMMS_CONFIG")
        .env_remove("CLAUDE_COMMS_MODULE")
        .env_remove("CLAUDE_COMMS_HOP")
        .env_remove("CLAUDE_COMMS_CHAIN")
        .env_remove("RUST_LOG")
        .output()
        .expect("claude-comms runs")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).to_string()
}

/// The conversation of the one failed send in `home`.
fn only_conversation(home: &Path) -> String {
    let listed = json_of(&embedded(home, &["--json", "conversations", "list"]));
    let conversations = listed["conversations"].as_array().unwrap();
    assert_eq!(conversations.len(), 1, "{listed}");
    conversations[0]["id"].as_str().unwrap().to_string()
}

/// What `send` printed on stderr after a failure, with the conversation
/// id written as <id> (notes about the daemon left out).
fn advice(output: &Output, conversation: &str) -> Vec<String> {
    stderr(output)
        .lines()
        .filter(|line| !line.starts_with("note:"))
        .map(|line| line.replace(conversation, "<id>"))
        .collect()
}

#[test]
fn a_failed_send_through_the_daemon_gives_the_same_cli_advice_as_in_process() {
    let send = [
        "send",
        "--from",
        "marker",
        "--to",
        "arangodb",
        "[[error:the graph is down]]",
    ];
    let here = common::home_with(&common::fake_child_toml());
    let in_process = embedded(here.path(), &send);
    assert_eq!(in_process.status.code(), Some(1), "{}", stderr(&in_process));
    let expected = advice(&in_process, &only_conversation(here.path()));

    let there = common::home_with(&common::fake_child_toml());
    let _guard = DaemonGuard(there.path().to_path_buf());
    let through_daemon = cli(there.path(), &send);
    assert_eq!(
        through_daemon.status.code(),
        Some(1),
        "{}",
        stderr(&through_daemon)
    );
    let conversation = only_conversation(there.path());
    let text = stderr(&through_daemon);
    assert!(
        text.contains(&format!("claude-comms send --conversation {conversation}")),
        "the advice names the stored conversation:\n{text}"
    );
    assert!(
        !text.contains("conversation_id"),
        "the agent's advice leaked:\n{text}"
    );
    assert_eq!(advice(&through_daemon, &conversation), expected);
}

#[test]
fn a_bad_argument_the_daemon_refuses_is_named_by_its_flag() {
    let home = common::home_with(&common::fake_child_toml());
    let _guard = DaemonGuard(home.path().to_path_buf());
    let sent = json_of(&cli(
        home.path(),
        &[
            "--json",
            "send",
            "--from",
            "marker",
            "--to",
            "arangodb",
            "[[brief]] hi",
        ],
    ));
    let id = sent["conversation_id"].as_str().unwrap();
    let out = cli(
        home.path(),
        &["send", "--conversation", id, "--to", "claude_mcp", "hi"],
    );
    assert_eq!(out.status.code(), Some(1));
    let text = stderr(&out);
    assert!(
        text.contains(&format!(
            "--to: conversation {id} is between marker and arangodb, not claude_mcp"
        )),
        "{text}"
    );
    assert!(!text.contains("argument `target`"), "{text}");
}
