//! MCP tools, one file per concern. Each tool returns a short text for
//! people and `structuredContent` matching its declared output schema.

pub(crate) mod answers;
pub(crate) mod conversations;
pub(crate) mod instances;
pub(crate) mod jobs;
pub(crate) mod modules;
pub(crate) mod stats;

use rmcp::ErrorData as McpError;
use rmcp::model::{CallToolResult, ContentBlock};
use serde::Serialize;

use crate::hub::HubError;

/// A successful result: human text plus the structured value.
pub(crate) fn structured<T: Serialize>(
    text: String,
    value: &T,
) -> Result<CallToolResult, McpError> {
    let value = serde_json::to_value(value)
        .map_err(|e| McpError::internal_error(format!("cannot serialize result: {e}"), None))?;
    let mut result = CallToolResult::success(vec![ContentBlock::text(text)]);
    result.structured_content = Some(value);
    Ok(result)
}

/// A tool-level failure (`isError: true`) whose text says what was wrong,
/// so the calling model can correct itself; the server keeps serving.
pub(crate) fn failure(message: impl std::fmt::Display) -> CallToolResult {
    CallToolResult::error(vec![ContentBlock::text(message.to_string())])
}

/// A tool-level failure from the hub: its text for the model and, when a
/// face may branch on the kind of failure, that failure typed in `_meta`
/// (defined with the daemon's operations, which read it back).
pub(crate) fn hub_failure(error: HubError) -> CallToolResult {
    crate::hub::daemon_ops::failure_result(&error)
}

/// The result of a tool whose work is one hub call: its value with a text
/// made from it, or a tool-level failure saying what was wrong.
pub(crate) fn reply<T: Serialize>(
    result: Result<T, HubError>,
    text: impl FnOnce(&T) -> String,
) -> Result<CallToolResult, McpError> {
    match result {
        Ok(value) => structured(text(&value), &value),
        Err(e) => Ok(hub_failure(e)),
    }
}
