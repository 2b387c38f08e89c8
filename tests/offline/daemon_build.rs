//! A client and its daemon compare version and build at connect. A daemon
//! of another build started on demand makes way for the client's build once
//! it is idle; one started by hand keeps running and every command, `daemon
//! status` and `doctor` say so, with the fix. The daemon of "another build"
//! is this very binary told to pose as one (`CLAUDE_COMMS_POSE_AS_BUILD`,
//! read by debug builds only), so it runs and reports that build honestly.

use crate::common;
use crate::daemon_cli;
use crate::serve_process;

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use daemon_cli::{DaemonGuard, cli, daemon_pid, json_of, json_of_any};
use serde_json::Value;
use serve_process::process_exists;

const OLD_BUILD: &str = "old-build-for-the-test";

/// The CLI of the build that posing gives (`None`: this build).
fn cli_of(build: Option<&str>, home: &Path, args: &[&str]) -> Output {
    cli_at(
        Path::new(env!("CARGO_BIN_EXE_claude-comms")),
        build,
        home,
        args,
    )
}

/// The CLI of the executable at `program`.
fn cli_at(program: &Path, build: Option<&str>, home: &Path, args: &[&str]) -> Output {
    let mut command = Command::new(program);
    command
        .args(args)
        .env("CLAUDE_COMMS_HOME", home)
        .env("CLAUDE_COMMS_HUB", "auto")
        .env_remove("CLAUDE_COMMS_CONFIG")
        .env_remove("CLAUDE_COMMS_MODULE")
        .env_remove("RUST_LOG");
    match build {
        Some(build) => command.env("CLAUDE_COMMS_POSE_AS_BUILD", build),
        None => command.env_remove("CLAUDE_COMMS_POSE_AS_BUILD"),
    };
    command.output().expect("claude-comms runs")
}

fn send(build: Option<&str>, home: &Path, extra: &[&str], text: &str) -> Output {
    let mut args = vec!["--json", "send", "--from", "marker", "--to", "arangodb"];
    args.extend_from_slice(extra);
    args.push(text);
    cli_of(build, home, &args)
}

fn daemon_state(home: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(home.join("daemon.json")).unwrap()).unwrap()
}

fn wait_until_gone(pid: u32) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while process_exists(pid) {
        assert!(Instant::now() < deadline, "daemon {pid} still runs");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_daemon_of_another_build_started_on_demand_makes_way_once_it_is_idle() {
    let home = common::home_with(&common::fake_child_toml());
    let _guard = DaemonGuard(home.path().to_path_buf());

    // Idle: replaced at the next command of this build.
    let old = json_of(&send(Some(OLD_BUILD), home.path(), &[], "[[brief]] old"));
    assert_eq!(old["status"], "delivered");
    let old_pid = daemon_pid(home.path()).expect("the old build's daemon runs");
    assert_eq!(daemon_state(home.path())["build"], OLD_BUILD);
    assert_eq!(daemon_state(home.path())["on_demand"], true);
    let new = send(None, home.path(), &[], "[[brief]] new");
    assert_eq!(json_of(&new)["status"], "delivered");
    let new_pid = daemon_pid(home.path()).expect("a daemon runs");
    assert_ne!(new_pid, old_pid, "the old build's daemon made way");
    wait_until_gone(old_pid);
    assert_ne!(daemon_state(home.path())["build"], OLD_BUILD);
    assert!(
        String::from_utf8_lossy(&new.stderr).is_empty(),
        "nothing to fix, nothing said: {new:?}"
    );
    assert!(cli(home.path(), &["daemon", "stop"]).status.success());

    // Busy: it goes on serving until its work is done, then makes way.
    let job = json_of(&send(
        Some(OLD_BUILD),
        home.path(),
        &["--background"],
        "[[hang]] keeps it busy",
    ));
    let job = job["message_id"].as_str().unwrap().to_string();
    let old_pid = daemon_pid(home.path()).expect("the old build's daemon runs");
    let meanwhile = json_of(&send(None, home.path(), &[], "[[brief]] meanwhile"));
    assert_eq!(meanwhile["status"], "delivered");
    assert_eq!(daemon_pid(home.path()), Some(old_pid), "busy: still used");
    let cancelled = json_of_any(&cli(home.path(), &["--json", "jobs", "cancel", &job]));
    assert_eq!(cancelled["status"], "cancelled", "{cancelled}");
    wait_until_gone(old_pid);
    let after = json_of(&send(None, home.path(), &[], "[[brief]] after"));
    assert_eq!(after["status"], "delivered");
    assert_ne!(daemon_state(home.path())["build"], OLD_BUILD);
}

#[test]
fn a_daemon_of_another_build_started_by_hand_is_reported_with_the_fix() {
    let home = common::home_with(&common::fake_child_toml());
    let _guard = DaemonGuard(home.path().to_path_buf());
    let started = cli_of(Some(OLD_BUILD), home.path(), &["daemon", "start"]);
    assert!(started.status.success(), "{started:?}");
    let pid = daemon_pid(home.path()).unwrap();
    let says_so = |what: &str, text: &str| {
        assert!(
            text.contains(OLD_BUILD)
                && text.contains("started by hand")
                && text.contains("claude-comms daemon stop && claude-comms daemon start"),
            "{what}: {text}"
        );
    };
    // Every command, a read as well as a send, says so on stderr.
    let listed = cli(home.path(), &["conversations", "list"]);
    assert!(listed.status.success());
    says_so(
        "conversations list",
        &String::from_utf8_lossy(&listed.stderr),
    );
    let sent = send(None, home.path(), &[], "[[brief]] still served");
    assert_eq!(json_of(&sent)["status"], "delivered");
    says_so("send", &String::from_utf8_lossy(&sent.stderr));
    assert_eq!(daemon_pid(home.path()), Some(pid), "never replaced");
    let status = json_of(&cli(home.path(), &["--json", "daemon", "status"]));
    assert_eq!(status["daemon"]["build"], OLD_BUILD);
    says_so(
        "daemon status",
        status["daemon"]["other_build"].as_str().unwrap(),
    );
    let doctor = json_of_any(&cli(home.path(), &["--json", "doctor", "--no-start"]));
    let check = doctor
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "daemon")
        .expect("doctor checks the daemon")
        .clone();
    assert_eq!(check["status"], "warning", "{check}");
    says_so(
        "doctor",
        &format!("{} {}", check["detail"], check["fix"].as_str().unwrap()),
    );

    // After the fix: nothing more to say.
    assert!(cli(home.path(), &["daemon", "stop"]).status.success());
    assert!(cli(home.path(), &["daemon", "start"]).status.success());
    let listed = cli(home.path(), &["conversations", "list"]);
    assert!(
        listed.status.success() && listed.stderr.is_empty(),
        "{listed:?}"
    );
    let doctor = json_of_any(&cli(home.path(), &["--json", "doctor", "--no-start"]));
    let check = doctor
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "daemon")
        .cloned()
        .unwrap();
    assert_eq!(check["status"], "ok", "{check}");
}

/// Another install (a copy of the binary elsewhere: another build) started
/// the daemon on demand. This program is not the build installed where that
/// daemon's executable is, so it does not replace it (two installs would
/// otherwise take turns replacing each other's daemon): it uses it and says so.
#[test]
fn a_client_of_another_install_leaves_an_on_demand_daemon_alone_and_says_so() {
    let home = common::home_with(&common::fake_child_toml());
    let _guard = DaemonGuard(home.path().to_path_buf());
    let install = tempfile::tempdir().unwrap();
    let other = install.path().join("claude-comms");
    std::fs::copy(env!("CARGO_BIN_EXE_claude-comms"), &other).unwrap();
    let mut args = vec!["--json", "send", "--from", "marker", "--to", "arangodb"];
    args.push("[[brief]] from the other install");
    assert_eq!(
        json_of(&cli_at(&other, None, home.path(), &args))["status"],
        "delivered"
    );
    let pid = daemon_pid(home.path()).expect("the other install's daemon runs");
    assert_eq!(daemon_state(home.path())["on_demand"], true);
    let sent = send(None, home.path(), &[], "[[brief]] from this build");
    assert_eq!(json_of(&sent)["status"], "delivered");
    assert_eq!(daemon_pid(home.path()), Some(pid), "not replaced");
    let stderr = String::from_utf8_lossy(&sent.stderr);
    assert!(
        stderr.contains(&other.display().to_string())
            && stderr.contains("not this program")
            && stderr.contains("claude-comms daemon stop"),
        "{stderr}"
    );
}
