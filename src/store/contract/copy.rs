//! A snapshot of a store that `store copy` reads from (see
//! `store/copy.rs`).

use crate::store::Result;
use crate::store::copy::{CopyCounts, CopyRow, CopyTable, CopyValue};

/// Reads of one snapshot: each sees the store as it was at the first.
#[async_trait::async_trait]
pub trait CopySnapshot: Send + Sync {
    /// Rows per copied table in the snapshot.
    async fn counts(&self) -> Result<CopyCounts>;

    /// The next batch of `table`'s rows after the key `after`, in key
    /// order.
    async fn read_batch(
        &self,
        table: &'static CopyTable,
        after: Option<CopyValue>,
    ) -> Result<Vec<CopyRow>>;

    /// Ends the snapshot's transaction.
    async fn finish(self: Box<Self>) -> Result<()>;
}
