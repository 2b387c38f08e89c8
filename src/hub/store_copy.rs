//! `store copy`: the configured store, copied into another (SQLite to
//! PostgreSQL and back); the copy itself is the store's (`store/copy.rs`).

use crate::config::store::StoreLocation;
use crate::store::{CopyError, CopyOptions, CopyProgress, CopyReport, Store, StoreError};

impl<'h> crate::hub::Maintenance<'h> {
    /// Copies this hub's store into the store at `to` (a `postgres://` URL
    /// or else a SQLite file path, created if missing). A target that holds
    /// data is refused unless `replace`, which deletes its conversations,
    /// messages and access tokens first. `through_pooler`: a PostgreSQL
    /// target is reached through a transaction-mode pooler. `progress` is
    /// told after every batch.
    pub async fn copy_store(
        self,
        to: &str,
        replace: bool,
        through_pooler: bool,
        progress: impl FnMut(CopyProgress) + Send,
    ) -> Result<CopyReport, CopyError> {
        let location = if crate::store::is_postgres_url(to) {
            // The target is another database: this store's pool size, and
            // the pooler the operator names for it (not this store's).
            let options = crate::store::PgOptions {
                max_connections: self.config().config.store.max_connections,
                pooler: through_pooler,
                ..Default::default()
            };
            StoreLocation::Postgres(to.to_owned(), options)
        } else {
            StoreLocation::Sqlite(to.into())
        };
        let sync = self.config().config.database_sync;
        // Opening may wait for a database (and SQLite opens synchronously).
        let target = tokio::task::spawn_blocking(move || Store::open_location(&location, sync))
            .await
            .map_err(|e| StoreError::Task(e.to_string()))??;
        self.store
            .copy_to(&target, CopyOptions { replace }, progress)
            .await
    }
}
