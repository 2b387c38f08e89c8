//! The fleet end to end with the real children (issue 19): two nodes, each
//! a daemon with its own home and module folders, on one throw-away
//! PostgreSQL database; Claude Code is the host on node A and asks a
//! module whose folder only node B has; B's real claude-code-mcp child
//! answers in B's folder, against the stand-in model.

use crate::fleet_nodes;
use crate::host;
use crate::model_stub;
use crate::pg_cluster;
use crate::real_children;

use fleet_nodes::{Node, NodeSettings, json_of, node_in, process_exists};
use model_stub::request_text;
use pg_cluster::PgCluster;
use real_children::RealChildren;
use serde_json::json;

#[ignore = "end-to-end tier: needs the real children (bash scripts/install-real-children.sh); scripts/test.sh runs it"]
#[test]
fn claude_code_on_node_a_asks_a_module_on_node_b_and_b_s_real_child_answers() {
    let Some(real) = RealChildren::find() else {
        return;
    };
    let Some(cluster) = PgCluster::start() else {
        return;
    };
    let url = cluster.create_database("fleet_real");
    let (model, _rt) = host::host_model();
    // Each node's agents run the real children with a `claude` home of
    // their own.
    let claude_homes = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
    let settings = |claude_home: &tempfile::TempDir| NodeSettings {
        instances_toml: Some(real.config_toml(&model, claude_home.path())),
        ..NodeSettings::default()
    };
    let a = Node::new(&url, "node-a", &["marker"], &settings(&claude_homes[0]));
    let b = Node::new(&url, "node-b", &["arangodb"], &settings(&claude_homes[1]));
    a.start_ok();
    b.start_ok();
    let status = json_of(&a.cli(&["--json", "fleet", "status"]));
    for (node, module) in [(&a, "marker"), (&b, "arangodb")] {
        let listed = node_in(&status, &node.name)
            .unwrap_or_else(|| panic!("{} is not in the fleet: {status}", node.name));
        assert_eq!(listed["alive"], true, "{listed}");
        assert_eq!(listed["modules"], json!([module]), "{listed}");
    }

    // Claude Code, with claude-comms registered as `serve --module marker`
    // on node A (its home, its daemon).
    let host_home = tempfile::tempdir().unwrap();
    let project = host_home.path().join("project");
    std::fs::create_dir_all(&project).unwrap();
    let mcp_config = host_home.path().join("mcp.json");
    std::fs::write(
        &mcp_config,
        json!({"mcpServers": {"claude-comms": {
            "command": env!("CARGO_BIN_EXE_claude-comms"),
            "args": ["serve", "--module", "marker"],
            "env": {"CLAUDE_COMMS_HOME": a.home(), "CLAUDE_COMMS_HUB": "auto", "RUST_LOG": "warn"}
        }}})
        .to_string(),
    )
    .unwrap();
    let extra_args = vec!["--mcp-config".into(), mcp_config.display().to_string()];
    let (out, offered) =
        host::run_claude_host(&real, &model, host_home.path(), &project, &extra_args);
    host::assert_answered_through_claude_comms(&model, &out, &offered);

    // The arangodb agent was asked on B: the prompt, rendered by the node
    // that answers, names that node's folder of the module ("Your working
    // folder is ..."); A has no folder of arangodb.
    let b_folder = b.folder("arangodb").display().to_string();
    let answering: Vec<String> = model
        .requests()
        .iter()
        .map(request_text)
        .filter(|t| t.contains("You are the agent of the module \"arangodb\""))
        .collect();
    assert!(
        !answering.is_empty() && answering.iter().all(|t| t.contains(&b_folder)),
        "the arangodb agent did not run in node B's folder {b_folder}: {answering:?}"
    );
    let host_answer = host::host_answer(&out);
    assert!(
        host_answer.contains("node-b"),
        "the tool's result does not say node-b answered: {host_answer}"
    );

    // A's job says B answered, and B runs the child that did.
    let jobs = json_of(&a.cli(&["--json", "jobs", "list"]));
    let jobs = jobs.as_array().unwrap();
    assert_eq!(jobs.len(), 1, "{jobs:?}");
    assert_eq!(jobs[0]["status"], "delivered", "{jobs:?}");
    assert_eq!(jobs[0]["node"], "node-b", "{jobs:?}");
    assert_eq!(
        jobs[0]["message"], "How should marker store page blocks?",
        "{jobs:?}"
    );
    let b_processes = b.processes();
    assert!(
        b_processes.len() > 1,
        "node B runs the real child that answered"
    );

    // `daemon stop` on each node leaves none of its processes behind.
    for node in [&a, &b] {
        let running = node.processes();
        let stopped = node.stop();
        assert!(stopped.status.success(), "{}", fleet_nodes::said(&stopped));
        for pid in running {
            assert!(
                !process_exists(pid),
                "process {pid} of node {} outlived `daemon stop`",
                node.name
            );
        }
    }
}

#[ignore = "end-to-end tier: needs the real children (bash scripts/install-real-children.sh); scripts/test.sh runs it"]
#[test]
fn an_agent_on_node_b_asks_back_and_the_asker_on_node_a_answers() {
    let Some(real) = RealChildren::find() else {
        return;
    };
    let Some(cluster) = PgCluster::start() else {
        return;
    };
    let url = cluster.create_database("fleet_ask_back");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let model = runtime.block_on(model_stub::ModelStub::start());
    let claude_homes = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
    let settings = |claude_home: &tempfile::TempDir| NodeSettings {
        instances_toml: Some(real.config_toml(&model, claude_home.path())),
        ..NodeSettings::default()
    };
    let a = Node::new(&url, "node-a", &["marker"], &settings(&claude_homes[0]));
    let b = Node::new(&url, "node-b", &["arangodb"], &settings(&claude_homes[1]));
    a.start_ok();
    b.start_ok();

    let message = format!(
        "[[tool:mcp__comms__ask_asker {}]]",
        json!({"question": "Which port, node A?"})
    );
    let sent = a.cli(&[
        "--json", "send", "--from", "marker", "--to", "arangodb", &message,
    ]);
    assert_eq!(sent.status.code(), Some(4), "{}", fleet_nodes::said(&sent));
    let asked: serde_json::Value = serde_json::from_slice(&sent.stdout).unwrap();
    assert_eq!(asked["input_request"]["question"], "Which port, node A?");
    let id = asked["message_id"].as_str().unwrap();

    let answered = a.cli(&["--json", "jobs", "answer", id, "8529"]);
    assert_eq!(
        answered.status.code(),
        Some(0),
        "{}",
        fleet_nodes::said(&answered)
    );
    let outcome: serde_json::Value = serde_json::from_slice(&answered.stdout).unwrap();
    let reply = outcome["reply"].as_str().unwrap();
    assert!(reply.contains("OK marker answers: 8529"), "{reply}");
    let job = json_of(&a.cli(&["--json", "jobs", "show", id]));
    assert_eq!(
        (&job["status"], &job["node"]),
        (&json!("delivered"), &json!("node-b")),
        "{job}"
    );
    for node in [&a, &b] {
        let stopped = node.stop();
        assert!(stopped.status.success(), "{}", fleet_nodes::said(&stopped));
    }
}
