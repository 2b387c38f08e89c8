//! The values the store reads and writes.

use std::str::FromStr;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::StoreError;

/// A JSON object of any shape. Spelled out because the derived schema of a
/// `serde_json::Value` is `true`, which strict hosts (Claude Code) reject
/// as a property schema.
pub(crate) fn object_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({"type": "object"})
}

/// Like [`object_schema`], or null.
pub(crate) fn optional_object_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({"type": ["object", "null"]})
}

/// Declares a string-backed enum with `as_str` and a `FromStr` whose error
/// names the bad value and the allowed ones.
macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }

        impl $name {
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl FromStr for $name {
            type Err = StoreError;
            fn from_str(s: &str) -> Result<Self, StoreError> {
                match s {
                    $($text => Ok($name::$variant),)+
                    other => Err(StoreError::BadValue(format!(
                        "unknown {} \"{other}\" (one of: {})",
                        stringify!($name).to_lowercase(),
                        [$($text),+].join(", ")
                    ))),
                }
            }
        }
    };
}

string_enum!(
    /// Whether a conversation takes new messages.
    ConversationStatus { Active = "active", Archived = "archived" }
);
string_enum!(
    /// What a message is.
    Role {
        Query = "query",
        Reply = "reply",
        Error = "error",
        Note = "note",
        AskBack = "ask_back",
        AskBackAnswer = "ask_back_answer",
    }
);
string_enum!(
    /// Where a question of an answering agent back to its asker is
    /// (see [`super::AskBack`]).
    AskBackState {
        Waiting = "waiting",
        Answered = "answered",
        Unanswered = "unanswered",
        Ended = "ended",
    }
);
string_enum!(
    /// Where a message is in its life.
    MessageStatus {
        Pending = "pending",
        Delivered = "delivered",
        Failed = "failed",
        Cancelled = "cancelled",
        Interrupted = "interrupted",
    }
);

/// A conversation between an asking (`source`) and an answering (`target`) module.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Conversation {
    pub id: String,
    pub source: String,
    pub target: String,
    pub title: Option<String>,
    pub status: ConversationStatus,
    /// Unix milliseconds.
    pub created_at: i64,
    pub updated_at: i64,
    /// The Claude session of a stream instance, resumed after a restart.
    pub backend_session: Option<String>,
    #[schemars(schema_with = "object_schema")]
    pub metadata: Value,
    pub message_count: i64,
}

/// One stored message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Message {
    pub id: String,
    pub conversation_id: String,
    /// 1, 2, 3, ... within the conversation, without gaps.
    pub seq: i64,
    /// The module that said it.
    pub sender: String,
    pub role: Role,
    pub content: String,
    pub created_at: i64,
    pub status: MessageStatus,
    pub instance_id: Option<String>,
    pub duration_ms: Option<i64>,
    #[schemars(schema_with = "optional_object_schema")]
    pub usage: Option<Value>,
    pub cost_usd: Option<f64>,
    /// The context template (and its version) the query was rendered with.
    pub template_version: Option<String>,
    pub idempotency_key: Option<String>,
    /// The modules that led to this message, oldest first.
    pub hop_chain: Vec<String>,
    /// What the context engine left out to stay within the token budget.
    pub context_note: Option<String>,
    /// Why it failed.
    pub error: Option<String>,
    /// For replies and errors: the query they answer.
    pub reply_to: Option<String>,
    /// For queries: the server process that dispatched it.
    pub owner: Option<String>,
    /// For replies: what the answering agent tried (tool, target, allowed
    /// or refused), where the backend reports it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_uses: Vec<crate::store::ToolUse>,
    /// For replies: the commit of HEAD in the answering module's folder
    /// when it answered (null outside git).
    #[serde(default)]
    pub module_commit: Option<String>,
    /// For replies: whether that folder had uncommitted changes then.
    #[serde(default)]
    pub module_dirty: Option<bool>,
    /// For a reused reply (`reuse: "unchanged"`): the earlier reply it repeats.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reused_from: Option<String>,
    /// For a query routed through the fleet: the node that took it (and
    /// answered it, or held it when its lease ran out).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    /// Not stored; set on reads: the module's folder has changed since
    /// this reply (its HEAD moved on), with the commits and files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stale: Option<crate::workspace::Changes>,
}

/// A query about to be stored.
#[derive(Debug, Clone)]
pub struct NewQuery {
    pub conversation_id: String,
    pub sender: String,
    pub content: String,
    pub idempotency_key: Option<String>,
    pub hop_chain: Vec<String>,
    pub owner: String,
    pub template_version: Option<String>,
    pub context_note: Option<String>,
}

/// The result of [`super::StoreBackend::begin_query`].
#[derive(Debug, Clone)]
pub enum BeginQuery {
    /// Stored now, pending.
    Fresh(Message),
    /// The idempotency key was used before: the first query, and its reply
    /// or error if it has one. Nothing was written.
    Duplicate {
        query: Message,
        outcome: Option<Box<Message>>,
    },
}

/// How a dispatched query ended.
#[derive(Debug, Clone)]
pub enum Outcome {
    Reply {
        sender: String,
        content: String,
        instance_id: Option<String>,
        duration_ms: i64,
        usage: Option<Value>,
        cost_usd: Option<f64>,
        /// Time the model API took, as the backend reported it.
        api_duration_ms: Option<i64>,
        /// Model turns (tool round trips) the answer took.
        num_turns: Option<i64>,
        /// The backend session the conversation continues in from now on
        /// (stream backend); stored in the same transaction as the reply.
        backend_session: Option<String>,
        /// What the agent tried while answering.
        tool_uses: Vec<crate::store::ToolUse>,
        /// The answering module's folder, and reuse (issue 21).
        module: super::ReplyModule,
    },
    Failed {
        sender: String,
        reason: String,
        /// `Failed` or `Cancelled`.
        status: MessageStatus,
        instance_id: Option<String>,
        duration_ms: i64,
        /// A short word for why (`timeout`, `child_died`, ...), counted by
        /// `stats` as "failures by cause".
        cause: String,
    },
}

#[derive(Debug, Clone)]
pub struct ConversationFilter {
    /// Conversations where this module is the source or the target.
    pub module: Option<String>,
    pub status: Option<ConversationStatus>,
    /// Clamped to 1..=500.
    pub limit: usize,
    pub cursor: Option<String>,
}

impl Default for ConversationFilter {
    fn default() -> Self {
        ConversationFilter {
            module: None,
            status: None,
            limit: super::limits::DEFAULT_PAGE_SIZE,
            cursor: None,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ConversationPage {
    pub conversations: Vec<Conversation>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// A message that matched a search.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SearchHit {
    pub conversation_id: String,
    pub message_id: String,
    pub seq: i64,
    pub role: Role,
    pub sender: String,
    pub source: String,
    pub target: String,
    /// The matching passage, matches in `[` `]`.
    pub snippet: String,
    pub created_at: i64,
}

/// A server process as it announces itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ServerRecord {
    pub id: String,
    pub pid: u32,
    pub hostname: String,
    pub started_at: i64,
    pub module: Option<String>,
}

/// A server process as others see it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ServerRow {
    pub record: ServerRecord,
    pub last_heartbeat: i64,
    pub stopped: bool,
    /// Not stopped, beating recently, and (on this host) its pid exists.
    pub alive: bool,
}

/// An instance as its server last reported it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct InstanceRecord {
    pub id: String,
    /// The name an operator gave it (`instances start --name`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub backend: String,
    pub state: String,
    pub pid: Option<u32>,
    pub module_pair: Option<String>,
    pub started_at: Option<i64>,
    pub requests_served: i64,
    pub in_flight: i64,
    pub queued: i64,
    pub restarts: i64,
    pub last_error: Option<String>,
    /// Resident memory of the instance's process tree, in KiB.
    #[serde(default)]
    pub rss_kib: Option<u64>,
}
