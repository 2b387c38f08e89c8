//! The store's operations for `store copy`: where a store is, how much of
//! what is copied it holds, and the batch reads and writes the copy
//! (`copy.rs`) drives, dispatched to the backend (see `handle.rs`).

use std::sync::Arc;

use super::copy::{
    CopyCounts, CopyError, CopyOptions, CopyProgress, CopyReport, CopyRow, CopyTable, CopyValue,
    copy_between,
};
use super::handle::{Backend, Store, on_backend, on_sqlite};
use super::postgres::PostgresStore;
use super::sqlite::SqliteSnapshot;
use super::{Result, postgres::PgSnapshot};

impl Store {
    /// Where the data is, for people: the SQLite file, or the PostgreSQL
    /// URL without its password.
    pub async fn location(&self) -> Result<String> {
        match &self.backend {
            Backend::Sqlite(sqlite) => {
                on_sqlite(sqlite, |s| Ok(s.file_path()?.display().to_string())).await
            }
            Backend::Postgres(postgres) => Ok(postgres.shown_location()),
        }
    }

    /// Rows of the copied tables (conversations, messages, access tokens),
    /// read together.
    pub async fn copy_counts(&self) -> Result<CopyCounts> {
        on_backend!(self, |s| s.copy_counts())
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

    /// The same for two handles of one database (one file, one cluster's
    /// database), whatever path or URL opened them.
    pub(super) async fn identity(&self) -> Result<String> {
        on_backend!(self, |s| s.identity())
    }

    pub(super) async fn copy_columns(&self, table: &'static CopyTable) -> Result<Vec<String>> {
        on_backend!(self, |s| s.copy_columns(table))
    }

    pub(super) async fn copy_clear(&self) -> Result<()> {
        on_backend!(self, |s| s.copy_clear())
    }

    pub(super) async fn copy_insert(
        &self,
        table: &'static CopyTable,
        rows: Vec<CopyRow>,
    ) -> Result<()> {
        on_backend!(self, |s| s.copy_insert(table, &rows))
    }

    /// After the last batch of `table`: PostgreSQL's identity sequence
    /// moves past the copied keys. (SQLite numbers new rows after the
    /// largest key by itself.)
    pub(super) async fn copy_finish_table(&self, table: &'static CopyTable) -> Result<()> {
        match &self.backend {
            Backend::Sqlite(_) => Ok(()),
            Backend::Postgres(postgres) => {
                postgres.bounded(postgres.copy_finish_table(table)).await
            }
        }
    }

    /// A snapshot of this store to copy from: every read of it sees the
    /// store as it was at its first read.
    pub(super) async fn copy_snapshot(&self) -> Result<CopySnapshot<'_>> {
        match &self.backend {
            Backend::Sqlite(sqlite) => Ok(CopySnapshot::Sqlite(Arc::new(
                on_sqlite(sqlite, |s| s.copy_snapshot()).await?,
            ))),
            Backend::Postgres(postgres) => Ok(CopySnapshot::Postgres {
                snapshot: Box::new(postgres.bounded(postgres.copy_snapshot()).await?),
                store: postgres,
            }),
        }
    }
}

/// See [`Store::copy_snapshot`].
pub(super) enum CopySnapshot<'a> {
    Sqlite(Arc<SqliteSnapshot>),
    Postgres {
        store: &'a PostgresStore,
        snapshot: Box<PgSnapshot>,
    },
}

impl CopySnapshot<'_> {
    pub(super) async fn counts(&self) -> Result<CopyCounts> {
        match self {
            CopySnapshot::Sqlite(snapshot) => on_snapshot(snapshot, |s| s.counts()).await,
            CopySnapshot::Postgres { store, snapshot } => store.bounded(snapshot.counts()).await,
        }
    }

    /// The next batch of `table`'s rows after the key `after`.
    pub(super) async fn read_batch(
        &self,
        table: &'static CopyTable,
        after: Option<CopyValue>,
    ) -> Result<Vec<CopyRow>> {
        match self {
            CopySnapshot::Sqlite(snapshot) => {
                on_snapshot(snapshot, move |s| s.read_batch(table, after.as_ref())).await
            }
            CopySnapshot::Postgres { store, snapshot } => {
                store.bounded(snapshot.read_batch(table, after)).await
            }
        }
    }

    pub(super) async fn finish(self) -> Result<()> {
        match self {
            CopySnapshot::Sqlite(snapshot) => on_snapshot(&snapshot, |s| s.finish()).await,
            CopySnapshot::Postgres { store, snapshot } => store.bounded(snapshot.finish()).await,
        }
    }
}

/// Runs `op` on a SQLite snapshot on the blocking pool, as `on_sqlite`
/// does for the store.
async fn on_snapshot<T, F>(snapshot: &Arc<SqliteSnapshot>, op: F) -> Result<T>
where
    T: Send + 'static,
    F: FnOnce(&SqliteSnapshot) -> Result<T> + Send + 'static,
{
    let snapshot = snapshot.clone();
    tokio::task::spawn_blocking(move || op(&snapshot))
        .await
        .map_err(|e| super::StoreError::Task(e.to_string()))?
}
