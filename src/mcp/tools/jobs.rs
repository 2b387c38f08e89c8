//! Tools over jobs (questions sent with `wait: false`): `get_reply`,
//! `list_jobs`, `cancel_job`.

use std::fmt::Write;
use std::time::Duration;

use rmcp::handler::server::common::schema_for_output;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::CallToolResult;
use rmcp::{ErrorData as McpError, tool, tool_router};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{hub_failure, reply};
use crate::hub::daemon_ops::JobIdArgs;
use crate::hub::{Argument, HubError, JobStatus, MessageStatus};
use crate::mcp::comms_server::CommsServer;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GetReplyArgs {
    /// The job's id: the `message_id` that `send_message` returned (or its
    /// first 8+ characters).
    pub message_id: String,
    /// Seconds to wait for the answer if it is not there yet (default 0:
    /// answer at once).
    #[serde(default)]
    #[schemars(range(min = 0, max = 3600))]
    pub wait_s: Option<u64>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListJobsArgs {
    /// Only jobs in this state: `pending`, `delivered`, `failed`,
    /// `cancelled` or `interrupted`.
    #[serde(default)]
    pub status: Option<String>,
    /// Only jobs of conversations this module takes part in.
    #[serde(default)]
    pub module: Option<String>,
    /// Most jobs (1-500, default 20), newest first.
    #[serde(default)]
    #[schemars(range(min = 1, max = 500))]
    pub limit: Option<usize>,
}

/// The result of `list_jobs`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct JobList {
    pub jobs: Vec<JobStatus>,
}

fn describe(job: &JobStatus) -> String {
    let mut text = format!("job {} from {}: {}", job.message_id, job.source, job.status);
    if let Some(reply) = &job.reply {
        let _ = write!(text, "\n{reply}");
    }
    if let Some(error) = &job.error {
        let _ = write!(text, "\n{error}");
    }
    text
}

#[tool_router(router = job_tools, vis = "pub(crate)")]
impl CommsServer {
    #[tool(
        description = "The state of a question sent with send_message {wait: false}, and its answer once delivered. wait_s waits up to that many seconds for the answer.",
        output_schema = schema_for_output::<JobStatus>(),
        annotations(read_only_hint = true)
    )]
    async fn get_reply(
        &self,
        Parameters(args): Parameters<GetReplyArgs>,
    ) -> Result<CallToolResult, McpError> {
        let wait = Duration::from_secs(args.wait_s.unwrap_or(0));
        reply(
            self.hub().jobs().wait(&args.message_id, wait).await,
            describe,
        )
    }

    #[tool(
        description = "The newest jobs (questions) with their state, newest first.",
        output_schema = schema_for_output::<JobList>(),
        annotations(read_only_hint = true)
    )]
    async fn list_jobs(
        &self,
        Parameters(args): Parameters<ListJobsArgs>,
    ) -> Result<CallToolResult, McpError> {
        let status = match args.status.as_deref().map(str::parse::<MessageStatus>) {
            None => None,
            Some(Ok(s)) => Some(s),
            Some(Err(_)) => {
                return Ok(hub_failure(HubError::bad_argument(
                    Argument::Status,
                    format!(
                        "\"{}\" is not a job state (pending, delivered, failed, cancelled, interrupted)",
                        args.status.unwrap_or_default()
                    ),
                )));
            }
        };
        let listed = self
            .hub()
            .jobs()
            .list(
                status,
                args.module.as_deref(),
                args.limit.unwrap_or(crate::hub::DEFAULT_HITS),
            )
            .await
            .map(|jobs| JobList { jobs });
        reply(listed, |list| {
            let mut text = format!("{} job(s)", list.jobs.len());
            for job in &list.jobs {
                let _ = write!(text, "\n- {} {} {}", job.message_id, job.status, job.source);
            }
            text
        })
    }

    #[tool(
        description = "Cancel a pending job that this server carries: the work at the agent is cancelled and the job recorded cancelled.",
        output_schema = schema_for_output::<JobStatus>()
    )]
    async fn cancel_job(
        &self,
        Parameters(args): Parameters<JobIdArgs>,
    ) -> Result<CallToolResult, McpError> {
        reply(self.hub().jobs().cancel(&args.message_id).await, describe)
    }
}
