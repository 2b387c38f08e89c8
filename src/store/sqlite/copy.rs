//! `store copy` on SQLite (see `store/copy.rs`): reading a table in
//! batches from a snapshot, and inserting batches of rows as they were.

use std::path::PathBuf;
use std::sync::Mutex;

use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, OpenFlags, params_from_iter};

use super::{BUSY_TIMEOUT, Result, SqliteStore, StoreError};
use crate::store::copy::{
    BatchBudget, COPIED_TABLES, CopyCounts, CopyKind, CopyRow, CopyTable, CopyValue, wrong_kind,
};

/// Counts every copied table in one statement (one read, one moment).
const COUNTS: &str = "SELECT (SELECT count(*) FROM conversations), (SELECT count(*) FROM messages), (SELECT count(*) FROM access_tokens), (SELECT count(*) FROM ask_backs), (SELECT count(*) FROM query_parents)";

fn counts_on(conn: &Connection) -> Result<CopyCounts> {
    let count = |row: &rusqlite::Row<'_>, i| row.get::<_, i64>(i).map(|n| n.max(0) as u64);
    Ok(conn.query_row(COUNTS, [], |row| {
        Ok(CopyCounts {
            conversations: count(row, 0)?,
            messages: count(row, 1)?,
            tokens: count(row, 2)?,
            ask_backs: count(row, 3)?,
            query_parents: count(row, 4)?,
        })
    })?)
}

impl rusqlite::ToSql for CopyValue {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Borrowed(match self {
            CopyValue::Null => ValueRef::Null,
            CopyValue::Text(s) => ValueRef::Text(s.as_bytes()),
            CopyValue::Integer(i) => ValueRef::Integer(*i),
            CopyValue::Real(r) => ValueRef::Real(*r),
            CopyValue::Boolean(b) => ValueRef::Integer(i64::from(*b)),
        }))
    }
}

/// Reads column `i` of `row` as the copy's value of its kind.
fn value_at(row: &rusqlite::Row<'_>, table: &CopyTable, i: usize) -> Result<CopyValue> {
    let column = &table.columns[i];
    let value = row.get_ref(i)?;
    Ok(match (column.kind, value) {
        (_, ValueRef::Null) => CopyValue::Null,
        (CopyKind::Text, ValueRef::Text(bytes)) => CopyValue::Text(
            String::from_utf8(bytes.to_vec())
                .map_err(|_| wrong_kind(table, column, "text that is not UTF-8"))?,
        ),
        (CopyKind::Integer, ValueRef::Integer(n)) => CopyValue::Integer(n),
        (CopyKind::Real, ValueRef::Real(r)) => CopyValue::Real(r),
        // REAL affinity may keep a whole number as an integer.
        (CopyKind::Real, ValueRef::Integer(n)) => CopyValue::Real(n as f64),
        (CopyKind::Boolean, ValueRef::Integer(n)) => CopyValue::Boolean(n != 0),
        (_, other) => {
            return Err(wrong_kind(
                table,
                column,
                other.data_type().to_string().as_str(),
            ));
        }
    })
}

impl SqliteStore {
    /// The database file, as SQLite names it.
    pub(crate) fn file_path(&self) -> Result<PathBuf> {
        self.read(|conn| {
            let file: String = conn.query_row(
                "SELECT file FROM pragma_database_list WHERE name = 'main'",
                [],
                |row| row.get(0),
            )?;
            Ok(PathBuf::from(file))
        })
    }

    /// The file, with links resolved: two stores are one when these match.
    pub(crate) fn identity(&self) -> Result<String> {
        let path = self.file_path()?;
        let path = path.canonicalize().unwrap_or(path);
        Ok(format!("sqlite:{}", path.display()))
    }

    pub(crate) fn copy_counts(&self) -> Result<CopyCounts> {
        self.read(counts_on)
    }

    /// The columns `table` has here (none when it does not exist).
    pub(crate) fn copy_columns(&self, table: &CopyTable) -> Result<Vec<String>> {
        self.read(|conn| {
            let mut statement =
                conn.prepare("SELECT name FROM pragma_table_info(?1) ORDER BY cid")?;
            let names = statement
                .query_map([table.name], |row| row.get(0))?
                .collect::<rusqlite::Result<Vec<String>>>()?;
            Ok(names)
        })
    }

    /// Deletes every row of the copied tables, in one transaction.
    pub(crate) fn copy_clear(&self) -> Result<()> {
        self.write(|tx| {
            for table in COPIED_TABLES.iter().rev() {
                tx.execute(&format!("DELETE FROM {}", table.name), [])?;
            }
            Ok(())
        })
    }

    /// Inserts `rows` of `table` as they are (keys included), in one
    /// transaction. (The search index follows by its triggers.)
    pub(crate) fn copy_insert(&self, table: &CopyTable, rows: &[CopyRow]) -> Result<()> {
        let placeholders = (1..=table.columns.len())
            .map(|i| format!("?{i}"))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "INSERT INTO {} ({}) VALUES ({placeholders})",
            table.name,
            table.column_list()
        );
        self.write(|tx| {
            let mut insert = tx.prepare_cached(&sql)?;
            for row in rows {
                insert.execute(params_from_iter(row.iter()))?;
            }
            Ok(())
        })
    }

    /// A read transaction on a connection of its own, held until
    /// [`SqliteSnapshot::finish`]: every batch and count reads the
    /// database as it was at the first of them, whatever is written since.
    pub(crate) fn copy_snapshot(&self) -> Result<SqliteSnapshot> {
        let path = self.file_path()?;
        let conn = Connection::open_with_flags(
            &path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| StoreError::Open {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        conn.execute_batch("BEGIN")?;
        Ok(SqliteSnapshot {
            conn: Mutex::new(conn),
        })
    }
}

/// See [`SqliteStore::copy_snapshot`].
pub(crate) struct SqliteSnapshot {
    conn: Mutex<Connection>,
}

impl SqliteSnapshot {
    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn counts(&self) -> Result<CopyCounts> {
        counts_on(&self.conn())
    }

    /// The rows of `table` after the key `after` (from the first without
    /// it), in key order, as many as a batch holds.
    pub(crate) fn read_batch(
        &self,
        table: &CopyTable,
        after: Option<&CopyValue>,
    ) -> Result<Vec<CopyRow>> {
        let key = table.key().name;
        let filter = if after.is_some() {
            format!("WHERE {key} > ?1")
        } else {
            String::new()
        };
        let sql = format!(
            "SELECT {} FROM {} {filter} ORDER BY {key}",
            table.column_list(),
            table.name
        );
        let conn = self.conn();
        let mut statement = conn.prepare_cached(&sql)?;
        let mut rows = match after {
            Some(key) => statement.query([key])?,
            None => statement.query([])?,
        };
        let mut batch = Vec::new();
        let mut budget = BatchBudget::default();
        while let Some(row) = rows.next()? {
            let copied = (0..table.columns.len())
                .map(|i| value_at(row, table, i))
                .collect::<Result<CopyRow>>()?;
            let more = budget.take(&copied);
            batch.push(copied);
            if !more {
                break;
            }
        }
        Ok(batch)
    }

    /// Ends the snapshot.
    pub(crate) fn finish(&self) -> Result<()> {
        self.conn().execute_batch("COMMIT")?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A migration that adds a column must add it to the copy too, or
    /// `store copy` refuses every store (see `check_columns`).
    #[test]
    fn the_copy_knows_every_column_of_the_copied_tables() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("db.sqlite")).unwrap();
        for table in COPIED_TABLES {
            let mut found = store.copy_columns(table).unwrap();
            let mut known: Vec<String> = table.columns.iter().map(|c| c.name.into()).collect();
            found.sort();
            known.sort();
            assert_eq!(found, known, "{}", table.name);
        }
    }
}
