//! The ledger: what each module pair's queries cost and how they ended,
//! for `stats` and for budgets. Plain SQL over plain columns (no JSON
//! functions), so another store can answer the same questions.

use rusqlite::params;

use super::records::{OutcomeRow, Spend, SpendScope};
use super::{Result, SqliteStore, limits};
use crate::store::rules::OutcomeColumns;

impl SqliteStore {
    /// Every outcome since `since_ms` (unix ms), optionally only of pairs
    /// where `module` is the source or the target, oldest first.
    pub fn outcomes_since(&self, since_ms: i64, module: Option<&str>) -> Result<Vec<OutcomeRow>> {
        limits::check_opt_len("module", module, limits::MAX_NAME_BYTES)?;
        self.read(|conn| {
            let mut statement = conn.prepare_cached(
                "SELECT c.source, c.target, m.created_at, m.role, m.failure_cause, m.duration_ms,
                        m.api_duration_ms, m.num_turns, m.input_tokens, m.output_tokens, m.cost_usd
                 FROM messages m JOIN conversations c ON c.id = m.conversation_id
                 WHERE m.created_at >= ?1
                   AND (m.role IN ('reply', 'error') OR (m.role = 'query' AND m.status = 'interrupted'))
                   AND (?2 IS NULL OR c.source = ?2 OR c.target = ?2)
                 ORDER BY m.pos",
            )?;
            let rows = statement
                .query_map(params![since_ms, module], |r| {
                    Ok(OutcomeColumns {
                        source: r.get(0)?,
                        target: r.get(1)?,
                        at: r.get(2)?,
                        role: r.get(3)?,
                        failure_cause: r.get(4)?,
                        duration_ms: r.get(5)?,
                        api_duration_ms: r.get(6)?,
                        num_turns: r.get(7)?,
                        input_tokens: r.get(8)?,
                        output_tokens: r.get(9)?,
                        cost_usd: r.get(10)?,
                    }
                    .into_row())
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows)
        })
    }

    /// Queries stored and reply cost of `scope` since `since_ms` (unix ms).
    pub fn spend_since(&self, scope: &SpendScope, since_ms: i64) -> Result<Spend> {
        let (source, target) = match scope {
            SpendScope::Pair { source, target } => (Some(source.as_str()), target.as_str()),
            SpendScope::Target(module) => (None, module.as_str()),
        };
        limits::check_opt_len("source", source, limits::MAX_NAME_BYTES)?;
        limits::check_len("target", target, limits::MAX_NAME_BYTES)?;
        self.read(|conn| {
            let (messages, cost_usd) = conn
                .prepare_cached(
                    "SELECT COALESCE(SUM(CASE WHEN m.role = 'query' THEN 1 ELSE 0 END), 0),
                            COALESCE(SUM(CASE WHEN m.role = 'reply' THEN m.cost_usd ELSE 0 END), 0.0)
                     FROM messages m JOIN conversations c ON c.id = m.conversation_id
                     WHERE m.created_at >= ?1 AND c.target = ?2 AND (?3 IS NULL OR c.source = ?3)
                       AND m.role IN ('query', 'reply')",
                )?
                .query_row(params![since_ms, target, source], |r| {
                    Ok((r.get::<_, i64>(0)?, r.get::<_, f64>(1)?))
                })?;
            Ok(Spend { messages, cost_usd })
        })
    }
}
