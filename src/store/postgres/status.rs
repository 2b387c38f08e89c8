//! `store status` on PostgreSQL: the schema version and row counts; and
//! the database's clock.

use super::PostgresStore;
use super::cached::Cached;
use crate::store::Result;
use crate::store::records::{COUNTS_SQL, StoreCounts};

impl PostgresStore {
    /// The database's clock (see `flight.rs`): the one every node shares.
    pub async fn clock_ms(&self) -> Result<i64> {
        let sql = format!("SELECT {}", super::flight::DB_NOW_MS);
        Ok(self.client().await?.row(&sql, &[]).await?.try_get(0)?)
    }

    pub async fn counts(&self) -> Result<StoreCounts> {
        let r = self.client().await?.row(COUNTS_SQL, &[]).await?;
        Ok(StoreCounts {
            schema_version: r.try_get(0)?,
            conversations: r.try_get(1)?,
            messages: r.try_get(2)?,
            pending: r.try_get(3)?,
            tokens: r.try_get(4)?,
        })
    }
}
