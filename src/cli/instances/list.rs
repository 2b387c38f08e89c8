//! `instances list`: the instances of every server sharing the database
//! (a dead server's rows are marked dead), and in a fleet the node of each.

use crate::cli::output::Output;
use crate::cli::when;
use crate::hub::Hub;

pub async fn run(hub: &Hub, out: &Output) -> anyhow::Result<i32> {
    let rows = hub.instances().all().await?;
    if out.json {
        out.json(&rows)?;
        return Ok(0);
    }
    let now = crate::time::now_ms();
    // In a fleet, which node runs each instance.
    let fleet = hub.node().in_a_fleet();
    let table: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            let i = &r.instance;
            let mut row = vec![
                i.id.clone(),
                i.name.clone().unwrap_or_else(|| "-".into()),
                i.backend.clone(),
                if r.server_alive {
                    i.state.clone()
                } else {
                    format!("{} (server dead)", i.state)
                },
                i.pid.map(|p| p.to_string()).unwrap_or_else(|| "-".into()),
                format!("{}", r.server_pid),
                i.started_at
                    .map(|s| when::span((now - s).max(0) / 1000))
                    .unwrap_or_else(|| "-".into()),
                i.rss_kib
                    .map(|k| format!("{:.1} MB", k as f64 / 1024.0))
                    .unwrap_or_else(|| "-".into()),
                i.requests_served.to_string(),
                i.in_flight.to_string(),
                i.queued.to_string(),
                i.restarts.to_string(),
                i.module_pair.clone().unwrap_or_default(),
            ];
            if fleet {
                row.insert(6, r.node.clone().unwrap_or_else(|| "-".into()));
            }
            row
        })
        .collect();
    let mut header = vec![
        "ID",
        "NAME",
        "BACKEND",
        "STATE",
        "PID",
        "SERVER",
        "UPTIME",
        "RSS",
        "SERVED",
        "IN-FLIGHT",
        "QUEUED",
        "RESTARTS",
        "PAIRS",
    ];
    if fleet {
        header.insert(6, "NODE");
    }
    out.table(&header, &table)?;
    Ok(0)
}
