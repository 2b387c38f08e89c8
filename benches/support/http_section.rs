//! Issue 11's figures: what the daemon's TCP face (Streamable HTTP, module
//! tokens) costs a remote host. Included by bench.rs (`cargo bench -- http`).
//!
//! The client is a keep-alive HTTP/1.1 connection per host (hyper), as a
//! host's own HTTP client keeps one, speaking MCP 2025-11-25 with a session.

use super::*;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;

/// One remote host: a connection, its token and its MCP session.
pub(super) struct HttpHost {
    send: SendRequest<Full<Bytes>>,
    authority: String,
    token: String,
    session: Option<String>,
    next_id: u64,
}

impl HttpHost {
    pub(super) async fn connect(authority: &str, token: &str) -> HttpHost {
        let tcp = tokio::net::TcpStream::connect(authority).await.unwrap();
        tcp.set_nodelay(true).unwrap();
        let (send, connection) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(tcp))
                .await
                .unwrap();
        tokio::spawn(connection);
        let mut host = HttpHost {
            send,
            authority: authority.to_string(),
            token: token.to_string(),
            session: None,
            next_id: 1,
        };
        host.rpc(
            "initialize",
            json!({"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "bench", "version": "0"}}),
        )
        .await;
        host.post(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))
            .await;
        host
    }

    /// Posts one message; the reply's session header and body.
    async fn post(&mut self, message: Value) -> (Option<String>, String) {
        let mut request = hyper::Request::post("/mcp")
            .header("host", &self.authority)
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .header("authorization", format!("Bearer {}", self.token));
        if let Some(session) = &self.session {
            request = request
                .header("mcp-session-id", session)
                .header("mcp-protocol-version", "2025-11-25");
        }
        let request = request
            .body(Full::new(Bytes::from(message.to_string())))
            .unwrap();
        self.send.ready().await.unwrap();
        let response = self.send.send_request(request).await.unwrap();
        assert!(response.status().is_success(), "{}", response.status());
        let session = response
            .headers()
            .get("mcp-session-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let body = response.into_body().collect().await.unwrap().to_bytes();
        (session, String::from_utf8_lossy(&body).into_owned())
    }

    /// A request; its JSON-RPC result (from plain JSON or the SSE stream).
    async fn rpc(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        let (session, body) = self
            .post(json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}))
            .await;
        if self.session.is_none() {
            self.session = session;
        }
        let found = body
            .lines()
            .filter_map(|l| l.strip_prefix("data:"))
            .chain(std::iter::once(body.as_str()))
            .filter_map(|d| serde_json::from_str::<Value>(d.trim()).ok())
            .find(|m| m["id"] == json!(id))
            .unwrap_or_else(|| panic!("no response to {method}: {body}"));
        found["result"].clone()
    }

    async fn send_message(&mut self, args: Value) -> Value {
        let result = self
            .rpc(
                "tools/call",
                json!({"name": "send_message", "arguments": args}),
            )
            .await;
        assert_ne!(result["isError"], json!(true), "{result}");
        result["structuredContent"].clone()
    }
}

/// Starts a daemon listening on a free loopback port; its `host:port`.
pub(super) fn daemon_on_tcp(home: &Path) -> String {
    let out = std::process::Command::new(bin("claude-comms"))
        .args(["--json", "daemon", "start", "--listen", "127.0.0.1:0"])
        .env(HOME_ENV, home)
        .env("RUST_LOG", "error")
        .env_remove("CLAUDE_COMMS_CONFIG")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let info: Value = serde_json::from_slice(&out.stdout).unwrap();
    info["http_url"]
        .as_str()
        .unwrap()
        .trim_start_matches("http://")
        .trim_end_matches("/mcp")
        .to_string()
}

pub(super) fn token_for(home: &Path, module: &str) -> String {
    let out = std::process::Command::new(bin("claude-comms"))
        .args(["--json", "tokens", "create", "--module", module])
        .env(HOME_ENV, home)
        .env_remove("CLAUDE_COMMS_CONFIG")
        .output()
        .unwrap();
    let created: Value = serde_json::from_slice(&out.stdout).unwrap();
    created["token"].as_str().unwrap().to_string()
}

/// Time the HTTP hop adds against a host on stdio `serve` (fake child,
/// embedded): the same calls, interleaved.
pub(super) async fn http_hop_section() {
    const CALLS: usize = 400;
    let home = home_with(&fake_toml(2, 8));
    let mut command = tokio::process::Command::new(bin("claude-comms"));
    command
        .arg("serve")
        .env(HOME_ENV, home.path())
        .env("CLAUDE_COMMS_HUB", "embedded")
        .env("RUST_LOG", "error")
        .env_remove("CLAUDE_COMMS_CONFIG");
    let stdio = client_of(command).await;
    let stops_daemon = StopsDaemon(home.path().to_path_buf());
    let authority = daemon_on_tcp(home.path());
    let mut remote = HttpHost::connect(&authority, &token_for(home.path(), "marker")).await;
    let args = json!({"source": "marker", "target": "arangodb", "message": "[[brief]] hop"});
    for _ in 0..5 {
        call(&stdio, "send_message", args.clone()).await;
        remote.send_message(args.clone()).await;
    }
    let (mut direct, mut hop) = (Vec::new(), Vec::new());
    for _ in 0..CALLS {
        direct.push(timed(call(&stdio, "send_message", args.clone())).await.0);
        hop.push(timed(remote.send_message(args.clone())).await.0);
    }
    let (d, h) = (stats(direct), stats(hop));
    let added = h.median.saturating_sub(d.median);
    figure(
        "http: send_message, stdio serve / HTTP with a module token, median",
        format!("{} / {}", ms(d.median), ms(h.median)),
        "-",
        None,
    );
    figure(
        "http: time added by the HTTP hop, p50",
        ms(added),
        "<= 1 ms",
        Some(added <= Duration::from_millis(1)),
    );
    stdio.cancel().await.unwrap();
    let _ = tokio::task::spawn_blocking(move || drop(stops_daemon)).await;
}

/// 64 remote hosts, each on its own keep-alive connection with its
/// module's token, each sending 40 messages in its own conversation over
/// 8 pairs (fake child): the rate, and that every message is stored once.
pub(super) async fn http_throughput_section() {
    const HOSTS: usize = 64;
    const EACH: usize = 40;
    let pairs = THROUGHPUT_PAIRS;
    let home = home_with(&fake_toml(8, 16));
    let stops_daemon = StopsDaemon(home.path().to_path_buf());
    let authority = daemon_on_tcp(home.path());
    let mut tokens = std::collections::HashMap::new();
    for (source, _) in pairs {
        tokens
            .entry(source)
            .or_insert_with(|| token_for(home.path(), source));
    }
    let mut hosts = Vec::new();
    for h in 0..HOSTS {
        let (source, target) = pairs[h % pairs.len()];
        let mut host = HttpHost::connect(&authority, &tokens[source]).await;
        let first = host
            .send_message(json!({"target": target, "message": "[[brief]] warm"}))
            .await;
        let id = first["conversation_id"].as_str().unwrap().to_string();
        hosts.push((host, id));
    }
    let start = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for (mut host, id) in hosts {
        tasks.spawn(async move {
            for i in 0..EACH {
                host.send_message(
                    json!({"conversation_id": id, "message": format!("[[brief]] m{i}")}),
                )
                .await;
            }
            id
        });
    }
    let mut ids = Vec::new();
    while let Some(done) = tasks.join_next().await {
        ids.push(done.unwrap());
    }
    let elapsed = start.elapsed();
    let rate = (HOSTS * EACH) as f64 / elapsed.as_secs_f64();
    let hub = hub_in(home.path());
    let stored = queries_after_warm_up(&hub, &ids).await;
    figure(
        &format!(
            "http: {HOSTS} remote hosts (HTTP, module tokens) over {} pairs, fake child",
            pairs.len()
        ),
        format!(
            "{rate:.0} messages/s ({} in {:.2} s)",
            HOSTS * EACH,
            elapsed.as_secs_f64()
        ),
        ">= 2000/s",
        Some(rate >= 2000.0),
    );
    figure(
        "http: every message stored once",
        format!("{stored} of {}", HOSTS * EACH),
        "all",
        Some(stored == HOSTS * EACH),
    );
    hub.shutdown().await;
    let _ = tokio::task::spawn_blocking(move || drop(stops_daemon)).await;
}
