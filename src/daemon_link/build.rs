//! Which build of claude-comms a process is, so that a client and a daemon
//! of different builds notice each other. After an upgrade, a daemon of the
//! old build may still run: one started on demand is asked to make way once
//! it is idle (SIGUSR1), one started by hand is reported, with the fix, by
//! every command, `daemon status` and `doctor`.
//!
//! Only a client that is the build now installed where the daemon's
//! executable was (an upgrade in place) replaces it: a client still running
//! the old build (a `serve` started before the upgrade) or another install
//! is told, not obeyed, so two builds never take turns replacing each
//! other's daemon.
//!
//! The build id is the identity of the running executable (its size and
//! modification time, hashed), computed once per process: installing a new
//! binary changes it, rebuilding the same sources too. Tests pose as
//! another build with `CLAUDE_COMMS_POSE_AS_BUILD`, which only debug builds
//! read, so a release binary always tells the truth about itself.

use std::hash::{Hash, Hasher};
use std::sync::OnceLock;

use super::lock::DaemonLock;
use super::{DaemonInfo, DaemonPaths};

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
    identity_of(&std::env::current_exe().ok()?)
}

/// The build id of the executable at `path` now.
fn identity_of(path: &std::path::Path) -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(path).ok()?;
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    (meta.len(), meta.mtime(), meta.mtime_nsec()).hash(&mut hasher);
    Some(format!("{:016x}", hasher.finish()))
}

/// Whether the daemon described by `info` is another version or build.
pub fn is_other_build(info: &DaemonInfo) -> bool {
    info.version != VERSION || info.build != build_id()
}

/// Whether this program may replace the daemon `info` (of another build):
/// it was started on demand, and this program is the build now installed
/// at the daemon's executable's path.
pub fn may_replace(info: &DaemonInfo) -> bool {
    info.on_demand
        && info
            .exe
            .as_deref()
            .and_then(|exe| identity_of(std::path::Path::new(exe)))
            .is_some_and(|installed| installed == executable_identity_or_unknown())
}

/// This executable's real identity (posing aside: the file is what it is).
fn executable_identity_or_unknown() -> String {
    executable_identity().unwrap_or_else(|| "unknown".into())
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
    if may_replace(info) {
        "it was started on demand and makes way for this build once it is idle (`claude-comms daemon stop` ends it now)".into()
    } else if info.on_demand {
        format!(
            "it runs {}, which is not this program, so it is not replaced from here: it stops after {} s without work, or `claude-comms daemon stop` ends it now",
            info.exe.as_deref().unwrap_or("another executable"),
            info.idle_exit_s
        )
    } else {
        "it was started by hand and keeps running: restart it to use this build (`claude-comms daemon stop && claude-comms daemon start`, or restart its service)".into()
    }
}
