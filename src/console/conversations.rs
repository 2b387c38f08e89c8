//! Conversations: the list (optionally one module pair's, as the graph
//! links it), search (the store's full-text search), one conversation
//! with each reply's commit and stale replies marked, and export. A
//! module token sees only conversations its module takes part in; another
//! module's id is "not found", exactly as over MCP.

use std::sync::Arc;

use axum::Extension;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::Console;
use super::html::{ago, clip, error_page, esc, page, query_of, url_enc};
use super::session::Signed;
use crate::hub::{ConversationFilter, ExportFormat, HubError, Message, Role};

/// The most conversations a list reads (the store's page maximum).
const LIST_LIMIT: usize = 500;
/// Search hits shown.
const HITS: usize = 50;

fn search_form(q: &str) -> String {
    format!(
        r#"<form class="search" method="get" action="/console/conversations"><label for="q">Search messages</label> <input id="q" name="q" type="search" value="{}"> <button type="submit">Search</button></form>"#,
        esc(q)
    )
}

pub async fn list_page(
    State(console): State<Arc<Console>>,
    Extension(signed): Extension<Signed>,
    uri: axum::http::Uri,
) -> Response {
    let query = query_of(&uri);
    let module = signed.caller.module().map(str::to_string);
    let q = query.get("q").map(|q| q.trim()).unwrap_or_default();
    let mut body = search_form(q);
    if !q.is_empty() {
        let results = match console
            .hub
            .conversations()
            .search(q, module.clone(), HITS)
            .await
        {
            Ok(r) => r,
            Err(e) => return error_page(&signed, "conversations", &e),
        };
        body.push_str(&format!(
            r#"<h2>{} hit(s) for “{}”</h2><ul class="hits">"#,
            results.hits.len(),
            esc(q)
        ));
        for hit in &results.hits {
            body.push_str(&format!(
                r#"<li><a href="/console/conversations/{id}#m{seq}">{source} → {target}</a> <span class="meta">{role} #{seq} by {sender}, {when}</span><div class="snippet">{snippet}</div></li>"#,
                id = url_enc(&hit.conversation_id),
                seq = hit.seq,
                source = esc(&hit.source),
                target = esc(&hit.target),
                role = esc(hit.role.as_str()),
                sender = esc(&hit.sender),
                when = esc(&ago(hit.created_at)),
                snippet = esc(&hit.snippet),
            ));
        }
        body.push_str("</ul>");
    }
    let filter = ConversationFilter {
        module: module.clone(),
        limit: LIST_LIMIT,
        ..Default::default()
    };
    let page_of = match console.hub.conversations().list(filter).await {
        Ok(p) => p,
        Err(e) => return error_page(&signed, "conversations", &e),
    };
    let source = query.get("source").filter(|s| !s.is_empty());
    let target = query.get("target").filter(|s| !s.is_empty());
    let shown: Vec<_> = page_of
        .conversations
        .iter()
        .filter(|c| source.is_none_or(|s| *s == c.source))
        .filter(|c| target.is_none_or(|t| *t == c.target))
        .collect();
    let heading = match (source, target) {
        (Some(s), Some(t)) => format!("Conversations of {} → {}", esc(s), esc(t)),
        _ => "Conversations".to_string(),
    };
    body.push_str(&format!(
        r#"<h2>{heading} ({})</h2><table class="conversations"><thead><tr><th>Conversation</th><th>Asked</th><th>Title</th><th>Status</th><th>Messages</th><th>Updated</th></tr></thead><tbody>"#,
        shown.len()
    ));
    for c in shown {
        body.push_str(&format!(
            r#"<tr data-id="{id}"><td><a href="/console/conversations/{url}">{short}</a></td><td>{source} → {target}</td><td>{title}</td><td>{status}</td><td class="num">{count}</td><td>{when}</td></tr>"#,
            id = esc(&c.id),
            url = url_enc(&c.id),
            short = esc(&c.id.chars().take(8).collect::<String>()),
            source = esc(&c.source),
            target = esc(&c.target),
            title = esc(&clip(c.title.as_deref().unwrap_or(""), 60)),
            status = esc(c.status.as_str()),
            count = c.message_count,
            when = esc(&ago(c.updated_at)),
        ));
    }
    body.push_str("</tbody></table>");
    page(&signed, "conversations", "Conversations", &body)
}

/// One message as an article: who, when, and for a reply the commit it
/// was written against and whether the folder has moved on since.
fn message_html(m: &Message) -> String {
    let mut meta = format!(
        "{role} #{seq} · {sender} · {when}",
        role = esc(m.role.as_str()),
        seq = m.seq,
        sender = esc(&m.sender),
        when = esc(&crate::time::utc_text(m.created_at)),
    );
    if m.role == Role::Reply {
        let commit = match (&m.module_commit, m.module_dirty) {
            (Some(c), Some(true)) => format!("commit {} (with uncommitted changes)", clip(c, 12)),
            (Some(c), _) => format!("commit {}", clip(c, 12)),
            (None, _) => "no commit (folder outside git)".to_string(),
        };
        meta.push_str(&format!(
            r#" · <span class="commit" title="{}">{}</span>"#,
            esc(m.module_commit.as_deref().unwrap_or("")),
            esc(&commit)
        ));
    }
    let stale = match &m.stale {
        Some(changes) => format!(
            r#"<p class="stale">Stale: the module's folder changed since this reply ({} → {}; {} file(s) differ{}).</p>"#,
            esc(&clip(&changes.from, 12)),
            esc(&clip(&changes.to, 12)),
            changes.files_changed,
            changes
                .commits
                .map(|n| format!(", {n} commit(s)"))
                .unwrap_or_default()
        ),
        None => String::new(),
    };
    let class = if m.stale.is_some() {
        " stale-reply"
    } else {
        ""
    };
    format!(
        r#"<article id="m{seq}" class="message {role}{class}" data-role="{role}" data-status="{status}"><p class="meta">{meta} · {status}</p>{stale}<pre>{content}</pre></article>"#,
        seq = m.seq,
        role = esc(m.role.as_str()),
        status = esc(m.status.as_str()),
        content = esc(&m.content),
    )
}

pub async fn read_page(
    State(console): State<Arc<Console>>,
    Extension(signed): Extension<Signed>,
    Path(id): Path<String>,
) -> Response {
    if let Err(e) = crate::mcp::access::check_conversation(&console.hub, &signed.caller, &id).await
    {
        return error_page(&signed, "conversations", &e);
    }
    let t = match console.hub.conversations().get(&id, None, None).await {
        Ok(t) => t,
        Err(e) => return error_page(&signed, "conversations", &e),
    };
    let c = &t.conversation;
    let exports: String = [
        ExportFormat::Markdown,
        ExportFormat::Json,
        ExportFormat::Jsonl,
    ]
    .iter()
    .map(|f| {
        format!(
            r#" <a class="export" href="/console/conversations/{}/export?format={}">{}</a>"#,
            url_enc(&c.id),
            f.as_str(),
            f.as_str()
        )
    })
    .collect();
    let stale = t.messages.iter().filter(|m| m.stale.is_some()).count();
    let mut body = format!(
        r#"<p class="meta"><span class="pair">{source} → {target}</span> · {status} · {count} message(s) · id <code>{id}</code> · export:{exports}</p>"#,
        source = esc(&c.source),
        target = esc(&c.target),
        status = esc(c.status.as_str()),
        count = c.message_count,
        id = esc(&c.id),
    );
    if stale > 0 {
        body.push_str(&format!(
            r#"<p class="stale">{stale} repl(y/ies) below are stale: {} has changed since they were written.</p>"#,
            esc(&c.target)
        ));
    }
    for m in &t.messages {
        body.push_str(&message_html(m));
    }
    let title = c
        .title
        .clone()
        .unwrap_or_else(|| format!("{} → {}", c.source, c.target));
    page(&signed, "conversations", &title, &body)
}

/// GET /console/conversations/{id}/export?format=markdown|json|jsonl, as a
/// download.
pub async fn export(
    State(console): State<Arc<Console>>,
    Extension(signed): Extension<Signed>,
    Path(id): Path<String>,
    uri: axum::http::Uri,
) -> Response {
    if let Err(e) = crate::mcp::access::check_conversation(&console.hub, &signed.caller, &id).await
    {
        return error_page(&signed, "conversations", &e);
    }
    let query = query_of(&uri);
    let name = query
        .get("format")
        .map(String::as_str)
        .unwrap_or("markdown");
    let format: ExportFormat = match name.parse() {
        Ok(f) => f,
        Err(_) => {
            return error_page(
                &signed,
                "conversations",
                &HubError::BadRequest(format!(
                    "unknown export format \"{name}\": markdown, json or jsonl"
                )),
            );
        }
    };
    let (mime, ext) = match format {
        ExportFormat::Markdown => ("text/markdown; charset=utf-8", "md"),
        ExportFormat::Json => ("application/json", "json"),
        ExportFormat::Jsonl => ("application/jsonl", "jsonl"),
    };
    match console.hub.conversations().export(&id, format).await {
        Ok(text) => {
            let file: String = id
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
                .collect();
            (
                StatusCode::OK,
                [
                    (header::CONTENT_TYPE, mime.to_string()),
                    (
                        header::CONTENT_DISPOSITION,
                        format!("attachment; filename=\"conversation-{file}.{ext}\""),
                    ),
                ],
                text,
            )
                .into_response()
        }
        Err(e) => error_page(&signed, "conversations", &e),
    }
}
