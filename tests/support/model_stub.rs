//! A stand-in for the Anthropic Messages API on 127.0.0.1, so that the real
//! `claude` CLI (and claude-code-mcp, which runs it) work offline in tests
//! and benchmarks. It answers at once, records every request it gets, and
//! lets a test script the answer (plain text, or a tool call for when the
//! CLI is the MCP host).
//!
//! Only what the CLI uses is implemented: `HEAD`/`GET` (200 `{}`), and
//! `POST /v1/messages` with `stream: true`, answered as server-sent events
//! (see ../shared/REFERENCE.md). One request per connection.
//!
//! A request whose last user text contains `[[stall:MS]]` is answered after
//! MS milliseconds, so a test can catch a child mid-request.
//!
//! The default model obeys tool requests found in the asker's message, as a
//! model that follows injected text would: `[[tool:NAME {json input}]]`,
//! one after another (each after the previous one's result), then answers
//! with what each tool returned (`tool results: OK ... | ERR ...`). Only the
//! latest message counts, so use them in a conversation's first message.

#![allow(dead_code)] // Each test binary uses a different part of it.

use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// What the stand-in model says next.
pub enum Turn {
    Text(String),
    ToolUse { name: String, input: Value },
}

type Script = dyn Fn(&Value) -> Turn + Send + Sync;

pub struct ModelStub {
    pub base_url: String,
    requests: Arc<Mutex<Vec<Value>>>,
    task: tokio::task::JoinHandle<()>,
}

impl ModelStub {
    /// A model that obeys tool requests (see the module docs) and otherwise
    /// answers with `echo_answer`.
    pub async fn start() -> ModelStub {
        ModelStub::start_with(|request| {
            next_tool_call(request).unwrap_or_else(|| {
                let results = tool_results(request);
                if results.is_empty() {
                    Turn::Text(echo_answer(request))
                } else {
                    Turn::Text(format!("tool results: {}", results.join(" | ")))
                }
            })
        })
        .await
    }

    /// A model whose every answer is chosen by `script` from the request.
    pub async fn start_with(script: impl Fn(&Value) -> Turn + Send + Sync + 'static) -> ModelStub {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base_url = format!("http://{}", listener.local_addr().unwrap());
        let requests = Arc::new(Mutex::new(Vec::new()));
        let script: Arc<Script> = Arc::new(script);
        let recorded = requests.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (script, recorded) = (script.clone(), recorded.clone());
                tokio::spawn(async move {
                    let _ = serve_one(stream, &*script, &recorded).await;
                });
            }
        });
        ModelStub {
            base_url,
            requests,
            task,
        }
    }

    /// Every `/v1/messages` body received so far, oldest first.
    pub fn requests(&self) -> Vec<Value> {
        self.requests.lock().unwrap().clone()
    }

    /// The environment that points the `claude` CLI at this stand-in and
    /// keeps it off the network and out of the real home.
    pub fn cli_env(&self, home: &std::path::Path) -> Vec<(String, String)> {
        [
            ("ANTHROPIC_BASE_URL", self.base_url.as_str()),
            ("ANTHROPIC_API_KEY", "sk-test-stand-in"),
            ("DISABLE_TELEMETRY", "1"),
            ("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1"),
            ("DISABLE_AUTOUPDATER", "1"),
            ("DISABLE_ERROR_REPORTING", "1"),
            // The CLI refuses --dangerously-skip-permissions as root otherwise;
            // claude-code-mcp always passes it.
            ("IS_SANDBOX", "1"),
            ("HOME", home.to_str().unwrap()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }
}

impl Drop for ModelStub {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// All the text of a Messages API request: system prompt and every message.
pub fn request_text(request: &Value) -> String {
    let mut out = String::new();
    collect_text(&request["system"], &mut out);
    collect_text(&request["messages"], &mut out);
    out
}

/// The text of the last user message of a request.
pub fn last_user_text(request: &Value) -> String {
    let mut out = String::new();
    if let Some(last) = request["messages"]
        .as_array()
        .and_then(|m| m.iter().rev().find(|m| m["role"] == "user"))
    {
        collect_text(&last["content"], &mut out);
    }
    out
}

/// Whether the last user turn returns a tool's result to the model.
pub fn is_tool_result(request: &Value) -> bool {
    request["messages"]
        .as_array()
        .and_then(|m| m.last())
        .and_then(|m| m["content"].as_array())
        .is_some_and(|blocks| blocks.iter().any(|b| b["type"] == "tool_result"))
}

/// The default answer: quotes the last line of the asker's text, so a test
/// can tell which message an answer belongs to.
pub fn echo_answer(request: &Value) -> String {
    let text = last_user_text(request);
    let last_line = text
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('<') && !l.starts_with("```"))
        .unwrap_or("");
    format!("stub model answer to: {last_line}")
}

/// The tool calls a text asks for: `[[tool:NAME {json}]]`, in order.
pub fn tool_directives(text: &str) -> Vec<(String, Value)> {
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("[[tool:") {
        rest = &rest[start + "[[tool:".len()..];
        let Some(space) = rest.find(' ') else { break };
        let name = rest[..space].to_string();
        let Some(end) = rest.find("}]]") else { break };
        if let Ok(input) = serde_json::from_str(&rest[space + 1..=end]) {
            found.push((name, input));
        }
        rest = &rest[end + 3..];
    }
    found
}

/// The asker's latest message and the tool results returned since, as
/// `OK <text>` / `ERR <text>`.
fn prompt_and_results(request: &Value) -> (String, Vec<String>) {
    let (mut prompt, mut results) = (String::new(), Vec::new());
    for message in request["messages"].as_array().into_iter().flatten() {
        if message["role"] != "user" {
            continue;
        }
        let blocks = message["content"].as_array().cloned().unwrap_or_default();
        let returned: Vec<&Value> = blocks
            .iter()
            .filter(|b| b["type"] == "tool_result")
            .collect();
        if returned.is_empty() {
            prompt.clear();
            collect_text(&message["content"], &mut prompt);
            results.clear();
        } else {
            for block in returned {
                let mut text = String::new();
                collect_text(&block["content"], &mut text);
                let verdict = if block["is_error"] == true {
                    "ERR"
                } else {
                    "OK"
                };
                results.push(format!("{verdict} {}", text.trim()));
            }
        }
    }
    (prompt, results)
}

/// The next tool call the asker's message asks for, if any is left.
pub fn next_tool_call(request: &Value) -> Option<Turn> {
    let (prompt, results) = prompt_and_results(request);
    let (name, input) = tool_directives(&prompt).into_iter().nth(results.len())?;
    Some(Turn::ToolUse { name, input })
}

/// What the tools returned since the asker's latest message.
pub fn tool_results(request: &Value) -> Vec<String> {
    prompt_and_results(request).1
}

fn collect_text(value: &Value, out: &mut String) {
    match value {
        Value::String(s) => {
            out.push_str(s);
            out.push('\n');
        }
        Value::Array(items) => items.iter().for_each(|v| collect_text(v, out)),
        Value::Object(map) => {
            for key in ["text", "content"] {
                if let Some(v) = map.get(key) {
                    collect_text(v, out);
                }
            }
        }
        _ => {}
    }
}

async fn serve_one(
    stream: TcpStream,
    script: &Script,
    recorded: &Mutex<Vec<Value>>,
) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream);
    let mut request_line = String::new();
    reader.read_line(&mut request_line).await?;
    let mut content_length = 0usize;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).await? == 0 || header == "\r\n" || header == "\n" {
            break;
        }
        if let Some((name, value)) = header.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            content_length = value.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0; content_length];
    reader.read_exact(&mut body).await?;
    let mut stream = reader.into_inner();

    let mut parts = request_line.split_whitespace();
    let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    if method != "POST" || !path.starts_with("/v1/messages") || path.contains("count_tokens") {
        let body = if path.contains("count_tokens") {
            r#"{"input_tokens":1}"#
        } else {
            "{}"
        };
        let head = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
            body.len()
        );
        stream.write_all(head.as_bytes()).await?;
        if method != "HEAD" {
            stream.write_all(body.as_bytes()).await?;
        }
        return stream.shutdown().await;
    }

    let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    recorded.lock().unwrap().push(request.clone());
    if let Some(ms) = stall_ms(&request) {
        tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
    }
    let turn = script(&request);
    let model = request["model"]
        .as_str()
        .unwrap_or("stub-model")
        .to_string();
    let events = sse_events(&model, &turn);
    let mut out = String::from(
        "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\nconnection: close\r\n\r\n",
    );
    for (name, data) in events {
        out.push_str(&format!("event: {name}\ndata: {data}\n\n"));
    }
    stream.write_all(out.as_bytes()).await?;
    stream.shutdown().await
}

fn stall_ms(request: &Value) -> Option<u64> {
    let text = last_user_text(request);
    let start = text.find("[[stall:")? + "[[stall:".len();
    let end = text[start..].find("]]")? + start;
    text[start..end].parse().ok()
}

fn sse_events(model: &str, turn: &Turn) -> Vec<(&'static str, Value)> {
    let usage = json!({"input_tokens": 10, "output_tokens": 0, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0});
    let id = format!("msg_stub_{}", uuid::Uuid::new_v4().simple());
    let (block, delta, stop_reason) = match turn {
        Turn::Text(text) => (
            json!({"type": "text", "text": ""}),
            json!({"type": "text_delta", "text": text}),
            "end_turn",
        ),
        Turn::ToolUse { name, input } => (
            json!({"type": "tool_use", "id": format!("toolu_stub_{}", uuid::Uuid::new_v4().simple()), "name": name, "input": {}}),
            json!({"type": "input_json_delta", "partial_json": input.to_string()}),
            "tool_use",
        ),
    };
    vec![
        (
            "message_start",
            json!({"type": "message_start", "message": {"id": id, "type": "message", "role": "assistant", "model": model, "content": [], "stop_reason": null, "stop_sequence": null, "usage": usage}}),
        ),
        (
            "content_block_start",
            json!({"type": "content_block_start", "index": 0, "content_block": block}),
        ),
        (
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 0, "delta": delta}),
        ),
        (
            "content_block_stop",
            json!({"type": "content_block_stop", "index": 0}),
        ),
        (
            "message_delta",
            json!({"type": "message_delta", "delta": {"stop_reason": stop_reason, "stop_sequence": null}, "usage": {"output_tokens": 5}}),
        ),
        ("message_stop", json!({"type": "message_stop"})),
    ]
}
