//! `answer_question`: the asker's answer to a question its answering agent
//! asked back (issue 29), and the text of a result that carries such a
//! question.

use std::time::Duration;

use rmcp::handler::server::common::schema_for_output;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::CallToolResult;
use rmcp::{ErrorData as McpError, tool, tool_router};
use schemars::JsonSchema;
use serde::Deserialize;

use super::conversations::answer_result;
use super::{hub_failure, structured};
use crate::hub::SendOutcome;
use crate::mcp::comms_server::CommsServer;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AnswerQuestionArgs {
    /// The `query_id` of the `input_required` result (the question being
    /// answered; its first 8+ characters will do).
    pub query_id: String,
    /// Your answer to the agent's question.
    pub answer: String,
    /// Seconds to wait for what comes next (default: the request timeout,
    /// `instances.request_timeout_s`).
    #[serde(default)]
    #[schemars(range(min = 0, max = 3600))]
    pub wait_s: Option<u64>,
}

#[tool_router(router = answer_tools, vis = "pub(crate)")]
impl CommsServer {
    #[tool(
        description = "Answer a question the answering agent asked back (a send_message result with status input_required). The agent carries on with your answer; this waits for what comes next and returns it as send_message would: the final answer, or another question (input_required).",
        output_schema = schema_for_output::<SendOutcome>()
    )]
    async fn answer_question(
        &self,
        Parameters(args): Parameters<AnswerQuestionArgs>,
    ) -> Result<CallToolResult, McpError> {
        let wait = Duration::from_secs(
            args.wait_s
                .unwrap_or(self.hub().config().config.instances.request_timeout_s),
        );
        match self
            .hub()
            .messaging()
            .answer_question(&args.query_id, &args.answer, wait)
            .await
        {
            Ok(outcome) => outcome_result(self, &outcome),
            Err(e) => Ok(hub_failure(e)),
        }
    }
}

/// The result of a waiting send (or an answer): the reply framed for the
/// asking agent, the agent's question back, or the job still pending.
pub(crate) fn outcome_result(
    server: &CommsServer,
    outcome: &SendOutcome,
) -> Result<CallToolResult, McpError> {
    if let Some(request) = &outcome.input_request {
        let text = format!(
            "{} asks you back before it answers (question {}):\n\n{}\n\nAnswer with answer_question {{\"query_id\": \"{}\", \"answer\": \"...\"}} within {} s; until then its agent waits.",
            outcome.target, request.query_id, request.question, request.query_id, request.timeout_s
        );
        return structured(text, outcome);
    }
    if outcome.reply.is_none() {
        let text = format!(
            "{} is still working on question {}; collect the answer with get_reply",
            outcome.target, outcome.message_id
        );
        return structured(text, outcome);
    }
    answer_result(server, outcome)
}
