//! The web console over HTTP (issue 32), with the fake child: signing in
//! sets a session cookie (HttpOnly, SameSite=Strict, Path=/console, no
//! token in it); every page renders under a strict CSP; a request without
//! the session, a POST without the session's CSRF token or from another
//! origin is refused; a module token sees only its own module's side.

use crate::console_http;
use crate::daemon_cli;
use crate::http_hardening::{daemon, module_token};

use console_http::{Console, PageExt, send};
use daemon_cli::{cli, json_of};

fn admin_token(home: &std::path::Path) -> String {
    let created = json_of(&cli(home, &["--json", "tokens", "create", "--admin"]));
    created["token"].as_str().unwrap().to_string()
}

/// Sends one question through the CLI (the daemon carries it); its ids.
fn ask(home: &std::path::Path, from: &str, to: &str, text: &str) -> (String, String) {
    let sent = json_of(&cli(
        home,
        &["--json", "send", "--from", from, "--to", to, text],
    ));
    assert_eq!(sent["status"], "delivered", "{sent}");
    (
        sent["conversation_id"].as_str().unwrap().to_string(),
        sent["message_id"].as_str().unwrap().to_string(),
    )
}

#[test]
fn an_admin_signs_in_and_every_page_renders_under_a_strict_csp() {
    let (home, _guard, addr) = daemon("");
    let token = admin_token(home.path());
    let (conversation, job) = ask(home.path(), "marker", "arangodb", "where is zebraquartz?");

    let console = Console::sign_in(&addr, &token);
    let cookie = console.set_cookie.to_ascii_lowercase();
    for attribute in ["httponly", "samesite=strict", "path=/console"] {
        assert!(cookie.contains(attribute), "{attribute} in {cookie}");
    }
    let secret = token.rsplit('_').next().unwrap();
    assert!(
        !console.set_cookie.contains(secret) && !console.set_cookie.contains(&token[4..16]),
        "the cookie holds a random session id, not the token: {cookie}"
    );

    for path in [
        "/console/fleet",
        "/console/graph",
        "/console/jobs",
        "/console/conversations",
        "/console/costs",
        "/console/instances",
    ] {
        let page = console.get(path);
        assert_eq!(page.status, 200, "{path}: {page:?}");
        let csp = page.header("content-security-policy").unwrap_or_default();
        assert!(csp.contains("default-src 'self'"), "{path}: CSP {csp}");
        assert!(!csp.contains("unsafe-inline"), "{path}: CSP {csp}");
        assert_eq!(page.header("x-content-type-options"), Some("nosniff"));
        // Not no-referrer: Chromium would then send `Origin: null` with the
        // console's own forms (found by the browser test).
        assert_eq!(page.header("referrer-policy"), Some("same-origin"));
        // No inline script or style: the CSP would block it anyway.
        assert!(
            !page.body.contains("<script>") && !page.body.contains("style="),
            "{path}"
        );
        assert!(!page.body.contains(secret), "{path} shows no token");
    }
    let fleet = console.get("/console/fleet");
    assert!(
        fleet.body.contains("SQLite"),
        "says it is this machine only"
    );
    assert!(fleet.body.contains("marker"), "hosted modules listed");

    let jobs = console.get("/console/api/jobs");
    assert_eq!(jobs.status, 200);
    let jobs: serde_json::Value = serde_json::from_str(&jobs.body).unwrap();
    let row = jobs["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == job.as_str())
        .expect("the job is listed");
    assert_eq!(row["state"], "delivered");
    assert_eq!(row["cells"][1], "marker → arangodb");

    let graph = console.get("/console/graph");
    assert!(
        graph.body.contains(r#"data-pair="marker->arangodb""#),
        "the pair is an arrow"
    );
    assert!(
        graph.body.contains(r#"<td class="num count">1</td>"#),
        "with its count"
    );
    assert!(
        graph
            .body
            .contains("/console/conversations?source=marker&amp;target=arangodb"),
        "linking to its conversations"
    );
    let pair = console.get("/console/conversations?source=marker&target=arangodb");
    assert!(pair.body.contains(&conversation), "{}", pair.body);

    let found = console.get("/console/conversations?q=zebraquartz");
    assert!(
        found.body.contains(&format!(
            r#"<a href="/console/conversations/{conversation}#m1">marker → arangodb</a>"#
        )),
        "the question is a hit: {}",
        found.body
    );

    let read = console.get(&format!("/console/conversations/{conversation}"));
    assert_eq!(read.status, 200);
    assert!(read.body.contains("where is zebraquartz?"));
    assert!(read.body.contains(r#"data-role="reply""#));

    let export = console.get(&format!(
        "/console/conversations/{conversation}/export?format=markdown"
    ));
    assert_eq!(export.status, 200);
    assert!(
        export
            .header("content-disposition")
            .unwrap_or_default()
            .starts_with("attachment"),
        "a download"
    );
    assert!(export.body.contains("where is zebraquartz?"));
    let bad = console.get(&format!(
        "/console/conversations/{conversation}/export?format=pdf"
    ));
    assert_eq!(bad.status, 400);
    assert!(bad.body.contains("markdown, json or jsonl"), "{}", bad.body);

    let costs = console.get("/console/costs?window=24h");
    assert!(
        costs
            .body
            .contains(r#"<polyline data-series="marker → arangodb""#)
    );
}

#[test]
fn without_a_session_or_a_valid_csrf_token_nothing_is_served_or_done() {
    let (home, _guard, addr) = daemon("");
    let token = admin_token(home.path());

    let page = send(&addr, "GET", "/console/jobs", &[], "");
    assert_eq!(page.status, 303);
    assert_eq!(page.header("location"), Some("/console/login"));
    let api = send(&addr, "GET", "/console/api/jobs", &[], "");
    assert_eq!(api.status, 401);
    let forged = send(
        &addr,
        "GET",
        "/console/api/jobs",
        &[("Cookie", "cc_console=0123456789abcdef")],
        "",
    );
    assert_eq!(forged.status, 401, "an unknown session id is no session");

    let wrong = Console::try_sign_in(&addr, "cct_abc123_deadbeef");
    assert_eq!(wrong.status, 401);
    assert!(wrong.body.contains("unknown token"), "{}", wrong.body);
    assert!(wrong.header("set-cookie").is_none());

    let console = Console::sign_in(&addr, &token);
    let origin = Console::origin(&addr);
    for (csrf, origin, why) in [
        (None, Some(origin.as_str()), "no CSRF token"),
        (Some("forged"), Some(origin.as_str()), "a forged CSRF token"),
        (
            Some(console.get("/console/jobs").csrf().as_str()),
            Some("http://evil.example"),
            "another origin",
        ),
        (
            Some(console.get("/console/jobs").csrf().as_str()),
            None,
            "no Origin",
        ),
    ] {
        let refused = console.post_with("/console/logout", csrf, origin);
        assert_eq!(refused.status, 403, "{why}: {refused:?}");
        assert_eq!(
            console.get("/console/jobs").status,
            200,
            "{why}: still signed in"
        );
    }
    let other = Console::sign_in(&addr, &token);
    let foreign_csrf = other.get("/console/jobs").csrf();
    let refused = console.post_with("/console/logout", Some(&foreign_csrf), Some(&origin));
    assert_eq!(refused.status, 403, "another session's CSRF token");

    let out = console.post("/console/logout", "/console/jobs");
    assert_eq!(out.status, 303);
    assert!(out.header("set-cookie").unwrap().contains("Max-Age=0"));
    assert_eq!(
        console.get("/console/jobs").status,
        303,
        "signed out: back to sign-in"
    );
    assert_eq!(
        other.get("/console/jobs").status,
        200,
        "other sessions stay"
    );

    // A revoked token ends its sessions at the next request.
    let id = token.split('_').nth(1).unwrap();
    json_of(&cli(home.path(), &["--json", "tokens", "revoke", id]));
    assert_eq!(other.get("/console/api/jobs").status, 401);

    let rebound = send(
        &addr,
        "GET",
        "/console/login",
        &[("Host", "rebound.example")],
        "",
    );
    assert_eq!(rebound.status, 403, "a DNS-rebinding Host is refused");
}

#[test]
fn a_module_token_sees_only_its_module_and_acts_on_nothing() {
    let (home, _guard, addr) = daemon("");
    let (mine, _) = ask(home.path(), "marker", "arangodb", "mine: pelicanword");
    let (foreign, foreign_job) = ask(
        home.path(),
        "arangodb",
        "claude_mcp",
        "private: pelicanword",
    );
    let token = module_token(home.path(), "marker");
    let console = Console::sign_in(&addr, &token);

    let list = console.get("/console/conversations");
    assert!(list.body.contains(&mine) && !list.body.contains(&foreign));
    let found = console.get("/console/conversations?q=pelicanword");
    assert!(found.body.contains(&mine) && !found.body.contains(&foreign));
    assert!(!found.body.contains("private"), "{}", found.body);

    let unknown = "c0ffee00-0000-4000-8000-000000000000";
    let read_foreign = console.get(&format!("/console/conversations/{foreign}"));
    let read_unknown = console.get(&format!("/console/conversations/{unknown}"));
    assert_eq!((read_foreign.status, read_unknown.status), (404, 404));
    assert_eq!(
        read_foreign.body.replace(&foreign, "<id>"),
        read_unknown.body.replace(unknown, "<id>"),
        "a foreign id gets the same answer as an unknown one"
    );
    let export = console.get(&format!(
        "/console/conversations/{foreign}/export?format=json"
    ));
    assert_eq!(export.status, 404);
    assert!(!export.body.contains("private"));

    let jobs = console.get("/console/api/jobs");
    assert!(!jobs.body.contains(&foreign_job) && !jobs.body.contains(&foreign));
    let graph = console.get("/console/graph");
    assert!(graph.body.contains(r#"data-pair="marker->arangodb""#));
    assert!(!graph.body.contains("claude_mcp"), "{}", graph.body);
    let costs = console.get("/console/costs");
    assert!(!costs.body.contains("claude_mcp"));

    for path in ["/console/fleet", "/console/instances"] {
        let page = console.get(path);
        assert_eq!(page.status, 403, "{path}");
        assert!(page.body.contains("needs an admin token"), "{path}");
    }
    assert_eq!(console.get("/console/api/fleet").status, 403);
    let page = console.get("/console/jobs");
    assert!(
        !page.body.contains(r#"href="/console/fleet""#),
        "no link to it"
    );
    let cancel = console.post(
        &format!("/console/jobs/{foreign_job}/cancel"),
        "/console/jobs",
    );
    assert_eq!(cancel.status, 403);
    let stop = console.post("/console/instances/anything/stop", "/console/jobs");
    assert_eq!(stop.status, 403);
}

#[test]
fn a_conversation_shows_each_replys_commit_and_marks_it_stale_after_a_new_one() {
    let (home, _guard, addr) = daemon("");
    let folder = home.path().join("modules").join("arangodb");
    let git = |args: &[&str]| crate::common::git(&folder, args);
    git(&["init", "-q", "-b", "main"]);
    std::fs::write(folder.join("api.rs"), "pub fn store() {}\n").unwrap();
    git(&["add", "."]);
    git(&["commit", "-q", "-m", "first"]);
    let first = git(&["rev-parse", "HEAD"]).trim().to_string();
    let (conversation, _) = ask(home.path(), "marker", "arangodb", "how do I store?");
    let console = Console::sign_in(&addr, &admin_token(home.path()));
    let path = format!("/console/conversations/{conversation}");

    let fresh = console.get(&path);
    assert!(
        fresh.body.contains(&format!("commit {}…", &first[..12])),
        "the reply names its commit: {}",
        fresh.body
    );
    assert!(!fresh.body.contains("stale-reply"));

    std::fs::write(folder.join("api.rs"), "pub fn store(graph: &str) {}\n").unwrap();
    git(&["commit", "-q", "-am", "second"]);
    let stale = console.get(&path);
    assert!(
        stale.body.contains("stale-reply")
            && stale
                .body
                .contains("Stale: the module's folder changed since this reply"),
        "{}",
        stale.body
    );
    assert!(
        stale.body.contains("1 file(s) differ, 1 commit(s)"),
        "{}",
        stale.body
    );
}
