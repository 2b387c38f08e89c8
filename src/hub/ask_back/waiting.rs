//! The asker's side of an ask-back. A waiting `send_message` carries its
//! query while watching the store for a question of the agent; when one
//! comes it returns `input_required` with the question, and the query
//! goes on as a job (the agent is still working, waiting for the answer).
//! `answer_question` stores the answer and waits for what comes next: the
//! reply, another question, or the end of the query.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::super::send_types::{InputRequest, SendOutcome, SendRequest};
use super::super::sending::Sending;
use super::super::{Argument, Hub, HubError, JobStatus};
use super::wake::{self, RECHECK};
use crate::store::{AskBack, AskBackState, IdKind, MessageStatus, Notice, Role};

/// What an ask-back waiter listens to: this process's wake-ups and the
/// store's notices (PostgreSQL).
pub(in crate::hub) struct News {
    /// On SQLite: the agent tools' pokes and this process's answers (on
    /// PostgreSQL the store's notices carry both; on SQLite the data
    /// directory's doorbell carries them between its processes too).
    changes: Option<tokio::sync::watch::Receiver<u64>>,
    notices: Option<tokio::sync::broadcast::Receiver<Notice>>,
    /// Whether every write of this process wakes it too (a wait for an
    /// outcome; a wait only for a question would read the store on every
    /// write of every query).
    local: bool,
}

impl News {
    /// Whether the store's notices reach this wait (else it polls).
    pub(in crate::hub) fn has_notices(&self) -> bool {
        self.notices.is_some()
    }
}

/// The status of a query whose agent waits for its asker's answer.
pub const INPUT_REQUIRED: &str = "input_required";

impl<'h> crate::hub::Messaging<'h> {
    fn input_request_of(self, asked: AskBack) -> InputRequest {
        InputRequest {
            query_id: asked.query_id,
            question: asked.question.content,
            question_id: asked.question.id,
            asked_at: asked.question.created_at,
            timeout_s: self.config().config.context.ask_back_timeout_s,
        }
    }

    /// The question that waits on pending query `query_id`, if any.
    pub async fn input_request(self, query_id: &str) -> Result<Option<InputRequest>, HubError> {
        let waiting = self.store.waiting_ask_back(query_id).await?;
        Ok(waiting.map(|asked| self.input_request_of(asked)))
    }

    /// Marks a pending job whose agent waits for an answer
    /// `input_required`, with the question.
    pub(in crate::hub) async fn note_input_request(
        self,
        job: &mut JobStatus,
    ) -> Result<(), HubError> {
        if job.status == MessageStatus::Pending.as_str()
            && let Some(request) = self.input_request(&job.message_id).await?
        {
            job.status = INPUT_REQUIRED.into();
            job.input_request = Some(request);
        }
        Ok(())
    }

    /// Dispatches a stored query and records its outcome, as a waiting
    /// `send_message` does, except that a question of the agent ends the
    /// wait: the caller gets `input_required`, and the rest of the work
    /// becomes a job of this process (cancel it with `cancel_job`).
    pub(in crate::hub) async fn carry_waiting(
        self,
        sending: Box<Sending>,
        mut request: SendRequest,
    ) -> Result<SendOutcome, HubError> {
        let query_id = sending.query_id().to_string();
        let conversation = sending.conversation.clone();
        // The caller's cancellation reaches the work only while it waits;
        // after that, `cancel_job` does (as for any job).
        let caller_cancel = std::mem::take(&mut request.cancel);
        let job_cancel = request.cancel.clone();
        let mut registered = Registered::new(self.arc(), query_id.clone(), job_cancel.clone());
        let hub = self.arc();
        let mut work = Box::pin(async move {
            let mut sending = sending;
            let started = Instant::now();
            let result = hub.messaging().dispatch(&mut sending, &request).await;
            let duration_ms = started.elapsed().as_millis() as i64;
            hub.node().beat_soon();
            hub.record_outcome(sending, result, duration_ms).await
        });
        let mut caller_gone = false;
        // Only a question ends this wait (the outcome comes from `work`).
        let mut news = self.news(false);
        loop {
            tokio::select! {
                outcome = &mut work => return outcome,
                _ = caller_cancel.cancelled(), if !caller_gone => {
                    caller_gone = true;
                    job_cancel.cancel();
                }
                _ = self.ask_back_news(&mut news, &query_id, RECHECK), if !caller_gone => {
                    // The work goes on while the store is read: paused, it
                    // might hold the connection this read waits for.
                    let asked = tokio::select! {
                        outcome = &mut work => return outcome,
                        asked = self.input_request(&query_id) => asked,
                    };
                    let Ok(Some(request)) = asked else {
                        continue;
                    };
                    registered.hand_over();
                    let id = query_id.clone();
                    let hub = self.arc();
                    self.spawn_job(async move {
                        if let Err(e) = work.await {
                            tracing::info!(job = %id, error = %e, "job ended without an answer");
                        }
                        hub.jobs().in_flight().remove(&id);
                    });
                    let mut outcome = self.jobs().pending_outcome(&conversation, &query_id);
                    outcome.status = INPUT_REQUIRED.into();
                    outcome.input_request = Some(request);
                    return Ok(outcome);
                }
            }
        }
    }

    /// Answers the question that waits on query `query_id` (an id or a
    /// prefix of 8+ characters) with `answer`, then waits up to `wait` for
    /// what comes next: the reply, another question, or the end.
    pub async fn answer_question(
        self,
        query_id: &str,
        answer: &str,
        wait: Duration,
    ) -> Result<SendOutcome, HubError> {
        if answer.trim().is_empty() {
            return Err(HubError::bad_argument(
                Argument::Message,
                "the answer is empty",
            ));
        }
        self.check_message(answer)?;
        let query_id = self.jobs().full_id(IdKind::Message, query_id).await?;
        let answered = self.store.answer_ask_back(&query_id, answer).await?;
        self.messages_changed();
        self.ask_wake.wake();
        wake::poke_agent(&self.agent_tools_dir(), &query_id);
        self.next_turn(&query_id, Some(&answered.question.id), wait)
            .await
    }

    /// Declines the question that waits on query `query_id` (the asker
    /// will not answer it: an elicitation declined or dismissed): the
    /// agent is told so at once and goes on with what it knows. Then waits
    /// up to `wait` for what comes next, as [`Messaging::answer_question`](crate::hub::Messaging::answer_question).
    pub async fn decline_question(
        self,
        query_id: &str,
        wait: Duration,
    ) -> Result<SendOutcome, HubError> {
        let query_id = self.jobs().full_id(IdKind::Message, query_id).await?;
        let Some(waiting) = self.store.waiting_ask_back(&query_id).await? else {
            return Err(HubError::BadRequest(format!(
                "question {query_id} has no question of its answering agent waiting for an answer"
            )));
        };
        let closed = self
            .store
            .close_ask_back(&waiting.question.id, AskBackState::Unanswered)
            .await?;
        self.messages_changed();
        self.ask_wake.wake();
        wake::poke_agent(&self.agent_tools_dir(), &query_id);
        self.next_turn(&query_id, Some(&closed.question.id), wait)
            .await
    }

    /// What became of query `query_id` within `wait`: its reply (or
    /// failure), a question other than `answered`, or still pending.
    pub async fn next_turn(
        self,
        query_id: &str,
        answered: Option<&str>,
        wait: Duration,
    ) -> Result<SendOutcome, HubError> {
        let deadline = tokio::time::Instant::now() + wait.min(super::super::MAX_WAIT);
        let mut news = self.news(true);
        loop {
            let detail = self.jobs().get_with_answer(query_id).await?;
            if let Some(answer) = detail.answer {
                return Ok(answer);
            }
            let conversation = self.store.conversation(&detail.job.conversation_id).await?;
            if !detail.job.is_pending() {
                let reason = detail
                    .job
                    .error
                    .unwrap_or_else(|| detail.job.status.clone());
                return Err(HubError::QueryFailed {
                    explanation: format!(
                        "the question to {} got no answer: {reason}",
                        conversation.target
                    ),
                    reason,
                    conversation_id: conversation.id,
                    message_id: detail.job.message_id,
                });
            }
            let mut outcome = self.jobs().pending_outcome(&conversation, query_id);
            if let Some(request) = self.input_request(query_id).await?
                && answered != Some(request.question_id.as_str())
            {
                outcome.status = INPUT_REQUIRED.into();
                outcome.input_request = Some(request);
                return Ok(outcome);
            }
            let now = tokio::time::Instant::now();
            if now >= deadline {
                return Ok(outcome);
            }
            self.ask_back_news(&mut news, query_id, RECHECK.min(deadline - now))
                .await;
        }
    }

    /// Subscribes to what may change an ask-back, and with `local` every
    /// write of this process (before reading the store, so that nothing
    /// between the read and the wait is missed).
    pub(in crate::hub) fn news(self, local: bool) -> News {
        News {
            // On SQLite the agent tools' pokes too (they reach the hub that
            // dispatched even where the data directory's doorbell cannot).
            changes: self
                .store
                .fleet()
                .is_none()
                .then(|| self.ask_wake.changes()),
            notices: self.store.notices(),
            local,
        }
    }

    /// Returns when query `query_id`'s ask-back or outcome may have
    /// changed: on PostgreSQL a store notice about it, on SQLite an
    /// ask-back wake-up of this process (its own answer, or the agent
    /// tools' poke); with `news.local` any write of this process; or
    /// `at_most`.
    pub(in crate::hub) async fn ask_back_news(
        self,
        news: &mut News,
        query_id: &str,
        at_most: Duration,
    ) {
        // A wait for a question only (`local` false: its outcome comes from
        // the work it carries) is not woken by the outcome.
        let local = news.local;
        let about = |notice: Notice| match notice {
            Notice::AskBack { query_id: id } => id == query_id,
            Notice::Outcome { query_id: id } => local && id == query_id,
            _ => false,
        };
        let poked = async {
            match news.changes.as_mut() {
                Some(changes) => {
                    let _ = changes.changed().await;
                }
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = poked => {}
            _ = self.local_writes.notified(), if news.local => {}
            _ = super::super::notices::next_notice(&mut news.notices, about) => {}
            _ = tokio::time::sleep(at_most) => {}
        }
    }

    /// The question back whose message is `message_id`, and where it is.
    pub async fn question_back(self, message_id: &str) -> Result<AskBack, HubError> {
        Ok(self.store.ask_back_of(message_id).await?)
    }

    /// Whether module `module` asked query `query_id` (only the asker may
    /// answer its agent's questions).
    pub async fn asked_by(self, query_id: &str, module: &str) -> Result<bool, HubError> {
        let id = self.jobs().full_id(IdKind::Message, query_id).await?;
        let query = self.store.message(&id).await?;
        if query.role != Role::Query {
            return Ok(false);
        }
        let conversation = self.store.conversation(&query.conversation_id).await?;
        Ok(conversation.source == module)
    }
}

/// A waiting send's entry in the jobs this process carries (so
/// `cancel_job` reaches it); removed when the wait ends, unless the work
/// was handed over to a job.
struct Registered {
    hub: Arc<Hub>,
    id: String,
    handed_over: bool,
}

impl Registered {
    fn new(hub: Arc<Hub>, id: String, cancel: tokio_util::sync::CancellationToken) -> Registered {
        hub.jobs().in_flight().insert(id.clone(), cancel);
        Registered {
            hub,
            id,
            handed_over: false,
        }
    }

    fn hand_over(&mut self) {
        self.handed_over = true;
    }
}

impl Drop for Registered {
    fn drop(&mut self) {
        if !self.handed_over {
            self.hub.jobs().in_flight().remove(&self.id);
        }
    }
}
