//! Full-text search over message contents (FTS5).
//!
//! The index is brought up to date in batches, not by each message's own
//! write: a stored message's `pos` goes into `messages_fts_pending` (one
//! small row), and its words go into the index when the writer thread is
//! between batches (`upkeep.rs`) or, at the latest, when a search runs.
//! Indexing in the write itself cost about a third of the pages each
//! message's commit wrote (FTS5 writes a segment per transaction).

use rusqlite::{Connection, OptionalExtension, Transaction, params};

use super::error::in_row;
use super::limits::{self, MAX_SEARCH_QUERY_BYTES};
use super::model::SearchHit;
use super::{Result, SqliteStore, StoreError};
use crate::store::decode::message_column;

/// Turns what a person typed into an FTS5 query that cannot be a syntax
/// error: every word becomes a quoted phrase, and all must match.
///
/// Inside a quoted phrase FTS5 gives meaning only to `"` (dropped here) and
/// to NUL, which ends its query text early ("unterminated string"); control
/// characters are never part of a word, so they separate words like spaces.
fn fts_query(text: &str) -> Option<String> {
    let terms: Vec<String> = text
        .split(|c: char| c.is_whitespace() || c.is_control())
        .map(|w| w.replace('"', ""))
        .filter(|w| !w.is_empty())
        .map(|w| format!("\"{w}\""))
        .collect();
    (!terms.is_empty()).then(|| terms.join(" "))
}

impl SqliteStore {
    /// Messages containing every word of `query`, newest first.
    ///
    /// Newest first, not by relevance: in a log of conversations the recent
    /// match is usually the one wanted, and FTS5 can walk its index in rowid
    /// order and stop at `limit`, where ranking would score every match (a
    /// common word in a million messages took 0.4 s to rank).
    pub fn search(
        &self,
        query: &str,
        module: Option<&str>,
        limit: usize,
    ) -> Result<Vec<SearchHit>> {
        limits::check_len("query", query, MAX_SEARCH_QUERY_BYTES)?;
        limits::check_opt_len("module", module, limits::MAX_NAME_BYTES)?;
        limits::check_page("limit", limit)?;
        let fts = fts_query(query).ok_or(StoreError::EmptySearch)?;
        // Everything stored before the search is searched.
        if self.read(has_pending)? {
            self.write(index_pending)?;
        }
        self.read(|conn| {
            let mut statement = conn.prepare_cached(
                "SELECT m.conversation_id, m.id, m.seq, m.role, m.sender, c.source, c.target,
                        snippet(messages_fts, 0, '[', ']', '…', 16), m.created_at
                 FROM messages_fts
                 JOIN messages m ON m.pos = messages_fts.rowid
                 JOIN conversations c ON c.id = m.conversation_id
                 WHERE messages_fts MATCH ?1 AND (?2 IS NULL OR c.source = ?2 OR c.target = ?2)
                 ORDER BY messages_fts.rowid DESC LIMIT ?3",
            )?;
            let hits = statement
                .query_map(params![fts, module, limit as i64], |r| {
                    let message_id: String = r.get(1)?;
                    let role: String = r.get(3)?;
                    Ok(SearchHit {
                        role: in_row(3, message_column(&message_id, "role").parsed(&role))?,
                        conversation_id: r.get(0)?,
                        message_id,
                        seq: r.get(2)?,
                        sender: r.get(4)?,
                        source: r.get(5)?,
                        target: r.get(6)?,
                        snippet: r.get(7)?,
                        created_at: r.get(8)?,
                    })
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(hits)
        })
    }
}

/// Whether stored messages wait to be indexed.
fn has_pending(conn: &Connection) -> Result<bool> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM messages_fts_pending LIMIT 1")?
        .query_row([], |_| Ok(()))
        .optional()?
        .is_some())
}

/// Indexes the messages stored since the last time (inside `tx`).
pub(super) fn index_pending(tx: &Transaction<'_>) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO messages_fts (rowid, content)
         SELECT m.pos, m.content FROM messages_fts_pending p JOIN messages m ON m.pos = p.pos
         ORDER BY p.pos",
    )?
    .execute([])?;
    tx.prepare_cached("DELETE FROM messages_fts_pending")?
        .execute([])?;
    Ok(())
}
