//! Why the params of a standard MCP request do not fit its method.
//!
//! rmcp decodes requests into an untagged enum: when a standard method's
//! params do not fit, the request silently becomes a "custom" one, which
//! rmcp then answers as an unknown method (or, before `initialize`, as a
//! request missing its metadata). The truth is that the params are wrong,
//! and the caller should hear which field and why.

// The legacy methods (resources/subscribe, logging/setLevel) are deprecated
// in rmcp but still what hosts on protocol 2025-11-25 send.
#![allow(deprecated)]

use rmcp::model::{
    CallToolRequest, CancelTaskRequest, CompleteRequest, ConstString, DiscoverRequest,
    GetPromptRequest, GetSkillRequest, GetTaskRequest, InitializeRequest, ListPromptsRequest,
    ListResourceTemplatesRequest, ListResourcesRequest, ListSkillsRequest, ListToolsRequest,
    PingRequest, ReadResourceDirectoryRequest, ReadResourceRequest, Request, RequestNoParam,
    RequestOptionalParam, SetLevelRequest, SubscribeRequest, SubscriptionsListenRequest,
    UnsubscribeRequest, UpdateTaskRequest,
};
use serde::de::DeserializeOwned;
use serde_json::Value;

/// A typed rmcp request: its method name and a check of its params.
trait TypedRequest {
    fn method() -> &'static str;
    /// `None` when `params` fit, otherwise the field and the reason.
    fn params_problem(params: Value) -> Option<String>;
}

impl<M: ConstString, P: DeserializeOwned> TypedRequest for Request<M, P> {
    fn method() -> &'static str {
        M::VALUE
    }
    fn params_problem(params: Value) -> Option<String> {
        if params.is_null() {
            return Some("params are missing".into());
        }
        decode_problem::<P>(params)
    }
}

impl<M: ConstString, P: DeserializeOwned> TypedRequest for RequestOptionalParam<M, P> {
    fn method() -> &'static str {
        M::VALUE
    }
    fn params_problem(params: Value) -> Option<String> {
        if params.is_null() {
            return None;
        }
        decode_problem::<P>(params)
    }
}

impl<M: ConstString> TypedRequest for RequestNoParam<M> {
    fn method() -> &'static str {
        M::VALUE
    }
    fn params_problem(params: Value) -> Option<String> {
        (!params.is_null() && !params.is_object())
            .then(|| format!("params must be an object, got {}", kind(&params)))
    }
}

/// Serde's reason, prefixed with the path of the field it is about.
fn decode_problem<P: DeserializeOwned>(params: Value) -> Option<String> {
    if !params.is_object() {
        return Some(format!("params must be an object, got {}", kind(&params)));
    }
    let mut params = params;
    // `_meta` is taken out by rmcp before the params are decoded.
    if let Some(object) = params.as_object_mut() {
        object.remove("_meta");
    }
    let error = serde_path_to_error::deserialize::<_, P>(params).err()?;
    let path = error.path().to_string();
    let inner = error.into_inner();
    Some(if path.is_empty() || path == "." {
        inner.to_string()
    } else {
        format!("field `{path}`: {inner}")
    })
}

/// What a JSON value is, in words for an error message ("a string").
pub(crate) fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

macro_rules! standard_requests {
    ($($request:ty),* $(,)?) => {
        /// The problem with `params` when `method` is one of rmcp's typed
        /// client requests; `None` for any other method (rmcp routes those).
        pub(crate) fn problem(method: &str, params: Value) -> Option<String> {
            $(
                if method == <$request as TypedRequest>::method() {
                    return Some(<$request as TypedRequest>::params_problem(params)
                        .unwrap_or_else(|| "they do not match the method's parameters".into()));
                }
            )*
            None
        }
    };
}

// Every variant of rmcp's `ClientRequest` but `CustomRequest`.
standard_requests!(
    PingRequest,
    InitializeRequest,
    DiscoverRequest,
    CompleteRequest,
    SetLevelRequest,
    GetPromptRequest,
    ListPromptsRequest,
    ListResourcesRequest,
    ListResourceTemplatesRequest,
    ReadResourceRequest,
    SubscriptionsListenRequest,
    SubscribeRequest,
    UnsubscribeRequest,
    CallToolRequest,
    ListToolsRequest,
    GetTaskRequest,
    UpdateTaskRequest,
    CancelTaskRequest,
    ListSkillsRequest,
    GetSkillRequest,
    ReadResourceDirectoryRequest,
);

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_the_field_that_does_not_fit() {
        let missing = problem(
            "initialize",
            json!({"capabilities": {}, "clientInfo": {"name": "x", "version": "0"}}),
        )
        .unwrap();
        assert!(missing.contains("protocolVersion"), "{missing}");
        let number = problem(
            "initialize",
            json!({"protocolVersion": 5, "capabilities": {}, "clientInfo": {"name": "x", "version": "0"}}),
        )
        .unwrap();
        assert!(number.contains("protocolVersion"), "{number}");
        let uri = problem("resources/read", json!({"uri": 7})).unwrap();
        assert!(uri.contains("uri"), "{uri}");
        assert!(problem("tools/call", json!(5)).unwrap().contains("object"));
        assert_eq!(problem("frobnicate/now", json!({})), None);
    }
}
