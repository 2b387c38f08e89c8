//! The sections that need the real children (scripts/install-real-children.sh)
//! and the stand-in model: forwarding, warm, standby and memory
//! (`cargo bench -- forwarding warm standby memory`). Included by bench.rs.

use super::*;

pub(super) async fn forwarding_section(real: &RealChildren) {
    const N: usize = 15;
    let model = ModelStub::start().await;
    let claude_home = tempfile::tempdir().unwrap();
    let home = home_with(&real.config_toml(&model, claude_home.path()));
    let config = real.instances_config(&model, claude_home.path());
    let mut direct_cmd = tokio::process::Command::new(&config.claude_code_mcp.command);
    direct_cmd
        .envs(&config.claude_code_mcp.env)
        .kill_on_drop(true);
    let direct = client_of(direct_cmd).await;
    let via = serve_client(home.path()).await;
    let folder = home.path().join("modules/arangodb").display().to_string();
    call(
        &direct,
        "claude_code",
        json!({"prompt": "warm up", "workFolder": folder}),
    )
    .await;
    call(
        &via,
        "send_message",
        json!({"source": "marker", "target": "arangodb", "message": "warm up"}),
    )
    .await;
    let (mut direct_t, mut via_t) = (Vec::new(), Vec::new());
    for i in 0..N {
        let prompt = format!("question {i}");
        direct_t.push(
            timed(call(
                &direct,
                "claude_code",
                json!({"prompt": prompt, "workFolder": folder}),
            ))
            .await
            .0,
        );
        via_t.push(
            timed(call(
                &via,
                "send_message",
                json!({"source": "marker", "target": "arangodb", "message": prompt}),
            ))
            .await
            .0,
        );
    }
    let (d, v) = (stats(direct_t), stats(via_t));
    let ratio = v.median.as_secs_f64() / d.median.as_secs_f64();
    figure(
        "forwarding, real claude-code-mcp: direct median / p99",
        format!("{} / {}", ms(d.median), ms(d.p99)),
        "-",
        None,
    );
    figure(
        "forwarding, real claude-code-mcp: via send_message median / p99",
        format!("{} / {}", ms(v.median), ms(v.p99)),
        "-",
        None,
    );
    figure(
        "forwarding, real: median ratio via / direct",
        format!("{ratio:.3}"),
        "<= 1.05",
        Some(ratio <= 1.05),
    );
    via.cancel().await.unwrap();
    direct.cancel().await.unwrap();
}

pub(super) async fn warm_section(real: &RealChildren) {
    const TURNS: usize = 15;
    let model = ModelStub::start().await;
    let claude_home = tempfile::tempdir().unwrap();
    let home = home_with(&real.config_toml(&model, claude_home.path()));
    let via = serve_client(home.path()).await;
    let mut times = Vec::new();
    for backend in ["claude-stream", "claude-code-mcp"] {
        let c = call(
            &via,
            "create_conversation",
            json!({"source": "marker", "target": "arangodb", "backend": backend}),
        )
        .await;
        let id = c["id"].as_str().unwrap().to_string();
        let mut turns = Vec::new();
        for i in 0..TURNS {
            let (t, _) = timed(call(
                &via,
                "send_message",
                json!({"conversation_id": id, "message": format!("turn {i}")}),
            ))
            .await;
            if i > 0 {
                turns.push(t); // turns 2..N
            }
        }
        times.push(stats(turns));
    }
    let (warm, fresh) = (&times[0], &times[1]);
    let ratio = fresh.median.as_secs_f64() / warm.median.as_secs_f64();
    figure(
        "warm: claude-stream turns 2..N median / p99",
        format!("{} / {}", ms(warm.median), ms(warm.p99)),
        "-",
        None,
    );
    figure(
        "warm: fresh claude -p per turn (claude-code-mcp) median / p99",
        format!("{} / {}", ms(fresh.median), ms(fresh.p99)),
        "-",
        None,
    );
    figure(
        "warm: speed-up of turns 2..N",
        format!("{ratio:.1}x"),
        ">= 20x",
        Some(ratio >= 20.0),
    );
    via.cancel().await.unwrap();
}

/// The real children's config with `instances` settings added.
fn real_toml(
    real: &RealChildren,
    model: &ModelStub,
    claude_home: &Path,
    instances: &str,
    stream: &str,
) -> String {
    format!("[instances]\n{instances}\n")
        + &real.config_toml(model, claude_home).replace(
            "[instances.claude_stream]\n",
            &format!("[instances.claude_stream]\n{stream}\n"),
        )
}

/// The stream instances a server reports (MCP `list_instances`).
async fn stream_instances(via: &RunningService<RoleClient, ()>) -> Vec<Value> {
    call(via, "list_instances", json!({})).await["instances"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|i| i["backend"] == "claude-stream" && !i["pid"].is_null())
        .collect()
}

/// First turn of a new conversation with a recently used module (which a
/// standby process answers) against a later turn, interleaved; and the
/// same first turn with standbys off (what every first turn cost before).
pub(super) async fn standby_section(real: &RealChildren) {
    const CONVERSATIONS: usize = 12;
    let model = ModelStub::start().await;
    let mut medians = Vec::new();
    for standby in [true, false] {
        let claude_home = tempfile::tempdir().unwrap();
        let home = home_with(&real_toml(
            real,
            &model,
            claude_home.path(),
            "backend = \"claude-stream\"",
            &format!("max_warm = 32\nstandby = {standby}"),
        ));
        let via = serve_client(home.path()).await;
        // The module is used once, so it is "recently used".
        call(
            &via,
            "send_message",
            json!({"source": "marker", "target": "arangodb", "message": "warm-up"}),
        )
        .await;
        let (mut first, mut later) = (Vec::new(), Vec::new());
        for i in 0..CONVERSATIONS {
            if standby {
                // Conversations arrive a while apart (a standby needs its
                // CLI's start-up, about 0.5 s, to be ready).
                let deadline = Instant::now() + Duration::from_secs(30);
                while !stream_instances(&via)
                    .await
                    .iter()
                    .any(|s| s["standby"] == true)
                {
                    assert!(Instant::now() < deadline, "no standby came up");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
            let (t, out) = timed(call(
                &via,
                "send_message",
                json!({"source": "marker", "target": "arangodb", "message": format!("new conversation {i}")}),
            ))
            .await;
            first.push(t);
            let (t, _) = timed(call(
                &via,
                "send_message",
                json!({"conversation_id": out["conversation_id"], "message": "later turn"}),
            ))
            .await;
            later.push(t);
        }
        let (f, l) = (stats(first), stats(later));
        let label = if standby { "standby on" } else { "standby off" };
        figure(
            &format!("standby: first turn of a new conversation, {label} (median / p99)"),
            format!("{} / {}", ms(f.median), ms(f.p99)),
            "-",
            None,
        );
        figure(
            &format!("standby: a later turn, {label} (median / p99)"),
            format!("{} / {}", ms(l.median), ms(l.p99)),
            "-",
            None,
        );
        medians.push(f.median.as_secs_f64() / l.median.as_secs_f64());
        via.cancel().await.unwrap();
    }
    figure(
        "standby: first turn / later turn (medians), standby on (off)",
        format!("{:.1}x ({:.1}x)", medians[0], medians[1]),
        "<= 3x",
        Some(medians[0] <= 3.0),
    );
}

/// Serve + N warm stream instances, RSS per warm instance, and the memory
/// budget under a burst of new conversations.
pub(super) async fn memory_section(real: &RealChildren) {
    const WARM: usize = 4;
    const BURST: usize = 8;
    let model = ModelStub::start().await;
    let claude_home = tempfile::tempdir().unwrap();
    let home = home_with(&real_toml(
        real,
        &model,
        claude_home.path(),
        "backend = \"claude-stream\"",
        "standby = false",
    ));
    let mut command = tokio::process::Command::new(bin("claude-comms"));
    command
        .arg("serve")
        .env(HOME_ENV, home.path())
        .env("RUST_LOG", "error")
        .env_remove("CLAUDE_COMMS_CONFIG");
    let (transport, _) = TokioChildProcess::builder(command)
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let serve_pid = transport.id().unwrap();
    let via = ().serve(transport).await.unwrap();
    for i in 0..WARM {
        call(
            &via,
            "send_message",
            json!({"source": "marker", "target": "arangodb", "message": format!("warm {i}")}),
        )
        .await;
    }
    let warm = stream_instances(&via).await;
    let per: Vec<u64> = warm.iter().filter_map(|i| i["rss_kib"].as_u64()).collect();
    let total: u64 = per.iter().sum::<u64>() + rss_kib(serve_pid);
    let mut sorted = per.clone();
    sorted.sort_unstable();
    let median = sorted.get(sorted.len() / 2).copied().unwrap_or(0);
    figure(
        &format!(
            "memory: serve + {} warm claude-stream instances (RSS of their process trees)",
            per.len()
        ),
        format!(
            "{:.0} MB (serve {:.1} MB)",
            total as f64 / 1024.0,
            rss_kib(serve_pid) as f64 / 1024.0
        ),
        "-",
        None,
    );
    figure(
        "memory: RSS per warm instance (median)",
        format!("{:.0} MB", median as f64 / 1024.0),
        "-",
        None,
    );
    via.cancel().await.unwrap();

    // The budget: room for about two and a half instances, then a burst.
    let budget_mb = (median * 5 / 2 / 1024).max(1);
    let claude_home = tempfile::tempdir().unwrap();
    let home = home_with(&real_toml(
        real,
        &model,
        claude_home.path(),
        &format!("backend = \"claude-stream\"\nmax_warm_memory_mb = {budget_mb}"),
        "max_warm = 32",
    ));
    let via = serve_client(home.path()).await;
    let mut highest = 0u64;
    let mut most = 0usize;
    for i in 0..BURST {
        call(
            &via,
            "send_message",
            json!({"source": "marker", "target": "arangodb", "message": format!("burst {i}")}),
        )
        .await;
        let live = stream_instances(&via).await;
        most = most.max(live.len());
        highest = highest.max(live.iter().filter_map(|s| s["rss_kib"].as_u64()).sum());
    }
    via.cancel().await.unwrap();
    figure(
        &format!(
            "memory: {BURST} new conversations under max_warm_memory_mb = {budget_mb}: highest total / most processes"
        ),
        format!("{:.0} MB / {most}", highest as f64 / 1024.0),
        &format!("<= {budget_mb} MB"),
        Some(highest <= budget_mb * 1024),
    );
}
