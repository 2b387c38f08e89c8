//! End-to-end: the hub daemon with the real children (claude-code-mcp and
//! the `claude` CLI) against the stand-in model on 127.0.0.1. Two `serve`
//! processes and the CLI share one warm stream instance; a background job
//! is collected from another process; a daemon killed mid-job leaves the
//! job interrupted and the next query is answered; `daemon stop` leaves no
//! process behind.

use crate::common;
use crate::daemon_cli;
use crate::model_stub;
use crate::real_children;
use crate::serve_process;

use std::collections::BTreeSet;

use daemon_cli::{DaemonGuard, cli, daemon_pid, json_of};
use model_stub::{ModelStub, Turn};
use real_children::RealChildren;
use serde_json::{Value, json};
use serve_process::{Server, descendants, process_exists};

fn model_in_background() -> (ModelStub, tokio::runtime::Runtime) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let model = runtime.block_on(ModelStub::start_with(|r| {
        Turn::Text(model_stub::echo_answer(r))
    }));
    (model, runtime)
}

#[ignore = "end-to-end tier: needs the real children (bash scripts/install-real-children.sh); scripts/test.sh runs it"]
#[test]
fn two_serves_and_the_cli_share_one_warm_stream_instance_through_the_daemon() {
    let Some(real) = RealChildren::find() else {
        return;
    };
    let (model, _rt) = model_in_background();
    let claude_home = tempfile::tempdir().unwrap();
    let home = common::home_with(&real.config_toml(&model, claude_home.path()));
    let _guard = DaemonGuard(home.path().to_path_buf());
    let auto = [("CLAUDE_COMMS_HUB", "auto")];

    let mut first = Server::start_with(home.path(), &auto);
    first.initialize();
    let created = first.call_tool(
        2,
        "create_conversation",
        json!({"source": "marker", "target": "arangodb", "backend": "claude-stream"}),
    );
    let id = created["structuredContent"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let turn1 = first.call_tool(
        3,
        "send_message",
        json!({"conversation_id": id, "message": "turn one"}),
    );
    assert_eq!(
        turn1["structuredContent"]["reply"], "stub model answer to: turn one",
        "{turn1}"
    );
    let instance = turn1["structuredContent"]["instance_id"].clone();
    let daemon = daemon_pid(home.path()).expect("serve started the daemon");
    let warm: BTreeSet<u32> = descendants(daemon).into_iter().collect();
    assert!(!warm.is_empty(), "the daemon holds the warm claude process");

    let mut second = Server::start_with(home.path(), &auto);
    second.initialize();
    let turn2 = second.call_tool(
        2,
        "send_message",
        json!({"conversation_id": id, "message": "turn two"}),
    );
    assert_eq!(
        turn2["structuredContent"]["instance_id"], instance,
        "{turn2}"
    );
    let turn3 = json_of(&cli(
        home.path(),
        &["--json", "send", "--conversation", &id, "turn three"],
    ));
    assert_eq!(turn3["instance_id"], instance);
    assert_eq!(turn3["reply"], "stub model answer to: turn three");
    let after: BTreeSet<u32> = descendants(daemon).into_iter().collect();
    assert_eq!(
        after, warm,
        "later turns from other processes started no new claude process"
    );

    assert!(first.finish().success());
    assert!(second.finish().success());
    let stopped = cli(home.path(), &["daemon", "stop"]);
    assert!(stopped.status.success());
    assert!(!process_exists(daemon));
    for pid in after {
        assert!(!process_exists(pid), "process {pid} of the daemon is gone");
    }
}

#[ignore = "end-to-end tier: needs the real children (bash scripts/install-real-children.sh); scripts/test.sh runs it"]
#[test]
fn background_jobs_outlive_their_command_and_a_killed_daemon_interrupts_them() {
    let Some(real) = RealChildren::find() else {
        return;
    };
    let (model, _rt) = model_in_background();
    let claude_home = tempfile::tempdir().unwrap();
    let home = common::home_with(&real.config_toml(&model, claude_home.path()));
    let _guard = DaemonGuard(home.path().to_path_buf());
    let send_background = |text: &str| {
        json_of(&cli(
            home.path(),
            &[
                "--json",
                "send",
                "--background",
                "--from",
                "marker",
                "--to",
                "arangodb",
                text,
            ],
        ))
    };
    let job = send_background("a background question");
    assert_eq!(job["status"], "pending");
    let id = job["message_id"].as_str().unwrap().to_string();
    let done = json_of(&cli(
        home.path(),
        &["--json", "jobs", "wait", &id, "--timeout", "120"],
    ));
    assert_eq!(done["status"], "delivered");
    assert_eq!(done["reply"], "stub model answer to: a background question");

    // A job the model sits on; the daemon is killed under it.
    let stuck = send_background("[[stall:60000]] never finished");
    let stuck_id = stuck["message_id"].as_str().unwrap().to_string();
    let daemon = daemon_pid(home.path()).unwrap();
    let tree = descendants(daemon);
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(daemon as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    while process_exists(daemon) {
        std::thread::yield_now();
    }
    let next = json_of(&cli(
        home.path(),
        &[
            "--json",
            "send",
            "--from",
            "marker",
            "--to",
            "arangodb",
            "are you back?",
        ],
    ));
    assert_eq!(next["reply"], "stub model answer to: are you back?");
    let shown: Value =
        serde_json::from_slice(&cli(home.path(), &["--json", "jobs", "show", &stuck_id]).stdout)
            .unwrap();
    assert_eq!(shown["status"], "interrupted", "{shown}");
    let stopped = cli(home.path(), &["daemon", "stop"]);
    assert!(stopped.status.success());
    // The killed daemon's children went with it (their stdin closed).
    for pid in tree {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while process_exists(pid) && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        assert!(
            !process_exists(pid),
            "process {pid} of the killed daemon is gone"
        );
    }
}
