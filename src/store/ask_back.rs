//! Ask-backs (issue 29): a question the answering agent asks its asker
//! while it works on a query, and the asker's answer. Both are messages of
//! the conversation (roles `ask_back` and `ask_back_answer`), so they are
//! exported and searched like any other; the `ask_backs` table says which
//! query a question belongs to and whether it still waits. At most one
//! question waits per query (a unique index), and one answer closes it:
//! answering, giving up (`unanswered`, the agent's wait ran out) and
//! ending (the query was cancelled) each change a `waiting` row only, so
//! whichever comes first wins and the others are told so.

use serde::{Deserialize, Serialize};

use super::model::{AskBackState, Message};

/// A question of an answering agent back to its asker, and where it is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AskBack {
    /// The agent's question (a message of role `ask_back`).
    pub question: Message,
    /// The query the agent was answering when it asked.
    pub query_id: String,
    pub state: AskBackState,
    /// The asker's answer (role `ask_back_answer`), once answered.
    pub answer: Option<Message>,
}

/// How many questions back a pair's agents asked in a period, by state
/// (for `stats`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AskBackCount {
    /// The asking module (who was asked back).
    pub source: String,
    /// The answering module (whose agent asked).
    pub target: String,
    pub state: AskBackState,
    pub count: i64,
}

/// Counts questions back, asked since `since_ms`, of pairs `module` takes
/// part in (all without one), by pair and state (the same SQL on both
/// backends but for the parameter style).
pub(super) const ASK_BACK_COUNTS: &str =
    "SELECT c.source, c.target, a.state, COUNT(*)
     FROM ask_backs a JOIN messages m ON m.id = a.ask_id JOIN conversations c ON c.id = m.conversation_id
     WHERE m.created_at >= $1 AND ($2 IS NULL OR c.source = $2 OR c.target = $2)
     GROUP BY c.source, c.target, a.state ORDER BY c.source, c.target, a.state";

/// Why an ask-back could not be stored or answered (as
/// [`super::StoreError::BadValue`], whose words name the query).
pub(super) fn not_waiting(query_id: &str, status: &str) -> super::StoreError {
    super::StoreError::BadValue(format!(
        "question {query_id} is {status}: nobody waits for an answer to it"
    ))
}

pub(super) fn nothing_asked(query_id: &str) -> super::StoreError {
    super::StoreError::BadValue(format!(
        "question {query_id} has no question of its answering agent waiting for an answer"
    ))
}

pub(super) fn already_waiting(query_id: &str, ask_id: &str) -> super::StoreError {
    super::StoreError::BadValue(format!(
        "question {query_id} already waits for the answer to {ask_id}; ask one thing at a time"
    ))
}

pub(super) fn not_a_query(id: &str) -> super::StoreError {
    super::StoreError::BadValue(format!(
        "message {id} is not a question (a query): only a question being answered can ask back"
    ))
}
