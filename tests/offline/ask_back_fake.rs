//! Ask-back (issue 29) with the fake child, which calls the agent tools'
//! `ask_asker` the way the real `claude` does (`[[askback:QUESTION]]`):
//! the asker sees `input_required`, answers with `answer_question`, and
//! the agent answers with what it was told; unanswered, it goes on.

use std::time::Duration;

use crate::common;

use common::{call, connect, fake_child_toml, home_with, hub_in, ok_value, text_of};
use serde_json::json;

fn home(extra: &str) -> tempfile::TempDir {
    home_with(&format!(
        "{}\n{extra}\n[permissions]\nshim = {:?}\n",
        fake_child_toml(),
        env!("CARGO_BIN_EXE_claude-comms")
    ))
}

#[tokio::test]
async fn the_asker_answers_and_the_agent_answers_with_what_it_was_told() {
    let home = home("");
    let hub = hub_in(home.path());
    let client = connect(hub.clone()).await;
    let asked = ok_value(
        &call(
            &client,
            "send_message",
            json!({"source": "marker", "target": "arangodb", "message": "[[askback:JSON or CSV?]]"}),
        )
        .await,
    );
    assert_eq!(asked["status"], "input_required", "{asked}");
    assert_eq!(asked["input_request"]["question"], "JSON or CSV?");
    let id = asked["message_id"].as_str().unwrap();
    let listed = ok_value(&call(&client, "list_jobs", json!({})).await);
    assert_eq!(listed["jobs"][0]["status"], "input_required", "{listed}");

    let answered = call(
        &client,
        "answer_question",
        json!({"query_id": &id[..8], "answer": "JSON lines"}),
    )
    .await;
    let outcome = ok_value(&answered);
    assert_eq!(outcome["status"], "delivered", "{outcome}");
    assert_eq!(
        outcome["reply"], "asked back: marker answers: JSON lines",
        "{outcome}"
    );
    assert!(text_of(&answered).contains("asked back: marker answers: JSON lines"));
    // Nothing is left waiting, and nothing answers twice.
    let again = call(
        &client,
        "answer_question",
        json!({"query_id": id, "answer": "CSV"}),
    )
    .await;
    assert_eq!(again.is_error, Some(true));
    assert!(
        text_of(&again).contains("is delivered"),
        "{}",
        text_of(&again)
    );
    let exported = ok_value(
        &call(
            &client,
            "export_conversation",
            json!({"conversation_id": outcome["conversation_id"], "format": "markdown"}),
        )
        .await,
    );
    let markdown = exported["content"].as_str().unwrap();
    assert!(
        markdown.contains("JSON or CSV?") && markdown.contains("JSON lines"),
        "{markdown}"
    );
    client.cancel().await.unwrap();
    hub.shutdown().await;
}

#[tokio::test]
async fn unanswered_the_agent_goes_on_and_a_late_answer_is_refused() {
    let home = home("[context]\nask_back_timeout_s = 1\n");
    let hub = hub_in(home.path());
    let client = connect(hub.clone()).await;
    let asked = ok_value(
        &call(
            &client,
            "send_message",
            json!({"source": "marker", "target": "arangodb", "message": "[[askback:Anyone there?]]"}),
        )
        .await,
    );
    assert_eq!(asked["status"], "input_required", "{asked}");
    let id = asked["message_id"].as_str().unwrap().to_string();
    // What comes next without an answer: the agent's own answer.
    let outcome = hub
        .messaging()
        .next_turn(
            &id,
            Some(asked["input_request"]["question_id"].as_str().unwrap()),
            Duration::from_secs(30),
        )
        .await
        .unwrap();
    assert_eq!(outcome.status, "delivered", "{outcome:?}");
    assert_eq!(
        outcome.reply.as_deref(),
        Some("asked back: no answer came from marker within 1 s; go on with what you know")
    );
    let late = hub
        .messaging()
        .answer_question(&id, "here", Duration::ZERO)
        .await
        .unwrap_err();
    assert!(late.to_string().contains("is delivered"), "{late}");
    client.cancel().await.unwrap();
    hub.shutdown().await;
}

#[test]
fn listen_shows_a_question_waiting_for_its_answer() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};

    let home = home("");
    let _daemon = crate::daemon_cli::DaemonGuard(home.path().to_path_buf());
    let mut listener = Command::new(env!("CARGO_BIN_EXE_claude-comms"))
        .args(["listen", "marker"])
        .env("CLAUDE_COMMS_HOME", home.path())
        .env_remove("CLAUDE_COMMS_CONFIG")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = BufReader::new(listener.stderr.take().unwrap());
    let mut line = String::new();
    err.read_line(&mut line).unwrap();
    assert!(line.contains("listening"), "{line}");
    // Its lines, read on a thread so the test waits with a deadline.
    let (lines, heard) = std::sync::mpsc::channel();
    let out = BufReader::new(listener.stdout.take().unwrap());
    std::thread::spawn(move || {
        for line in out.lines().map_while(Result::ok) {
            if lines.send(line).is_err() {
                return;
            }
        }
    });

    // Through the daemon, which carries the question after `send` exits 4.
    let sent = crate::daemon_cli::cli(
        home.path(),
        &[
            "--json",
            "send",
            "--from",
            "marker",
            "--to",
            "arangodb",
            "[[askback:Which one?]]",
        ],
    );
    assert_eq!(
        sent.status.code(),
        Some(4),
        "{}",
        String::from_utf8_lossy(&sent.stderr)
    );
    let asked: serde_json::Value = serde_json::from_slice(&sent.stdout).unwrap();
    let id = asked["message_id"].as_str().unwrap();
    let hint = format!("(waits for an answer: claude-comms jobs answer {id} TEXT)");
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let mut seen = Vec::new();
    while !seen.contains(&hint) {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match heard.recv_timeout(left) {
            Ok(line) => seen.push(line),
            Err(_) => panic!("listen did not show the waiting question: {seen:#?}"),
        }
    }
    assert!(seen.iter().any(|l| l == "Which one?"), "{seen:#?}");

    let answered = crate::daemon_cli::cli(home.path(), &["jobs", "answer", id, "the first"]);
    assert_eq!(
        answered.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&answered.stderr)
    );
    assert!(String::from_utf8_lossy(&answered.stdout).contains("marker answers: the first"));
    listener.kill().unwrap();
    listener.wait().unwrap();
}
