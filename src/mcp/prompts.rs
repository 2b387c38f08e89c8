//! Prompts: `ask_module`, a host-side prompt that helps the host's model
//! draft a good question to another module and send it.

use rmcp::ErrorData as McpError;
use rmcp::model::{
    GetPromptResult, ListPromptsResult, Prompt, PromptArgument, PromptMessage, Role,
};
use serde_json::json;

use crate::hub::Hub;

pub(crate) const ASK_MODULE: &str = "ask_module";

pub(crate) fn list() -> ListPromptsResult {
    ListPromptsResult::with_all_items(vec![Prompt::new(
        ASK_MODULE,
        Some(
            "Draft a question to another module (what it does, how it relates to yours, what it consumes and produces), then send it with send_message.",
        ),
        Some(vec![
            PromptArgument::new("target")
                .with_description("The module to ask, e.g. arangodb")
                .with_required(true),
            PromptArgument::new("topic")
                .with_description("What you need from it, in your own words")
                .with_required(true),
            PromptArgument::new("source")
                .with_description("The module you work in (default: the server's --module)")
                .with_required(false),
        ]),
    )])
}

pub(crate) fn get(
    hub: &Hub,
    name: &str,
    arguments: Option<&serde_json::Map<String, serde_json::Value>>,
) -> Result<GetPromptResult, McpError> {
    if name != ASK_MODULE {
        return Err(McpError::invalid_params(
            format!("unknown prompt \"{name}\" (prompts: {ASK_MODULE})"),
            None,
        ));
    }
    let arg = |key: &str| {
        arguments
            .and_then(|a| a.get(key))
            .and_then(|v| v.as_str())
            .map(str::trim)
            .filter(|s| !s.is_empty())
    };
    let missing = |key: &str| {
        McpError::invalid_params(
            format!("prompt {ASK_MODULE}: argument `{key}` is required"),
            Some(json!({"argument": key})),
        )
    };
    let target = arg("target").ok_or_else(|| missing("target"))?;
    let topic = arg("topic").ok_or_else(|| missing("topic"))?;
    let source = arg("source").or(hub.default_module());
    let details = hub
        .modules()
        .describe(target)
        .map_err(|e| McpError::invalid_params(format!("argument `target`: {e}"), None))?;
    let d = &details.descriptor;

    let mut text = format!(
        "I need something from the module `{target}`: {topic}\n\n\
         About {target}: {}\n",
        d.description
    );
    if !d.capabilities.is_empty() {
        text.push_str("\nWhat it can do:\n");
        for c in &d.capabilities {
            text.push_str(&format!(
                "- {}: {} (takes: {}; gives: {})\n",
                c.name,
                c.description,
                list_or_none(&c.inputs),
                list_or_none(&c.outputs)
            ));
        }
    }
    if let Some(source) = source {
        let relations = hub.modules().relationships_between(source, target);
        if !relations.is_empty() {
            text.push_str(&format!("\nHow {source} and {target} relate:\n"));
            for r in relations {
                text.push_str(&format!("- {r}\n"));
            }
        }
    }
    text.push_str(&format!(
        "\nDraft one clear, self-contained question for {target}'s agent: say what you are \
         trying to do, what data you have (use your own data-type names), and what answer \
         you need (an API, a format, a command, an example). Then call the `send_message` \
         tool with target \"{target}\"{} and that question. If the answer raises a follow-up, \
         send it with the returned conversation_id so the history is kept.",
        source
            .map(|s| format!(" and source \"{s}\""))
            .unwrap_or_default()
    ));
    Ok(
        GetPromptResult::new(vec![PromptMessage::new_text(Role::User, text)])
            .with_description(format!("Ask {target} about: {topic}")),
    )
}

fn list_or_none(items: &[String]) -> String {
    if items.is_empty() {
        "-".into()
    } else {
        items.join(", ")
    }
}
