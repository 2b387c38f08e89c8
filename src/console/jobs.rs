//! Jobs live: the newest questions, pending, running and finished, which
//! the script refreshes every second from `/console/api/jobs` (a poll, as
//! `jobs wait` polls: it works the same on SQLite and PostgreSQL, and
//! behind any proxy). An admin can cancel a pending job this daemon carries.

use std::sync::Arc;

use axum::Extension;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};

use super::Console;
use super::html::{
    LiveAction, LiveRow, LiveTable, admin_only, ago, clip, error_page, json_response, live_table,
    page, url_enc,
};
use super::session::Signed;
use crate::hub::{HubError, JobStatus};

/// Jobs shown, newest first.
const SHOWN: usize = 50;

const COLUMNS: &[(&str, &str)] = &[
    ("Job", "id"),
    ("Asked", "pair"),
    ("State", "state"),
    ("Sent", "when"),
    ("Took", "num"),
    ("Question", "text"),
    ("Answer or error", "text"),
    ("Node", "node"),
];

impl Console {
    /// The conversation's (source, target), remembered: they never change.
    async fn pair_of(&self, conversation_id: &str) -> Option<(String, String)> {
        let known = self
            .pairs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(conversation_id)
            .cloned();
        if known.is_some() {
            return known;
        }
        let t = self
            .hub
            .conversations()
            .get(conversation_id, Some(1), None)
            .await
            .ok()?;
        let pair = (t.conversation.source, t.conversation.target);
        self.pairs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(conversation_id.to_string(), pair.clone());
        Some(pair)
    }
}

/// The jobs a session may see: a module token only those of
/// conversations its module takes part in (as `list_jobs` pins it).
async fn jobs_table(console: &Console, signed: &Signed) -> Result<LiveTable, HubError> {
    let jobs = console
        .hub
        .jobs()
        .list(None, signed.caller.module(), SHOWN)
        .await?;
    let mut rows = Vec::with_capacity(jobs.len());
    for job in jobs {
        rows.push(row(console, signed, job).await);
    }
    Ok(LiveTable { rows, note: None })
}

async fn row(console: &Console, signed: &Signed, job: JobStatus) -> LiveRow {
    let asked = match console.pair_of(&job.conversation_id).await {
        Some((source, target)) => format!("{source} → {target}"),
        None => format!("{} → ?", job.source),
    };
    let outcome = job.reply.as_deref().or(job.error.as_deref()).unwrap_or("");
    let mut actions = Vec::new();
    if signed.is_admin() && job.is_pending() {
        actions.push(LiveAction {
            label: "cancel".into(),
            url: format!("/console/jobs/{}/cancel", url_enc(&job.message_id)),
        });
    }
    LiveRow {
        link: Some(format!(
            "/console/conversations/{}",
            url_enc(&job.conversation_id)
        )),
        cells: vec![
            job.message_id.chars().take(8).collect(),
            asked,
            job.status.clone(),
            ago(job.created_at),
            job.duration_ms
                .map(|ms| format!("{:.1} s", ms as f64 / 1000.0))
                .unwrap_or_default(),
            clip(&job.message, 80),
            clip(outcome, 80),
            job.node.clone().unwrap_or_default(),
        ],
        id: job.message_id,
        state: job.status,
        actions,
    }
}

pub async fn jobs_page(
    State(console): State<Arc<Console>>,
    Extension(signed): Extension<Signed>,
) -> Response {
    match jobs_table(&console, &signed).await {
        Ok(table) => page(
            &signed,
            "jobs",
            "Jobs",
            &format!(
                r#"<p class="hint">The newest {SHOWN} questions; this table follows them as they change, without reloading.</p>{}"#,
                live_table(&signed, "jobs", COLUMNS, "/console/api/jobs", 1000, &table)
            ),
        ),
        Err(e) => error_page(&signed, "jobs", &e),
    }
}

pub async fn jobs_json(
    State(console): State<Arc<Console>>,
    Extension(signed): Extension<Signed>,
) -> Response {
    match jobs_table(&console, &signed).await {
        Ok(table) => json_response(&table),
        Err(e) => (super::html::status_of(&e), e.to_string()).into_response(),
    }
}

/// POST /console/jobs/{id}/cancel (admin): cancels, then shows the jobs.
pub async fn cancel(
    State(console): State<Arc<Console>>,
    Extension(signed): Extension<Signed>,
    Path(id): Path<String>,
) -> Response {
    if !signed.is_admin() {
        return admin_only(&signed, "jobs");
    }
    tracing::info!(job = %id, token = %signed.token_id, "console job cancel");
    match console.hub.jobs().cancel(&id).await {
        Ok(_) => axum::response::Redirect::to("/console/jobs").into_response(),
        Err(e) => error_page(&signed, "jobs", &e),
    }
}
