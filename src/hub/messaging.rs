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
use std::time::Duration;

pub use super::send_types::{NewConversationRequest, SendOutcome, SendRequest};
use super::sending::{Prepared, QueryFailure, Sending, title_from, turn_of};
use super::{Argument, HubError};
use crate::config::BackendKind;
use crate::context::{HopContext, PromptKind, QueryInput};
use crate::instances::{Answer, InstanceError, Query};
use crate::store::{BeginQuery, Conversation, Message, NewQuery, Role};

impl<'h> crate::hub::Messaging<'h> {
    /// How long a question waits for its answer: `timeout_s` when the
    /// caller gave one, else `instances.request_timeout_s`.
    pub fn answer_timeout(self, timeout_s: Option<u64>) -> Duration {
        Duration::from_secs(timeout_s.unwrap_or(self.config().config.instances.request_timeout_s))
    }

    /// Sends a message and waits for the answer (see the module docs for
    /// what is stored when): prepare and store the query, dispatch it, and
    /// record the outcome. Once the query is stored, every path records an
    /// outcome before returning.
    pub async fn send(self, request: SendRequest) -> Result<SendOutcome, HubError> {
        if self.remote.is_some() {
            return self.send_through_daemon(request, true).await;
        }
        let sending = match self.prepare(&request).await? {
            Prepared::Fresh(sending) => sending,
            Prepared::Duplicate(earlier) => return *earlier,
            Prepared::Routed(routed) => {
                let (conversation, query) = *routed;
                return self.await_routed(&conversation, query, &request).await;
            }
        };
        // Waits for the outcome, or for a question of the agent to its
        // asker (see `ask_back/`).
        self.carry_waiting(sending, request).await
    }

    /// Checks the request, finds (or creates) the conversation, renders the
    /// prompt and stores the query as `pending`.
    pub(super) async fn prepare(self, request: &SendRequest) -> Result<Prepared, HubError> {
        self.check_message(&request.message)?;
        if let Some(key) = &request.idempotency_key
            && key.len() > crate::store::limits::MAX_IDEMPOTENCY_KEY_BYTES
        {
            return Err(HubError::bad_argument(
                Argument::IdempotencyKey,
                format!(
                    "{} bytes is over the limit of {} bytes",
                    key.len(),
                    crate::store::limits::MAX_IDEMPOTENCY_KEY_BYTES
                ),
            ));
        }
        if request.conversation_id.is_none() {
            // A send that will be refused must not leave an empty
            // conversation behind: check the pair before creating it.
            let source = self.resolve_source(request.source.as_deref())?;
            if let Some(target) = &request.target {
                self.modules().descriptor(target)?;
                HopContext::from_env()
                    .check(&source, target, self.config().config.context.hop_limit)
                    .map_err(|e| HubError::BadRequest(e.to_string()))?;
                self.check_reachable(target).await?;
                self.check_budgets(&source, target).await?;
            }
        }
        self.node().announce().await?;
        let (conversation, history) = self.conversation_for(request).await?;
        let created = request
            .conversation_id
            .is_none()
            .then(|| conversation.id.clone());
        let prepared = self.prepare_in(conversation, history, request).await;
        if let (Err(_), Some(id)) = (&prepared, created) {
            // Refused after its conversation was made for it: whatever the
            // reason, a refused send leaves no empty conversation behind.
            if let Err(e) = self.store.delete_conversation(&id).await {
                tracing::warn!(error = %e, "could not remove the conversation of a refused send");
            }
            self.messages_changed();
        }
        prepared
    }

    /// The rest of `prepare`, once the conversation is known.
    async fn prepare_in(
        self,
        conversation: Conversation,
        history: Vec<Message>,
        request: &SendRequest,
    ) -> Result<Prepared, HubError> {
        if request.conversation_id.is_some() {
            self.check_budgets(&conversation.source, &conversation.target)
                .await?;
        }
        let (source, target) = (conversation.source.clone(), conversation.target.clone());
        let chain = HopContext::from_env()
            .check(&source, &target, self.config().config.context.hop_limit)
            .map_err(|e| HubError::BadRequest(e.to_string()))?;
        if self.routes_through_fleet(&target).await? {
            // Its folder is on another node (or the A2A agent is pinned to
            // one): that node renders the prompt and runs the agent (see
            // `fleet/`).
            return self
                .prepare_routed(conversation, &history, chain, request)
                .await;
        }
        let (mut sending, template_version, cut) =
            if let Some(endpoint) = self.a2a_endpoint(&target) {
                // An A2A agent answers: any process may ask it, and it gets
                // the asker's message as it is (see `a2a_agents.rs`).
                let mut sending = self.sending_for_a2a(conversation, history, chain, endpoint)?;
                sending.prompt_text = request.message.clone();
                (sending, None, None)
            } else {
                // Answered here: the conversation's backend, as this node's
                // config made it (or the asker chose it).
                let backend = backend_of(&conversation, self.config().config.instances.backend);
                let mut sending = self
                    .sending_for(
                        conversation,
                        history,
                        &request.message,
                        request.reuse,
                        chain,
                        backend,
                    )
                    .await?;
                // The prompt is rendered before the query is stored, so the
                // query and the template that rendered it are one write (each
                // write is a disk sync). The history is what was stored
                // before this message.
                let prompt = self
                    .render(&sending, &request.message, sending.resume.is_some())
                    .map_err(|e| HubError::bad_argument(Argument::Message, e.to_string()))?;
                sending.prompt_text = prompt.text;
                (sending, Some(prompt.template_version), prompt.cut)
            };
        let new_query = NewQuery {
            conversation_id: sending.conversation.id.clone(),
            sender: source,
            content: request.message.clone(),
            idempotency_key: request.idempotency_key.clone(),
            hop_chain: sending.chain.clone(),
            owner: self.server_id().to_string(),
            template_version,
            context_note: cut,
        };
        let caps = self.message_caps(&new_query.sender, &sending.conversation.target);
        match self.begin_capped(new_query, caps).await? {
            BeginQuery::Fresh(query) => {
                self.messages_changed();
                sending.query = Some(query);
                Ok(Prepared::Fresh(Box::new(sending)))
            }
            BeginQuery::Duplicate { query, outcome } => Ok(Prepared::Duplicate(Box::new(
                self.earlier_outcome(&sending.conversation, query, outcome.map(|b| *b)),
            ))),
        }
    }

    /// Everything a query to `conversation`'s target needs before its
    /// prompt is rendered: the module's folder (here), its state and reuse,
    /// the descriptors and the agent's policy, and the `backend` that runs
    /// it (always one of this machine's: see `fleet/answer.rs`). Also how a
    /// node starts on a question another node stored.
    pub(super) async fn sending_for(
        self,
        conversation: Conversation,
        history: Vec<Message>,
        message: &str,
        reuse: super::Reuse,
        chain: Vec<String>,
        backend: BackendKind,
    ) -> Result<Sending, HubError> {
        let (source, target) = (conversation.source.clone(), conversation.target.clone());
        let folder = self.existing_module_folder(&target)?;
        // Stream instances that hold (or can resume) the Claude session get
        // only the new turn; everything else gets the whole story.
        let resume = match backend {
            BackendKind::ClaudeStream => conversation.backend_session.clone(),
            BackendKind::ClaudeCodeMcp => None,
        };
        let module = self
            .module_context(&source, &target, &folder, &history, message, reuse)
            .await?;
        Ok(Sending {
            module,
            history: history.into_iter().map(turn_of).collect(),
            source_descriptor: self.modules().descriptor(&source)?,
            target_descriptor: self.modules().descriptor(&target)?,
            // Never run the agent without its policy: no profile, no query.
            profile: self.modules().child_profile(&chain, backend)?,
            chain,
            folder,
            backend,
            resume,
            prompt_text: String::new(),
            query: None,
            conversation,
            claimant: None,
            a2a: None,
        })
    }

    pub(super) fn render(
        self,
        sending: &Sending,
        message: &str,
        resume: bool,
    ) -> Result<crate::context::RenderedPrompt, crate::context::ContextError> {
        let kind = if resume {
            PromptKind::NewTurn
        } else if sending.history.is_empty() {
            PromptKind::FirstQuery
        } else {
            PromptKind::FollowUp
        };
        self.context().render_query(&QueryInput {
            kind,
            source: &sending.source_descriptor,
            target: &sending.target_descriptor,
            target_folder: &sending.folder,
            conversation_id: &sending.conversation.id,
            history: &sending.history,
            message,
            hop_chain: &sending.chain,
            code_changes: sending.module.changes.as_ref(),
        })
    }

    /// Hands the stored query to an instance. A stream session that can no
    /// longer be resumed is retried once with the whole history. Never
    /// returns early: every failure becomes a [`QueryFailure`] to record.
    pub(super) async fn dispatch(
        self,
        sending: &mut Sending,
        request: &SendRequest,
    ) -> Result<Answer, QueryFailure> {
        let timeout = self.answer_timeout(request.timeout_s);
        if sending.a2a.is_some() {
            return self.ask_a2a(sending, request, timeout).await;
        }
        if let Some(earlier) = &sending.module.reused {
            // No agent runs: the earlier text, with nothing spent.
            return Ok(Answer::text_only(earlier.content.clone(), String::new(), 0));
        }
        // The agent's own tools (ask_asker), for this question only;
        // their files go when the agent is done.
        let agent_tools = self.write_agent_scope(sending).map_err(QueryFailure::Hub)?;
        loop {
            let answer = self
                .instance_pool()
                .query(Query {
                    backend: sending.backend,
                    source: sending.conversation.source.clone(),
                    target: sending.conversation.target.clone(),
                    conversation_id: sending.conversation.id.clone(),
                    prompt: sending.prompt_text.clone(),
                    workdir: sending.folder.clone(),
                    timeout,
                    resume_session: sending.resume.clone(),
                    profile: sending.profile.clone(),
                    progress: request.progress.clone(),
                    cancel: request.cancel.clone(),
                    agent_scope: agent_tools.as_ref().map(|f| f.scope().to_path_buf()),
                })
                .await;
            match answer {
                Err(InstanceError::SessionLost(session)) if sending.resume.is_some() => {
                    tracing::warn!(conversation = %sending.conversation.id, %session, "Claude session lost; re-sending the history");
                    sending.resume = None;
                    let prompt = self
                        .render(sending, &request.message, false)
                        .map_err(|e| QueryFailure::Refused(e.to_string()))?;
                    self.store
                        .set_query_context(
                            sending.query_id(),
                            &prompt.template_version,
                            prompt.cut.as_deref(),
                        )
                        .await
                        .map_err(|e| QueryFailure::Hub(e.into()))?;
                    sending.prompt_text = prompt.text;
                }
                Ok(answer) => return Ok(answer),
                Err(e) => return Err(QueryFailure::Instance(e)),
            }
        }
    }

    /// Stores a query under the message caps of its pair (see
    /// `budgets.rs`); a cap reached is the same refusal as before storing.
    pub(super) async fn begin_capped(
        self,
        query: NewQuery,
        caps: Vec<crate::store::QueryCap>,
    ) -> Result<BeginQuery, HubError> {
        match self.store.begin_query_capped(query, caps).await {
            Ok(begun) => Ok(begun),
            Err(crate::store::StoreError::OverCap {
                name,
                count,
                max,
                since_ms,
                now_ms,
            }) => Err(super::budgets::over_cap(
                &name, count, max, since_ms, now_ms,
            )),
            Err(e) => Err(e.into()),
        }
    }

    pub(super) fn check_message(self, message: &str) -> Result<(), HubError> {
        if message.trim().is_empty() {
            return Err(HubError::bad_argument(
                Argument::Message,
                "the message is empty",
            ));
        }
        let limit = self.config().config.context.max_message_bytes;
        if message.len() > limit {
            return Err(HubError::bad_argument(
                Argument::Message,
                format!(
                    "{} bytes is over the limit of {limit} bytes (context.max_message_bytes)",
                    message.len()
                ),
            ));
        }
        Ok(())
    }

    pub(super) fn resolve_source(self, source: Option<&str>) -> Result<String, HubError> {
        let source = source
            .or(self.default_module())
            .ok_or(HubError::MissingArgument {
                argument: Argument::Source,
            })?;
        self.modules().descriptor(source)?;
        Ok(source.to_string())
    }

    /// The conversation a message belongs to (created when none is named)
    /// and what was said in it so far, read together.
    async fn conversation_for(
        self,
        request: &SendRequest,
    ) -> Result<(Conversation, Vec<Message>), HubError> {
        let Some(id) = &request.conversation_id else {
            let target = request.target.clone().ok_or(HubError::MissingArgument {
                argument: Argument::Target,
            })?;
            let conversation = self
                .conversations()
                .create(NewConversationRequest {
                    source: request.source.clone(),
                    target,
                    title: Some(title_from(&request.message)),
                    backend: None,
                })
                .await?;
            return Ok((conversation, Vec::new()));
        };
        let (conversation, history) = {
            let full_id = self.conversations().full_id(id).await?;
            let id = &full_id;
            let kept = self.history.get(id);
            let after = kept.last().map_or(0, |m| m.seq);
            let (conversation, newer) = self.store.conversation_since(id, after).await?;
            let mut history = Vec::with_capacity(kept.len() + newer.len());
            history.extend(kept.iter().cloned());
            history.extend(newer);
            self.history.keep(id, std::sync::Arc::new(history.clone()));
            (conversation, history)
        };
        for (argument, given, stored) in [
            (Argument::Source, &request.source, &conversation.source),
            (Argument::Target, &request.target, &conversation.target),
        ] {
            if let Some(given) = given
                && given != stored
            {
                return Err(HubError::bad_argument(
                    argument,
                    format!(
                        "conversation {} is between {} and {}, not {given}",
                        conversation.id, conversation.source, conversation.target
                    ),
                ));
            }
        }
        Ok((conversation, history))
    }

    /// The answering module's folder, which must exist: claude-code-mcp
    /// would silently run the agent in $HOME otherwise.
    pub(super) fn existing_module_folder(self, module: &str) -> Result<PathBuf, HubError> {
        let folder = self.modules().folder(module)?;
        if !folder.is_dir() {
            return Err(HubError::BadRequest(format!(
                "module \"{module}\": its folder {} does not exist (set `path` in its descriptor or module_paths.{module} in the config)",
                folder.display()
            )));
        }
        Ok(folder)
    }

    /// The answer to a repeated idempotency key: the first call's outcome.
    pub(super) fn earlier_outcome(
        self,
        conversation: &Conversation,
        query: Message,
        outcome: Option<Message>,
    ) -> Result<SendOutcome, HubError> {
        match outcome {
            Some(reply) if reply.role == Role::Reply => {
                Ok(self
                    .jobs()
                    .delivered_outcome(conversation, query.id, reply, true))
            }
            Some(error) => Err(HubError::QueryFailed {
                explanation: format!(
                    "a message with this idempotency key was sent before and failed; it is not sent again: {}",
                    error.content
                ),
                reason: error.content,
                conversation_id: conversation.id.clone(),
                message_id: query.id,
            }),
            None => Err(HubError::bad_argument(
                Argument::IdempotencyKey,
                format!(
                    "message {} with this key is {} and has no answer yet; it is not sent again",
                    query.id,
                    query.status.as_str()
                ),
            )),
        }
    }
}

/// The backend a conversation was started with (its preference), else
/// `default`.
pub(super) fn backend_of(conversation: &Conversation, default: BackendKind) -> BackendKind {
    conversation
        .metadata
        .get("backend")
        .and_then(|b| b.as_str())
        .and_then(|b| b.parse().ok())
        .unwrap_or(default)
}
