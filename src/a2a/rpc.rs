//! The JSON-RPC 2.0 envelope of A2A's JSON-RPC binding: reading a request
//! (every malformed case gets its own error, never a panic or a hang),
//! the A2A error codes, and writing results and errors.

use serde_json::{Value, json};

/// JSON-RPC's and A2A's error codes (A2A 1.0, "JSON-RPC error codes").
pub mod code {
    pub const PARSE_ERROR: i64 = -32700;
    pub const INVALID_REQUEST: i64 = -32600;
    pub const METHOD_NOT_FOUND: i64 = -32601;
    pub const INVALID_PARAMS: i64 = -32602;
    pub const INTERNAL: i64 = -32603;
    pub const TASK_NOT_FOUND: i64 = -32001;
    pub const TASK_NOT_CANCELABLE: i64 = -32002;
    pub const PUSH_NOT_SUPPORTED: i64 = -32003;
    pub const UNSUPPORTED_OPERATION: i64 = -32004;
    pub const CONTENT_TYPE_NOT_SUPPORTED: i64 = -32005;
    pub const VERSION_NOT_SUPPORTED: i64 = -32009;
}

/// A JSON-RPC error to answer with.
#[derive(Debug, Clone, PartialEq)]
pub struct RpcError {
    pub code: i64,
    pub message: String,
}

impl RpcError {
    pub fn new(code: i64, message: impl Into<String>) -> RpcError {
        RpcError {
            code,
            message: message.into(),
        }
    }

    pub fn invalid_params(message: impl Into<String>) -> RpcError {
        RpcError::new(code::INVALID_PARAMS, message)
    }

    pub fn unsupported(message: impl Into<String>) -> RpcError {
        RpcError::new(code::UNSUPPORTED_OPERATION, message)
    }
}

/// The methods served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    SendMessage,
    SendStreamingMessage,
    GetTask,
    CancelTask,
    SubscribeToTask,
}

impl Method {
    /// The 1.0 method an A2A 0.3 name stands for (answered in 0.3's JSON).
    pub fn of_0_3(name: &str) -> Option<Method> {
        Some(match name {
            "message/send" => Method::SendMessage,
            "message/stream" => Method::SendStreamingMessage,
            "tasks/get" => Method::GetTask,
            "tasks/cancel" => Method::CancelTask,
            "tasks/resubscribe" => Method::SubscribeToTask,
            _ => return None,
        })
    }

    /// The A2A 1.0 method of `name`, or why it is not served.
    pub fn of(name: &str) -> Result<Method, RpcError> {
        Ok(match name {
            "SendMessage" => Method::SendMessage,
            "SendStreamingMessage" => Method::SendStreamingMessage,
            "GetTask" => Method::GetTask,
            "CancelTask" => Method::CancelTask,
            "SubscribeToTask" => Method::SubscribeToTask,
            "CreateTaskPushNotificationConfig"
            | "GetTaskPushNotificationConfig"
            | "ListTaskPushNotificationConfigs"
            | "DeleteTaskPushNotificationConfig" => {
                return Err(RpcError::new(
                    code::PUSH_NOT_SUPPORTED,
                    format!(
                        "{name}: push notifications are not supported; stream the task (SendStreamingMessage, SubscribeToTask) or poll it (GetTask)"
                    ),
                ));
            }
            "ListTasks" | "GetExtendedAgentCard" => {
                return Err(RpcError::unsupported(format!(
                    "{name} is not supported by this server"
                )));
            }
            other => {
                return Err(RpcError::new(
                    code::METHOD_NOT_FOUND,
                    format!(
                        "unknown method {other:?}; the methods are SendMessage, SendStreamingMessage, GetTask, CancelTask, SubscribeToTask"
                    ),
                ));
            }
        })
    }
}

/// A request read from a body: its id (echoed in the answer), method and
/// params.
#[derive(Debug)]
pub struct Request {
    pub id: Value,
    pub method: Result<Method, RpcError>,
    pub params: Value,
    /// Asked by its A2A 0.3 name: answered in 0.3's JSON.
    pub legacy: bool,
}

/// Reads a JSON-RPC request. An error comes with the id to answer it
/// under (`null` when the id could not be read).
pub fn parse(body: &[u8]) -> Result<Request, (Value, RpcError)> {
    let value: Value = serde_json::from_slice(body).map_err(|e| {
        (
            Value::Null,
            RpcError::new(code::PARSE_ERROR, format!("the body is not JSON: {e}")),
        )
    })?;
    let Value::Object(mut object) = value else {
        let what = if value.is_array() {
            "a batch (an array); send one request per POST"
        } else {
            "not a JSON object"
        };
        return Err((
            Value::Null,
            RpcError::new(code::INVALID_REQUEST, format!("the request is {what}")),
        ));
    };
    let id = match object.remove("id") {
        Some(id @ (Value::String(_) | Value::Number(_))) => id,
        Some(Value::Null) | None => {
            return Err((
                Value::Null,
                RpcError::new(
                    code::INVALID_REQUEST,
                    "the request has no id (A2A has no notifications)",
                ),
            ));
        }
        Some(other) => {
            return Err((
                Value::Null,
                RpcError::new(
                    code::INVALID_REQUEST,
                    format!("the id must be a string or a number, not {other}"),
                ),
            ));
        }
    };
    if object.get("jsonrpc") != Some(&json!("2.0")) {
        return Err((
            id,
            RpcError::new(code::INVALID_REQUEST, "\"jsonrpc\" must be \"2.0\""),
        ));
    }
    let legacy = object
        .get("method")
        .and_then(Value::as_str)
        .and_then(Method::of_0_3);
    let method = match (object.get("method"), legacy) {
        (_, Some(method)) => Ok(method),
        (Some(Value::String(name)), None) => Method::of(name),
        _ => {
            return Err((
                id,
                RpcError::new(code::INVALID_REQUEST, "\"method\" must be a string"),
            ));
        }
    };
    let params = object.remove("params").unwrap_or(Value::Null);
    Ok(Request {
        id,
        method,
        params,
        legacy: legacy.is_some(),
    })
}

/// Reads `params` as `T`, naming the field that is wrong.
pub fn params<T: serde::de::DeserializeOwned>(params: Value) -> Result<T, RpcError> {
    if !params.is_object() {
        return Err(RpcError::invalid_params("params must be a JSON object"));
    }
    serde_path_to_error::deserialize(params).map_err(|e| {
        let path = e.path().to_string();
        RpcError::invalid_params(format!("params.{path}: {}", e.inner()))
    })
}

/// A success answer.
pub fn result(id: &Value, result: impl serde::Serialize) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "result": result})
}

/// An error answer.
pub fn error(id: &Value, error: &RpcError) -> Value {
    json!({"jsonrpc": "2.0", "id": id,
           "error": {"code": error.code, "message": error.message}})
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code_of(body: &str) -> i64 {
        parse(body.as_bytes()).unwrap_err().1.code
    }

    #[test]
    fn every_malformed_request_has_its_own_error() {
        assert_eq!(code_of("{"), code::PARSE_ERROR);
        assert_eq!(code_of("[]"), code::INVALID_REQUEST);
        assert_eq!(code_of("3"), code::INVALID_REQUEST);
        assert_eq!(
            code_of(r#"{"jsonrpc":"2.0","method":"GetTask"}"#),
            code::INVALID_REQUEST
        );
        assert_eq!(
            code_of(r#"{"jsonrpc":"1.0","id":1,"method":"GetTask"}"#),
            code::INVALID_REQUEST
        );
        assert_eq!(
            code_of(r#"{"jsonrpc":"2.0","id":1,"method":7}"#),
            code::INVALID_REQUEST
        );
        let old = parse(br#"{"jsonrpc":"2.0","id":2,"method":"message/send"}"#).unwrap();
        assert_eq!(
            (old.method.unwrap(), old.legacy),
            (Method::SendMessage, true)
        );
        let unknown = parse(br#"{"jsonrpc":"2.0","id":"a","method":"Nope"}"#).unwrap();
        assert_eq!(unknown.id, json!("a"));
        assert_eq!(unknown.method.unwrap_err().code, code::METHOD_NOT_FOUND);
    }

    #[test]
    fn a_wrong_param_is_named() {
        let e = params::<crate::a2a_link::wire::TaskIdParams>(json!({"id": 5})).unwrap_err();
        assert_eq!(e.code, code::INVALID_PARAMS);
        assert!(e.message.starts_with("params.id:"), "{}", e.message);
    }
}
