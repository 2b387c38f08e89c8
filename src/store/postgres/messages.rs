//! Messages on PostgreSQL: the query/reply life cycle, notes, recovery of
//! interrupted queries, and the reuse lookup of commit-pinned replies.
//! The same steps as `sqlite/messages.rs`, in the same order, so that both
//! backends mean the same thing.

use super::cached::Cached;
use deadpool_postgres::{GenericClient, Transaction};

use super::rows::{load_conversation, load_message, message_from_row};
use super::{PostgresStore, lock_message_writes};
use crate::store::columns::MESSAGE_COLUMNS;
use crate::store::limits::{self, MAX_NOTE_BYTES, clip};
use crate::store::model::{
    BeginQuery, ConversationStatus, Message, MessageStatus, NewQuery, Outcome, Role,
};
use crate::store::records::{QueryCap, tokens_of};
use crate::store::{ReplyModule, Result, StoreError, now_ms};

/// The fields of a row to insert; the rest are NULL.
struct Insert<'a> {
    conversation_id: &'a str,
    sender: &'a str,
    role: Role,
    content: &'a str,
    status: MessageStatus,
    idempotency_key: Option<&'a str>,
    hop_chain: &'a [String],
    owner: Option<&'a str>,
    reply_to: Option<&'a str>,
    error: Option<&'a str>,
    template_version: Option<&'a str>,
    context_note: Option<&'a str>,
}

/// Appends a row with the next sequence number and bumps the conversation.
/// The caller holds the message-write lock.
async fn insert(tx: &Transaction<'_>, row: Insert<'_>) -> Result<Message> {
    let id = uuid::Uuid::new_v4().to_string();
    let now = now_ms();
    let hop_chain = serde_json::to_string(row.hop_chain).unwrap_or_else(|_| "[]".into());
    // The conversation is bumped in the same statement (one round trip).
    let inserted = tx
        .row(
            &format!(
                "WITH bump AS (UPDATE conversations SET updated_at = $6, message_count = message_count + 1 WHERE id = $2)
                 INSERT INTO messages (id, conversation_id, seq, sender, role, content, created_at, status, idempotency_key, hop_chain, owner, reply_to, error, template_version, context_note)
                 VALUES ($1, $2, (SELECT COALESCE(MAX(seq), 0) + 1 FROM messages WHERE conversation_id = $2),
                         $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
                 RETURNING {MESSAGE_COLUMNS}"
            ),
            &[
                &id,
                &row.conversation_id,
                &row.sender,
                &row.role.as_str(),
                &row.content,
                &now,
                &row.status.as_str(),
                &row.idempotency_key,
                &hop_chain,
                &row.owner,
                &row.reply_to,
                &row.error,
                &row.template_version,
                &row.context_note,
            ],
        )
        .await?;
    message_from_row(&inserted)
}

impl PostgresStore {
    /// Stores a query as pending, or finds the earlier one with the same
    /// idempotency key (see [`BeginQuery`]).
    pub async fn begin_query(&self, q: &NewQuery) -> Result<BeginQuery> {
        self.begin_query_capped(q, &[]).await
    }

    /// [`PostgresStore::begin_query`], refused when a cap is reached.
    pub async fn begin_query_capped(&self, q: &NewQuery, caps: &[QueryCap]) -> Result<BeginQuery> {
        let context_note = limits::check_new_query(q)?;
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let conversation = load_conversation(&tx, &q.conversation_id).await?;
        // The message-write lock is held to the commit, so it is taken as
        // late as it can be: before the idempotency look-up when there is
        // a key (two sends with one key must not both insert), else before
        // the caps are counted (a cap holds exactly under it).
        if q.idempotency_key.is_some() {
            lock_message_writes(&tx).await?;
        }
        if let Some(key) = &q.idempotency_key {
            let earlier = tx
                .row_opt(
                    "SELECT id FROM messages WHERE conversation_id = $1 AND idempotency_key = $2",
                    &[&q.conversation_id, key],
                )
                .await?;
            if let Some(row) = earlier {
                let id: String = row.try_get(0)?;
                let query = load_message(&tx, &id).await?;
                let outcome = tx
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
        if conversation.status == ConversationStatus::Archived {
            return Err(StoreError::Archived(conversation.id));
        }
        if q.idempotency_key.is_none() {
            lock_message_writes(&tx).await?;
        }
        // Under the message-write lock: no other node stores a query
        // between this count and this insert, so a cap holds exactly.
        for cap in caps {
            let (source, target) = cap.scope.source_and_target();
            let sql = crate::store::records::CAP_COUNT_SQL
                .replace("?1", "$1")
                .replace("?2", "$2")
                .replace("?3 IS NULL", "$3::text IS NULL")
                .replace("?3", "$3");
            let count: i64 = tx
                .row(&sql, &[&cap.since_ms, &target, &source])
                .await?
                .try_get(0)?;
            if count >= cap.max {
                return Err(StoreError::OverCap {
                    name: cap.name.clone(),
                    count,
                    max: cap.max,
                });
            }
        }
        let query = insert(
            &tx,
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
                template_version: q.template_version.as_deref(),
                context_note: context_note.as_deref(),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(BeginQuery::Fresh(query))
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

    /// Stores a query's reply or failure and closes the query, in one
    /// transaction. Returns the new reply or error row.
    pub async fn finish_query(&self, query_id: &str, outcome: &Outcome) -> Result<Message> {
        self.finish_query_held(query_id, outcome, None).await
    }

    /// [`PostgresStore::finish_query`] for a routed question: stored only
    /// while node `claimant` still holds it (its lease may have run out and
    /// the question gone to another node).
    pub async fn finish_query_held(
        &self,
        query_id: &str,
        outcome: &Outcome,
        claimant: Option<&str>,
    ) -> Result<Message> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        // The query's row is locked first: a lease that runs out meanwhile
        // cannot end it under us (`expire_leases` skips locked rows), and a
        // second outcome for it waits here, then finds it closed.
        let query = tx
            .row_opt(
                &format!("SELECT {MESSAGE_COLUMNS} FROM messages WHERE id = $1 FOR UPDATE"),
                &[&query_id],
            )
            .await?
            .map(|row| message_from_row(&row))
            .transpose()?
            .ok_or_else(|| StoreError::UnknownMessage(query_id.to_string()))?;
        if query.status != MessageStatus::Pending {
            return Err(StoreError::NotPending {
                id: query.id,
                status: query.status.as_str().to_string(),
            });
        }
        if let Some(node) = claimant
            && query.node.as_deref() != Some(node)
        {
            return Err(StoreError::NotPending {
                id: query.id,
                status: format!(
                    "no longer held by node \"{node}\" (its lease ran out; now {})",
                    query
                        .node
                        .as_ref()
                        .map_or("waiting for a node".to_string(), |h| format!(
                            "held by node \"{h}\""
                        ))
                ),
            });
        }
        // Only now the message-write lock, held to the commit: the fewer
        // round trips under it, the more answers the fleet stores a second.
        // (Nothing else is locked before it but the query's row, which
        // no holder of this lock waits for: no deadlock.)
        lock_message_writes(&tx).await?;
        if let Outcome::Reply {
            backend_session: Some(session),
            ..
        } = outcome
        {
            tx.run(
                "UPDATE conversations SET backend_session = $2 WHERE id = $1",
                &[&query.conversation_id, session],
            )
            .await?;
        }
        let stored = match outcome {
            Outcome::Reply {
                sender,
                content,
                instance_id,
                duration_ms,
                usage,
                cost_usd,
                api_duration_ms,
                num_turns,
                backend_session: _,
                tool_uses,
                module,
            } => {
                let stored = insert(
                    &tx,
                    Insert {
                        conversation_id: &query.conversation_id,
                        sender,
                        role: Role::Reply,
                        content,
                        status: MessageStatus::Delivered,
                        idempotency_key: None,
                        hop_chain: &query.hop_chain,
                        owner: None,
                        reply_to: Some(query_id),
                        error: None,
                        template_version: None,
                        context_note: None,
                    },
                )
                .await?;
                let usage_text = usage.as_ref().map(|u| u.to_string());
                let (input_tokens, output_tokens) =
                    usage.as_ref().map(tokens_of).unwrap_or_default();
                let tool_uses = (!tool_uses.is_empty())
                    .then(|| serde_json::to_string(tool_uses).unwrap_or_else(|_| "[]".into()));
                close_query(
                    &tx,
                    query_id,
                    &stored.id,
                    Closing {
                        query_status: MessageStatus::Delivered,
                        instance_id: instance_id.as_deref(),
                        duration_ms: *duration_ms,
                        usage: usage_text.as_deref(),
                        cost_usd: *cost_usd,
                        api_duration_ms: *api_duration_ms,
                        num_turns: *num_turns,
                        input_tokens,
                        output_tokens,
                        cause: None,
                        error: None,
                        tool_uses: tool_uses.as_deref(),
                        module: Some(module),
                    },
                )
                .await?
            }
            Outcome::Failed {
                sender,
                reason,
                status,
                instance_id,
                duration_ms,
                cause,
            } => {
                // A failure's reason may carry a child's output: clipped,
                // never refused, so the outcome is always stored.
                let reason = clip(reason, MAX_NOTE_BYTES);
                let stored = insert(
                    &tx,
                    Insert {
                        conversation_id: &query.conversation_id,
                        sender,
                        role: Role::Error,
                        content: &reason,
                        status: MessageStatus::Delivered,
                        idempotency_key: None,
                        hop_chain: &query.hop_chain,
                        owner: None,
                        reply_to: Some(query_id),
                        error: Some(&reason),
                        template_version: None,
                        context_note: None,
                    },
                )
                .await?;
                close_query(
                    &tx,
                    query_id,
                    &stored.id,
                    Closing {
                        query_status: *status,
                        instance_id: instance_id.as_deref(),
                        duration_ms: *duration_ms,
                        usage: None,
                        cost_usd: None,
                        api_duration_ms: None,
                        num_turns: None,
                        input_tokens: None,
                        output_tokens: None,
                        cause: Some(cause.as_str()),
                        error: Some(&reason),
                        tool_uses: None,
                        module: None,
                    },
                )
                .await?
            }
        };
        tx.commit().await?;
        Ok(stored)
    }

    /// A note (something said outside the query/reply cycle).
    pub async fn add_note(
        &self,
        conversation_id: &str,
        sender: &str,
        content: &str,
    ) -> Result<Message> {
        limits::check_name("sender", sender)?;
        limits::check_len("note", content, MAX_NOTE_BYTES)?;
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        lock_message_writes(&tx).await?;
        load_conversation(&tx, conversation_id).await?;
        let note = insert(
            &tx,
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
                template_version: None,
                context_note: None,
            },
        )
        .await?;
        tx.commit().await?;
        Ok(note)
    }

    /// Marks as interrupted every pending query whose server is gone: not
    /// `this_server`, and not alive by the servers' rule (`servers.rs`).
    /// Returns how many were marked.
    pub async fn recover_interrupted(
        &self,
        this_server: &str,
        stale_after_ms: i64,
    ) -> Result<usize> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        // Read who is alive inside the transaction, after taking the
        // message-write lock: a server that registers and dispatches
        // meanwhile waits for us, and cannot be judged dead.
        lock_message_writes(&tx).await?;
        let live: Vec<String> = super::servers::servers_in(&tx, stale_after_ms)
            .await?
            .into_iter()
            .filter(|s| s.alive)
            .map(|s| s.record.id)
            .collect();
        let pending = tx
            .rows(
                // A routed question is not its asker's to end: a node
                // holds it under a lease (or will claim it), and its
                // answer is kept for the asker's job either way.
                // A query whose outcome is being stored right now is
                // locked, and skipped: its server is alive.
                "SELECT id, owner FROM messages WHERE status = 'pending' AND NOT routed FOR UPDATE SKIP LOCKED",
                &[],
            )
            .await?;
        let mut marked = 0;
        for row in pending {
            let id: String = row.try_get(0)?;
            let owner: Option<String> = row.try_get(1)?;
            let owner = owner.unwrap_or_default();
            if owner == this_server || live.contains(&owner) {
                continue;
            }
            marked += tx
                .run(
                    "UPDATE messages SET status = 'interrupted', error = $2 WHERE id = $1 AND status = 'pending'",
                    &[&id, &"the server that dispatched it stopped before an answer came back"],
                )
                .await? as usize;
        }
        tx.commit().await?;
        Ok(marked)
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

/// What closing a query writes on the query and on its outcome row.
struct Closing<'a> {
    query_status: MessageStatus,
    instance_id: Option<&'a str>,
    duration_ms: i64,
    usage: Option<&'a str>,
    cost_usd: Option<f64>,
    api_duration_ms: Option<i64>,
    num_turns: Option<i64>,
    input_tokens: Option<i64>,
    output_tokens: Option<i64>,
    cause: Option<&'a str>,
    error: Option<&'a str>,
    /// The reply's tool uses as JSON, when it used any.
    tool_uses: Option<&'a str>,
    /// The module's folder state behind a reply (nothing written when
    /// default).
    module: Option<&'a ReplyModule>,
}

/// Closes a query: one statement writes the outcome row (returned as
/// stored), one the query. The ledger's columns go on the outcome row
/// only, so sums over outcomes count each query once.
async fn close_query(
    tx: &Transaction<'_>,
    query_id: &str,
    outcome_id: &str,
    c: Closing<'_>,
) -> Result<Message> {
    // The outcome row was just inserted: its module columns are NULL, so
    // writing NULL for "no module" changes nothing.
    let module = c.module.filter(|m| **m != ReplyModule::default());
    let outcome = tx
        .row(
            &format!(
                "UPDATE messages SET instance_id = $2, duration_ms = $3, usage = $4, cost_usd = $5,
                     api_duration_ms = $6, num_turns = $7, input_tokens = $8, output_tokens = $9, failure_cause = $10,
                     tool_uses = COALESCE($11, tool_uses),
                     module_commit = $12, module_dirty = $13, reuse_key = $14, reused_from = $15
                 WHERE id = $1 RETURNING {MESSAGE_COLUMNS}"
            ),
            &[
                &outcome_id,
                &c.instance_id,
                &c.duration_ms,
                &c.usage,
                &c.cost_usd,
                &c.api_duration_ms,
                &c.num_turns,
                &c.input_tokens,
                &c.output_tokens,
                &c.cause,
                &c.tool_uses,
                &module.and_then(|m| m.state.commit.clone()),
                &module.and_then(|m| m.state.dirty),
                &module.and_then(|m| m.reuse_key.clone()),
                &module.and_then(|m| m.reused_from.clone()),
            ],
        )
        .await?;
    // The query closed, and an asker on another node told (see
    // `fleet.rs`) when this commits; one statement.
    tx.rows(
        "WITH closed AS (
             UPDATE messages SET instance_id = $2, duration_ms = $3, usage = $4, cost_usd = $5,
                 status = $6, error = COALESCE($7, error)
             WHERE id = $1 RETURNING id)
         SELECT pg_notify($8, id) FROM closed",
        &[
            &query_id,
            &c.instance_id,
            &c.duration_ms,
            &c.usage,
            &c.cost_usd,
            &c.query_status.as_str(),
            &c.error,
            &super::listen::OUTCOMES,
        ],
    )
    .await?;
    message_from_row(&outcome)
}
