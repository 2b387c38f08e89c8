//! The fleet capability: only a store that nodes on several machines can
//! share holds a fleet (PostgreSQL), and `store.fleet()` says which by
//! its type (`None` on SQLite, never an error of every call). Where there
//! is a fleet, its operations are exercised through the `FleetQueue`
//! trait; on a backend without one those cases have nothing to check.

use claude_comms::store::{MessageStatus, NodeRecord, SCHEMA_VERSION, StoreError};

use super::Backend;
use super::helpers::{ask, live_server, pair, reply};
use super::servers::instance;

const LEASE_MS: i64 = 60_000;

fn node(name: &str, server_id: &str, modules: &[&str]) -> NodeRecord {
    NodeRecord {
        name: name.into(),
        server_id: server_id.into(),
        address: None,
        version: "9.9.9".into(),
        schema_version: SCHEMA_VERSION,
        started_at: 0,
        modules: modules.iter().map(|m| m.to_string()).collect(),
    }
}

pub async fn a_fleet_is_held_exactly_where_the_backend_can_hold_one<B: Backend>(b: &B) {
    let s = b.open("main");
    assert_eq!(
        s.fleet().is_some(),
        B::HOLDS_A_FLEET,
        "{} store",
        s.backend_name()
    );
    assert_eq!(s.fleet().is_some(), s.backend_name() == "postgresql");
}

pub async fn a_routed_question_is_claimed_once_and_closed_by_its_claimant<B: Backend>(b: &B) {
    let (s, other) = (b.open("main"), b.open("main"));
    let (Some(fleet), Some(elsewhere)) = (s.fleet(), other.fleet()) else {
        return;
    };
    fleet
        .register_node(&node("node-a", "srv-a", &["arangodb"]), LEASE_MS)
        .await
        .unwrap();
    elsewhere
        .register_node(&node("node-b", "srv-b", &["marker"]), LEASE_MS)
        .await
        .unwrap();
    let nodes = fleet.nodes(LEASE_MS).await.unwrap();
    assert_eq!(nodes.len(), 2);
    assert!(nodes.iter().all(|n| n.alive && n.in_flight == 0));
    let hosting = elsewhere.nodes_hosting("arangodb", LEASE_MS).await.unwrap();
    assert_eq!(hosting.len(), 1);
    assert_eq!(hosting[0].record.name, "node-a");

    let c = pair(&s).await;
    let q = ask(&s, &c.id, "routed?", "srv-b").await;
    elsewhere
        .route_query(&q.id, &c.target, r#"{"asked_on":"node-b"}"#, None)
        .await
        .unwrap();
    let waiting = fleet.query_state(&q.id).await.unwrap();
    assert_eq!(
        (waiting.status, waiting.claimed_by),
        (MessageStatus::Pending, None)
    );
    // A node that does not host the target claims nothing; the one that
    // does claims it once, with the route its asker left.
    let hosted_b = vec!["marker".to_string()];
    assert!(
        elsewhere
            .claim_queries("node-b", &hosted_b, LEASE_MS, 4)
            .await
            .unwrap()
            .is_empty()
    );
    let hosted_a = vec!["arangodb".to_string()];
    let claimed = fleet
        .claim_queries("node-a", &hosted_a, LEASE_MS, 4)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(
        (claimed[0].query.id.as_str(), claimed[0].route.as_str()),
        (q.id.as_str(), r#"{"asked_on":"node-b"}"#)
    );
    assert!(
        fleet
            .claim_queries("node-a", &hosted_a, LEASE_MS, 4)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        elsewhere
            .query_state(&q.id)
            .await
            .unwrap()
            .claimed_by
            .as_deref(),
        Some("node-a")
    );

    // Only the claimant closes it.
    elsewhere
        .finish_claimed_query(&q.id, "node-b", reply("not mine"))
        .await
        .unwrap_err();
    let answer = fleet
        .finish_claimed_query(&q.id, "node-a", reply("from node-a"))
        .await
        .unwrap();
    let routed = elsewhere.routed_state(&q.id).await.unwrap();
    assert_ne!(routed.state.status, MessageStatus::Pending);
    let outcome = routed.outcome.expect("the stored reply");
    assert_eq!(
        (outcome.id.as_str(), outcome.content.as_str()),
        (answer.id.as_str(), "from node-a")
    );
}

pub async fn a_node_name_is_one_live_process_of_one_schema_version<B: Backend>(b: &B) {
    let s = b.open("main");
    let Some(fleet) = s.fleet() else {
        return;
    };
    fleet
        .register_node(&node("node-a", "srv-1", &[]), LEASE_MS)
        .await
        .unwrap();
    let taken = fleet
        .register_node(&node("node-a", "srv-2", &[]), LEASE_MS)
        .await
        .unwrap_err();
    assert!(
        matches!(&taken, StoreError::NodeNameTaken { name, .. } if name == "node-a"),
        "{taken}"
    );
    assert!(
        taken.to_string().contains("is already in the fleet"),
        "{taken}"
    );
    let newer = NodeRecord {
        schema_version: SCHEMA_VERSION + 1,
        ..node("node-b", "srv-3", &[])
    };
    let mismatch = fleet.register_node(&newer, LEASE_MS).await.unwrap_err();
    assert!(
        matches!(mismatch, StoreError::SchemaMismatch { found, known, .. }
            if found == SCHEMA_VERSION && known == SCHEMA_VERSION + 1),
        "{mismatch}"
    );

    // The heartbeat is the name's holder's only; a stopped node is not alive.
    let modules = vec!["arangodb".to_string()];
    assert!(
        fleet
            .node_heartbeat("node-a", "srv-1", &modules, LEASE_MS)
            .await
            .unwrap()
    );
    assert!(
        !fleet
            .node_heartbeat("node-a", "srv-2", &modules, LEASE_MS)
            .await
            .unwrap()
    );
    fleet.stop_node("node-a", "srv-1").await.unwrap();
    let nodes = fleet.nodes(LEASE_MS).await.unwrap();
    let a = nodes.iter().find(|n| n.record.name == "node-a").unwrap();
    assert!(a.stopped && !a.alive);
    assert_eq!(a.record.modules, modules);
    // ... and its name is free again.
    fleet
        .register_node(&node("node-a", "srv-2", &[]), LEASE_MS)
        .await
        .unwrap();
}

/// A process has one liveness record: a node is alive while its daemon's
/// server row is (the node's heartbeat beats that row), and a server
/// that stops takes its node with it.
pub async fn a_node_lives_and_dies_with_its_process_s_one_heartbeat<B: Backend>(b: &B) {
    let s = b.open("main");
    let Some(fleet) = s.fleet() else {
        return;
    };
    s.register_server(&live_server("srv-n")).await.unwrap();
    fleet
        .register_node(&node("node-n", "srv-n", &[]), LEASE_MS)
        .await
        .unwrap();
    let alive = |nodes: Vec<claude_comms::store::NodeRow>| {
        nodes
            .into_iter()
            .find(|n| n.record.name == "node-n")
            .expect("listed")
    };
    // The process's heartbeat (with its instance list) is the node's.
    s.heartbeat("srv-n", vec![instance("mcp-1", "ready")])
        .await
        .unwrap();
    let n = alive(fleet.nodes(LEASE_MS).await.unwrap());
    assert!(n.alive && !n.stopped, "{n:?}");
    let rows = s.list_instances(LEASE_MS).await.unwrap();
    let (server, _) = rows.iter().find(|(r, _)| r.record.id == "srv-n").unwrap();
    assert_eq!(
        server.last_heartbeat, n.last_heartbeat,
        "one heartbeat, read as the server's and as the node's"
    );
    assert!(
        fleet
            .node_heartbeat("node-n", "srv-n", &[], LEASE_MS)
            .await
            .unwrap()
    );
    s.unregister_server("srv-n").await.unwrap();
    let n = alive(fleet.nodes(LEASE_MS).await.unwrap());
    assert!(
        !n.alive && n.stopped,
        "a stopped process's node is gone: {n:?}"
    );
}

pub async fn descriptors_are_shared_with_every_node_and_withdrawn<B: Backend>(b: &B) {
    let (s, other) = (b.open("main"), b.open("main"));
    let (Some(fleet), Some(elsewhere)) = (s.fleet(), other.fleet()) else {
        return;
    };
    let mut notices = elsewhere.notices();
    fleet
        .publish_descriptor("arangodb", "node-a", r#"{"name":"arangodb"}"#, false)
        .await
        .unwrap();
    let shared = elsewhere.fleet_descriptors().await.unwrap();
    assert_eq!(shared.len(), 1);
    assert_eq!(
        (
            shared[0].name.as_str(),
            shared[0].node.as_str(),
            shared[0].removed
        ),
        ("arangodb", "node-a", false)
    );
    fleet
        .publish_descriptor("arangodb", "node-a", "{}", true)
        .await
        .unwrap();
    assert!(elsewhere.fleet_descriptors().await.unwrap()[0].removed);
    // The other handle hears of it (or is told to re-read).
    let heard = tokio::time::timeout(std::time::Duration::from_secs(10), notices.recv()).await;
    assert!(heard.is_ok(), "no notice within 10 s");
}
