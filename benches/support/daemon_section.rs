//! Issue 10's figures: the hub daemon against today's one-shot CLI, the hop
//! it adds for `serve`, its idle memory and its start-up time. Included by
//! bench.rs (`cargo bench -- daemon`).

use super::*;

/// Runs `claude-comms` with `home` and a hub policy; returns its wall time.
fn cli_timed(home: &Path, hub: &str, args: &[&str]) -> (Duration, std::process::Output) {
    let started = Instant::now();
    let out = std::process::Command::new(bin("claude-comms"))
        .args(args)
        .env(HOME_ENV, home)
        .env("CLAUDE_COMMS_HUB", hub)
        .env("RUST_LOG", "error")
        .env_remove("CLAUDE_COMMS_CONFIG")
        .env_remove("CLAUDE_COMMS_MODULE")
        .output()
        .unwrap();
    (started.elapsed(), out)
}

fn json_out(out: &std::process::Output) -> Value {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// CLI query through a running daemon with a warm stream instance, against
/// the one-shot CLI query of the first round (a fresh claude-code-mcp child
/// and `claude -p` per call), with the real children and an instant model.
pub(super) async fn daemon_cli_section(real: &RealChildren) {
    const WARM: usize = 15;
    const ONE_SHOT: usize = 6;
    let model = ModelStub::start().await;
    let claude_home = tempfile::tempdir().unwrap();
    let toml = format!(
        "{}\n[instances]\nbackend = \"claude-stream\"\n",
        real.config_toml(&model, claude_home.path())
    );
    let daemon_home = home_with(&toml);
    let stops_daemon = StopsDaemon(daemon_home.path().to_path_buf());
    let oneshot_home = home_with(&real.config_toml(&model, claude_home.path()));
    let home = daemon_home.path().to_path_buf();
    let (first, out) = tokio::task::spawn_blocking(move || {
        cli_timed(
            &home,
            "auto",
            &[
                "--json", "send", "--from", "marker", "--to", "arangodb", "first",
            ],
        )
    })
    .await
    .unwrap();
    let id = json_out(&out)["conversation_id"]
        .as_str()
        .unwrap()
        .to_string();
    let mut via_daemon = Vec::new();
    let mut one_shot = Vec::new();
    for i in 0..WARM.max(ONE_SHOT) {
        let (home, id) = (daemon_home.path().to_path_buf(), id.clone());
        if i < WARM {
            let (t, out) = tokio::task::spawn_blocking(move || {
                cli_timed(
                    &home,
                    "auto",
                    &["send", "--conversation", &id, &format!("turn {i}")],
                )
            })
            .await
            .unwrap();
            assert!(out.status.success());
            via_daemon.push(t);
        }
        if i < ONE_SHOT {
            let home = oneshot_home.path().to_path_buf();
            let (t, out) = tokio::task::spawn_blocking(move || {
                cli_timed(
                    &home,
                    "embedded",
                    &["send", "--from", "marker", "--to", "arangodb", "one shot"],
                )
            })
            .await
            .unwrap();
            assert!(out.status.success());
            one_shot.push(t);
        }
    }
    let _ = tokio::task::spawn_blocking(move || drop(stops_daemon)).await;
    let (warm, fresh) = (stats(via_daemon), stats(one_shot));
    let ratio = fresh.median.as_secs_f64() / warm.median.as_secs_f64();
    figure(
        "daemon: CLI query via a running daemon, warm stream instance, median / p99",
        format!(
            "{} / {} (first, starting the daemon: {})",
            ms(warm.median),
            ms(warm.p99),
            ms(first)
        ),
        "-",
        None,
    );
    figure(
        "daemon: one-shot CLI query (hub = embedded), median / p99",
        format!("{} / {}", ms(fresh.median), ms(fresh.p99)),
        "-",
        None,
    );
    figure(
        "daemon: one-shot ÷ via daemon (median)",
        format!("{ratio:.1}x"),
        ">= 15x",
        Some(ratio >= 15.0),
    );
}

/// Time the daemon hop adds to `serve` (fake child): the same calls through
/// `serve` with `hub = "embedded"` and with `hub = "auto"`, interleaved.
pub(super) async fn daemon_hop_section() {
    const CALLS: usize = 400;
    let home = home_with(&fake_toml(2, 8));
    let stops_daemon = StopsDaemon(home.path().to_path_buf());
    let serve_with = |hub: &'static str| {
        let mut command = tokio::process::Command::new(bin("claude-comms"));
        command
            .arg("serve")
            .env(HOME_ENV, home.path())
            .env("CLAUDE_COMMS_HUB", hub)
            .env("RUST_LOG", "error")
            .env_remove("CLAUDE_COMMS_CONFIG");
        client_of(command)
    };
    let embedded = serve_with("embedded").await;
    let routed = serve_with("auto").await;
    let args = json!({"source": "marker", "target": "arangodb", "message": "[[brief]] hop"});
    // Warm both (children started, daemon started).
    for _ in 0..5 {
        call(&embedded, "send_message", args.clone()).await;
        call(&routed, "send_message", args.clone()).await;
    }
    let (mut direct, mut hop) = (Vec::new(), Vec::new());
    for _ in 0..CALLS {
        direct.push(timed(call(&embedded, "send_message", args.clone())).await.0);
        hop.push(timed(call(&routed, "send_message", args.clone())).await.0);
    }
    let (d, h) = (stats(direct), stats(hop));
    let added_p50 = h.median.saturating_sub(d.median);
    let added_p99 = h.p99.saturating_sub(d.p99);
    figure(
        "daemon: serve send_message, embedded / via daemon, median",
        format!("{} / {}", ms(d.median), ms(h.median)),
        "-",
        None,
    );
    figure(
        "daemon: time added by the daemon hop, p50 / p99",
        format!("{} / {}", ms(added_p50), ms(added_p99)),
        "<= 1 ms / <= 3 ms",
        Some(added_p50 <= Duration::from_millis(1) && added_p99 <= Duration::from_millis(3)),
    );
    embedded.cancel().await.unwrap();
    routed.cancel().await.unwrap();
    let _ = tokio::task::spawn_blocking(move || drop(stops_daemon)).await;
}

/// `daemon start` to ready, and the idle daemon's resident memory.
pub(super) async fn daemon_footprint_section() {
    const STARTS: usize = 7;
    let home = home_with(&fake_toml(2, 8));
    let _stops_daemon = StopsDaemon(home.path().to_path_buf());
    let path = home.path().to_path_buf();
    let (starts, rss) = tokio::task::spawn_blocking(move || {
        let mut starts = Vec::new();
        let mut rss = 0;
        for _ in 0..STARTS {
            let (t, out) = cli_timed(&path, "auto", &["--json", "daemon", "start"]);
            let info = json_out(&out);
            starts.push(t);
            std::thread::sleep(Duration::from_millis(300));
            rss = rss_kib(info["pid"].as_u64().unwrap() as u32);
            cli_timed(&path, "auto", &["daemon", "stop"]);
        }
        (starts, rss)
    })
    .await
    .unwrap();
    let s = stats(starts);
    figure(
        "daemon: `daemon start` until it answers, median / p99",
        format!("{} / {}", ms(s.median), ms(s.p99)),
        "<= 200 ms",
        Some(s.median <= Duration::from_millis(200)),
    );
    figure(
        "daemon: idle RSS",
        format!("{:.1} MB", rss as f64 / 1024.0),
        "<= 20 MB",
        Some(rss <= 20 * 1024),
    );
}

/// 64 MCP clients of the daemon's endpoint (its Unix socket), each sending
/// 40 messages in its own conversation over 8 pairs (fake child): the rate,
/// and that every message is stored once.
pub(super) async fn daemon_throughput_section() {
    const SENDERS: usize = 64;
    const EACH: usize = 40;
    let pairs = THROUGHPUT_PAIRS;
    let home = home_with(&fake_toml(8, 16));
    let stops_daemon = StopsDaemon(home.path().to_path_buf());
    let path = home.path().to_path_buf();
    let info = tokio::task::spawn_blocking(move || {
        json_out(&cli_timed(&path, "auto", &["--json", "daemon", "start"]).1)
    })
    .await
    .unwrap();
    let socket = std::path::PathBuf::from(info["socket"].as_str().unwrap());
    let hub = hub_in(home.path());
    let mut senders = Vec::new();
    for s in 0..SENDERS {
        let (source, target) = pairs[s % pairs.len()];
        let client = claude_comms::daemon_link::client::connect(&socket, ())
            .await
            .unwrap();
        let first = call(
            &client,
            "send_message",
            json!({"source": source, "target": target, "message": "[[brief]] warm"}),
        )
        .await;
        let id = first["conversation_id"].as_str().unwrap().to_string();
        senders.push((client, id));
    }
    let start = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for (client, id) in senders {
        tasks.spawn(async move {
            for i in 0..EACH {
                call(
                    &client,
                    "send_message",
                    json!({"conversation_id": id, "message": format!("[[brief]] m{i}")}),
                )
                .await;
            }
            let _ = client.cancel().await;
            id
        });
    }
    let mut ids = Vec::new();
    while let Some(done) = tasks.join_next().await {
        ids.push(done.unwrap());
    }
    let elapsed = start.elapsed();
    let rate = (SENDERS * EACH) as f64 / elapsed.as_secs_f64();
    let stored = queries_after_warm_up(&hub, &ids).await;
    figure(
        &format!(
            "throughput: {SENDERS} MCP clients of the daemon over {} pairs, fake child",
            pairs.len()
        ),
        format!(
            "{rate:.0} messages/s ({} in {:.2} s)",
            SENDERS * EACH,
            elapsed.as_secs_f64()
        ),
        ">= 2000/s",
        Some(rate >= 2000.0),
    );
    figure(
        "throughput through the daemon: messages stored once",
        format!("{stored} of {}", SENDERS * EACH),
        "all",
        Some(stored == SENDERS * EACH),
    );
    hub.shutdown().await;
    let _ = tokio::task::spawn_blocking(move || drop(stops_daemon)).await;
}
