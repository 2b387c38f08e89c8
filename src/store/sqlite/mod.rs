//! The SQLite backend of the store: every SQLite statement of claude-comms
//! lives in this folder, behind [`crate::store::Store`].
//!
//! One SQLite file (WAL mode, FTS5 for search) holds conversations, their
//! messages, and the servers and instances of every process that shares it.
//!
//! Durability rules, which [`crate::hub`] relies on:
//! * every write is one short `BEGIN IMMEDIATE` transaction, so several
//!   server processes (one per host) can share the file: a writer waits for
//!   the lock (busy timeout) instead of failing, and sequence numbers are
//!   assigned inside the transaction, so two writers never take the same one;
//! * WAL with `synchronous=NORMAL` by default: a committed message survives
//!   any crash of the process (the SIGKILL tests prove it); the config's
//!   `database_sync = "full"` makes it survive a power cut too, at the cost
//!   of waiting for the disk on every commit. On a single machine the host
//!   that was told about a message dies in the same power cut, which is why
//!   the cheaper setting is the default;
//! * queries are stored `pending` before they are dispatched; after a crash
//!   [`SqliteStore::recover_interrupted`] marks those of dead servers `interrupted`.

mod activity;
mod ask_back;
mod backend;
mod control;
mod conversations;
mod copy;
mod copy_snapshot;
mod doorbell;
mod error;
mod group_commit;
mod import;
mod jobs;
mod ledger;
mod message_reads;
mod messages;
mod module_state;
mod open_error;
mod removal;
mod schema;
pub(super) use schema::SCHEMA_VERSION;
mod search;
mod servers;
mod status;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_limits;
#[cfg(test)]
mod tests_processes;
mod tokens;
mod upkeep;

pub(crate) use backend::SqliteBackend;

use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::{Connection, Transaction, TransactionBehavior};

// What the SQLite files share with every backend: the types, the limits,
// the error. (Private imports: the files below reach them as `super::...`.)
use super::settings::DatabaseSync;
use super::{Result, StoreError, export, ids, limits, model, now_ms, records};

/// How long a write waits for another process's lock before giving up.
/// Writes are single-row transactions that take well under a millisecond,
/// so five seconds means something is badly wrong, not merely busy.
pub(crate) const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Read-only connections beside the writer. In WAL mode readers never wait
/// for the writer, so reads (histories, lists, searches) of concurrent
/// senders go on while a message is being committed.
const READERS: usize = 2;

pub struct SqliteStore {
    /// The one connection that writes (SQLite allows one writer at a time).
    conn: Arc<Mutex<Connection>>,
    /// Writes of concurrent senders (queries, replies) in shared commits.
    group: group_commit::GroupCommit,
    readers: Vec<Mutex<Connection>>,
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` and brings its
    /// schema up to date (the unit tests' way; the store opens with
    /// [`SqliteStore::open_with`]).
    #[cfg(test)]
    pub fn open(path: &Path) -> Result<SqliteStore> {
        SqliteStore::open_with(path, DatabaseSync::Normal)
    }

    /// Like [`SqliteStore::open`], with the given commit durability.
    pub fn open_with(path: &Path, sync: DatabaseSync) -> Result<SqliteStore> {
        let open_error = |source: rusqlite::Error| StoreError::Open {
            path: path.display().to_string(),
            reason: open_error::reason(path, &source),
        };
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| StoreError::Open {
                path: path.display().to_string(),
                reason: open_error::folder_reason(parent, &e),
            })?;
        }
        let mut conn = Connection::open(path).map_err(open_error)?;
        if let Some(reason) = open_error::read_only(path, &conn) {
            let path = path.display().to_string();
            return Err(StoreError::Open { path, reason });
        }
        conn.busy_timeout(BUSY_TIMEOUT).map_err(open_error)?;
        keep_statements_prepared(&conn).map_err(open_error)?;
        // Switching a new database to WAL takes an exclusive lock and SQLite
        // does not wait for it (busy_timeout does not apply): two processes
        // opening one new database at once must take turns.
        retry_while_busy(|| conn.pragma_update(None, "journal_mode", "WAL")).map_err(open_error)?;
        let sync = match sync {
            DatabaseSync::Normal => "NORMAL",
            DatabaseSync::Full => "FULL",
        };
        conn.pragma_update(None, "synchronous", sync)
            .map_err(open_error)?;
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(open_error)?;
        // Checkpoints run between batches of the writer thread (see
        // `upkeep`), so a commit never waits for one.
        conn.pragma_update(None, "wal_autocheckpoint", 0)
            .map_err(open_error)?;
        retry_while_busy_store(|| schema::migrate(&mut conn)).map_err(|e| match e {
            StoreError::Database { message } | StoreError::Busy { message } => StoreError::Open {
                path: path.display().to_string(),
                reason: open_error::reason_of_message(path, message),
            },
            other => other,
        })?;
        let conn = Arc::new(Mutex::new(conn));
        let readers = (0..READERS)
            .map(|_| {
                let reader = Connection::open_with_flags(
                    path,
                    rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY
                        | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
                )?;
                reader.busy_timeout(BUSY_TIMEOUT)?;
                keep_statements_prepared(&reader)?;
                Ok(Mutex::new(reader))
            })
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(open_error)?;
        Ok(SqliteStore {
            group: group_commit::GroupCommit::start(conn.clone()).map_err(|e| {
                StoreError::Open {
                    path: path.display().to_string(),
                    reason: format!("cannot start the writer thread: {e}"),
                }
            })?,
            conn,
            readers,
        })
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the connection leaves no transaction open
        // (rusqlite rolls back on drop), so a poisoned lock is still usable.
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `f` in one IMMEDIATE transaction: the write lock is taken at
    /// the start, so the transaction never fails halfway on a lock upgrade.
    fn write<T>(&self, f: impl FnOnce(&Transaction<'_>) -> Result<T>) -> Result<T> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let value = f(&tx)?;
        tx.commit()?;
        drop(conn);
        self.group.committed_elsewhere();
        Ok(value)
    }

    /// Like [`SqliteStore::write`], committed together with the writes of other
    /// threads that wait at the same time (see `group_commit`). Blocking:
    /// the store's own tests; the backend awaits `GroupCommit::write_async`.
    #[cfg(test)]
    fn write_grouped<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Transaction<'_>) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        self.group.write(f)
    }

    /// A reader connection nobody holds now.
    fn free_reader(&self) -> Option<MutexGuard<'_, Connection>> {
        self.readers.iter().find_map(|r| r.try_lock().ok())
    }

    /// Runs `f` on a reader connection if one is free now, else `None`
    /// (the caller goes to the blocking pool rather than wait here).
    fn read_if_free<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Option<Result<T>> {
        let conn = self.free_reader()?;
        Some(f(&conn))
    }

    /// Runs `f` on a free reader connection (or waits for the first one).
    fn read<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        let conn = self
            .free_reader()
            .unwrap_or_else(|| self.readers[0].lock().unwrap_or_else(|e| e.into_inner()));
        f(&conn)
    }
}

/// Statements this store runs again and again stay prepared:
/// * the query planner does not look at bound values (SQLite's QPSG). Else
///   a plan that used a parameter's value marks its statement stale, and
///   rusqlite's statement cache clears the bindings whenever a statement is
///   put back, so every use of such a statement (the next `seq` of a
///   conversation, the messages after a `seq`) was parsed and planned again;
///   that was a sixth of the writer thread's time. No query here needs a
///   value-dependent plan (partial indexes are found from `col = ?` without
///   its value, and search goes through FTS5, not `LIKE ?`).
/// * the cache holds every statement of the write path (rusqlite keeps 16).
fn keep_statements_prepared(conn: &Connection) -> rusqlite::Result<()> {
    conn.set_db_config(
        rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
        true,
    )?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    Ok(())
}

/// Prepared statements kept per connection (the store has about 60).
const STATEMENT_CACHE: usize = 96;

/// How long opening waits, at most, for another process that is setting up
/// the same new database.
const OPEN_RETRY_FOR: Duration = Duration::from_secs(10);

pub(super) fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}

/// Runs `op` again (after a short pause) while SQLite says the database is
/// busy, for at most [`OPEN_RETRY_FOR`].
fn retry_while_busy<T>(mut op: impl FnMut() -> rusqlite::Result<T>) -> rusqlite::Result<T> {
    let deadline = std::time::Instant::now() + OPEN_RETRY_FOR;
    loop {
        match op() {
            Err(e) if is_busy(&e) && std::time::Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(20));
            }
            other => return other,
        }
    }
}

/// [`retry_while_busy`] for an operation that returns a [`StoreError`].
fn retry_while_busy_store<T>(mut op: impl FnMut() -> Result<T>) -> Result<T> {
    let deadline = std::time::Instant::now() + OPEN_RETRY_FOR;
    loop {
        match op() {
            Err(StoreError::Busy { .. }) if std::time::Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(20));
            }
            other => return other,
        }
    }
}
