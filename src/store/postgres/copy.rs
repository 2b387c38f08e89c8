//! `store copy` on PostgreSQL (see `store/copy.rs`): reading a table in
//! batches from a snapshot, and inserting batches of rows as they were,
//! identity keys included.

use tokio_postgres::Row;
use tokio_postgres::types::ToSql;

use super::PostgresStore;
use super::cached::Cached;
use crate::store::Result;
use crate::store::copy::{
    BatchBudget, COPIED_TABLES, CopyCounts, CopyKind, CopyRow, CopyTable, CopyValue, MESSAGES,
};

/// Counts every copied table in one statement (one read, one moment).
const COUNTS: &str = "SELECT (SELECT count(*) FROM conversations), (SELECT count(*) FROM messages), (SELECT count(*) FROM access_tokens), (SELECT count(*) FROM ask_backs), (SELECT count(*) FROM query_parents)";

/// Rows fetched per round trip while a batch fills: small, so that a
/// batch stops near its byte budget however big the rows are.
const FETCH_ROWS: i64 = 50;

fn counts_of(row: &Row) -> Result<CopyCounts> {
    let count = |i: usize| -> Result<u64> { Ok(row.try_get::<_, i64>(i)?.max(0) as u64) };
    Ok(CopyCounts {
        conversations: count(0)?,
        messages: count(1)?,
        tokens: count(2)?,
        ask_backs: count(3)?,
        query_parents: count(4)?,
    })
}

// NULL parameters of each kind: a NULL must still have the column's type.
static NULL_TEXT: Option<String> = None;
static NULL_INTEGER: Option<i64> = None;
static NULL_REAL: Option<f64> = None;
static NULL_BOOLEAN: Option<bool> = None;

/// `value` as a parameter for a column of `kind`.
fn param(value: &CopyValue, kind: CopyKind) -> &(dyn ToSql + Sync) {
    match value {
        CopyValue::Text(s) => s,
        CopyValue::Integer(n) => n,
        CopyValue::Real(r) => r,
        CopyValue::Boolean(b) => b,
        CopyValue::Null => match kind {
            CopyKind::Text => &NULL_TEXT,
            CopyKind::Integer => &NULL_INTEGER,
            CopyKind::Real => &NULL_REAL,
            CopyKind::Boolean => &NULL_BOOLEAN,
        },
    }
}

/// A row read with `table`'s columns, as the copy's values.
fn row_of(row: &Row, table: &CopyTable) -> Result<CopyRow> {
    table
        .columns
        .iter()
        .enumerate()
        .map(|(i, column)| {
            let value = match column.kind {
                CopyKind::Text => row
                    .try_get::<_, Option<String>>(i)?
                    .map(|t| CopyValue::Text(super::text::restore(t))),
                CopyKind::Integer => row.try_get::<_, Option<i64>>(i)?.map(CopyValue::Integer),
                CopyKind::Real => row.try_get::<_, Option<f64>>(i)?.map(CopyValue::Real),
                CopyKind::Boolean => row.try_get::<_, Option<bool>>(i)?.map(CopyValue::Boolean),
            };
            Ok(value.unwrap_or(CopyValue::Null))
        })
        .collect()
}

impl PostgresStore {
    /// The URL without its password.
    pub(crate) fn shown_location(&self) -> String {
        self.url.shown().to_string()
    }

    /// The cluster and database: two stores are one when these match,
    /// whatever URLs reached them. (Without the right to read the
    /// cluster's id, the URL stands in for it.)
    pub(crate) async fn identity(&self) -> Result<String> {
        let client = self.client().await?;
        let cluster = client
            .row(
                "SELECT system_identifier::text || '/' || current_database() FROM pg_control_system()",
                &[],
            )
            .await;
        Ok(match cluster {
            Ok(row) => format!("postgres:{}", row.try_get::<_, String>(0)?),
            Err(_) => self.url.shown().to_string(),
        })
    }

    pub(crate) async fn copy_counts(&self) -> Result<CopyCounts> {
        let row = self.client().await?.row(COUNTS, &[]).await?;
        counts_of(&row)
    }

    /// The columns `table` has here (none when it does not exist).
    pub(crate) async fn copy_columns(&self, table: &CopyTable) -> Result<Vec<String>> {
        let rows = self
            .client()
            .await?
            .rows(
                // `messages.txid` is PostgreSQL's own (the transaction that
                // wrote the row, for followers): never copied, each store
                // stamps its own rows.
                "SELECT column_name::text FROM information_schema.columns
                 WHERE table_schema = current_schema() AND table_name = $1
                   AND NOT (table_name = 'messages' AND column_name = 'txid')
                 ORDER BY ordinal_position",
                &[&table.name],
            )
            .await?;
        rows.iter()
            .map(|row| Ok(row.try_get::<_, String>(0)?))
            .collect()
    }

    /// Deletes every row of the copied tables, in one transaction (TRUNCATE
    /// takes every table's lock: no writer runs meanwhile).
    pub(crate) async fn copy_clear(&self) -> Result<()> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let tables: Vec<&str> = COPIED_TABLES.iter().map(|t| t.name).collect();
        tx.batch_execute(&format!("TRUNCATE {}", tables.join(", ")))
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Inserts `rows` of `table` as they are, keys included, in one
    /// transaction: one multi-row INSERT. Messages are inserted with the
    /// table locked against other writers (readers go on), so no other
    /// writer takes a `pos` or a `seq` meanwhile.
    pub(crate) async fn copy_insert(&self, table: &CopyTable, rows: &[CopyRow]) -> Result<()> {
        let width = table.columns.len();
        let values = (0..rows.len())
            .map(|r| {
                let row = (1..=width)
                    .map(|c| format!("${}", r * width + c))
                    .collect::<Vec<_>>();
                format!("({})", row.join(", "))
            })
            .collect::<Vec<_>>()
            .join(", ");
        let overriding = if table.identity_key {
            " OVERRIDING SYSTEM VALUE"
        } else {
            ""
        };
        let sql = format!(
            "INSERT INTO {} ({}){overriding} VALUES {values}",
            table.name,
            table.column_list()
        );
        let params: Vec<&(dyn ToSql + Sync)> = rows
            .iter()
            .flat_map(|row| {
                row.iter()
                    .zip(table.columns)
                    .map(|(value, column)| param(value, column.kind))
            })
            .collect();
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        if table.name == MESSAGES.name {
            tx.batch_execute("LOCK TABLE messages IN EXCLUSIVE MODE")
                .await?;
        }
        tx.run(sql.as_str(), &params).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Moves the identity sequence of `table`'s key past the largest key
    /// copied, so that the next row stored gets the next number.
    pub(crate) async fn copy_finish_table(&self, table: &CopyTable) -> Result<()> {
        let key = table.key().name;
        self.client()
            .await?
            .run(
                &format!(
                    "SELECT setval(pg_get_serial_sequence($1, $2), coalesce((SELECT max({key}) FROM {}), 0) + 1, false)",
                    table.name
                ),
                &[&table.name, &key],
            )
            .await?;
        Ok(())
    }

    /// A read-only REPEATABLE READ transaction on a connection of its
    /// own, held until [`PgSnapshot::finish`]: every batch and count reads
    /// the database as it was at the first of them.
    pub(crate) async fn copy_snapshot(&self) -> Result<PgSnapshot> {
        let snapshot = PgSnapshot {
            client: Some(self.client().await?),
            open: true,
        };
        snapshot
            .client()?
            .batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            .await?;
        Ok(snapshot)
    }
}

/// See [`PostgresStore::copy_snapshot`].
pub(crate) struct PgSnapshot {
    client: Option<deadpool_postgres::Object>,
    /// Whether its transaction may still be open (set from before BEGIN
    /// until COMMIT succeeds).
    open: bool,
}

impl Drop for PgSnapshot {
    /// A connection whose transaction may still be open is closed, never
    /// handed back to the pool for another operation to run inside it.
    fn drop(&mut self) {
        if self.open
            && let Some(client) = self.client.take()
        {
            drop(deadpool_postgres::Object::take(client));
        }
    }
}

impl PgSnapshot {
    fn client(&self) -> Result<&deadpool_postgres::Object> {
        self.client
            .as_ref()
            .ok_or_else(|| crate::store::StoreError::Database {
                message: "the copy's snapshot has ended".into(),
            })
    }

    pub(crate) async fn counts(&self) -> Result<CopyCounts> {
        let row = self.client()?.row(COUNTS, &[]).await?;
        counts_of(&row)
    }

    /// The rows of `table` after the key `after` (from the first without
    /// it), in key order, as many as a batch holds.
    pub(crate) async fn read_batch(
        &self,
        table: &CopyTable,
        after: Option<CopyValue>,
    ) -> Result<Vec<CopyRow>> {
        let client = self.client()?;
        let key = table.key();
        let columns = table.column_list();
        let first = format!(
            "SELECT {columns} FROM {} ORDER BY {} LIMIT $1",
            table.name, key.name
        );
        let next = format!(
            "SELECT {columns} FROM {} WHERE {} > $1 ORDER BY {} LIMIT $2",
            table.name, key.name, key.name
        );
        let mut batch = Vec::new();
        let mut budget = BatchBudget::default();
        let mut after = after;
        loop {
            let rows = match &after {
                None => client.rows(first.as_str(), &[&FETCH_ROWS]).await?,
                Some(k) => {
                    client
                        .rows(next.as_str(), &[param(k, key.kind), &FETCH_ROWS])
                        .await?
                }
            };
            let fetched = rows.len();
            for row in &rows {
                let copied = row_of(row, table)?;
                let more = budget.take(&copied);
                batch.push(copied);
                if !more {
                    return Ok(batch);
                }
            }
            if fetched < FETCH_ROWS as usize {
                return Ok(batch);
            }
            after = batch.last().and_then(|row| row.first().cloned());
        }
    }

    /// Ends the snapshot; the connection goes back to the pool.
    pub(crate) async fn finish(mut self) -> Result<()> {
        self.client()?.batch_execute("COMMIT").await?;
        self.open = false;
        Ok(())
    }
}
