//! Multi-round-trip requests (MCP 2026-07-28, SEP-2322) for a waiting
//! `send_message` whose answering agent asks back (issue 29).
//!
//! A client on 2026-07-28 that declared the elicitation capability gets,
//! instead of the `input_required` tool result, an `InputRequiredResult`
//! whose one input request (keyed by [`input_key`]) is a form elicitation
//! carrying the agent's question. It retries the same `tools/call` with the
//! elicitation's result in `inputResponses` and the echoed
//! `requestState`; the answer resumes the agent, and the retry returns
//! what comes next: the reply, the next question (another
//! `InputRequiredResult`), or the job still pending.
//!
//! The request state is no promise of the client's: it is the id of the
//! stored question back, an opaque server-side reference, and a retry is
//! only taken when that id names a question back of a query whose
//! conversation, target and text are the retried call's, asked by the
//! caller's module (as `answer_question` requires). Anything else (a
//! changed or made-up state, another call's state) is refused with
//! invalid params, and nothing is answered.
//!
//! Clients without elicitation (or on an older revision) keep the
//! `status: "input_required"` result and `answer_question`.

use std::time::Duration;

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, InputRequest, InputRequests, InputRequiredResult,
    ProtocolVersion,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData as McpError, RoleServer};
use serde_json::{Value, json};

use super::comms_server::CommsServer;
use super::tools::conversations::Delivery;
use super::tools::{failure, hub_failure};
use crate::hub::daemon_ops::SendMessageArgs;
use crate::hub::{HubError, SendOutcome};

/// The key of the input request for the agent's question `question_id`
/// (one key per question: a response to an earlier one is not taken for
/// the next).
pub(crate) fn input_key(question_id: &str) -> String {
    format!("ask_back_{question_id}")
}

/// What a request state starts with (the rest is the question's id).
const STATE_PREFIX: &str = "ask-back:";

/// Whether this `tools/call` is a waiting `send_message` that may be
/// answered with an `InputRequiredResult`, or a retry of one.
pub(crate) fn applies(
    request: &CallToolRequestParams,
    context: &RequestContext<RoleServer>,
) -> bool {
    if request.name != "send_message" {
        return false;
    }
    if request.request_state.is_some() || request.input_responses.is_some() {
        return true;
    }
    let waits = request
        .arguments
        .as_ref()
        .and_then(|a| a.get("wait"))
        .and_then(Value::as_bool)
        != Some(false);
    waits && elicits(context)
}

/// Whether the caller speaks 2026-07-28 (or later) and declared form
/// elicitation (an empty `elicitation: {}` means form).
fn elicits(context: &RequestContext<RoleServer>) -> bool {
    let recent = context
        .protocol_version()
        .is_some_and(|v| v >= ProtocolVersion::V_2026_07_28);
    recent && declares_elicitation(context)
}

/// Whether the caller declared form elicitation (an empty
/// `elicitation: {}` means form).
pub(crate) fn declares_elicitation(context: &RequestContext<RoleServer>) -> bool {
    context
        .client_capabilities()
        .and_then(|caps| caps.elicitation)
        .is_some_and(|e| e.form.is_some() || e.url.is_none())
}

/// Runs the call: a first call sends and waits; a retry answers first.
pub(crate) async fn call(
    server: &CommsServer,
    request: CallToolRequestParams,
    context: RequestContext<RoleServer>,
) -> Result<CallToolResponse, McpError> {
    let arguments = Value::Object(request.arguments.clone().unwrap_or_default());
    let args: SendMessageArgs = match serde_json::from_value(arguments) {
        Ok(args) => args,
        Err(e) => return Ok(failure(format!("invalid arguments for send_message: {e}")).into()),
    };
    let wait = Duration::from_secs(
        args.timeout_s
            .unwrap_or(server.hub().config().config.instances.request_timeout_s),
    );
    let outcome = match &request.request_state {
        None if request.input_responses.is_some() => {
            return Err(McpError::invalid_params(
                "inputResponses without the requestState they answer",
                None,
            ));
        }
        None => server.send(args, &context, Delivery::Wait).await,
        Some(state) => {
            let (query_id, question_id) = checked_state(server, state, &args, &context).await?;
            let response = request
                .input_responses
                .as_ref()
                .and_then(|responses| responses.get(&input_key(&question_id)));
            match response {
                // Nothing for our request: ask again (if it still waits).
                None => {
                    server
                        .hub()
                        .messaging()
                        .next_turn(&query_id, None, wait)
                        .await
                }
                Some(response) => resume(server, &query_id, response, wait).await,
            }
        }
    };
    match outcome {
        Ok(outcome) => respond(server, &outcome),
        Err(e) => Ok(hub_failure(e).into()),
    }
}

/// The elicitation's result, given to the agent: an accepted answer, or
/// "no answer" (declined, dismissed).
pub(crate) async fn resume(
    server: &CommsServer,
    query_id: &str,
    response: &Value,
    wait: Duration,
) -> Result<SendOutcome, HubError> {
    let action = response.get("action").and_then(Value::as_str);
    let answer = response
        .get("content")
        .and_then(|c| c.get("answer"))
        .and_then(Value::as_str);
    match (action, answer) {
        (Some("accept"), Some(answer)) => {
            server
                .hub()
                .messaging()
                .answer_question(query_id, answer, wait)
                .await
        }
        (Some("accept"), None) => Err(HubError::BadRequest(
            "the input response accepts without content.answer: say what to tell the agent".into(),
        )),
        (Some("decline" | "cancel"), _) => {
            server
                .hub()
                .messaging()
                .decline_question(query_id, wait)
                .await
        }
        _ => Err(HubError::BadRequest(
            "the input response is not an elicitation result (action accept, decline or cancel)"
                .into(),
        )),
    }
}

/// The outcome as this call's response: the next question as an
/// `InputRequiredResult`, else the tool result a waiting send gives.
fn respond(server: &CommsServer, outcome: &SendOutcome) -> Result<CallToolResponse, McpError> {
    let Some(request) = &outcome.input_request else {
        return super::tools::answers::outcome_result(server, outcome).map(Into::into);
    };
    let state = format!("{STATE_PREFIX}{}", request.question_id);
    Ok(
        InputRequiredResult::new(Some(input_requests(&outcome.target, request)?), Some(state))
            .into(),
    )
}

/// The agent's question as input requests: one form elicitation whose
/// one field, `answer`, is what the agent is told.
pub(crate) fn input_requests(
    target: &str,
    request: &crate::hub::ask_back::InputRequest,
) -> Result<InputRequests, McpError> {
    let elicitation = json!({
        "method": "elicitation/create",
        "params": {
            "mode": "form",
            "message": format!(
                "{target} asks you back before it answers your question: {}",
                request.question
            ),
            "requestedSchema": {
                "type": "object",
                "properties": {
                    "answer": {
                        "type": "string",
                        "title": "Your answer",
                        "description": format!(
                            "What to tell {target}'s agent (it waits up to {} s; decline and it goes on with what it knows)",
                            request.timeout_s
                        ),
                    }
                },
                "required": ["answer"],
            },
        },
    });
    let input: InputRequest = serde_json::from_value(elicitation).map_err(|e| {
        McpError::internal_error(format!("cannot build the elicitation: {e}"), None)
    })?;
    Ok(InputRequests::from([(
        input_key(&request.question_id),
        input,
    )]))
}

/// The query a request state stands for, once it is shown to be this
/// call's question back and the caller's to answer.
async fn checked_state(
    server: &CommsServer,
    state: &str,
    args: &SendMessageArgs,
    context: &RequestContext<RoleServer>,
) -> Result<(String, String), McpError> {
    let refused = || {
        McpError::invalid_params(
            "requestState does not belong to this call: it was changed, or is not one this server gave for it",
            None,
        )
    };
    let question_id = state.strip_prefix(STATE_PREFIX).ok_or_else(refused)?;
    if uuid::Uuid::parse_str(question_id).is_err() {
        return Err(refused());
    }
    let hub = server.hub();
    let asked = hub
        .messaging()
        .question_back(question_id)
        .await
        .map_err(|_| refused())?;
    let job = hub
        .jobs()
        .get_with_answer(&asked.query_id)
        .await
        .map_err(|_| refused())?;
    let same = |given: &Option<String>, stored: &str| given.as_deref().is_none_or(|g| g == stored);
    let matches = job.job.message == args.message
        && same(&args.conversation_id, &job.job.conversation_id)
        && same(&args.target, &job.target)
        && same(&args.source, &job.job.source);
    if !matches {
        return Err(refused());
    }
    let caller = super::access::caller_of(context)?;
    if let Some(module) = caller.module()
        && !hub
            .messaging()
            .asked_by(&asked.query_id, module)
            .await
            .unwrap_or(false)
    {
        return Err(refused());
    }
    Ok((asked.query_id, question_id.to_string()))
}
