//! The fleet through its other faces (issue 19): a host on another
//! machine reaches any node's HTTP face with a module token made on any
//! node, and asks any module of the fleet; a budget is one budget however
//! many nodes its askers use.

use serde_json::{Value, json};

use crate::fleet::{ANSWERED_WITHIN, answered_by};
use crate::fleet_nodes::{Node, NodeSettings, json_of, said};
use crate::http_raw::{McpHttp, request, tool_text};
use crate::pg_cluster::PgCluster;

#[test]
fn a_module_token_made_on_one_node_acts_as_its_module_through_another_node() {
    let Some(cluster) = PgCluster::start() else {
        return;
    };
    let url = cluster.create_database("fleet_faces");
    let settings = NodeSettings::default();
    let a = Node::new(&url, "node-a", &["marker"], &settings);
    let b = Node::new(&url, "node-b", &["arangodb"], &settings);
    let addr = a.start_listening();
    b.start_ok();

    // The operator makes marker's token on B; a host elsewhere uses it on A.
    let created = json_of(&b.cli(&["--json", "tokens", "create", "--module", "marker"]));
    let token = created["token"].as_str().unwrap().to_string();
    let token_id = created["id"].as_str().unwrap().to_string();
    let mut host = McpHttp::new(&addr, Some(&token));
    host.initialize();
    let answer = host.tool(
        "send_message",
        json!({"target": "arangodb", "message": "which collections are there?"}),
    );
    assert_ne!(answer["isError"], true, "{answer}");
    let reply = Value::String(tool_text(&answer));
    assert!(
        answered_by(&reply, &b, "arangodb"),
        "not B's answer: {answer}\nB's log:\n{}",
        b.log_tail()
    );

    assert_eq!(answer["structuredContent"]["node"], "node-b", "{answer}");
    assert_eq!(answer["structuredContent"]["source"], "marker", "{answer}");

    // Stored as marker asking arangodb, seen from B.
    let listed = json_of(&b.cli(&["--json", "conversations", "list"]));
    let pairs: Vec<(Value, Value)> = listed["conversations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["source"].clone(), c["target"].clone()))
        .collect();
    assert_eq!(
        pairs,
        vec![(json!("marker"), json!("arangodb"))],
        "{listed}"
    );

    // The token acts as marker and nothing more, on this node too.
    let posing = host.tool(
        "send_message",
        json!({"source": "claude_mcp", "target": "arangodb", "message": "[[brief]] hi"}),
    );
    assert_eq!(posing["isError"], true, "{posing}");

    // Revoked on B: A refuses it at the next request.
    let revoked = b.cli(&["tokens", "revoke", &token_id]);
    assert!(revoked.status.success(), "{}", said(&revoked));
    let refused = request(
        &addr,
        "POST",
        &[
            ("Content-Type", "application/json"),
            ("Accept", "application/json, text/event-stream"),
            ("Authorization", &format!("Bearer {token}")),
        ],
        br#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"0"}}}"#,
    );
    assert_eq!(refused.status, 401, "{refused:?}");
}

#[test]
fn a_budget_shared_by_two_nodes_holds_exactly_at_its_cap() {
    const CAP: usize = 4;
    const EACH: usize = 5;
    let Some(cluster) = PgCluster::start() else {
        return;
    };
    let url = cluster.create_database("fleet_budget");
    let settings = NodeSettings {
        extra_toml: format!(
            "[budgets.pairs.\"marker->arangodb\"]\nmax_messages_per_hour = {CAP}\n"
        ),
        ..NodeSettings::default()
    };
    // Both nodes host arangodb: each answers what its own askers send.
    let a = Node::new(&url, "node-a", &["arangodb"], &settings);
    let b = Node::new(&url, "node-b", &["arangodb"], &settings);
    a.start_ok();
    b.start_ok();

    let sends: Vec<_> = (0..EACH)
        .flat_map(|i| {
            [&a, &b].map(|node| {
                node.spawn_send(
                    "marker",
                    "arangodb",
                    &format!("[[brief]] question {i} from {}", node.name),
                )
            })
        })
        .collect();
    let outputs: Vec<_> = sends
        .into_iter()
        .map(|s| s.finish(ANSWERED_WITHIN))
        .collect();
    let delivered = outputs.iter().filter(|o| o.status.success()).count();
    assert_eq!(
        delivered,
        CAP,
        "{}",
        outputs.iter().map(said).collect::<Vec<_>>().join("\n---\n")
    );
    for refused in outputs.iter().filter(|o| !o.status.success()) {
        let text = said(refused);
        assert!(
            text.contains("max_messages_per_hour"),
            "a refusal names the budget: {text}"
        );
    }
    // Nothing over the cap was stored, from either node.
    let queries = cluster
        .sql(
            "fleet_budget",
            "SELECT COUNT(*) FROM messages WHERE role = 'query'",
        )
        .expect("the store is readable");
    assert_eq!(queries.trim(), CAP.to_string());
}
