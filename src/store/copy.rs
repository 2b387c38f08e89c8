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

/// What a column holds. Booleans are BOOLEAN on PostgreSQL and INTEGER
/// 0/1 on SQLite; integers are 64-bit on both.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CopyKind {
    Text,
    Integer,
    Real,
    Boolean,
}

#[derive(Debug)]
pub struct CopyColumn {
    pub name: &'static str,
    pub kind: CopyKind,
}

/// A table the copy moves. Its first column is the key: unique, and the
/// order batches are read in.
#[derive(Debug)]
pub struct CopyTable {
    pub name: &'static str,
    /// What its rows are called in reports.
    pub noun: &'static str,
    pub columns: &'static [CopyColumn],
    /// Whether the key is a PostgreSQL identity column (`GENERATED ALWAYS`):
    /// inserted with `OVERRIDING SYSTEM VALUE`, its sequence moved past
    /// the largest copied value afterwards.
    pub identity_key: bool,
}

impl CopyTable {
    pub fn key(&self) -> &CopyColumn {
        &self.columns[0]
    }

    /// The column names, comma-separated, in the row order.
    pub fn column_list(&self) -> String {
        self.columns
            .iter()
            .map(|c| c.name)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

const fn text(name: &'static str) -> CopyColumn {
    CopyColumn {
        name,
        kind: CopyKind::Text,
    }
}
const fn integer(name: &'static str) -> CopyColumn {
    CopyColumn {
        name,
        kind: CopyKind::Integer,
    }
}
const fn real(name: &'static str) -> CopyColumn {
    CopyColumn {
        name,
        kind: CopyKind::Real,
    }
}
const fn boolean(name: &'static str) -> CopyColumn {
    CopyColumn {
        name,
        kind: CopyKind::Boolean,
    }
}

pub const CONVERSATIONS: CopyTable = CopyTable {
    name: "conversations",
    noun: "conversations",
    columns: &[
        text("id"),
        text("source"),
        text("target"),
        text("title"),
        text("status"),
        integer("created_at"),
        integer("updated_at"),
        text("backend_session"),
        text("metadata"),
        integer("message_count"),
    ],
    identity_key: false,
};

/// Every column of `messages` (the schema check in [`copy_between`] makes
/// sure of it on both sides): `pos` is the global order followers page by.
pub const MESSAGES: CopyTable = CopyTable {
    name: "messages",
    noun: "messages",
    columns: &[
        integer("pos"),
        text("id"),
        text("conversation_id"),
        integer("seq"),
        text("sender"),
        text("role"),
        text("content"),
        integer("created_at"),
        text("status"),
        text("instance_id"),
        integer("duration_ms"),
        text("usage"),
        real("cost_usd"),
        text("template_version"),
        text("idempotency_key"),
        text("hop_chain"),
        text("context_note"),
        text("error"),
        text("reply_to"),
        text("owner"),
        text("tool_uses"),
        integer("api_duration_ms"),
        integer("num_turns"),
        integer("input_tokens"),
        integer("output_tokens"),
        text("failure_cause"),
        text("module_commit"),
        boolean("module_dirty"),
        text("reuse_key"),
        text("reused_from"),
        boolean("routed"),
        text("route"),
        text("claimed_by"),
        integer("lease_until"),
        integer("retries"),
        text("prefer_node"),
    ],
    identity_key: true,
};

pub const ACCESS_TOKENS: CopyTable = CopyTable {
    name: "access_tokens",
    noun: "access tokens",
    columns: &[
        text("id"),
        text("secret_hash"),
        text("module"),
        boolean("admin"),
        text("label"),
        integer("created_at"),
        integer("expires_at"),
        integer("revoked_at"),
        integer("last_used_at"),
    ],
    identity_key: false,
};

/// Questions back (issue 29): the question's and answer's messages are
/// in `messages`; this says which query each belongs to and its state.
pub const ASK_BACKS: CopyTable = CopyTable {
    name: "ask_backs",
    noun: "questions back",
    columns: &[
        text("ask_id"),
        text("query_id"),
        text("state"),
        text("answer_id"),
        integer("created_at"),
        integer("closed_at"),
    ],
    identity_key: false,
};

/// Which query an answering agent asked (`ask_module`) while answering
/// which: the tree `jobs show` draws.
pub const QUERY_PARENTS: CopyTable = CopyTable {
    name: "query_parents",
    noun: "child questions",
    columns: &[text("query_id"), text("parent_id")],
    identity_key: false,
};

/// The tables copied, parents first (messages reference conversations).
pub const COPIED_TABLES: [&CopyTable; 5] = [
    &CONVERSATIONS,
    &MESSAGES,
    &ACCESS_TOKENS,
    &ASK_BACKS,
    &QUERY_PARENTS,
];

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
