//! Costs: spend per pair and per answering module over time (hourly
//! buckets over a day or less, daily ones beyond), plotted from the
//! ledger's rows, and every budget with how much of its window is used.
//! A module token sees its own pairs and the budgets that concern it.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Extension;
use axum::extract::State;
use axum::response::Response;

use super::Console;
use super::graph::{window_links, window_of};
use super::html::{error_page, esc, page};
use super::session::Signed;
use super::svg::line_plot;
use crate::hub::OutcomeRow;
use crate::time::{DAY_MS, HOUR_MS};

/// Per series name, the sum of `value` of its rows in each bucket.
fn series(
    rows: &[OutcomeRow],
    start: i64,
    bucket_ms: i64,
    buckets: usize,
    key: impl Fn(&OutcomeRow) -> String,
    value: impl Fn(&OutcomeRow) -> f64,
) -> Vec<(String, Vec<f64>)> {
    let mut by_key: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for row in rows {
        let i = ((row.at - start) / bucket_ms).clamp(0, buckets as i64 - 1) as usize;
        by_key.entry(key(row)).or_insert_with(|| vec![0.0; buckets])[i] += value(row);
    }
    by_key.into_iter().collect()
}

pub async fn costs_page(
    State(console): State<Arc<Console>>,
    Extension(signed): Extension<Signed>,
    uri: axum::http::Uri,
) -> Response {
    let window = window_of(&uri);
    let since = match crate::hub::parse_since(window) {
        Ok(s) => s.as_millis() as i64,
        Err(e) => return error_page(&signed, "costs", &e),
    };
    let module = signed.caller.module();
    let bucket_ms = if since <= DAY_MS { HOUR_MS } else { DAY_MS };
    // The store's clock (the database's in a fleet), which stamped every
    // row: a console on a machine whose clock is off still shows the
    // hours the budgets count.
    let now = match console.hub.maintenance().store_clock_ms().await {
        Ok(now) => now,
        Err(e) => return error_page(&signed, "costs", &e),
    };
    // Buckets on whole hours or days (UTC), so they match the budgets'.
    let end = now - now.rem_euclid(bucket_ms) + bucket_ms;
    let buckets = ((since + bucket_ms - 1) / bucket_ms).max(1) as usize;
    let start = end - buckets as i64 * bucket_ms;
    let rows = match console.hub.node().outcome_rows(start, module).await {
        Ok(r) => r,
        Err(e) => return error_page(&signed, "costs", &e),
    };
    let labels: Vec<String> = (0..buckets)
        .map(|i| {
            let at = chrono::DateTime::from_timestamp_millis(start + i as i64 * bucket_ms)
                .unwrap_or_default();
            if bucket_ms == HOUR_MS {
                at.format("%H:00").to_string()
            } else {
                at.format("%m-%d").to_string()
            }
        })
        .collect();
    let pair = |r: &OutcomeRow| format!("{} → {}", r.source, r.target);
    let target = |r: &OutcomeRow| r.target.clone();
    let cost = |r: &OutcomeRow| r.cost_usd.unwrap_or(0.0);
    let count = |_: &OutcomeRow| 1.0;
    let unit = if bucket_ms == HOUR_MS { "hour" } else { "day" };
    let mut body = window_links("/console/costs", window);
    let total: f64 = rows.iter().map(cost).sum();
    let unpriced = rows
        .iter()
        .filter(|r| r.failure.is_none() && r.cost_usd.is_none())
        .count();
    body.push_str(&format!(
        r#"<p class="summary">{} question(s), ${total:.4} in the last {window} (UTC {unit}s).{}</p>"#,
        rows.len(),
        if unpriced > 0 {
            format!(" {unpriced} answer(s) came from a backend that reports no cost (claude-code-mcp) and count as $0.")
        } else {
            String::new()
        }
    ));
    body.push_str(&format!("<h2>Cost per pair, per {unit}</h2>"));
    body.push_str(&line_plot(
        "cost per pair",
        &series(&rows, start, bucket_ms, buckets, pair, cost),
        &labels,
        "$",
    ));
    body.push_str(&format!("<h2>Cost per answering module, per {unit}</h2>"));
    body.push_str(&line_plot(
        "cost per module",
        &series(&rows, start, bucket_ms, buckets, target, cost),
        &labels,
        "$",
    ));
    body.push_str(&format!("<h2>Questions per pair, per {unit}</h2>"));
    body.push_str(&line_plot(
        "questions per pair",
        &series(&rows, start, bucket_ms, buckets, pair, count),
        &labels,
        "q",
    ));
    body.push_str(&budgets_html(&console, module).await);
    page(&signed, "costs", "Costs", &body)
}

/// The budgets table: each limit, what its current window used, a meter.
async fn budgets_html(console: &Console, module: Option<&str>) -> String {
    let budgets = match console.hub.node().budget_use(module).await {
        Ok(b) => b,
        Err(e) => return format!(r#"<p class="error">{}</p>"#, esc(&e.to_string())),
    };
    let mut out = String::from("<h2>Budgets</h2>");
    if budgets.is_empty() {
        out.push_str(r#"<p class="empty">No budget is configured (<code>[budgets]</code> in config.toml).</p>"#);
        return out;
    }
    out.push_str(r#"<table class="budgets"><thead><tr><th>Budget</th><th>Queries this hour</th><th></th><th>Cost today (UTC)</th><th></th></tr></thead><tbody>"#);
    let meter = |used: f64, max: Option<f64>| match max {
        Some(max) if max > 0.0 => format!(
            r#"<meter min="0" max="{max}" low="{low}" high="{high}" optimum="0" value="{used}"></meter> {pct:.0}%"#,
            low = max * 0.5,
            high = max * 0.8,
            pct = 100.0 * used / max
        ),
        _ => "no limit".to_string(),
    };
    for b in &budgets {
        out.push_str(&format!(
            r#"<tr><td>{name}</td><td class="num">{msgs}{mmax}</td><td>{mmeter}</td><td class="num">${cost:.4}{cmax}</td><td>{cmeter}</td></tr>"#,
            name = esc(&b.name),
            msgs = b.messages_this_hour,
            mmax = b
                .max_messages_per_hour
                .map(|m| format!(" of {m}"))
                .unwrap_or_default(),
            mmeter = meter(
                b.messages_this_hour as f64,
                b.max_messages_per_hour.map(|m| m as f64)
            ),
            cost = b.cost_usd_today,
            cmax = b
                .max_cost_usd_per_day
                .map(|m| format!(" of ${m:.2}"))
                .unwrap_or_default(),
            cmeter = meter(b.cost_usd_today, b.max_cost_usd_per_day),
        ));
    }
    out.push_str("</tbody></table>");
    out
}
