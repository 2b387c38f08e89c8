//! The daemon's TCP face, continued: a non-loopback address needs TLS and
//! then serves HTTPS; the 2026-07-28 revision works statelessly with a
//! token; a task runs as its module and only its parties see it.

use crate::common;
use crate::daemon_cli;
use crate::http_raw;

use std::io::Write;

use crate::http_remote::{daemon_with_tcp, token};
use daemon_cli::{DaemonGuard, cli, json_of};
use http_raw::{McpHttp, request};
use serde_json::json;

#[test]
fn a_non_loopback_address_needs_tls_and_then_serves_https() {
    // Without TLS the daemon refuses to start, and says what to set.
    let home = common::home_with(&common::fake_child_toml());
    let _guard = DaemonGuard(home.path().to_path_buf());
    let refused = cli(home.path(), &["daemon", "run", "--listen", "0.0.0.0:0"]);
    assert!(!refused.status.success());
    let words = String::from_utf8_lossy(&refused.stderr);
    assert!(
        words.contains("daemon.listen") && words.contains("tls_cert"),
        "{words}"
    );

    let certified =
        rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert, certified.cert.pem()).unwrap();
    std::fs::write(&key, certified.signing_key.serialize_pem()).unwrap();
    let tls = format!(
        "[daemon]\ntls_cert = {:?}\ntls_key = {:?}\n",
        cert.display().to_string(),
        key.display().to_string()
    );
    let (home, _guard, addr) = daemon_with_tcp(&tls, "0.0.0.0:0");
    let (token, _) = token(home.path(), &["--module", "marker"]);

    // Plain HTTP to the HTTPS port gets no HTTP answer.
    let mut plain = std::net::TcpStream::connect(&addr).unwrap();
    plain
        .set_read_timeout(Some(std::time::Duration::from_secs(20)))
        .unwrap();
    let _ = write!(plain, "GET /mcp HTTP/1.1\r\nHost: {addr}\r\n\r\n");
    let mut heard = Vec::new();
    let _ = std::io::Read::read_to_end(&mut plain, &mut heard);
    assert!(!String::from_utf8_lossy(&heard).starts_with("HTTP/1.1 200"));

    // Over TLS, trusting the certificate, a host initializes and asks.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let reply = runtime.block_on(https_initialize(
        &addr,
        certified.cert.der().to_vec(),
        &token,
    ));
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
    assert!(reply.contains("claude-comms"), "{reply}");
}

async fn https_initialize(addr: &str, cert_der: Vec<u8>, token: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio_rustls::rustls;
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(rustls::pki_types::CertificateDer::from(cert_der))
        .unwrap();
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(std::sync::Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let mut tls = connector.connect(name, tcp).await.unwrap();
    let body = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "tls", "version": "0"}}})
    .to_string();
    let head = format!(
        "POST /mcp HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    tls.write_all(head.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    let _ = tokio::time::timeout(
        std::time::Duration::from_secs(60),
        tls.read_to_end(&mut out),
    )
    .await;
    String::from_utf8_lossy(&out).into_owned()
}

#[test]
fn the_2026_revision_works_statelessly_over_http_with_a_token() {
    let (home, _guard, addr) = daemon_with_tcp("", "127.0.0.1:0");
    let (token, _) = token(home.path(), &["--module", "marker"]);
    let auth = format!("Bearer {token}");
    let headers = [
        ("Content-Type", "application/json"),
        ("Accept", "application/json, text/event-stream"),
        ("Authorization", auth.as_str()),
        ("MCP-Protocol-Version", "2026-07-28"),
    ];
    let meta = json!({
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {},
        "io.modelcontextprotocol/clientInfo": {"name": "stateless", "version": "0"}
    });
    // 2026-07-28 mirrors the method (and a tool's name) into headers.
    let post = |id: u64, method: &str, params: serde_json::Value| {
        let body = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        let mut headers = headers.to_vec();
        headers.push(("Mcp-Method", method));
        let name = params["name"].as_str().unwrap_or_default().to_string();
        if !name.is_empty() {
            headers.push(("Mcp-Name", &name));
        }
        let reply = request(&addr, "POST", &headers, body.to_string().as_bytes());
        assert_eq!(reply.status, 200, "{method}: {reply:?}");
        assert_eq!(
            reply.header("mcp-session-id"),
            None,
            "no session on 2026-07-28"
        );
        reply
            .rpc(id)
            .unwrap_or_else(|| panic!("{method}: {reply:?}"))
    };
    let discovered = post(1, "server/discover", json!({"_meta": meta}));
    let result = &discovered["result"];
    assert_eq!(
        result["_meta"]["io.modelcontextprotocol/serverInfo"]["name"], "claude-comms",
        "{discovered}"
    );
    for version in ["2025-06-18", "2025-11-25", "2026-07-28"] {
        assert!(
            result["supportedVersions"]
                .as_array()
                .unwrap()
                .contains(&json!(version)),
            "{discovered}"
        );
    }
    let tools = post(2, "tools/list", json!({"_meta": meta}));
    assert!(tools.to_string().contains("send_message"), "{tools}");
    let sent = post(
        3,
        "tools/call",
        json!({"_meta": meta, "name": "send_message",
               "arguments": {"target": "arangodb", "message": "[[brief]] stateless"}}),
    );
    let content = &sent["result"]["structuredContent"];
    assert_eq!(content["source"], "marker", "{sent}");
    assert_eq!(content["status"], "delivered", "{sent}");
    // The conversation continues by its id, on a new connection.
    let id = content["conversation_id"].as_str().unwrap();
    let next = post(
        4,
        "tools/call",
        json!({"_meta": meta, "name": "send_message",
               "arguments": {"conversation_id": id, "message": "[[brief]] again"}}),
    );
    assert_eq!(
        next["result"]["structuredContent"]["conversation_id"], id,
        "{next}"
    );
}

#[test]
fn a_task_over_http_runs_as_its_module_and_only_its_parties_see_it() {
    let (home, _guard, addr) = daemon_with_tcp("", "127.0.0.1:0");
    let tasks = json!({"extensions": {"io.modelcontextprotocol/tasks": {}}});
    let (marker_token, _) = token(home.path(), &["--module", "marker"]);
    let (outsider_token, _) = token(home.path(), &["--module", "claude_mcp"]);
    let mut marker = McpHttp::new(&addr, Some(&marker_token));
    marker.initialize_with(tasks.clone());
    let created = marker.tool(
        "send_message",
        json!({"target": "arangodb", "message": "[[brief]] as a task"}),
    );
    assert_eq!(created["resultType"], "task", "{created}");
    let task_id = created["taskId"].as_str().unwrap().to_string();

    // Another module's token cannot see or cancel it.
    let mut outsider = McpHttp::new(&addr, Some(&outsider_token));
    outsider.initialize_with(tasks);
    for method in ["tasks/get", "tasks/cancel"] {
        let seen = outsider.call(method, json!({"taskId": task_id}));
        assert!(seen["error"].is_object(), "{method}: {seen}");
        assert!(
            seen["error"]["message"]
                .as_str()
                .unwrap()
                .contains("can use"),
            "{seen}"
        );
    }

    // Its own host follows it to the answer (polled until it ends).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let done = loop {
        let got = marker.call("tasks/get", json!({"taskId": task_id}));
        let status = got["result"]["status"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        if status != "working" {
            break got;
        }
        assert!(std::time::Instant::now() < deadline, "still working: {got}");
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    assert_eq!(done["result"]["status"], "completed", "{done}");
    let outcome = &done["result"]["result"]["structuredContent"];
    assert_eq!(outcome["source"], "marker", "{done}");
    assert_eq!(outcome["status"], "delivered", "{done}");
    let jobs = json_of(&cli(home.path(), &["--json", "jobs", "list"]));
    assert!(
        jobs.to_string().contains(&task_id),
        "jobs list shows the task: {jobs}"
    );

    // A long task outlives the host that asked: it leaves (its session
    // ends), comes back with a new session, and collects the answer.
    let long = marker.tool(
        "send_message",
        json!({"target": "arangodb", "message": "[[delay:1500]] [[brief]] long"}),
    );
    let long_id = long["taskId"].as_str().unwrap().to_string();
    let left = marker.close();
    assert!(left.status < 300, "{left:?}");
    let mut back = McpHttp::new(&addr, Some(&marker_token));
    back.initialize_with(json!({"extensions": {"io.modelcontextprotocol/tasks": {}}}));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let collected = loop {
        let got = back.call("tasks/get", json!({"taskId": long_id}));
        if got["result"]["status"] != "working" {
            break got;
        }
        assert!(std::time::Instant::now() < deadline, "still working: {got}");
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    assert_eq!(collected["result"]["status"], "completed", "{collected}");
}
