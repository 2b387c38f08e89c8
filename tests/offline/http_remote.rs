//! The daemon's TCP face for hosts on other machines (simulated on
//! loopback), with the in-repo fake child: every request needs a token, a
//! module token acts as its module and nothing more, bad requests (no
//! token, revoked token, wrong Host, foreign Origin, huge body, someone
//! else's session) run nothing, a slow client holds up no one, and a
//! non-loopback address needs TLS, which then works.

use crate::common;
use crate::daemon_cli;
use crate::http_raw;

use std::io::Write;
use std::path::Path;

use daemon_cli::{DaemonGuard, cli, json_of};
use http_raw::{McpHttp, request, tool_text};
use serde_json::json;

/// A home with the fake child and a daemon listening on a free loopback
/// port; returns the home, the guard that stops the daemon, and host:port.
fn daemon_with_tcp(extra_toml: &str, listen: &str) -> (tempfile::TempDir, DaemonGuard, String) {
    let home = common::home_with(&format!("{}{extra_toml}", common::fake_child_toml()));
    let guard = DaemonGuard(home.path().to_path_buf());
    let started = cli(
        home.path(),
        &["--json", "daemon", "start", "--listen", listen],
    );
    let info = json_of(&started);
    let url = info["http_url"]
        .as_str()
        .expect("daemon start reports the TCP face")
        .to_string();
    let addr = url
        .trim_start_matches("http://")
        .trim_start_matches("https://")
        .trim_end_matches("/mcp")
        .replace("0.0.0.0", "127.0.0.1");
    (home, guard, addr)
}

fn token(home: &Path, args: &[&str]) -> (String, String) {
    let mut all = vec!["--json", "tokens", "create"];
    all.extend_from_slice(args);
    let created = json_of(&cli(home, &all));
    (
        created["token"].as_str().unwrap().to_string(),
        created["id"].as_str().unwrap().to_string(),
    )
}

fn conversation_count(home: &Path) -> usize {
    let list = json_of(&cli(home, &["--json", "conversations", "list"]));
    list["conversations"].as_array().map_or(0, Vec::len)
}

fn send_call() -> Vec<u8> {
    json!({"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {
        "name": "send_message",
        "arguments": {"source": "marker", "target": "arangodb", "message": "[[brief]] hi"}
    }})
    .to_string()
    .into_bytes()
}

#[test]
fn requests_without_a_valid_token_get_401_and_run_nothing() {
    let (home, _guard, addr) = daemon_with_tcp("", "127.0.0.1:0");
    let (good, good_id) = token(home.path(), &["--module", "marker"]);
    let json_headers = [
        ("Content-Type", "application/json"),
        ("Accept", "application/json, text/event-stream"),
    ];
    let with = |auth: Option<String>| {
        let mut headers: Vec<(&str, &str)> = json_headers.to_vec();
        if let Some(auth) = &auth {
            headers.push(("Authorization", auth));
        }
        request(&addr, "POST", &headers, &send_call())
    };

    let none = with(None);
    assert_eq!(none.status, 401, "{none:?}");
    assert_eq!(
        none.header("www-authenticate"),
        Some(r#"Bearer realm="claude-comms""#)
    );

    // The right id with one digit of the secret changed.
    let last = if good.ends_with('0') { "1" } else { "0" };
    let unknown_secret = format!("{}{last}", &good[..good.len() - 1]);
    for bad in [
        "Bearer nonsense".to_string(),
        format!("Basic {good}"),
        format!("Bearer cct_{good_id}_{}", "ab".repeat(32)),
        format!("Bearer {unknown_secret}"),
        "Bearer cct_000000000000_00".to_string(),
    ] {
        let reply = with(Some(bad.clone()));
        assert_eq!(reply.status, 401, "{bad}: {reply:?}");
        let challenge = reply.header("www-authenticate").unwrap_or_default();
        assert!(
            challenge.contains(r#"error="invalid_token""#),
            "{bad}: {challenge}"
        );
    }

    // The good token works; once revoked, it is refused at the next request.
    let mut client = McpHttp::new(&addr, Some(&good));
    client.initialize();
    let revoked = cli(home.path(), &["tokens", "revoke", &good_id]);
    assert!(revoked.status.success(), "{revoked:?}");
    let after = client.post(&json!({"jsonrpc": "2.0", "id": 9, "method": "tools/list"}));
    assert_eq!(after.status, 401, "{after:?}");
    assert!(
        after
            .header("www-authenticate")
            .unwrap_or_default()
            .contains("revoked")
    );

    // A token past its expiry is refused as expired (the wait is the
    // token's lifetime, not a guess about timing).
    let created = std::time::Instant::now();
    let (short, _) = token(home.path(), &["--module", "marker", "--expires", "1s"]);
    if let Some(left) = std::time::Duration::from_millis(1100).checked_sub(created.elapsed()) {
        std::thread::sleep(left);
    }
    let expired = McpHttp::new(&addr, Some(&short))
        .post(&json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}));
    assert_eq!(expired.status, 401, "{expired:?}");
    assert!(
        expired
            .header("www-authenticate")
            .unwrap_or_default()
            .contains("expired")
    );

    // Tokens for nothing, or for a module that does not exist, are not made.
    let unknown = cli(home.path(), &["tokens", "create", "--module", "nosuch"]);
    assert!(!unknown.status.success());
    assert!(
        String::from_utf8_lossy(&unknown.stderr).contains("nosuch"),
        "{unknown:?}"
    );
    let neither = cli(home.path(), &["tokens", "create"]);
    assert!(!neither.status.success());

    assert_eq!(conversation_count(home.path()), 0, "no refused request ran");
    let list = json_of(&cli(home.path(), &["--json", "tokens", "list"]));
    let revoked_row = list
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == good_id.as_str())
        .unwrap();
    assert!(revoked_row["revoked_at"].is_i64(), "{list}");
    assert!(
        !list.to_string().contains(&good[good.len() - 20..]),
        "no secret listed"
    );
    let log = std::fs::read_to_string(home.path().join("daemon.log")).unwrap_or_default();
    assert!(
        log.contains("HTTP request refused"),
        "refusals are logged: {log}"
    );
    assert!(
        !log.contains(&good[good.len() - 20..]),
        "the log holds no token: {log}"
    );
}

#[test]
fn a_module_token_acts_as_its_module_and_nothing_more() {
    let (home, _guard, addr) = daemon_with_tcp("", "127.0.0.1:0");
    let (marker_token, _) = token(home.path(), &["--module", "marker", "--label", "ci host"]);
    let (admin_token, _) = token(home.path(), &["--admin"]);
    // A conversation marker takes no part in, made by the operator.
    let other = json_of(&cli(
        home.path(),
        &[
            "--json",
            "send",
            "--from",
            "arangodb",
            "--to",
            "claude_mcp",
            "[[brief]] private",
        ],
    ));
    let other_id = other["conversation_id"].as_str().unwrap().to_string();

    let mut marker = McpHttp::new(&addr, Some(&marker_token));
    marker.initialize();
    let answer = marker.tool(
        "send_message",
        json!({"target": "arangodb", "message": "[[brief]] from afar"}),
    );
    assert_ne!(answer["isError"], json!(true), "{answer}");
    let sent = &answer["structuredContent"];
    assert_eq!(
        sent["source"], "marker",
        "the token's module is the source: {answer}"
    );
    let own_id = sent["conversation_id"].as_str().unwrap().to_string();

    let refusals = [
        (
            "send_message",
            json!({"source": "arangodb", "target": "claude_mcp", "message": "x"}),
            "cannot send as",
        ),
        (
            "send_message",
            json!({"conversation_id": other_id, "message": "x"}),
            "can use",
        ),
        (
            "get_conversation",
            json!({"conversation_id": other_id}),
            "can use",
        ),
        (
            "export_conversation",
            json!({"conversation_id": other_id, "format": "json"}),
            "can use",
        ),
        (
            "list_conversations",
            json!({"module": "arangodb"}),
            "only its own",
        ),
        (
            "start_instance",
            json!({"module": "arangodb", "source": "marker"}),
            "operator token",
        ),
        ("list_instances", json!({}), "operator token"),
        (
            "register_module",
            json!({"descriptor": {"name": "evil"}}),
            "operator token",
        ),
    ];
    for (tool, args, words) in refusals {
        let result = marker.tool(tool, args.clone());
        assert_eq!(result["isError"], json!(true), "{tool} {args}: {result}");
        assert!(tool_text(&result).contains(words), "{tool}: {result}");
    }
    let listed = marker.tool("list_conversations", json!({}));
    let ids: Vec<&str> = listed["structuredContent"]["conversations"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["id"].as_str())
        .collect();
    assert_eq!(ids, vec![own_id.as_str()], "{listed}");
    let read = marker.call(
        "resources/read",
        json!({"uri": format!("conversation://{other_id}")}),
    );
    assert!(
        read["error"].is_object(),
        "a foreign conversation is not readable: {read}"
    );
    let own = marker.tool("get_conversation", json!({"conversation_id": own_id}));
    assert_ne!(own["isError"], json!(true), "{own}");

    // The operator token may do what the module token may not.
    let mut admin = McpHttp::new(&addr, Some(&admin_token));
    admin.initialize();
    let instances = admin.tool("list_instances", json!({}));
    assert_ne!(instances["isError"], json!(true), "{instances}");
    let theirs = admin.tool("get_conversation", json!({"conversation_id": other_id}));
    assert_ne!(theirs["isError"], json!(true), "{theirs}");

    // A session belongs to the token that opened it.
    let (arangodb_token, _) = token(home.path(), &["--module", "arangodb"]);
    let mut hijack = McpHttp::new(&addr, Some(&arangodb_token));
    hijack.session = marker.session.clone();
    let stolen = hijack.post(&json!({"jsonrpc": "2.0", "id": 3, "method": "tools/list"}));
    assert_eq!(stolen.status, 404, "{stolen:?}");
}

#[test]
fn wrong_host_foreign_origin_and_huge_bodies_are_refused() {
    let (home, _guard, addr) = daemon_with_tcp("", "127.0.0.1:0");
    let (token, _) = token(home.path(), &["--module", "marker"]);
    let auth = format!("Bearer {token}");
    let base = [
        ("Content-Type", "application/json"),
        ("Accept", "application/json, text/event-stream"),
        ("Authorization", auth.as_str()),
    ];
    let with = |extra: &[(&str, &str)], body: &[u8]| {
        let mut headers = base.to_vec();
        headers.extend_from_slice(extra);
        request(&addr, "POST", &headers, body)
    };
    let rebinding = with(&[("Host", "attacker.example:80")], &send_call());
    assert_eq!(rebinding.status, 403, "{rebinding:?}");
    let origin = with(&[("Origin", "http://attacker.example")], &send_call());
    assert_eq!(origin.status, 403, "{origin:?}");
    let huge = vec![b' '; 6 * 1024 * 1024];
    let too_big = with(&[], &huge);
    assert_eq!(
        too_big.status,
        413,
        "{:?}",
        (too_big.status, &too_big.headers)
    );
    assert_eq!(conversation_count(home.path()), 0, "no refused request ran");
}

#[test]
fn a_client_that_stalls_holds_up_no_one() {
    let (home, _guard, addr) = daemon_with_tcp("", "127.0.0.1:0");
    let (token, _) = token(home.path(), &["--module", "marker"]);
    // One client sends half a request and stops; another opens a stream
    // and never reads it.
    let mut half = std::net::TcpStream::connect(&addr).unwrap();
    half.write_all(b"POST /mcp HTTP/1.1\r\nHost: ").unwrap();
    let mut silent = std::net::TcpStream::connect(&addr).unwrap();
    let body = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "s", "version": "0"}}})
    .to_string();
    write!(
        silent,
        "POST /mcp HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut client = McpHttp::new(&addr, Some(&token));
    client.initialize();
    let answer = client.tool(
        "send_message",
        json!({"target": "arangodb", "message": "[[brief]] still served"}),
    );
    assert_ne!(answer["isError"], json!(true), "{answer}");
    drop((half, silent));
}

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
