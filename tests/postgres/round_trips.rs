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
        store.add_note(&conversation, "marker", "warm").await.unwrap();
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
    store.finish_query(&asked.id, reply("counted")).await.unwrap();
    let finishing = proxy.rounds() - before;
    let before = proxy.rounds();
    store.add_note(&conversation, "marker", "counted").await.unwrap();
    let noting = proxy.rounds() - before;
    eprintln!("round trips: store a query {storing}, finish it {finishing}, a note {noting}");
    assert_eq!(storing, 1, "storing a query");
    assert_eq!(finishing, 1, "finishing a query");
    assert_eq!(noting, 1, "storing a note");
}
