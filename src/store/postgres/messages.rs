//! Messages on PostgreSQL: the query/reply life cycle, notes, recovery of
//! interrupted queries, and the reuse lookup of commit-pinned replies.
//! The same steps as `sqlite/messages.rs`, in the same order, so that both
//! backends mean the same thing.

use super::cached::Cached;

use super::PostgresStore;
use super::flight::{CAP_LOCK, CONVERSATION_LOCK, DB_NOW_MS, LOCK_KEYS, Step, in_one_flight};
use super::rows::{load_conversation, load_message, message_from_row};
use crate::store::columns::MESSAGE_COLUMNS;
use crate::store::limits::{self, MAX_NOTE_BYTES, clip};
use crate::store::model::{BeginQuery, Message, MessageStatus, NewQuery, Role};
use crate::store::records::QueryCap;
use crate::store::{Result, StoreError, rules};

/// Inserts a message into conversation `$2` with the next sequence number
/// and the database's time, bumping the conversation in the same statement,
/// when the conversation exists and is not archived. Parameters: `$1` id,
/// `$2` conversation, `$3` sender, `$4` role, `$5` content, `$6` status,
/// `$7` hop chain (JSON). Used for notes; queries and outcomes have their
/// own statements (they check more in the same statement).
pub(super) fn insert_note_sql() -> &'static str {
    // Built once: the text is the statement cache's key on every write.
    static SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        format!(
        "WITH bump AS (
             UPDATE conversations SET updated_at = {DB_NOW_MS}, message_count = message_count + 1
             WHERE id = $2 RETURNING id)
         INSERT INTO messages (id, conversation_id, seq, sender, role, content, created_at, status, hop_chain)
         SELECT $1, bump.id, (SELECT COALESCE(MAX(seq), 0) + 1 FROM messages WHERE conversation_id = $2),
                $3, $4, $5, {DB_NOW_MS}, $6, $7
         FROM bump
         RETURNING {MESSAGE_COLUMNS}"
    )
    });
    &SQL
}

/// Stores a query (see [`PostgresStore::begin_query_capped`]): only when
/// the conversation exists and is not archived, its idempotency key (`$9`)
/// is new, and no cap is reached (caps as arrays: `$10` window length,
/// `$11` target, `$12` source or NULL, `$13` max; each window placed by the
/// database's clock). Writes nothing otherwise.
fn insert_query_sql() -> &'static str {
    // Built once: the text is the statement cache's key on every write.
    static SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        format!(
        "WITH dup AS (
             SELECT 1 FROM messages WHERE conversation_id = $2 AND idempotency_key = $9),
         over AS (
             SELECT 1 FROM unnest($10::bigint[], $11::text[], $12::text[], $13::bigint[]) AS cap(win, target, source, max)
             WHERE (SELECT COUNT(*) FROM messages m JOIN conversations c ON c.id = m.conversation_id
                    WHERE m.role = 'query' AND m.created_at >= {DB_NOW_MS} - ({DB_NOW_MS} % cap.win)
                      AND c.target = cap.target
                      AND (cap.source IS NULL OR c.source = cap.source)) >= cap.max),
         bump AS (
             UPDATE conversations SET updated_at = {DB_NOW_MS}, message_count = message_count + 1
             WHERE id = $2 AND status <> 'archived'
               AND NOT EXISTS (SELECT 1 FROM dup) AND NOT EXISTS (SELECT 1 FROM over)
             RETURNING id)
         INSERT INTO messages (id, conversation_id, seq, sender, role, content, created_at, status,
                               owner, idempotency_key, hop_chain, template_version, context_note)
         SELECT $1, bump.id, (SELECT COALESCE(MAX(seq), 0) + 1 FROM messages WHERE conversation_id = $2),
                $3, 'query', $4, {DB_NOW_MS}, 'pending', $5, $9, $6, $7, $8
         FROM bump
         RETURNING {MESSAGE_COLUMNS}"
    )
    });
    &SQL
}

impl PostgresStore {
    /// Stores a query as pending, or finds the earlier one with the same
    /// idempotency key (see [`BeginQuery`]).
    pub async fn begin_query(&self, q: &NewQuery) -> Result<BeginQuery> {
        self.begin_query_capped(q, &[]).await
    }

    /// [`PostgresStore::begin_query`], refused when a cap is reached. One
    /// round trip: the conversation's lock (and each cap's) and the
    /// statement that checks and stores, in one flight (see `flight.rs`).
    pub async fn begin_query_capped(&self, q: &NewQuery, caps: &[QueryCap]) -> Result<BeginQuery> {
        let context_note = limits::check_new_query(q)?;
        let (namespaces, keys) = query_locks(&q.conversation_id, caps);
        let windows: Vec<i64> = caps.iter().map(|c| c.window_ms.max(1)).collect();
        let targets: Vec<&str> = caps.iter().map(|c| c.scope.source_and_target().1).collect();
        let sources: Vec<Option<&str>> =
            caps.iter().map(|c| c.scope.source_and_target().0).collect();
        let maxima: Vec<i64> = caps.iter().map(|c| c.max).collect();
        let id = uuid::Uuid::new_v4().to_string();
        let hop_chain = serde_json::to_string(&q.hop_chain).unwrap_or_else(|_| "[]".into());
        let client = self.client().await?;
        let insert = insert_query_sql();
        let rows = in_one_flight(
            &client,
            Step {
                sql: LOCK_KEYS,
                params: &[&namespaces, &keys],
            },
            Step {
                sql: insert,
                params: &[
                    &id,
                    &q.conversation_id,
                    &q.sender,
                    &q.content,
                    &q.owner,
                    &hop_chain,
                    &q.template_version,
                    &context_note,
                    &q.idempotency_key,
                    &windows,
                    &targets,
                    &sources,
                    &maxima,
                ],
            },
        )
        .await?;
        match rows.first() {
            Some(row) => Ok(BeginQuery::Fresh(message_from_row(row)?)),
            None => why_not_stored(&client, q, caps).await,
        }
    }

    /// Records which template rendered a query and what it left out.
    pub async fn set_query_context(
        &self,
        query_id: &str,
        template_version: &str,
        context_note: Option<&str>,
    ) -> Result<()> {
        limits::check_len("template_version", template_version, limits::MAX_NAME_BYTES)?;
        let context_note = context_note.map(|n| clip(n, MAX_NOTE_BYTES).into_owned());
        let changed = self
            .client()
            .await?
            .run(
                "UPDATE messages SET template_version = $2, context_note = $3 WHERE id = $1",
                &[&query_id, &template_version, &context_note],
            )
            .await?;
        if changed == 0 {
            return Err(StoreError::UnknownMessage(query_id.to_string()));
        }
        Ok(())
    }

    /// A note (something said outside the query/reply cycle), in one
    /// round trip under its conversation's lock.
    pub async fn add_note(
        &self,
        conversation_id: &str,
        sender: &str,
        content: &str,
    ) -> Result<Message> {
        limits::check_name("sender", sender)?;
        limits::check_len("note", content, MAX_NOTE_BYTES)?;
        let id = uuid::Uuid::new_v4().to_string();
        let client = self.client().await?;
        let insert = insert_note_sql();
        let rows = in_one_flight(
            &client,
            Step {
                sql: LOCK_KEYS,
                params: &[&vec![CONVERSATION_LOCK], &vec![conversation_id]],
            },
            Step {
                sql: insert,
                params: &[
                    &id,
                    &conversation_id,
                    &sender,
                    &Role::Note.as_str(),
                    &content,
                    &MessageStatus::Delivered.as_str(),
                    &"[]",
                ],
            },
        )
        .await?;
        match rows.first() {
            Some(row) => message_from_row(row),
            None => Err(StoreError::UnknownConversation(conversation_id.to_string())),
        }
    }

    /// Marks as interrupted every pending query whose server is gone: not
    /// `this_server`, and not alive by the servers' rule (`servers.rs`).
    /// Returns how many were marked.
    ///
    /// One statement decides for every query at once, in one snapshot: a
    /// query it can see was stored by a server whose registration it sees
    /// too, so a server that registers and dispatches meanwhile is never
    /// judged dead. A query whose outcome is being stored right now is
    /// locked: the statement waits for it and then finds it closed.
    pub async fn recover_interrupted(
        &self,
        this_server: &str,
        stale_after_ms: i64,
    ) -> Result<usize> {
        let client = self.client().await?;
        let gone_here = super::servers::gone_on_this_host(&client).await?;
        let marked = client
            .run(
                &format!(
                    // A routed question is not its asker's to end: a node
                    // holds it under a lease (or will claim it), and its
                    // answer is kept for the asker's job either way.
                    "UPDATE messages m SET status = 'interrupted', error = $3
                     WHERE m.status = 'pending' AND NOT m.routed AND COALESCE(m.owner, '') <> $1
                       AND (m.owner = ANY($2) OR NOT EXISTS (
                           SELECT 1 FROM servers s
                           WHERE s.id = m.owner AND NOT s.stopped
                             AND s.last_heartbeat >= {DB_NOW_MS} - $4::bigint))"
                ),
                &[
                    &this_server,
                    &gone_here,
                    &"the server that dispatched it stopped before an answer came back",
                    &stale_after_ms,
                ],
            )
            .await?;
        Ok(marked as usize)
    }

    /// The newest delivered reply stored under `reuse_key` at `commit` with
    /// a clean folder, if any (see the SQLite backend for why only
    /// original answers count).
    pub async fn reusable_reply(&self, reuse_key: &str, commit: &str) -> Result<Option<Message>> {
        let row = self
            .client()
            .await?
            .row_opt(
                &format!(
                    "SELECT {MESSAGE_COLUMNS} FROM messages
                     WHERE reuse_key = $1 AND module_commit = $2 AND module_dirty = FALSE
                       AND role = 'reply' AND status = 'delivered' AND reused_from IS NULL
                     ORDER BY pos DESC LIMIT 1"
                ),
                &[&reuse_key, &commit],
            )
            .await?;
        row.map(|row| message_from_row(&row)).transpose()
    }
}

/// The advisory locks a new query takes, in order: its conversation's,
/// then each cap's scope, sorted (see `flight.rs`).
fn query_locks(conversation_id: &str, caps: &[QueryCap]) -> (Vec<i32>, Vec<String>) {
    let mut scopes: Vec<String> = caps
        .iter()
        .map(|c| match c.scope.source_and_target() {
            (Some(source), target) => format!("pair {source} {target}"),
            (None, target) => format!("module {target}"),
        })
        .collect();
    scopes.sort();
    scopes.dedup();
    let namespaces = std::iter::once(CONVERSATION_LOCK)
        .chain(scopes.iter().map(|_| CAP_LOCK))
        .collect();
    let keys = std::iter::once(conversation_id.to_string())
        .chain(scopes)
        .collect();
    (namespaces, keys)
}

/// Why a query was not stored (the statement found a condition unmet):
/// read after the fact, in the order the SQLite backend checks them.
async fn why_not_stored(
    client: &impl Cached,
    q: &NewQuery,
    caps: &[QueryCap],
) -> Result<BeginQuery> {
    let conversation = load_conversation(client, &q.conversation_id).await?;
    if let Some(key) = &q.idempotency_key {
        let earlier = client
            .row_opt(
                "SELECT id FROM messages WHERE conversation_id = $1 AND idempotency_key = $2",
                &[&q.conversation_id, key],
            )
            .await?;
        if let Some(row) = earlier {
            let id: String = row.try_get(0)?;
            let query = load_message(client, &id).await?;
            let outcome = client
                .row_opt(
                    &format!("SELECT {MESSAGE_COLUMNS} FROM messages WHERE reply_to = $1"),
                    &[&id],
                )
                .await?
                .map(|row| message_from_row(&row))
                .transpose()?;
            return Ok(BeginQuery::Duplicate {
                query,
                outcome: outcome.map(Box::new),
            });
        }
    }
    rules::refuse_archived(&conversation)?;
    for cap in caps {
        let (source, target) = cap.scope.source_and_target();
        let row = client
            .row(cap_count_sql(), &[&cap.window_ms.max(1), &target, &source])
            .await?;
        rules::check_cap(cap, row.try_get(0)?, row.try_get(1)?, row.try_get(2)?)?;
    }
    Err(StoreError::Busy {
        message: format!(
            "the query to conversation {} was not stored (it changed meanwhile); send it again",
            q.conversation_id
        ),
    })
}

/// The queries of a cap's scope in its current window (`$1` the window's
/// length, `$2` target, `$3` source or NULL), with the window's start and
/// the database's time; SQLite's is in `sqlite/messages.rs`.
fn cap_count_sql() -> &'static str {
    static SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        format!(
            "WITH win AS (SELECT now, now - (now % $1::bigint) AS since
                          FROM (SELECT {DB_NOW_MS} AS now) AS clock)
             SELECT (SELECT COUNT(*) FROM messages m JOIN conversations c ON c.id = m.conversation_id
                     WHERE m.role = 'query' AND m.created_at >= win.since AND c.target = $2
                       AND ($3::text IS NULL OR c.source = $3)),
                    win.since, win.now
             FROM win"
        )
    });
    &SQL
}
