//! The fleet (`cargo bench -- fleet`): what routing a question through
//! PostgreSQL to another node adds, how fast a dead node's questions are
//! ended, and messages per second over three nodes. Needs PostgreSQL's
//! server binaries (a throw-away cluster). Included by bench.rs.

use super::*;

use crate::pg_cluster::PgCluster;
use claude_comms::hub::fleet::run_node;
use tokio_util::sync::CancellationToken;

/// A node's (or an asker's) home: its own folders for `modules`, the
/// shared store, its node name, the fake child.
fn node_home(modules: &[&str], url: &str, node: &str, lease_s: u64) -> tempfile::TempDir {
    common::home_with_modules(
        modules,
        &format!(
            "{}[store]\nurl = {url:?}\n[fleet]\nnode = {node:?}\nlease_s = {lease_s}\n",
            fake_toml(4, 16)
        ),
    )
}

/// An in-process node: its hub, joined to the fleet until `stop`.
async fn node(home: &Path, stop: &CancellationToken) -> Arc<Hub> {
    let hub = hub_in(home);
    run_node(hub.clone(), None, stop.clone()).await.unwrap();
    hub
}

async fn conversation(hub: &Arc<Hub>, source: &str, target: &str) -> String {
    common::new_conversation(hub, source, target).await.id
}

fn ask(id: &str, message: &str) -> SendRequest {
    SendRequest {
        message: message.into(),
        conversation_id: Some(id.into()),
        ..Default::default()
    }
}

pub(super) async fn fleet_section() {
    let Some(cluster) = PgCluster::start() else {
        println!("| fleet | skipped: PostgreSQL's server binaries are missing | | |");
        return;
    };
    cross_node_latency(&cluster).await;
    three_node_throughput(&cluster).await;
    failover(&cluster).await;
}

/// Same-node and cross-node questions from one asker, interleaved.
async fn cross_node_latency(cluster: &PgCluster) {
    let url = cluster.create_database("fleet_latency");
    let stop = CancellationToken::new();
    let a_home = node_home(&["marker", "arangodb"], &url, "a", 15);
    let c_home = node_home(&["claude_mcp"], &url, "c", 15);
    let a = node(a_home.path(), &stop).await;
    let c = node(c_home.path(), &stop).await;
    let here = conversation(&a, "marker", "arangodb").await;
    let there = conversation(&a, "marker", "claude_mcp").await;
    for id in [&here, &there] {
        a.messaging().send(ask(id, "[[brief]] warm")).await.unwrap();
    }
    let (mut same, mut cross) = (Vec::new(), Vec::new());
    for i in 0..200 {
        let (t, out) = timed(a.messaging().send(ask(&here, &format!("[[brief]] h{i}")))).await;
        out.unwrap();
        same.push(t);
        let (t, out) = timed(a.messaging().send(ask(&there, &format!("[[brief]] t{i}")))).await;
        out.unwrap();
        cross.push(t);
    }
    let (s, x) = (stats(same), stats(cross));
    let added_p50 = x.median.saturating_sub(s.median);
    let added_p99 = x.p99.saturating_sub(s.p99);
    figure(
        "fleet: same-node question (median / p99)",
        format!("{} / {}", ms(s.median), ms(s.p99)),
        "-",
        None,
    );
    figure(
        "fleet: cross-node question (median / p99)",
        format!("{} / {}", ms(x.median), ms(x.p99)),
        "-",
        None,
    );
    figure(
        "fleet: added by crossing nodes (p50 / p99)",
        format!("{} / {}", ms(added_p50), ms(added_p99)),
        "p50 <= 5 ms, p99 <= 20 ms",
        Some(added_p50 <= Duration::from_millis(5) && added_p99 <= Duration::from_millis(20)),
    );
    stop.cancel();
    a.shutdown().await;
    c.shutdown().await;
}

/// 64 senders on an asker, answered by three nodes hosting the targets.
async fn three_node_throughput(cluster: &PgCluster) {
    const SENDERS: usize = 64;
    const EACH: usize = 10;
    let url = cluster.create_database("fleet_throughput");
    let stop = CancellationToken::new();
    let asker_home = node_home(&["marker"], &url, "asker", 15);
    let homes: Vec<_> = ["n1", "n2", "n3"]
        .iter()
        .map(|n| node_home(&["arangodb", "claude_mcp"], &url, n, 15))
        .collect();
    let asker = node(asker_home.path(), &stop).await;
    let mut nodes = Vec::new();
    for home in &homes {
        nodes.push(node(home.path(), &stop).await);
    }
    let mut ids = Vec::new();
    for s in 0..SENDERS {
        let target = if s % 2 == 0 { "arangodb" } else { "claude_mcp" };
        let id = conversation(&asker, "marker", target).await;
        asker
            .messaging()
            .send(ask(&id, "[[brief]] warm"))
            .await
            .unwrap();
        ids.push(id);
    }
    let start = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for id in ids.clone() {
        let asker = asker.clone();
        tasks.spawn(async move {
            for i in 0..EACH {
                asker
                    .messaging()
                    .send(ask(&id, &format!("[[brief]] m{i}")))
                    .await
                    .unwrap();
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.unwrap();
    }
    let elapsed = start.elapsed();
    let total = SENDERS * EACH;
    let stored = queries_after_warm_up(&asker, &ids).await;
    figure(
        "fleet: 3 nodes, 64 senders, fake child",
        format!(
            "{:.0} messages/s ({total} in {:.2} s)",
            total as f64 / elapsed.as_secs_f64(),
            elapsed.as_secs_f64()
        ),
        "-",
        None,
    );
    figure(
        "fleet: messages stored once",
        format!("{stored} of {total}"),
        "all",
        Some(stored == total),
    );
    stop.cancel();
    asker.shutdown().await;
    for n in nodes {
        n.shutdown().await;
    }
}

/// SIGKILL of a node (a daemon) holding a question, until the question
/// is ended by the lease sweep of a live node.
async fn failover(cluster: &PgCluster) {
    const LEASE_S: u64 = 3;
    let url = cluster.create_database("fleet_failover");
    let stop = CancellationToken::new();
    let asker_home = node_home(&["marker"], &url, "asker", LEASE_S);
    let doomed_home = node_home(&["claude_mcp"], &url, "doomed", LEASE_S);
    std::fs::write(
        doomed_home.path().join("config.toml"),
        std::fs::read_to_string(doomed_home.path().join("config.toml"))
            .unwrap()
            .replace("hub = \"embedded\"", "hub = \"auto\""),
    )
    .unwrap();
    let _daemon = StopsDaemon(doomed_home.path().to_path_buf());
    let started = std::process::Command::new(bin("claude-comms"))
        .args(["daemon", "start"])
        .env(HOME_ENV, doomed_home.path())
        .env_remove("CLAUDE_COMMS_CONFIG")
        .output()
        .unwrap();
    assert!(started.status.success(), "{started:?}");
    let state: Value =
        serde_json::from_slice(&std::fs::read(doomed_home.path().join("daemon.json")).unwrap())
            .unwrap();
    let pid = state["pid"].as_u64().unwrap() as i32;
    let asker = node(asker_home.path(), &stop).await;
    let id = conversation(&asker, "marker", "claude_mcp").await;
    let job = asker
        .jobs()
        .send(ask(&id, "[[hang]] never answered"))
        .await
        .unwrap();
    // Claimed by the doomed node, then killed.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let detail = asker.jobs().get(&job.message_id).await.unwrap();
        if detail.node.as_deref() == Some("doomed") {
            break;
        }
        assert!(Instant::now() < deadline, "the question was never claimed");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let killed = Instant::now();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    loop {
        let detail = asker.jobs().get(&job.message_id).await.unwrap();
        if detail.status != "pending" {
            break;
        }
        assert!(
            killed.elapsed() < Duration::from_secs(LEASE_S + 30),
            "the question of a dead node was never ended"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let took = killed.elapsed();
    figure(
        &format!("fleet: SIGKILL of a node until its question is ended (lease {LEASE_S} s)"),
        format!("{:.2} s", took.as_secs_f64()),
        &format!("<= {} s", LEASE_S + 2),
        Some(took <= Duration::from_secs(LEASE_S + 2)),
    );
    stop.cancel();
    asker.shutdown().await;
}
