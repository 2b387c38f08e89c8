//! The [`Store`] handle: which backend holds the data, and how an
//! operation reaches it. The operations themselves are in
//! `operations.rs` and `operations_servers.rs`.

use std::path::Path;
use std::sync::Arc;

use super::faults::WriteFaults;
use super::postgres::PostgresStore;
use super::sqlite::SqliteStore;
use super::{Result, StoreError};

/// The store, whichever backend holds it. Every operation is an async
/// method on `&self`, so one store serves every task of a process.
pub struct Store {
    pub(super) backend: Backend,
    pub(super) faults: WriteFaults,
}

/// The backends. An enum rather than a trait object: dispatch stays static
/// and each operation names every backend in one `match`.
pub(super) enum Backend {
    Sqlite(Arc<SqliteStore>),
    Postgres(Box<PostgresStore>),
}

impl Store {
    /// Opens (creating if needed) the SQLite database at `path` and brings
    /// its schema up to date.
    pub fn open(path: &Path) -> Result<Store> {
        let sqlite = SqliteStore::open(path)?;
        Ok(Store::over(Backend::Sqlite(Arc::new(sqlite))))
    }

    /// Like [`Store::open`], with the given commit durability.
    pub fn open_with(path: &Path, sync: crate::config::DatabaseSync) -> Result<Store> {
        let sqlite = SqliteStore::open_with(path, sync)?;
        Ok(Store::over(Backend::Sqlite(Arc::new(sqlite))))
    }

    /// Opens the store the config names (see
    /// [`crate::config::LoadedConfig::store_location`]).
    pub fn open_location(
        location: &crate::config::store::StoreLocation,
        sync: crate::config::DatabaseSync,
    ) -> Result<Store> {
        match location {
            crate::config::store::StoreLocation::Sqlite(path) => Store::open_with(path, sync),
            crate::config::store::StoreLocation::Postgres(url, options) => {
                Store::open_postgres_with(url, options)
            }
        }
    }

    /// Connects to the PostgreSQL database at `url` (`postgres://...`),
    /// brings its schema up to date and keeps a pool of connections. A URL
    /// that does not work is an error naming host, port, database and cause.
    pub fn open_postgres(url: &str) -> Result<Store> {
        Store::open_postgres_with(url, &super::PgOptions::default())
    }

    /// Like [`Store::open_postgres`], with `[store]`'s connection
    /// settings (pool size, pooler, listener).
    pub fn open_postgres_with(url: &str, options: &super::PgOptions) -> Result<Store> {
        let postgres = PostgresStore::open_with(url, options)?;
        Ok(Store::over(Backend::Postgres(Box::new(postgres))))
    }

    /// The server's count of connections and its limits (`None` on
    /// SQLite).
    pub async fn server_connections(&self) -> Result<Option<super::ServerConnections>> {
        match &self.backend {
            Backend::Sqlite(_) => Ok(None),
            Backend::Postgres(postgres) => postgres
                .bounded(postgres.server_connections())
                .await
                .map(Some),
        }
    }

    /// The PostgreSQL store's connections now (`None` on SQLite).
    pub fn pool_status(&self) -> Option<super::PoolStatus> {
        match &self.backend {
            Backend::Sqlite(_) => None,
            Backend::Postgres(postgres) => Some(postgres.pool_status()),
        }
    }

    fn over(backend: Backend) -> Store {
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
}

/// Runs `op` on the SQLite backend on the blocking pool: SQLite calls may
/// wait for another process's write lock (busy timeout) and must not stall
/// the async workers that carry the protocol.
pub(super) async fn on_sqlite<T, F>(sqlite: &Arc<SqliteStore>, op: F) -> Result<T>
where
    T: Send + 'static,
    F: FnOnce(&SqliteStore) -> Result<T> + Send + 'static,
{
    let sqlite = sqlite.clone();
    tokio::task::spawn_blocking(move || op(&sqlite))
        .await
        .map_err(|e| StoreError::Task(e.to_string()))?
}

/// Runs one operation on whichever backend the store has. `|$s| $call` is
/// the backend's method call, the same on both (synchronous on SQLite,
/// async on PostgreSQL); its captures move into it (the SQLite arm runs it
/// on another thread, the PostgreSQL arm within its time bound).
macro_rules! on_backend {
    ($store:expr, |$s:ident| $call:expr) => {
        match &$store.backend {
            $crate::store::handle::Backend::Sqlite(sqlite) => {
                $crate::store::handle::on_sqlite(sqlite, move |$s| $call).await
            }
            $crate::store::handle::Backend::Postgres(postgres) => {
                let $s: &$crate::store::postgres::PostgresStore = postgres;
                postgres.bounded(async move { $call.await }).await
            }
        }
    };
}
pub(super) use on_backend;
