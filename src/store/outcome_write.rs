//! What finishing a query writes, decided once for both backends: from
//! an [`Outcome`] to the values of the outcome row and of the query's
//! closing (see `postgres/finish.rs` and `sqlite/messages.rs`).

use super::limits::{MAX_NOTE_BYTES, clip};
use super::model::{MessageStatus, Outcome, Role};
use super::module_state::ReplyModule;
use super::records::tokens_of;

/// What one outcome writes: the outcome row (a reply or an error), the
/// columns of the ledger it carries, and how the query closes. Both
/// backends write exactly this; only their SQL differs.
pub(crate) struct OutcomeWrite<'a> {
    pub(crate) session: Option<&'a str>,
    pub(crate) sender: &'a str,
    pub(crate) role: Role,
    pub(crate) content: std::borrow::Cow<'a, str>,
    pub(crate) error: Option<String>,
    pub(crate) instance_id: Option<&'a str>,
    pub(crate) duration_ms: i64,
    pub(crate) usage: Option<String>,
    pub(crate) cost_usd: Option<f64>,
    pub(crate) api_duration_ms: Option<i64>,
    pub(crate) num_turns: Option<i64>,
    pub(crate) input_tokens: Option<i64>,
    pub(crate) output_tokens: Option<i64>,
    pub(crate) cause: Option<&'a str>,
    pub(crate) tool_uses: Option<String>,
    pub(crate) module: Option<&'a ReplyModule>,
    pub(crate) query_status: MessageStatus,
}

impl<'a> OutcomeWrite<'a> {
    pub(crate) fn of(outcome: &'a Outcome) -> OutcomeWrite<'a> {
        match outcome {
            Outcome::Reply {
                sender,
                content,
                instance_id,
                duration_ms,
                usage,
                cost_usd,
                api_duration_ms,
                num_turns,
                backend_session,
                tool_uses,
                module,
            } => {
                let (input_tokens, output_tokens) =
                    usage.as_ref().map(tokens_of).unwrap_or_default();
                OutcomeWrite {
                    session: backend_session.as_deref(),
                    sender,
                    role: Role::Reply,
                    content: content.as_str().into(),
                    error: None,
                    instance_id: instance_id.as_deref(),
                    duration_ms: *duration_ms,
                    usage: usage.as_ref().map(|u| u.to_string()),
                    cost_usd: *cost_usd,
                    api_duration_ms: *api_duration_ms,
                    num_turns: *num_turns,
                    input_tokens,
                    output_tokens,
                    cause: None,
                    tool_uses: (!tool_uses.is_empty())
                        .then(|| serde_json::to_string(tool_uses).unwrap_or_else(|_| "[]".into())),
                    // Nothing written for "no module" (the columns stay NULL).
                    module: Some(module).filter(|m| **m != ReplyModule::default()),
                    query_status: MessageStatus::Delivered,
                }
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
                OutcomeWrite {
                    session: None,
                    sender,
                    role: Role::Error,
                    error: Some(reason.to_string()),
                    content: reason,
                    instance_id: instance_id.as_deref(),
                    duration_ms: *duration_ms,
                    usage: None,
                    cost_usd: None,
                    api_duration_ms: None,
                    num_turns: None,
                    input_tokens: None,
                    output_tokens: None,
                    cause: Some(cause.as_str()),
                    tool_uses: None,
                    module: None,
                    query_status: *status,
                }
            }
        }
    }
}
