//! What the writer thread does between batches, off the path of every
//! write that waits: it brings the search index up to date with the
//! messages stored since it last did (see `search.rs`), and checkpoints the
//! WAL so that it stays short.
//!
//! Both run when enough commits have gathered (the writer's own and those
//! made on its connection by other threads) and no write is waiting, or
//! after a second without writes; a write that arrives meanwhile waits for
//! them only once they are overdue (under writes that never pause). This
//! is the store's only checkpointer: SQLite's automatic one is off, as it
//! ran inside the commit that crossed its threshold.

use std::sync::mpsc;
use std::time::Duration;

use rusqlite::{Connection, TransactionBehavior};

use super::group_commit::{Job, Work};

/// Commits after which the search index catches up: its new rows go in as
/// one FTS5 segment instead of one per message.
const INDEX_AFTER_COMMITS: u32 = 32;

/// Commits between two checkpoints: at about 15 WAL frames a commit, a WAL
/// of about 16 MB at most.
const CHECKPOINT_AFTER_COMMITS: u32 = 256;

/// How many times the usual number of commits may gather while writes keep
/// coming before the upkeep runs anyway.
const OVERDUE_FACTOR: u32 = 4;

/// Quiet time after which whatever is pending is done.
const IDLE: Duration = Duration::from_secs(1);

pub(super) struct Upkeep {
    since_indexed: u32,
    since_checkpoint: u32,
}

/// What waiting for the next write gave.
pub(super) enum Waited {
    Job(Job),
    /// Upkeep to do now: due after commits made elsewhere, or (`idle`)
    /// pending and nothing came for [`IDLE`].
    Upkeep {
        idle: bool,
    },
    /// The store was dropped.
    Stopped,
}

impl Upkeep {
    /// A checkpoint is pending from the start: a WAL an earlier process
    /// left is folded back after the first quiet second.
    pub(super) fn new() -> Upkeep {
        Upkeep {
            since_indexed: 0,
            since_checkpoint: 1,
        }
    }

    /// The next write; with upkeep pending, gives up after [`IDLE`].
    pub(super) fn wait_for(&mut self, queue: &mpsc::Receiver<Work>) -> Waited {
        loop {
            let work = if self.since_indexed == 0 && self.since_checkpoint == 0 {
                queue
                    .recv()
                    .map_err(|_| mpsc::RecvTimeoutError::Disconnected)
            } else {
                queue.recv_timeout(IDLE)
            };
            match work {
                Ok(Work::Write(job)) => return Waited::Job(job),
                Ok(Work::CommittedElsewhere) => {
                    self.committed();
                    if self.due() {
                        return Waited::Upkeep { idle: false };
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => return Waited::Upkeep { idle: true },
                Err(mpsc::RecvTimeoutError::Disconnected) => return Waited::Stopped,
            }
        }
    }

    /// A write that is already waiting, if any (commits made elsewhere
    /// are counted on the way).
    pub(super) fn take_waiting(&mut self, queue: &mpsc::Receiver<Work>) -> Option<Job> {
        loop {
            match queue.try_recv().ok()? {
                Work::Write(job) => return Some(job),
                Work::CommittedElsewhere => self.committed(),
            }
        }
    }

    pub(super) fn committed(&mut self) {
        self.since_indexed += 1;
        self.since_checkpoint += 1;
    }

    pub(super) fn due(&self) -> bool {
        self.since_indexed >= INDEX_AFTER_COMMITS
            || self.since_checkpoint >= CHECKPOINT_AFTER_COMMITS
    }

    pub(super) fn overdue(&self) -> bool {
        self.since_indexed >= OVERDUE_FACTOR * INDEX_AFTER_COMMITS
            || self.since_checkpoint >= OVERDUE_FACTOR * CHECKPOINT_AFTER_COMMITS
    }

    /// Does what is due, or (`idle`) everything pending.
    pub(super) fn run(&mut self, conn: &mut Connection, idle: bool) {
        if self.since_indexed >= INDEX_AFTER_COMMITS || (idle && self.since_indexed > 0) {
            self.index(conn);
        }
        if self.since_checkpoint >= CHECKPOINT_AFTER_COMMITS || (idle && self.since_checkpoint > 0)
        {
            self.checkpoint(conn);
        }
    }

    fn index(&mut self, conn: &mut Connection) {
        let indexed = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(super::StoreError::from)
            .and_then(|tx| {
                super::search::index_pending(&tx)?;
                tx.commit()?;
                Ok(())
            });
        match indexed {
            Ok(()) => self.since_indexed = 0,
            // Searches catch up on their own: nothing is lost by waiting.
            Err(e) => tracing::debug!(error = %e, "search index not brought up to date"),
        }
    }

    /// A checkpoint on another connection never catches up while writes
    /// keep coming (frames committed during it stay behind), so SQLite
    /// never starts the WAL over and it grows without end (134 MB a minute
    /// under the benchmark's writes). Here the only writer checkpoints
    /// between its own batches, so everything committed is copied back,
    /// and the next transaction starts the WAL from its beginning
    /// (overwriting pages instead of growing the file).
    fn checkpoint(&mut self, conn: &Connection) {
        match conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
            Ok((r.get::<_, i64>(1)?, r.get::<_, i64>(2)?))
        }) {
            Ok((log, copied)) if log == copied => self.since_checkpoint = 0,
            // A reader still needs frames: try again a while later.
            Ok(_) => self.since_checkpoint = CHECKPOINT_AFTER_COMMITS / 2,
            Err(e) => tracing::debug!(error = %e, "WAL checkpoint skipped"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commits_made_elsewhere_make_the_upkeep_due_and_writes_still_come_first() {
        let (send, queue) = mpsc::channel::<Work>();
        let mut upkeep = Upkeep {
            since_indexed: 0,
            since_checkpoint: 0,
        };
        for _ in 0..INDEX_AFTER_COMMITS {
            send.send(Work::CommittedElsewhere).unwrap();
        }
        assert!(matches!(
            upkeep.wait_for(&queue),
            Waited::Upkeep { idle: false }
        ));
        send.send(Work::CommittedElsewhere).unwrap();
        send.send(Work::Write(Box::new(|_| (true, Box::new(|_| ())))))
            .unwrap();
        assert!(upkeep.take_waiting(&queue).is_some());
        assert_eq!(upkeep.since_indexed, INDEX_AFTER_COMMITS + 1);
        drop(send);
        assert!(upkeep.take_waiting(&queue).is_none());
    }

    #[test]
    fn an_idle_upkeep_folds_the_whole_wal_back() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = Connection::open(dir.path().join("t.db")).unwrap();
        conn.pragma_update(None, "journal_mode", "WAL").unwrap();
        conn.pragma_update(None, "wal_autocheckpoint", 0).unwrap();
        conn.execute_batch("CREATE TABLE t (x); INSERT INTO t VALUES (1), (2);")
            .unwrap();
        // (busy, frames in the WAL, frames copied back) after a no-op
        // checkpoint: the frames of the writes above, none copied yet.
        let frames = |conn: &Connection| {
            conn.query_row("PRAGMA wal_checkpoint(NOOP)", [], |r| {
                Ok((r.get::<_, i64>(1)?, r.get::<_, i64>(2)?))
            })
            .unwrap()
        };
        let (log, copied) = frames(&conn);
        assert!(log > copied, "{log} frames, {copied} copied");
        let mut upkeep = Upkeep::new();
        upkeep.run(&mut conn, true);
        let (log, copied) = frames(&conn);
        assert_eq!(log, copied);
        assert_eq!(upkeep.since_checkpoint, 0);
    }
}
