//! `claude-comms agent-tools --scope FILE`: the MCP server an answering
//! agent's `claude` starts (see `policy/agent_tools.rs`), with the tools
//! claude-comms gives every answering agent. It acts only on the one
//! question of its scope file (written by the hub that dispatched it):
//! one module's words never reach beyond the question they were part of.

use std::path::Path;
use std::sync::Arc;

use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{CallToolResult, ContentBlock, Implementation, ServerCapabilities, ServerConfig};
use rmcp::service::RequestContext;
use rmcp::{
    ErrorData as McpError, RoleServer, ServerHandler, ServiceExt, tool, tool_handler, tool_router,
};
use schemars::JsonSchema;
use serde::Deserialize;

use crate::hub::ask_back::{AgentSide, AgentWords};

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AskAskerArgs {
    /// What you need the asking module to tell you, in one clear question.
    pub question: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AskModuleArgs {
    /// The module to ask (a name from claude-comms's registry).
    pub target: String,
    /// Your question to it.
    pub question: String,
}

#[derive(Clone)]
struct AgentTools {
    side: Arc<AgentSide>,
    tool_router: ToolRouter<AgentTools>,
}

#[tool_router]
impl AgentTools {
    #[tool(
        description = "Ask the module that asked you this question something only it knows (a format it expects, which of two things it means). Waits for its answer and returns it; if none comes in time, says so: then go on with what you know. Ask only what you cannot find in your own folder."
    )]
    async fn ask_asker(
        &self,
        Parameters(args): Parameters<AskAskerArgs>,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, McpError> {
        let words = self.side.ask_asker(&args.question, &context.ct).await;
        Ok(match words {
            Ok(AgentWords::Answered { from, answer }) => {
                CallToolResult::success(vec![ContentBlock::text(format!(
                    "{from} answers: {answer}"
                ))])
            }
            Ok(AgentWords::NoAnswer(why)) => CallToolResult::success(vec![ContentBlock::text(why)]),
            Err(e) => CallToolResult::error(vec![ContentBlock::text(e.to_string())]),
        })
    }

    #[tool(
        description = "Ask another module a question while you answer this one (an agent in that module's folder answers; the loop guard's hop limit holds). Waits for its answer and returns it."
    )]
    async fn ask_module(
        &self,
        Parameters(args): Parameters<AskModuleArgs>,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, McpError> {
        let words = self
            .side
            .ask_module(&args.target, &args.question, &context.ct)
            .await;
        Ok(match words {
            Ok(AgentWords::Answered { from, answer }) => {
                CallToolResult::success(vec![ContentBlock::text(format!(
                    "{from} answers: {answer}"
                ))])
            }
            Ok(AgentWords::NoAnswer(why)) => CallToolResult::success(vec![ContentBlock::text(why)]),
            Err(e) => CallToolResult::error(vec![ContentBlock::text(e.to_string())]),
        })
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for AgentTools {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build()).with_server_info(
            Implementation::new("claude-comms-agent-tools", env!("CARGO_PKG_VERSION")),
        )
    }
}

/// Serves the agent tools of `scope` over stdin/stdout until the agent's
/// `claude` closes them.
pub async fn serve_agent_tools(scope: &Path) -> Result<(), super::server::ServeError> {
    let side = Arc::new(AgentSide::new(scope));
    let tools = AgentTools {
        side,
        tool_router: AgentTools::tool_router(),
    };
    let running = tools.serve(rmcp::transport::stdio()).await?;
    running.waiting().await?;
    Ok(())
}
