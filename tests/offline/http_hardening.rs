//! The daemon's TCP face under abuse (issue 22): sessions stay bounded per
//! token and idle ones end; malformed requests get a clear 4xx with a
//! JSON-RPC error and reach no handler (foreign ids: `http_foreign_ids`).
//! After each case the daemon still serves.

use crate::common;
use crate::daemon_cli;
use crate::http_raw;

use std::path::Path;
use std::time::{Duration, Instant};

use daemon_cli::{DaemonGuard, cli, json_of};
use http_raw::{McpHttp, request};
use serde_json::{Value, json};

/// A daemon with the fake child whose TCP face listens on a free loopback
/// port, with `daemon_toml` added to its `[daemon]` table.
pub(crate) fn daemon(daemon_toml: &str) -> (tempfile::TempDir, DaemonGuard, String) {
    let home = common::home_with(&common::fake_child_toml());
    if !daemon_toml.is_empty() {
        let config = home.path().join("config.toml");
        let text = std::fs::read_to_string(&config).unwrap_or_default();
        std::fs::write(&config, format!("{text}\n[daemon]\n{daemon_toml}\n")).unwrap();
    }
    let guard = DaemonGuard(home.path().to_path_buf());
    let started = cli(
        home.path(),
        &["--json", "daemon", "start", "--listen", "127.0.0.1:0"],
    );
    let info = json_of(&started);
    let addr = info["http_url"]
        .as_str()
        .expect("daemon start reports the TCP face")
        .trim_start_matches("http://")
        .trim_end_matches("/mcp")
        .to_string();
    (home, guard, addr)
}

pub(crate) fn module_token(home: &Path, module: &str) -> String {
    let created = json_of(&cli(
        home,
        &["--json", "tokens", "create", "--module", module],
    ));
    created["token"].as_str().unwrap().to_string()
}

/// Whether a session still answers (a ping through it).
pub(crate) fn answers(client: &McpHttp) -> bool {
    let reply = client.post(&json!({"jsonrpc": "2.0", "id": 99, "method": "ping"}));
    match reply.status {
        200 => true,
        404 => false,
        other => panic!("a ping got {other}: {reply:?}"),
    }
}

/// The daemon still serves: a new session initializes and lists tools.
pub(crate) fn still_serves(addr: &str, token: &str) {
    let mut fresh = McpHttp::new(addr, Some(token));
    fresh.initialize();
    let tools = fresh.call("tools/list", json!({}));
    assert!(tools["result"]["tools"].is_array(), "{tools}");
}

#[test]
fn one_token_holds_a_bounded_number_of_sessions_and_idle_ones_end() {
    let (home, _guard, addr) = daemon("sessions_per_token = 3\nsession_idle_s = 2");
    let token = module_token(home.path(), "marker");
    let other_token = module_token(home.path(), "arangodb");
    let mut other = McpHttp::new(&addr, Some(&other_token));
    other.initialize();

    let open = || {
        let mut client = McpHttp::new(&addr, Some(&token));
        client.initialize();
        client
    };
    let first = open();
    let second = open();
    let third = open();
    assert!(answers(&first), "the first is now the most recently used");
    let fourth = open();
    assert!(
        !answers(&second),
        "past the cap the least recently used ends"
    );
    assert!(answers(&first) && answers(&third) && answers(&fourth));

    // A flood of sessions from one token keeps only the cap alive, and
    // leaves another token's session alone.
    let flood: Vec<McpHttp> = (0..30).map(|_| open()).collect();
    let live = [&first, &second, &third, &fourth]
        .into_iter()
        .chain(flood.iter())
        .filter(|c| answers(c))
        .count();
    assert_eq!(live, 3, "sessions alive after a flood of 34");
    assert!(flood[29..].iter().all(answers), "the newest ones live");
    assert!(answers(&other), "another token's session is untouched");
    let mut fresh = open();
    assert!(answers(&fresh));

    // Idle past session_idle_s: the next request gets 404 (the wait is the
    // configured limit, measured from the last answer, plus a margin for
    // the server to close that answer), and the client starts again.
    let last_answer = Instant::now();
    if let Some(left) = Duration::from_millis(2500).checked_sub(last_answer.elapsed()) {
        std::thread::sleep(left);
    }
    assert!(!answers(&fresh), "an idle session ends");
    fresh.session = None;
    fresh.initialize();
    assert!(answers(&fresh), "a fresh initialize works");
    // Ended by the client: gone at once.
    let closed = fresh.close();
    assert!(closed.status < 300, "{closed:?}");
    still_serves(&addr, &token);
}

#[test]
fn bad_session_settings_are_refused_at_start_naming_the_setting() {
    for (setting, words) in [
        ("sessions_per_token = 0", "daemon.sessions_per_token"),
        ("session_idle_s = 0", "daemon.session_idle_s"),
    ] {
        let home = common::home_with(&common::fake_child_toml());
        let config = home.path().join("config.toml");
        let text = std::fs::read_to_string(&config).unwrap_or_default();
        std::fs::write(&config, format!("{text}\n[daemon]\n{setting}\n")).unwrap();
        let _guard = DaemonGuard(home.path().to_path_buf());
        let started = cli(home.path(), &["daemon", "start", "--listen", "127.0.0.1:0"]);
        assert!(!started.status.success(), "{setting}: {started:?}");
        let stderr = String::from_utf8_lossy(&started.stderr);
        assert!(stderr.contains(words), "{setting}: {stderr}");
    }
}

/// What a malformed request must get: its status and, when the body is
/// JSON-RPC, the error code.
struct Case {
    name: &'static str,
    headers: Vec<(&'static str, String)>,
    body: Vec<u8>,
    status: u16,
    code: Option<i64>,
}

fn malformed_corpus(auth: &str) -> Vec<Case> {
    let json_headers = |extra: &[(&'static str, &str)]| {
        let mut h: Vec<(&'static str, String)> = vec![
            ("Content-Type", "application/json".into()),
            ("Accept", "application/json, text/event-stream".into()),
            ("Authorization", auth.to_string()),
        ];
        // A case's Content-Type or Accept replaces the usual one.
        h.retain(|(name, _)| {
            !extra
                .iter()
                .any(|(n, _)| *n == *name && *n != "Content-Length")
        });
        h.extend(extra.iter().map(|(n, v)| (*n, v.to_string())));
        h
    };
    let case = |name, extra: &[(&'static str, &str)], body: &[u8], status, code| Case {
        name,
        headers: json_headers(extra),
        body: body.to_vec(),
        status,
        code,
    };
    let initialize = br#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"x","version":"0"}}}"#;
    let mut no_type = json_headers(&[]);
    no_type.retain(|(n, _)| *n != "Content-Type");
    let huge_header = "a".repeat(512 * 1024);
    let mut many_headers = json_headers(&[]);
    for i in 0..200 {
        many_headers.push(("X-Filler", format!("{i}")));
    }
    vec![
        case("truncated JSON", &[], &initialize[..40], 400, Some(-32700)),
        case("empty body", &[], b"", 400, Some(-32700)),
        case("whitespace body", &[], b" \r\n ", 400, Some(-32700)),
        case("not JSON", &[], b"hello", 400, Some(-32700)),
        case(
            "bad UTF-8",
            &[],
            b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"\xff\"}",
            400,
            Some(-32700),
        ),
        case(
            "batch array",
            &[],
            format!("[{}]", String::from_utf8_lossy(initialize)).as_bytes(),
            400,
            Some(-32600),
        ),
        case("empty batch", &[], b"[]", 400, Some(-32600)),
        case("a number", &[], b"7", 400, Some(-32600)),
        case("null", &[], b"null", 400, Some(-32600)),
        case(
            "jsonrpc 1.0",
            &[],
            br#"{"jsonrpc":"1.0","id":1,"method":"ping"}"#,
            400,
            Some(-32600),
        ),
        case(
            "no jsonrpc",
            &[],
            br#"{"id":1,"method":"ping"}"#,
            400,
            Some(-32600),
        ),
        case(
            "method a number",
            &[],
            br#"{"jsonrpc":"2.0","id":1,"method":9}"#,
            400,
            Some(-32600),
        ),
        case(
            "id an object",
            &[],
            br#"{"jsonrpc":"2.0","id":{},"method":"ping"}"#,
            400,
            Some(-32600),
        ),
        case(
            "neither request nor response",
            &[],
            br#"{"jsonrpc":"2.0","id":1}"#,
            400,
            Some(-32600),
        ),
        case(
            "initialize params of the wrong shape",
            &[],
            br#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":5}}"#,
            400,
            Some(-32602),
        ),
        case(
            "text/plain",
            &[("Content-Type", "text/plain")],
            initialize,
            415,
            Some(-32600),
        ),
        Case {
            name: "no Content-Type",
            headers: no_type,
            body: initialize.to_vec(),
            status: 415,
            code: Some(-32600),
        },
        case(
            "Content-Length and Transfer-Encoding",
            &[("Transfer-Encoding", "chunked")],
            initialize,
            400,
            None,
        ),
        // The same Content-Length twice is one length (RFC 9110 §8.6 lets a
        // server take it so, and hyper does); two different ones are refused.
        case(
            "Content-Length twice, differing",
            &[("Content-Length", "3")],
            initialize,
            400,
            None,
        ),
        Case {
            name: "a huge header",
            headers: json_headers(&[("X-Huge", &huge_header)]),
            body: initialize.to_vec(),
            status: 431,
            code: None,
        },
        Case {
            name: "too many headers",
            headers: many_headers,
            body: initialize.to_vec(),
            status: 431,
            code: None,
        },
        case(
            "body over the limit",
            &[],
            &vec![b'['; 5 * 1024 * 1024],
            413,
            None,
        ),
        case(
            "unknown session",
            &[
                ("Mcp-Session-Id", "no-such-session"),
                ("MCP-Protocol-Version", "2025-11-25"),
            ],
            br#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#,
            404,
            None,
        ),
        case(
            "a request without a session",
            &[],
            br#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#,
            400,
            None,
        ),
        case(
            "not accepting SSE",
            &[("Accept", "application/json")],
            initialize,
            406,
            None,
        ),
    ]
}

#[test]
fn malformed_requests_get_a_clear_4xx_and_reach_no_handler() {
    let (home, _guard, addr) = daemon("");
    let token = module_token(home.path(), "marker");
    let auth = format!("Bearer {token}");
    let mut ok = McpHttp::new(&addr, Some(&token));
    ok.initialize();
    let corpus = malformed_corpus(&auth);
    assert!(corpus.len() >= 25);
    for case in corpus {
        let headers: Vec<(&str, &str)> =
            case.headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
        let reply = request(&addr, "POST", &headers, &case.body);
        assert_eq!(reply.status, case.status, "{}: {reply:?}", case.name);
        if let Some(code) = case.code {
            let body: Value = serde_json::from_str(&reply.body)
                .unwrap_or_else(|_| panic!("{}: a JSON-RPC error body: {reply:?}", case.name));
            assert_eq!(body["error"]["code"], json!(code), "{}: {body}", case.name);
            let message = body["error"]["message"].as_str().unwrap_or_default();
            assert!(
                message.len() > 10,
                "{}: says what is wrong: {body}",
                case.name
            );
        }
        assert!(answers(&ok), "{}: the daemon still serves", case.name);
    }
    // Other methods and paths.
    let auth_only = [("Authorization", auth.as_str())];
    let put = request(&addr, "PUT", &auth_only, b"{}");
    assert_eq!(put.status, 405, "{put:?}");
    let delete_unknown = request(
        &addr,
        "DELETE",
        &[("Authorization", auth.as_str()), ("Mcp-Session-Id", "nope")],
        b"",
    );
    assert_eq!(delete_unknown.status, 404, "{delete_unknown:?}");
    // Another token's session answers exactly as an unknown one.
    let other_token = module_token(home.path(), "arangodb");
    let mut other = McpHttp::new(&addr, Some(&other_token));
    other.initialize();
    let foreign = request(
        &addr,
        "DELETE",
        &[
            ("Authorization", auth.as_str()),
            ("Mcp-Session-Id", other.session.as_deref().unwrap()),
        ],
        b"",
    );
    assert_eq!(
        (foreign.status, &foreign.body),
        (delete_unknown.status, &delete_unknown.body)
    );
    assert!(answers(&other), "the other token's session is not ended");
    let list = json_of(&cli(home.path(), &["--json", "conversations", "list"]));
    assert_eq!(
        list["conversations"].as_array().map_or(0, Vec::len),
        0,
        "no refused request ran"
    );
    still_serves(&addr, &token);
}
