//! Resources: `module://{name}` holds a module's descriptor as JSON;
//! `conversation://{id}` a conversation's transcript as Markdown (listed for
//! the most recent conversations, readable for all, and subscribable: see
//! [`super::subscriptions`]).

use rmcp::ErrorData as McpError;
use rmcp::model::{
    ListResourceTemplatesResult, ListResourcesResult, PaginatedRequestParams, ReadResourceResult,
    Resource, ResourceContents, ResourceTemplate,
};
use serde_json::json;

use crate::hub::{ConversationFilter, ExportFormat};
use crate::hub::{Hub, HubError};

const MODULE_SCHEME: &str = "module://";
pub(crate) const CONVERSATION_SCHEME: &str = "conversation://";

/// Conversations listed as resources: the most recently active ones. Older
/// ones stay readable through the template and `list_conversations`.
const CONVERSATIONS_LISTED: usize = 100;

pub(crate) async fn list(
    hub: &Hub,
    only_of_module: Option<&str>,
    _request: Option<PaginatedRequestParams>,
) -> Result<ListResourcesResult, McpError> {
    // A registry holds tens of modules: one page is enough.
    let mut resources: Vec<Resource> = hub
        .modules()
        .list(&Default::default())
        .modules
        .into_iter()
        .map(|m| {
            Resource::new(format!("{MODULE_SCHEME}{}", m.name), m.name.clone())
                .with_title(format!("Module {}", m.name))
                .with_description(m.description)
                .with_mime_type("application/json")
        })
        .collect();
    let recent = hub
        .conversations()
        .list(ConversationFilter {
            limit: CONVERSATIONS_LISTED,
            module: only_of_module.map(str::to_string),
            ..Default::default()
        })
        .await
        .map_err(|e| McpError::internal_error(e.to_string(), None))?;
    resources.extend(recent.conversations.into_iter().map(|c| {
        let name = format!("{} -> {}", c.source, c.target);
        Resource::new(format!("{CONVERSATION_SCHEME}{}", c.id), name)
            .with_title(
                c.title
                    .clone()
                    .unwrap_or_else(|| format!("{} asks {}", c.source, c.target)),
            )
            .with_description(format!(
                "{} message(s), {}",
                c.message_count,
                c.status.as_str()
            ))
            .with_mime_type("text/markdown")
    }));
    Ok(ListResourcesResult::with_all_items(resources))
}

pub(crate) fn templates() -> ListResourceTemplatesResult {
    ListResourceTemplatesResult::with_all_items(vec![
        ResourceTemplate::new(format!("{MODULE_SCHEME}{{name}}"), "module")
            .with_title("Module descriptor")
            .with_description("The descriptor of a module, as JSON")
            .with_mime_type("application/json"),
        ResourceTemplate::new(format!("{CONVERSATION_SCHEME}{{id}}"), "conversation")
            .with_title("Conversation transcript")
            .with_description("A conversation between two modules, as Markdown; subscribe to hear when a message lands")
            .with_mime_type("text/markdown"),
    ])
}

pub(crate) async fn read(hub: &Hub, uri: &str) -> Result<ReadResourceResult, McpError> {
    if let Some(id) = uri.strip_prefix(CONVERSATION_SCHEME) {
        return match hub.conversations().export(id, ExportFormat::Markdown).await {
            Ok(text) => Ok(ReadResourceResult::new(vec![
                ResourceContents::text(text, uri).with_mime_type("text/markdown"),
            ])),
            Err(e) => Err(resource_error(e, uri)),
        };
    }
    if let Some(name) = uri.strip_prefix(MODULE_SCHEME) {
        return match hub.modules().describe(name) {
            Ok(details) => {
                let text = serde_json::to_string_pretty(&details.descriptor)
                    .map_err(|e| McpError::internal_error(e.to_string(), None))?;
                Ok(ReadResourceResult::new(vec![
                    ResourceContents::text(text, uri).with_mime_type("application/json"),
                ]))
            }
            Err(e) => Err(McpError::resource_not_found(
                e.to_string(),
                Some(json!({"uri": uri})),
            )),
        };
    }
    Err(McpError::resource_not_found(
        format!(
            "unknown resource \"{uri}\": resources are module://{{name}} and conversation://{{id}}"
        ),
        Some(json!({"uri": uri})),
    ))
}

/// An unknown id is "resource not found"; anything else (the database
/// failing) is the server's error, not the caller's.
fn resource_error(error: HubError, uri: &str) -> McpError {
    let data = Some(json!({"uri": uri}));
    match error {
        e if e.is_server_fault() => McpError::internal_error(e.to_string(), data),
        // An unknown id, or a bad one (an ambiguous prefix): no resource.
        e => McpError::resource_not_found(e.to_string(), data),
    }
}
