//! A SQLite snapshot for `store copy` as a [`CopySnapshot`]: read on
//! tokio's blocking pool, like every operation of the store.

use std::sync::Arc;

use super::backend::on_blocking_pool;
use super::copy::SqliteSnapshot;
use crate::store::Result;
use crate::store::contract::CopySnapshot;
use crate::store::copy::{CopyCounts, CopyRow, CopyTable, CopyValue};

/// A SQLite snapshot, read on the blocking pool like the store.
pub(super) struct SqliteCopySnapshot(Arc<SqliteSnapshot>);

impl SqliteCopySnapshot {
    pub(super) fn new(snapshot: SqliteSnapshot) -> SqliteCopySnapshot {
        SqliteCopySnapshot(Arc::new(snapshot))
    }

    async fn run<T, F>(&self, op: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&SqliteSnapshot) -> Result<T> + Send + 'static,
    {
        let snapshot = self.0.clone();
        on_blocking_pool(move || op(&snapshot)).await
    }
}

#[async_trait::async_trait]
impl CopySnapshot for SqliteCopySnapshot {
    async fn counts(&self) -> Result<CopyCounts> {
        self.run(|s| s.counts()).await
    }

    async fn read_batch(
        &self,
        table: &'static CopyTable,
        after: Option<CopyValue>,
    ) -> Result<Vec<CopyRow>> {
        self.run(move |s| s.read_batch(table, after.as_ref())).await
    }

    async fn finish(self: Box<Self>) -> Result<()> {
        self.run(|s| s.finish()).await
    }
}
