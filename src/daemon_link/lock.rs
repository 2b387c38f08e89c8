//! The lock that makes a daemon the only one of its data dir.

use nix::fcntl::{Flock, FlockArg};

use super::{DaemonInfo, DaemonPaths, LinkError};

/// The exit code of `daemon run` when another daemon holds the data dir's
/// lock (EX_TEMPFAIL): a starter tells it from a daemon that failed.
pub const LOCK_HELD_EXIT: i32 = 75;

/// Another daemon holds the data dir's lock.
#[derive(Debug, thiserror::Error)]
#[error(
    "a claude-comms daemon already runs for this data dir{holder}; `claude-comms daemon stop` stops it ({errno})"
)]
pub struct LockHeld {
    holder: String,
    errno: nix::errno::Errno,
}

/// The lock that makes a daemon the only one of its data dir. Held until
/// dropped (or the process dies: the kernel releases it, so a crash leaves
/// no stale lock).
pub struct DaemonLock {
    _lock: Flock<std::fs::File>,
}

impl DaemonLock {
    /// Takes the lock, or says which daemon holds it.
    pub fn take(paths: &DaemonPaths) -> Result<DaemonLock, LinkError> {
        if let Some(parent) = paths.lock.parent() {
            std::fs::create_dir_all(parent).map_err(|e| {
                LinkError::io(
                    format!("cannot create the data dir {}", parent.display()),
                    e,
                )
            })?;
        }
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&paths.lock)
            .map_err(|e| {
                LinkError::io(
                    format!("cannot open the daemon lock {}", paths.lock.display()),
                    e,
                )
            })?;
        match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
            Ok(lock) => Ok(DaemonLock { _lock: lock }),
            Err((_, errno)) => {
                let holder = DaemonInfo::read(&paths.state)
                    .map(|i| format!(" (pid {}, socket {})", i.pid, i.socket))
                    .unwrap_or_default();
                Err(LockHeld { holder, errno }.into())
            }
        }
    }

    /// Whether some process holds the lock now.
    pub fn is_held(paths: &DaemonPaths) -> bool {
        let Ok(file) = std::fs::OpenOptions::new().write(true).open(&paths.lock) else {
            return false;
        };
        Flock::lock(file, FlockArg::LockExclusiveNonblock).is_err()
    }
}
