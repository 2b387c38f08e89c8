//! Many senders at once through the library API against the fake child,
//! and the fairness between pairs (`cargo bench -- throughput`). Its pairs
//! and its count of stored queries serve the http and daemon sections too.
//! Included by bench.rs.

use super::*;

/// The module pairs the throughput sections spread their senders over.
pub(super) const THROUGHPUT_PAIRS: [(&str, &str); 8] = [
    ("marker", "arangodb"),
    ("arangodb", "marker"),
    ("marker", "claude_mcp"),
    ("claude_mcp", "marker"),
    ("arangodb", "claude_mcp"),
    ("claude_mcp", "arangodb"),
    ("indexer", "marker"),
    ("summarizer", "arangodb"),
];

/// How many queries the conversations `ids` hold beyond their one warm-up
/// each: what a throughput run stored.
pub(super) async fn queries_after_warm_up(hub: &Hub, ids: &[String]) -> usize {
    let mut stored = 0;
    for id in ids {
        let t = hub.conversations().get(id, None, None).await.unwrap();
        stored += t.messages.iter().filter(|m| m.role == Role::Query).count() - 1;
    }
    stored
}

/// 64 senders over 8 pairs on SQLite, then the same on PostgreSQL (a
/// throw-away cluster, when the machine has its server binaries), and
/// the ratio of the two.
pub(super) async fn throughput_section() {
    let sqlite = throughput_run("sqlite", "").await;
    let Some(cluster) = crate::pg_cluster::PgCluster::start() else {
        println!(
            "| throughput (postgresql) | skipped: PostgreSQL's server binaries are missing | | |"
        );
        return;
    };
    let url = cluster.create_database("throughput");
    let postgres = throughput_run("postgresql", &format!("[store]\nurl = {url:?}\n")).await;
    let ratio = postgres / sqlite;
    figure(
        "throughput: postgresql / sqlite, messages/s",
        format!("{ratio:.2} ({postgres:.0} / {sqlite:.0})"),
        ">= 0.8",
        Some(ratio >= 0.8),
    );
}

/// One throughput run on the store `store_toml` names (empty: SQLite);
/// returns the messages per second.
async fn throughput_run(backend: &str, store_toml: &str) -> f64 {
    const SENDERS: usize = 64;
    const EACH: usize = 40;
    let pairs = THROUGHPUT_PAIRS;
    let home = home_with(&format!("{}{store_toml}", fake_toml(8, 16)));
    let hub = hub_in(home.path());
    // One conversation per sender, created (and children started) up front.
    let mut conversations = Vec::new();
    for s in 0..SENDERS {
        let (source, target) = pairs[s % pairs.len()];
        let c = common::new_conversation(&hub, source, target).await;
        conversations.push((s % pairs.len(), c.id));
    }
    let send = |hub: Arc<Hub>, id: String, message: String| async move {
        hub.messaging()
            .send(SendRequest {
                message,
                conversation_id: Some(id),
                ..Default::default()
            })
            .await
            .unwrap()
    };
    for (_, id) in &conversations {
        send(hub.clone(), id.clone(), "[[brief]] warm".into()).await;
    }
    let start = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for (pair, id) in conversations.clone() {
        let hub = hub.clone();
        tasks.spawn(async move {
            let mut waits = Vec::new();
            for i in 0..EACH {
                let (t, _) = timed(send(hub.clone(), id.clone(), format!("[[brief]] m{i}"))).await;
                waits.push(t);
            }
            (pair, waits)
        });
    }
    let mut per_pair: Vec<Vec<Duration>> = vec![Vec::new(); pairs.len()];
    while let Some(done) = tasks.join_next().await {
        let (pair, waits) = done.unwrap();
        per_pair[pair].extend(waits);
    }
    let elapsed = start.elapsed();
    let total = SENDERS * EACH;
    let rate = total as f64 / elapsed.as_secs_f64();
    // Every message stored once.
    let ids: Vec<String> = conversations.iter().map(|(_, id)| id.clone()).collect();
    let stored = queries_after_warm_up(&hub, &ids).await;
    figure(
        &format!(
            "throughput ({backend}): {SENDERS} senders over {} pairs, fake child",
            pairs.len()
        ),
        format!(
            "{rate:.0} messages/s ({total} in {:.2} s)",
            elapsed.as_secs_f64()
        ),
        ">= 4000/s",
        Some(rate >= 4000.0),
    );
    if rate < 4000.0 && backend == "sqlite" {
        println!(
            "| throughput: why missed | with group commit and the kept history, the run is CPU-bound: 8 fake children and the hub on 2 cores; a history read, a prompt render and a JSON-RPC round trip per message remain; what would close it: rendering from a kept prompt prefix, and fewer child processes per core | | |"
        );
    }
    // The same load through the daemon's MCP endpoint: the `daemon`
    // section (`daemon_throughput_section`).
    figure(
        &format!("throughput ({backend}): messages stored once"),
        format!("{stored} of {total}"),
        "all",
        Some(stored == total),
    );
    let p99s: Vec<Duration> = per_pair.into_iter().map(|w| stats(w).p99).collect();
    let (lo, hi) = (p99s.iter().min().unwrap(), p99s.iter().max().unwrap());
    figure(
        &format!("fairness ({backend}): per-pair p99 wait, min .. max"),
        format!("{} .. {}", ms(*lo), ms(*hi)),
        "max <= 2x min",
        Some(hi.as_secs_f64() <= lo.as_secs_f64() * 2.0),
    );
    hub.shutdown().await;
    rate
}
