//! Records the store speaks in besides conversations and messages (see
//! `model.rs`): the ledger's rows, tokens, the activity feed, cleanup
//! rules, control requests. Every backend reads and writes these.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::model::{ConversationStatus, Message};

/// How one query ended, as `stats` counts it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutcomeRow {
    pub source: String,
    pub target: String,
    /// Unix milliseconds of the outcome.
    pub at: i64,
    /// `None` for a reply; the failure's cause otherwise (`interrupted` for
    /// a query whose server stopped before an answer came back).
    pub failure: Option<String>,
    pub duration_ms: Option<i64>,
    pub api_duration_ms: Option<i64>,
    pub num_turns: Option<i64>,
    pub input_tokens: Option<i64>,
    pub output_tokens: Option<i64>,
    pub cost_usd: Option<f64>,
}

/// Whose queries a budget counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SpendScope {
    /// Queries from `source` to `target`.
    Pair { source: String, target: String },
    /// Queries that `module`'s agent answers (the module is the target:
    /// its agent is what runs, and costs).
    Target(String),
}

impl SpendScope {
    /// The `(source, target)` a scope counts: no source for a module's.
    pub(crate) fn source_and_target(&self) -> (Option<&str>, &str) {
        match self {
            SpendScope::Pair { source, target } => (Some(source.as_str()), target.as_str()),
            SpendScope::Target(module) => (None, module.as_str()),
        }
    }
}

/// A cap on queries checked in the same transaction that stores a new
/// one, so that concurrent senders (on any node) are refused exactly at
/// the cap: at most `max` queries of `scope` in the current fixed window
/// of `window_ms` (the hour from the full hour: [`window_start`]).
///
/// The window is placed by the store's clock (on PostgreSQL the
/// database's), never by the asking machine's: two nodes whose clocks
/// disagree still count the same window.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryCap {
    pub scope: SpendScope,
    pub window_ms: i64,
    pub max: i64,
    /// What to call the cap when it refuses (`budgets.pairs."a->b"...`).
    pub name: String,
}

/// What a scope used within a window.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Spend {
    /// Queries stored (whatever became of them).
    pub messages: i64,
    /// Cost of the replies, as the backends reported it.
    pub cost_usd: f64,
}

/// What a scope used within the current fixed window, with the window's
/// start and the time it was read, both by the store's clock.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct WindowSpend {
    pub spend: Spend,
    pub since_ms: i64,
    pub now_ms: i64,
}

/// The start of the fixed window of `window_ms` that holds `now_ms` (UTC
/// periods: the hour from the full hour, the day from 00:00 UTC).
pub fn window_start(now_ms: i64, window_ms: i64) -> i64 {
    now_ms - now_ms.rem_euclid(window_ms.max(1))
}

/// One token as stored (no secret in it).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TokenRecord {
    pub id: String,
    /// The module the token acts as; `None` for an operator token.
    pub module: Option<String>,
    pub admin: bool,
    pub label: Option<String>,
    /// Unix ms.
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub revoked_at: Option<i64>,
    pub last_used_at: Option<i64>,
    /// Hex SHA-256 of the secret; not serialized, never shown.
    #[serde(skip)]
    pub secret_hash: String,
    /// Past its expiry when read, by the store's clock (the database's on
    /// PostgreSQL: a token made on one node and used on another is judged
    /// by one clock).
    #[serde(skip)]
    pub expired: bool,
}

/// What to store for a new token.
#[derive(Debug, Clone)]
pub struct NewToken {
    pub id: String,
    pub secret_hash: String,
    pub module: Option<String>,
    pub admin: bool,
    pub label: Option<String>,
    /// How long it is valid from its creation (by the store's clock).
    pub lifetime_ms: Option<i64>,
}

/// A message with the pair of modules of its conversation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct MessageActivity {
    pub source: String,
    pub target: String,
    pub message: Message,
}

/// Which conversations `prune` removes.
#[derive(Debug, Clone)]
pub struct PruneRule {
    /// Only conversations with this status (None: any).
    pub status: Option<ConversationStatus>,
    /// Only conversations last active before this time (unix ms).
    pub inactive_before_ms: i64,
}

/// How long a finished control request is kept (its asker reads the
/// result within seconds); older ones are deleted as new ones finish, so
/// the table stays small however long the fleet runs.
pub const CONTROL_KEPT_MS: i64 = 10 * 60 * 1000;

#[derive(Debug, Clone, PartialEq)]
pub struct ControlRequest {
    pub id: i64,
    pub instance_id: String,
    pub action: String,
}

/// Tokens in and out of a reply from the CLI's `usage` object. Tokens in
/// count everything the model read: fresh input plus prompt-cache writes
/// and reads (each is billed, at different rates).
pub(crate) fn tokens_of(usage: &serde_json::Value) -> (Option<i64>, Option<i64>) {
    let field = |name: &str| usage.get(name).and_then(serde_json::Value::as_i64);
    let input = [
        "input_tokens",
        "cache_creation_input_tokens",
        "cache_read_input_tokens",
    ]
    .iter()
    .filter_map(|f| field(f))
    .fold(None, |sum: Option<i64>, n| Some(sum.unwrap_or(0) + n));
    (input, field("output_tokens"))
}

/// What `store status` reports of the data: the schema version and how
/// many rows the main tables hold.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
pub struct StoreCounts {
    pub schema_version: i64,
    pub conversations: i64,
    pub messages: i64,
    /// Queries still waiting for their answer.
    pub pending: i64,
    pub tokens: i64,
}

/// The one statement both backends answer [`StoreCounts`] with.
pub(crate) const COUNTS_SQL: &str = "SELECT (SELECT version FROM schema_version),
        (SELECT COUNT(*) FROM conversations), (SELECT COUNT(*) FROM messages),
        (SELECT COUNT(*) FROM messages WHERE status = 'pending'), (SELECT COUNT(*) FROM access_tokens)";
