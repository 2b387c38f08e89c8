//! `completion/complete`: suggestions for the arguments a host's user types
//! by hand. Module names for the `target` and `source` of the `ask_module`
//! prompt and the `{name}` of `module://`, conversation ids for the `{id}`
//! of `conversation://` (only the caller's own: a module token is offered
//! only the conversations its module takes part in, as it may read only
//! those). A prompt or template we do not have is an error that names it,
//! as `prompts/get` and `resources/read` answer; an argument without
//! suggestions (the prompt's free-text `topic`) gets none.

use rmcp::ErrorData as McpError;
use rmcp::model::{CompleteRequestParams, CompleteResult, CompletionInfo, Reference};
use serde_json::json;

use super::prompts::ASK_MODULE;
use super::resources::CONVERSATION_SCHEME;
use crate::hub::{Caller, ConversationFilter, Hub};

const MODULE_TEMPLATE: &str = "module://{name}";
const CONVERSATION_TEMPLATE: &str = "conversation://{id}";

/// The most recent conversations whose ids are offered (the store's
/// largest page); older ones are still reachable by typing their id.
const CONVERSATIONS_SEARCHED: usize = 500;

/// What an argument is completed from.
enum Source {
    Modules,
    Conversations,
    Nothing,
}

pub(crate) async fn complete(
    hub: &Hub,
    caller: &Caller,
    request: &CompleteRequestParams,
) -> Result<CompleteResult, McpError> {
    let argument = request.argument.name.as_str();
    let source = match &request.r#ref {
        Reference::Prompt(prompt) if prompt.name == ASK_MODULE => match argument {
            "target" | "source" => Source::Modules,
            "topic" => Source::Nothing,
            other => return Err(unknown_argument(other, &format!("prompt {ASK_MODULE}"))),
        },
        Reference::Prompt(prompt) => {
            return Err(McpError::invalid_params(
                format!("unknown prompt \"{}\" (prompts: {ASK_MODULE})", prompt.name),
                Some(json!({"prompt": prompt.name})),
            ));
        }
        Reference::Resource(template) => match (template.uri.as_str(), argument) {
            (MODULE_TEMPLATE, "name") => Source::Modules,
            (CONVERSATION_TEMPLATE, "id") => Source::Conversations,
            (MODULE_TEMPLATE | CONVERSATION_TEMPLATE, other) => {
                return Err(unknown_argument(other, &template.uri));
            }
            (uri, _) => {
                return Err(McpError::invalid_params(
                    format!(
                        "unknown resource template \"{uri}\" (templates: {MODULE_TEMPLATE}, {CONVERSATION_TEMPLATE})"
                    ),
                    Some(json!({"uri": uri})),
                ));
            }
        },
        other => {
            return Err(McpError::invalid_params(
                format!(
                    "cannot complete a reference of type \"{}\" (ref/prompt and ref/resource can be)",
                    other.reference_type()
                ),
                None,
            ));
        }
    };
    let candidates = match source {
        Source::Modules => hub
            .modules()
            .list(&Default::default())
            .modules
            .into_iter()
            .map(|m| m.name)
            .collect(),
        Source::Conversations => conversation_ids(hub, caller).await?,
        Source::Nothing => Vec::new(),
    };
    Ok(CompleteResult::new(matching(
        candidates,
        &request.argument.value,
    )?))
}

async fn conversation_ids(hub: &Hub, caller: &Caller) -> Result<Vec<String>, McpError> {
    let page = hub
        .conversations()
        .list(ConversationFilter {
            limit: CONVERSATIONS_SEARCHED,
            module: caller.module().map(str::to_string),
            ..Default::default()
        })
        .await
        .map_err(|e| McpError::internal_error(e.to_string(), None))?;
    Ok(page.conversations.into_iter().map(|c| c.id).collect())
}

/// The candidates that start with what was typed (case-insensitively; a
/// pasted `conversation://` prefix is ignored), in order, at most the 100
/// the protocol allows, with the total and whether more were left out.
fn matching(candidates: Vec<String>, typed: &str) -> Result<CompletionInfo, McpError> {
    let typed = typed.trim();
    let typed = typed
        .strip_prefix(CONVERSATION_SCHEME)
        .unwrap_or(typed)
        .to_lowercase();
    let all: Vec<String> = candidates
        .into_iter()
        .filter(|c| c.to_lowercase().starts_with(&typed))
        .collect();
    let total = all.len();
    let values: Vec<String> = all.into_iter().take(CompletionInfo::MAX_VALUES).collect();
    let has_more = values.len() < total;
    let total = u32::try_from(total).unwrap_or(u32::MAX);
    // Cannot fail: `values` holds at most MAX_VALUES.
    CompletionInfo::with_pagination(values, Some(total), has_more)
        .map_err(|e| McpError::internal_error(e, None))
}

fn unknown_argument(name: &str, of: &str) -> McpError {
    McpError::invalid_params(
        format!("{of} has no argument \"{name}\" to complete"),
        Some(json!({"argument": name})),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions_start_with_what_was_typed_and_stop_at_one_hundred() {
        let names = vec!["arangodb".to_string(), "Marker".into(), "mailer".into()];
        let found = matching(names.clone(), "ma").unwrap();
        assert_eq!(found.values, ["Marker", "mailer"]);
        assert_eq!((found.total, found.has_more), (Some(2), Some(false)));
        assert_eq!(matching(names, "").unwrap().values.len(), 3);
        let many: Vec<String> = (0..150).map(|i| format!("c{i:03}")).collect();
        let found = matching(many, "conversation://c").unwrap();
        assert_eq!(found.values.len(), 100);
        assert_eq!((found.total, found.has_more), (Some(150), Some(true)));
    }
}
