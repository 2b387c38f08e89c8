//! The seed's `start-instance --name marker_arangodb` on the claude-stream
//! backend, through the daemon with the real `claude` CLI: a warm process
//! in arangodb's folder held for the pair, listed under its name, taken by
//! the pair's next new conversation, and stopped by its name.

use crate::common;
use crate::daemon_cli;
use crate::model_stub;
use crate::real_children;
use crate::serve_process;

use daemon_cli::{DaemonGuard, cli, json_of};
use model_stub::{ModelStub, Turn};
use real_children::RealChildren;
use serde_json::Value;
use serve_process::process_exists;

fn named_row<'a>(rows: &'a Value, name: &str) -> Option<&'a Value> {
    rows.as_array()?
        .iter()
        .find(|r| r["instance"]["name"] == name)
}

#[ignore = "end-to-end tier: needs the real children (bash scripts/install-real-children.sh); scripts/test.sh runs it"]
#[test]
fn a_named_stream_instance_is_held_for_its_pair_and_stopped_by_its_name() {
    let Some(real) = RealChildren::find() else {
        return;
    };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let model = runtime.block_on(ModelStub::start_with(|r| {
        Turn::Text(model_stub::echo_answer(r))
    }));
    let claude_home = tempfile::tempdir().unwrap();
    let config = format!(
        "[instances]\nbackend = \"claude-stream\"\n\n{}",
        real.config_toml(&model, claude_home.path())
    );
    let home = common::home_with(&config);
    let _guard = DaemonGuard(home.path().to_path_buf());

    let started = cli(
        home.path(),
        &["start-instance", "--name", "marker_arangodb"],
    );
    let said = String::from_utf8_lossy(&started.stdout).to_string();
    assert!(
        started.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&started.stderr)
    );
    assert!(said.contains("marker_arangodb"), "{said}");

    let rows = json_of(&cli(home.path(), &["--json", "list-instances"]));
    let row = named_row(&rows, "marker_arangodb").unwrap_or_else(|| panic!("{rows}"));
    assert_eq!(row["instance"]["backend"], "claude-stream", "{row}");
    let id = row["instance"]["id"].as_str().unwrap().to_string();
    let pid = row["instance"]["pid"]
        .as_u64()
        .expect("a warm process runs") as i32;
    let table = String::from_utf8_lossy(&cli(home.path(), &["list-instances"]).stdout).to_string();
    assert!(
        table.contains("NAME") && table.contains("marker_arangodb"),
        "{table}"
    );

    // The pair's next new conversation starts on it.
    let answer = json_of(&cli(
        home.path(),
        &[
            "--json",
            "send",
            "--from",
            "marker",
            "--to",
            "arangodb",
            "first question",
        ],
    ));
    assert_eq!(answer["reply"], "stub model answer to: first question");
    assert_eq!(answer["instance_id"], id.as_str(), "{answer}");

    let stopped = cli(home.path(), &["stop-instance", "--id", "marker_arangodb"]);
    assert!(
        stopped.status.success(),
        "{}",
        String::from_utf8_lossy(&stopped.stderr)
    );
    let rows = json_of(&cli(home.path(), &["--json", "list-instances"]));
    assert!(named_row(&rows, "marker_arangodb").is_none(), "{rows}");
    assert!(
        !process_exists(pid as u32),
        "the named instance's claude is gone"
    );
    assert!(cli(home.path(), &["daemon", "stop"]).status.success());
}
