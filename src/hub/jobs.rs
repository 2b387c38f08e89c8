//! Jobs: a query sent without waiting. It is a stored message like any
//! other, so its state and reply survive restarts; the process that sent it
//! (the daemon, normally) carries it to its end after the caller has gone.
//! A process that stops mid-job leaves it `interrupted`, never replayed.

use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use super::HubError;
use super::daemon_ops::{CANCEL_JOB, JobIdArgs};
use super::send_types::{SendOutcome, SendRequest};
use super::sending::Prepared;
use crate::store::{Conversation, IdKind, Message, MessageStatus, Role};

/// Longest a caller may wait for a reply in one call.
pub const MAX_WAIT: Duration = Duration::from_secs(3600);

/// How often a waiter looks at a SQLite database for a reply written by
/// another process (replies of this process, and its agents' questions
/// back, wake it at once; on PostgreSQL the store's notices do, and the
/// wait re-reads only after `ask_back::wake::RECHECK`).
const WAIT_POLL: Duration = Duration::from_millis(250);

/// A job as `get_reply`, `jobs show` and `jobs list` report it.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct JobStatus {
    /// The stored query (the job's id).
    pub message_id: String,
    pub conversation_id: String,
    /// The asking module.
    pub source: String,
    /// `pending`, `delivered`, `failed`, `cancelled` or `interrupted`.
    pub status: String,
    /// The question, as sent.
    pub message: String,
    /// The answer, once delivered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reply: Option<String>,
    /// Why there is no answer (failed, cancelled, interrupted).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The instance that answered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance_id: Option<String>,
    /// Unix ms when the job was sent.
    pub created_at: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<i64>,
    /// What the answering module's policy refused its agent, in one line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refused: Option<String>,
    /// What the answering agent tried: tool, target, allowed or refused.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_uses: Vec<crate::policy::ToolUse>,
    /// The fleet node that took the question (routed questions only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    /// With status `input_required`: the answering agent's question,
    /// waiting for the asker's answer (`answer_question`, `jobs answer`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_request: Option<super::ask_back::InputRequest>,
    /// The questions its answering agent asked other modules meanwhile
    /// (`ask_module`), each with its own (`job`, `jobs show`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub children: Vec<JobStatus>,
}

/// A job with what an MCP task reports beyond [`JobStatus`].
#[derive(Debug, Clone)]
pub struct JobDetail {
    pub job: JobStatus,
    /// The module asked.
    pub target: String,
    /// Once delivered: the outcome a waiting `send_message` returns.
    pub answer: Option<SendOutcome>,
}

impl JobStatus {
    fn of(query: Message, outcome: Option<Message>) -> JobStatus {
        let tool_uses = outcome
            .as_ref()
            .map(|m| m.tool_uses.clone())
            .unwrap_or_default();
        let (reply, error, instance_id, duration_ms) = match outcome {
            Some(m) if m.role == Role::Reply => {
                (Some(m.content), None, m.instance_id, m.duration_ms)
            }
            Some(m) => (None, Some(m.content), m.instance_id, m.duration_ms),
            None => (None, query.error.clone(), None, None),
        };
        JobStatus {
            node: query.node.clone(),
            message_id: query.id,
            conversation_id: query.conversation_id,
            source: query.sender,
            status: query.status.as_str().to_string(),
            message: query.content,
            reply,
            error,
            instance_id,
            created_at: query.created_at,
            duration_ms,
            refused: crate::policy::tool_use::refused_summary(&tool_uses),
            tool_uses,
            input_request: None,
            children: Vec::new(),
        }
    }

    /// Not finished: working, or waiting for the asker's answer.
    pub fn is_pending(&self) -> bool {
        self.status == MessageStatus::Pending.as_str()
            || self.status == super::ask_back::INPUT_REQUIRED
    }
}

/// The [`Jobs`](crate::hub::Jobs) service's own state: the jobs this
/// process carries, by query id, with the token that cancels each.
#[derive(Default)]
pub(super) struct JobsState {
    running:
        std::sync::Mutex<std::collections::HashMap<String, tokio_util::sync::CancellationToken>>,
}

impl<'h> crate::hub::Jobs<'h> {
    /// The jobs this process carries (by query id), locked.
    pub(crate) fn in_flight(
        self,
    ) -> std::sync::MutexGuard<
        'h,
        std::collections::HashMap<String, tokio_util::sync::CancellationToken>,
    > {
        let running = &self.hub().jobs_state.running;
        running.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Stores the query and returns at once (status `pending`); this process
    /// carries the query to its end in the background.
    pub async fn send(self, mut request: SendRequest) -> Result<SendOutcome, HubError> {
        // Nobody listens for progress.
        request.progress = None;
        self.jobs().send_reporting(request).await
    }

    /// [`Jobs::send`](crate::hub::Jobs::send), with the agent's progress sent to
    /// `request.progress` while the job runs (the A2A face streams it).
    pub async fn send_reporting(self, mut request: SendRequest) -> Result<SendOutcome, HubError> {
        if self.remote.is_some() {
            return self.send_through_daemon(request, false).await;
        }
        // The caller's cancellation does not reach a job (`cancel_job` does).
        let cancel = CancellationToken::new();
        request.cancel = cancel.clone();
        let sending = match self.messaging().prepare(&request).await? {
            Prepared::Fresh(sending) => sending,
            Prepared::Duplicate(earlier) => return *earlier,
            // The node that claims it answers it; the job is in the store.
            Prepared::Routed(routed) => {
                let (conversation, query) = *routed;
                return Ok(self.pending_outcome(&conversation, &query.id));
            }
        };
        let accepted = self.pending_outcome(&sending.conversation, sending.query_id());
        let id = accepted.message_id.clone();
        self.jobs().in_flight().insert(id.clone(), cancel);
        let hub = self.arc();
        self.spawn_job(async move {
            let mut sending = sending;
            let started = std::time::Instant::now();
            let result = hub.messaging().dispatch(&mut sending, &request).await;
            let duration_ms = started.elapsed().as_millis() as i64;
            hub.node().beat_soon();
            if let Err(e) = hub.record_outcome(sending, result, duration_ms).await {
                tracing::info!(job = %id, error = %e, "job ended without an answer");
            }
            hub.jobs().in_flight().remove(&id);
        });
        Ok(accepted)
    }

    /// What a detached send returns: the query is stored and pending.
    pub(super) fn pending_outcome(
        self,
        conversation: &Conversation,
        query_id: &str,
    ) -> SendOutcome {
        SendOutcome {
            conversation_id: conversation.id.clone(),
            message_id: query_id.to_string(),
            status: MessageStatus::Pending.as_str().to_string(),
            reply_id: None,
            reply: None,
            source: conversation.source.clone(),
            target: conversation.target.clone(),
            instance_id: None,
            duration_ms: 0,
            usage: None,
            cost_usd: None,
            duplicate: false,
            policy: self.modules().policy(&conversation.target).mode,
            refused: None,
            tool_uses: Vec::new(),
            // Known once answered (`get_reply`).
            module_commit: None,
            module_dirty: None,
            reused: false,
            reused_from: None,
            node: None,
            retried: None,
            note: None,
            input_request: None,
        }
    }

    /// A job by its id (or an unambiguous prefix of 8+ characters).
    pub async fn get(self, id: &str) -> Result<JobStatus, HubError> {
        let id = self.jobs().full_id(IdKind::Message, id).await?;
        let query = self.store.message(&id).await?;
        let outcome = self.store.outcome_of(&id).await?;
        check_is_query(&query)?;
        let mut job = JobStatus::of(query, outcome);
        self.messaging().note_input_request(&mut job).await?;
        job.children = self.child_jobs(&id, 0).await?;
        Ok(job)
    }

    /// The questions asked while `parent` was answered, as a tree (at most
    /// as deep as a chain of questions can go).
    fn child_jobs<'a>(
        &'a self,
        parent: &'a str,
        depth: usize,
    ) -> std::pin::Pin<Box<dyn Future<Output = Result<Vec<JobStatus>, HubError>> + Send + 'a>> {
        Box::pin(async move {
            if depth >= crate::store::limits::MAX_HOP_CHAIN {
                return Ok(Vec::new());
            }
            let mut children = Vec::new();
            for id in self.store.child_queries(parent).await? {
                let query = self.store.message(&id).await?;
                let outcome = self.store.outcome_of(&id).await?;
                let mut child = JobStatus::of(query, outcome);
                self.messaging().note_input_request(&mut child).await?;
                child.children = self.child_jobs(&id, depth + 1).await?;
                children.push(child);
            }
            Ok(children)
        })
    }

    /// A job and, once delivered, its answer exactly as a waiting
    /// `send_message` returns it: an MCP task (a job under another name)
    /// reports the result the synchronous call would have given.
    pub async fn get_with_answer(self, id: &str) -> Result<JobDetail, HubError> {
        let id = self.jobs().full_id(IdKind::Message, id).await?;
        let query = self.store.message(&id).await?;
        let conversation = self.store.conversation(&query.conversation_id).await?;
        let outcome = self.store.outcome_of(&id).await?;
        check_is_query(&query)?;
        let answer = match &outcome {
            Some(reply) if reply.role == Role::Reply => {
                Some(self.delivered_outcome(&conversation, query.id.clone(), reply.clone(), false))
            }
            _ => None,
        };
        let mut job = JobStatus::of(query, outcome);
        self.messaging().note_input_request(&mut job).await?;
        Ok(JobDetail {
            job,
            target: conversation.target,
            answer,
        })
    }

    /// What `send_message` returns for a query answered by `reply` (stored
    /// earlier: a repeated idempotency key, or a job collected later).
    pub(super) fn delivered_outcome(
        self,
        conversation: &Conversation,
        query_id: String,
        reply: Message,
        duplicate: bool,
    ) -> SendOutcome {
        SendOutcome {
            conversation_id: conversation.id.clone(),
            message_id: query_id,
            status: MessageStatus::Delivered.as_str().to_string(),
            reply_id: Some(reply.id),
            reply: Some(reply.content),
            source: conversation.source.clone(),
            target: conversation.target.clone(),
            instance_id: reply.instance_id,
            duration_ms: reply.duration_ms.unwrap_or(0),
            usage: reply.usage,
            cost_usd: reply.cost_usd,
            duplicate,
            policy: self.modules().policy(&conversation.target).mode,
            refused: crate::policy::tool_use::refused_summary(&reply.tool_uses),
            tool_uses: reply.tool_uses,
            module_commit: reply.module_commit,
            module_dirty: reply.module_dirty,
            reused: reply.reused_from.is_some(),
            reused_from: reply.reused_from,
            node: None,
            retried: None,
            note: None,
            input_request: None,
        }
    }

    /// The job, once it is no longer pending, its agent asks something
    /// back (`input_required`), or `wait` has passed.
    pub async fn wait(self, id: &str, wait: Duration) -> Result<JobStatus, HubError> {
        self.wait_job_until(id, wait, true).await
    }

    async fn wait_job_until(
        self,
        id: &str,
        wait: Duration,
        stop_at_question: bool,
    ) -> Result<JobStatus, HubError> {
        let wait = wait.min(MAX_WAIT);
        let deadline = tokio::time::Instant::now() + wait;
        // Listening before the first read: nothing in between is missed.
        let mut news = self.messaging().news(true);
        let mut job = self.jobs().get(id).await?;
        let waits = |job: &JobStatus| {
            job.is_pending() && !(stop_at_question && job.input_request.is_some())
        };
        // Woken by the store's notices (PostgreSQL's, or the SQLite data
        // directory's doorbell, which carries another process's outcome);
        // without them, looked for on a short timer.
        let every = match news.has_notices() {
            true => super::ask_back::wake::RECHECK,
            false => WAIT_POLL,
        };
        while waits(&job) && tokio::time::Instant::now() < deadline {
            let nap = every.min(deadline - tokio::time::Instant::now());
            self.messaging()
                .ask_back_news(&mut news, &job.message_id, nap)
                .await;
            job = self.jobs().get(&job.message_id).await?;
        }
        Ok(job)
    }

    /// The newest jobs (queries), newest first; with `module`, only those
    /// of conversations it takes part in.
    pub async fn list(
        self,
        status: Option<MessageStatus>,
        module: Option<&str>,
        limit: usize,
    ) -> Result<Vec<JobStatus>, HubError> {
        let queries = self.store.recent_queries(status, module, limit).await?;
        let ids: Vec<String> = queries.iter().map(|q| q.id.clone()).collect();
        let mut outcomes: std::collections::HashMap<String, Message> = self
            .store
            .outcomes_of(&ids)
            .await?
            .into_iter()
            .filter_map(|o| Some((o.reply_to.clone()?, o)))
            .collect();
        let mut jobs = Vec::with_capacity(queries.len());
        for query in queries {
            let outcome = outcomes.remove(&query.id);
            let mut job = JobStatus::of(query, outcome);
            self.messaging().note_input_request(&mut job).await?;
            jobs.push(job);
        }
        Ok(jobs)
    }

    /// Cancels a job this process is carrying: the work at the child is
    /// cancelled and the job recorded `cancelled`.
    pub async fn cancel(self, id: &str) -> Result<JobStatus, HubError> {
        let job = self.jobs().get(id).await?;
        if let Some(remote) = &self.remote {
            let args = JobIdArgs {
                message_id: job.message_id.clone(),
            };
            return remote
                .call(&CANCEL_JOB, &args, None, &CancellationToken::new())
                .await;
        }
        if !job.is_pending() {
            return Err(HubError::BadRequest(format!(
                "job {} is already {}; only a pending job can be cancelled",
                job.message_id, job.status
            )));
        }
        let token = self.jobs().in_flight().get(&job.message_id).cloned();
        let Some(token) = token else {
            return Err(HubError::BadRequest(format!(
                "job {} is carried by another process (the daemon, or the host that sent it); cancel it there",
                job.message_id
            )));
        };
        token.cancel();
        self.wait_job_until(&job.message_id, Duration::from_secs(10), false)
            .await
    }

    /// The full id of a message or conversation from an id or a prefix.
    pub async fn full_id(self, kind: IdKind, id: &str) -> Result<String, HubError> {
        Ok(self.store.resolve_id(kind, id).await?)
    }
}

/// Only a question is a job; replies and errors have ids of their own.
fn check_is_query(message: &Message) -> Result<(), HubError> {
    if message.role == Role::Query {
        return Ok(());
    }
    Err(HubError::BadRequest(format!(
        "message {} is a {}, not a query: give the id of the question (the job)",
        message.id,
        message.role.as_str()
    )))
}
