//! `serve`'s footprint: spawn to `initialize` answered, and its resident
//! memory idle and with a loaded store (`cargo bench -- footprint`).
//! Included by bench.rs.

use super::*;

use std::path::PathBuf;

use super::store_section::seed;

pub(super) async fn footprint_section() {
    // initialize within N ms of spawn (children start lazily).
    let home = home_with(&fake_toml(2, 4));
    let mut init = Vec::new();
    for _ in 0..20 {
        let (t, client) = timed(serve_client(home.path())).await;
        init.push(t);
        client.cancel().await.unwrap();
    }
    let s = stats(init);
    figure(
        "footprint: spawn to initialize answered (median / p99)",
        format!("{} / {}", ms(s.median), ms(s.p99)),
        "<= 50 ms",
        Some(s.median <= Duration::from_millis(50)),
    );

    let rss_of_serve = |home: PathBuf| async move {
        let mut command = tokio::process::Command::new(bin("claude-comms"));
        command
            .arg("serve")
            .env(HOME_ENV, &home)
            .env("RUST_LOG", "error");
        let (transport, _) = TokioChildProcess::builder(command)
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let pid = transport.id().unwrap();
        let client = ().serve(transport).await.unwrap();
        call(&client, "list_conversations", json!({})).await;
        call(&client, "search_conversations", json!({"query": "table"})).await;
        call(&client, "list_modules", json!({})).await;
        let rss = rss_kib(pid);
        client.cancel().await.unwrap();
        rss
    };
    let idle = rss_of_serve(home.path().to_path_buf()).await;
    figure(
        "footprint: serve RSS, idle",
        format!("{:.1} MB", idle as f64 / 1024.0),
        "<= 15 MB",
        Some(idle <= 15 * 1024),
    );

    let loaded = home_with("");
    let store = Store::open(&loaded.path().join("claude-comms.db")).unwrap();
    seed(&store, 1000, 100, &mut Rng(11)).await;
    drop(store);
    let rss = rss_of_serve(loaded.path().to_path_buf()).await;
    figure(
        "footprint: serve RSS with 1,000 conversations / 100,000 messages",
        format!("{:.1} MB", rss as f64 / 1024.0),
        "<= 50 MB",
        Some(rss <= 50 * 1024),
    );
}
