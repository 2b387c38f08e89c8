//! Checks every request to the MCP endpoint (both faces) makes before rmcp's
//! service sees it, so a malformed one gets a clear 4xx, with a JSON-RPC
//! error body where one applies, and never reaches a handler:
//!
//! * framing a proxy and the server could read differently (both
//!   `Content-Length` and `Transfer-Encoding`, or `Content-Length` twice):
//!   400, since the two may disagree on where the request ends
//!   (RFC 9112 §6.1, request smuggling);
//! * a POST whose `Content-Type` is not JSON: 415;
//! * a POST body over the limit: 413; empty, not UTF-8 or not JSON: 400
//!   with a parse error (-32700, as JSON-RPC asks); a batch array, a
//!   non-object or an object that is not a JSON-RPC 2.0 message: 400 with
//!   invalid request (-32600) or invalid params (-32602), naming the field;
//! * a request on protocol 2026-07-28 (its `_meta` or its
//!   `MCP-Protocol-Version` header) for a method that revision removed:
//!   404 with method not found (-32601), as the revision asks.
//!
//! rmcp answers some of these itself, but with 415 and serde's words for
//! any body it cannot read, and 500 when the framing breaks.

use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rmcp::model::{ClientJsonRpcMessage, ClientRequest};

use crate::mcp::transport::params::problem as params_problem;
use crate::mcp::transport::removed;
use serde_json::{Value, json};

/// The largest request body accepted (rmcp's own default).
pub const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;

const PARSE_ERROR: i64 = -32700;
const INVALID_REQUEST: i64 = -32600;
const INVALID_PARAMS: i64 = -32602;
const METHOD_NOT_FOUND: i64 = -32601;

/// The header that names a request's protocol revision.
const PROTOCOL_VERSION_HEADER: &str = "mcp-protocol-version";

/// A refused request: its status and, for JSON-RPC errors, the code and id.
#[derive(Debug, PartialEq)]
pub struct Refusal {
    pub status: StatusCode,
    pub code: i64,
    pub id: Value,
    pub message: String,
}

impl Refusal {
    fn new(status: StatusCode, code: i64, message: impl Into<String>) -> Refusal {
        Refusal {
            status,
            code,
            id: Value::Null,
            message: message.into(),
        }
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let body = json!({
            "jsonrpc": "2.0",
            "id": self.id,
            "error": {"code": self.code, "message": self.message},
        });
        (
            self.status,
            [(header::CONTENT_TYPE, "application/json")],
            body.to_string(),
        )
            .into_response()
    }
}

/// The middleware.
pub async fn check_request(request: Request, next: Next) -> Response {
    if let Err(refusal) = check_framing(request.headers()) {
        return refusal.into_response();
    }
    if request.method() != Method::POST {
        return next.run(request).await;
    }
    if let Err(refusal) = check_content_type(request.headers()) {
        return refusal.into_response();
    }
    let (parts, body) = request.into_parts();
    let bytes = match axum::body::to_bytes(body, MAX_BODY_BYTES).await {
        Ok(bytes) => bytes,
        Err(e) => return body_unreadable(&e).into_response(),
    };
    let revision = parts
        .headers
        .get(PROTOCOL_VERSION_HEADER)
        .and_then(|v| v.to_str().ok());
    if let Err(refusal) = check_body(&bytes, revision) {
        return refusal.into_response();
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

/// Refuses framing headers that two HTTP parsers could read differently.
pub fn check_framing(headers: &HeaderMap) -> Result<(), Refusal> {
    let lengths = headers.get_all(header::CONTENT_LENGTH).iter().count();
    if headers.contains_key(header::TRANSFER_ENCODING) && lengths > 0 {
        return Err(Refusal::new(
            StatusCode::BAD_REQUEST,
            INVALID_REQUEST,
            "bad request: both Content-Length and Transfer-Encoding are set; send one of them",
        ));
    }
    if lengths > 1 {
        return Err(Refusal::new(
            StatusCode::BAD_REQUEST,
            INVALID_REQUEST,
            "bad request: Content-Length is given more than once",
        ));
    }
    Ok(())
}

fn check_content_type(headers: &HeaderMap) -> Result<(), Refusal> {
    let given = headers.get(header::CONTENT_TYPE).map(|v| {
        String::from_utf8_lossy(v.as_bytes())
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_string()
    });
    match given {
        Some(essence) if essence.eq_ignore_ascii_case("application/json") => Ok(()),
        Some(other) => Err(Refusal::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            INVALID_REQUEST,
            format!("Content-Type must be application/json, not \"{other}\""),
        )),
        None => Err(Refusal::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            INVALID_REQUEST,
            "Content-Type is missing; it must be application/json",
        )),
    }
}

fn body_unreadable(error: &axum::Error) -> Refusal {
    let too_large = std::error::Error::source(error)
        .is_some_and(|s| s.is::<http_body_util::LengthLimitError>())
        || error.to_string().contains("length limit");
    if too_large {
        Refusal::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            INVALID_REQUEST,
            format!("the request body is over {MAX_BODY_BYTES} bytes"),
        )
    } else {
        Refusal::new(
            StatusCode::BAD_REQUEST,
            PARSE_ERROR,
            format!("the request body could not be read: {error}"),
        )
    }
}

/// Checks that a POST body is one JSON-RPC 2.0 message rmcp can take;
/// `header_revision` is the request's `MCP-Protocol-Version` header.
pub fn check_body(bytes: &Bytes, header_revision: Option<&str>) -> Result<(), Refusal> {
    let bad = |code, message: String| Refusal::new(StatusCode::BAD_REQUEST, code, message);
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(bad(
            PARSE_ERROR,
            "parse error: the body is empty; a JSON-RPC message was expected".into(),
        ));
    }
    let text = std::str::from_utf8(bytes).map_err(|e| {
        bad(
            PARSE_ERROR,
            format!(
                "parse error: the body is not UTF-8 (invalid byte at offset {})",
                e.valid_up_to()
            ),
        )
    })?;
    let value: Value = serde_json::from_str(text).map_err(|e| {
        bad(
            PARSE_ERROR,
            format!("parse error: the body is not JSON: {e}"),
        )
    })?;
    let object = match &value {
        Value::Object(object) => object,
        Value::Array(_) => {
            return Err(bad(
                INVALID_REQUEST,
                "invalid request: batches (JSON arrays) are not supported; send one message per request".into(),
            ));
        }
        other => {
            return Err(bad(
                INVALID_REQUEST,
                format!(
                    "invalid request: a JSON-RPC message is an object, not {}",
                    crate::mcp::transport::params::kind(other)
                ),
            ));
        }
    };
    let id = match object.get("id") {
        None => Value::Null,
        Some(id @ (Value::String(_) | Value::Number(_))) => id.clone(),
        Some(other) => {
            return Err(bad(
                INVALID_REQUEST,
                format!(
                    "invalid request: \"id\" must be a string or a number, not {}",
                    crate::mcp::transport::params::kind(other)
                ),
            ));
        }
    };
    let with_id = |code, message: String| Refusal {
        id: id.clone(),
        ..bad(code, message)
    };
    if object.get("jsonrpc") != Some(&json!("2.0")) {
        return Err(with_id(
            INVALID_REQUEST,
            "invalid request: \"jsonrpc\" must be \"2.0\"".into(),
        ));
    }
    let is_call = match object.get("method") {
        Some(Value::String(_)) => true,
        Some(other) => {
            return Err(with_id(
                INVALID_REQUEST,
                format!(
                    "invalid request: \"method\" must be a string, not {}",
                    crate::mcp::transport::params::kind(other)
                ),
            ));
        }
        None if object.contains_key("result") || object.contains_key("error") => false,
        None => {
            return Err(with_id(
                INVALID_REQUEST,
                "invalid request: neither a request (\"method\") nor a response (\"result\" or \"error\")".into(),
            ));
        }
    };
    let params = object.get("params").cloned().unwrap_or(Value::Null);
    let method = object
        .get("method")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let revision = removed::meta_revision(&params).or(header_revision);
    if let Some(message) = removed::removed_method(&method, revision) {
        return Err(Refusal {
            status: StatusCode::NOT_FOUND,
            ..with_id(METHOD_NOT_FOUND, message)
        });
    }
    let invalid_params = |why: String| {
        with_id(
            INVALID_PARAMS,
            format!("invalid params for {method}: {why}"),
        )
    };
    match serde_path_to_error::deserialize::<_, ClientJsonRpcMessage>(&value) {
        // rmcp takes a standard method whose params do not fit as a custom
        // one (and answers "method not found"); the params are what is wrong.
        Ok(ClientJsonRpcMessage::Request(request)) => match &request.request {
            ClientRequest::CustomRequest(custom) => match params_problem(&custom.method, params) {
                Some(why) => Err(invalid_params(why)),
                None => Ok(()),
            },
            _ => Ok(()),
        },
        Ok(_) => Ok(()),
        Err(e) if is_call => Err(invalid_params(
            params_problem(&method, params).unwrap_or_else(|| e.to_string()),
        )),
        Err(e) => Err(with_id(INVALID_REQUEST, format!("invalid response: {e}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(body: &str) -> Refusal {
        check_body(&Bytes::from(body.to_string()), None).expect_err(body)
    }

    #[test]
    fn bodies_that_are_not_one_json_rpc_message_get_the_json_rpc_error() {
        for (body, code, words) in [
            ("", PARSE_ERROR, "empty"),
            ("  \n", PARSE_ERROR, "empty"),
            (
                r#"{"jsonrpc": "2.0", "id": 1, "meth"#,
                PARSE_ERROR,
                "not JSON",
            ),
            ("[]", INVALID_REQUEST, "batches"),
            (
                r#"[{"jsonrpc": "2.0", "id": 1, "method": "ping"}]"#,
                INVALID_REQUEST,
                "batches",
            ),
            ("42", INVALID_REQUEST, "not a number"),
            (r#""ping""#, INVALID_REQUEST, "not a string"),
            (
                r#"{"id": 1, "method": "ping"}"#,
                INVALID_REQUEST,
                "\"jsonrpc\"",
            ),
            (
                r#"{"jsonrpc": "1.0", "id": 1, "method": "ping"}"#,
                INVALID_REQUEST,
                "\"jsonrpc\"",
            ),
            (
                r#"{"jsonrpc": "2.0", "id": {}, "method": "ping"}"#,
                INVALID_REQUEST,
                "\"id\"",
            ),
            (
                r#"{"jsonrpc": "2.0", "id": 1, "method": 5}"#,
                INVALID_REQUEST,
                "\"method\"",
            ),
            (r#"{"jsonrpc": "2.0", "id": 1}"#, INVALID_REQUEST, "neither"),
        ] {
            let refusal = refused(body);
            assert_eq!(refusal.status, StatusCode::BAD_REQUEST, "{body}");
            assert_eq!(refusal.code, code, "{body}: {refusal:?}");
            assert!(refusal.message.contains(words), "{body}: {refusal:?}");
        }
    }

    #[test]
    fn bad_utf8_is_a_parse_error_naming_the_offset() {
        let refusal = check_body(&Bytes::from_static(b"{\"a\": \"\xff\"}"), None).unwrap_err();
        assert_eq!(refusal.code, PARSE_ERROR);
        assert!(refusal.message.contains("offset 7"), "{refusal:?}");
    }

    #[test]
    fn a_known_method_with_params_of_the_wrong_shape_names_the_field() {
        let refusal = refused(
            r#"{"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": 5}}"#,
        );
        assert_eq!(refusal.code, INVALID_PARAMS, "{refusal:?}");
        assert_eq!(refusal.id, json!(3));
    }

    #[test]
    fn well_formed_messages_pass() {
        for body in [
            r#"{"jsonrpc": "2.0", "id": 1, "method": "ping"}"#,
            r#"{"jsonrpc": "2.0", "method": "notifications/initialized"}"#,
            r#"{"jsonrpc": "2.0", "id": "a", "method": "some/custom", "params": {}}"#,
            r#"{"jsonrpc": "2.0", "id": 1, "result": {}}"#,
        ] {
            assert_eq!(check_body(&Bytes::from(body), None), Ok(()), "{body}");
        }
    }

    #[test]
    fn methods_removed_in_2026_07_28_are_not_found_there_only() {
        let initialize = r#"{"jsonrpc": "2.0", "id": 4, "method": "initialize", "params": {"_meta": {"io.modelcontextprotocol/protocolVersion": "2026-07-28"}}}"#;
        let refusal = refused(initialize);
        assert_eq!(refusal.status, StatusCode::NOT_FOUND, "{refusal:?}");
        assert_eq!(refusal.code, METHOD_NOT_FOUND, "{refusal:?}");
        assert_eq!(refusal.id, json!(4));
        // The header alone names the revision too.
        let subscribe = r#"{"jsonrpc": "2.0", "id": 5, "method": "resources/subscribe", "params": {"uri": "module://marker"}}"#;
        let refusal = check_body(&Bytes::from(subscribe), Some("2026-07-28")).unwrap_err();
        assert_eq!(refusal.status, StatusCode::NOT_FOUND, "{refusal:?}");
        // On 2025-11-25 it is a method like any other.
        assert_eq!(
            check_body(&Bytes::from(subscribe), Some("2025-11-25")),
            Ok(())
        );
    }

    #[test]
    fn ambiguous_framing_is_refused() {
        let mut both = HeaderMap::new();
        both.insert(header::CONTENT_LENGTH, "5".parse().unwrap());
        both.insert(header::TRANSFER_ENCODING, "chunked".parse().unwrap());
        assert!(check_framing(&both).is_err());
        let mut twice = HeaderMap::new();
        twice.append(header::CONTENT_LENGTH, "5".parse().unwrap());
        twice.append(header::CONTENT_LENGTH, "5".parse().unwrap());
        assert!(check_framing(&twice).is_err());
        let mut one = HeaderMap::new();
        one.insert(header::CONTENT_LENGTH, "5".parse().unwrap());
        assert_eq!(check_framing(&one), Ok(()));
    }
}
