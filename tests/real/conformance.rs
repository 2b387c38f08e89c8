//! The official MCP conformance suite (`@modelcontextprotocol/conformance`,
//! pinned in tests/conformance/package.json with the Node 22 it needs,
//! installed by scripts/install-conformance.sh) against a daemon's HTTP
//! face on loopback, at protocol revision 2026-07-28: the revision's
//! required scenarios with the tasks extension (`--requirements`), then
//! every scenario of the revision (`--suite all --spec-version`). Every
//! check must pass but those tests/conformance/expected-failures.yaml
//! lists, each with its reason; an entry there that starts passing fails
//! the run as well.
//!
//! The suite sends no `Authorization` header, so it talks to the daemon
//! through a loopback proxy that adds an admin token's
//! (tests/support/token_proxy.rs); the daemon itself is unchanged.

use crate::common;
use crate::daemon_cli::{DaemonGuard, cli, json_of};
use crate::http_raw::McpHttp;
use crate::token_proxy::TokenProxy;

use std::path::{Path, PathBuf};

use serde_json::Value;

/// The installed suite's Node and entry point, or `None` (after saying
/// why) when the test may be skipped.
fn suite() -> Option<(PathBuf, PathBuf)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/conformance/node_modules");
    let node = dir.join(".bin/node");
    let entry = dir.join("@modelcontextprotocol/conformance/dist/index.js");
    if node.exists() && entry.exists() {
        return Some((node, entry));
    }
    let why = format!(
        "the MCP conformance suite is not installed in {} (run scripts/install-conformance.sh)",
        dir.display()
    );
    if std::env::var("CLAUDE_COMMS_REQUIRE_REAL").as_deref() == Ok("1") {
        panic!("{why}; CLAUDE_COMMS_REQUIRE_REAL=1 forbids skipping the end-to-end tier");
    }
    eprintln!("skipped: {why}");
    None
}

/// Every check the suite wrote under `out`: (scenario folder, check id,
/// status).
fn checks(out: &Path) -> Vec<(String, String, String)> {
    let mut found = Vec::new();
    for scenario in std::fs::read_dir(out).unwrap() {
        let scenario = scenario.unwrap().path();
        let Ok(text) = std::fs::read_to_string(scenario.join("checks.json")) else {
            continue;
        };
        let name = scenario.file_name().unwrap().to_string_lossy().to_string();
        let list: Vec<Value> = serde_json::from_str(&text).unwrap();
        for check in list {
            found.push((
                name.clone(),
                check["id"].as_str().unwrap_or_default().to_string(),
                check["status"].as_str().unwrap_or_default().to_string(),
            ));
        }
    }
    found
}

#[ignore = "end-to-end tier: needs scripts/install-conformance.sh; scripts/test.sh runs it"]
#[tokio::test(flavor = "multi_thread")]
async fn the_official_conformance_suite_passes_at_2026_07_28() {
    let Some((node, entry)) = suite() else {
        return;
    };
    // No check asks a module anything, so no child is configured.
    let home = common::home_with("");
    let _guard = DaemonGuard(home.path().to_path_buf());
    let started = json_of(&cli(
        home.path(),
        &["--json", "daemon", "start", "--listen", "127.0.0.1:0"],
    ));
    let url = started["http_url"].as_str().unwrap().to_string();
    let created = json_of(&cli(
        home.path(),
        &["--json", "tokens", "create", "--admin"],
    ));
    let token = created["token"].as_str().unwrap();
    let upstream = url
        .trim_start_matches("http://")
        .trim_end_matches("/mcp")
        .parse()
        .unwrap();
    let proxy = TokenProxy::start(upstream, token).await;
    let suite_url = format!("{}/mcp", proxy.base);
    let baseline =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/conformance/expected-failures.yaml");
    let node_home = tempfile::tempdir().unwrap();

    for selection in [
        &["--requirements", "2026-07-28"][..],
        &["--suite", "all", "--spec-version", "2026-07-28"][..],
    ] {
        let out = tempfile::tempdir().unwrap();
        let run = tokio::process::Command::new(&node)
            .arg(&entry)
            .args(["server", "--url", &suite_url])
            .args(selection)
            .arg("--expected-failures")
            .arg(&baseline)
            .arg("-o")
            .arg(out.path())
            .env("HOME", node_home.path())
            .kill_on_drop(true)
            .output()
            .await
            .unwrap();
        let said = format!(
            "{}{}",
            String::from_utf8_lossy(&run.stdout),
            String::from_utf8_lossy(&run.stderr)
        );
        assert!(
            run.status.success(),
            "conformance {selection:?} failed (exit {:?}):\n{said}",
            run.status
        );
        assert!(said.contains("Baseline check passed"), "{said}");

        // The checks the product fixes are about ran and passed (the suite
        // must not have skipped them).
        let all = checks(out.path());
        for wanted in [
            "localhost-host-valid-accepted",
            "localhost-host-rebinding-rejected",
            "sep-2575-http-server-method-not-found-404-initialize",
            "sep-2575-http-server-method-not-found-404-logging-setlevel",
            "sep-2575-http-server-method-not-found-404-resources-subscribe",
            "sep-2575-http-server-method-not-found-404-resources-unsubscribe",
            "tools-list",
            "resources-list",
            "prompts-list",
        ] {
            assert!(
                all.iter()
                    .any(|(_, id, status)| id == wanted && status == "SUCCESS"),
                "{selection:?}: check {wanted} did not pass: {:?}",
                all.iter()
                    .filter(|(_, id, _)| id == wanted)
                    .collect::<Vec<_>>()
            );
        }
        if selection[0] == "--requirements" {
            assert!(
                all.iter()
                    .any(|(scenario, _, _)| scenario.starts_with("server-tasks-lifecycle")),
                "the tasks extension ran too"
            );
        }
    }

    // The input-required scenarios (SEP-2322) fail because they call
    // fixtures only an SDK's test server has (expected-failures.yaml names
    // each): the daemon answers each as any unknown name. claude-comms's own
    // InputRequiredResult is tested in tests/offline/ask_back_mrtr.rs and
    // tests/real/ask_back_python.rs.
    let addr = url.trim_start_matches("http://").trim_end_matches("/mcp");
    let mut client = McpHttp::new(addr, Some(token));
    client.initialize();
    for fixture in [
        "test_input_required_result_elicitation",
        "test_input_required_result_sampling",
        "test_input_required_result_list_roots",
        "test_input_required_result_request_state",
        "test_input_required_result_multiple_inputs",
        "test_input_required_result_multi_round",
        "test_input_required_result_tampered_state",
        "test_input_required_result_capabilities",
    ] {
        let refused = client.call(
            "tools/call",
            serde_json::json!({"name": fixture, "arguments": {}}),
        );
        assert_eq!(refused["error"]["code"], -32602, "{fixture}: {refused}");
        assert!(
            refused["error"]["message"]
                .as_str()
                .unwrap_or_default()
                .contains(&format!("unknown tool \"{fixture}\"")),
            "{refused}"
        );
    }
    let refused = client.call(
        "prompts/get",
        serde_json::json!({"name": "test_input_required_result_prompt"}),
    );
    assert_eq!(refused["error"]["code"], -32602, "{refused}");
}
