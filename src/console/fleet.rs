//! The fleet page (every node, refreshed every two seconds) and the
//! instances page (per node, with stop, pause and resume). Both are the
//! operator's: over MCP a module token cannot read the fleet or control
//! instances either.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Extension;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};

use super::Console;
use super::html::{
    LiveRow, LiveTable, admin_only, error_page, esc, json_response, live_table, page, query_of,
    url_enc,
};
use super::session::Signed;
use crate::hub::{ControlAction, HubError};

const FLEET_COLUMNS: &[(&str, &str)] = &[
    ("Node", "name"),
    ("State", "state"),
    ("Version", "version"),
    ("Last heard", "heard"),
    ("Hosted modules", "modules"),
    ("Instances", "num"),
    ("Questions in flight", "num"),
    ("Connections (open / active)", "num"),
];

/// The fleet as rows: from `fleet_status` on PostgreSQL; on SQLite there
/// is no fleet, so this machine alone, and the note says so.
async fn fleet_table(console: &Console) -> Result<LiveTable, HubError> {
    let hub = &console.hub;
    let (status, note) = if hub.node().in_a_fleet() {
        (hub.node().fleet_status().await?, None)
    } else {
        (
            hub.node().machine_status().await?,
            Some(
                "This daemon's store is SQLite, which holds no fleet: this is this machine only (a fleet shares one PostgreSQL store)."
                    .to_string(),
            ),
        )
    };
    let fleet = hub.node().in_a_fleet();
    let rows = status
        .nodes
        .iter()
        .map(|n| {
            let state = if n.alive {
                "live"
            } else if n.stopped {
                "stopped"
            } else {
                "lost"
            };
            LiveRow {
                id: n.name.clone(),
                state: state.to_string(),
                cells: vec![
                    if n.name == status.this_node {
                        format!("{} (this node)", n.name)
                    } else {
                        n.name.clone()
                    },
                    state.to_string(),
                    n.version.clone(),
                    if fleet {
                        format!("{} ago", crate::time::span_text(n.heard_ms_ago))
                    } else {
                        "now (this daemon)".to_string()
                    },
                    if n.modules.is_empty() {
                        "-".to_string()
                    } else {
                        n.modules.join(", ")
                    },
                    n.instances.to_string(),
                    n.in_flight.to_string(),
                    if fleet {
                        format!("{} / {}", n.connections.open, n.connections.active)
                    } else {
                        "- (SQLite)".to_string()
                    },
                ],
                link: None,
                actions: Vec::new(),
            }
        })
        .collect();
    Ok(LiveTable { rows, note })
}

pub async fn fleet_page(
    State(console): State<Arc<Console>>,
    Extension(signed): Extension<Signed>,
) -> Response {
    if !signed.is_admin() {
        return admin_only(&signed, "fleet");
    }
    match fleet_table(&console).await {
        Ok(table) => page(
            &signed,
            "fleet",
            "Fleet",
            &live_table(
                &signed,
                "fleet",
                FLEET_COLUMNS,
                "/console/api/fleet",
                2000,
                &table,
            ),
        ),
        Err(e) => error_page(&signed, "fleet", &e),
    }
}

pub async fn fleet_json(
    State(console): State<Arc<Console>>,
    Extension(signed): Extension<Signed>,
) -> Response {
    if !signed.is_admin() {
        return (axum::http::StatusCode::FORBIDDEN, "needs an admin token\n").into_response();
    }
    match fleet_table(&console).await {
        Ok(table) => json_response(&table),
        Err(e) => (super::html::status_of(&e), e.to_string()).into_response(),
    }
}

/// The actions offered for an instance in `state`.
fn actions_for(state: &str) -> &'static [ControlAction] {
    match state {
        "paused" => &[ControlAction::Resume, ControlAction::Stop],
        "stopped" | "dead" | "failed" => &[],
        _ => &[ControlAction::Pause, ControlAction::Stop],
    }
}

pub async fn instances_page(
    State(console): State<Arc<Console>>,
    Extension(signed): Extension<Signed>,
    uri: axum::http::Uri,
) -> Response {
    if !signed.is_admin() {
        return admin_only(&signed, "instances");
    }
    let rows = match console.hub.instances().all().await {
        Ok(rows) => rows,
        Err(e) => return error_page(&signed, "instances", &e),
    };
    let query = query_of(&uri);
    let mut body = String::new();
    if let Some(done) = query.get("done") {
        body.push_str(&format!(r#"<p class="done" id="done">{}</p>"#, esc(done)));
    }
    if let Some(problem) = query.get("problem") {
        body.push_str(&format!(
            r#"<p class="error" id="problem">{}</p>"#,
            esc(problem)
        ));
    }
    let mut by_node: BTreeMap<String, Vec<_>> = BTreeMap::new();
    for row in rows.iter().filter(|r| r.server_alive) {
        let node = row.node.clone().unwrap_or_else(|| row.hostname.clone());
        by_node.entry(node).or_default().push(row);
    }
    if by_node.is_empty() {
        body.push_str(r#"<p class="empty">No instance runs now: instances start when a question needs one (or <code>claude-comms instances start</code>).</p>"#);
    }
    for (node, rows) in by_node {
        body.push_str(&format!(
            r#"<h2>{}</h2><table class="instances"><thead><tr><th>Instance</th><th>Module pair</th><th>Backend</th><th>State</th><th>PID</th><th>Up</th><th>Served</th><th>In flight</th><th>Restarts</th><th>Last error</th><th></th></tr></thead><tbody>"#,
            esc(&node)
        ));
        for row in rows {
            let i = &row.instance;
            let name = i.name.clone().unwrap_or_else(|| i.id.clone());
            let forms: String = actions_for(&i.state)
                .iter()
                .map(|a| {
                    super::html::action_form(
                        &signed,
                        &format!("/console/instances/{}/{}", url_enc(&i.id), a.as_str()),
                        a.as_str(),
                        "act",
                    )
                })
                .collect();
            body.push_str(&format!(
                r#"<tr data-id="{id}" data-state="{state}"><td>{name}</td><td>{pair}</td><td>{backend}</td><td class="state state-{state}">{state}</td><td>{pid}</td><td>{up}</td><td class="num">{served}</td><td class="num">{inflight}</td><td class="num">{restarts}</td><td>{error}</td><td class="actions">{forms}</td></tr>"#,
                id = esc(&i.id),
                name = esc(&name),
                pair = esc(i.module_pair.as_deref().unwrap_or("-")),
                backend = esc(&i.backend),
                state = esc(&i.state),
                pid = i.pid.map(|p| p.to_string()).unwrap_or_else(|| "-".into()),
                up = row
                    .uptime_s
                    .map(|s| crate::time::span_text(s as i64 * 1000))
                    .unwrap_or_else(|| "-".into()),
                served = i.requests_served,
                inflight = i.in_flight,
                restarts = i.restarts,
                error = esc(i.last_error.as_deref().unwrap_or("")),
            ));
        }
        body.push_str("</tbody></table>");
    }
    page(&signed, "instances", "Instances", &body)
}

/// POST /console/instances/{id}/{action}: stop, pause or resume (admin).
pub async fn instance_action(
    State(console): State<Arc<Console>>,
    Extension(signed): Extension<Signed>,
    Path((id, action)): Path<(String, String)>,
) -> Response {
    if !signed.is_admin() {
        return admin_only(&signed, "instances");
    }
    let action = match action.parse::<ControlAction>() {
        Ok(a @ (ControlAction::Stop | ControlAction::Pause | ControlAction::Resume)) => a,
        _ => {
            return error_page(
                &signed,
                "instances",
                &HubError::BadRequest(format!(
                    "unknown instance action \"{action}\": the console offers stop, pause and resume"
                )),
            );
        }
    };
    tracing::info!(instance = %id, action = action.as_str(), token = %signed.token_id, "console instance control");
    let outcome = match console.hub.instances().control(&id, action).await {
        Ok(status) => format!(
            "done={}",
            url_enc(&format!(
                "{} {}: now {}",
                action.as_str(),
                id,
                status.state.as_str()
            ))
        ),
        Err(e) => format!("problem={}", url_enc(&e.to_string())),
    };
    Redirect::to(&format!("/console/instances?{outcome}")).into_response()
}
