//! The hub daemon with the in-repo fake child: one daemon per data dir
//! owns the children; the CLI and `serve` share its warm instances and its
//! jobs; it stops cleanly, and a daemon that dies mid-job leaves the job
//! `interrupted` while `serve` carries on with a new one. Every test stops
//! the daemon it started (a guard does, also when the test fails).

use crate::common;
use crate::daemon_cli;
use crate::serve_process;

use std::path::Path;
use std::process::Command;

use daemon_cli::{DaemonGuard, cli, daemon_pid, json_of, json_of_any};
use serde_json::{Value, json};
use serve_process::{Server, descendants, process_exists};

fn home_and_guard() -> (tempfile::TempDir, DaemonGuard) {
    let home = common::home_with(&common::fake_child_toml());
    let guard = DaemonGuard(home.path().to_path_buf());
    (home, guard)
}

#[test]
fn cli_queries_share_the_daemons_warm_instance_and_stop_leaves_nothing_behind() {
    let (home, _guard) = home_and_guard();
    let started = cli(home.path(), &["daemon", "start"]);
    assert!(
        started.status.success(),
        "{}",
        String::from_utf8_lossy(&started.stderr)
    );
    let pid = daemon_pid(home.path()).expect("the daemon runs");
    let send = |text: &str| {
        json_of(&cli(
            home.path(),
            &[
                "--json", "send", "--from", "marker", "--to", "arangodb", text,
            ],
        ))
    };
    let first = send("[[brief]] one");
    let second = send("[[brief]] two");
    assert_eq!(first["status"], "delivered");
    assert_eq!(
        first["instance_id"], second["instance_id"],
        "both CLI calls were served by the daemon's one warm instance"
    );
    let children = descendants(pid);
    assert!(!children.is_empty(), "the daemon owns the child");
    let stopped = cli(home.path(), &["daemon", "stop"]);
    assert!(
        String::from_utf8_lossy(&stopped.stdout).contains(&format!("stopped daemon pid {pid}"))
    );
    assert!(!process_exists(pid), "the daemon exited");
    for child in children {
        assert!(
            !process_exists(child),
            "child {child} of the daemon is gone"
        );
    }
    assert_eq!(daemon_pid(home.path()), None);
    assert!(!home.path().join("daemon.sock").exists() || !common_socket_alive(home.path()));
}

fn common_socket_alive(home: &Path) -> bool {
    std::os::unix::net::UnixStream::connect(home.join("daemon.sock")).is_ok()
}

#[test]
fn a_background_job_outlives_its_command_and_is_collected_from_another_process() {
    let (home, _guard) = home_and_guard();
    let sent = json_of(&cli(
        home.path(),
        &[
            "--json",
            "send",
            "--background",
            "--from",
            "marker",
            "--to",
            "arangodb",
            "[[delay:500]] the long one",
        ],
    ));
    assert_eq!(sent["status"], "pending");
    let id = sent["message_id"].as_str().unwrap();
    // The command that sent it has exited; another collects the answer.
    let waited = json_of(&cli(
        home.path(),
        &["--json", "jobs", "wait", &id[..8], "--timeout", "60"],
    ));
    assert_eq!(waited["status"], "delivered");
    assert!(waited["reply"].as_str().unwrap().contains("the long one"));
    let listed = json_of(&cli(home.path(), &["--json", "jobs", "list"]));
    assert_eq!(listed[0]["message_id"], id);
}

#[test]
fn a_daemon_killed_mid_job_leaves_it_interrupted_and_the_next_query_works() {
    let (home, _guard) = home_and_guard();
    let sent = json_of(&cli(
        home.path(),
        &[
            "--json",
            "send",
            "--background",
            "--from",
            "marker",
            "--to",
            "arangodb",
            "[[hang]] never answered",
        ],
    ));
    let id = sent["message_id"].as_str().unwrap().to_string();
    let pid = daemon_pid(home.path()).expect("the daemon runs");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    while process_exists(pid) {
        std::thread::yield_now();
    }
    // The next query starts a new daemon (the dead one's lock went with it),
    // which marks the dead one's job interrupted; nothing is replayed.
    let next = json_of(&cli(
        home.path(),
        &[
            "--json",
            "send",
            "--from",
            "marker",
            "--to",
            "arangodb",
            "[[brief]] are you back?",
        ],
    ));
    assert_eq!(next["status"], "delivered");
    assert_ne!(daemon_pid(home.path()), Some(pid));
    let job = json_of_any(&cli(home.path(), &["--json", "jobs", "show", &id]));
    assert_eq!(job["status"], "interrupted", "{job}");
}

#[test]
fn one_daemon_per_data_dir() {
    let (home, _guard) = home_and_guard();
    assert!(cli(home.path(), &["daemon", "start"]).status.success());
    let pid = daemon_pid(home.path()).unwrap();
    let second = cli(home.path(), &["daemon", "run"]);
    assert!(!second.status.success());
    let err = String::from_utf8_lossy(&second.stderr);
    assert!(
        err.contains("already runs") && err.contains(&pid.to_string()),
        "{err}"
    );
    // `start` again is a no-op that reports the running one.
    let again = cli(home.path(), &["daemon", "start"]);
    assert!(String::from_utf8_lossy(&again.stdout).contains(&pid.to_string()));
}

#[test]
fn serve_keeps_answering_across_a_daemon_restart() {
    let (home, _guard) = home_and_guard();
    let mut server = Server::start_with(home.path(), &[("CLAUDE_COMMS_HUB", "auto")]);
    server.initialize();
    let ask = |server: &mut Server, id: i64, text: &str| {
        server.call_tool(
            id,
            "send_message",
            json!({"source": "marker", "target": "arangodb", "message": text}),
        )
    };
    let first = ask(&mut server, 2, "[[brief]] first");
    assert_eq!(first["structuredContent"]["status"], "delivered", "{first}");
    let pid = daemon_pid(home.path()).expect("serve started a daemon");
    let group = |p: u32| nix::unistd::getpgid(Some(nix::unistd::Pid::from_raw(p as i32))).ok();
    assert_ne!(
        group(pid),
        group(server.pid()),
        "the daemon runs in its own process group: a host that ends serve's group leaves it"
    );
    // The daemon dies; serve starts a new one for the next request.
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    while process_exists(pid) {
        std::thread::yield_now();
    }
    let mut answered = None;
    for id in 3..6 {
        let reply = ask(&mut server, id, "[[brief]] after the restart");
        if reply["structuredContent"]["status"] == "delivered" {
            answered = Some(reply);
            break;
        }
        // Only a request in flight when the daemon died may fail, clearly.
        let text = reply.to_string();
        assert!(text.contains("daemon"), "{text}");
    }
    assert!(answered.is_some(), "serve answered again with a new daemon");
    assert_ne!(daemon_pid(home.path()), Some(pid));
    assert!(server.finish().success());
}

/// The seed's usage table, exactly as written, against a running daemon.
#[test]
fn the_seed_commands_work_as_written_against_a_running_daemon() {
    let (home, _guard) = home_and_guard();
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_claude-comms"))
            .args(args)
            .current_dir(home.path())
            .env("CLAUDE_COMMS_HOME", home.path())
            .env("CLAUDE_COMMS_HUB", "auto")
            .env("CLAUDE_COMMS_MODULE", "marker")
            .env_remove("CLAUDE_COMMS_CONFIG")
            .env_remove("RUST_LOG")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    assert!(cli(home.path(), &["daemon", "start"]).status.success());
    // register-module NAME --path DIR --desc FILE: the name fills in the descriptor's.
    let folder = home.path().join("modules/summarizer");
    std::fs::create_dir_all(&folder).unwrap();
    let desc = home.path().join("module.yaml");
    std::fs::write(
        &desc,
        "version: 1.0.0\ndescription: Summarises documents.\n",
    )
    .unwrap();
    let registered = run(&[
        "register-module",
        "summarizer",
        "--path",
        folder.to_str().unwrap(),
        "--desc",
        desc.to_str().unwrap(),
    ]);
    assert!(registered.contains("registered summarizer"), "{registered}");
    // start-instance --name marker_arangodb binds that pair.
    let started = run(&["start-instance", "--name", "marker_arangodb"]);
    assert!(started.contains("marker_arangodb"), "{started}");
    let listed = run(&["list-instances"]);
    assert!(listed.contains("ready"), "{listed}");
    assert!(
        listed.contains("NAME") && listed.contains("marker_arangodb"),
        "list-instances shows names: {listed}"
    );
    // query-module TARGET "..." (positional target), served by the named instance.
    let answer = run(&[
        "--json",
        "query-module",
        "arangodb",
        "[[brief]] seed question",
    ]);
    let answer: Value = serde_json::from_str(&answer).unwrap();
    let instance = answer["instance_id"].as_str().unwrap().to_string();
    assert!(
        started.contains(&instance),
        "the named instance answered: {started}"
    );
    // query-module TARGET "..." --background prints the job id at once.
    let job = run(&[
        "query-module",
        "arangodb",
        "[[delay:200]] later",
        "--background",
    ]);
    let job = job.trim();
    let waited = run(&["jobs", "wait", job]);
    assert!(waited.contains("later"), "{waited}");
    // list-conversations, continue-conversation, export-conversation --id ID --format json.
    let conversations = run(&["--json", "list-conversations"]);
    let conversations: Value = serde_json::from_str(&conversations).unwrap();
    let id = conversations["conversations"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let continued = run(&["continue-conversation", &id[..8], "[[brief]] and then?"]);
    assert!(continued.contains("brief fake answer"), "{continued}");
    let saved = run(&["export-conversation", "--id", &id[..8], "--format", "json"]);
    let path = home.path().join(format!("{id}.json"));
    assert_eq!(saved.trim(), format!("{id}.json"));
    let exported: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert_eq!(exported["conversation"]["id"], id);
    // monitor-instance --id ID and stop-instance --id ID take the name too.
    let stopped = run(&["stop-instance", "--id", "marker_arangodb"]);
    assert!(stopped.contains("stopped"), "{stopped}");
}

/// `instances monitor` on the instance that answered shows the next turn
/// live: the request, then the reply.
#[test]
fn monitor_takes_an_instance_id_never_a_path() {
    let (home, _guard) = home_and_guard();
    // A journal-like file outside the journal folder (which exists).
    std::fs::create_dir_all(home.path().join("instances")).unwrap();
    std::fs::write(
        home.path().join("elsewhere.jsonl"),
        "{\"instance_id\":\"x\",\"at_ms\":1,\"kind\":\"stderr\",\"text\":\"not a journal\"}\n",
    )
    .unwrap();
    for id in ["../elsewhere", "/etc/passwd", ".hidden", ""] {
        // A monitor that found a file would follow it for ever: bounded.
        let mut monitor = Command::new(env!("CARGO_BIN_EXE_claude-comms"))
            .args(["instances", "monitor", id, "--lines", "5"])
            .env("CLAUDE_COMMS_HOME", home.path())
            .env("CLAUDE_COMMS_HUB", "auto")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while monitor.try_wait().unwrap().is_none() {
            if std::time::Instant::now() > deadline {
                let _ = monitor.kill();
                let out = monitor.wait_with_output().unwrap();
                panic!(
                    "monitor {id:?} kept following: {}",
                    String::from_utf8_lossy(&out.stdout)
                );
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        let out = monitor.wait_with_output().unwrap();
        let said = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!out.status.success(), "{id:?}: {said}");
        assert!(
            !said.contains("not a journal"),
            "{id:?} read a file: {said}"
        );
    }
}

#[test]
fn monitor_shows_the_next_turn_of_an_instance_live() {
    use std::io::{BufRead, BufReader};
    let (home, _guard) = home_and_guard();
    let first = json_of(&cli(
        home.path(),
        &[
            "--json",
            "send",
            "--from",
            "marker",
            "--to",
            "arangodb",
            "[[brief]] first",
        ],
    ));
    let instance = first["instance_id"].as_str().unwrap().to_string();
    let mut monitor = Command::new(env!("CARGO_BIN_EXE_claude-comms"))
        .args(["instances", "monitor", &instance, "--lines", "1"])
        .env("CLAUDE_COMMS_HOME", home.path())
        .env("CLAUDE_COMMS_HUB", "auto")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let stdout = monitor.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            if tx.send(line.unwrap_or_default()).is_err() {
                return;
            }
        }
    });
    // It prints the last event so far (the first reply) once it follows
    // the journal: only then is what comes next certainly new to it.
    let first_line = rx
        .recv_timeout(std::time::Duration::from_secs(30))
        .expect("the monitor prints the last event");
    assert!(first_line.contains("reply"), "{first_line}");
    let second = json_of(&cli(
        home.path(),
        &[
            "--json",
            "send",
            "--from",
            "marker",
            "--to",
            "arangodb",
            "[[brief]] second",
        ],
    ));
    assert_eq!(second["instance_id"], instance.as_str());
    let mut seen = Vec::new();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !seen.iter().any(|l: &String| l.contains("reply")) {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) => seen.push(line),
            Err(_) => break,
        }
    }
    let _ = monitor.kill();
    let _ = monitor.wait();
    let request = seen
        .iter()
        .position(|l| l.contains("request") && l.contains("marker asks arangodb"));
    let reply = seen
        .iter()
        .position(|l| l.contains("reply") && l.contains("brief fake answer"));
    assert!(
        matches!((request, reply), (Some(a), Some(b)) if a < b),
        "the request, then the reply: {seen:?}"
    );
}

/// A daemon whose data dir is deleted under it exits, and its log (still
/// open to it, read here through a handle taken before) says why.
#[test]
fn a_daemon_whose_data_dir_is_deleted_exits_saying_why() {
    use std::io::Read;
    let (home, _guard) = home_and_guard();
    assert!(cli(home.path(), &["daemon", "start"]).status.success());
    let pid = daemon_pid(home.path()).expect("the daemon runs");
    let mut log = std::fs::File::open(home.path().join("daemon.log")).unwrap();
    std::fs::remove_dir_all(home.path()).unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while process_exists(pid) {
        assert!(
            std::time::Instant::now() < deadline,
            "the daemon still runs without its data dir"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let mut said = String::new();
    log.read_to_string(&mut said).unwrap();
    assert!(
        said.contains("was deleted") && said.contains(&home.path().display().to_string()),
        "{said}"
    );
}
