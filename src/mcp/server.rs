//! The server handler: identity, instructions, capabilities, and how each
//! MCP request reaches the tools, resources, prompts and tasks; and the
//! stdio session that `serve` runs.

use std::sync::Arc;

use rmcp::handler::server::tool::ToolCallContext;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, Implementation, ServerCapabilities, ServerConfig,
};
use rmcp::{ServerHandler, ServiceExt, tool_handler};

use super::comms_server::CommsServer;
use super::transport::StdioFrames;
use crate::hub::Hub;

/// What the host is told at `initialize`, so its model knows when to use us.
pub const SERVER_INSTRUCTIONS: &str = "claude-comms connects the modules (code bases) of a \
software system through Claude agents. Use list_modules / describe_module / find_consumers to \
learn which modules exist, what they do, which data they consume and produce, and how they \
relate. Use send_message to ask another module a question: an agent working in that module's \
folder answers, told who is asking and why, and the conversation is kept so follow-ups carry \
the history. If that agent needs something only you know, send_message returns status \
input_required with its question: answer it with answer_question. Modules are described by descriptors; register_module adds one. Resources \
module://{name} hold each descriptor as JSON.";

/// How long the last frames may take to reach stdout at exit.
const WRITER_FLUSH_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

#[tool_handler(router = self.tool_router)]
impl ServerHandler for CommsServer {
    async fn call_tool(
        &self,
        mut request: CallToolRequestParams,
        context: rmcp::service::RequestContext<rmcp::RoleServer>,
    ) -> Result<CallToolResponse, rmcp::ErrorData> {
        if !self.tool_router.has_route(&request.name) {
            let known: Vec<String> = self
                .tool_router
                .list_all()
                .into_iter()
                .map(|t| t.name.to_string())
                .collect();
            return Err(rmcp::ErrorData::invalid_params(
                format!(
                    "unknown tool \"{}\" (tools: {})",
                    request.name,
                    known.join(", ")
                ),
                None,
            ));
        }
        // Before any tool reads the store: see `announced`.
        if let Err(e) = self.hub.node().announce().await {
            return Ok(super::tools::failure(e).into());
        }
        let caller = super::access::caller_of(&context)?;
        if let Err(refusal) = super::access::authorize_call(&self.hub, &caller, &mut request).await
        {
            tracing::warn!(tool = %request.name, caller = ?caller.module(), reason = %refusal, "tool call refused");
            return Ok(super::tools::hub_failure(refusal).into());
        }
        if let Some(problem) = self.argument_problems(&request) {
            return Ok(super::tools::failure(problem).into());
        }
        // A retry of a multi-round-trip call is never a new task.
        let retry = request.request_state.is_some() || request.input_responses.is_some();
        if !retry && super::tasks::wanted(&request, &context) {
            return super::tasks::create(self, request, context).await;
        }
        if super::mrtr::applies(&request, &context) {
            return super::mrtr::call(self, request, context).await;
        }
        let call = ToolCallContext::new(self, request, context);
        self.tool_router.call(call).await
    }

    /// Unknown methods reach here (rmcp routes every method it knows);
    /// name the method so the host sees what it got wrong.
    async fn on_custom_request(
        &self,
        request: rmcp::model::CustomRequest,
        _context: rmcp::service::RequestContext<rmcp::RoleServer>,
    ) -> Result<rmcp::model::CustomResult, rmcp::ErrorData> {
        Err(rmcp::ErrorData::new(
            rmcp::model::ErrorCode::METHOD_NOT_FOUND,
            format!("Method not found: {}", request.method),
            None,
        ))
    }

    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(
            ServerCapabilities::builder()
                .enable_tools()
                .enable_resources()
                .enable_resources_list_changed()
                .enable_resources_subscribe()
                .enable_prompts()
                // completion/complete: module names and conversation ids.
                .enable_completions()
                // SEP-2663: send_message may answer with a task (a job).
                .enable_tasks()
                .build(),
        )
        .with_server_info(Implementation::new(
            "claude-comms",
            env!("CARGO_PKG_VERSION"),
        ))
        .with_instructions(SERVER_INSTRUCTIONS)
    }

    async fn list_resources(
        &self,
        request: Option<rmcp::model::PaginatedRequestParams>,
        ctx: rmcp::service::RequestContext<rmcp::RoleServer>,
    ) -> Result<rmcp::model::ListResourcesResult, rmcp::ErrorData> {
        announced(&self.hub).await?;
        let caller = super::access::caller_of(&ctx)?;
        super::resources::list(&self.hub, caller.module(), request).await
    }

    async fn list_resource_templates(
        &self,
        _request: Option<rmcp::model::PaginatedRequestParams>,
        _ctx: rmcp::service::RequestContext<rmcp::RoleServer>,
    ) -> Result<rmcp::model::ListResourceTemplatesResult, rmcp::ErrorData> {
        Ok(super::resources::templates())
    }

    async fn read_resource(
        &self,
        request: rmcp::model::ReadResourceRequestParams,
        ctx: rmcp::service::RequestContext<rmcp::RoleServer>,
    ) -> Result<rmcp::model::ReadResourceResponse, rmcp::ErrorData> {
        announced(&self.hub).await?;
        let caller = super::access::caller_of(&ctx)?;
        super::access::check_resource(&self.hub, &caller, &request.uri).await?;
        super::resources::read(&self.hub, &request.uri)
            .await
            .map(Into::into)
    }

    // resources/subscribe is what hosts on protocol 2025-11-25 (Claude Code,
    // the Python SDK) use; rmcp marks it legacy in favour of 2026-07-28's
    // subscriptions/listen.
    #[allow(deprecated)]
    async fn subscribe(
        &self,
        request: rmcp::model::SubscribeRequestParams,
        context: rmcp::service::RequestContext<rmcp::RoleServer>,
    ) -> Result<(), rmcp::ErrorData> {
        let caller = super::access::caller_of(&context)?;
        super::access::check_resource(&self.hub, &caller, &request.uri).await?;
        self.subscriptions
            .subscribe(&self.hub, context.peer, &request.uri)
            .await
    }

    #[allow(deprecated)]
    async fn unsubscribe(
        &self,
        request: rmcp::model::UnsubscribeRequestParams,
        _context: rmcp::service::RequestContext<rmcp::RoleServer>,
    ) -> Result<(), rmcp::ErrorData> {
        self.subscriptions.unsubscribe(&request.uri);
        Ok(())
    }

    // 2026-07-28's subscriptions/listen: the same conversation updates as
    // resources/subscribe, for as long as the listen request stays open.
    fn accepted_subscription_filter(
        &self,
        requested: &rmcp::model::SubscriptionFilter,
    ) -> Option<rmcp::model::SubscriptionFilter> {
        Some(super::subscriptions::accepted(requested))
    }

    async fn listen(
        &self,
        context: rmcp::service::SubscriptionContext,
    ) -> Result<(), rmcp::ErrorData> {
        super::subscriptions::listen(&self.hub, context).await
    }

    async fn get_task(
        &self,
        request: rmcp::model::GetTaskParams,
        context: rmcp::service::RequestContext<rmcp::RoleServer>,
    ) -> Result<rmcp::model::GetTaskResult, rmcp::ErrorData> {
        super::tasks::get(self, request, &context).await
    }

    async fn update_task(
        &self,
        request: rmcp::model::UpdateTaskParams,
        context: rmcp::service::RequestContext<rmcp::RoleServer>,
    ) -> Result<(), rmcp::ErrorData> {
        super::tasks::update(self, request, &context).await
    }

    async fn cancel_task(
        &self,
        request: rmcp::model::CancelTaskParams,
        context: rmcp::service::RequestContext<rmcp::RoleServer>,
    ) -> Result<(), rmcp::ErrorData> {
        super::tasks::cancel(self, request, &context).await
    }

    async fn complete(
        &self,
        request: rmcp::model::CompleteRequestParams,
        context: rmcp::service::RequestContext<rmcp::RoleServer>,
    ) -> Result<rmcp::model::CompleteResult, rmcp::ErrorData> {
        announced(&self.hub).await?;
        let caller = super::access::caller_of(&context)?;
        super::completion::complete(&self.hub, &caller, &request).await
    }

    async fn list_prompts(
        &self,
        _request: Option<rmcp::model::PaginatedRequestParams>,
        _context: rmcp::service::RequestContext<rmcp::RoleServer>,
    ) -> Result<rmcp::model::ListPromptsResult, rmcp::ErrorData> {
        Ok(super::prompts::list())
    }

    async fn get_prompt(
        &self,
        request: rmcp::model::GetPromptRequestParams,
        _context: rmcp::service::RequestContext<rmcp::RoleServer>,
    ) -> Result<rmcp::model::GetPromptResponse, rmcp::ErrorData> {
        super::prompts::get(&self.hub, &request.name, request.arguments.as_ref()).map(Into::into)
    }
}

/// Waits until the hub is announced. `serve_stdio` announces beside the
/// handshake; no tool or resource may read the store before the recovery
/// that announcing does (what a dead server left pending is marked
/// interrupted). Only the first request waits; a failed announcement is
/// tried again by the next (`call_tool` reports it as a tool failure).
async fn announced(hub: &Arc<Hub>) -> Result<(), rmcp::ErrorData> {
    hub.node()
        .announce()
        .await
        .map(|_recovered| ())
        .map_err(|e| rmcp::ErrorData::internal_error(e.to_string(), None))
}

/// Why the MCP session over stdio failed: the handshake, or the session's
/// task.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Initialize(Box<rmcp::service::ServerInitializeError>),
    #[error(transparent)]
    Session(#[from] tokio::task::JoinError),
}

impl From<rmcp::service::ServerInitializeError> for ServeError {
    fn from(e: rmcp::service::ServerInitializeError) -> ServeError {
        ServeError::Initialize(Box::new(e))
    }
}

/// Serves MCP on stdin/stdout until stdin ends (or the host goes away).
pub async fn serve_stdio(hub: Arc<Hub>) -> Result<(), ServeError> {
    // Announcing (register this server, recover what dead servers left
    // pending, end their children) is store work that `initialize` does not
    // need: it runs beside the handshake instead of before it, and every
    // tool call waits for it (`call_tool`).
    let announcing = tokio::spawn({
        let hub = hub.clone();
        async move {
            if let Err(e) = hub.node().announce().await {
                tracing::error!(error = %e, "could not announce this server in the database");
            }
        }
    });
    let stdin = tokio::io::BufReader::new(super::transport::stdio_fds::stdin());
    let server = CommsServer::new(hub.clone());
    let versions = ServerHandler::supported_protocol_versions(&server).into_owned();
    let (transport, written) =
        StdioFrames::spawn_with_versions(stdin, super::transport::stdio_fds::stdout(), versions);
    let session = run_session(hub.clone(), server, transport).await;
    // Shutdown unregisters only an announced server: let a session that
    // ended early not leave its announcement half done.
    if let Err(e) = announcing.await {
        tracing::error!(error = %e, "announcing this server panicked");
    }
    // Whatever ended the session, the children and tasks are stopped.
    hub.shutdown().await;
    // The session dropped its side of the transport: let the writer finish.
    if tokio::time::timeout(WRITER_FLUSH_TIMEOUT, written)
        .await
        .is_err()
    {
        tracing::warn!("stdout did not take the last frames in time");
    }
    session
}

/// The MCP session over `transport`, until the host ends it or a signal.
async fn run_session(
    hub: Arc<Hub>,
    server: CommsServer,
    transport: StdioFrames,
) -> Result<(), ServeError> {
    let service = server.serve(transport).await?;
    let cancel = service.cancellation_token();
    // SIGINT/SIGTERM end the session like end of stdin does.
    hub.spawn_until_shutdown(async move {
        shutdown_signal().await;
        tracing::info!("signal received; shutting down");
        cancel.cancel();
    });
    let reason = service.waiting().await?;
    tracing::info!(?reason, "MCP session ended");
    Ok(())
}

async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
}
