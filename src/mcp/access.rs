//! What a caller may do through MCP. Local faces (stdio, the daemon's
//! socket) act as the operator. A remote host acts as the module its token
//! is bound to: it asks as that module only, sees only the conversations
//! and jobs that module takes part in, and cannot control instances or
//! change the registry. The rules sit here, in front of the tools, so a
//! tool never has to remember them; a tool not named below is refused to a
//! module token (new tools start closed).

use axum::http::request::Parts;
use rmcp::model::CallToolRequestParams;
use rmcp::service::RequestContext;
use rmcp::{ErrorData as McpError, RoleServer};
use serde_json::{Value, json};

use crate::hub::{Caller, Hub, HubError, Thing};

/// Tools anyone may call as they are: they read descriptors only.
const OPEN_TOOLS: &[&str] = &["list_modules", "describe_module", "find_consumers"];

/// Tools whose `module` filter is pinned to the caller's module.
const FILTERED_TOOLS: &[&str] = &[
    "list_conversations",
    "search_conversations",
    "list_jobs",
    "get_stats",
];

/// Tools that act on one conversation, named by `conversation_id`.
const CONVERSATION_TOOLS: &[&str] = &[
    "get_conversation",
    "export_conversation",
    "archive_conversation",
];

/// Tools that act on one job, named by `message_id`.
const JOB_TOOLS: &[&str] = &["get_reply", "cancel_job"];

/// Who a request acts as. Over HTTP the listener attaches the caller to
/// every request it lets through (the operator on the local socket, the
/// token's identity on TCP); a request over HTTP without one is refused, so
/// a listener that forgot to authenticate fails closed. Without HTTP (stdio)
/// the host is a local process of this user: the operator.
pub(crate) fn caller_of(context: &RequestContext<RoleServer>) -> Result<Caller, McpError> {
    match context.extensions.get::<Parts>() {
        None => Ok(Caller::Operator),
        Some(parts) => parts.extensions.get::<Caller>().cloned().ok_or_else(|| {
            McpError::invalid_request("the request carries no verified identity", None)
        }),
    }
}

/// Checks (and, for a module caller, pins) a tool call before it runs. A
/// refusal is the reason, returned to the host as a failed tool call (as a
/// bad argument is), so the model reads why.
pub(crate) async fn authorize_call(
    hub: &Hub,
    caller: &Caller,
    request: &mut CallToolRequestParams,
) -> Result<(), HubError> {
    let Some(module) = caller.module() else {
        return Ok(());
    };
    let tool = request.name.to_string();
    let arguments = request.arguments.get_or_insert_with(Default::default);
    let text_arg = |name: &str| {
        arguments
            .get(name)
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    if OPEN_TOOLS.contains(&tool.as_str()) {
        return Ok(());
    }
    if tool == "send_message" || tool == "create_conversation" {
        if let Some(source) = text_arg("source")
            && source != module
        {
            return Err(HubError::BadRequest(format!(
                "this token acts as module \"{module}\"; it cannot send as \"{source}\""
            )));
        }
        if let Some(id) = text_arg("conversation_id") {
            // Continuing a conversation asks as its source: one the module
            // only answers in is as unusable here as an unknown one.
            let asks_in = hub
                .conversations()
                .get(&id, Some(1), None)
                .await
                .is_ok_and(|t| t.conversation.source == module);
            if !asks_in {
                return Err(unseen(Thing::Conversation, &id, module));
            }
        }
        arguments.insert("source".into(), json!(module));
        return Ok(());
    }
    if FILTERED_TOOLS.contains(&tool.as_str()) {
        if let Some(asked) = text_arg("module")
            && asked != module
        {
            return Err(HubError::BadRequest(format!(
                "this token acts as module \"{module}\"; it sees only its own conversations, not \"{asked}\"'s"
            )));
        }
        arguments.insert("module".into(), json!(module));
        return Ok(());
    }
    if CONVERSATION_TOOLS.contains(&tool.as_str()) {
        let id = text_arg("conversation_id").unwrap_or_default();
        return check_conversation(hub, caller, &id).await;
    }
    if tool == "answer_question" {
        // Only the asking module answers its agent's questions: a module
        // that merely answers in the conversation may not put words in
        // its asker's mouth.
        let id = text_arg("query_id").unwrap_or_default();
        return match hub.messaging().asked_by(&id, module).await {
            Ok(true) => Ok(()),
            _ => Err(unseen(Thing::Job, &id, module)),
        };
    }
    if JOB_TOOLS.contains(&tool.as_str()) {
        let id = text_arg("message_id").unwrap_or_default();
        return check_job(hub, caller, &id).await;
    }
    Err(HubError::BadRequest(format!(
        "tool {tool} needs an operator token; this token acts as module \"{module}\""
    )))
}

/// What a module token is told about an id it may not use: not found. An
/// unknown id and another module's get this same answer (text and
/// JSON-RPC error) from every tool, resource and task method, so a module
/// cannot probe which ids exist.
pub(crate) fn unseen(thing: Thing, id: &str, module: &str) -> HubError {
    HubError::NotFound {
        thing,
        id: id.to_string(),
        module: Some(module.to_string()),
    }
}

/// Whether `caller` takes part in conversation `id`. An unknown id and a
/// foreign one get the same answer ([`unseen`]).
pub(crate) async fn check_conversation(
    hub: &Hub,
    caller: &Caller,
    id: &str,
) -> Result<(), HubError> {
    let Some(module) = caller.module() else {
        return Ok(());
    };
    match hub.conversations().get(id, Some(1), None).await {
        Ok(t) if caller.is_party(&t.conversation.source, &t.conversation.target) => Ok(()),
        _ => Err(unseen(Thing::Conversation, id, module)),
    }
}

/// Whether `caller` takes part in the conversation of job `id`.
pub(crate) async fn check_job(hub: &Hub, caller: &Caller, id: &str) -> Result<(), HubError> {
    let Some(module) = caller.module() else {
        return Ok(());
    };
    let allowed = match hub.jobs().get(id).await {
        Ok(job) => check_conversation(hub, caller, &job.conversation_id)
            .await
            .is_ok(),
        Err(_) => false,
    };
    if allowed {
        Ok(())
    } else {
        Err(unseen(Thing::Job, id, module))
    }
}

/// Whether `caller` may read (or subscribe to) a resource: descriptors are
/// open, a conversation only to its parties. Another module's conversation
/// is "resource not found", as an unknown one is.
pub(crate) async fn check_resource(hub: &Hub, caller: &Caller, uri: &str) -> Result<(), McpError> {
    match uri.strip_prefix(super::resources::CONVERSATION_SCHEME) {
        Some(id) => check_conversation(hub, caller, id).await.map_err(|unseen| {
            McpError::resource_not_found(unseen.to_string(), Some(json!({"uri": uri})))
        }),
        None => Ok(()),
    }
}
