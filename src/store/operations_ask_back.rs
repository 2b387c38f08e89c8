//! The store's ask-back operations (see `ask_back.rs`), on both backends.

use super::Result;
use super::ask_back::AskBack;
use super::handle::{Store, on_backend};
use super::model::AskBackState;

impl Store {
    /// Stores the answering agent's `question` about pending query
    /// `query_id` (sent by the conversation's target) as `waiting`.
    /// Refused when the query is not pending or already waits for an answer.
    pub async fn ask_back(&self, query_id: &str, question: &str) -> Result<AskBack> {
        let (query_id, question) = (query_id.to_owned(), question.to_owned());
        on_backend!(self, |s| s.ask_back(&query_id, &question))
    }

    /// Stores the asker's `answer` (sent by the conversation's source) to
    /// the question waiting on pending query `query_id`, closing it
    /// `answered`. Refused when nothing waits (never answered twice).
    pub async fn answer_ask_back(&self, query_id: &str, answer: &str) -> Result<AskBack> {
        let (query_id, answer) = (query_id.to_owned(), answer.to_owned());
        on_backend!(self, |s| s.answer_ask_back(&query_id, &answer))
    }

    /// Closes the question `ask_id` as `state` (`unanswered` or `ended`)
    /// if it still waits; the question as it is now either way (an answer
    /// that came first is kept).
    pub async fn close_ask_back(&self, ask_id: &str, state: AskBackState) -> Result<AskBack> {
        let ask_id = ask_id.to_owned();
        on_backend!(self, |s| s.close_ask_back(&ask_id, state))
    }

    /// The question `ask_id` and its answer, if any.
    pub async fn ask_back_of(&self, ask_id: &str) -> Result<AskBack> {
        let ask_id = ask_id.to_owned();
        on_backend!(self, |s| s.ask_back_of(&ask_id))
    }

    /// The question that waits on query `query_id`, if one does.
    pub async fn waiting_ask_back(&self, query_id: &str) -> Result<Option<AskBack>> {
        let query_id = query_id.to_owned();
        on_backend!(self, |s| s.waiting_ask_back(&query_id))
    }

    /// Records query `child` as asked while query `parent` was being
    /// answered (`ask_module`). Recording it again changes nothing.
    pub async fn link_child_query(&self, child: &str, parent: &str) -> Result<()> {
        let (child, parent) = (child.to_owned(), parent.to_owned());
        on_backend!(self, |s| s.link_child_query(&child, &parent))
    }

    /// Questions back asked since `since_ms` (unix ms), by pair and state;
    /// with `module`, only pairs it takes part in.
    pub async fn ask_backs_since(
        &self,
        since_ms: i64,
        module: Option<&str>,
    ) -> Result<Vec<super::ask_back::AskBackCount>> {
        let module = module.map(str::to_owned);
        on_backend!(self, |s| s.ask_backs_since(since_ms, module.as_deref()))
    }

    /// The queries asked while `parent` was being answered, oldest first.
    pub async fn child_queries(&self, parent: &str) -> Result<Vec<String>> {
        let parent = parent.to_owned();
        on_backend!(self, |s| s.child_queries(&parent))
    }
}
