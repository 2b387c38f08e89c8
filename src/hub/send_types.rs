//! What `send_message` is asked and what it answers: the types every face
//! and the daemon link share (`messaging.rs` does the sending; `sending.rs`
//! carries a query on its way).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use crate::config::BackendKind;
use crate::instances::ProgressSink;

/// What a caller asks `send_message` to do. `..SendRequest::default()`
/// fills what is not given (no cancellation unless the token is cancelled).
#[derive(Default)]
pub struct SendRequest {
    /// The asking module; defaults to the module this server was started for.
    pub source: Option<String>,
    /// The answering module; taken from the conversation when one is given.
    pub target: Option<String>,
    pub message: String,
    pub conversation_id: Option<String>,
    /// Overrides `instances.request_timeout_s` for this call.
    pub timeout_s: Option<u64>,
    pub idempotency_key: Option<String>,
    pub progress: Option<ProgressSink>,
    /// Fires when the host cancels the call.
    pub cancel: CancellationToken,
    /// `Unchanged`: return the earlier answer to the same question when the
    /// module has not changed since (see [`super::Reuse`]).
    pub reuse: super::Reuse,
}

/// What `send_message` returns.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct SendOutcome {
    pub conversation_id: String,
    /// The stored query.
    pub message_id: String,
    /// `delivered` (the answer is here), `pending` for a query sent
    /// with `wait: false` (collect it with `get_reply`), or
    /// `input_required`: the answering agent asks something back
    /// (`input_request`; answer with `answer_question`).
    pub status: String,
    /// The stored reply (absent while pending).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reply_id: Option<String>,
    /// The answering agent's answer (absent while pending).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reply: Option<String>,
    pub source: String,
    pub target: String,
    /// The instance that answered.
    pub instance_id: Option<String>,
    pub duration_ms: i64,
    /// Token usage as the backend reported it.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::store::optional_object_schema")]
    pub usage: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cost_usd: Option<f64>,
    /// True when this is the stored outcome of an earlier call with the same
    /// idempotency key (nothing was sent this time).
    pub duplicate: bool,
    /// The answering module's permission mode (`[permissions]` in the
    /// operator's config).
    pub policy: crate::policy::Mode,
    /// What the policy refused the answering agent, in one line; widen the
    /// module's policy if it needs that.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refused: Option<String>,
    /// Every tool use of the answering agent: tool, target, allowed or refused.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_uses: Vec<crate::policy::ToolUse>,
    /// The commit of HEAD in the answering module's folder when it
    /// answered (null outside git, and while pending).
    #[serde(default)]
    pub module_commit: Option<String>,
    /// Whether that folder had uncommitted changes.
    #[serde(default)]
    pub module_dirty: Option<bool>,
    /// True when this is an earlier answer given again (`reuse:
    /// "unchanged"`): no agent ran and nothing was spent.
    #[serde(default)]
    pub reused: bool,
    /// The earlier reply a reused answer repeats.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reused_from: Option<String>,
    /// The fleet node that answered a question routed to it (its module's
    /// folder is on that node).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    /// Set when the question was asked again on another node after the
    /// node that first took it died (a read-only module, with
    /// `fleet.retry_read_only`): says so and where.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retried: Option<String>,
    /// What the node that answered a routed question said about how it
    /// answered: it runs its agents its own way (its own backend, even when
    /// the conversation was started with another), and what context it
    /// left out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// With status `input_required`: the answering agent's question to
    /// the asker; answer it with `answer_question` (the query goes on).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_request: Option<InputRequest>,
}

/// The parameters of a conversation being created.
pub struct NewConversationRequest {
    pub source: Option<String>,
    pub target: String,
    pub title: Option<String>,
    pub backend: Option<BackendKind>,
}

/// A question of the answering agent that waits for the asker's answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct InputRequest {
    /// The question being answered: give it to `answer_question`
    /// (`jobs answer ID TEXT` on the command line).
    pub query_id: String,
    /// The agent's question to the asker.
    pub question: String,
    /// The stored message of the agent's question.
    pub question_id: String,
    /// Unix ms when the agent asked.
    pub asked_at: i64,
    /// How long the agent waits for the answer (`context.ask_back_timeout_s`).
    pub timeout_s: u64,
}
