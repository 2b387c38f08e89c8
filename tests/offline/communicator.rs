//! The Rust communicator: the example runs as a user would run it (same
//! code), and each operation does what its name says.

use crate::common;

#[allow(dead_code)]
#[path = "../../examples/communicator.rs"]
mod example;

use claude_comms::Communicator;
use claude_comms::communicator::SendEvent;
use claude_comms::hub::SendRequest;

const CHILD: &str = env!("CARGO_BIN_EXE_fake-mcp-child");

#[tokio::test]
async fn the_example_runs_against_the_fake_child() {
    let printed = example::run(std::path::Path::new(CHILD)).await.unwrap();
    let text = printed.join("\n");
    assert!(text.contains("arangodb: "), "{text}");
    assert!(
        text.contains("fake answer from"),
        "the fake child answered:\n{text}"
    );
    assert!(
        text.contains("progress: "),
        "the streamed send reports progress:\n{text}"
    );
    assert!(text.contains("arangodb again: "), "{text}");
    assert!(
        text.contains("marker -> arangodb (4 messages)"),
        "one conversation, two turns:\n{text}"
    );
    assert!(text.contains("export: "), "{text}");
}

fn communicator(home: &std::path::Path) -> Communicator {
    let arangodb = home.join("modules/arangodb").display().to_string();
    Communicator::builder("marker")
        .data_dir(home)
        .folder(home.join("modules/marker"))
        .configure(move |c| {
            c.module_paths.insert("arangodb".into(), arangodb);
            c.instances.claude_code_mcp.command = CHILD.into();
            c.instances.claude_code_mcp.args = Vec::new();
        })
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_streamed_send_ends_with_its_outcome_even_when_it_fails() {
    let home = common::home_with("");
    let comm = communicator(home.path());
    let mut events = comm.send_message_streaming("arangodb", "[[progress:3]] hello");
    let mut seen = Vec::new();
    while let Some(event) = events.recv().await {
        seen.push(event);
    }
    assert!(
        matches!(seen.last(), Some(SendEvent::Done(Ok(_)))),
        "{seen:?}"
    );
    assert!(
        seen.iter()
            .filter(|e| matches!(e, SendEvent::Progress(_)))
            .count()
            >= 1,
        "{seen:?}"
    );

    let mut events = comm.send_message_streaming("arangodb", "[[error:the graph is down]]");
    let mut last = None;
    while let Some(event) = events.recv().await {
        last = Some(event);
    }
    match last {
        Some(SendEvent::Done(Err(e))) => {
            assert!(e.to_string().contains("the graph is down"), "{e}")
        }
        other => panic!("expected a failed outcome, got {other:?}"),
    }
    comm.close().await;
}

#[tokio::test]
async fn conversations_are_created_listed_and_continued_for_this_module() {
    let home = common::home_with("");
    let comm = communicator(home.path());
    let created = comm.create_conversation("arangodb").await.unwrap();
    assert_eq!(
        (created.source.as_str(), created.target.as_str()),
        ("marker", "arangodb")
    );
    let answer = comm
        .continue_conversation(&created.id, "first words")
        .await
        .unwrap();
    assert_eq!(answer.conversation_id, created.id);
    let listed = comm.list_conversations().await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].message_count, 2);
    // A full request with defaults for the rest.
    let again = comm
        .send(SendRequest {
            conversation_id: Some(created.id.clone()),
            message: "second words".into(),
            idempotency_key: Some("k1".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(!again.duplicate);
    comm.close().await;
}

// Several threads: the CLI calls below block one, while the client's
// connection tasks must still run to close its socket.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_the_background_the_daemon_answers_and_outlives_the_program() {
    let home = common::home_with(&common::fake_child_toml());
    let cli = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_claude-comms"))
            .args(args)
            .env("CLAUDE_COMMS_HOME", home.path())
            .env_remove("CLAUDE_COMMS_CONFIG")
            .output()
            .unwrap()
    };
    // No daemon yet: a clear error, nothing started.
    let comm = Communicator::builder("marker")
        .data_dir(home.path())
        .background(true)
        .build()
        .unwrap();
    let refused = comm.send_message("arangodb", "anyone there?").await;
    let refused = refused.expect_err("no daemon runs yet").to_string();
    assert!(refused.contains("daemon"), "{refused}");
    comm.close().await;

    let started = cli(&["daemon", "start"]);
    assert!(
        started.status.success(),
        "{}",
        String::from_utf8_lossy(&started.stderr)
    );
    let comm = Communicator::builder("marker")
        .data_dir(home.path())
        .background(true)
        .build()
        .unwrap();
    let answer = comm.send_message("arangodb", "through the daemon").await;
    comm.close().await;
    drop(comm);
    let listed = cli(&["instances", "list", "--json"]);
    // This test process embeds a hub, which makes it the subreaper of its
    // orphans: the daemon (whose starter exited) is its child now, and must
    // be reaped here once it exits, or `daemon stop` would see a zombie.
    let daemon_pid =
        serde_json::from_slice::<serde_json::Value>(&cli(&["--json", "daemon", "status"]).stdout)
            .ok()
            .and_then(|s| s["daemon"]["pid"].as_i64());
    let reaper = daemon_pid.map(|pid| {
        std::thread::spawn(move || {
            let _ = nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(pid as i32), None);
        })
    });
    let stopped = cli(&["daemon", "stop"]);
    if let Some(reaper) = reaper {
        let _ = reaper.join();
    }
    let answer = answer.unwrap();
    assert!(
        answer
            .reply
            .unwrap_or_default()
            .contains("through the daemon")
    );
    let rows: serde_json::Value = serde_json::from_slice(&listed.stdout).unwrap();
    assert_eq!(
        rows.as_array().map(Vec::len),
        Some(1),
        "the daemon keeps its child after the program closed: {rows}"
    );
    assert!(
        stopped.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&stopped.stderr),
        std::fs::read_to_string(home.path().join("daemon.log")).unwrap_or_default()
    );
}
