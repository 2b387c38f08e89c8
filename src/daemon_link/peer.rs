//! Which process serves a daemon socket, and whether it still runs.
//!
//! A client learns the daemon's pid from the socket itself (the kernel's
//! peer credentials are those of the process that listens), so it holds for
//! every `hub` policy, also a socket of another data dir. The process's
//! start time is kept with the pid: a pid reused by another process after
//! the daemon died does not pass for the daemon.

use std::path::Path;
use std::time::Duration;

/// How often a call in flight checks that its daemon still runs.
const WATCH_INTERVAL: Duration = Duration::from_millis(100);

/// The process behind a daemon socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DaemonProcess {
    pub pid: u32,
    /// When it started (clock ticks since boot, /proc/PID/stat field 22);
    /// `None` where /proc is missing.
    started: Option<u64>,
}

impl DaemonProcess {
    /// The process listening on `socket`, if one accepts a connection.
    pub async fn behind(socket: &Path) -> Option<DaemonProcess> {
        let stream = tokio::net::UnixStream::connect(socket).await.ok()?;
        let pid = u32::try_from(stream.peer_cred().ok()?.pid()?).ok()?;
        Some(DaemonProcess {
            pid,
            started: start_ticks(pid),
        })
    }

    /// Whether this very process still runs (not a zombie, not a new
    /// process that got its pid).
    pub fn is_alive(&self) -> bool {
        crate::host::pid_exists(self.pid) && start_ticks(self.pid) == self.started
    }

    /// Returns once the process has exited.
    pub async fn exited(&self) {
        while self.is_alive() {
            tokio::time::sleep(WATCH_INTERVAL).await;
        }
    }
}

/// The start time of `pid` from /proc (Linux); `None` elsewhere.
fn start_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces and parentheses: count
    // the fields after its closing parenthesis.
    let after_name = &stat[stat.rfind(')')? + 1..];
    // Field 3 (state) is the first after the name; field 22 is 19 further.
    after_name.split_whitespace().nth(19)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_has_a_start_time_that_does_not_change() {
        let me = std::process::id();
        let first = start_ticks(me);
        assert!(first.is_some());
        assert_eq!(start_ticks(me), first);
        let process = DaemonProcess {
            pid: me,
            started: first,
        };
        assert!(process.is_alive());
        let reused = DaemonProcess {
            pid: me,
            started: first.map(|t| t + 1),
        };
        assert!(!reused.is_alive(), "another start time is another process");
    }
}
