//! `send_message`: the path of one question from an asking module to the
//! agent of the answering module, and of the answer back.
//!
//! Durability rules (see also [`crate::store`]):
//! 1. the query is committed before anything is dispatched, so a crash
//!    leaves it `pending` (and the next start marks it `interrupted`);
//! 2. the reply, or the failure and its reason, is committed before the
//!    call returns, so nothing the caller was told is ever lost;
//! 3. an idempotency key that was seen before returns the first outcome and
//!    sends nothing (a Claude query can change files; it must not run twice).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use super::{Hub, HubError};
use crate::config::BackendKind;
use crate::context::{HopContext, PromptKind, QueryInput, Turn, TurnRole};
use crate::instances::{InstanceError, ProgressSink, Query};
use crate::store::{BeginQuery, Conversation, Message, MessageStatus, NewQuery, Outcome, Role};

/// Longest conversation title made from a first message, in characters.
const TITLE_CHARS: usize = 80;

/// What a caller asks `send_message` to do.
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
}

/// What `send_message` returns.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct SendOutcome {
    pub conversation_id: String,
    /// The stored query.
    pub message_id: String,
    /// The stored reply.
    pub reply_id: String,
    /// The answering agent's answer.
    pub reply: String,
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
}

/// The parameters of a conversation being created.
pub struct NewConversationRequest {
    pub source: Option<String>,
    pub target: String,
    pub title: Option<String>,
    pub backend: Option<BackendKind>,
}

impl Hub {
    /// Starts a conversation between two known modules.
    pub async fn create_conversation(
        &self,
        request: NewConversationRequest,
    ) -> Result<Conversation, HubError> {
        let source = self.resolve_source(request.source.as_deref())?;
        self.descriptor(&request.target)?;
        let backend = request
            .backend
            .unwrap_or(self.config().config.instances.backend);
        let metadata = serde_json::json!({ "backend": backend.as_str() });
        let title = request.title;
        let target = request.target;
        let conversation = self
            .db(move |s| s.create_conversation(&source, &target, title.as_deref(), metadata))
            .await?;
        self.messages_changed();
        Ok(conversation)
    }

    /// Sends a message and waits for the answer (see the module docs for
    /// what is stored when).
    pub async fn send_message(
        self: &std::sync::Arc<Self>,
        request: SendRequest,
    ) -> Result<SendOutcome, HubError> {
        self.check_message(&request.message)?;
        self.announce().await?;
        let (conversation, history) = self.conversation_for(&request).await?;
        let (source, target) = (conversation.source.clone(), conversation.target.clone());
        let source_descriptor = self.descriptor(&source)?;
        let target_descriptor = self.descriptor(&target)?;
        let chain = HopContext::from_env()
            .check(&source, &target, self.config().config.context.hop_limit)
            .map_err(|e| HubError::BadRequest(e.to_string()))?;
        let folder = self.existing_module_folder(&target)?;

        // The prompt is rendered before the query is stored, so the query and
        // the template that rendered it are one write (each write is a disk
        // sync). The history is what was stored before this message.
        let history: Vec<Turn> = history.into_iter().map(turn_of).collect();
        let backend = backend_of(&conversation, self.config().config.instances.backend);
        let timeout = Duration::from_secs(
            request
                .timeout_s
                .unwrap_or(self.config().config.instances.request_timeout_s),
        );
        // Stream instances that hold (or can resume) the Claude session get
        // only the new turn; everything else gets the whole story.
        let mut resume = match backend {
            BackendKind::ClaudeStream => conversation.backend_session.clone(),
            BackendKind::ClaudeCodeMcp => None,
        };
        let render = |resume: bool| {
            let kind = if resume {
                PromptKind::NewTurn
            } else if history.is_empty() {
                PromptKind::FirstQuery
            } else {
                PromptKind::FollowUp
            };
            self.context().render_query(&QueryInput {
                kind,
                source: &source_descriptor,
                target: &target_descriptor,
                target_folder: &folder,
                conversation_id: &conversation.id,
                history: &history,
                message: &request.message,
                hop_chain: &chain,
            })
        };
        let mut prompt = render(resume.is_some())
            .map_err(|e| HubError::BadRequest(format!("argument `message`: {e}")))?;

        let new_query = NewQuery {
            conversation_id: conversation.id.clone(),
            sender: source.clone(),
            content: request.message.clone(),
            idempotency_key: request.idempotency_key.clone(),
            hop_chain: chain.clone(),
            owner: self.server_id().to_string(),
            template_version: Some(prompt.template_version.clone()),
            context_note: prompt.cut.clone(),
        };
        let query = match self.db(move |s| s.begin_query(&new_query)).await? {
            BeginQuery::Fresh(query) => query,
            BeginQuery::Duplicate { query, outcome } => {
                return self.earlier_outcome(&conversation, query, outcome.map(|b| *b));
            }
        };
        self.messages_changed();

        let started = Instant::now();
        let result = loop {
            let answer = self
                .instances()
                .query(Query {
                    backend,
                    source: source.clone(),
                    target: target.clone(),
                    conversation_id: conversation.id.clone(),
                    prompt: prompt.text.clone(),
                    workdir: folder.clone(),
                    timeout,
                    resume_session: resume.clone(),
                    profile: self.child_profile(&chain),
                    progress: request.progress.clone(),
                    cancel: request.cancel.clone(),
                })
                .await;
            match answer {
                // The stored session is gone: start over with the whole history.
                Err(InstanceError::SessionLost(session)) if resume.is_some() => {
                    tracing::warn!(conversation = %conversation.id, %session, "Claude session lost; re-sending the history");
                    resume = None;
                    prompt = match render(false) {
                        Ok(p) => p,
                        Err(e) => break Err(QueryFailure::Refused(e.to_string())),
                    };
                    let (id, version, cut) = (
                        query.id.clone(),
                        prompt.template_version.clone(),
                        prompt.cut.clone(),
                    );
                    self.db(move |s| s.set_query_context(&id, &version, cut.as_deref()))
                        .await?;
                }
                Ok(answer) => break Ok(answer),
                Err(e) => break Err(QueryFailure::Instance(e)),
            }
        };
        let duration_ms = started.elapsed().as_millis() as i64;
        self.beat_soon();

        match result {
            Ok(answer) => {
                if backend == BackendKind::ClaudeStream
                    && answer.session_id.is_some()
                    && answer.session_id != conversation.backend_session
                {
                    let (id, session) = (conversation.id.clone(), answer.session_id.clone());
                    self.db(move |s| s.set_backend_session(&id, session.as_deref()))
                        .await?;
                }
                let outcome = Outcome::Reply {
                    sender: target.clone(),
                    content: answer.text.clone(),
                    instance_id: Some(answer.instance_id.clone()),
                    duration_ms,
                    usage: answer.usage.clone(),
                    cost_usd: answer.cost_usd,
                };
                let reply = {
                    let id = query.id.clone();
                    self.db(move |s| s.finish_query(&id, &outcome)).await?
                };
                self.messages_changed();
                Ok(SendOutcome {
                    conversation_id: conversation.id,
                    message_id: query.id,
                    reply_id: reply.id,
                    reply: answer.text,
                    source,
                    target,
                    instance_id: Some(answer.instance_id),
                    duration_ms,
                    usage: answer.usage,
                    cost_usd: answer.cost_usd,
                    duplicate: false,
                })
            }
            Err(failure) => {
                let (reason, status) = match &failure {
                    QueryFailure::Instance(InstanceError::Cancelled) => {
                        (failure.to_string(), MessageStatus::Cancelled)
                    }
                    _ => (failure.to_string(), MessageStatus::Failed),
                };
                let outcome = Outcome::Failed {
                    sender: target.clone(),
                    reason: reason.clone(),
                    status,
                    instance_id: None,
                    duration_ms,
                };
                let id = query.id.clone();
                self.db(move |s| s.finish_query(&id, &outcome)).await?;
                self.messages_changed();
                Err(HubError::QueryFailed {
                    explanation: self.context().explain_error(
                        &source,
                        &target,
                        &conversation.id,
                        &reason,
                    ),
                    conversation_id: conversation.id,
                    message_id: query.id,
                })
            }
        }
    }

    fn check_message(&self, message: &str) -> Result<(), HubError> {
        if message.trim().is_empty() {
            return Err(HubError::BadRequest(
                "argument `message`: the message is empty".into(),
            ));
        }
        let limit = self.config().config.context.max_message_bytes;
        if message.len() > limit {
            return Err(HubError::BadRequest(format!(
                "argument `message`: {} bytes is over the limit of {limit} bytes (context.max_message_bytes)",
                message.len()
            )));
        }
        Ok(())
    }

    pub(super) fn resolve_source(&self, source: Option<&str>) -> Result<String, HubError> {
        let source = source.or(self.default_module()).ok_or_else(|| {
            HubError::BadRequest(
                "argument `source`: no asking module given, and this server was not started with --module (or CLAUDE_COMMS_MODULE)".into(),
            )
        })?;
        self.descriptor(source)?;
        Ok(source.to_string())
    }

    /// The conversation a message belongs to (created when none is named)
    /// and what was said in it so far, read together.
    async fn conversation_for(
        &self,
        request: &SendRequest,
    ) -> Result<(Conversation, Vec<Message>), HubError> {
        let Some(id) = &request.conversation_id else {
            let target = request.target.clone().ok_or_else(|| {
                HubError::BadRequest(
                    "argument `target`: name the module to ask, or give a conversation_id".into(),
                )
            })?;
            let conversation = self
                .create_conversation(NewConversationRequest {
                    source: request.source.clone(),
                    target,
                    title: Some(title_from(&request.message)),
                    backend: None,
                })
                .await?;
            return Ok((conversation, Vec::new()));
        };
        let (conversation, history) = {
            let id = id.clone();
            self.db(move |s| Ok((s.conversation(&id)?, s.messages(&id, None, None)?)))
                .await?
        };
        for (field, given, stored) in [
            ("source", &request.source, &conversation.source),
            ("target", &request.target, &conversation.target),
        ] {
            if let Some(given) = given
                && given != stored
            {
                return Err(HubError::BadRequest(format!(
                    "argument `{field}`: conversation {} is between {} and {}, not {given}",
                    conversation.id, conversation.source, conversation.target
                )));
            }
        }
        Ok((conversation, history))
    }

    /// The answering module's folder, which must exist: claude-code-mcp
    /// would silently run the agent in $HOME otherwise.
    fn existing_module_folder(&self, module: &str) -> Result<PathBuf, HubError> {
        let folder = self.module_folder(module)?;
        if !folder.is_dir() {
            return Err(HubError::BadRequest(format!(
                "module \"{module}\": its folder {} does not exist (set `path` in its descriptor or module_paths.{module} in the config)",
                folder.display()
            )));
        }
        Ok(folder)
    }

    /// The answer to a repeated idempotency key: the first call's outcome.
    fn earlier_outcome(
        &self,
        conversation: &Conversation,
        query: Message,
        outcome: Option<Message>,
    ) -> Result<SendOutcome, HubError> {
        match outcome {
            Some(reply) if reply.role == Role::Reply => Ok(SendOutcome {
                conversation_id: conversation.id.clone(),
                message_id: query.id,
                reply_id: reply.id,
                reply: reply.content,
                source: conversation.source.clone(),
                target: conversation.target.clone(),
                instance_id: reply.instance_id,
                duration_ms: reply.duration_ms.unwrap_or(0),
                usage: reply.usage,
                cost_usd: reply.cost_usd,
                duplicate: true,
            }),
            Some(error) => Err(HubError::QueryFailed {
                explanation: format!(
                    "a message with this idempotency key was sent before and failed; it is not sent again: {}",
                    error.content
                ),
                conversation_id: conversation.id.clone(),
                message_id: query.id,
            }),
            None => Err(HubError::BadRequest(format!(
                "argument `idempotency_key`: message {} with this key is {} and has no answer yet; it is not sent again",
                query.id,
                query.status.as_str()
            ))),
        }
    }
}

/// Why a dispatched query has no answer.
#[derive(Debug, thiserror::Error)]
enum QueryFailure {
    #[error("{0}")]
    Instance(InstanceError),
    #[error("the prompt could not be built: {0}")]
    Refused(String),
}

fn backend_of(conversation: &Conversation, default: BackendKind) -> BackendKind {
    conversation
        .metadata
        .get("backend")
        .and_then(|b| b.as_str())
        .and_then(|b| b.parse().ok())
        .unwrap_or(default)
}

fn turn_of(message: Message) -> Turn {
    Turn {
        seq: message.seq,
        role: match message.role {
            Role::Query => TurnRole::Query,
            Role::Reply => TurnRole::Reply,
            Role::Error => TurnRole::Error,
            Role::Note => TurnRole::Note,
        },
        sender: message.sender,
        content: message.content,
    }
}

/// A title from the first line of the first message.
fn title_from(message: &str) -> String {
    let line = message.trim().lines().next().unwrap_or("").trim();
    let mut title: String = line.chars().take(TITLE_CHARS).collect();
    if line.chars().count() > TITLE_CHARS {
        title.push('…');
    }
    title
}
