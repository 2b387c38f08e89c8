//! The daemon's TCP face for hosts on other machines (simulated on
//! loopback), with the in-repo fake child: every request needs a token, a
//! module token acts as its module and nothing more, bad requests (no
//! token, revoked token, wrong Host, foreign Origin, huge body, someone
//! else's session) run nothing, a slow client holds up no one, and a
//! non-loopback address needs TLS, which then works (`http_tls_revisions.rs`).

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
pub(crate) fn daemon_with_tcp(
    extra_toml: &str,
    listen: &str,
) -> (tempfile::TempDir, DaemonGuard, String) {
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

pub(crate) fn token(home: &Path, args: &[&str]) -> (String, String) {
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

    // A token past its expiry is refused as expired. The wait runs until
    // the expiry the store recorded has passed on the clock the daemon reads
    // (not a guess about how long `tokens create` took to start).
    let created = json_of(&cli(
        home.path(),
        &[
            "--json",
            "tokens",
            "create",
            "--module",
            "marker",
            "--expires",
            "1s",
        ],
    ));
    let short = created["token"].as_str().unwrap().to_string();
    let expires_at = created["expires_at"]
        .as_i64()
        .expect("a 1s token has an expiry");
    loop {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64;
        if now > expires_at {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(
            (expires_at - now + 1) as u64,
        ));
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
