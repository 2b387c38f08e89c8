//! Issue 22's flood of abandoned sessions: hosts that `initialize` over
//! the TCP face with one token and never come back. Each held session kept
//! about 170 KB before sessions were bounded per token (3,000 took the
//! daemon from 19 to 557 MB); the daemon's resident memory must now stay
//! flat however many are opened. Included by bench.rs (`cargo bench --
//! sessions`).

use super::*;

use super::http_section::{HttpHost, daemon_on_tcp, token_for};

/// The daemon's resident memory, from /proc (MB).
fn rss_mb(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

pub(super) async fn sessions_section() {
    const SESSIONS: usize = 3000;
    let home = home_with(&fake_toml(1, 4));
    let stops_daemon = StopsDaemon(home.path().to_path_buf());
    let authority = daemon_on_tcp(home.path());
    let token = token_for(home.path(), "marker");
    let info: Value =
        serde_json::from_str(&std::fs::read_to_string(home.path().join("daemon.json")).unwrap())
            .unwrap();
    let pid = info["pid"].as_u64().unwrap() as u32;
    // One session first, so the figures start from a daemon that has
    // served the TCP face (TLS-free loopback, token checked).
    drop(HttpHost::connect(&authority, &token).await);
    let before = rss_mb(pid);
    let mut after_first_thousand = before;
    let started = Instant::now();
    for i in 0..SESSIONS {
        // A new connection and session each time, never closed by the
        // client: what an abandoned or hostile host leaves behind.
        drop(HttpHost::connect(&authority, &token).await);
        if i + 1 == 1000 {
            after_first_thousand = rss_mb(pid);
        }
    }
    let elapsed = started.elapsed();
    let after = rss_mb(pid);
    figure(
        "sessions: daemon RSS before / after 1,000 / after 3,000 abandoned sessions (one token)",
        format!("{before:.1} / {after_first_thousand:.1} / {after:.1} MB"),
        "flat",
        Some(after - after_first_thousand < 5.0),
    );
    figure(
        "sessions: initialize over a new connection, mean",
        ms(elapsed / SESSIONS as u32),
        "-",
        None,
    );
    let _ = tokio::task::spawn_blocking(move || drop(stops_daemon)).await;
}
