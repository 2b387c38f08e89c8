//! The module graph: modules as nodes, an arrow for each pair that asked
//! over the chosen window with its count, latency, failures and cost (the
//! ledger, as `stats` reads it), each linking to the pair's
//! conversations. A module token sees the pairs its module takes part in.

use std::sync::Arc;

use axum::Extension;
use axum::extract::State;
use axum::response::Response;

use super::Console;
use super::html::{error_page, esc, page, query_of, url_enc};
use super::session::Signed;
use super::svg::{Edge, graph};
use crate::hub::PairStats;

/// The windows offered, as `stats --since` reads them.
pub const WINDOWS: &[&str] = &["1h", "24h", "7d", "30d"];

/// The window asked for (`?window=`), one of [`WINDOWS`], else 7d.
pub fn window_of(uri: &axum::http::Uri) -> &'static str {
    let asked = query_of(uri).get("window").cloned().unwrap_or_default();
    WINDOWS
        .iter()
        .find(|w| **w == asked)
        .copied()
        .unwrap_or("7d")
}

/// Links to the same page over each window, the current one marked.
pub fn window_links(path: &str, current: &str) -> String {
    let links: String = WINDOWS
        .iter()
        .map(|w| {
            if *w == current {
                format!(r#" <strong aria-current="true">{w}</strong>"#)
            } else {
                format!(r#" <a href="{path}?window={w}">{w}</a>"#)
            }
        })
        .collect();
    format!(r#"<p class="windows">Window:{links}</p>"#)
}

fn ms(v: Option<i64>) -> String {
    v.map(|v| format!("{v} ms")).unwrap_or_else(|| "-".into())
}

/// The conversations page of one pair.
fn pair_href(p: &PairStats) -> String {
    format!(
        "/console/conversations?source={}&target={}",
        url_enc(&p.source),
        url_enc(&p.target)
    )
}

pub async fn graph_page(
    State(console): State<Arc<Console>>,
    Extension(signed): Extension<Signed>,
    uri: axum::http::Uri,
) -> Response {
    let window = window_of(&uri);
    let since = match crate::hub::parse_since(window) {
        Ok(s) => s,
        Err(e) => return error_page(&signed, "graph", &e),
    };
    let module = signed.caller.module();
    let report = match console.hub.conversations().stats(module, since).await {
        Ok(r) => r,
        Err(e) => return error_page(&signed, "graph", &e),
    };
    // Every registered module for the operator (an idle one is still part
    // of the picture); a module token, only its own and its partners.
    let mut modules: Vec<String> = match module {
        None => console.hub.modules().names(),
        Some(m) => vec![m.to_string()],
    };
    for p in &report.pairs {
        for m in [&p.source, &p.target] {
            if !modules.contains(m) {
                modules.push(m.clone());
            }
        }
    }
    modules.sort();
    let edges: Vec<Edge> = report
        .pairs
        .iter()
        .map(|p| {
            let failures: u64 = p.failures.values().sum();
            let mut label = format!("{} q · p50 {}", p.count, ms(p.latency_p50_ms));
            if failures > 0 {
                label.push_str(&format!(" · {failures} failed"));
            }
            Edge {
                source: p.source.clone(),
                target: p.target.clone(),
                label,
                href: pair_href(p),
                failed: failures > 0,
            }
        })
        .collect();
    let mut body = window_links("/console/graph", window);
    if report.pairs.is_empty() {
        body.push_str(&format!(
            r#"<p class="empty">No question ended in the last {window}.</p>"#
        ));
    }
    body.push_str(&graph(&modules, &edges));
    body.push_str(
        r#"<table class="pairs"><thead><tr><th>Asker → asked</th><th>Questions</th><th>Answered</th><th>Failures</th><th>p50</th><th>p95</th><th>Tokens in / out</th><th>Cost</th></tr></thead><tbody>"#,
    );
    for p in &report.pairs {
        let failures = if p.failures.is_empty() {
            "0".to_string()
        } else {
            p.failures
                .iter()
                .map(|(cause, n)| format!("{n} {cause}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        body.push_str(&format!(
            r#"<tr data-pair="{source}->{target}"><td><a href="{href}">{source} → {target}</a></td><td class="num count">{count}</td><td class="num">{replies}</td><td>{failures}</td><td class="num">{p50}</td><td class="num">{p95}</td><td class="num">{tin} / {tout}</td><td class="num">${cost:.4}</td></tr>"#,
            source = esc(&p.source),
            target = esc(&p.target),
            href = esc(&pair_href(p)),
            count = p.count,
            replies = p.replies,
            failures = esc(&failures),
            p50 = ms(p.latency_p50_ms),
            p95 = ms(p.latency_p95_ms),
            tin = p.tokens_in,
            tout = p.tokens_out,
            cost = p.cost_usd,
        ));
    }
    body.push_str("</tbody></table>");
    page(&signed, "graph", "Module graph", &body)
}
