//! Finishing a query on PostgreSQL: its reply (or failure) stored, the
//! query closed, the conversation bumped and the asker told, in one
//! statement under the conversation's lock, sent in one flight with its
//! `BEGIN` and `COMMIT` (one round trip; see `flight.rs`).

use super::cached::Cached;

use super::PostgresStore;
use super::flight::{CONVERSATION_LOCK, DB_NOW_MS, LOCK_CONVERSATION_OF, Step, in_one_flight};
use super::rows::{load_message, message_from_row};
use crate::store::columns::MESSAGE_COLUMNS;
use crate::store::model::{Message, MessageStatus, Outcome};
use crate::store::outcome_write::OutcomeWrite;
use crate::store::{Result, StoreError};

/// Closes query `$1` with an outcome row, when it is still pending (and,
/// for a routed question, still held by node `$2`). The query's row is
/// locked first: a lease that runs out meanwhile cannot end it under us
/// (`expire_leases` skips locked rows). The outcome row is written whole
/// (the ledger's columns go on it only, so sums over outcomes count each
/// query once); the notice to the asker goes out when this commits.
fn finish_sql() -> &'static str {
    // Built once: the text is the statement cache's key on every write.
    static SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        format!(
        "WITH q AS (
             SELECT id, conversation_id, hop_chain FROM messages
             WHERE id = $1 AND status = 'pending' AND ($2::text IS NULL OR claimed_by = $2)
             FOR UPDATE),
         bump AS (
             UPDATE conversations c SET updated_at = {DB_NOW_MS}, message_count = c.message_count + 1,
                 backend_session = COALESCE($3, c.backend_session)
             FROM q WHERE c.id = q.conversation_id RETURNING c.id),
         outcome AS (
             INSERT INTO messages (id, conversation_id, seq, sender, role, content, created_at, status,
                                   hop_chain, reply_to, error, instance_id, duration_ms, usage, cost_usd,
                                   api_duration_ms, num_turns, input_tokens, output_tokens, failure_cause,
                                   tool_uses, module_commit, module_dirty, reuse_key, reused_from)
             SELECT $4, q.conversation_id,
                    (SELECT COALESCE(MAX(seq), 0) + 1 FROM messages WHERE conversation_id = q.conversation_id),
                    $5, $6, $7, {DB_NOW_MS}, 'delivered', q.hop_chain, q.id, $8, $9, $10, $11, $12,
                    $13, $14, $15, $16, $17, COALESCE($18, '[]'), $19, $20, $21, $22
             FROM q JOIN bump ON bump.id = q.conversation_id
             RETURNING {MESSAGE_COLUMNS}),
         closed AS (
             UPDATE messages SET instance_id = $9, duration_ms = $10, usage = $11, cost_usd = $12,
                 status = $23, error = COALESCE($8, error)
             WHERE id = (SELECT id FROM q) RETURNING id)
         SELECT outcome.*, pg_notify($24, closed.id) FROM outcome, closed"
    )
    });
    &SQL
}

impl PostgresStore {
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
        let w = OutcomeWrite::of(outcome);
        let outcome_id = uuid::Uuid::new_v4().to_string();
        let module = w.module;
        let client = self.client().await?;
        let sql = finish_sql();
        let rows = in_one_flight(
            &client,
            Step {
                sql: LOCK_CONVERSATION_OF,
                params: &[&CONVERSATION_LOCK, &query_id],
            },
            Step {
                sql,
                params: &[
                    &query_id,
                    &claimant,
                    &w.session,
                    &outcome_id,
                    &w.sender,
                    &w.role.as_str(),
                    &w.content.as_ref(),
                    &w.error,
                    &w.instance_id,
                    &w.duration_ms,
                    &w.usage,
                    &w.cost_usd,
                    &w.api_duration_ms,
                    &w.num_turns,
                    &w.input_tokens,
                    &w.output_tokens,
                    &w.cause,
                    &w.tool_uses,
                    &module.and_then(|m| m.state.commit.clone()),
                    &module.and_then(|m| m.state.dirty),
                    &module.and_then(|m| m.reuse_key.clone()),
                    &module.and_then(|m| m.reused_from.clone()),
                    &w.query_status.as_str(),
                    &super::listen::OUTCOMES,
                ],
            },
        )
        .await?;
        match rows.first() {
            Some(row) => message_from_row(row),
            None => Err(why_not_finished(&client, query_id, claimant).await),
        }
    }
}

/// Why a query was not finished: unknown, no longer pending, or (routed)
/// no longer held by the node that answered it.
async fn why_not_finished(
    client: &impl Cached,
    query_id: &str,
    claimant: Option<&str>,
) -> StoreError {
    let query = match load_message(client, query_id).await {
        Ok(query) => query,
        Err(e) => return e,
    };
    if query.status != MessageStatus::Pending {
        return StoreError::NotPending {
            id: query.id,
            status: query.status.as_str().to_string(),
        };
    }
    match claimant {
        Some(node) if query.node.as_deref() != Some(node) => StoreError::NotPending {
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
        },
        // Pending and ours, yet not finished: it changed between the
        // statement and this read (a lease ran out and came back).
        _ => StoreError::Busy {
            message: format!(
                "the outcome of query {query_id} was not stored (it changed meanwhile); try again"
            ),
        },
    }
}
