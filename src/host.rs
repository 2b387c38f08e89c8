//! This machine: its name and which processes are alive on it. What every
//! store backend needs to tell a dead server's leftovers from a live one's
//! work, what the daemon link needs to tell a live daemon, and what names a
//! fleet node by default. A leaf: it imports nothing of this crate.

/// This machine's name, to tell whether a server's pid can be checked here.
pub fn this_hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_string())
}

/// Whether a process with this pid is alive on this host (signal 0 checks
/// without sending anything; a pid of another user's process counts). A
/// zombie is not alive: it has exited and only waits for its parent to
/// collect it, which a parent that never does (a long-lived process that
/// started the daemon, a subreaper) may put off forever; counting it alive
/// would keep a dead daemon's jobs pending and `daemon stop` waiting.
pub(crate) fn pid_exists(pid: u32) -> bool {
    use nix::errno::Errno;
    let signalable = match nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid as i32), None) {
        Ok(()) | Err(Errno::EPERM) => pid > 0,
        Err(_) => false,
    };
    signalable && !is_zombie(pid)
}

/// Whether `pid` is a zombie (Linux /proc; elsewhere never).
fn is_zombie(pid: u32) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    // The state follows the command name, which is in parentheses and may
    // itself hold spaces or parentheses.
    let state = stat
        .rsplit_once(')')
        .and_then(|(_, rest)| rest.split_whitespace().next());
    matches!(state, Some("Z" | "X"))
}
