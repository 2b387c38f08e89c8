//! End-to-end (issue 31) in a two-node fleet on PostgreSQL: the A2A face
//! of node A reaches a module only node B hosts (the question is routed
//! to B, which answers from its folder), and an A2A agent registered as a
//! module is asked from either node, neither of which needs a folder.

use crate::a2a::python;
use crate::a2a_modules::AgentProcess;
use crate::fleet_nodes::{Node, NodeSettings, json_of};
use crate::http_raw::request_to;

use serde_json::{Value, json};

fn send(addr: &str, token: &str, module: &str, text: &str) -> Value {
    let bearer = format!("Bearer {token}");
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "SendMessage", "params": {
        "message": {"messageId": "m", "role": "ROLE_USER", "parts": [{"text": text}]}}});
    let reply = request_to(
        addr,
        "POST",
        &format!("/a2a/{module}"),
        &[
            ("Authorization", bearer.as_str()),
            ("Content-Type", "application/json"),
            ("A2A-Version", "1.0"),
        ],
        body.to_string().as_bytes(),
    );
    assert_eq!(reply.status, 200, "{reply:?}");
    let answer: Value = serde_json::from_str(&reply.body).unwrap();
    answer["result"]["task"].clone()
}

#[ignore = "end-to-end tier: needs PostgreSQL and the Python A2A SDK (scripts/install-postgres.sh, scripts/install-real-children.sh); scripts/test.sh runs it"]
#[test]
fn node_a_s_a2a_face_reaches_node_b_s_module_and_any_node_asks_an_a2a_agent() {
    let Some(cluster) = crate::pg_cluster::PgCluster::start() else {
        return;
    };
    let Some(python) = python() else {
        return;
    };
    let agent = AgentProcess::start(&python, None);
    let port = agent.port;

    let url = cluster.create_database("a2a_fleet");
    let settings = NodeSettings::default();
    let a = Node::new(&url, "node-a", &["marker"], &settings);
    let b = Node::new(&url, "node-b", &["arangodb"], &settings);
    let addr = a.start_listening();
    b.start_ok();
    let token = json_of(&a.cli(&["--json", "tokens", "create", "--module", "marker"]))["token"]
        .as_str()
        .unwrap()
        .to_string();

    let task = send(&addr, &token, "arangodb", "routed over A2A");
    assert_eq!(task["status"]["state"], "TASK_STATE_COMPLETED", "{task}");
    let answer = task["artifacts"][0]["parts"][0]["text"].as_str().unwrap();
    let b_folder = b.folder("arangodb").display().to_string();
    assert!(
        answer.starts_with(&format!("fake answer from {b_folder}")),
        "node-b answered from its folder: {answer}"
    );

    // The A2A agent as a module, registered once for the whole fleet.
    let descriptor = a.home().join("vendor.yaml");
    std::fs::write(
        &descriptor,
        format!("name: vendor\nversion: \"1\"\ndescription: d\na2a:\n  url: \"http://127.0.0.1:{port}\"\n"),
    )
    .unwrap();
    let registered = a.cli(&["modules", "register", &descriptor.display().to_string()]);
    assert!(registered.status.success(), "{registered:?}");
    for node in [&a, &b] {
        let sent = crate::fleet_nodes::eventually(
            "every node knows the shared descriptor",
            std::time::Duration::from_secs(10),
            || {
                let out = node.cli(&["--json", "send", "--from", "marker", "--to", "vendor", "hi"]);
                out.status.success().then(|| json_of(&out))
            },
        );
        let reply = sent["reply"].as_str().unwrap();
        assert!(reply.starts_with("echo: hi (turn 1 of context "), "{reply}");
    }

    // Pinned to node B (`a2a.node`): node A's questions go to B, which
    // asks the agent; B asks it itself.
    let pinned = a.home().join("pinned.yaml");
    std::fs::write(
        &pinned,
        format!("name: pinned\nversion: \"1\"\ndescription: d\na2a:\n  url: \"http://127.0.0.1:{port}\"\n  node: node-b\n"),
    )
    .unwrap();
    let registered = a.cli(&["modules", "register", &pinned.display().to_string()]);
    assert!(registered.status.success(), "{registered:?}");
    let from_a = crate::fleet_nodes::eventually(
        "node-b hosts the pinned agent",
        std::time::Duration::from_secs(20),
        || {
            let out = a.cli(&[
                "--json", "send", "--from", "marker", "--to", "pinned", "via b",
            ]);
            out.status.success().then(|| json_of(&out))
        },
    );
    assert_eq!(
        from_a["node"], "node-b",
        "routed to the pinned node: {from_a}"
    );
    assert!(
        from_a["reply"].as_str().unwrap().starts_with("echo: via b"),
        "{from_a}"
    );
    let from_b = json_of(&b.cli(&[
        "--json", "send", "--from", "arangodb", "--to", "pinned", "here",
    ]));
    assert_eq!(from_b["status"], "delivered", "{from_b}");
    assert!(
        from_b["reply"].as_str().unwrap().starts_with("echo: here"),
        "{from_b}"
    );
    drop(agent);
}
