//! A2A tasks over the hub's jobs: a task is a question (its id is the
//! stored query's), its `contextId` the conversation. What a job's state
//! reads as a task's, who may see a task, and the methods that start,
//! answer, read and cancel one.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value, json};

use super::rpc::{RpcError, code};
use super::wire::{
    Artifact, Message, Part, SendMessageParams, Task, TaskIdParams, TaskState, TaskStatus,
    timestamp,
};
use crate::hub::{Caller, Hub, HubError, JobDetail, SendRequest, Thing};

/// Who asks, and which module's agent is addressed (the URL's).
pub struct Asking {
    pub caller: Caller,
    pub module: String,
}

/// What a `SendMessage` started or resumed: the task to report on.
pub struct Started {
    pub task_id: String,
    /// The caller asked for the task at once (`returnImmediately`).
    pub immediately: bool,
}

/// The metadata key an admin token names the asking module under.
pub const ASKER_KEY: &str = "asker";

/// The JSON-RPC error for a hub error.
pub fn rpc_error(error: &HubError) -> RpcError {
    let code = match error {
        HubError::NotFound {
            thing: Thing::Job | Thing::Message,
            ..
        } => code::TASK_NOT_FOUND,
        e if e.is_server_fault() => code::INTERNAL,
        _ => code::INVALID_PARAMS,
    };
    RpcError::new(code, error.to_string())
}

fn task_not_found(id: &str) -> RpcError {
    RpcError::new(code::TASK_NOT_FOUND, format!("task {id} not found"))
}

/// The task of a job, as A2A reads it.
pub fn task_of(detail: &JobDetail, history_length: Option<i64>) -> Task {
    let job = &detail.job;
    let (context, id) = (job.conversation_id.as_str(), job.message_id.as_str());
    let now = timestamp(crate::time::now_ms());
    let reply = detail.answer.as_ref().and_then(|a| {
        Some(Message::agent_text(
            a.reply_id.clone()?,
            context,
            id,
            a.reply.as_deref()?,
        ))
    });
    let (state, message) = match job.status.as_str() {
        "delivered" => (TaskState::Completed, reply.clone()),
        "input_required" => (
            TaskState::InputRequired,
            job.input_request
                .as_ref()
                .map(|r| Message::agent_text(r.question_id.clone(), context, id, &r.question)),
        ),
        "cancelled" => (TaskState::Canceled, None),
        "failed" | "interrupted" => (
            TaskState::Failed,
            Some(Message::agent_text(
                format!("{id}-error"),
                context,
                id,
                job.error.as_deref().unwrap_or(&job.status),
            )),
        ),
        _ => (TaskState::Working, None),
    };
    let mut history = vec![Message {
        message_id: id.to_string(),
        context_id: Some(context.to_string()),
        task_id: Some(id.to_string()),
        role: super::wire::Role::User,
        parts: vec![Part::text(&job.message)],
        metadata: None,
    }];
    history.extend(reply.clone());
    if let Some(keep) = history_length.and_then(|n| usize::try_from(n).ok()) {
        let drop = history.len().saturating_sub(keep);
        history.drain(..drop);
    }
    let artifacts = match (&detail.answer, state) {
        (Some(answer), TaskState::Completed) => vec![Artifact {
            artifact_id: format!("{id}-answer"),
            name: Some("answer".into()),
            parts: vec![Part::text(answer.reply.as_deref().unwrap_or_default())],
        }],
        _ => Vec::new(),
    };
    let mut metadata = Map::new();
    metadata.insert(
        "claude-comms".into(),
        json!({"source": job.source, "target": detail.target, "status": job.status,
               "cost_usd": detail.answer.as_ref().and_then(|a| a.cost_usd),
               "duration_ms": job.duration_ms}),
    );
    Task {
        id: id.to_string(),
        context_id: context.to_string(),
        status: TaskStatus {
            state,
            message,
            timestamp: now,
        },
        artifacts,
        history,
        metadata: Some(metadata),
    }
}

/// The task `id` if the caller may see it as a task of `asking.module`;
/// an unknown id and one it may not see get the same answer.
pub async fn visible_task(hub: &Hub, asking: &Asking, id: &str) -> Result<JobDetail, RpcError> {
    let detail = match hub.jobs().get_with_answer(id).await {
        Ok(detail) => detail,
        Err(HubError::NotFound { .. }) | Err(HubError::BadRequest(_)) => {
            return Err(task_not_found(id));
        }
        Err(e) => return Err(rpc_error(&e)),
    };
    let party = asking.caller.is_party(&detail.job.source, &detail.target);
    if !party || detail.target != asking.module {
        return Err(task_not_found(id));
    }
    Ok(detail)
}

/// The asking module: a module token's own; an admin token names it in
/// the message's or the request's metadata (`"asker"`).
fn asker_of(asking: &Asking, params: &SendMessageParams) -> Result<String, RpcError> {
    let named = [params.message.metadata.as_ref(), params.metadata.as_ref()]
        .into_iter()
        .flatten()
        .find_map(|m| m.get(ASKER_KEY));
    let named = match named {
        None => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(other) => {
            return Err(RpcError::invalid_params(format!(
                "metadata.{ASKER_KEY} must be a module's name, not {other}"
            )));
        }
    };
    match (&asking.caller, named) {
        (Caller::Module { module, .. }, None) => Ok(module.clone()),
        (Caller::Module { module, .. }, Some(named)) if &named == module => Ok(named),
        (Caller::Module { module, .. }, Some(named)) => Err(RpcError::invalid_params(format!(
            "this token acts as module \"{module}\"; it cannot ask as \"{named}\""
        ))),
        (Caller::Operator, Some(named)) => Ok(named),
        (Caller::Operator, None) => Err(RpcError::invalid_params(format!(
            "an admin token must name the asking module: put \"{ASKER_KEY}\": \"<module>\" in the message's metadata"
        ))),
    }
}

/// The text of a message; other parts are refused by kind.
fn text_of(message: &Message) -> Result<String, RpcError> {
    if let Some(part) = message.parts.iter().find(|p| p.text.is_none()) {
        let kind = if part.raw.is_some() || part.url.is_some() {
            "file"
        } else if part.data.is_some() {
            "data"
        } else {
            part.kind.as_deref().unwrap_or("empty")
        };
        return Err(RpcError::new(
            code::CONTENT_TYPE_NOT_SUPPORTED,
            format!("a {kind} part: this agent takes text parts only (text/plain)"),
        ));
    }
    let text = message.text();
    if text.trim().is_empty() {
        return Err(RpcError::invalid_params(
            "params.message has no text: give at least one text part",
        ));
    }
    Ok(text)
}

/// `SendMessage` and `SendStreamingMessage`: a new question (in a new
/// conversation, or the one `contextId` names), or with `taskId` the
/// answer to the question its agent asked back. The question is carried
/// as a job of this process, so it outlives the HTTP request.
pub async fn start(
    hub: &Arc<Hub>,
    asking: &Asking,
    params: SendMessageParams,
    progress: Option<crate::hub::ProgressSink>,
) -> Result<Started, RpcError> {
    let text = text_of(&params.message)?;
    let immediately = params
        .configuration
        .as_ref()
        .is_some_and(|c| c.return_immediately || c.blocking == Some(false));
    if let Some(task_id) = &params.message.task_id {
        let detail = visible_task(hub, asking, task_id).await?;
        if let Some(context) = &params.message.context_id
            && context != &detail.job.conversation_id
        {
            return Err(RpcError::invalid_params(format!(
                "task {task_id} belongs to context {}, not {context}",
                detail.job.conversation_id
            )));
        }
        if detail.job.input_request.is_none() {
            let state = task_of(&detail, Some(0)).status.state;
            let next = if state.is_terminal() {
                "send a new message without taskId (in the same contextId) to go on"
            } else {
                "wait for it (GetTask, SubscribeToTask)"
            };
            return Err(RpcError::unsupported(format!(
                "task {task_id} is {} and asks nothing: {next}",
                detail.job.status
            )));
        }
        if let Some(module) = asking.caller.module()
            && !hub
                .messaging()
                .asked_by(task_id, module)
                .await
                .unwrap_or(false)
        {
            return Err(task_not_found(task_id));
        }
        hub.messaging()
            .answer_question(task_id, &text, Duration::ZERO)
            .await
            .map_err(|e| rpc_error(&e))?;
        return Ok(Started {
            task_id: detail.job.message_id,
            immediately,
        });
    }
    let source = asker_of(asking, &params)?;
    if let Some(context) = &params.message.context_id {
        let conversation = match hub.conversations().get(context, Some(1), None).await {
            Ok(t) => t.conversation,
            Err(_) => {
                return Err(RpcError::invalid_params(format!(
                    "unknown contextId {context}: leave it out to start a new conversation"
                )));
            }
        };
        if conversation.source != source || conversation.target != asking.module {
            // Another pair's conversation reads as an unknown one.
            return Err(RpcError::invalid_params(format!(
                "unknown contextId {context}: leave it out to start a new conversation"
            )));
        }
    }
    let request = SendRequest {
        source: Some(source),
        target: Some(asking.module.clone()),
        message: text,
        conversation_id: params.message.context_id.clone(),
        progress,
        ..SendRequest::default()
    };
    let accepted = hub
        .jobs()
        .send_reporting(request)
        .await
        .map_err(|e| rpc_error(&e))?;
    Ok(Started {
        task_id: accepted.message_id,
        immediately,
    })
}

/// The task once it completes, fails, asks something back, or the
/// request's time (`instances.request_timeout_s`) is up.
pub async fn settled(hub: &Hub, asking: &Asking, id: &str) -> Result<Task, RpcError> {
    let wait = Duration::from_secs(hub.config().config.instances.request_timeout_s.max(1));
    hub.jobs().wait(id, wait).await.map_err(|e| rpc_error(&e))?;
    Ok(task_of(&visible_task(hub, asking, id).await?, None))
}

/// `GetTask`.
pub async fn get(hub: &Hub, asking: &Asking, params: TaskIdParams) -> Result<Task, RpcError> {
    let detail = visible_task(hub, asking, &params.id).await?;
    Ok(task_of(&detail, params.history_length))
}

/// `CancelTask`: a finished task, or one another process carries, is not
/// cancelable.
pub async fn cancel(hub: &Hub, asking: &Asking, params: TaskIdParams) -> Result<Task, RpcError> {
    let detail = visible_task(hub, asking, &params.id).await?;
    match hub.jobs().cancel(&detail.job.message_id).await {
        Ok(_) => {}
        Err(HubError::BadRequest(why)) => {
            return Err(RpcError::new(code::TASK_NOT_CANCELABLE, why));
        }
        Err(e) => return Err(rpc_error(&e)),
    }
    Ok(task_of(&visible_task(hub, asking, &params.id).await?, None))
}
