//! Tools over background instances: `list_instances`, `start_instance`,
//! `stop_instance`, `pause_instance`, `resume_instance`, `instance_status`.

use std::fmt::Write;

use rmcp::handler::server::common::schema_for_output;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::CallToolResult;
use rmcp::{ErrorData as McpError, tool, tool_router};

use super::{hub_failure, reply};
use crate::hub::daemon_ops::{InstanceIdArgs, InstanceList, StartInstanceArgs};
use crate::hub::{Argument, ControlAction, HubError, InstanceStatus, StartInstance};
use crate::mcp::comms_server::CommsServer;

fn describe(s: &InstanceStatus) -> String {
    let mut text = format!(
        "{}{} [{}] {} pid {} up {}s: {} served, {} in flight, {} queued, {} restarts",
        s.instance_id,
        s.name
            .as_deref()
            .map(|n| format!(" ({n})"))
            .unwrap_or_default(),
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
        let listed = self
            .hub()
            .instances()
            .local()
            .await
            .map(|instances| InstanceList { instances });
        reply(listed, |list| {
            let mut text = format!("{} instance(s)", list.instances.len());
            for s in &list.instances {
                let _ = write!(text, "\n- {}", describe(s));
            }
            text
        })
    }

    #[tool(
        description = "Start a background instance now instead of on first use. claude-code-mcp: a child of the pool, bound to the pair. claude-stream: a warm `claude` process in the target's folder, held for the pair until its next new conversation starts on it.",
        output_schema = schema_for_output::<InstanceStatus>()
    )]
    async fn start_instance(
        &self,
        Parameters(args): Parameters<StartInstanceArgs>,
    ) -> Result<CallToolResult, McpError> {
        let pair = match (args.pair.as_deref(), args.module, args.source) {
            (Some(pair), _, _) => match crate::hub::parse_pair(pair) {
                Ok(pair) => Some(pair),
                Err(e) => {
                    return Ok(hub_failure(HubError::bad_argument(
                        Argument::Pair,
                        e.to_string(),
                    )));
                }
            },
            (None, Some(target), source) => {
                match source.or_else(|| self.hub().default_module().map(str::to_string)) {
                    Some(source) => Some((source, target)),
                    None => {
                        return Ok(hub_failure(HubError::bad_argument(
                            Argument::Source,
                            "name the asking module of the pair this instance serves (this server was not started with --module)",
                        )));
                    }
                }
            }
            (None, None, Some(_)) => {
                return Ok(hub_failure(HubError::bad_argument(
                    Argument::Module,
                    "give the answering module together with `source`",
                )));
            }
            (None, None, None) => None,
        };
        let started = self
            .hub()
            .instances()
            .start(StartInstance {
                backend: args.backend,
                pair,
                name: args.name,
            })
            .await;
        reply(started, |s| format!("started {}", describe(s)))
    }

    #[tool(
        description = "Stop an instance and its whole process tree. Requests in flight on it fail with a clear error.",
        output_schema = schema_for_output::<InstanceStatus>()
    )]
    async fn stop_instance(
        &self,
        Parameters(args): Parameters<InstanceIdArgs>,
    ) -> Result<CallToolResult, McpError> {
        let stopped = self
            .hub()
            .instances()
            .control(&args.instance_id, ControlAction::Stop)
            .await;
        reply(stopped, |s| format!("stopped {}", s.instance_id))
    }

    #[tool(
        description = "Pause an instance: it takes no new work and finishes what is in flight.",
        output_schema = schema_for_output::<InstanceStatus>()
    )]
    async fn pause_instance(
        &self,
        Parameters(args): Parameters<InstanceIdArgs>,
    ) -> Result<CallToolResult, McpError> {
        let paused = self
            .hub()
            .instances()
            .control(&args.instance_id, ControlAction::Pause)
            .await;
        reply(paused, |s| format!("paused {}", describe(s)))
    }

    #[tool(
        description = "Resume a paused instance (also lets an instance in crash-loop start again).",
        output_schema = schema_for_output::<InstanceStatus>()
    )]
    async fn resume_instance(
        &self,
        Parameters(args): Parameters<InstanceIdArgs>,
    ) -> Result<CallToolResult, McpError> {
        let resumed = self
            .hub()
            .instances()
            .control(&args.instance_id, ControlAction::Resume)
            .await;
        reply(resumed, |s| format!("resumed {}", describe(s)))
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
        reply(
            self.hub().instances().status(&args.instance_id).await,
            |s| {
                let mut text = describe(s);
                if !s.stderr_tail.is_empty() {
                    let _ = write!(text, "\nstderr:\n{}", s.stderr_tail.join("\n"));
                }
                text
            },
        )
    }
}
