//! Resources: `module://{name}` holds a module's descriptor as JSON.

use rmcp::ErrorData as McpError;
use rmcp::model::{
    ListResourceTemplatesResult, ListResourcesResult, PaginatedRequestParams, ReadResourceResult,
    Resource, ResourceContents, ResourceTemplate,
};
use serde_json::json;

use crate::hub::Hub;

const MODULE_SCHEME: &str = "module://";

pub(crate) fn list(
    hub: &Hub,
    _request: Option<PaginatedRequestParams>,
) -> Result<ListResourcesResult, McpError> {
    // A registry holds tens of modules: one page is enough.
    let resources = hub
        .list_modules(&Default::default())
        .modules
        .into_iter()
        .map(|m| {
            Resource::new(format!("{MODULE_SCHEME}{}", m.name), m.name.clone())
                .with_title(format!("Module {}", m.name))
                .with_description(m.description)
                .with_mime_type("application/json")
        })
        .collect();
    Ok(ListResourcesResult::with_all_items(resources))
}

pub(crate) fn templates() -> ListResourceTemplatesResult {
    ListResourceTemplatesResult::with_all_items(vec![
        ResourceTemplate::new(format!("{MODULE_SCHEME}{{name}}"), "module")
            .with_title("Module descriptor")
            .with_description("The descriptor of a module, as JSON")
            .with_mime_type("application/json"),
    ])
}

pub(crate) fn read(hub: &Hub, uri: &str) -> Result<ReadResourceResult, McpError> {
    if let Some(name) = uri.strip_prefix(MODULE_SCHEME) {
        return match hub.describe_module(name) {
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
        format!("unknown resource \"{uri}\": resources are module://{{name}}"),
        Some(json!({"uri": uri})),
    ))
}
