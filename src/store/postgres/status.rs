//! `store status` on PostgreSQL: the schema version and row counts.

use super::PostgresStore;
use super::cached::Cached;
use crate::store::Result;
use crate::store::records::{COUNTS_SQL, StoreCounts};

impl PostgresStore {
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
