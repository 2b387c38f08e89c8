//! The CLI with the daemon policy `auto`, for the daemon's tests: run a
//! command, read its JSON, find the daemon's pid, and stop the daemon when
//! a test ends (also when it fails).

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

/// Runs `claude-comms` against `home` with the daemon policy `auto`.
pub fn cli(home: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_claude-comms"))
        .args(args)
        .env("CLAUDE_COMMS_HOME", home)
        .env("CLAUDE_COMMS_HUB", "auto")
        .env_remove("CLAUDE_COMMS_CONFIG")
        .env_remove("CLAUDE_COMMS_MODULE")
        .env_remove("CLAUDE_COMMS_HOP")
        .env_remove("CLAUDE_COMMS_CHAIN")
        .env_remove("RUST_LOG")
        .output()
        .expect("claude-comms runs")
}

/// The JSON a successful `--json` command printed.
pub fn json_of(output: &Output) -> Value {
    assert!(
        output.status.success(),
        "exit {:?}: {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    json_of_any(output)
}

/// The JSON a `--json` command printed, whatever its exit code.
pub fn json_of_any(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout).expect("--json prints JSON")
}

/// The running daemon's pid, if one runs for `home`.
pub fn daemon_pid(home: &Path) -> Option<u32> {
    let status = json_of_any(&cli(home, &["--json", "daemon", "status"]));
    status["daemon"]["pid"].as_u64().map(|p| p as u32)
}

/// Stops the home's daemon when dropped.
pub struct DaemonGuard(pub PathBuf);

impl Drop for DaemonGuard {
    fn drop(&mut self) {
        let _ = cli(&self.0, &["daemon", "stop"]);
    }
}
