//! Recording what became of a dispatched query. The rule this file keeps:
//! once a query is stored, the reply or the failure is stored before
//! `send_message` returns. A write that fails is tried again (bounded); a
//! reply whose session bookkeeping cannot be written is still stored (the
//! next turn then re-sends the history); only when nothing at all can be
//! written does the caller get an error saying the query stays pending.

use std::time::Duration;

use super::send_types::SendOutcome;
use super::sending::{QueryFailure, Sending};
use super::{Hub, HubError};
use crate::config::BackendKind;
use crate::instances::{Answer, InstanceError};
use crate::store::{Message, MessageStatus, Outcome, ReplyModule};

/// Attempts at writing one outcome, and the pause before each retry: a
/// busy database (another process's long write) usually frees up quickly.
const WRITE_RETRIES: [Duration; 2] = [Duration::from_millis(50), Duration::from_millis(250)];

impl Hub {
    pub(super) async fn record_outcome(
        &self,
        sending: Box<Sending>,
        result: Result<Answer, QueryFailure>,
        duration_ms: i64,
    ) -> Result<SendOutcome, HubError> {
        let target = sending.conversation.target.clone();
        let failure = match result {
            Ok(answer) => match self.store_reply(&sending, &answer, duration_ms).await {
                Ok(reply) => {
                    self.messages_changed();
                    let reused = reply.reused_from.is_some();
                    return Ok(SendOutcome {
                        conversation_id: sending.conversation.id.clone(),
                        message_id: sending.query_id().to_string(),
                        status: "delivered".into(),
                        reply_id: Some(reply.id),
                        reply: Some(answer.text),
                        source: sending.conversation.source.clone(),
                        target,
                        instance_id: (!reused).then_some(answer.instance_id),
                        duration_ms,
                        usage: answer.usage,
                        cost_usd: answer.cost_usd,
                        duplicate: false,
                        policy: self.modules().policy(&sending.conversation.target).mode,
                        refused: crate::policy::tool_use::refused_summary(&answer.tool_uses),
                        tool_uses: answer.tool_uses,
                        module_commit: reply.module_commit,
                        module_dirty: reply.module_dirty,
                        reused,
                        reused_from: reply.reused_from,
                        node: None,
                        retried: None,
                        note: None,
                        input_request: None,
                    });
                }
                Err(e) => QueryFailure::Hub(HubError::OutcomeNotStored(format!(
                    "the answer arrived but could not be stored: {e}"
                ))),
            },
            Err(failure) => failure,
        };
        let (status, reason) = match &failure {
            QueryFailure::Instance(InstanceError::Cancelled) => {
                (MessageStatus::Cancelled, failure.to_string())
            }
            // The children were stopped under it: the work was interrupted,
            // not refused; it is not replayed.
            _ if self.is_stopping() => (
                MessageStatus::Interrupted,
                format!("this process stopped before the answer arrived ({failure})"),
            ),
            _ => (MessageStatus::Failed, failure.to_string()),
        };
        let outcome = Outcome::Failed {
            sender: target.clone(),
            reason: reason.clone(),
            status,
            instance_id: None,
            duration_ms,
            cause: failure.cause().to_string(),
        };
        if let Err(e) = self
            .store_outcome(sending.query_id(), sending.claimant.as_deref(), outcome)
            .await
        {
            tracing::error!(message = %sending.query_id(), error = %e, "the outcome of a query could not be stored");
            return Err(HubError::OutcomeNotStored(format!(
                "{reason}; and this outcome could not be stored ({e}): message {} stays pending until this server stops, then it is marked interrupted",
                sending.query_id()
            )));
        }
        self.messages_changed();
        Err(HubError::QueryFailed {
            explanation: self.context().explain_error(
                &sending.conversation.source,
                &target,
                &sending.conversation.id,
                &reason,
            ),
            reason,
            conversation_id: sending.conversation.id.clone(),
            message_id: sending.query_id().to_string(),
        })
    }

    /// Stores the reply, with the stream session it continues in (in one
    /// transaction). If that fails, the reply alone: the session is only an
    /// optimisation, the answer is what the caller was promised.
    async fn store_reply(
        &self,
        sending: &Sending,
        answer: &Answer,
        duration_ms: i64,
    ) -> Result<Message, HubError> {
        // A stream process's Claude session, or an A2A agent's contextId:
        // what the next turn continues.
        let keeps_session = sending.backend == BackendKind::ClaudeStream || sending.a2a.is_some();
        let new_session = (keeps_session
            && answer.session_id.is_some()
            && answer.session_id != sending.conversation.backend_session)
            .then(|| answer.session_id.clone())
            .flatten();
        let module = self.reply_module(sending).await;
        let reused = module.reused_from.is_some();
        let reply = |backend_session: Option<String>| Outcome::Reply {
            sender: sending.conversation.target.clone(),
            content: answer.text.clone(),
            instance_id: (!reused).then(|| answer.instance_id.clone()),
            duration_ms,
            usage: answer.usage.clone(),
            cost_usd: answer.cost_usd,
            api_duration_ms: answer.api_duration_ms,
            num_turns: answer.num_turns,
            backend_session,
            tool_uses: answer.tool_uses.clone(),
            module: module.clone(),
        };
        let with_session = new_session.is_some();
        match self
            .store_outcome(
                sending.query_id(),
                sending.claimant.as_deref(),
                reply(new_session),
            )
            .await
        {
            Err(e) if with_session => {
                tracing::warn!(conversation = %sending.conversation.id, error = %e, "the stream session could not be stored with the reply; storing the reply alone (the next turn re-sends the history)");
                self.store_outcome(sending.query_id(), sending.claimant.as_deref(), reply(None))
                    .await
            }
            stored => stored,
        }
    }

    /// What the reply records about the module's folder: the state now
    /// (read again unless the agent could not change it: a read-only
    /// agent's folder changes only by others, which the cache sees), or
    /// the state the reused reply was checked against.
    async fn reply_module(&self, sending: &Sending) -> ReplyModule {
        let reused_from = sending.module.reused.as_ref().map(|m| m.id.clone());
        let state = if sending.a2a.is_some() {
            // No folder: an A2A agent answers from wherever it runs.
            Default::default()
        } else if reused_from.is_some() {
            sending.module.state_now.clone()
        } else {
            let may_edit = self.modules().policy(&sending.conversation.target).mode
                != crate::policy::Mode::ReadOnly;
            self.folder_state(&sending.folder, may_edit).await
        };
        ReplyModule {
            state,
            // An A2A agent's answer is never reused: nothing tells it changed.
            reuse_key: sending
                .a2a
                .is_none()
                .then(|| sending.module.reuse_key.clone()),
            reused_from,
        }
    }

    /// `finish_query`, tried again after a short pause when it fails.
    async fn store_outcome(
        &self,
        query_id: &str,
        claimant: Option<&str>,
        outcome: Outcome,
    ) -> Result<Message, HubError> {
        let mut last = None;
        for pause in std::iter::once(None).chain(WRITE_RETRIES.into_iter().map(Some)) {
            if let Some(pause) = pause {
                tokio::time::sleep(pause).await;
            }
            let stored = match claimant {
                // A routed question: only while this node still holds it.
                Some(node) => {
                    self.node()
                        .fleet()?
                        .finish_claimed_query(query_id, node, outcome.clone())
                        .await
                }
                None => self.store.finish_query(query_id, outcome.clone()).await,
            };
            match stored {
                Ok(message) => return Ok(message),
                // Someone else closed it (e.g. marked interrupted): final.
                Err(crate::store::StoreError::NotPending { id, status }) => {
                    return Err(HubError::AlreadyFinished { id, status });
                }
                Err(e) => last = Some(HubError::from(e)),
            }
        }
        Err(last.unwrap_or_else(|| HubError::Internal("no attempt was made".into())))
    }
}
