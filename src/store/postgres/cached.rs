//! Statements prepared once per connection. tokio-postgres prepares an
//! SQL string on every call (a round trip of its own before the one that
//! runs it); deadpool keeps prepared statements per connection, so asking
//! through these methods costs one round trip from the second call on.
//! Every statement of the store is one of a fixed set (dynamic parts are
//! column lists and optional filters), so the cache stays small.

use deadpool_postgres::GenericClient;
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;

type Params<'a> = &'a [&'a (dyn ToSql + Sync)];

#[allow(
    async_fn_in_trait,
    reason = "used only inside the store, on concrete clients"
)]
pub(super) trait Cached: GenericClient {
    /// Every row `sql` returns.
    async fn rows(&self, sql: &str, params: Params<'_>) -> Result<Vec<Row>, tokio_postgres::Error> {
        let statement = self.prepare_cached(sql).await?;
        self.query(&statement, params).await
    }

    /// The one row `sql` returns (an error when it returns another number).
    async fn row(&self, sql: &str, params: Params<'_>) -> Result<Row, tokio_postgres::Error> {
        let statement = self.prepare_cached(sql).await?;
        self.query_one(&statement, params).await
    }

    /// The row `sql` returns, if any.
    async fn row_opt(
        &self,
        sql: &str,
        params: Params<'_>,
    ) -> Result<Option<Row>, tokio_postgres::Error> {
        let statement = self.prepare_cached(sql).await?;
        self.query_opt(&statement, params).await
    }

    /// Runs `sql`; how many rows it changed.
    async fn run(&self, sql: &str, params: Params<'_>) -> Result<u64, tokio_postgres::Error> {
        let statement = self.prepare_cached(sql).await?;
        self.execute(&statement, params).await
    }
}

impl<T: GenericClient> Cached for T {}
