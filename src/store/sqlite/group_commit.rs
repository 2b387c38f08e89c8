//! Group commit: the queries and replies of concurrent senders are written
//! in one transaction. One writer thread takes every write that is waiting
//! when it is free, runs each in its own savepoint (so one write's error
//! undoes only that write), commits once, and only then tells each caller
//! its result: nothing is acknowledged before its commit.
//!
//! The batching is internal to this SQLite store; the store's API stays one
//! call per operation, which another store (PostgreSQL) can implement with
//! or without batching.

use std::sync::{Arc, Mutex, mpsc};

use rusqlite::{Connection, Transaction, TransactionBehavior};

use super::upkeep::{Upkeep, Waited};
use super::{Result, StoreError};

/// Most writes folded into one transaction: enough to absorb a burst of
/// concurrent senders, few enough that one commit stays short.
const MAX_BATCH: usize = 64;

/// Told after the commit whether it succeeded.
type Finish = Box<dyn FnOnce(Option<&rusqlite::Error>) + Send>;
/// A write: runs in the batch's transaction, says whether it succeeded.
pub(super) type Job = Box<dyn FnOnce(&Transaction<'_>) -> (bool, Finish) + Send>;

/// What the writer thread is sent.
pub(super) enum Work {
    /// A write for the next batch.
    Write(Job),
    /// A commit made on the same connection outside the writer thread
    /// ([`super::SqliteStore`]'s one-at-a-time writes): counted by the
    /// upkeep, which so covers every write of this store.
    CommittedElsewhere,
}

pub(super) struct GroupCommit {
    /// Dropping the sender ends the thread once the queue is empty.
    jobs: Mutex<mpsc::Sender<Work>>,
}

impl GroupCommit {
    /// Starts the writer thread on `conn` (shared with the store's other,
    /// one-at-a-time writes, which take the same lock and report their
    /// commits with [`GroupCommit::committed_elsewhere`]).
    pub fn start(conn: Arc<Mutex<Connection>>) -> std::io::Result<GroupCommit> {
        let (jobs, queue) = mpsc::channel::<Work>();
        std::thread::Builder::new()
            .name("sqlite-group-commit".into())
            .spawn(move || {
                let mut upkeep = Upkeep::new();
                let mut next: Option<Job> = None;
                loop {
                    let first = match next.take() {
                        Some(job) => job,
                        None => match upkeep.wait_for(&queue) {
                            Waited::Job(job) => job,
                            Waited::Upkeep { idle } => {
                                let mut conn = conn.lock().unwrap_or_else(|e| e.into_inner());
                                upkeep.run(&mut conn, idle);
                                continue;
                            }
                            Waited::Stopped => break,
                        },
                    };
                    let mut batch = vec![first];
                    while batch.len() < MAX_BATCH {
                        match upkeep.take_waiting(&queue) {
                            Some(job) => batch.push(job),
                            None => break,
                        }
                    }
                    let mut conn = conn.lock().unwrap_or_else(|e| e.into_inner());
                    run_batch(&mut conn, batch);
                    upkeep.committed();
                    if upkeep.due() {
                        // Between batches, when no write waits (or when it
                        // has waited too long already).
                        next = upkeep.take_waiting(&queue);
                        if next.is_none() || upkeep.overdue() {
                            upkeep.run(&mut conn, false);
                        }
                    }
                }
            })?;
        Ok(GroupCommit {
            jobs: Mutex::new(jobs),
        })
    }

    /// Tells the writer thread's upkeep of a commit made outside it.
    pub fn committed_elsewhere(&self) {
        // A stopped writer has no upkeep left to do.
        let _ = self.send(Work::CommittedElsewhere);
    }

    fn send(&self, work: Work) -> Result<()> {
        self.jobs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .send(work)
            .map_err(|_| StoreError::NotCommitted("the store's writer has stopped".into()))
    }

    /// Runs `f` in the next batch and waits for its commit (blocking: the
    /// store's own tests, which call it from plain threads).
    #[cfg(test)]
    pub fn write<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Transaction<'_>) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let (reply, answer) = mpsc::sync_channel::<Result<T>>(1);
        self.submit(f, move |result| {
            let _ = reply.send(result);
        })?;
        answer.recv().unwrap_or_else(|_| Err(batch_not_run()))
    }

    /// [`GroupCommit::write`] for async callers: the writer thread answers
    /// the waiting task directly, with no blocking-pool thread in between
    /// (two thread hand-offs per write instead of four).
    pub async fn write_async<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Transaction<'_>) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let (reply, answer) = tokio::sync::oneshot::channel::<Result<T>>();
        self.submit(f, move |result| {
            let _ = reply.send(result);
        })?;
        answer.await.unwrap_or_else(|_| Err(batch_not_run()))
    }

    /// Queues `f` for the next batch; `reply` hears its result once the
    /// batch is committed (or not).
    fn submit<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Transaction<'_>) -> Result<T> + Send + 'static,
        reply: impl FnOnce(Result<T>) + Send + 'static,
    ) -> Result<()> {
        let job: Job = Box::new(move |tx| {
            let result = f(tx);
            let ok = result.is_ok();
            let finish: Finish = Box::new(move |commit_error| {
                reply(match commit_error {
                    Some(e) => Err(StoreError::NotCommitted(e.to_string())),
                    None => result,
                });
            });
            (ok, finish)
        });
        self.send(Work::Write(job))
    }
}

/// A write whose batch ended without telling it anything (its transaction
/// could not be begun, or the writer stopped).
fn batch_not_run() -> StoreError {
    StoreError::NotCommitted("the transaction of its batch could not be run".into())
}

/// One transaction for `batch`; each job in a savepoint when there are
/// several. A job whose savepoint cannot be set up is dropped, which its
/// caller hears as an error; a failed commit is every job's error.
fn run_batch(conn: &mut Connection, mut batch: Vec<Job>) {
    let tx = match conn.transaction_with_behavior(TransactionBehavior::Immediate) {
        Ok(tx) => tx,
        Err(e) => {
            tracing::warn!(error = %e, "group commit: cannot begin a transaction");
            return; // dropping the jobs answers their callers with an error
        }
    };
    if batch.len() == 1 {
        // Alone in its batch (the common case when writes do not pile up),
        // a job needs no savepoint: its failure rolls back the transaction.
        let Some(job) = batch.pop() else { return };
        let (ok, finish) = job(&tx);
        if !ok {
            drop(tx); // rolls back
            finish(None); // the job's own error
            return;
        }
        let committed = tx.commit();
        finish(committed.as_ref().err());
        return;
    }
    let mut finishes: Vec<Finish> = Vec::with_capacity(batch.len());
    for job in batch {
        if tx.execute_batch("SAVEPOINT job").is_err() {
            continue;
        }
        let (ok, finish) = job(&tx);
        let closed = if ok {
            tx.execute_batch("RELEASE job")
        } else {
            tx.execute_batch("ROLLBACK TO job; RELEASE job")
        };
        if let Err(e) = closed {
            // The transaction's state is unknown: undo all of it.
            tracing::warn!(error = %e, "group commit: a savepoint could not be closed; the batch is rolled back");
            finish(Some(&e));
            for finish in finishes {
                finish(Some(&e));
            }
            return; // dropping `tx` rolls back; the rest of the batch hears an error
        }
        finishes.push(finish);
    }
    let committed = tx.commit();
    let error = committed.as_ref().err();
    for finish in finishes {
        finish(error);
    }
}
