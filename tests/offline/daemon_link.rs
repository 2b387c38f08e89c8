//! The link to the daemon (`hub = "auto"`, or a daemon's socket): a daemon
//! that goes away, stopped (`daemon stop`) or killed (SIGKILL), fails the
//! requests in flight at once and saying so, and the very next request
//! reaches a new daemon; for `serve`, the CLI and the `Communicator`.
//! Every test stops the daemons it started.

use crate::common;
use crate::daemon_cli;
use crate::serve_process;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use daemon_cli::{DaemonGuard, cli, daemon_pid, json_of};
use serde_json::json;
use serve_process::{Server, process_exists};

/// Generous: a broken link used to leave the request unanswered forever.
const ANSWER_DEADLINE: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, Copy)]
enum Departure {
    /// `claude-comms daemon stop` (SIGTERM, a clean shutdown).
    Stop,
    /// SIGKILL: a crash.
    Kill,
}

/// Waits until `done` holds, or fails the test naming `what`.
fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + ANSWER_DEADLINE;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Waits until the daemon of `home` carries a query that is still pending.
fn wait_for_a_pending_query(home: &Path) {
    wait_until("the daemon carries the query", || {
        let jobs = json_of(&cli(home, &["--json", "jobs", "list"]));
        jobs.as_array()
            .is_some_and(|jobs| jobs.iter().any(|j| j["status"] == "pending"))
    });
}

/// Makes the daemon of `home` go away the way `how` says; returns once it
/// has exited.
fn depart(home: &Path, how: Departure) -> u32 {
    let pid = daemon_pid(home).expect("a daemon runs");
    match how {
        Departure::Stop => {
            let stopped = cli(home, &["daemon", "stop"]);
            assert!(stopped.status.success(), "{stopped:?}");
        }
        Departure::Kill => nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid as i32),
            nix::sys::signal::Signal::SIGKILL,
        )
        .unwrap(),
    }
    wait_until("the daemon has exited", || !process_exists(pid));
    pid
}

fn says_the_daemon_went_away(text: &str) {
    assert!(
        text.contains("daemon") && text.contains("stopped or was killed"),
        "the failure says the daemon went away: {text}"
    );
}

#[test]
fn serve_answers_the_request_in_flight_when_its_daemon_goes_away_and_the_next_one_works() {
    let home = common::home_with(&common::fake_child_toml());
    let _guard = DaemonGuard(home.path().to_path_buf());
    let mut server = Server::start_with(home.path(), &[("CLAUDE_COMMS_HUB", "auto")]);
    server.initialize();
    // If the answer never came, reading would block for ever: end serve
    // at the deadline instead, so the test fails with "closed stdout".
    let (answered, watchdog) = std::sync::mpsc::channel::<()>();
    let serve_pid = server.pid();
    std::thread::spawn(move || {
        if watchdog.recv_timeout(ANSWER_DEADLINE * 4).is_err() {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(serve_pid as i32),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
    });
    let mut id = 1;
    for how in [Departure::Stop, Departure::Kill] {
        id += 1;
        let in_flight = id;
        server.send(json!({"jsonrpc": "2.0", "id": in_flight, "method": "tools/call", "params": {
            "name": "send_message",
            "arguments": {"source": "marker", "target": "arangodb", "message": "[[delay:600000]] slow"}
        }}));
        wait_for_a_pending_query(home.path());
        let old = depart(home.path(), how);
        let reply = loop {
            let frame = server.next();
            if frame["id"] == in_flight {
                break frame;
            }
        };
        assert_eq!(reply["result"]["isError"], true, "{how:?}: {reply}");
        says_the_daemon_went_away(&reply.to_string());
        // The very next request reaches a new daemon.
        id += 1;
        let next = server.call_tool(
            id,
            "send_message",
            json!({"source": "marker", "target": "arangodb", "message": "[[brief]] back?"}),
        );
        assert_eq!(
            next["structuredContent"]["status"], "delivered",
            "{how:?}: {next}"
        );
        assert_ne!(daemon_pid(home.path()), Some(old));
    }
    let _ = answered.send(());
    assert!(server.finish().success());
}

#[test]
fn a_cli_send_in_flight_fails_at_once_when_its_daemon_goes_away_and_the_next_one_works() {
    let home = common::home_with(&common::fake_child_toml());
    let _guard = DaemonGuard(home.path().to_path_buf());
    for how in [Departure::Stop, Departure::Kill] {
        let mut send = Command::new(env!("CARGO_BIN_EXE_claude-comms"))
            .args([
                "send",
                "--from",
                "marker",
                "--to",
                "arangodb",
                "[[delay:600000]] slow",
            ])
            .env("CLAUDE_COMMS_HOME", home.path())
            .env("CLAUDE_COMMS_HUB", "auto")
            .env_remove("CLAUDE_COMMS_CONFIG")
            .env_remove("RUST_LOG")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        wait_for_a_pending_query(home.path());
        depart(home.path(), how);
        let mut status = None;
        wait_until("the CLI send has exited", || {
            status = send.try_wait().unwrap();
            status.is_some()
        });
        let output = send.wait_with_output().unwrap();
        assert_eq!(status.unwrap().code(), Some(1), "{how:?}: {output:?}");
        says_the_daemon_went_away(&String::from_utf8_lossy(&output.stderr));
        let next = json_of(&cli(
            home.path(),
            &[
                "--json",
                "send",
                "--from",
                "marker",
                "--to",
                "arangodb",
                "[[brief]] back?",
            ],
        ));
        assert_eq!(next["status"], "delivered", "{how:?}");
    }
}

// Several threads: the CLI calls below block one while the client's
// connection tasks run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_communicator_call_in_flight_fails_at_once_when_its_daemon_goes_away() {
    use claude_comms::Communicator;
    let home = common::home_with(&common::fake_child_toml());
    let _guard = DaemonGuard(home.path().to_path_buf());
    let start = || {
        let started = cli(home.path(), &["daemon", "start"]);
        assert!(started.status.success(), "{started:?}");
    };
    // This test process may be the subreaper of the daemons it starts (an
    // embedded hub makes it one): reap each, or it would stay a zombie.
    let reap = |home: &Path| {
        let pid = daemon_pid(home).expect("a daemon runs");
        std::thread::spawn(move || {
            let _ = nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(pid as i32), None);
        });
    };
    start();
    let comm = std::sync::Arc::new(
        Communicator::builder("marker")
            .data_dir(home.path())
            .background(true)
            .build()
            .unwrap(),
    );
    for how in [Departure::Stop, Departure::Kill] {
        reap(home.path());
        let in_flight = tokio::spawn({
            let comm = comm.clone();
            async move { comm.send_message("arangodb", "[[delay:600000]] slow").await }
        });
        let home_path = home.path().to_path_buf();
        tokio::task::spawn_blocking(move || {
            wait_for_a_pending_query(&home_path);
            depart(&home_path, how);
        })
        .await
        .unwrap();
        let failed = tokio::time::timeout(ANSWER_DEADLINE, in_flight)
            .await
            .expect("the call in flight is answered")
            .unwrap()
            .expect_err("the daemon went away");
        says_the_daemon_went_away(&failed.to_string());
        // A daemon given by its socket is not started on demand: once one
        // runs again, the very next call reaches it.
        start();
        let next = comm
            .send_message("arangodb", "[[brief]] back?")
            .await
            .unwrap();
        assert!(next.reply.unwrap_or_default().contains("brief"), "{how:?}");
    }
    reap(home.path());
    comm.close().await;
}

/// The pids of the `daemon run` processes whose data dir is `home`.
fn daemons_of(home: &Path) -> Vec<u32> {
    let home_var = format!("CLAUDE_COMMS_HOME={}", home.display());
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            let read =
                |what: &str| std::fs::read(format!("/proc/{pid}/{what}")).unwrap_or_default();
            let args = read("cmdline");
            let args: Vec<&[u8]> = args.split(|b| *b == 0).collect();
            args.windows(2)
                .any(|w| w == [b"daemon".as_slice(), b"run".as_slice()])
                && read("environ")
                    .split(|b| *b == 0)
                    .any(|var| var == home_var.as_bytes())
                && process_exists(*pid)
        })
        .collect()
}

#[test]
fn concurrent_first_use_starts_one_daemon_and_every_command_uses_it() {
    let home = common::home_with(&common::fake_child_toml());
    let _guard = DaemonGuard(home.path().to_path_buf());
    let sends: Vec<_> = (0..24)
        .map(|n| {
            Command::new(env!("CARGO_BIN_EXE_claude-comms"))
                .args(["--json", "send", "--from", "marker", "--to", "arangodb"])
                .arg(format!("[[brief]] number {n}"))
                .env("CLAUDE_COMMS_HOME", home.path())
                .env("CLAUDE_COMMS_HUB", "auto")
                .env_remove("CLAUDE_COMMS_CONFIG")
                .env_remove("RUST_LOG")
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for send in sends {
        let output = send.wait_with_output().unwrap();
        assert_eq!(json_of(&output)["status"], "delivered");
    }
    let running = daemons_of(home.path());
    assert_eq!(running.len(), 1, "exactly one daemon: {running:?}");
    assert_eq!(daemon_pid(home.path()), Some(running[0]));
    let log = std::fs::read_to_string(home.path().join("daemon.log")).unwrap_or_default();
    assert!(
        !log.contains("already runs"),
        "no second daemon was even started: {log}"
    );
}

/// A command that starts a daemon while the data dir's lock is still held
/// (a daemon that is stopping holds it to the end) waits, and once the lock
/// is free starts the daemon again instead of failing with "already runs".
#[test]
fn a_start_that_meets_a_stopping_daemon_waits_for_the_lock_and_tries_again() {
    use nix::fcntl::{Flock, FlockArg};
    let home = common::home_with(&common::fake_child_toml());
    let _guard = DaemonGuard(home.path().to_path_buf());
    // The lock of a daemon on its way out, held here.
    let lock_file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(home.path().join("daemon.lock"))
        .unwrap();
    let held = Flock::lock(lock_file, FlockArg::LockExclusiveNonblock).unwrap();
    let send = Command::new(env!("CARGO_BIN_EXE_claude-comms"))
        .args(["--json", "send", "--from", "marker", "--to", "arangodb"])
        .arg("[[brief]] after the old one")
        .env("CLAUDE_COMMS_HOME", home.path())
        .env("CLAUDE_COMMS_HUB", "auto")
        .env_remove("CLAUDE_COMMS_CONFIG")
        .env_remove("RUST_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let log = home.path().join("daemon.log");
    wait_until("the first daemon it started lost the lock", || {
        std::fs::read_to_string(&log).is_ok_and(|l| l.contains("already runs"))
    });
    drop(held);
    let output = send.wait_with_output().unwrap();
    assert_eq!(json_of(&output)["status"], "delivered");
    assert!(daemon_pid(home.path()).is_some());
}
