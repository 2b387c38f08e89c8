//! `store status` on SQLite: the schema version and row counts.

use super::records::{COUNTS_SQL, StoreCounts};
use super::{Result, SqliteStore};

impl SqliteStore {
    pub fn counts(&self) -> Result<StoreCounts> {
        self.read(|conn| {
            Ok(conn.query_row(COUNTS_SQL, [], |r| {
                Ok(StoreCounts {
                    schema_version: r.get(0)?,
                    conversations: r.get(1)?,
                    messages: r.get(2)?,
                    pending: r.get(3)?,
                    tokens: r.get(4)?,
                })
            })?)
        })
    }
}
