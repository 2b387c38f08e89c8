//! Tools over conversations: `send_message`, `create_conversation`,
//! `list_conversations`, `get_conversation`, `search_conversations`,
//! `export_conversation`, `archive_conversation`.

use std::fmt::Write;
use std::sync::Arc;

use rmcp::handler::server::common::schema_for_output;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{CallToolResult, ProgressNotificationParam};
use rmcp::service::RequestContext;
use rmcp::{ErrorData as McpError, RoleServer, tool, tool_router};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{hub_failure, reply, structured};
use crate::config::BackendKind;
use crate::hub::daemon_ops::SendMessageArgs;
use crate::hub::{Argument, HubError, Progress, ProgressSink};
use crate::hub::{Conversation, ConversationFilter, ConversationPage, ExportFormat};
use crate::hub::{
    ConversationTranscript, NewConversationRequest, SearchResults, SendOutcome, SendRequest,
};
use crate::mcp::comms_server::CommsServer;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateConversationArgs {
    /// The asking module (default: the module this server was started for).
    #[serde(default)]
    pub source: Option<String>,
    /// The module that will answer.
    pub target: String,
    #[serde(default)]
    pub title: Option<String>,
    /// Backend for this conversation: `claude-code-mcp` or `claude-stream`
    /// (default: instances.backend).
    #[serde(default)]
    pub backend: Option<BackendKind>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListConversationsArgs {
    /// Only conversations this module takes part in.
    #[serde(default)]
    pub module: Option<String>,
    /// `active` or `archived`.
    #[serde(default)]
    pub status: Option<String>,
    /// Page size (1-500, default 50).
    #[serde(default)]
    #[schemars(range(min = 1, max = 500))]
    pub limit: Option<usize>,
    /// `next_cursor` of the previous page.
    #[serde(default)]
    pub cursor: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GetConversationArgs {
    pub conversation_id: String,
    /// Only the latest this many messages.
    #[serde(default)]
    #[schemars(range(min = 1))]
    pub limit: Option<usize>,
    /// Only messages before this sequence number (for paging back).
    #[serde(default)]
    pub before: Option<i64>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SearchConversationsArgs {
    /// Words to find (all must occur) in message texts.
    pub query: String,
    /// Only conversations this module takes part in.
    #[serde(default)]
    pub module: Option<String>,
    /// Most hits (default 20).
    #[serde(default)]
    #[schemars(range(min = 1, max = 500))]
    pub limit: Option<usize>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExportConversationArgs {
    pub conversation_id: String,
    /// `json`, `jsonl` or `markdown`.
    pub format: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConversationIdArgs {
    pub conversation_id: String,
}

/// The result of `export_conversation`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Export {
    pub conversation_id: String,
    pub format: String,
    pub content: String,
}

#[tool_router(router = conversation_tools, vis = "pub(crate)")]
impl CommsServer {
    #[tool(
        description = "Ask another module a question. An agent working in the target module's folder answers, told who is asking, how the two modules relate, and what was said earlier in the conversation. Without conversation_id a new conversation starts; pass the returned conversation_id to follow up. Sends progress notifications while waiting when the call has a progressToken. If the agent needs something only you know, the result has status input_required with its question: answer with answer_question.",
        output_schema = schema_for_output::<SendOutcome>()
    )]
    async fn send_message(
        &self,
        Parameters(args): Parameters<SendMessageArgs>,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, McpError> {
        if args.wait == Some(false) {
            return reply(self.send(args, &context, Delivery::Detached).await, |o| {
                format!(
                    "sent to {} as job {} (conversation {}); collect the answer with get_reply",
                    o.target, o.message_id, o.conversation_id
                )
            });
        }
        match self.send(args, &context, Delivery::Wait).await {
            Ok(outcome) => super::answers::outcome_result(self, &outcome),
            Err(e) => Ok(hub_failure(e)),
        }
    }

    #[tool(
        description = "Start a conversation between two modules without sending anything yet; returns its conversation_id for send_message.",
        output_schema = schema_for_output::<Conversation>()
    )]
    async fn create_conversation(
        &self,
        Parameters(args): Parameters<CreateConversationArgs>,
    ) -> Result<CallToolResult, McpError> {
        let request = NewConversationRequest {
            source: args.source,
            target: args.target,
            title: args.title,
            backend: args.backend,
        };
        match self.hub().conversations().create(request).await {
            Ok(c) => structured(
                format!(
                    "conversation {} created: {} asks {}",
                    c.id, c.source, c.target
                ),
                &c,
            ),
            Err(e) => Ok(hub_failure(e)),
        }
    }

    #[tool(
        description = "List stored conversations, most recently active first, optionally only those of one module or with one status (active, archived). Pages with cursor.",
        output_schema = schema_for_output::<ConversationPage>(),
        annotations(read_only_hint = true)
    )]
    async fn list_conversations(
        &self,
        Parameters(args): Parameters<ListConversationsArgs>,
    ) -> Result<CallToolResult, McpError> {
        let status = match args
            .status
            .as_deref()
            .map(str::parse::<crate::hub::ConversationStatus>)
            .transpose()
        {
            Ok(s) => s,
            Err(e) => {
                return Ok(hub_failure(HubError::bad_argument(
                    Argument::Status,
                    e.to_string(),
                )));
            }
        };
        let filter = ConversationFilter {
            module: args.module,
            status,
            limit: args.limit.unwrap_or(ConversationFilter::default().limit),
            cursor: args.cursor,
        };
        match self.hub().conversations().list(filter).await {
            Ok(page) => {
                let mut text = format!("{} conversation(s)", page.conversations.len());
                for c in &page.conversations {
                    let _ = write!(
                        text,
                        "\n- {} {} -> {} [{}] {} message(s): {}",
                        c.id,
                        c.source,
                        c.target,
                        c.status.as_str(),
                        c.message_count,
                        c.title.as_deref().unwrap_or("")
                    );
                }
                if let Some(next) = &page.next_cursor {
                    let _ = write!(text, "\nmore: cursor {next}");
                }
                structured(text, &page)
            }
            Err(e) => Ok(hub_failure(e)),
        }
    }

    #[tool(
        description = "Show a conversation and its messages (queries, replies, errors) in order, or the latest `limit` of them before sequence number `before`.",
        output_schema = schema_for_output::<ConversationTranscript>(),
        annotations(read_only_hint = true)
    )]
    async fn get_conversation(
        &self,
        Parameters(args): Parameters<GetConversationArgs>,
    ) -> Result<CallToolResult, McpError> {
        match self
            .hub()
            .conversations()
            .get(&args.conversation_id, args.limit, args.before)
            .await
        {
            Ok(t) => {
                let c = &t.conversation;
                let mut text = format!(
                    "conversation {}: {} asks {} [{}]",
                    c.id,
                    c.source,
                    c.target,
                    c.status.as_str()
                );
                for m in &t.messages {
                    let _ = write!(
                        text,
                        "\n\n#{} {} ({}, {}):\n{}",
                        m.seq,
                        m.sender,
                        m.role.as_str(),
                        m.status.as_str(),
                        m.content
                    );
                }
                structured(text, &t)
            }
            Err(e) => Ok(hub_failure(e)),
        }
    }

    #[tool(
        description = "Full-text search over all stored messages (every word must occur); returns the newest matching messages first, with highlighted snippets and their conversation ids.",
        output_schema = schema_for_output::<SearchResults>(),
        annotations(read_only_hint = true)
    )]
    async fn search_conversations(
        &self,
        Parameters(args): Parameters<SearchConversationsArgs>,
    ) -> Result<CallToolResult, McpError> {
        match self
            .hub()
            .conversations()
            .search(
                &args.query,
                args.module,
                args.limit.unwrap_or(crate::hub::DEFAULT_HITS),
            )
            .await
        {
            Ok(results) => {
                let mut text = format!("{} hit(s) for {:?}", results.hits.len(), results.query);
                for h in &results.hits {
                    let _ = write!(
                        text,
                        "\n- {} #{} {} ({}): {}",
                        h.conversation_id,
                        h.seq,
                        h.sender,
                        h.role.as_str(),
                        h.snippet
                    );
                }
                structured(text, &results)
            }
            Err(e) => Ok(hub_failure(e)),
        }
    }

    #[tool(
        description = "Export a conversation as json, jsonl or markdown (the transcript only; no configuration or secrets).",
        output_schema = schema_for_output::<Export>(),
        annotations(read_only_hint = true)
    )]
    async fn export_conversation(
        &self,
        Parameters(args): Parameters<ExportConversationArgs>,
    ) -> Result<CallToolResult, McpError> {
        let format: ExportFormat = match args.format.parse() {
            Ok(f) => f,
            Err(e) => {
                return Ok(hub_failure(HubError::bad_argument(
                    Argument::Format,
                    e.to_string(),
                )));
            }
        };
        match self
            .hub()
            .conversations()
            .export(&args.conversation_id, format)
            .await
        {
            Ok(content) => {
                let export = Export {
                    conversation_id: args.conversation_id,
                    format: format.as_str().to_string(),
                    content,
                };
                structured(export.content.clone(), &export)
            }
            Err(e) => Ok(hub_failure(e)),
        }
    }

    #[tool(
        description = "Archive a conversation: it stays readable and searchable but takes no new messages.",
        output_schema = schema_for_output::<Conversation>()
    )]
    async fn archive_conversation(
        &self,
        Parameters(args): Parameters<ConversationIdArgs>,
    ) -> Result<CallToolResult, McpError> {
        match self
            .hub()
            .conversations()
            .archive(&args.conversation_id)
            .await
        {
            Ok(c) => structured(format!("conversation {} archived", c.id), &c),
            Err(e) => Ok(hub_failure(e)),
        }
    }
}

/// Whether `send_message` waits for the answer or leaves it to a job.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Delivery {
    Wait,
    /// Stored and carried in the background (`wait: false`, or an MCP task).
    Detached,
}

impl CommsServer {
    /// The one way into the hub for `send_message`, whether as a waiting
    /// call, a job (`wait: false`) or an MCP task (`super::super::tasks`):
    /// a check on who may send what belongs here, so it holds for all three.
    pub(crate) async fn send(
        &self,
        args: SendMessageArgs,
        context: &RequestContext<RoleServer>,
        delivery: Delivery,
    ) -> Result<SendOutcome, HubError> {
        let request = SendRequest {
            source: args.source,
            target: args.target,
            message: args.message,
            conversation_id: args.conversation_id,
            timeout_s: args.timeout_s,
            idempotency_key: args.idempotency_key,
            progress: match delivery {
                Delivery::Wait => progress_sink(context),
                Delivery::Detached => None,
            },
            cancel: context.ct.clone(),
            reuse: args.reuse.unwrap_or_default(),
        };
        match delivery {
            Delivery::Wait => self.hub().messaging().send(request).await,
            Delivery::Detached => self.hub().jobs().send(request).await,
        }
    }
}

/// The result of an answered `send_message`: the reply framed for the
/// asking agent, plus the outcome as structured content. A task that
/// completes reports this same result.
pub(crate) fn answer_result(
    server: &CommsServer,
    outcome: &SendOutcome,
) -> Result<CallToolResult, McpError> {
    let mut text = server.hub().context().frame_reply(
        &outcome.source,
        &outcome.target,
        &outcome.conversation_id,
        outcome.reply.as_deref().unwrap_or(""),
    );
    // The asking agent reads the text: tell it what was refused, so it can
    // tell its person (who may widen the policy).
    if let Some(refused) = &outcome.refused {
        text.push_str(&format!(
            "\n\n(claude-comms: {refused}; {}'s permissions are \"{}\", set by the operator in config.toml)",
            outcome.target,
            outcome.policy.as_str()
        ));
    }
    structured(text, outcome)
}

/// Progress for the host, when its request carries a progress token.
/// Notifications go out in order through one forwarding task, which ends
/// when the request drops the sink.
fn progress_sink(context: &RequestContext<RoleServer>) -> Option<ProgressSink> {
    let token = context.meta.get_progress_token()?;
    let peer = context.peer.clone();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Progress>();
    tokio::spawn(async move {
        let mut step = 0u32;
        while let Some(p) = rx.recv().await {
            step += 1;
            let param = ProgressNotificationParam::new(token.clone(), f64::from(step))
                .with_message(p.message);
            if peer.notify_progress(param).await.is_err() {
                return; // The host is gone.
            }
        }
    });
    Some(Arc::new(move |p: Progress| {
        let _ = tx.send(p);
    }))
}
