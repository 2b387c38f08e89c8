//! Background WAL checkpoints. SQLite's automatic checkpoint runs inside the
//! commit that crosses the threshold, which made that one commit take
//! milliseconds; here a thread with its own connection runs a PASSIVE
//! checkpoint (which never blocks writers or readers) every so often. It
//! keeps up with writes made outside the writer thread; under the writer's
//! steady writes it falls behind, and the writer checkpoints between its
//! batches instead (`upkeep.rs`).

use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

use rusqlite::Connection;

pub(super) struct Checkpointer {
    /// Dropping the sender wakes and ends the thread.
    _stop: mpsc::Sender<()>,
}

impl Checkpointer {
    /// Starts the thread, or returns `None` (after a warning) if it cannot
    /// open its connection: then the WAL is checkpointed when the last
    /// connection closes, which is correct, only slower to reclaim space.
    pub fn start(path: &Path, every: Duration) -> Option<Checkpointer> {
        let conn = match Connection::open(path) {
            Ok(conn) => conn,
            Err(e) => {
                tracing::warn!(error = %e, "cannot start the WAL checkpointer");
                return None;
            }
        };
        let _ = conn.busy_timeout(super::BUSY_TIMEOUT);
        let (stop, stopped) = mpsc::channel::<()>();
        let spawned = std::thread::Builder::new()
            .name("sqlite-checkpoint".into())
            .spawn(move || {
                while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(every) {
                    if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
                    {
                        tracing::debug!(error = %e, "WAL checkpoint skipped");
                    }
                }
            });
        match spawned {
            Ok(_) => Some(Checkpointer { _stop: stop }),
            Err(e) => {
                tracing::warn!(error = %e, "cannot start the WAL checkpointer");
                None
            }
        }
    }
}
