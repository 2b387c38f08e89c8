//! The module registry under attack and under several processes: changes
//! reach every server on the same data folder, a client cannot read the
//! server's environment through `path`, relative and system folders are
//! handled, and what `register_module` accepts is what the loader loads.

use crate::common;
use crate::serve_process;

use std::process::Command;

use common::{call, connect, hub_in, text_of};
use serde_json::{Value, json};
use serve_process::Server;

fn descriptor(name: &str, version: &str, path: &str) -> Value {
    json!({
        "name": name,
        "version": version,
        "description": "A module registered by a test.",
        "path": path,
        "tags": ["registry-test"],
    })
}

fn names(list: &Value) -> Vec<String> {
    list["modules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap().to_string())
        .collect()
}

fn cli(home: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_claude-comms"))
        .args(args)
        .env("CLAUDE_COMMS_HOME", home)
        .env_remove("CLAUDE_COMMS_CONFIG")
        .env_remove("RUST_LOG")
        .output()
        .expect("claude-comms runs")
}

#[test]
fn a_module_registered_through_one_server_is_seen_by_another_at_once() {
    let home = tempfile::tempdir().unwrap();
    let mut a = Server::start(home.path());
    let mut b = Server::start(home.path());
    a.initialize();
    b.initialize();
    // B has loaded the registry before A changes it.
    let before = b.call_tool(1, "list_modules", json!({"tag": "registry-test"}));
    assert!(names(&before["structuredContent"]).is_empty(), "{before}");

    let registered = a.call_tool(
        2,
        "register_module",
        json!({"descriptor": descriptor("shared", "1.0.0", "/srv/shared")}),
    );
    assert_eq!(registered["isError"], false, "{registered}");
    let listed = b.call_tool(3, "list_modules", json!({"tag": "registry-test"}));
    assert_eq!(names(&listed["structuredContent"]), vec!["shared"]);

    // A replacement is seen too, with its new content.
    a.call_tool(
        4,
        "register_module",
        json!({"descriptor": descriptor("shared", "2.0.0", "/srv/shared")}),
    );
    let described = b.call_tool(5, "describe_module", json!({"name": "shared"}));
    assert_eq!(
        described["structuredContent"]["descriptor"]["version"], "2.0.0",
        "{described}"
    );

    // And a removal by a third process (the operator's CLI).
    let removed = cli(home.path(), &["modules", "remove", "shared"]);
    assert!(removed.status.success(), "{removed:?}");
    for (i, server) in [&mut a, &mut b].into_iter().enumerate() {
        let gone = server.call_tool(6 + i as i64, "describe_module", json!({"name": "shared"}));
        assert_eq!(gone["isError"], true, "{gone}");
    }
    assert!(a.finish().success());
    assert!(b.finish().success());
}

#[tokio::test]
async fn a_client_cannot_read_the_servers_environment_through_path() {
    let home = tempfile::tempdir().unwrap();
    let client = connect(hub_in(home.path())).await;
    let secret = std::env::var("PATH").expect("PATH is set in tests");
    let attempt = call(
        &client,
        "register_module",
        json!({"descriptor": descriptor("leaky", "1", "/x/${PATH}")}),
    )
    .await;
    assert_eq!(attempt.is_error, Some(true));
    let text = text_of(&attempt);
    assert!(text.contains("path:") && text.contains("`$`"), "{text}");
    assert!(!text.contains(&secret), "{text}");

    // A descriptor that reached the user folder anyway (an older version,
    // or a hand-placed file) is not expanded either, and not echoed.
    let user_dir = home.path().join("descriptors");
    std::fs::create_dir_all(&user_dir).unwrap();
    std::fs::write(
        user_dir.join("leaky.yaml"),
        "name: leaky\nversion: '1'\ndescription: d\npath: /x/$PATH\n",
    )
    .unwrap();
    let described = call(&client, "describe_module", json!({"name": "leaky"})).await;
    let shown = serde_json::to_string(&described).unwrap();
    assert!(!shown.contains(&secret), "{shown}");
    let details = described.structured_content.unwrap();
    assert_eq!(details["folder"], Value::Null);
    assert!(
        details["folder_error"]
            .as_str()
            .unwrap()
            .contains("/x/$PATH"),
        "{details}"
    );
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn relative_paths_resolve_against_the_descriptor_file_and_system_folders_are_flagged() {
    let home = tempfile::tempdir().unwrap();
    std::fs::write(
        home.path().join("config.toml"),
        "[module_paths]\nmarker = \"/\"\narangodb = \"code/arangodb\"\n",
    )
    .unwrap();
    let user_dir = home.path().join("descriptors");
    std::fs::create_dir_all(&user_dir).unwrap();
    std::fs::write(
        user_dir.join("nearby.yaml"),
        "name: nearby\nversion: '1'\ndescription: d\npath: ../work/nearby\n",
    )
    .unwrap();
    let client = connect(hub_in(home.path())).await;

    // Over MCP: relative and system folders are refused.
    for (path, words) in [
        ("work/x", "relative"),
        ("/", "root folder"),
        ("/etc", "system folder"),
    ] {
        let r = call(
            &client,
            "register_module",
            json!({"descriptor": descriptor("pathy", "1", path)}),
        )
        .await;
        assert_eq!(r.is_error, Some(true), "{path}");
        assert!(text_of(&r).contains(words), "{path}: {}", text_of(&r));
    }

    // In files: relative to the file's folder, never to the server's cwd.
    let folder_of = |v: &Value| v["folder"].as_str().unwrap_or_default().to_string();
    let nearby = call(&client, "describe_module", json!({"name": "nearby"})).await;
    assert_eq!(
        folder_of(nearby.structured_content.as_ref().unwrap()),
        home.path().join("work/nearby").display().to_string()
    );
    let arangodb = call(&client, "describe_module", json!({"name": "arangodb"})).await;
    assert_eq!(
        folder_of(arangodb.structured_content.as_ref().unwrap()),
        home.path().join("code/arangodb").display().to_string()
    );

    // The operator's own `/` is allowed but warned about, in list and describe.
    let marker = call(&client, "describe_module", json!({"name": "marker"})).await;
    let warnings = marker.structured_content.unwrap()["warnings"].to_string();
    assert!(warnings.contains("root folder"), "{warnings}");
    let listed = call(&client, "list_modules", json!({})).await;
    let warnings = listed.structured_content.unwrap()["warnings"].to_string();
    assert!(
        warnings.contains("module marker") && warnings.contains("root folder"),
        "{warnings}"
    );
    client.cancel().await.unwrap();

    // And doctor says so.
    let doctor = cli(home.path(), &["doctor", "--no-start"]);
    let text = String::from_utf8_lossy(&doctor.stdout);
    assert!(
        text.contains("module marker") && text.contains("root folder"),
        "{text}"
    );
}

#[tokio::test]
async fn a_descriptor_the_loader_would_refuse_never_replaces_a_working_one() {
    let home = tempfile::tempdir().unwrap();
    let client = connect(hub_in(home.path())).await;
    let good = descriptor("deep", "1.0.0", "/srv/deep");
    let r = call(&client, "register_module", json!({"descriptor": good})).await;
    assert_eq!(r.is_error, Some(false), "{}", text_of(&r));

    // 62 levels inside the data type: 65 in the document, one over the limit
    // (and well under the 128 levels a JSON-RPC frame may nest).
    let mut schema = json!({"type": "object"});
    for _ in 1..62 {
        schema = json!({"properties": schema});
    }
    let mut deep = descriptor("deep", "2.0.0", "/srv/deep");
    deep["data_types"] = json!([{"name": "deep", "description": "d", "schema": schema}]);
    let r = call(&client, "register_module", json!({"descriptor": deep})).await;
    assert_eq!(r.is_error, Some(true));
    assert!(text_of(&r).contains("at most 64 levels"), "{}", text_of(&r));

    let mut wide = descriptor("deep", "3.0.0", "/srv/deep");
    wide["tags"] = json!(vec!["t"; 250_001]);
    let r = call(&client, "register_module", json!({"descriptor": wide})).await;
    assert_eq!(r.is_error, Some(true));
    assert!(text_of(&r).contains("250000"), "{}", text_of(&r));
    client.cancel().await.unwrap();

    // A restart still has the working version.
    let client = connect(hub_in(home.path())).await;
    let described = call(&client, "describe_module", json!({"name": "deep"})).await;
    assert_eq!(
        described.structured_content.unwrap()["descriptor"]["version"],
        "1.0.0"
    );
    client.cancel().await.unwrap();
}
