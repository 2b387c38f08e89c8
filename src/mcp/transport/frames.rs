//! What to do with one line from the host: hand it to rmcp, answer it here,
//! or drop it.
//!
//! This answers only what rmcp cannot: lines it would drop silently (not
//! JSON, not JSON-RPC, an id it cannot represent), standard methods whose
//! params do not fit (rmcp would call them unknown), a second request with
//! the id of one still in flight (rmcp would run both and lose one answer),
//! and anything but `initialize`/`ping` before the session exists (rmcp
//! would end the whole session on a stray notification or response).
//! Method routing, unknown methods included, is rmcp's.

use rmcp::RoleServer;
use rmcp::model::{ClientRequest, GetMeta, JsonRpcMessage, ProtocolVersion, RequestId};
use rmcp::service::RxJsonRpcMessage;
use serde_json::{Map, Value, json};

use super::in_flight::InFlight;
use super::{Line, MAX_LINE_BYTES};

pub(super) enum Frame {
    /// A message for rmcp.
    Message(Box<RxJsonRpcMessage<RoleServer>>),
    /// An error response to write back at once.
    Reply(Value),
    /// Nothing to do (blank line, or a message that gets no answer).
    Ignore(&'static str),
}

fn error_frame(id: Option<&Value>, code: i64, message: String) -> Frame {
    let id = id.cloned().unwrap_or(Value::Null);
    Frame::Reply(json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}}))
}

fn invalid_request(id: Option<&Value>, why: impl std::fmt::Display) -> Frame {
    error_frame(id, -32600, format!("Invalid Request: {why}"))
}

/// Sorts lines into frames; remembers whether the session has started.
pub(super) struct Classifier {
    /// Set once an `initialize` request (or, on protocol 2026-07-28, a
    /// request carrying complete per-request metadata) went to rmcp.
    /// Before that, rmcp accepts only requests and ends the session on
    /// anything else.
    started: bool,
    supported_versions: Vec<ProtocolVersion>,
}

impl Classifier {
    pub(super) fn new(supported_versions: Vec<ProtocolVersion>) -> Classifier {
        Classifier {
            started: false,
            supported_versions,
        }
    }

    pub(super) fn classify(&mut self, line: Line, in_flight: &InFlight) -> Frame {
        let value = match parse(line) {
            Ok(Some(value)) => value,
            Ok(None) => return Frame::Ignore("blank line"),
            Err(frame) => return frame,
        };
        let Value::Object(object) = value else {
            let why = if value.is_array() {
                "batches are not supported by MCP; send one message per line"
            } else {
                "a JSON-RPC message must be an object"
            };
            return invalid_request(None, why);
        };
        let (id, request_id) = match object.get("id") {
            None => (None, None),
            Some(raw) => match request_id(raw) {
                Some(parsed) => (Some(raw.clone()), Some(parsed)),
                None => {
                    return invalid_request(
                        None,
                        format!(
                            "\"id\" must be a string or an integer between {} and {}, got {raw}",
                            i64::MIN,
                            i64::MAX
                        ),
                    );
                }
            },
        };
        if object.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
            let got = object
                .get("jsonrpc")
                .map(Value::to_string)
                .unwrap_or_else(|| "nothing".into());
            return invalid_request(
                id.as_ref(),
                format!("\"jsonrpc\" must be \"2.0\", got {got}"),
            );
        }
        match (object.get("method"), request_id) {
            (Some(Value::String(method)), Some(request_id)) => {
                let method = method.clone();
                self.request(object, &method, id.as_ref(), request_id, in_flight)
            }
            (Some(Value::String(method)), None) => {
                let method = method.clone();
                self.notification(object, &method, in_flight)
            }
            (Some(_), _) => invalid_request(id.as_ref(), "\"method\" must be a string"),
            (None, Some(_)) if object.contains_key("result") || object.contains_key("error") => {
                self.response(object)
            }
            // An error without an id answers nothing we could route.
            (None, None) if object.contains_key("error") => {
                Frame::Ignore("an error response without an id")
            }
            (None, _) => invalid_request(
                id.as_ref(),
                "a message needs a \"method\" (a request or notification), or an \"id\" with a \
                 \"result\" or \"error\" (a response)",
            ),
        }
    }

    fn request(
        &mut self,
        object: Map<String, Value>,
        method: &str,
        id: Option<&Value>,
        request_id: RequestId,
        in_flight: &InFlight,
    ) -> Frame {
        if in_flight.contains(&request_id) {
            return invalid_request(
                id,
                format!(
                    "a request with id {} is still in flight; wait for its answer or use another id",
                    id.cloned().unwrap_or(Value::Null)
                ),
            );
        }
        let params = object.get("params").cloned().unwrap_or(Value::Null);
        let revision = super::removed::meta_revision(&params);
        if let Some(message) = super::removed::removed_method(method, revision) {
            return error_frame(id, -32601, message);
        }
        let checked_params = params.clone();
        let request = match serde_json::from_value::<RxJsonRpcMessage<RoleServer>>(object.into()) {
            Ok(JsonRpcMessage::Request(request)) => request,
            Ok(_) => return invalid_request(id, "not a request"),
            Err(e) => {
                let why = super::params::problem(method, params).unwrap_or_else(|| e.to_string());
                return error_frame(id, -32602, format!("Invalid params for {method}: {why}"));
            }
        };
        if let ClientRequest::CustomRequest(custom) = &request.request
            && let Some(problem) = super::params::problem(&custom.method, checked_params)
        {
            return error_frame(
                id,
                -32602,
                format!("Invalid params for {method}: {problem}"),
            );
        }
        if !self.started {
            match &request.request {
                ClientRequest::InitializeRequest(_) => self.started = true,
                ClientRequest::PingRequest(_) => {}
                other => {
                    let meta = other.get_meta();
                    let missing = meta.missing_required_keys(&ProtocolVersion::V_2026_07_28);
                    if !missing.is_empty() {
                        return invalid_request(
                            id,
                            format!(
                                "`{method}` before `initialize`: send `initialize` first (on \
                                 protocol 2026-07-28 and later, give every request a `_meta` \
                                 with {})",
                                missing.join(" and ")
                            ),
                        );
                    }
                    // rmcp starts the session on such a request unless it is
                    // a discovery probe or asks for a version we do not speak.
                    let starts = !matches!(other, ClientRequest::DiscoverRequest(_))
                        && meta
                            .protocol_version()
                            .is_some_and(|v| self.supported_versions.contains(&v));
                    self.started |= starts;
                }
            }
        }
        if matches!(
            request.request,
            ClientRequest::SubscriptionsListenRequest(_)
        ) {
            in_flight.add_open_ended(request_id.clone());
        } else {
            in_flight.add(request_id.clone());
        }
        Frame::Message(Box::new(JsonRpcMessage::Request(request)))
    }

    fn notification(
        &mut self,
        object: Map<String, Value>,
        method: &str,
        in_flight: &InFlight,
    ) -> Frame {
        if !self.started {
            tracing::warn!(method, "ignoring a notification sent before `initialize`");
            return Frame::Ignore("a notification before initialize");
        }
        // A cancelled request is never answered (rmcp drops its result):
        // it is no longer in flight, and its id may be used again.
        if method == "notifications/cancelled"
            && let Some(cancelled) = object
                .get("params")
                .and_then(|p| p.get("requestId"))
                .and_then(request_id)
        {
            in_flight.answered(&cancelled);
        }
        match serde_json::from_value::<RxJsonRpcMessage<RoleServer>>(object.into()) {
            Ok(message) => Frame::Message(Box::new(message)),
            // A notification never gets an answer, even a broken one.
            Err(e) => {
                tracing::warn!(method, error = %e, "ignoring a malformed notification");
                Frame::Ignore("a malformed notification")
            }
        }
    }

    fn response(&mut self, object: Map<String, Value>) -> Frame {
        if !self.started {
            tracing::warn!("ignoring a response sent before `initialize`");
            return Frame::Ignore("a response before initialize");
        }
        match serde_json::from_value::<RxJsonRpcMessage<RoleServer>>(object.into()) {
            Ok(message) => Frame::Message(Box::new(message)),
            Err(e) => {
                tracing::warn!(error = %e, "ignoring a malformed response");
                Frame::Ignore("a malformed response")
            }
        }
    }
}

/// The id as rmcp represents it, or `None` when it cannot (not a string or
/// number, a fraction, or an integer beyond 64 signed bits).
fn request_id(raw: &Value) -> Option<RequestId> {
    match raw {
        Value::String(_) | Value::Number(_) => serde_json::from_value(raw.clone()).ok(),
        _ => None,
    }
}

/// The line as JSON: `Ok(None)` for a blank line, `Err` with the error
/// frame for text that is too long, not UTF-8 or not JSON.
fn parse(line: Line) -> Result<Option<Value>, Frame> {
    let bytes = match line {
        Line::TooLong(n) => {
            return Err(invalid_request(
                None,
                format!("message of {n} bytes exceeds the limit of {MAX_LINE_BYTES} bytes"),
            ));
        }
        Line::Bytes(bytes) => bytes,
    };
    let text = std::str::from_utf8(&bytes).map_err(|e| {
        error_frame(
            None,
            -32700,
            format!("Parse error: invalid UTF-8 at byte {}", e.valid_up_to()),
        )
    })?;
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    serde_json::from_str(text).map(Some).map_err(|e| {
        // Keep the caller's id when the line still shows it (a message that
        // is well formed but nested too deep, say), so its host is not left
        // waiting for an answer that will never name its request.
        error_frame(
            top_level_id(text).as_ref(),
            -32700,
            format!("Parse error: {e}"),
        )
    })
}

/// The `id` member of a JSON object's top level, read without parsing the
/// rest (which may be what failed): a number or a string, else `None`.
fn top_level_id(text: &str) -> Option<Value> {
    let bytes = text.as_bytes();
    let (mut depth, mut i) = (0usize, 0usize);
    while i < bytes.len() {
        match bytes[i] {
            b'{' | b'[' => depth += 1,
            b'}' | b']' => depth = depth.saturating_sub(1),
            b'"' => {
                let start = i;
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                let key = text.get(start..=i.min(bytes.len() - 1)).unwrap_or("");
                let value = text
                    .get(i + 1..)
                    .and_then(|rest| rest.trim_start().strip_prefix(':'));
                if depth == 1
                    && key == "\"id\""
                    && let Some(rest) = value
                {
                    let rest = rest.trim_start();
                    let end = rest.find([',', '}']).unwrap_or(rest.len());
                    return serde_json::from_str::<Value>(rest[..end].trim())
                        .ok()
                        .filter(|v| v.is_number() || v.is_string());
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}
