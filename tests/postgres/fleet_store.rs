//! The fleet's rules as the store keeps them, below the daemons.

use claude_comms::store::{BeginQuery, MessageStatus, NewQuery, ServerRecord, Store};

use crate::pg_cluster::PgCluster;

/// A routed question belongs to the node that holds it (or will claim
/// it), not to the process that asked: a restarted asker's recovery of
/// its dead predecessor's queries leaves it pending, while an unrouted
/// query of the same dead server is interrupted as always.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recovery_after_an_asker_dies_leaves_routed_questions_to_the_fleet() {
    let Some(cluster) = PgCluster::start() else {
        return;
    };
    let store = Store::open_postgres(&cluster.create_database("recovery")).unwrap();
    // The asker that died: registered, then never heard from again.
    store
        .register_server(&ServerRecord {
            id: "dead-asker".into(),
            pid: u32::MAX - 1,
            hostname: claude_comms::host::this_hostname(),
            started_at: 0,
            module: None,
        })
        .await
        .unwrap();
    let c = store
        .create_conversation("marker", "arangodb", None, serde_json::json!({}))
        .await
        .unwrap();
    let ask = |content: &str| NewQuery {
        conversation_id: c.id.clone(),
        sender: "marker".into(),
        content: content.into(),
        idempotency_key: None,
        hop_chain: Vec::new(),
        owner: "dead-asker".into(),
        template_version: None,
        context_note: None,
    };
    let BeginQuery::Fresh(routed) = store.begin_query(ask("routed")).await.unwrap() else {
        panic!("fresh")
    };
    store
        .fleet()
        .unwrap()
        .route_query(&routed.id, "arangodb", "{}", None)
        .await
        .unwrap();
    let BeginQuery::Fresh(local) = store.begin_query(ask("local")).await.unwrap() else {
        panic!("fresh")
    };
    let marked = store
        .recover_interrupted("new-asker", 60_000)
        .await
        .unwrap();
    assert_eq!(marked, 1);
    assert_eq!(
        store.message(&local.id).await.unwrap().status,
        MessageStatus::Interrupted
    );
    assert_eq!(
        store.message(&routed.id).await.unwrap().status,
        MessageStatus::Pending
    );
    // ... and a node that hosts the target still claims it.
    let claimed = store
        .fleet()
        .unwrap()
        .claim_queries("node-c", &["arangodb".to_string()], 15_000, 4)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1, "only the routed question is claimable");
    assert_eq!(claimed[0].query.id, routed.id);
}

/// What the agent on the answering node reports (progress) reaches the
/// asker on another node as it happens, as if the agent ran there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn progress_of_an_agent_on_another_node_reaches_the_asker() {
    use std::sync::{Arc, Mutex};

    use claude_comms::config::{HOME_ENV, LoadedConfig, Overrides};
    use claude_comms::hub::{Hub, NewConversationRequest, SendRequest};

    use crate::fleet_nodes::{Node, NodeSettings};

    let Some(cluster) = PgCluster::start() else {
        return;
    };
    let url = cluster.create_database("progress");
    let settings = NodeSettings::default();
    let c = Node::new(&url, "node-c", &["arangodb"], &settings);
    c.start_ok();
    // The asker: this test process, on a node of its own that hosts marker.
    let a = Node::new(&url, "node-a", &["marker"], &settings);
    let home = a.home().display().to_string();
    let mut config = LoadedConfig::load_with_env(&Overrides::default(), |k| {
        (k == HOME_ENV).then(|| home.clone())
    })
    .unwrap();
    config.config.hub = "embedded".into();
    let hub = Hub::open(config, None).unwrap();
    let conversation = hub
        .conversations()
        .create(NewConversationRequest {
            source: Some("marker".into()),
            target: "arangodb".into(),
            title: None,
            backend: None,
        })
        .await
        .unwrap();
    let heard: Arc<Mutex<Vec<String>>> = Arc::default();
    let sink = heard.clone();
    let answer = hub
        .messaging()
        .send(SendRequest {
            message: "[[progress:3]] [[brief]] tell me as you go".into(),
            conversation_id: Some(conversation.id),
            progress: Some(Arc::new(move |p: claude_comms::instances::Progress| {
                sink.lock().unwrap().push(p.message)
            })),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(answer.node.as_deref(), Some("node-c"), "{answer:?}");
    // What the answering node's instance layer reported, in order, before
    // the answer.
    let heard = heard.lock().unwrap().clone();
    let dispatched = heard
        .iter()
        .position(|l| l.starts_with("dispatched to instance"));
    let answered = heard.iter().position(|l| l.starts_with("answered in"));
    assert!(
        matches!((dispatched, answered), (Some(d), Some(a)) if d < a),
        "the asker heard: {heard:?}"
    );
    hub.shutdown().await;
}
