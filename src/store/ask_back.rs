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
