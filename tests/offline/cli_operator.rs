//! The CLI as a new user meets it: errors in its own words, no log noise,
//! Ctrl-C, times people read, cleanup with confirmation, help for every
//! flag, completions and a man page.

use crate::common;

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use clap::CommandFactory;
use serde_json::Value;

fn cli(home: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_claude-comms"));
    command
        .env("CLAUDE_COMMS_HOME", home)
        .env_remove("CLAUDE_COMMS_CONFIG")
        .env_remove("CLAUDE_COMMS_MODULE")
        .env_remove("CLAUDE_COMMS_HOP")
        .env_remove("CLAUDE_COMMS_CHAIN")
        .env_remove("RUST_LOG")
        .stdin(Stdio::null());
    command
}

fn run(home: &Path, args: &[&str]) -> Output {
    cli(home).args(args).output().expect("claude-comms runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).to_string()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).to_string()
}

fn conversations(home: &Path) -> Vec<Value> {
    let out = run(home, &["conversations", "list", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let page: Value = serde_json::from_slice(&out.stdout).unwrap();
    page["conversations"].as_array().unwrap().clone()
}

#[test]
fn errors_name_the_flags_the_user_typed() {
    let home = common::home_with(&common::fake_child_toml());
    let out = run(home.path(), &["send", "--to", "arangodb", "hello"]);
    assert_eq!(out.status.code(), Some(2));
    let text = stderr(&out);
    assert!(text.contains("--from"), "{text}");
    assert!(!text.contains("argument `source`"), "{text}");

    // A hub refusal about an argument names the flag.
    assert!(
        run(
            home.path(),
            &["send", "--from", "marker", "--to", "arangodb", "hi"]
        )
        .status
        .success()
    );
    let id = conversations(home.path())[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let out = run(
        home.path(),
        &["send", "--conversation", &id, "--to", "claude_mcp", "hi"],
    );
    assert_eq!(out.status.code(), Some(1));
    let text = stderr(&out);
    assert!(
        text.contains(&format!(
            "--to: conversation {id} is between marker and arangodb, not claude_mcp"
        )),
        "{text}"
    );

    let out = run(home.path(), &["send", "--from", "marker", "hello"]);
    let text = stderr(&out);
    assert!(
        text.contains("--to: name the module to ask, or give --conversation"),
        "{text}"
    );
    assert!(
        !text.contains("argument `target`") && !text.contains("conversation_id"),
        "{text}"
    );
}

#[test]
fn a_failed_send_gives_the_cli_advice_not_the_agent_advice() {
    let home = common::home_with(&common::fake_child_toml());
    let out = run(
        home.path(),
        &[
            "send",
            "--from",
            "marker",
            "--to",
            "arangodb",
            "[[error:the graph is down]]",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let text = stderr(&out);
    assert!(text.contains("the graph is down"), "{text}");
    let id = conversations(home.path())[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        text.contains(&format!("claude-comms send --conversation {id}")),
        "{text}"
    );
    assert!(
        !text.contains("with this conversation_id"),
        "MCP advice leaked:\n{text}"
    );
}

#[test]
fn ctrl_c_on_a_send_is_not_followed_by_advice() {
    let home = common::home_with(&common::fake_child_toml());
    let child = cli(home.path())
        .args(["send", "--from", "marker", "--to", "arangodb", "[[hang]]"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the query is stored and dispatched (pending), then interrupt.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let listed = conversations(home.path());
        if listed.first().is_some_and(|c| c["message_count"] == 1) {
            break;
        }
        assert!(Instant::now() < deadline, "the query was never stored");
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(200)); // dispatch follows the store
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    let out = child.wait_with_output().unwrap();
    let text = stderr(&out);
    assert_eq!(out.status.code(), Some(130), "{text}");
    assert!(text.contains("interrupted"), "{text}");
    assert!(
        !text.contains("once the cause is fixed") && !text.contains("Once the cause is fixed"),
        "{text}"
    );
}

#[test]
fn log_warnings_stay_out_of_command_output_unless_asked() {
    let home = common::home_with("");
    let broken = home.path().join("broken-descriptors");
    std::fs::create_dir_all(&broken).unwrap();
    std::fs::write(broken.join("bad.yaml"), "name: [not a name\n").unwrap();
    let dir = broken.display().to_string();
    let out = run(
        home.path(),
        &["--descriptors", &dir, "conversations", "list"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!stderr(&out).contains("WARN"), "{}", stderr(&out));
    let out = run(
        home.path(),
        &["-v", "--descriptors", &dir, "conversations", "list"],
    );
    assert!(
        stderr(&out).contains("skipping broken descriptor"),
        "-v shows it: {}",
        stderr(&out)
    );
}

#[test]
fn a_send_refused_after_its_conversation_was_made_leaves_none_behind() {
    // Over the token budget: found only when the prompt is rendered, after
    // the conversation exists.
    let home = common::home_with(&format!(
        "{}[context]\ntoken_budget = 1000\n",
        common::fake_child_toml()
    ));
    let long = "lemurs ".repeat(3000);
    let out = run(
        home.path(),
        &["send", "--from", "marker", "--to", "arangodb", &long],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("token"), "{}", stderr(&out));
    assert_eq!(conversations(home.path()), Vec::<Value>::new());
}

#[test]
fn conversations_are_deleted_and_pruned_only_when_confirmed() {
    let home = common::home_with(&common::fake_child_toml());
    for words in ["first", "second"] {
        let out = run(
            home.path(),
            &["send", "--from", "marker", "--to", "arangodb", words],
        );
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let listed = conversations(home.path());
    let (newer, older) = (
        listed[0]["id"].as_str().unwrap().to_string(),
        listed[1]["id"].as_str().unwrap().to_string(),
    );
    let table = stdout(&run(home.path(), &["conversations", "list"]));
    assert!(
        table.contains("UPDATED") && table.contains(" ago") || table.contains("just now"),
        "{table}"
    );

    // Without a terminal and without --yes nothing is deleted.
    let out = run(home.path(), &["conversations", "delete", &newer]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("--yes"), "{}", stderr(&out));
    assert_eq!(conversations(home.path()).len(), 2);

    let out = run(home.path(), &["conversations", "delete", &newer, "--yes"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains(&format!("deleted conversation {newer}")));
    let out = run(home.path(), &["conversations", "show", &newer]);
    assert!(
        stderr(&out).contains("unknown conversation"),
        "{}",
        stderr(&out)
    );

    // prune touches only archived ones, and only old enough ones.
    let out = run(
        home.path(),
        &[
            "conversations",
            "prune",
            "--archived",
            "--older-than",
            "0s",
            "--yes",
        ],
    );
    assert!(
        stdout(&out).contains("no archived conversation"),
        "{}",
        stdout(&out)
    );
    assert!(
        run(home.path(), &["conversations", "archive", &older])
            .status
            .success()
    );
    let out = run(
        home.path(),
        &[
            "conversations",
            "prune",
            "--archived",
            "--older-than",
            "30d",
            "--yes",
        ],
    );
    assert!(
        stdout(&out).contains("no archived conversation"),
        "{}",
        stdout(&out)
    );
    std::thread::sleep(Duration::from_millis(5)); // "older than 0 s" means strictly before now
    let out = run(
        home.path(),
        &[
            "conversations",
            "prune",
            "--archived",
            "--older-than",
            "0s",
            "--dry-run",
        ],
    );
    assert!(
        stdout(&out).contains(&format!("would delete conversation {older}")),
        "{}",
        stdout(&out)
    );
    assert_eq!(conversations(home.path()).len(), 1);
    let out = run(
        home.path(),
        &[
            "conversations",
            "prune",
            "--archived",
            "--older-than",
            "0s",
            "--yes",
        ],
    );
    assert!(
        stdout(&out).contains("deleted 1 archived conversation"),
        "{}",
        stdout(&out)
    );
    assert_eq!(conversations(home.path()).len(), 0);
    // Search finds nothing of them any more (the index followed).
    let out = run(home.path(), &["conversations", "search", "first", "--json"]);
    let found: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(found["hits"], serde_json::json!([]));

    let out = run(
        home.path(),
        &["conversations", "prune", "--older-than", "30"],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("unknown unit"), "{}", stderr(&out));
}

#[test]
fn show_prints_local_times_and_json_keeps_epoch_ms() {
    let home = common::home_with(&common::fake_child_toml());
    assert!(
        run(
            home.path(),
            &["send", "--from", "marker", "--to", "arangodb", "hi"]
        )
        .status
        .success()
    );
    let id = conversations(home.path())[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let text = stdout(&run(home.path(), &["conversations", "show", &id]));
    let time = regex_like_clock(&text);
    assert!(time, "a local HH:MM:SS time in:\n{text}");
    let json: Value =
        serde_json::from_slice(&run(home.path(), &["conversations", "show", &id, "--json"]).stdout)
            .unwrap();
    assert!(json["messages"][0]["created_at"].as_i64().unwrap() > 1_600_000_000_000);
}

fn regex_like_clock(text: &str) -> bool {
    text.split_whitespace().any(|w| {
        let parts: Vec<&str> = w.split(':').collect();
        parts.len() == 3
            && parts
                .iter()
                .all(|p| p.len() == 2 && p.chars().all(|c| c.is_ascii_digit()))
    })
}

#[test]
fn every_flag_argument_and_seed_alias_has_help() {
    fn walk(command: &clap::Command, path: &str, missing: &mut Vec<String>) {
        for arg in command.get_arguments() {
            let id = arg.get_id().as_str();
            if id == "help" || id == "version" {
                continue;
            }
            if arg.get_help().is_none() {
                missing.push(format!("{path} {id}"));
            }
        }
        for sub in command.get_subcommands() {
            let name = format!("{path} {}", sub.get_name());
            if sub.get_about().is_none() && sub.get_name() != "help" {
                missing.push(name.clone());
            }
            walk(sub, &name, missing);
        }
    }
    let mut missing = Vec::new();
    walk(
        &claude_comms::cli::Cli::command(),
        "claude-comms",
        &mut missing,
    );
    assert_eq!(missing, Vec::<String>::new(), "without help text");
}

#[test]
fn completions_and_the_man_page_come_from_the_same_definitions() {
    let home = common::home_with("");
    for (shell, marker) in [
        ("bash", "complete -F"),
        ("zsh", "#compdef claude-comms"),
        ("fish", "complete -c claude-comms"),
    ] {
        let out = run(home.path(), &["completions", shell]);
        assert!(out.status.success(), "{}", stderr(&out));
        let script = stdout(&out);
        assert!(script.contains(marker), "{shell}: {script:.200}");
        assert!(
            script.contains("older-than") && script.contains("conversations"),
            "{shell} lacks subcommands"
        );
    }
    let out = run(home.path(), &["man"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let page = stdout(&out);
    assert!(page.contains(".TH claude-comms"), "{page:.300}");
    assert!(
        page.contains("claude\\-comms\\-conversations")
            || page.contains("claude-comms-conversations"),
        "subcommand sections"
    );
    assert!(
        page.contains("\\-\\-json") || page.contains("--json"),
        "flags"
    );
}
