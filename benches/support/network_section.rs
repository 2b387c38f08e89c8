//! The fleet across a network (`cargo bench -- network`): nodes reach
//! PostgreSQL through a loopback proxy that holds every chunk 1 ms each way
//! (tests/support/tcp_proxy.rs), against the same proxy with no delay.
//! 1, 2 and 3 in-process nodes, each hosting the module it is asked (the
//! answers are local, fake children), with 1, 2 and 16 senders per node.
//! With 1-2 senders a node is bound by latency, not by this machine's
//! cores, so the ratios show whether nodes add throughput. Included by
//! bench.rs.

use super::*;

use crate::pg_cluster::PgCluster;
use crate::tcp_proxy::TcpProxy;
use claude_comms::hub::fleet::run_node;
use tokio_util::sync::CancellationToken;

/// Questions each sender asks (after one to warm up).
fn per_sender(senders: usize) -> usize {
    if senders >= 16 { 8 } else { 40 }
}

/// Messages per second (a question and its answer are two) for `nodes`
/// nodes with `senders` each, the database behind `proxy`; and the
/// median time of one question and answer.
async fn rate(url: &str, nodes: usize, senders: usize) -> (f64, Duration) {
    let stop = CancellationToken::new();
    let mut homes = Vec::new();
    let mut hubs = Vec::new();
    for n in 0..nodes {
        let home = common::home_with_modules(
            &["marker", "arangodb"],
            &format!(
                "{}[store]\nurl = {url:?}\n[fleet]\nnode = \"n{n}\"\nlease_s = 15\n",
                fake_toml(4, 16)
            ),
        );
        let hub = hub_in(home.path());
        run_node(hub.clone(), None, stop.clone()).await.unwrap();
        homes.push(home);
        hubs.push(hub);
    }
    let mut conversations = Vec::new();
    for hub in &hubs {
        for _ in 0..senders {
            let id = common::new_conversation(hub, "marker", "arangodb").await.id;
            hub.messaging()
                .send(network_ask(&id, "[[brief]] warm"))
                .await
                .unwrap();
            conversations.push((hub.clone(), id));
        }
    }
    let each = per_sender(senders);
    let start = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for (hub, id) in conversations {
        tasks.spawn(async move {
            let mut times = Vec::with_capacity(each);
            for i in 0..each {
                let (t, out) = timed(
                    hub.messaging()
                        .send(network_ask(&id, &format!("[[brief]] m{i}"))),
                )
                .await;
                out.unwrap();
                times.push(t);
            }
            times
        });
    }
    let mut times = Vec::new();
    while let Some(done) = tasks.join_next().await {
        times.extend(done.unwrap());
    }
    let elapsed = start.elapsed();
    stop.cancel();
    for hub in hubs {
        hub.shutdown().await;
    }
    let messages = 2 * nodes * senders * each;
    (messages as f64 / elapsed.as_secs_f64(), stats(times).median)
}

fn network_ask(id: &str, message: &str) -> SendRequest {
    SendRequest {
        message: message.into(),
        conversation_id: Some(id.into()),
        ..Default::default()
    }
}

pub(super) async fn network_section() {
    let Some(cluster) = PgCluster::start() else {
        println!("| network | skipped: PostgreSQL's server binaries are missing | | |");
        return;
    };
    let mut rates = std::collections::BTreeMap::new();
    for (label, delay) in [
        ("1 ms", Duration::from_millis(1)),
        ("no delay", Duration::ZERO),
    ] {
        let proxy = TcpProxy::start(cluster.port(), delay);
        for nodes in [1usize, 2, 3] {
            for senders in [1usize, 2, 16] {
                let database = format!(
                    "net_{}_{nodes}_{senders}",
                    if delay.is_zero() { "zero" } else { "one" }
                );
                let url = proxy.url_through(&cluster.create_database(&database), cluster.port());
                let (per_s, median) = rate(&url, nodes, senders).await;
                figure(
                    &format!("network {label}: {nodes} node(s) x {senders} sender(s)"),
                    format!(
                        "{per_s:.0} msg/s; question and answer {} (median)",
                        ms(median)
                    ),
                    "-",
                    None,
                );
                rates.insert((label, nodes, senders), (per_s, median));
            }
        }
    }
    let one = |n, s| rates[&("1 ms", n, s)];
    let (_, single) = one(1, 1);
    figure(
        "network 1 ms: one sender's question and answer (median)",
        ms(single),
        "<= 15 ms",
        Some(single <= Duration::from_millis(15)),
    );
    let scale = one(3, 2).0 / one(1, 2).0;
    figure(
        "network 1 ms: 3 nodes / 1 node at 2 senders per node",
        format!("{scale:.2}x"),
        ">= 2.5x",
        Some(scale >= 2.5),
    );
    let kept = one(1, 16).0 / rates[&("no delay", 1, 16)].0;
    figure(
        "network 1 ms: 1 node x 16 senders, of its no-delay rate",
        format!("{:.0}%", kept * 100.0),
        ">= 60%",
        Some(kept >= 0.6),
    );
}
