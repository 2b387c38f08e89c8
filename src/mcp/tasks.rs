//! MCP tasks (SEP-2663, the `io.modelcontextprotocol/tasks` extension) for
//! `send_message`.
//!
//! A task is a job under another name: it is created by the same code path
//! as `send_message {wait: false}`, so the task id is the job's id (the
//! stored query), and everything jobs promise holds for tasks too: the
//! question and its answer are stored, `jobs list` shows it, and a process
//! that stops under it leaves it `interrupted` (reported here as `failed`),
//! never replayed. No task state lives in memory, so `tasks/get` answers
//! from any server process sharing the database, after any restart.
//!
//! How a client asks for one: under SEP-2663 the server decides, and may
//! only answer with a task when the request declares the tasks extension
//! (in the request's `_meta` client capabilities, or for a session started
//! with `initialize`, in the capabilities it declared there). rmcp enforces
//! that; [`wanted`] adds that only `send_message` is task-eligible, and not
//! when it was already sent with `wait: false` (that asks for a job id, and
//! gets one).
//!
//! Every operation takes the request's [`RequestContext`]: the caller's
//! identity, and whether it may see a job, will be decided per request.

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CancelTaskParams, CreateTaskResult, DetailedTask,
    GetTaskParams, GetTaskResult, JsonObject, Task, TaskPayload, UpdateTaskParams,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData as McpError, RoleServer};
use serde_json::json;

use super::comms_server::CommsServer;
use super::tools::conversations::{Delivery, answer_result};
use super::tools::{failure, hub_failure};
use crate::hub::daemon_ops::SendMessageArgs;
use crate::hub::{HubError, JobDetail, MessageStatus};

/// The only task-eligible tool.
const SEND_MESSAGE: &str = "send_message";

/// How often a client should look again: answers take seconds to minutes.
const POLL_INTERVAL_MS: u64 = 2_000;

/// Whether this `tools/call` should be answered with a task.
pub(crate) fn wanted(
    request: &CallToolRequestParams,
    context: &RequestContext<RoleServer>,
) -> bool {
    let waits = request
        .arguments
        .as_ref()
        .and_then(|a| a.get("wait"))
        .and_then(serde_json::Value::as_bool)
        != Some(false);
    request.name == SEND_MESSAGE
        && waits
        && context
            .client_capabilities()
            .is_some_and(|caps| caps.supports_tasks())
}

/// Sends the message as a job and answers at once with the task. What
/// fails before anything is stored (an unknown module, a message too long)
/// is answered as the synchronous call answers it: a tool error.
pub(crate) async fn create(
    server: &CommsServer,
    request: CallToolRequestParams,
    context: RequestContext<RoleServer>,
) -> Result<CallToolResponse, McpError> {
    let arguments = serde_json::Value::Object(request.arguments.unwrap_or_default());
    let args: SendMessageArgs = match serde_json::from_value(arguments) {
        Ok(args) => args,
        Err(e) => {
            return Ok(failure(format!("invalid arguments for tool {SEND_MESSAGE}: {e}")).into());
        }
    };
    let outcome = match server.send(args, &context, Delivery::Detached).await {
        Ok(outcome) => outcome,
        Err(e) => return Ok(hub_failure(e).into()),
    };
    let detail = lookup(server, &outcome.message_id, &context).await?;
    let task = detailed(server, detail, false)?.task;
    Ok(CallToolResponse::Task(CreateTaskResult::new(task)))
}

/// `tasks/get`: the job's state; once answered, the `send_message` result.
pub(crate) async fn get(
    server: &CommsServer,
    params: GetTaskParams,
    context: &RequestContext<RoleServer>,
) -> Result<GetTaskResult, McpError> {
    let detail = lookup(server, &params.task_id, context).await?;
    // A task is polled on 2026-07-28 and earlier revisions alike: only
    // the declared capability counts.
    let elicits = super::mrtr::declares_elicitation(context);
    Ok(GetTaskResult::new(detailed(server, detail, elicits)?))
}

/// `tasks/update`: the response to the agent's question, given to the
/// agent (as `answer_question` does). A response to a question that no
/// longer waits is ignored, as SEP-2663 asks of unknown or superseded keys.
pub(crate) async fn update(
    server: &CommsServer,
    params: UpdateTaskParams,
    context: &RequestContext<RoleServer>,
) -> Result<(), McpError> {
    let detail = lookup(server, &params.task_id, context).await?;
    if let Some(module) = super::access::caller_of(context)?.module()
        && !server
            .hub()
            .messaging()
            .asked_by(&params.task_id, module)
            .await
            .unwrap_or(false)
    {
        // Only the asker answers its agent's questions.
        return Err(not_usable(
            &params.task_id,
            super::access::unseen(crate::hub::Thing::Job, &params.task_id, module),
        ));
    }
    let Some(request) = detail.job.input_request else {
        return Ok(());
    };
    let Some(response) = params
        .input_responses
        .get(&super::mrtr::input_key(&request.question_id))
    else {
        return Ok(());
    };
    super::mrtr::resume(
        server,
        &request.query_id,
        response,
        std::time::Duration::ZERO,
    )
    .await
    .map(|_| ())
    .map_err(|e| not_usable(&params.task_id, e))
}

/// `tasks/cancel`: cancels the work at the child (as `cancel_job` does) and
/// acknowledges once the job is recorded cancelled.
pub(crate) async fn cancel(
    server: &CommsServer,
    params: CancelTaskParams,
    context: &RequestContext<RoleServer>,
) -> Result<(), McpError> {
    // Looked up first so an unknown id gets the same error as `tasks/get`.
    lookup(server, &params.task_id, context).await?;
    server
        .hub()
        .jobs()
        .cancel(&params.task_id)
        .await
        .map(|_| ())
        .map_err(|e| not_usable(&params.task_id, e))
}

/// The job behind a task id. Every task operation comes through here, so
/// a module token sees only the tasks of conversations its module takes
/// part in (another's task id gets the same answer as an unknown one).
async fn lookup(
    server: &CommsServer,
    task_id: &str,
    context: &RequestContext<RoleServer>,
) -> Result<JobDetail, McpError> {
    let caller = super::access::caller_of(context)?;
    super::access::check_job(server.hub(), &caller, task_id)
        .await
        .map_err(|unseen| not_usable(task_id, unseen))?;
    server
        .hub()
        .jobs()
        .get_with_answer(task_id)
        .await
        .map_err(|e| not_usable(task_id, e))
}

/// SEP-2663 answers an unknown task id (or a request the task cannot take)
/// with invalid params; the message names the id. The database failing is
/// the server's error, not a bad id.
fn not_usable(task_id: &str, error: HubError) -> McpError {
    let message = format!("task \"{task_id}\": {error}");
    let data = Some(json!({"taskId": task_id}));
    if error.is_server_fault() {
        McpError::internal_error(message, data)
    } else {
        McpError::invalid_params(message, data)
    }
}

/// The task as SEP-2663 reports it, from the stored job.
fn detailed(
    server: &CommsServer,
    detail: JobDetail,
    elicits: bool,
) -> Result<DetailedTask, McpError> {
    let JobDetail {
        job,
        target,
        answer,
    } = detail;
    let finished_at = job.created_at + job.duration_ms.unwrap_or(0);
    let mut task = Task::new(
        job.message_id.clone(),
        Default::default(),
        crate::time::rfc3339(job.created_at),
        crate::time::rfc3339(finished_at),
    )
    .with_poll_interval_ms(POLL_INTERVAL_MS);
    if let Some(request) = &job.input_request {
        // The agent waits for the asker: a client that can elicit gets the
        // question as an input request (answer with tasks/update); any
        // client may answer with the answer_question tool.
        task.status_message = Some(format!(
            "{target} asks back: {} (answer with tasks/update, or answer_question {{\"query_id\": \"{}\"}})",
            request.question, request.query_id
        ));
        let input_requests = if elicits {
            super::mrtr::input_requests(&target, request)?
        } else {
            Default::default()
        };
        let payload = TaskPayload::InputRequired { input_requests };
        return Ok(DetailedTask::new(task, payload));
    }
    let status: MessageStatus = job
        .status
        .parse()
        .map_err(|e| McpError::internal_error(format!("job {}: {e}", job.message_id), None))?;
    let reason = || {
        job.error
            .clone()
            .unwrap_or_else(|| format!("the job is {}", job.status))
    };
    let payload = match (status, answer) {
        (MessageStatus::Pending, _) => {
            let waited = crate::time::span_text(crate::time::now_ms() - job.created_at);
            task.status_message = Some(format!(
                "{target} is working on it (job {}, asked {waited} ago)",
                job.message_id
            ));
            TaskPayload::Working
        }
        (MessageStatus::Delivered, Some(outcome)) => {
            task.status_message = Some(format!("{target} answered"));
            let result = answer_result(server, &outcome)?;
            TaskPayload::Completed {
                result: as_object(&result)?,
            }
        }
        (MessageStatus::Cancelled, _) => {
            task.status_message = Some(reason());
            TaskPayload::Cancelled
        }
        // failed, interrupted (its process stopped: never replayed), or a
        // delivered job whose reply cannot be read.
        (other, _) => {
            let message = reason();
            task.status_message = Some(message.clone());
            let error = json!({
                "code": rmcp::model::ErrorCode::INTERNAL_ERROR.0,
                "message": message,
                "data": {"jobStatus": other.as_str(), "messageId": job.message_id},
            });
            TaskPayload::Failed {
                error: as_object(&error)?,
            }
        }
    };
    Ok(DetailedTask::new(task, payload))
}

fn as_object<T: serde::Serialize>(value: &T) -> Result<JsonObject, McpError> {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::Object(object)) => Ok(object),
        Ok(other) => Err(McpError::internal_error(
            format!("a task payload must be an object, got {other}"),
            None,
        )),
        Err(e) => Err(McpError::internal_error(
            format!("cannot serialize a task payload: {e}"),
            None,
        )),
    }
}
