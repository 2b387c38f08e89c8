//! Decisions both backends make the same way, as plain functions: each
//! backend reads what a decision needs in its own SQL, then calls the one
//! function here, so the two can never decide differently.

use super::model::{Conversation, ConversationStatus, InstanceRecord, ServerRow};
use super::records::{OutcomeRow, QueryCap};
use super::{Result, StoreError};

/// A query is not stored in an archived conversation (checked after the
/// idempotency key: a repeat of an earlier query still finds it).
pub(crate) fn refuse_archived(conversation: &Conversation) -> Result<()> {
    if conversation.status == ConversationStatus::Archived {
        return Err(StoreError::Archived(conversation.id.clone()));
    }
    Ok(())
}

/// A cap that `count` queries of its scope have reached refuses the next
/// (its window began at `since_ms`; the store's clock read `now_ms`).
pub(crate) fn check_cap(cap: &QueryCap, count: i64, since_ms: i64, now_ms: i64) -> Result<()> {
    if count >= cap.max {
        return Err(StoreError::OverCap {
            name: cap.name.clone(),
            count,
            max: cap.max,
            since_ms,
            now_ms,
        });
    }
    Ok(())
}

/// A conversation with a query still pending (`pending`, its id) is not
/// deleted: its answer is on its way and would have nowhere to land.
pub(crate) fn refuse_busy(conversation_id: &str, pending: Option<String>) -> Result<()> {
    match pending {
        Some(message) => Err(StoreError::ConversationBusy {
            id: conversation_id.to_owned(),
            message,
        }),
        None => Ok(()),
    }
}

/// The columns of one closed query as `outcomes_since` reads them: the
/// outcome row (a reply, an error) or the query itself when it was
/// interrupted.
pub(crate) struct OutcomeColumns {
    pub source: String,
    pub target: String,
    pub at: i64,
    pub role: String,
    pub failure_cause: Option<String>,
    pub duration_ms: Option<i64>,
    pub api_duration_ms: Option<i64>,
    pub num_turns: Option<i64>,
    pub input_tokens: Option<i64>,
    pub output_tokens: Option<i64>,
    pub cost_usd: Option<f64>,
}

impl OutcomeColumns {
    /// How the query closed: a reply has no failure and its cost; an
    /// interrupted query's failure is `interrupted`; an error's is its
    /// cause (`unknown` when none was stored). Only replies cost.
    pub(crate) fn into_row(self) -> OutcomeRow {
        let reply = self.role == "reply";
        OutcomeRow {
            failure: match self.role.as_str() {
                "reply" => None,
                "query" => Some("interrupted".into()),
                _ => Some(self.failure_cause.unwrap_or_else(|| "unknown".into())),
            },
            source: self.source,
            target: self.target,
            at: self.at,
            duration_ms: self.duration_ms,
            api_duration_ms: self.api_duration_ms,
            num_turns: self.num_turns,
            input_tokens: self.input_tokens,
            output_tokens: self.output_tokens,
            cost_usd: if reply { self.cost_usd } else { None },
        }
    }
}

/// Revoking a token that does not exist.
pub(crate) fn unknown_token(id: &str) -> StoreError {
    StoreError::BadValue(format!(
        "unknown token \"{id}\": `claude-comms tokens list` shows the ids"
    ))
}

/// Each stored instance record (`server_id`, JSON) with its server, in
/// the order read. An instance whose server is not listed is left out
/// (its server unregistered meanwhile), and so is a record that does not
/// decode: it is a live snapshot each server rewrites on every heartbeat,
/// and a server of another claude-comms version may write fields this one
/// does not know, which must not fail every reader's `instances list`.
pub(crate) fn instances_with_servers(
    servers: &[ServerRow],
    records: Vec<(String, String)>,
) -> Vec<(ServerRow, InstanceRecord)> {
    records
        .into_iter()
        .filter_map(|(server_id, record)| {
            let server = servers.iter().find(|s| s.record.id == server_id)?.clone();
            Some((server, serde_json::from_str(&record).ok()?))
        })
        .collect()
}
