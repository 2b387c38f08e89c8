//! What claude-comms adds to a call of the in-repo instant fake child:
//! through `serve` over MCP, and through the library API in process
//! (`cargo bench -- overhead`). Included by bench.rs.

use super::*;

pub(super) async fn overhead_section() {
    const N: usize = 1000;
    let home = home_with(&fake_toml(2, 4));
    let mut direct_cmd = tokio::process::Command::new(bin("fake"));
    direct_cmd.kill_on_drop(true);
    let direct = client_of(direct_cmd).await;
    let via = serve_client(home.path()).await;
    let folder = home.path().join("modules/arangodb").display().to_string();
    // Warm both paths (the child of claude-comms starts on first use).
    call(
        &direct,
        "claude_code",
        json!({"prompt": "[[brief]] warm", "workFolder": folder}),
    )
    .await;
    let mut conversation = String::new();
    let (mut direct_t, mut via_t) = (Vec::new(), Vec::new());
    for i in 0..N {
        // A new conversation every 20 messages: conversations are short.
        if i % 20 == 0 {
            let c = call(
                &via,
                "create_conversation",
                json!({"source": "marker", "target": "arangodb"}),
            )
            .await;
            conversation = c["id"].as_str().unwrap().to_string();
            call(
                &via,
                "send_message",
                json!({"conversation_id": conversation, "message": "[[brief]] warm"}),
            )
            .await;
        }
        let prompt = format!("[[brief]] message {i}");
        let (d, _) = timed(call(
            &direct,
            "claude_code",
            json!({"prompt": prompt, "workFolder": folder}),
        ))
        .await;
        direct_t.push(d);
        let (v, _) = timed(call(
            &via,
            "send_message",
            json!({"conversation_id": conversation, "message": prompt}),
        ))
        .await;
        via_t.push(v);
    }
    let (d, v) = (stats(direct_t), stats(via_t));
    let p50 = v.median.saturating_sub(d.median);
    let p99 = v.p99.saturating_sub(d.p99);
    figure(
        "overhead, fake child: direct median / p99",
        format!("{} / {}", ms(d.median), ms(d.p99)),
        "-",
        None,
    );
    figure(
        "overhead, fake child: via send_message median / p99",
        format!("{} / {}", ms(v.median), ms(v.p99)),
        "-",
        None,
    );
    figure(
        "overhead, fake child: added at p50",
        ms(p50),
        "<= 1 ms",
        Some(p50 <= Duration::from_millis(1)),
    );
    figure(
        "overhead, fake child: added at p99",
        ms(p99),
        "<= 5 ms",
        Some(p99 <= Duration::from_millis(5)),
    );
    ping_section(&via, &direct).await;
    via.cancel().await.unwrap();
    direct.cancel().await.unwrap();
}

/// One JSON-RPC round trip with no work behind it: through `serve`, which
/// polls its stdin and stdout (`mcp/transport/stdio_fds.rs`), and through
/// the fake child, whose rmcp stdio transport reads and writes them through
/// tokio's blocking-pool streams.
async fn ping_section(
    via: &RunningService<RoleClient, ()>,
    direct: &RunningService<RoleClient, ()>,
) {
    use rmcp::model::{ClientRequest, PingRequest};
    const N: usize = 2000;
    let ping = |client: &RunningService<RoleClient, ()>| {
        let peer = client.peer().clone();
        async move {
            peer.send_request(ClientRequest::PingRequest(PingRequest::default()))
                .await
                .unwrap()
        }
    };
    let (mut serve_t, mut child_t) = (Vec::new(), Vec::new());
    for _ in 0..N {
        serve_t.push(timed(ping(via)).await.0);
        child_t.push(timed(ping(direct)).await.0);
    }
    let (s, c) = (stats(serve_t), stats(child_t));
    figure(
        "overhead: a ping round trip, serve (polled stdio) / fake child (blocking-pool stdio), median / p99",
        format!(
            "{} / {} ; {} / {}",
            ms(s.median),
            ms(s.p99),
            ms(c.median),
            ms(c.p99)
        ),
        "-",
        None,
    );
}

/// Where the overhead goes: the same messages through the library API in
/// process (no MCP hop between host and claude-comms).
pub(super) async fn inproc_section() {
    const N: usize = 1000;
    let home = home_with(&fake_toml(2, 4));
    let hub = hub_in(home.path());
    let mut direct_cmd = tokio::process::Command::new(bin("fake"));
    direct_cmd.kill_on_drop(true);
    let direct = client_of(direct_cmd).await;
    let folder = home.path().join("modules/arangodb").display().to_string();
    call(
        &direct,
        "claude_code",
        json!({"prompt": "[[brief]] warm", "workFolder": folder}),
    )
    .await;
    let send = |id: Option<String>, message: String| {
        let hub = hub.clone();
        async move {
            hub.messaging()
                .send(SendRequest {
                    source: Some("marker".into()),
                    target: Some("arangodb".into()),
                    message,
                    conversation_id: id,
                    ..Default::default()
                })
                .await
                .unwrap()
        }
    };
    let mut id = None;
    let (mut direct_t, mut lib_t) = (Vec::new(), Vec::new());
    for i in 0..N {
        if i % 20 == 0 {
            id = Some(send(None, "[[brief]] warm".into()).await.conversation_id);
        }
        let prompt = format!("[[brief]] message {i}");
        direct_t.push(
            timed(call(
                &direct,
                "claude_code",
                json!({"prompt": prompt, "workFolder": folder}),
            ))
            .await
            .0,
        );
        lib_t.push(timed(send(id.clone(), prompt)).await.0);
    }
    let (d, l) = (stats(direct_t), stats(lib_t));
    figure(
        "overhead, fake child: library call (no MCP hop) added at p50 / p99",
        format!(
            "{} / {}",
            ms(l.median.saturating_sub(d.median)),
            ms(l.p99.saturating_sub(d.p99))
        ),
        "-",
        None,
    );
    hub.shutdown().await;
    direct.cancel().await.unwrap();
}
