//! Round trips to the database (issue 27): across a network every one
//! costs its latency, so a write is one round trip. Counted through a
//! proxy that sees each time the client speaks again after the server
//! answered (docs/benchmarks.md keeps the counts).

use std::time::Duration;

use claude_comms::store::Store;

use crate::pg_cluster::PgCluster;
use crate::store_suite::helpers::{pair, query, reply};
use crate::tcp_proxy::TcpProxy;

/// Long enough that a request sent in the same flight reaches the proxy
/// before any answer could come back, even on a busy machine.
const DELAY: Duration = Duration::from_millis(20);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_question_and_its_answer_cost_one_round_trip_each() {
    let Some(cluster) = PgCluster::start() else {
        return;
    };
    let url = cluster.create_database("round_trips");
    let proxy = TcpProxy::start(cluster.port(), DELAY);
    let store = Store::open_postgres(&proxy.url_through(&url, cluster.port())).unwrap();
    let conversation = pair(&store).await.id;
    // Warm: the pool's connection is open and its statements prepared.
    for i in 0..2 {
        let asked = store
            .begin_query(query(&conversation, &format!("warm {i}"), None, "me"))
            .await
            .unwrap();
        let claude_comms::store::BeginQuery::Fresh(asked) = asked else {
            panic!("a fresh query")
        };
        store.finish_query(&asked.id, reply("warm")).await.unwrap();
        store
            .add_note(&conversation, "marker", "warm")
            .await
            .unwrap();
    }

    let before = proxy.rounds();
    let asked = store
        .begin_query(query(&conversation, "counted", None, "me"))
        .await
        .unwrap();
    let claude_comms::store::BeginQuery::Fresh(asked) = asked else {
        panic!("a fresh query")
    };
    let storing = proxy.rounds() - before;
    let before = proxy.rounds();
    store
        .finish_query(&asked.id, reply("counted"))
        .await
        .unwrap();
    let finishing = proxy.rounds() - before;
    let before = proxy.rounds();
    store
        .add_note(&conversation, "marker", "counted")
        .await
        .unwrap();
    let noting = proxy.rounds() - before;
    eprintln!("round trips: store a query {storing}, finish it {finishing}, a note {noting}");
    assert_eq!(storing, 1, "storing a query");
    assert_eq!(finishing, 1, "finishing a query");
    assert_eq!(noting, 1, "storing a note");
}

/// A question through a hub whose module's folder is here, and its answer
/// (the fake child): the whole path costs three round trips (read the
/// conversation, store the query, store the answer), not twenty.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_question_and_answer_through_a_hub_costs_a_handful_of_round_trips() {
    use claude_comms::config::{HOME_ENV, LoadedConfig, Overrides};
    use claude_comms::hub::{Hub, NewConversationRequest, SendRequest};

    use crate::fleet_nodes::{Node, NodeSettings};

    let Some(cluster) = PgCluster::start() else {
        return;
    };
    let url = cluster.create_database("hub_round_trips");
    let proxy = TcpProxy::start(cluster.port(), DELAY);
    let through = proxy.url_through(&url, cluster.port());
    let node = Node::new(
        &through,
        "node-a",
        &["marker", "arangodb"],
        &NodeSettings::default(),
    );
    let home = node.home().display().to_string();
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
        .unwrap()
        .id;
    let ask = |text: &str| SendRequest {
        message: text.into(),
        conversation_id: Some(conversation.clone()),
        ..Default::default()
    };
    // Warm: every pooled connection has its statements prepared.
    for i in 0..10 {
        hub.messaging()
            .send(ask(&format!("[[brief]] warm {i}")))
            .await
            .unwrap();
    }
    // The fewest of a few sends: background work (the control-request
    // poll every 250 ms, a heartbeat) lands in some of them.
    let mut counts = Vec::new();
    for i in 0..5 {
        let before = proxy.rounds();
        hub.messaging()
            .send(ask(&format!("[[brief]] counted {i}")))
            .await
            .unwrap();
        counts.push(proxy.rounds() - before);
    }
    let rounds = counts.iter().copied().min().unwrap_or_default();
    eprintln!("round trips: a question and its answer through a hub {counts:?}");
    assert!(
        rounds <= 3,
        "a question and its answer took {rounds} round trips to the database"
    );
    hub.shutdown().await;
}
