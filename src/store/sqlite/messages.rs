//! Messages: the query/reply life cycle, reading windows, following.

use rusqlite::{OptionalExtension, Row, Transaction, params};

use super::conversations::load_conversation;
use super::error::in_row;
use super::limits::{self, MAX_NOTE_BYTES, clip};
use super::model::{BeginQuery, Message, MessageStatus, NewQuery, Outcome, Role};
use super::{Result, SqliteStore, StoreError, now_ms};
use crate::store::decode::message_column;
use crate::store::outcome_write::OutcomeWrite;
use crate::store::records::QueryCap;
use crate::store::rules;

pub(super) use crate::store::columns::{MESSAGE_COLUMNS, message_columns_of_m};

/// The queries of a cap's scope since its start (`?1` since, `?2` target,
/// `?3` source or NULL); PostgreSQL's is in `postgres/messages.rs`.
const CAP_COUNT_SQL: &str = "SELECT COUNT(*) FROM messages m JOIN conversations c ON c.id = m.conversation_id
     WHERE m.role = 'query' AND m.created_at >= ?1 AND c.target = ?2 AND (?3 IS NULL OR c.source = ?3)";

pub(super) fn message_from_row(row: &Row<'_>) -> rusqlite::Result<Message> {
    message_at(row, 0)
}

/// Reads a message whose [`MESSAGE_COLUMNS`] start at column `o`.
/// A stored value that does not decode is an error naming the message and
/// the column (see `store/decode.rs`).
pub(super) fn message_at(row: &Row<'_>, o: usize) -> rusqlite::Result<Message> {
    let id: String = row.get(o)?;
    let role: String = row.get(o + 4)?;
    let status: String = row.get(o + 7)?;
    let usage: Option<String> = row.get(o + 10)?;
    let hop_chain: String = row.get(o + 14)?;
    let tool_uses: String = row.get(o + 19)?;
    let column = |name| message_column(&id, name);
    Ok(Message {
        role: in_row(o + 4, column("role").parsed(&role))?,
        status: in_row(o + 7, column("status").parsed(&status))?,
        usage: in_row(o + 10, column("usage").json_opt(usage.as_deref()))?,
        hop_chain: in_row(o + 14, column("hop_chain").json(&hop_chain))?,
        tool_uses: in_row(o + 19, column("tool_uses").json(&tool_uses))?,
        conversation_id: row.get(o + 1)?,
        seq: row.get(o + 2)?,
        sender: row.get(o + 3)?,
        content: row.get(o + 5)?,
        created_at: row.get(o + 6)?,
        instance_id: row.get(o + 8)?,
        duration_ms: row.get(o + 9)?,
        cost_usd: row.get(o + 11)?,
        template_version: row.get(o + 12)?,
        idempotency_key: row.get(o + 13)?,
        context_note: row.get(o + 15)?,
        error: row.get(o + 16)?,
        reply_to: row.get(o + 17)?,
        owner: row.get(o + 18)?,
        module_commit: row.get(o + 20)?,
        module_dirty: row.get(o + 21)?,
        reused_from: row.get(o + 22)?,
        node: row.get(o + 23)?,
        stale: None,
        id,
    })
}

pub(super) fn load_message(conn: &rusqlite::Connection, id: &str) -> Result<Message> {
    // Cached: every insert and every read of a message comes through here,
    // and parsing the statement each time showed in the write path's profile.
    conn.prepare_cached(&format!(
        "SELECT {MESSAGE_COLUMNS} FROM messages WHERE id = ?1"
    ))?
    .query_row([id], message_from_row)
    .optional()?
    .ok_or_else(|| StoreError::UnknownMessage(id.to_string()))
}

/// The fields of a row to insert; the rest are NULL.
pub(super) struct Insert<'a> {
    pub(super) conversation_id: &'a str,
    pub(super) sender: &'a str,
    pub(super) role: Role,
    pub(super) content: &'a str,
    pub(super) status: MessageStatus,
    pub(super) idempotency_key: Option<&'a str>,
    pub(super) hop_chain: &'a [String],
    pub(super) owner: Option<&'a str>,
    pub(super) reply_to: Option<&'a str>,
    pub(super) error: Option<&'a str>,
}

/// What a query or an outcome row carries beyond [`Insert`], written by
/// the same statement (one row write per message instead of an insert and
/// updates of the row just inserted).
#[derive(Default)]
struct Trimmings<'a> {
    /// A query's template and what its prompt left out.
    template_version: Option<&'a str>,
    context_note: Option<&'a str>,
    /// An outcome's ledger, tool uses and module state.
    outcome: Option<&'a OutcomeWrite<'a>>,
    /// The Claude session an outcome leaves its conversation with.
    session: Option<&'a str>,
}

/// Appends a row with the next sequence number and bumps the conversation.
pub(super) fn insert(tx: &Transaction<'_>, row: Insert<'_>) -> Result<Message> {
    insert_with(tx, row, Trimmings::default())
}

fn insert_with(tx: &Transaction<'_>, row: Insert<'_>, more: Trimmings<'_>) -> Result<Message> {
    let id = uuid::Uuid::new_v4().to_string();
    let now = now_ms();
    let seq: i64 = tx
        .prepare_cached(
            "SELECT COALESCE(MAX(seq), 0) + 1 FROM messages WHERE conversation_id = ?1",
        )?
        .query_row([row.conversation_id], |r| r.get(0))?;
    let hop_chain = serde_json::to_string(row.hop_chain).unwrap_or_else(|_| "[]".into());
    let o = more.outcome;
    let module = o.and_then(|o| o.module);
    tx.prepare_cached(
        "INSERT INTO messages (id, conversation_id, seq, sender, role, content, created_at, status, idempotency_key, hop_chain, owner, reply_to, error,
             template_version, context_note, instance_id, duration_ms, usage, cost_usd, api_duration_ms, num_turns, input_tokens, output_tokens,
             failure_cause, tool_uses, module_commit, module_dirty, reuse_key, reused_from)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13,
             ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, COALESCE(?25, '[]'), ?26, ?27, ?28, ?29)",
    )?
    .execute(params![
        id,
        row.conversation_id,
        seq,
        row.sender,
        row.role.as_str(),
        row.content,
        now,
        row.status.as_str(),
        row.idempotency_key,
        hop_chain,
        row.owner,
        row.reply_to,
        row.error,
        more.template_version,
        more.context_note,
        o.and_then(|o| o.instance_id),
        o.map(|o| o.duration_ms),
        o.and_then(|o| o.usage.as_deref()),
        o.and_then(|o| o.cost_usd),
        o.and_then(|o| o.api_duration_ms),
        o.and_then(|o| o.num_turns),
        o.and_then(|o| o.input_tokens),
        o.and_then(|o| o.output_tokens),
        o.and_then(|o| o.cause),
        o.and_then(|o| o.tool_uses.as_deref()),
        module.and_then(|m| m.state.commit.as_deref()),
        module.and_then(|m| m.state.dirty),
        module.and_then(|m| m.reuse_key.as_deref()),
        module.and_then(|m| m.reused_from.as_deref()),
    ])?;
    tx.prepare_cached(
        "UPDATE conversations SET updated_at = ?2, message_count = message_count + 1,
             backend_session = COALESCE(?3, backend_session) WHERE id = ?1",
    )?
    .execute(params![row.conversation_id, now, more.session])?;
    load_message(tx, &id)
}

impl SqliteStore {
    /// Stores a query as pending, or finds the earlier one with the same
    /// idempotency key (see [`BeginQuery`]).
    #[cfg(test)]
    pub fn begin_query(&self, q: &NewQuery) -> Result<BeginQuery> {
        self.begin_query_capped(q, &[])
    }

    /// [`SqliteStore::begin_query`], refused when a cap is reached (the
    /// count is read in the write transaction).
    #[cfg(test)]
    pub fn begin_query_capped(&self, q: &NewQuery, caps: &[QueryCap]) -> Result<BeginQuery> {
        self.write_grouped(begin_query_write(q, caps)?)
    }

    /// [`SqliteStore::begin_query_capped`] for async callers (see
    /// `GroupCommit::write_async`).
    pub(super) async fn begin_query_capped_async(
        &self,
        q: &NewQuery,
        caps: &[QueryCap],
    ) -> Result<BeginQuery> {
        self.group.write_async(begin_query_write(q, caps)?).await
    }

    /// Stores a query's reply or failure and closes the query, in one
    /// transaction. Returns the new reply or error row. (Blocking: the
    /// store's own tests; the backend uses the async form.)
    #[cfg(test)]
    pub fn finish_query(&self, query_id: &str, outcome: &Outcome) -> Result<Message> {
        self.write_grouped(finish_query_write(query_id, outcome))
    }

    /// [`SqliteStore::finish_query`] for async callers.
    pub(super) async fn finish_query_async(
        &self,
        query_id: &str,
        outcome: &Outcome,
    ) -> Result<Message> {
        self.group
            .write_async(finish_query_write(query_id, outcome))
            .await
    }
}

/// The write that stores query `q` (checked first, so a bad query is
/// refused before it is queued).
fn begin_query_write(
    q: &NewQuery,
    caps: &[QueryCap],
) -> Result<impl FnOnce(&Transaction<'_>) -> Result<BeginQuery> + Send + 'static> {
    let context_note = limits::check_new_query(q)?;
    let q = q.clone();
    let caps = caps.to_vec();
    Ok(move |tx: &Transaction<'_>| {
        let conversation = load_conversation(tx, &q.conversation_id)?;
        if let Some(key) = &q.idempotency_key {
            let earlier: Option<String> = tx
                .query_row(
                    "SELECT id FROM messages WHERE conversation_id = ?1 AND idempotency_key = ?2",
                    params![q.conversation_id, key],
                    |r| r.get(0),
                )
                .optional()?;
            if let Some(id) = earlier {
                let query = load_message(tx, &id)?;
                let outcome = tx
                    .query_row(
                        &format!("SELECT {MESSAGE_COLUMNS} FROM messages WHERE reply_to = ?1"),
                        [&id],
                        message_from_row,
                    )
                    .optional()?;
                return Ok(BeginQuery::Duplicate {
                    query,
                    outcome: outcome.map(Box::new),
                });
            }
        }
        rules::refuse_archived(&conversation)?;
        // One machine, one clock: this process's places the windows.
        let now = now_ms();
        for cap in &caps {
            let (source, target) = cap.scope.source_and_target();
            let since_ms = crate::store::window_start(now, cap.window_ms);
            let count: i64 = tx
                .prepare_cached(CAP_COUNT_SQL)?
                .query_row(params![since_ms, target, source], |r| r.get(0))?;
            rules::check_cap(cap, count, since_ms, now)?;
        }
        let query = insert_with(
            tx,
            Insert {
                conversation_id: &q.conversation_id,
                sender: &q.sender,
                role: Role::Query,
                content: &q.content,
                status: MessageStatus::Pending,
                idempotency_key: q.idempotency_key.as_deref(),
                hop_chain: &q.hop_chain,
                owner: Some(&q.owner),
                reply_to: None,
                error: None,
            },
            Trimmings {
                template_version: q.template_version.as_deref(),
                context_note: context_note.as_deref(),
                ..Trimmings::default()
            },
        )?;
        Ok(BeginQuery::Fresh(query))
    })
}

impl SqliteStore {
    /// Records which template rendered a query and what it left out.
    pub fn set_query_context(
        &self,
        query_id: &str,
        template_version: &str,
        context_note: Option<&str>,
    ) -> Result<()> {
        limits::check_len("template_version", template_version, limits::MAX_NAME_BYTES)?;
        let context_note = context_note.map(|n| clip(n, MAX_NOTE_BYTES));
        self.write(|tx| {
            let changed = tx.execute(
                "UPDATE messages SET template_version = ?2, context_note = ?3 WHERE id = ?1",
                params![query_id, template_version, context_note],
            )?;
            if changed == 0 {
                return Err(StoreError::UnknownMessage(query_id.to_string()));
            }
            Ok(())
        })
    }
}

/// The write that stores a query's outcome and closes the query.
fn finish_query_write(
    query_id: &str,
    outcome: &Outcome,
) -> impl FnOnce(&Transaction<'_>) -> Result<Message> + Send + 'static {
    let (query_id, outcome) = (query_id.to_string(), outcome.clone());
    move |tx: &Transaction<'_>| {
        let query_id = query_id.as_str();
        let query = load_message(tx, query_id)?;
        if query.status != MessageStatus::Pending {
            return Err(StoreError::NotPending {
                id: query.id,
                status: query.status.as_str().to_string(),
            });
        }
        let w = OutcomeWrite::of(&outcome);
        let stored = insert_with(
            tx,
            Insert {
                conversation_id: &query.conversation_id,
                sender: w.sender,
                role: w.role,
                content: &w.content,
                status: MessageStatus::Delivered,
                idempotency_key: None,
                hop_chain: &query.hop_chain,
                owner: None,
                reply_to: Some(query_id),
                error: w.error.as_deref(),
            },
            // The ledger's columns are on the outcome row only, so sums
            // over outcomes count each query once.
            Trimmings {
                outcome: Some(&w),
                session: w.session,
                ..Trimmings::default()
            },
        )?;
        tx.prepare_cached(
            "UPDATE messages SET status = ?2, error = COALESCE(?3, error), instance_id = ?4, duration_ms = ?5, usage = ?6, cost_usd = ?7 WHERE id = ?1",
        )?
        .execute(params![
            query_id,
            w.query_status.as_str(),
            stored.error,
            w.instance_id,
            w.duration_ms,
            w.usage,
            w.cost_usd,
        ])?;
        Ok(stored)
    }
}

impl SqliteStore {
    /// A note (something said outside the query/reply cycle).
    pub fn add_note(&self, conversation_id: &str, sender: &str, content: &str) -> Result<Message> {
        limits::check_name("sender", sender)?;
        limits::check_len("note", content, MAX_NOTE_BYTES)?;
        self.write(|tx| {
            load_conversation(tx, conversation_id)?;
            insert(
                tx,
                Insert {
                    conversation_id,
                    sender,
                    role: Role::Note,
                    content,
                    status: MessageStatus::Delivered,
                    idempotency_key: None,
                    hop_chain: &[],
                    owner: None,
                    reply_to: None,
                    error: None,
                },
            )
        })
    }

    /// Marks as interrupted every pending query whose server is gone: not
    /// `this_server`, and not alive by [`SqliteStore::list_servers`]'s rule.
    /// Returns how many were marked.
    pub fn recover_interrupted(&self, this_server: &str, stale_after_ms: i64) -> Result<usize> {
        self.write(|tx| {
            // Read who is alive inside the write transaction: a server that
            // registers and dispatches meanwhile cannot be judged dead.
            let live: Vec<String> = super::servers::servers_in(tx, stale_after_ms)?
                .into_iter()
                .filter(|s| s.alive)
                .map(|s| s.record.id)
                .collect();
            let pending: Vec<(String, Option<String>)> = tx
                .prepare("SELECT id, owner FROM messages WHERE status = 'pending'")?
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<rusqlite::Result<_>>()?;
            let mut marked = 0;
            for (id, owner) in pending {
                let owner = owner.unwrap_or_default();
                if owner == this_server || live.contains(&owner) {
                    continue;
                }
                marked += tx.execute(
                    "UPDATE messages SET status = 'interrupted', error = ?2 WHERE id = ?1 AND status = 'pending'",
                    params![id, "the server that dispatched it stopped before an answer came back"],
                )?;
            }
            Ok(marked)
        })
    }
}
