//! The [`Store`] handle: the backend the process opened, as the store
//! contract ([`StoreBackend`]), plus the fault seam for tests.
//!
//! `Store` dereferences to `dyn StoreBackend`, so `store.message(id)` is
//! the contract's operation, with no forwarding layer between. The few
//! writes a test can make fail (`faults.rs`) are methods of `Store`
//! itself: Rust picks a type's own method before one reached through
//! `Deref`, so `store.finish_query(...)` checks the faults first, then
//! calls the backend.

use std::ops::Deref;
use std::path::Path;

use super::contract::{FleetQueue, StoreBackend};
use super::copy::{CopyError, CopyOptions, CopyProgress, CopyReport, copy_between};
use super::faults::WriteFaults;
use super::model::{Message, Outcome};
use super::postgres::{PostgresStore, StoreUrl, hide_password};
use super::settings::{DatabaseSync, StoreLocation};
use super::sqlite::{SqliteBackend, SqliteStore};
use super::{PgOptions, Result};

impl StoreLocation {
    /// The location for people: the SQLite file, or the PostgreSQL URL as
    /// `postgres://user@host:port/db`; never a password (a path can hold
    /// anything, a URL with a password too; a string that does not parse
    /// is shown with its password hidden, or not at all).
    pub fn shown(&self) -> String {
        match self {
            StoreLocation::Sqlite(path) => {
                crate::redact::redact_url_passwords(&path.display().to_string()).into_owned()
            }
            StoreLocation::Postgres(url, _) => match StoreUrl::parse(url) {
                Ok(parsed) => parsed.shown().to_string(),
                Err(_) => hide_password(url),
            },
        }
    }
}

/// The store, whichever backend holds it. Every operation is an async
/// method on `&self`, so one store serves every task of a process.
pub struct Store {
    backend: Box<dyn StoreBackend>,
    faults: WriteFaults,
}

impl Deref for Store {
    type Target = dyn StoreBackend;

    fn deref(&self) -> &Self::Target {
        &*self.backend
    }
}

impl Store {
    /// Opens (creating if needed) the SQLite database at `path` and brings
    /// its schema up to date.
    pub fn open(path: &Path) -> Result<Store> {
        Store::open_with(path, DatabaseSync::Normal)
    }

    /// Like [`Store::open`], with the given commit durability.
    pub fn open_with(path: &Path, sync: DatabaseSync) -> Result<Store> {
        let sqlite = SqliteStore::open_with(path, sync)?;
        Ok(Store::over(Box::new(SqliteBackend::new(sqlite, path))))
    }

    /// Opens the store at `location` (the config's `[store]`).
    pub fn open_location(location: &StoreLocation, sync: DatabaseSync) -> Result<Store> {
        match location {
            StoreLocation::Sqlite(path) => Store::open_with(path, sync),
            StoreLocation::Postgres(url, options) => Store::open_postgres_with(url, options),
        }
    }

    /// Connects to the PostgreSQL database at `url` (`postgres://...`),
    /// brings its schema up to date and keeps a pool of connections. A URL
    /// that does not work is an error naming host, port, database and cause.
    pub fn open_postgres(url: &str) -> Result<Store> {
        Store::open_postgres_with(url, &PgOptions::default())
    }

    /// Like [`Store::open_postgres`], with `[store]`'s connection
    /// settings (pool size, pooler, listener).
    pub fn open_postgres_with(url: &str, options: &PgOptions) -> Result<Store> {
        let postgres = PostgresStore::open_with(url, options)?;
        Ok(Store::over(Box::new(postgres)))
    }

    fn over(backend: Box<dyn StoreBackend>) -> Store {
        Store {
            backend,
            faults: WriteFaults::default(),
        }
    }

    /// The fault seam: writes that tests make fail (see [`WriteFaults`]).
    #[doc(hidden)]
    pub fn faults(&self) -> &WriteFaults {
        &self.faults
    }

    /// The fleet this store holds, if it can hold one (PostgreSQL only);
    /// `None` on SQLite. (See [`StoreBackend::fleet`]; this one keeps the
    /// fault seam in front of [`FleetQueue::finish_claimed_query`].)
    pub fn fleet(&self) -> Option<Fleet<'_>> {
        let queue = self.backend.fleet()?;
        Some(Fleet {
            queue,
            faults: &self.faults,
        })
    }

    /// [`StoreBackend::finish_query`], unless an injected fault refuses it
    /// first.
    pub async fn finish_query(&self, query_id: &str, outcome: Outcome) -> Result<Message> {
        self.faults.check_outcome(&outcome)?;
        self.backend.finish_query(query_id, outcome).await
    }

    /// [`StoreBackend::set_backend_session`], unless an injected fault
    /// refuses it first.
    pub async fn set_backend_session(&self, id: &str, session: Option<&str>) -> Result<()> {
        self.faults.check_session(session.is_some())?;
        self.backend.set_backend_session(id, session).await
    }

    /// Copies everything this store keeps for good into `target` (see
    /// `copy.rs` for what that is, and what `options` change).
    pub async fn copy_to(
        &self,
        target: &Store,
        options: CopyOptions,
        progress: impl FnMut(CopyProgress) + Send,
    ) -> std::result::Result<CopyReport, CopyError> {
        copy_between(self, target, options, progress).await
    }
}

/// A store's fleet: the [`FleetQueue`] of its backend (this dereferences to
/// it), with the store's fault seam in front of the one write a test makes
/// fail.
#[derive(Clone, Copy)]
pub struct Fleet<'a> {
    queue: &'a dyn FleetQueue,
    faults: &'a WriteFaults,
}

impl<'a> Deref for Fleet<'a> {
    type Target = dyn FleetQueue + 'a;

    fn deref(&self) -> &Self::Target {
        self.queue
    }
}

impl Fleet<'_> {
    /// [`FleetQueue::finish_claimed_query`], unless an injected fault
    /// refuses it first.
    pub async fn finish_claimed_query(
        &self,
        query_id: &str,
        claimant: &str,
        outcome: Outcome,
    ) -> Result<Message> {
        self.faults.check_outcome(&outcome)?;
        self.queue
            .finish_claimed_query(query_id, claimant, outcome)
            .await
    }
}
