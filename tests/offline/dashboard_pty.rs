//! `claude-comms monitor` as a person sees it: run under a real
//! pseudo-terminal (80x24) next to another process that holds an instance
//! of the fake child, read the screen, press keys. And in a pipe, where it
//! prints plain lines.

use crate::common;

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use portable_pty::{CommandBuilder, PtySize, native_pty_system};

const BIN: &str = env!("CARGO_BIN_EXE_claude-comms");
const DEADLINE: Duration = Duration::from_secs(20);

/// `claude-comms instances start` in the background: a process that holds
/// one instance until interrupted. Returns it and the instance id.
fn holder(home: &Path) -> (Child, String) {
    let mut child = Command::new(BIN)
        .args(["instances", "start"])
        .env("CLAUDE_COMMS_HOME", home)
        .env_remove("CLAUDE_COMMS_CONFIG")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    stdout.read_line(&mut line).unwrap();
    // It prints its instance's events; keep reading so it never meets a
    // closed pipe.
    std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
    // "started mcp-xxxx-1 (pid N); Ctrl-C stops it"
    let id = line
        .split_whitespace()
        .nth(1)
        .unwrap_or_else(|| panic!("no instance started: {line:?}"))
        .to_string();
    (child, id)
}

fn interrupt(mut child: Child) {
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    );
    let deadline = Instant::now() + DEADLINE;
    while Instant::now() < deadline {
        if child.try_wait().unwrap().is_some() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// The screen of a program running in a pseudo-terminal.
struct Screen {
    parser: Arc<Mutex<vt100::Parser>>,
}

impl Screen {
    fn text(&self) -> String {
        self.parser.lock().unwrap().screen().contents()
    }

    /// Waits until `check` holds for the screen's text.
    fn wait_for(&self, what: &str, check: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + DEADLINE;
        loop {
            let text = self.text();
            if check(&text) {
                return text;
            }
            assert!(
                Instant::now() < deadline,
                "the screen never showed {what}:\n{text}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

#[test]
fn the_dashboard_shows_a_live_instance_follows_it_and_obeys_its_keys() {
    let home = common::home_with(&common::fake_child_toml());
    let (holder, id) = holder(home.path());

    let pty = native_pty_system();
    let pair = pty
        .openpty(PtySize {
            rows: 24,
            cols: 80,
            pixel_width: 0,
            pixel_height: 0,
        })
        .unwrap();
    let mut command = CommandBuilder::new(BIN);
    command.arg("monitor");
    command.env("CLAUDE_COMMS_HOME", home.path());
    command.env("TERM", "xterm-256color");
    command.env_remove("CLAUDE_COMMS_CONFIG");
    let mut monitor = pair.slave.spawn_command(command).unwrap();
    drop(pair.slave);
    let parser = Arc::new(Mutex::new(vt100::Parser::new(24, 80, 0)));
    {
        let parser = parser.clone();
        let mut reader = pair.master.try_clone_reader().unwrap();
        std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                parser.lock().unwrap().process(&buf[..n]);
            }
        });
    }
    let mut keys = pair.master.take_writer().unwrap();
    let screen = Screen {
        parser: parser.clone(),
    };

    // The whole frame (it reaches the terminal in pieces).
    let text = screen.wait_for("the instance, ready", |t| {
        t.lines().any(|l| l.contains(&id) && l.contains("ready")) && t.contains("Messages")
    });
    assert!(
        text.contains("Instances") && text.contains("Messages"),
        "{text}"
    );
    assert!(
        parser.lock().unwrap().screen().alternate_screen(),
        "full screen"
    );

    keys.write_all(b"\r").unwrap();
    screen.wait_for("the followed instance's output", |t| {
        t.contains(&format!("Output of {id}")) && t.contains("state")
    });

    keys.write_all(b"p").unwrap();
    screen.wait_for("the instance paused (by its owning process)", |t| {
        t.lines().any(|l| l.contains(&id) && l.contains("paused"))
    });
    keys.write_all(b"p").unwrap();
    screen.wait_for("the instance ready again", |t| {
        t.lines().any(|l| l.contains(&id) && l.contains("ready"))
    });

    keys.write_all(b"r").unwrap();

    let deadline = Instant::now() + DEADLINE;
    loop {
        let listed = Command::new(BIN)
            .args(["instances", "list", "--json"])
            .env("CLAUDE_COMMS_HOME", home.path())
            .env_remove("CLAUDE_COMMS_CONFIG")
            .output()
            .unwrap();
        let rows: serde_json::Value = serde_json::from_slice(&listed.stdout).unwrap();
        assert!(rows[0]["instance"]["started_at"].is_i64(), "{rows}");
        assert!(rows[0]["uptime_s"].is_u64(), "{rows}");
        if rows[0]["instance"]["restarts"] == 1 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the restart was not counted: {rows}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }

    keys.write_all(b"?").unwrap();
    screen.wait_for("the help", |t| {
        t.contains("Keys") && t.contains("restart it")
    });
    keys.write_all(b" ").unwrap();

    keys.write_all(b"s").unwrap();
    // The owner acts within a second; its answer may take longer on a
    // loaded machine, so what is checked is what the screen shows of it.
    screen.wait_for("the instance gone once stopped", |t| {
        t.contains("no instances") && t.contains("stopped")
    });

    keys.write_all(b"q").unwrap();
    let deadline = Instant::now() + DEADLINE;
    let status = loop {
        if let Some(status) = monitor.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "q did not quit:\n{}",
            screen.text()
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status:?}");
    screen.wait_for("the terminal restored", |_| {
        !parser.lock().unwrap().screen().alternate_screen()
    });
    interrupt(holder);
}

#[test]
fn in_a_pipe_the_monitor_prints_plain_lines() {
    let home = common::home_with(&common::fake_child_toml());
    let (holder, id) = holder(home.path());
    let mut monitor = Command::new(BIN)
        .arg("monitor")
        .env("CLAUDE_COMMS_HOME", home.path())
        .env_remove("CLAUDE_COMMS_CONFIG")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let (lines_tx, lines) = std::sync::mpsc::channel();
    let stdout = monitor.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if lines_tx.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + DEADLINE;
    let line = loop {
        let line = lines
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .expect("a line about the instance");
        if line.starts_with(&format!("instance {id} ")) {
            break line;
        }
    };
    assert!(line.contains("claude-code-mcp ready pid="), "{line}");
    assert!(
        !line.contains('\u{1b}'),
        "no terminal escapes in a pipe: {line:?}"
    );
    interrupt(monitor);
    interrupt(holder);
}
