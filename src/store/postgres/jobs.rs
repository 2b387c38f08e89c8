//! Jobs and ledger on PostgreSQL: queries by id prefix, their outcomes,
//! the newest queries, and what replies cost.

use super::PostgresStore;
use super::cached::Cached;
use super::flight::DB_NOW_MS;
use super::rows::{all, message_from_row};
use crate::store::Result;
use crate::store::columns::MESSAGE_COLUMNS;
use crate::store::ids::{IdKind, checked_prefix, the_one};
use crate::store::limits;
use crate::store::model::{Message, MessageStatus};
use crate::store::records::{OutcomeRow, Spend, SpendScope, WindowSpend};
use crate::store::rules::OutcomeColumns;

impl PostgresStore {
    /// The one id of `kind` that starts with `prefix` (see the SQLite
    /// backend for the rules and the words of its errors).
    pub async fn resolve_id(&self, kind: IdKind, prefix: &str) -> Result<String> {
        let prefix = checked_prefix(kind, prefix)?;
        // A range on the primary key (byte order, see the schema), as on
        // SQLite: LIKE would read `%` and `_` in the prefix as patterns.
        let upper = format!("{prefix}\u{10FFFF}");
        let rows = self
            .client()
            .await?
            .rows(
                &format!(
                    "SELECT id FROM {} WHERE id >= $1 AND id < $2 ORDER BY id LIMIT 2",
                    kind.table()
                ),
                &[&prefix, &upper],
            )
            .await?;
        let found = all(rows, |r| Ok(r.try_get::<_, String>(0)?))?;
        the_one(kind, prefix, found)
    }

    pub async fn outcome_of(&self, query_id: &str) -> Result<Option<Message>> {
        let row = self
            .client()
            .await?
            .row_opt(
                &format!(
                    "SELECT {MESSAGE_COLUMNS} FROM messages WHERE reply_to = $1 ORDER BY seq LIMIT 1"
                ),
                &[&query_id],
            )
            .await?;
        row.map(|row| message_from_row(&row)).transpose()
    }

    /// The outcomes of `query_ids` that are closed, in one statement.
    pub async fn outcomes_of(&self, query_ids: &[String]) -> Result<Vec<Message>> {
        if query_ids.is_empty() {
            return Ok(Vec::new());
        }
        let rows = self
            .client()
            .await?
            .rows(
                &format!(
                    "SELECT DISTINCT ON (reply_to) {MESSAGE_COLUMNS} FROM messages
                     WHERE reply_to = ANY($1) ORDER BY reply_to, seq"
                ),
                &[&query_ids],
            )
            .await?;
        all(rows, message_from_row)
    }

    pub async fn recent_queries(
        &self,
        status: Option<MessageStatus>,
        module: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Message>> {
        limits::check_page("limit", limit)?;
        let status = status.map(|s| s.as_str());
        let rows = self
            .client()
            .await?
            .rows(
                &format!(
                    "SELECT {MESSAGE_COLUMNS} FROM messages
                     WHERE role = 'query' AND ($1::text IS NULL OR status = $1)
                       AND ($3::text IS NULL OR conversation_id IN
                            (SELECT id FROM conversations WHERE source = $3 OR target = $3))
                     ORDER BY created_at DESC, id DESC LIMIT $2"
                ),
                &[&status, &(limit as i64), &module],
            )
            .await?;
        all(rows, message_from_row)
    }

    /// Every outcome since `since_ms`, oldest first (see the SQLite
    /// backend for which rows count as outcomes).
    pub async fn outcomes_since(
        &self,
        since_ms: i64,
        module: Option<&str>,
    ) -> Result<Vec<OutcomeRow>> {
        limits::check_opt_len("module", module, limits::MAX_NAME_BYTES)?;
        let rows = self
            .client()
            .await?
            .rows(
                "SELECT c.source, c.target, m.created_at, m.role, m.failure_cause, m.duration_ms,
                        m.api_duration_ms, m.num_turns, m.input_tokens, m.output_tokens, m.cost_usd
                 FROM messages m JOIN conversations c ON c.id = m.conversation_id
                 WHERE m.created_at >= $1
                   AND (m.role IN ('reply', 'error') OR (m.role = 'query' AND m.status = 'interrupted'))
                   AND ($2::text IS NULL OR c.source = $2 OR c.target = $2)
                 ORDER BY m.pos",
                &[&since_ms, &module],
            )
            .await?;
        all(rows, |r| {
            Ok(OutcomeColumns {
                source: r.try_get(0)?,
                target: r.try_get(1)?,
                at: r.try_get(2)?,
                role: r.try_get(3)?,
                failure_cause: r.try_get(4)?,
                duration_ms: r.try_get(5)?,
                api_duration_ms: r.try_get(6)?,
                num_turns: r.try_get(7)?,
                input_tokens: r.try_get(8)?,
                output_tokens: r.try_get(9)?,
                cost_usd: r.try_get(10)?,
            }
            .into_row())
        })
    }

    pub async fn spend_since(&self, scope: &SpendScope, since_ms: i64) -> Result<Spend> {
        let (source, target) = checked_scope(scope)?;
        let row = self
            .client()
            .await?
            .row(
                &format!(
                    "SELECT {SPEND_COLUMNS} {SPEND_FROM} WHERE m.created_at >= $1 AND {SPEND_SCOPE}"
                ),
                &[&since_ms, &target, &source],
            )
            .await?;
        spend_of(&row)
    }

    /// [`PostgresStore::spend_since`] the start of the current window of
    /// `$1` ms, placed by the database's clock in the same statement: every
    /// node counts the same window, whatever its own clock says.
    pub async fn spend_in_window(&self, scope: &SpendScope, window_ms: i64) -> Result<WindowSpend> {
        let (source, target) = checked_scope(scope)?;
        let window_ms = window_ms.max(1);
        let row = self
            .client()
            .await?
            .row(
                &format!(
                    "WITH win AS (SELECT now, now - (now % $1::bigint) AS since
                                  FROM (SELECT {DB_NOW_MS} AS now) AS clock)
                     SELECT {SPEND_COLUMNS}, MIN(win.since), MIN(win.now)
                     FROM win LEFT JOIN (messages m JOIN conversations c ON c.id = m.conversation_id)
                       ON m.created_at >= win.since AND {SPEND_SCOPE}"
                ),
                &[&window_ms, &target, &source],
            )
            .await?;
        Ok(WindowSpend {
            spend: spend_of(&row)?,
            since_ms: row.try_get(2)?,
            now_ms: row.try_get(3)?,
        })
    }
}

/// What a scope spent: queries stored and the cost of their replies.
const SPEND_COLUMNS: &str =
    "COALESCE(SUM(CASE WHEN m.role = 'query' THEN 1 ELSE 0 END), 0)::bigint,
     COALESCE(SUM(CASE WHEN m.role = 'reply' THEN m.cost_usd ELSE 0 END), 0.0)::double precision";
const SPEND_FROM: &str = "FROM messages m JOIN conversations c ON c.id = m.conversation_id";
/// `$2` the target, `$3` the source or NULL (a module's whole scope).
const SPEND_SCOPE: &str =
    "c.target = $2 AND ($3::text IS NULL OR c.source = $3) AND m.role IN ('query', 'reply')";

fn checked_scope(scope: &SpendScope) -> Result<(Option<&str>, &str)> {
    let (source, target) = scope.source_and_target();
    limits::check_opt_len("source", source, limits::MAX_NAME_BYTES)?;
    limits::check_len("target", target, limits::MAX_NAME_BYTES)?;
    Ok((source, target))
}

fn spend_of(row: &tokio_postgres::Row) -> Result<Spend> {
    Ok(Spend {
        messages: row.try_get(0)?,
        cost_usd: row.try_get(1)?,
    })
}
