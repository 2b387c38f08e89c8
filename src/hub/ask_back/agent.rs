//! The answering agent's side of an ask-back, run by `claude-comms
//! agent-tools` (the MCP server its `claude` started): it stores the
//! agent's question about the one query of its scope, then waits for the
//! asker's answer, the deadline, or the end of the query, reading the
//! store every [`super::ASK_POLL`]. Whatever happens, the question is
//! closed before the tool returns, so nothing waits for good.

use std::path::Path;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::super::HubError;
use super::ASK_POLL;
use super::scope::AgentScope;
use crate::store::{AskBackState, MessageStatus, Store};

/// The agent tools' view of their question and store.
pub struct AgentSide {
    scope: AgentScope,
    store: Store,
}

/// What the agent's tool returns, worded for the agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AgentWords {
    /// The asker's answer.
    Answered(String),
    /// A reason to go on (no answer in time) or to stop (the query
    /// ended), in words for the agent.
    NoAnswer(String),
}

impl AgentSide {
    /// Reads the scope file the hub wrote and opens its store.
    pub fn open(scope_file: &Path) -> Result<AgentSide, HubError> {
        let scope = AgentScope::read(scope_file)?;
        let store = scope.store.open()?;
        Ok(AgentSide { scope, store })
    }

    pub fn scope(&self) -> &AgentScope {
        &self.scope
    }

    /// `ask_asker`: asks the asking module `question` about the query in
    /// scope and waits for the answer (at most the scope's timeout).
    pub async fn ask_asker(
        &self,
        question: &str,
        cancel: &CancellationToken,
    ) -> Result<AgentWords, HubError> {
        if question.trim().is_empty() {
            return Err(HubError::BadRequest(
                "the question is empty: say what you need the asker to tell you".into(),
            ));
        }
        let scope = &self.scope;
        let asked = self.store.ask_back(&scope.query_id, question).await?;
        let ask_id = asked.question.id;
        let timeout = Duration::from_secs(scope.timeout_s);
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let now = tokio::time::Instant::now();
            if now >= deadline {
                return self.give_up(&ask_id).await;
            }
            tokio::select! {
                _ = cancel.cancelled() => {
                    self.store.close_ask_back(&ask_id, AskBackState::Ended).await?;
                    return Ok(AgentWords::NoAnswer("the question was withdrawn".into()));
                }
                _ = tokio::time::sleep(ASK_POLL.min(deadline - now)) => {}
            }
            let found = self.store.ask_back_of(&ask_id).await?;
            if let Some(answer) = found.answer {
                return Ok(AgentWords::Answered(answer.content));
            }
            let query = self.store.message(&scope.query_id).await?;
            if query.status != MessageStatus::Pending {
                let ended = self
                    .store
                    .close_ask_back(&ask_id, AskBackState::Ended)
                    .await?;
                if let Some(answer) = ended.answer {
                    return Ok(AgentWords::Answered(answer.content));
                }
                return Ok(AgentWords::NoAnswer(format!(
                    "the question you are answering is {}: stop here",
                    query.status.as_str()
                )));
            }
        }
    }

    /// The deadline passed: close the question `unanswered` (unless the
    /// answer came first) and tell the agent to go on.
    async fn give_up(&self, ask_id: &str) -> Result<AgentWords, HubError> {
        let closed = self
            .store
            .close_ask_back(ask_id, AskBackState::Unanswered)
            .await?;
        if let Some(answer) = closed.answer {
            return Ok(AgentWords::Answered(answer.content));
        }
        Ok(AgentWords::NoAnswer(format!(
            "no answer came from {} within {} s; go on with what you know",
            self.scope.source, self.scope.timeout_s
        )))
    }
}
