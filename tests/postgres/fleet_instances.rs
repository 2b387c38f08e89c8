//! Instances across nodes (issue 19): an instance runs on the node that
//! hosts its module, and every node's operator can watch it (`instances
//! monitor`: its history, then its live events) and stop, pause, resume
//! or restart it, as on one machine.

use std::time::Duration;

use serde_json::Value;

use crate::fleet::{ANSWERED_WITHIN, answered_by, ask};
use crate::fleet_nodes::{Node, NodeSettings, eventually, json_of, said};
use crate::pg_cluster::PgCluster;

/// The instance rows `instances list --json` on `node` shows for `on`.
fn instances_on(node: &Node, on: &str) -> Vec<Value> {
    let listed = json_of(&node.cli(&["--json", "instances", "list"]));
    listed
        .as_array()
        .expect("a list of instances")
        .iter()
        .filter(|row| row["node"] == on && row["server_alive"] == true)
        .cloned()
        .collect()
}

/// The state `instances list` on `node` gives instance `id`.
fn state_of(node: &Node, id: &str) -> Option<String> {
    let listed = json_of(&node.cli(&["--json", "instances", "list"]));
    listed
        .as_array()?
        .iter()
        .find(|row| row["instance"]["id"] == id)
        .and_then(|row| row["instance"]["state"].as_str().map(str::to_string))
}

/// How many of the monitor's JSON lines are events of `kind` whose text
/// contains `text`.
fn events(lines: &[String], kind: &str, text: &str) -> usize {
    lines
        .iter()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|e| e["kind"] == kind && e["text"].as_str().is_some_and(|t| t.contains(text)))
        .count()
}

#[test]
fn an_instance_on_another_node_is_watched_and_controlled_from_this_one() {
    let Some(cluster) = PgCluster::start() else {
        return;
    };
    let url = cluster.create_database("fleet_instances");
    let settings = NodeSettings::default();
    let a = Node::new(&url, "node-a", &["marker"], &settings);
    let b = Node::new(&url, "node-b", &["arangodb"], &settings);
    a.start_ok();
    b.start_ok();

    // A question from A starts an instance on B, where arangodb's folder is.
    let sent = ask(&a, "marker", "arangodb", "first question");
    assert!(answered_by(&sent["reply"], &b, "arangodb"), "{sent}");
    let row = eventually("A to list B's instance", Duration::from_secs(10), || {
        instances_on(&a, "node-b").into_iter().next()
    });
    let id = row["instance"]["id"].as_str().unwrap().to_string();

    // A's operator watches it: its history comes from B's journal...
    let mut monitor = a.follow_cli(&["--json", "instances", "monitor", &id, "--lines", "50"]);
    monitor.wait_until(
        "the first request in the history",
        ANSWERED_WITHIN,
        |lines| events(lines, "request", "marker asks arangodb") == 1,
    );
    // ... and then its live events, each once.
    let second = ask(&a, "marker", "arangodb", "second question");
    assert!(answered_by(&second["reply"], &b, "arangodb"), "{second}");
    monitor.wait_until("the second request, live", ANSWERED_WITHIN, |lines| {
        events(lines, "request", "marker asks arangodb") >= 2
    });

    // A's operator pauses it; B's daemon did it, and the watcher saw it.
    let paused = a.cli(&["instances", "pause", &id]);
    assert!(paused.status.success(), "{}", said(&paused));
    assert!(said(&paused).contains("paused"), "{}", said(&paused));
    eventually(
        "B to list the instance as paused",
        Duration::from_secs(10),
        || (state_of(&b, &id).as_deref() == Some("paused")).then_some(()),
    );
    monitor.wait_until("the pause, live", ANSWERED_WITHIN, |lines| {
        events(lines, "state", "paused") >= 1
    });

    let resumed = a.cli(&["--json", "instances", "resume", &id]);
    assert_eq!(json_of(&resumed)["instance_id"], id.as_str());
    let restarted = json_of(&a.cli(&["--json", "instances", "restart", &id]));
    assert_eq!(restarted["restarts"], 1, "{restarted}");
    let child = restarted["pid"]
        .as_u64()
        .expect("the restarted child's pid");
    assert!(
        crate::fleet_nodes::process_exists(child as u32),
        "{restarted}"
    );

    // Stopped from A: its child on B is gone, and B no longer lists it.
    let stopped = a.cli(&["instances", "stop", &id]);
    assert!(stopped.status.success(), "{}", said(&stopped));
    eventually(
        "the stopped child to be gone",
        Duration::from_secs(10),
        || (!crate::fleet_nodes::process_exists(child as u32)).then_some(()),
    );
    eventually("B to no longer list it", Duration::from_secs(10), || {
        instances_on(&b, "node-b")
            .iter()
            .all(|r| r["instance"]["id"] != id.as_str())
            .then_some(())
    });

    // An instance nobody runs is an error that names it, not a wait.
    let unknown = a.cli(&["instances", "monitor", "no-such-instance"]);
    assert!(!unknown.status.success());
    assert!(
        said(&unknown).contains("no-such-instance"),
        "{}",
        said(&unknown)
    );
}
