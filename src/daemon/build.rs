//! Which build of claude-comms a process is, so that a client and a daemon
//! of different builds notice each other. After an upgrade, a daemon of the
//! old build may still run: one started on demand is asked to make way once
//! it is idle (SIGUSR1), one started by hand is reported, with the fix, by
//! every command, `daemon status` and `doctor`.
//!
//! The build id is the identity of the running executable (its size and
//! modification time, hashed), computed once per process: installing a new
//! binary changes it, rebuilding the same sources too. Tests pose as
//! another build with `CLAUDE_COMMS_POSE_AS_BUILD`, which only debug builds
//! read, so a release binary always tells the truth about itself.

use std::hash::{Hash, Hasher};
use std::sync::OnceLock;

use super::{DaemonInfo, DaemonPaths, run::DaemonLock};

/// Debug builds only: the build id this process claims (tests).
pub const POSE_ENV: &str = "CLAUDE_COMMS_POSE_AS_BUILD";

/// This program's version.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// This process's build id.
pub fn build_id() -> &'static str {
    static ID: OnceLock<String> = OnceLock::new();
    ID.get_or_init(|| {
        #[cfg(debug_assertions)]
        if let Ok(posed) = std::env::var(POSE_ENV)
            && !posed.is_empty()
        {
            return posed;
        }
        executable_identity().unwrap_or_else(|| "unknown".into())
    })
}

fn executable_identity() -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(std::env::current_exe().ok()?).ok()?;
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    (meta.len(), meta.mtime(), meta.mtime_nsec()).hash(&mut hasher);
    Some(format!("{:016x}", hasher.finish()))
}

/// Whether the daemon described by `info` is another version or build.
pub fn is_other_build(info: &DaemonInfo) -> bool {
    info.version != VERSION || info.build != build_id()
}

/// The running daemon of these paths, when it is of another build.
pub fn other_build_daemon(paths: &DaemonPaths) -> Option<DaemonInfo> {
    if !DaemonLock::is_held(paths) {
        return None;
    }
    DaemonInfo::read(&paths.state).filter(is_other_build)
}

/// What to tell the user about a daemon of another build, with the fix.
pub fn note(info: &DaemonInfo) -> String {
    format!("{}; {}", describe(info), fix(info))
}

/// Which daemon runs, and which build this program is.
pub fn describe(info: &DaemonInfo) -> String {
    let build = if info.build.is_empty() {
        "unknown"
    } else {
        &info.build
    };
    format!(
        "the claude-comms daemon (pid {}) is version {} build {build}, and this program is version {VERSION} build {}",
        info.pid,
        info.version,
        build_id()
    )
}

/// What happens to a daemon of another build, and what to do.
pub fn fix(info: &DaemonInfo) -> String {
    if info.on_demand {
        "it was started on demand and makes way for this build once it is idle (`claude-comms daemon stop` ends it now)".into()
    } else {
        "it was started by hand and keeps running: restart it to use this build (`claude-comms daemon stop && claude-comms daemon start`, or restart its service)".into()
    }
}
