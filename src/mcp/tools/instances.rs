//! Tools over background instances: `list_instances`, `start_instance`,
//! `stop_instance`, `pause_instance`, `resume_instance`, `instance_status`.

use std::fmt::Write;

use rmcp::handler::server::common::schema_for_output;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::CallToolResult;
use rmcp::{ErrorData as McpError, tool, tool_router};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{failure, structured};
use crate::config::BackendKind;
use crate::instances::InstanceStatus;
use crate::mcp::server::CommsServer;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InstanceIdArgs {
    /// Id of the instance, as shown by `list_instances`.
    pub instance_id: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StartInstanceArgs {
    /// Backend: `claude-code-mcp` (default) or `claude-stream`.
    #[serde(default)]
    pub backend: Option<BackendKind>,
    /// Module the instance is meant for (informational for claude-code-mcp,
    /// whose children serve every module).
    #[serde(default)]
    pub module: Option<String>,
}

/// The instances of this server.
#[derive(Debug, Serialize, JsonSchema)]
pub struct InstanceList {
    pub instances: Vec<InstanceStatus>,
}

fn describe(s: &InstanceStatus) -> String {
    let mut text = format!(
        "{} [{}] {} pid {} up {}s: {} served, {} in flight, {} queued, {} restarts",
        s.instance_id,
        s.backend.as_str(),
        s.state.as_str(),
        s.pid.map(|p| p.to_string()).unwrap_or_else(|| "-".into()),
        s.uptime_s,
        s.requests_served,
        s.in_flight,
        s.queued,
        s.restarts
    );
    if let Some(e) = &s.last_error {
        let _ = write!(text, "; last error: {e}");
    }
    text
}

#[tool_router(router = instance_tools, vis = "pub(crate)")]
impl CommsServer {
    #[tool(
        description = "List this server's background instances (claude-code-mcp children and persistent claude processes) with state, pid, load and restarts.",
        output_schema = schema_for_output::<InstanceList>(),
        annotations(read_only_hint = true)
    )]
    async fn list_instances(&self) -> Result<CallToolResult, McpError> {
        let instances = self.hub().instances().list();
        let mut text = format!("{} instance(s)", instances.len());
        for s in &instances {
            let _ = write!(text, "\n- {}", describe(s));
        }
        structured(text, &InstanceList { instances })
    }

    #[tool(
        description = "Start a background instance now instead of on first use (claude-code-mcp; claude-stream instances start with their conversation).",
        output_schema = schema_for_output::<InstanceStatus>()
    )]
    async fn start_instance(
        &self,
        Parameters(args): Parameters<StartInstanceArgs>,
    ) -> Result<CallToolResult, McpError> {
        if let Some(module) = &args.module
            && let Err(e) = self.hub().descriptor(module)
        {
            return Ok(failure(e));
        }
        let backend = args
            .backend
            .unwrap_or(self.hub().config().config.instances.backend);
        match self.hub().instances().start(backend).await {
            Ok(s) => structured(format!("started {}", describe(&s)), &s),
            Err(e) => Ok(failure(e)),
        }
    }

    #[tool(
        description = "Stop an instance and its whole process tree. Requests in flight on it fail with a clear error.",
        output_schema = schema_for_output::<InstanceStatus>()
    )]
    async fn stop_instance(
        &self,
        Parameters(args): Parameters<InstanceIdArgs>,
    ) -> Result<CallToolResult, McpError> {
        match self.hub().instances().stop(&args.instance_id).await {
            Ok(s) => structured(format!("stopped {}", s.instance_id), &s),
            Err(e) => Ok(failure(e)),
        }
    }

    #[tool(
        description = "Pause an instance: it takes no new work and finishes what is in flight.",
        output_schema = schema_for_output::<InstanceStatus>()
    )]
    async fn pause_instance(
        &self,
        Parameters(args): Parameters<InstanceIdArgs>,
    ) -> Result<CallToolResult, McpError> {
        match self.hub().instances().pause(&args.instance_id) {
            Ok(s) => structured(format!("paused {}", describe(&s)), &s),
            Err(e) => Ok(failure(e)),
        }
    }

    #[tool(
        description = "Resume a paused instance (also lets an instance in crash-loop start again).",
        output_schema = schema_for_output::<InstanceStatus>()
    )]
    async fn resume_instance(
        &self,
        Parameters(args): Parameters<InstanceIdArgs>,
    ) -> Result<CallToolResult, McpError> {
        match self.hub().instances().resume(&args.instance_id) {
            Ok(s) => structured(format!("resumed {}", describe(&s)), &s),
            Err(e) => Ok(failure(e)),
        }
    }

    #[tool(
        description = "One instance's state, pid, backend, uptime, requests served / in flight / queued, restarts, last error and stderr tail.",
        output_schema = schema_for_output::<InstanceStatus>(),
        annotations(read_only_hint = true)
    )]
    async fn instance_status(
        &self,
        Parameters(args): Parameters<InstanceIdArgs>,
    ) -> Result<CallToolResult, McpError> {
        match self.hub().instances().status(&args.instance_id) {
            Ok(s) => {
                let mut text = describe(&s);
                if !s.stderr_tail.is_empty() {
                    let _ = write!(text, "\nstderr:\n{}", s.stderr_tail.join("\n"));
                }
                structured(text, &s)
            }
            Err(e) => Ok(failure(e)),
        }
    }
}
