//! `store copy`: the configured store, copied into another (SQLite to
//! PostgreSQL and back); the copy itself is the store's (`store/copy.rs`).

use super::Hub;
use crate::store::{
    CopyError, CopyOptions, CopyProgress, CopyReport, Store, StoreCounts, StoreError,
};

impl Hub {
    /// Copies this hub's store into the store at `to` (a `postgres://` URL
    /// or a SQLite file path, created if missing). A target that holds
    /// data is refused unless `replace`, which deletes its conversations,
    /// messages and access tokens first. `progress` is told after every
    /// batch.
    pub async fn copy_store(
        &self,
        to: &str,
        replace: bool,
        progress: impl FnMut(CopyProgress) + Send,
    ) -> Result<CopyReport, CopyError> {
        let location = to.to_owned();
        // Opening may wait for a database (and SQLite opens synchronously).
        let target = tokio::task::spawn_blocking(move || Store::open_location(&location))
            .await
            .map_err(|e| StoreError::Task(e.to_string()))??;
        self.store
            .copy_to(&target, CopyOptions { replace }, progress)
            .await
    }

    /// Rows per copied table of this hub's store (`store status`).
    pub async fn store_counts(&self) -> Result<StoreCounts, StoreError> {
        self.store.counts().await
    }

    /// Where this hub's store is: its SQLite file, or its URL without the
    /// password.
    pub async fn store_location(&self) -> Result<String, StoreError> {
        self.store.location().await
    }
}
