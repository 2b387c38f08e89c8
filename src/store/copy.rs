//! `store copy`: what a store keeps for good, moved into another store
//! (SQLite to PostgreSQL and back), row for row.
//!
//! What is copied: conversations, messages with every column (the ledger
//! columns and the reuse key too, which [`super::Message`] does not carry),
//! access tokens, and the ask-backs (issue 29: which query each question
//! back belongs to and where it stands, and which queries an answering
//! agent asked as children of another). Jobs are messages, and the ledger is columns of
//! messages, so they come along (the fleet's routing and claim columns
//! too, as they are). Not copied: servers, their instances, control
//! requests and fleet nodes (the runtime state of processes, rebuilt by
//! the processes that use the target); registered modules, which are files in
//! the data dir (`<data dir>/descriptors`), not rows of the store.
//!
//! The copy speaks a row model of its own, the same for every backend:
//! [`COPIED_TABLES`] lists each table's columns and their kinds, and a row
//! is a `Vec<CopyValue>` in that order. Each backend reads a batch of rows
//! after a key and inserts a batch (`sqlite/copy.rs`, `postgres/copy.rs`);
//! this file drives them. The source is read inside one snapshot (a read
//! transaction held to the end), so the copy is of one moment even while
//! others write; the target is written in batches, each its own
//! transaction, so a big store is never one transaction, and memory holds
//! one batch at a time.

use serde::Serialize;

use super::StoreError;
use super::handle::Store;

mod tables;
pub use tables::*;

/// One value of a copied row.
#[derive(Debug, Clone, PartialEq)]
pub enum CopyValue {
    Null,
    Text(String),
    Integer(i64),
    Real(f64),
    Boolean(bool),
}

impl CopyValue {
    /// Roughly what the value takes in memory, for the batch budget.
    fn size(&self) -> usize {
        match self {
            CopyValue::Text(s) => s.len() + 24,
            _ => 16,
        }
    }
}

pub type CopyRow = Vec<CopyValue>;

/// The most rows a batch holds. PostgreSQL takes at most 65,535 parameters
/// in a statement, and a batch is one multi-row INSERT there: 500 rows of
/// the widest table (35 columns) are 17,500.
pub const BATCH_ROWS: usize = 500;
/// The most text a batch holds, about: a batch ends at the row that
/// reaches it. Keeps memory bounded whatever the messages' sizes, and a
/// batch's INSERT well within the store's time bound per operation.
pub const BATCH_BYTES: usize = 4 << 20;

const _: () = assert!(BATCH_ROWS * MESSAGES.columns.len() < 65_535);

/// Keeps adding rows to a batch until it is full by count or by size.
#[derive(Debug, Default)]
pub struct BatchBudget {
    rows: usize,
    bytes: usize,
}

impl BatchBudget {
    /// Counts `row` in; true while the batch may take another.
    pub fn take(&mut self, row: &CopyRow) -> bool {
        self.rows += 1;
        self.bytes += row.iter().map(CopyValue::size).sum::<usize>();
        self.rows < BATCH_ROWS && self.bytes < BATCH_BYTES
    }
}

/// Rows per table of a store: what `store copy` copies and compares.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct CopyCounts {
    pub conversations: u64,
    pub messages: u64,
    /// Access tokens.
    pub tokens: u64,
    /// Questions back (rows of `ask_backs`).
    pub ask_backs: u64,
    /// Child questions (rows of `query_parents`).
    pub query_parents: u64,
}

impl CopyCounts {
    pub fn of(&self, table: &CopyTable) -> u64 {
        match table.name {
            "conversations" => self.conversations,
            "messages" => self.messages,
            "ask_backs" => self.ask_backs,
            "query_parents" => self.query_parents,
            _ => self.tokens,
        }
    }

    pub fn is_empty(&self) -> bool {
        *self == CopyCounts::default()
    }
}

impl std::fmt::Display for CopyCounts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let plural =
            |n: u64, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
        let mut parts = vec![
            plural(self.conversations, "conversation", "conversations"),
            plural(self.messages, "message", "messages"),
            plural(self.tokens, "access token", "access tokens"),
        ];
        // Named only when there are any: most stores have none.
        if self.ask_backs > 0 {
            parts.push(plural(self.ask_backs, "question back", "questions back"));
        }
        if self.query_parents > 0 {
            parts.push(plural(
                self.query_parents,
                "child question",
                "child questions",
            ));
        }
        let last = parts.pop().unwrap_or_default();
        write!(f, "{} and {last}", parts.join(", "))
    }
}

/// What a finished copy did.
#[derive(Debug, Clone, Serialize)]
pub struct CopyReport {
    /// The copied store (a SQLite file or a URL without its password).
    pub from: String,
    pub to: String,
    /// What the target held before and was deleted (`replace`); zero
    /// otherwise.
    pub replaced: CopyCounts,
    /// Rows per table in the source, as of the copy's snapshot.
    pub source: CopyCounts,
    /// Rows per table in the target after the copy.
    pub target: CopyCounts,
}

/// How far a copy has come, after each batch.
#[derive(Debug, Clone, Copy)]
pub struct CopyProgress {
    pub noun: &'static str,
    pub copied: u64,
    pub total: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    #[error("{to} is the store being copied; copy into another store")]
    SameStore { to: String },
    /// The target holds data and replacing it was not asked for.
    #[error("{to} is not empty: it holds {found}")]
    TargetNotEmpty { to: String, found: CopyCounts },
    /// A table's columns are not the ones this claude-comms copies (a
    /// store of another version): copying would lose data.
    #[error(
        "{store}: table {table} has the columns ({found}), not the ones this claude-comms copies ({known}); use the claude-comms that wrote it"
    )]
    Columns {
        store: String,
        table: &'static str,
        found: String,
        known: String,
    },
    /// The copy stopped after writing into the target.
    #[error(
        "copying {noun} into {to} stopped after {copied} of them: {cause}; the target holds a partial copy"
    )]
    Stopped {
        to: String,
        noun: &'static str,
        copied: u64,
        cause: StoreError,
    },
    /// Rows are missing or extra in the target after the copy.
    #[error("the copy into {} does not match: the source holds {}, the target {}", .report.to, .report.source, .report.target)]
    CountsDiffer { report: Box<CopyReport> },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What `copy_between` is asked to do besides copying.
#[derive(Debug, Clone, Copy, Default)]
pub struct CopyOptions {
    /// Delete the target's conversations, messages and access tokens
    /// first, when it has any (`store copy --force`).
    pub replace: bool,
}

/// Copies `source` into `target` (see the module comment); `progress` is
/// told after every batch.
pub async fn copy_between(
    source: &Store,
    target: &Store,
    options: CopyOptions,
    mut progress: impl FnMut(CopyProgress) + Send,
) -> std::result::Result<CopyReport, CopyError> {
    let from = source.location().await?;
    let to = target.location().await?;
    if source.identity().await? == target.identity().await? {
        return Err(CopyError::SameStore { to });
    }
    for table in COPIED_TABLES {
        check_columns(source, &from, table).await?;
        check_columns(target, &to, table).await?;
    }
    let found = target.copy_counts().await?;
    let replaced = if found.is_empty() {
        CopyCounts::default()
    } else if options.replace {
        target.copy_clear().await?;
        found
    } else {
        return Err(CopyError::TargetNotEmpty { to, found });
    };

    let snapshot = source.copy_snapshot().await?;
    let source_counts = snapshot.counts().await?;
    for table in COPIED_TABLES {
        let total = source_counts.of(table);
        let mut copied = 0u64;
        let stopped = |copied: u64, cause: StoreError| CopyError::Stopped {
            to: to.clone(),
            noun: table.noun,
            copied,
            cause,
        };
        let mut after = None;
        loop {
            let rows = snapshot.read_batch(table, after.take()).await?;
            let Some(last) = rows.last() else { break };
            after = last.first().cloned();
            let n = rows.len() as u64;
            target
                .copy_insert(table, rows)
                .await
                .map_err(|e| stopped(copied, e))?;
            copied += n;
            progress(CopyProgress {
                noun: table.noun,
                copied,
                total,
            });
        }
        if table.identity_key {
            target
                .copy_finish_table(table)
                .await
                .map_err(|e| stopped(copied, e))?;
        }
    }
    snapshot.finish().await?;

    let report = CopyReport {
        from,
        to,
        replaced,
        source: source_counts,
        target: target.copy_counts().await?,
    };
    if report.source != report.target {
        return Err(CopyError::CountsDiffer {
            report: Box::new(report),
        });
    }
    Ok(report)
}

/// Refuses a store whose `table` has other columns than the copy knows.
async fn check_columns(
    store: &Store,
    shown: &str,
    table: &'static CopyTable,
) -> std::result::Result<(), CopyError> {
    let found = store.copy_columns(table).await?;
    let known: Vec<&str> = table.columns.iter().map(|c| c.name).collect();
    let mut sorted_found: Vec<&str> = found.iter().map(String::as_str).collect();
    let mut sorted_known = known.clone();
    sorted_found.sort_unstable();
    sorted_known.sort_unstable();
    if sorted_found != sorted_known {
        return Err(CopyError::Columns {
            store: shown.to_string(),
            table: table.name,
            found: found.join(", "),
            known: known.join(", "),
        });
    }
    Ok(())
}

/// A value read from `table.column` that is not of the column's kind.
pub(crate) fn wrong_kind(table: &CopyTable, column: &CopyColumn, found: &str) -> StoreError {
    StoreError::Database {
        message: format!(
            "{}.{} holds {found}, not {:?}; the copy stops rather than change it",
            table.name, column.name, column.kind
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch_of(row: &CopyRow) -> usize {
        let mut budget = BatchBudget::default();
        let mut rows = 1;
        while budget.take(row) {
            rows += 1;
        }
        rows
    }

    #[test]
    fn a_batch_ends_at_its_rows_or_its_bytes_whichever_comes_first() {
        assert_eq!(batch_of(&vec![CopyValue::Integer(1); 30]), BATCH_ROWS);
        let mib = vec![CopyValue::Text("x".repeat(1 << 20))];
        assert_eq!(batch_of(&mib), 4, "4 MiB a batch");
        let huge = vec![CopyValue::Text("x".repeat(BATCH_BYTES * 2))];
        assert_eq!(batch_of(&huge), 1, "a row bigger than a batch is a batch");
    }

    #[test]
    fn counts_read_as_people_say_them() {
        let mut counts = CopyCounts {
            conversations: 1,
            messages: 0,
            tokens: 2,
            ..Default::default()
        };
        assert_eq!(
            counts.to_string(),
            "1 conversation, 0 messages and 2 access tokens"
        );
        counts.ask_backs = 3;
        counts.query_parents = 1;
        assert_eq!(
            counts.to_string(),
            "1 conversation, 0 messages, 2 access tokens, 3 questions back and 1 child question"
        );
    }
}
