//! What the writer thread does between batches, off the path of every
//! write that waits: it brings the search index up to date with the
//! messages stored since it last did (see `search.rs`), and checkpoints the
//! WAL so that it stays short.
//!
//! Both run when enough commits have gathered and no write is waiting, or
//! after a second without writes; a write that arrives meanwhile waits for
//! them only once they are overdue (under writes that never pause).

use std::sync::mpsc;
use std::time::Duration;

use rusqlite::{Connection, TransactionBehavior};

use super::group_commit::Job;

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

#[derive(Default)]
pub(super) struct Upkeep {
    since_indexed: u32,
    since_checkpoint: u32,
}

/// What waiting for the next write gave.
pub(super) enum Waited {
    Job(Job),
    /// Nothing came for [`IDLE`] while upkeep was pending.
    Idle,
    /// The store was dropped.
    Stopped,
}

impl Upkeep {
    /// The next write; with upkeep pending, gives up after [`IDLE`].
    pub(super) fn wait_for(&self, queue: &mpsc::Receiver<Job>) -> Waited {
        if self.since_indexed == 0 && self.since_checkpoint == 0 {
            return queue.recv().map_or(Waited::Stopped, Waited::Job);
        }
        match queue.recv_timeout(IDLE) {
            Ok(job) => Waited::Job(job),
            Err(mpsc::RecvTimeoutError::Timeout) => Waited::Idle,
            Err(mpsc::RecvTimeoutError::Disconnected) => Waited::Stopped,
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
