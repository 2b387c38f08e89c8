//! A plain HTTP/1.1 client over a TCP stream, for tests of the daemon's
//! TCP face: it sends exactly the bytes a test wants (bad headers, huge
//! bodies, no token) and reads status, headers and body back, including
//! the Server-Sent Events rmcp answers POSTs with. Every read has a
//! deadline, so a server that hangs fails the test instead of stalling it.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use serde_json::{Value, json};

const READ_DEADLINE: Duration = Duration::from_secs(60);

#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The JSON-RPC message with `id` in the body (plain JSON or SSE).
    pub fn rpc(&self, id: u64) -> Option<Value> {
        let is_it = |v: &Value| v["id"] == json!(id);
        if let Ok(v) = serde_json::from_str::<Value>(&self.body) {
            return is_it(&v).then_some(v);
        }
        self.body
            .lines()
            .filter_map(|l| l.strip_prefix("data:"))
            .filter_map(|d| serde_json::from_str::<Value>(d.trim()).ok())
            .find(is_it)
    }
}

/// Sends one request to `/mcp` (the connection closes after it) and reads
/// the reply.
pub fn request(addr: &str, method: &str, headers: &[(&str, &str)], body: &[u8]) -> Reply {
    request_to(addr, method, "/mcp", headers, body)
}

/// Sends one request to `path` (the connection closes after it) and reads
/// the reply.
pub fn request_to(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Reply {
    let mut stream = TcpStream::connect(addr).expect("connect to the daemon's TCP face");
    stream.set_read_timeout(Some(READ_DEADLINE)).unwrap();
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    if !headers.iter().any(|(n, _)| n.eq_ignore_ascii_case("host")) {
        head.push_str(&format!("Host: {addr}\r\n"));
    }
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).unwrap();
    // A server may answer (413) before reading a large body; that is fine.
    let _ = stream.write_all(body);
    let mut raw = Vec::new();
    if let Err(e) = stream.read_to_end(&mut raw)
        && raw.is_empty()
    {
        panic!("no reply from {addr}: {e}");
    }
    parse(&raw)
}

fn parse(raw: &[u8]) -> Reply {
    let text = String::from_utf8_lossy(raw);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP reply: {text}"));
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
        .collect();
    let chunked = headers
        .iter()
        .any(|(n, v)| n.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
    let body = if chunked {
        dechunk(body)
    } else {
        body.to_string()
    };
    Reply {
        status,
        headers,
        body,
    }
}

fn dechunk(mut rest: &str) -> String {
    let mut out = String::new();
    while let Some((size, after)) = rest.split_once("\r\n") {
        let Ok(size) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if size == 0 || after.len() < size {
            out.push_str(&after[..size.min(after.len())]);
            break;
        }
        out.push_str(&after[..size]);
        rest = after[size..].trim_start_matches("\r\n");
    }
    out
}

/// An MCP client over the TCP face (protocol 2025-11-25, with a session),
/// speaking raw HTTP so a test sees every status and header.
pub struct McpHttp {
    pub addr: String,
    pub token: Option<String>,
    pub session: Option<String>,
    next_id: u64,
}

impl McpHttp {
    pub fn new(addr: &str, token: Option<&str>) -> McpHttp {
        McpHttp {
            addr: addr.to_string(),
            token: token.map(str::to_string),
            session: None,
            next_id: 1,
        }
    }

    fn headers(&self) -> Vec<(String, String)> {
        let mut h = vec![
            ("Content-Type".to_string(), "application/json".to_string()),
            (
                "Accept".to_string(),
                "application/json, text/event-stream".to_string(),
            ),
        ];
        if let Some(token) = &self.token {
            h.push(("Authorization".into(), format!("Bearer {token}")));
        }
        if let Some(session) = &self.session {
            h.push(("Mcp-Session-Id".into(), session.clone()));
            h.push(("MCP-Protocol-Version".into(), "2025-11-25".into()));
        }
        h
    }

    /// Posts a raw JSON-RPC message; the reply as it came.
    pub fn post(&self, message: &Value) -> Reply {
        let headers = self.headers();
        let borrowed: Vec<(&str, &str)> = headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        request(
            &self.addr,
            "POST",
            &borrowed,
            message.to_string().as_bytes(),
        )
    }

    /// Ends the session (DELETE), as a host that leaves does.
    pub fn close(&mut self) -> Reply {
        let headers = self.headers();
        let borrowed: Vec<(&str, &str)> = headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        let reply = request(&self.addr, "DELETE", &borrowed, b"");
        self.session = None;
        reply
    }

    /// A request; the JSON-RPC response (panics with the reply if none).
    pub fn call(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        let reply =
            self.post(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        reply
            .rpc(id)
            .unwrap_or_else(|| panic!("no response to {method}: {reply:?}"))
    }

    /// initialize + notifications/initialized; returns the initialize result.
    pub fn initialize(&mut self) -> Value {
        self.initialize_with(json!({}))
    }

    /// initialize declaring `capabilities` (such as the tasks extension).
    pub fn initialize_with(&mut self, capabilities: Value) -> Value {
        let reply = self.post(
            &json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
                "protocolVersion": "2025-11-25",
                "capabilities": capabilities,
                "clientInfo": {"name": "http-test", "version": "0"}
            }}),
        );
        assert_eq!(reply.status, 200, "{reply:?}");
        self.session = reply.header("mcp-session-id").map(str::to_string);
        let result = reply.rpc(0).expect("initialize answered");
        let note = self.post(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
        assert!(note.status < 300, "{note:?}");
        result
    }

    /// tools/call; the CallToolResult.
    pub fn tool(&mut self, name: &str, arguments: Value) -> Value {
        let response = self.call("tools/call", json!({"name": name, "arguments": arguments}));
        response["result"].clone()
    }
}

/// The text of a CallToolResult.
pub fn tool_text(result: &Value) -> String {
    result["content"]
        .as_array()
        .map(|c| {
            c.iter()
                .filter_map(|p| p["text"].as_str())
                .collect::<Vec<_>>()
                .join("\n")
        })
        .unwrap_or_default()
}
