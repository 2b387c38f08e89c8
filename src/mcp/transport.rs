//! The stdio transport of `serve`: newline-delimited JSON-RPC on stdin and
//! stdout, built from three parts joined by channels (reader task, the rmcp
//! service, writer task) so that end of stdin shuts everything down on its own.
//!
//! rmcp's own stdio transport silently drops a line that is not JSON, which
//! leaves a host waiting forever for an answer. JSON-RPC 2.0 asks for an
//! error response instead, so the reader checks every line first and answers
//! what rmcp would not: `-32700` for unparsable text, `-32600` for JSON that
//! is not a JSON-RPC 2.0 message, `-32601` for unknown methods.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rmcp::RoleServer;
use rmcp::service::{RxJsonRpcMessage, TxJsonRpcMessage};
use rmcp::transport::Transport;
use serde_json::{Value, json};
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::{Notify, mpsc};

/// Longest line accepted; longer ones are answered with an error and skipped
/// without being held in memory. 16 MiB leaves room for a 10 MB message after
/// JSON escaping, far beyond what any real request needs.
pub const MAX_LINE_BYTES: usize = 16 * 1024 * 1024;

/// Lines the writer may hold before senders wait; 128 is plenty for one host.
const CHANNEL_CAPACITY: usize = 128;

/// Methods a client may send. A request for anything else gets `-32601`
/// here, because rmcp would fail to decode it and drop it silently.
const KNOWN_METHODS: &[&str] = &[
    "initialize",
    "ping",
    "tools/list",
    "tools/call",
    "resources/list",
    "resources/templates/list",
    "resources/read",
    "resources/subscribe",
    "resources/unsubscribe",
    "prompts/list",
    "prompts/get",
    "completion/complete",
    "logging/setLevel",
    "notifications/initialized",
    "notifications/cancelled",
    "notifications/progress",
    "notifications/roots/list_changed",
];

/// How long, after stdin ends, requests already received may take to be
/// answered before the session closes anyway. Their work is stored either
/// way; this only lets a host that closed stdin early read the answers.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

pub struct StdioFrames {
    incoming: mpsc::Receiver<RxJsonRpcMessage<RoleServer>>,
    outgoing: mpsc::Sender<String>,
    unanswered: Arc<Unanswered>,
    drain_deadline: Option<tokio::time::Instant>,
    /// Cancelled when the session closes or drops the transport: the reader
    /// stops then, even though stdin is still open (after a signal), so the
    /// writer can finish with the last frames.
    closed: tokio_util::sync::CancellationToken,
}

impl Drop for StdioFrames {
    fn drop(&mut self) {
        self.closed.cancel();
    }
}

/// Ids of requests received but not yet answered.
#[derive(Default)]
struct Unanswered {
    ids: Mutex<HashSet<String>>,
    changed: Notify,
}

impl Unanswered {
    fn add(&self, id: &Value) {
        self.ids
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id.to_string());
    }

    fn answered(&self, id: &Value) {
        self.ids
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&id.to_string());
        self.changed.notify_waiters();
    }

    fn is_empty(&self) -> bool {
        self.ids
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_empty()
    }
}

impl StdioFrames {
    /// Starts the reader and writer tasks on the given streams (stdin and
    /// stdout in `serve`; in-memory pipes in tests).
    ///
    /// The returned handle finishes once every frame has been written; await
    /// it after the session ends so no answer is lost at exit.
    pub fn spawn<R, W>(reader: R, writer: W) -> (StdioFrames, tokio::task::JoinHandle<()>)
    where
        R: AsyncBufRead + Unpin + Send + 'static,
        W: AsyncWrite + Unpin + Send + 'static,
    {
        let (in_tx, in_rx) = mpsc::channel(CHANNEL_CAPACITY);
        let (out_tx, out_rx) = mpsc::channel(CHANNEL_CAPACITY);
        let unanswered = Arc::new(Unanswered::default());
        let closed = tokio_util::sync::CancellationToken::new();
        let written = tokio::spawn(write_lines(writer, out_rx));
        let reading = read_lines(reader, in_tx, out_tx.clone(), unanswered.clone());
        let stop_reading = closed.clone();
        tokio::spawn(async move {
            tokio::select! {
                _ = reading => {}
                _ = stop_reading.cancelled() => {}
            }
        });
        let frames = StdioFrames {
            incoming: in_rx,
            outgoing: out_tx,
            unanswered,
            drain_deadline: None,
            closed,
        };
        (frames, written)
    }
}

impl Transport<RoleServer> for StdioFrames {
    type Error = std::io::Error;

    fn send(
        &mut self,
        item: TxJsonRpcMessage<RoleServer>,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send + 'static {
        let outgoing = self.outgoing.clone();
        let unanswered = self.unanswered.clone();
        async move {
            let value = serde_json::to_value(&item).map_err(std::io::Error::other)?;
            let line = value.to_string();
            let sent = outgoing
                .send(line)
                .await
                .map_err(|_| std::io::Error::new(std::io::ErrorKind::BrokenPipe, "stdout closed"));
            // A response or error (an id without a method) answers a request.
            if value.get("method").is_none()
                && let Some(id) = value.get("id")
            {
                unanswered.answered(id);
            }
            sent
        }
    }

    async fn receive(&mut self) -> Option<RxJsonRpcMessage<RoleServer>> {
        if let Some(message) = self.incoming.recv().await {
            return Some(message);
        }
        // stdin has ended: answer what was already asked, then close.
        let deadline = *self
            .drain_deadline
            .get_or_insert_with(|| tokio::time::Instant::now() + DRAIN_TIMEOUT);
        loop {
            let changed = self.unanswered.changed.notified();
            if self.unanswered.is_empty() {
                return None;
            }
            tokio::select! {
                _ = changed => {}
                _ = tokio::time::sleep_until(deadline) => {
                    tracing::warn!("closing with requests still unanswered after end of stdin");
                    return None;
                }
            }
        }
    }

    async fn close(&mut self) -> Result<(), Self::Error> {
        self.incoming.close();
        self.closed.cancel();
        Ok(())
    }
}

async fn write_lines<W: AsyncWrite + Unpin>(mut writer: W, mut lines: mpsc::Receiver<String>) {
    while let Some(mut line) = lines.recv().await {
        line.push('\n');
        if writer.write_all(line.as_bytes()).await.is_err() || writer.flush().await.is_err() {
            tracing::info!("stdout closed; no more responses can be sent");
            return;
        }
    }
    let _ = writer.shutdown().await;
}

async fn read_lines<R: AsyncBufRead + Unpin>(
    mut reader: R,
    incoming: mpsc::Sender<RxJsonRpcMessage<RoleServer>>,
    outgoing: mpsc::Sender<String>,
    unanswered: Arc<Unanswered>,
) {
    loop {
        let line = match read_bounded_line(&mut reader).await {
            Ok(Some(line)) => line,
            Ok(None) => break,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read stdin; shutting down");
                break;
            }
        };
        match classify(line) {
            Frame::Message(message, request_id) => {
                if let Some(id) = request_id {
                    unanswered.add(&id);
                }
                if incoming.send(*message).await.is_err() {
                    break;
                }
            }
            Frame::Reply(error) => {
                tracing::warn!(%error, "answered a malformed line with an error");
                if outgoing.send(error.to_string()).await.is_err() {
                    break;
                }
            }
            Frame::Ignore => {}
        }
    }
    tracing::info!("end of stdin");
    // Dropping `incoming` ends the rmcp service, which ends `serve`.
}

enum Line {
    Bytes(Vec<u8>),
    TooLong(usize),
}

/// Reads one `\n`-terminated line without ever holding more than
/// [`MAX_LINE_BYTES`] of it; `None` at end of input.
async fn read_bounded_line<R: AsyncBufRead + Unpin>(
    reader: &mut R,
) -> std::io::Result<Option<Line>> {
    let mut buf = Vec::new();
    let mut total = 0usize;
    loop {
        let available = reader.fill_buf().await?;
        if available.is_empty() {
            return Ok(match (total, buf.is_empty()) {
                (0, _) => None,
                (n, _) if n > MAX_LINE_BYTES => Some(Line::TooLong(n)),
                _ => Some(Line::Bytes(buf)),
            });
        }
        let (chunk, done) = match available.iter().position(|b| *b == b'\n') {
            Some(i) => (&available[..i], Some(i + 1)),
            None => (available, None),
        };
        total += chunk.len();
        if total <= MAX_LINE_BYTES {
            buf.extend_from_slice(chunk);
        } else {
            buf = Vec::new();
        }
        let consumed = done.unwrap_or(chunk.len());
        reader.consume(consumed);
        if done.is_some() {
            return Ok(Some(if total > MAX_LINE_BYTES {
                Line::TooLong(total)
            } else {
                Line::Bytes(buf)
            }));
        }
    }
}

enum Frame {
    /// A message for rmcp, with its id when it is a request.
    Message(Box<RxJsonRpcMessage<RoleServer>>, Option<Value>),
    Reply(Value),
    Ignore,
}

fn error_frame(id: Value, code: i64, message: String) -> Frame {
    Frame::Reply(json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}}))
}

fn classify(line: Line) -> Frame {
    let bytes = match line {
        Line::TooLong(n) => {
            return error_frame(
                Value::Null,
                -32600,
                format!(
                    "Invalid Request: message of {n} bytes exceeds the limit of {MAX_LINE_BYTES} bytes"
                ),
            );
        }
        Line::Bytes(bytes) => bytes,
    };
    let text = match std::str::from_utf8(&bytes) {
        Ok(text) => text.trim(),
        Err(e) => {
            return error_frame(
                Value::Null,
                -32700,
                format!("Parse error: invalid UTF-8 at byte {}", e.valid_up_to()),
            );
        }
    };
    if text.is_empty() {
        return Frame::Ignore;
    }
    let value: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => return error_frame(Value::Null, -32700, format!("Parse error: {e}")),
    };
    let Some(object) = value.as_object() else {
        let what = if value.is_array() {
            "batches are not supported by MCP; send one message per line"
        } else {
            "a JSON-RPC message must be an object"
        };
        return error_frame(Value::Null, -32600, format!("Invalid Request: {what}"));
    };
    // Only a valid id may be echoed back; anything else is answered with null.
    let id = match object.get("id") {
        Some(id @ (Value::String(_) | Value::Number(_))) => Some(id.clone()),
        _ => None,
    };
    let reply_id = id.clone().unwrap_or(Value::Null);
    if object.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
        return error_frame(
            reply_id,
            -32600,
            format!(
                "Invalid Request: \"jsonrpc\" must be \"2.0\", got {}",
                object
                    .get("jsonrpc")
                    .map(Value::to_string)
                    .unwrap_or_else(|| "nothing".into())
            ),
        );
    }
    if object.contains_key("id") && id.is_none() {
        return error_frame(
            Value::Null,
            -32600,
            "Invalid Request: \"id\" must be a string or a number".into(),
        );
    }
    let method = object.get("method").map(|m| m.as_str().map(str::to_string));
    if let (Some(Some(method)), Some(_)) = (&method, &id)
        && !KNOWN_METHODS.contains(&method.as_str())
    {
        return error_frame(reply_id, -32601, format!("Method not found: {method}"));
    }
    if let Some(None) = &method {
        return error_frame(
            reply_id,
            -32600,
            "Invalid Request: \"method\" must be a string".into(),
        );
    }
    let params = object.get("params").cloned().unwrap_or(Value::Null);
    match serde_json::from_value::<RxJsonRpcMessage<RoleServer>>(value) {
        // rmcp turns a standard method whose params do not fit into a
        // "custom" request, which it then calls unknown; the truth is that
        // the params are wrong, and the caller should hear which.
        Ok(rmcp::model::JsonRpcMessage::Request(rmcp::model::JsonRpcRequest {
            request: rmcp::model::ClientRequest::CustomRequest(custom),
            ..
        })) if KNOWN_METHODS.contains(&custom.method.as_str()) => error_frame(
            reply_id,
            -32602,
            format!(
                "Invalid params for {}: {}",
                custom.method,
                params_problem(&custom.method, params)
            ),
        ),
        Ok(message) => {
            let request_id = if method.is_some() { id } else { None };
            Frame::Message(Box::new(message), request_id)
        }
        // A notification never gets an answer, even a broken one.
        Err(e) if id.is_none() => {
            tracing::warn!(error = %e, "ignoring a malformed notification");
            Frame::Ignore
        }
        Err(e) => error_frame(reply_id, -32602, format!("Invalid params: {e}")),
    }
}

/// Why `params` do not fit `method`, in serde's words.
fn params_problem(method: &str, params: Value) -> String {
    use rmcp::model::{CallToolRequestParams, GetPromptRequestParams, ReadResourceRequestParams};
    let result = match method {
        "tools/call" => serde_json::from_value::<CallToolRequestParams>(params).map(drop),
        "resources/read" => serde_json::from_value::<ReadResourceRequestParams>(params).map(drop),
        "prompts/get" => serde_json::from_value::<GetPromptRequestParams>(params).map(drop),
        _ => return "they do not match the method's parameters".into(),
    };
    match result {
        Err(e) => e.to_string(),
        Ok(()) => "they do not match the method's parameters".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(text: &[u8]) -> Value {
        match classify(Line::Bytes(text.to_vec())) {
            Frame::Reply(v) => v,
            Frame::Message(..) => panic!("{:?} was accepted", String::from_utf8_lossy(text)),
            Frame::Ignore => panic!("{:?} was ignored", String::from_utf8_lossy(text)),
        }
    }

    #[test]
    fn malformed_lines_get_the_json_rpc_error_codes() {
        assert_eq!(reply(b"{not json")["error"]["code"], -32700);
        assert_eq!(reply(b"{not json")["id"], Value::Null);
        assert_eq!(reply(b"\xff\xfe")["error"]["code"], -32700);
        assert_eq!(reply(b"[1,2]")["error"]["code"], -32600);
        assert_eq!(reply(b"42")["error"]["code"], -32600);
        let wrong_version = reply(br#"{"jsonrpc":"1.0","id":7,"method":"ping"}"#);
        assert_eq!(wrong_version["error"]["code"], -32600);
        assert_eq!(wrong_version["id"], 7);
        let unknown = reply(br#"{"jsonrpc":"2.0","id":"a","method":"nope/nothing"}"#);
        assert_eq!(unknown["error"]["code"], -32601);
        assert_eq!(unknown["id"], "a");
        let bad_params = reply(br#"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":5}"#);
        assert_eq!(bad_params["error"]["code"], -32602);
    }

    #[test]
    fn valid_messages_pass_through() {
        for line in [
            r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#,
            r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
            r#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"x","arguments":{}}}"#,
        ] {
            assert!(
                matches!(
                    classify(Line::Bytes(line.as_bytes().to_vec())),
                    Frame::Message(..)
                ),
                "{line}"
            );
        }
        assert!(matches!(
            classify(Line::Bytes(b"   ".to_vec())),
            Frame::Ignore
        ));
    }

    #[tokio::test]
    async fn overlong_lines_are_refused_without_buffering() {
        let mut input = vec![b'x'; MAX_LINE_BYTES + 10];
        input.push(b'\n');
        input.extend_from_slice(b"{\"a\":1}\n");
        let mut reader = tokio::io::BufReader::new(&input[..]);
        assert!(matches!(
            read_bounded_line(&mut reader).await.unwrap(),
            Some(Line::TooLong(_))
        ));
        assert!(
            matches!(read_bounded_line(&mut reader).await.unwrap(), Some(Line::Bytes(b)) if b == b"{\"a\":1}")
        );
        assert!(read_bounded_line(&mut reader).await.unwrap().is_none());
    }
}
