//! A fleet behind Debian's PgBouncer 1.18 in transaction mode (issue 28):
//! with `[store] pooler = "transaction"` every statement works through
//! it; one node listens over a direct `listen_url`, the other has none
//! and polls (and says so). Both answer each other's questions, round
//! after round.

use serde_json::Value;

use crate::fleet::{ANSWERED_WITHIN, answered_by};
use crate::fleet_nodes::{Node, NodeSettings, json_of};
use crate::pg_cluster::PgCluster;
use crate::pgbouncer::PgBouncer;

/// Rounds of questions; each round both nodes ask the other twice at once.
const ROUNDS: usize = 8;

#[test]
fn a_fleet_answers_through_a_transaction_mode_pooler() {
    let Some(cluster) = PgCluster::start() else {
        return;
    };
    let direct = cluster.create_database("pooled");
    let Some(bouncer) = PgBouncer::start(&cluster, "pooled", 3) else {
        return;
    };
    let pooled = bouncer.url("pooled");
    let listening = NodeSettings {
        store_toml: format!("pooler = \"transaction\"\nlisten_url = {direct:?}"),
        ..NodeSettings::default()
    };
    let polling = NodeSettings {
        store_toml: "pooler = \"transaction\"".into(),
        ..NodeSettings::default()
    };
    let a = Node::new(&pooled, "node-a", &["marker"], &listening);
    let b = Node::new(&pooled, "node-b", &["arangodb"], &polling);
    a.start_ok();
    b.start_ok();

    for round in 0..ROUNDS {
        let asked: Vec<_> = (0..2)
            .flat_map(|i| {
                let to_b = format!("round {round} question {i} for arangodb");
                let to_a = format!("round {round} question {i} for marker");
                [
                    (
                        to_b.clone(),
                        &b,
                        "arangodb",
                        a.spawn_send("marker", "arangodb", &to_b),
                    ),
                    (
                        to_a.clone(),
                        &a,
                        "marker",
                        b.spawn_send("arangodb", "marker", &to_a),
                    ),
                ]
            })
            .collect();
        for (text, answerer, module, running) in asked {
            let sent = json_of(&running.finish(ANSWERED_WITHIN));
            assert_eq!(
                sent["status"],
                "delivered",
                "{text}: {sent}\nA's log:\n{}\nB's log:\n{}\npgbouncer:\n{}",
                a.log_tail(),
                b.log_tail(),
                bouncer.log_tail()
            );
            assert!(answered_by(&sent["reply"], answerer, module), "{sent}");
            assert!(sent["reply"].as_str().unwrap().contains(&text), "{sent}");
        }
    }

    // Nothing of the store failed on the way (a named statement through
    // the pooler fails with "prepared statement ... already exists").
    for node in [&a, &b] {
        let log = std::fs::read_to_string(node.home().join("daemon.log")).unwrap_or_default();
        assert!(!log.contains("prepared statement"), "{}", node.log_tail());
    }
    // B says it polls instead of listening, in its log and its status.
    let log = std::fs::read_to_string(b.home().join("daemon.log")).unwrap_or_default();
    assert!(log.contains("no listener"), "{}", b.log_tail());
    let status: Value = json_of(&b.cli(&["--json", "store", "status"]));
    assert_eq!(status["connections"]["pooler"], "transaction", "{status}");
    assert!(
        status["connections"]["listener"]
            .as_str()
            .unwrap()
            .contains("polling"),
        "{status}"
    );
    let status: Value = json_of(&a.cli(&["--json", "store", "status"]));
    assert!(
        !status["connections"]["listener"]
            .as_str()
            .unwrap()
            .contains("polling"),
        "{status}"
    );
}
