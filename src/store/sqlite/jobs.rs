//! Jobs: a query sent without waiting is a stored message like any other;
//! these are the reads that follow one to its end, and the lookup of ids by
//! a prefix (what people type).

use rusqlite::{OptionalExtension, params};

use super::ids::{IdKind, checked_prefix, the_one};
use super::messages::{MESSAGE_COLUMNS, message_from_row};
use super::model::{Message, MessageStatus};
use super::{Result, SqliteStore};

impl SqliteStore {
    /// The full id that `prefix` (8 characters or more) stands for; a full
    /// id is returned as it is when it exists.
    pub fn resolve_id(&self, kind: IdKind, prefix: &str) -> Result<String> {
        let prefix = checked_prefix(kind, prefix)?;
        // A range, not LIKE: it uses the primary key, on any SQL database.
        let upper = format!("{prefix}\u{10FFFF}");
        let found: Vec<String> = self.read(|conn| {
            let mut statement = conn.prepare_cached(&format!(
                "SELECT id FROM {} WHERE id >= ?1 AND id < ?2 ORDER BY id LIMIT 2",
                kind.table()
            ))?;
            let rows = statement.query_map(params![prefix, upper], |r| r.get(0))?;
            Ok(rows.collect::<rusqlite::Result<Vec<String>>>()?)
        })?;
        the_one(kind, prefix, found)
    }

    /// The reply (or error) that closed a query, if it is closed.
    pub fn outcome_of(&self, query_id: &str) -> Result<Option<Message>> {
        self.read(|conn| {
            Ok(conn
                .query_row(
                    &format!(
                        "SELECT {MESSAGE_COLUMNS} FROM messages WHERE reply_to = ?1 ORDER BY seq LIMIT 1"
                    ),
                    [query_id],
                    message_from_row,
                )
                .optional()?)
        })
    }

    /// The outcomes of `query_ids` that are closed, in one read
    /// transaction (one snapshot).
    pub fn outcomes_of(&self, query_ids: &[String]) -> Result<Vec<Message>> {
        self.read(|conn| {
            let mut statement = conn.prepare_cached(&format!(
                "SELECT {MESSAGE_COLUMNS} FROM messages WHERE reply_to = ?1 ORDER BY seq LIMIT 1"
            ))?;
            let mut found = Vec::new();
            for id in query_ids {
                if let Some(outcome) = statement.query_row([id], message_from_row).optional()? {
                    found.push(outcome);
                }
            }
            Ok(found)
        })
    }

    /// The newest queries (jobs), newest first, optionally of one status.
    pub fn recent_queries(
        &self,
        status: Option<MessageStatus>,
        module: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Message>> {
        super::limits::check_page("limit", limit)?;
        self.read(|conn| {
            let mut statement = conn.prepare_cached(&format!(
                "SELECT {MESSAGE_COLUMNS} FROM messages
                 WHERE role = 'query' AND (?1 IS NULL OR status = ?1)
                   AND (?3 IS NULL OR conversation_id IN
                        (SELECT id FROM conversations WHERE source = ?3 OR target = ?3))
                 ORDER BY created_at DESC, id DESC LIMIT ?2"
            ))?;
            let rows = statement.query_map(
                params![status.map(|s| s.as_str()), limit as i64, module],
                message_from_row,
            )?;
            Ok(rows.collect::<rusqlite::Result<Vec<Message>>>()?)
        })
    }
}
