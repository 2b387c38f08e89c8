//! `claude-comms serve` as a child process, spoken to in raw JSON-RPC over
//! its stdin/stdout the way a host does.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::{Value, json};

pub struct Server {
    pub child: std::process::Child,
    pub stdin: Option<std::process::ChildStdin>,
    stdout: BufReader<std::process::ChildStdout>,
}

impl Server {
    pub fn start(home: &Path) -> Server {
        Server::start_with(home, &[])
    }

    /// Starts `serve` with its data under `home` and extra environment.
    pub fn start_with(home: &Path, env: &[(&str, &str)]) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_claude-comms"))
            .arg("serve")
            .env("CLAUDE_COMMS_HOME", home)
            .env("CLAUDE_COMMS_HUB", "embedded")
            .env_remove("CLAUDE_COMMS_CONFIG")
            .env_remove("CLAUDE_COMMS_HOP")
            .env_remove("CLAUDE_COMMS_CHAIN")
            .env("RUST_LOG", "warn")
            .envs(env.iter().copied())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("claude-comms starts");
        let stdin = child.stdin.take();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        Server {
            child,
            stdin,
            stdout,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn send_raw(&mut self, line: &[u8]) {
        let stdin = self.stdin.as_mut().unwrap();
        stdin.write_all(line).unwrap();
        stdin.write_all(b"\n").unwrap();
        stdin.flush().unwrap();
    }

    pub fn send(&mut self, value: Value) {
        self.send_raw(value.to_string().as_bytes());
    }

    /// Reads the next frame; every stdout line must be a JSON-RPC frame.
    pub fn next(&mut self) -> Value {
        let mut line = String::new();
        self.stdout.read_line(&mut line).unwrap();
        assert!(!line.is_empty(), "server closed stdout");
        serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("stdout line is not JSON ({e}): {line:?}"))
    }

    /// Sends a request and returns its response, skipping notifications.
    pub fn request(&mut self, id: i64, method: &str, params: Value) -> Value {
        self.send(json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        loop {
            let frame = self.next();
            if frame.get("id").is_some() || frame.get("method").is_none() {
                assert_eq!(frame["id"], id, "{frame}");
                return frame;
            }
        }
    }

    /// `initialize` + `notifications/initialized`.
    pub fn initialize(&mut self) -> Value {
        let init = self.request(
            0,
            "initialize",
            json!({"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "raw", "version": "0"}}),
        );
        self.send(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
        init
    }

    /// Calls a tool and returns the `result` object (panics on a JSON-RPC error).
    pub fn call_tool(&mut self, id: i64, name: &str, arguments: Value) -> Value {
        let reply = self.request(
            id,
            "tools/call",
            json!({"name": name, "arguments": arguments}),
        );
        assert!(reply.get("error").is_none(), "{reply}");
        reply["result"].clone()
    }

    /// Closes stdin and waits for the exit status.
    pub fn finish(mut self) -> std::process::ExitStatus {
        drop(self.stdin.take());
        self.child.wait().unwrap()
    }
}

/// The pids of every process whose parent is `pid`, recursively.
pub fn descendants(pid: u32) -> Vec<u32> {
    let mut found = Vec::new();
    let mut frontier = vec![pid];
    while let Some(parent) = frontier.pop() {
        let Ok(entries) = std::fs::read_dir("/proc") else {
            break;
        };
        for entry in entries.flatten() {
            let Some(child) = entry
                .file_name()
                .to_str()
                .and_then(|s| s.parse::<u32>().ok())
            else {
                continue;
            };
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{child}/stat")) else {
                continue;
            };
            // Field 4 (after the parenthesised command name) is the parent pid.
            let after = stat.rsplit_once(')').map(|(_, rest)| rest).unwrap_or("");
            if after
                .split_whitespace()
                .nth(1)
                .and_then(|p| p.parse::<u32>().ok())
                == Some(parent)
            {
                found.push(child);
                frontier.push(child);
            }
        }
    }
    found
}

/// Whether a process is still running. A zombie is not: it has exited and
/// holds nothing but its table entry. That matters because the test binary
/// runs in-process hubs, which make it a child subreaper, so a detached
/// daemon or a `serve`'s orphan that exits becomes a zombie of the test
/// process, which does not reap what it did not start; the product's own
/// reaping of its children is checked where the product is the parent
/// (instances_fake counts a zombie child as left behind).
pub fn process_exists(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => {
            let state = stat
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().next());
            !matches!(state, Some("Z" | "X"))
        }
        Err(_) => Path::new(&format!("/proc/{pid}")).exists(),
    }
}
