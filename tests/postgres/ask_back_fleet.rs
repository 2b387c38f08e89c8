//! Ask-back across the fleet on PostgreSQL with the in-repo fake child
//! (issue 29): the agent answering on node B asks back; a host on node A
//! sees the task `input_required` with the question as its input request,
//! answers with `tasks/update`, and the task completes with the reply built
//! on the answer. Both sides learn of the other's move from the store's
//! notices (NOTIFY claude_comms_ask_backs), across processes and nodes.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::fleet_nodes::{Node, NodeSettings, json_of};
use crate::http_raw::McpHttp;
use crate::pg_cluster::PgCluster;

/// How long a step that takes well under a second may take on a loaded
/// machine before the test fails.
const WITHIN: Duration = Duration::from_secs(60);

/// `tasks/get` until `done` holds for the task (within [`WITHIN`]).
fn task_until(host: &mut McpHttp, task_id: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + WITHIN;
    loop {
        let got = host.call("tasks/get", json!({"taskId": task_id}));
        let task = got["result"].clone();
        if done(&task) {
            return task;
        }
        assert!(Instant::now() < deadline, "{got}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_task_on_node_a_answers_the_question_its_agent_on_node_b_asks_back() {
    let Some(cluster) = PgCluster::start() else {
        return;
    };
    let url = cluster.create_database("fleet_ask_back_task");
    let settings = NodeSettings {
        extra_toml: format!(
            "[permissions]\nshim = {:?}\n",
            env!("CARGO_BIN_EXE_claude-comms")
        ),
        ..NodeSettings::default()
    };
    let a = Node::new(&url, "node-a", &["marker"], &settings);
    let b = Node::new(&url, "node-b", &["arangodb"], &settings);
    let addr = a.start_listening();
    b.start_ok();
    let token = json_of(&a.cli(&["--json", "tokens", "create", "--module", "marker"]));
    let mut host = McpHttp::new(&addr, token["token"].as_str());
    host.initialize_with(
        json!({"elicitation": {}, "extensions": {"io.modelcontextprotocol/tasks": {}}}),
    );

    let created = host.call(
        "tools/call",
        json!({"name": "send_message", "arguments": {"target": "arangodb", "message": "[[askback:Which port, node A?]]"}}),
    );
    let task_id = created["result"]["taskId"]
        .as_str()
        .unwrap_or_else(|| panic!("expected a task: {created}"))
        .to_string();
    let waiting = task_until(&mut host, &task_id, |t| t["status"] != "working");
    assert_eq!(waiting["status"], "input_required", "{waiting}");
    let requests = waiting["inputRequests"].as_object().unwrap();
    assert_eq!(requests.len(), 1, "{waiting}");
    let (key, request) = requests.iter().next().unwrap();
    assert_eq!(request["method"], "elicitation/create", "{waiting}");
    assert!(
        request["params"]["message"]
            .as_str()
            .unwrap()
            .contains("Which port, node A?"),
        "{waiting}"
    );

    let updated = host.call(
        "tasks/update",
        json!({"taskId": task_id, "inputResponses": {key: {"action": "accept", "content": {"answer": "8529"}}}}),
    );
    assert!(updated.get("error").is_none(), "{updated}");
    let done = task_until(&mut host, &task_id, |t| {
        t["status"] != "input_required" && t["status"] != "working"
    });
    assert_eq!(done["status"], "completed", "{done}");
    assert_eq!(
        done["result"]["structuredContent"]["reply"], "asked back: marker answers: 8529",
        "{done}"
    );
    let job = json_of(&a.cli(&["--json", "jobs", "show", &task_id]));
    assert_eq!(
        (&job["status"], &job["node"]),
        (&json!("delivered"), &json!("node-b")),
        "{job}"
    );
    for node in [&a, &b] {
        let stopped = node.stop();
        assert!(
            stopped.status.success(),
            "{}",
            crate::fleet_nodes::said(&stopped)
        );
    }
}
