//! The pieces every page is made of: escaping, the page shell (head,
//! navigation, sign-out form), form and query decoding, and the error page.
//! Pages are plain strings: there is little HTML and no templating crate
//! in the tree, and `esc` at every interpolation is easy to check.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

pub use super::encode::{esc, html_response, query_of, url_enc};
use super::session::Signed;
use crate::hub::HubError;

/// The sections of the console, in navigation order: path, title, and
/// whether a module token may open it (fleet and instances are the
/// operator's, as `fleet_status` and `list_instances` are over MCP).
pub const SECTIONS: &[(&str, &str, bool)] = &[
    ("fleet", "Fleet", false),
    ("graph", "Module graph", true),
    ("jobs", "Jobs", true),
    ("conversations", "Conversations", true),
    ("costs", "Costs", true),
    ("instances", "Instances", false),
];

/// A whole page: head (the embedded stylesheet and script, no inline
/// code: the CSP allows none), navigation, who is signed in, `body`.
pub fn page(signed: &Signed, active: &str, title: &str, body: &str) -> Response {
    let nav: String = SECTIONS
        .iter()
        .filter(|(_, _, open)| *open || signed.is_admin())
        .map(|(path, name, _)| {
            let current = if *path == active {
                r#" aria-current="page""#
            } else {
                ""
            };
            format!(r#"<a href="/console/{path}"{current}>{name}</a>"#)
        })
        .collect();
    let who = match signed.caller.module() {
        None => "admin".to_string(),
        Some(m) => format!("module {}", esc(m)),
    };
    let html = format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="csrf-token" content="{csrf}">
<title>{title} · claude-comms</title>
<link rel="stylesheet" href="/console/assets/console.css">
<script src="/console/assets/console.js" defer></script>
</head><body>
<header><span class="brand">claude-comms</span><nav>{nav}</nav>
<form class="signout" method="post" action="/console/logout"><span class="who">{who} · token {token}</span>
<input type="hidden" name="csrf" value="{csrf}"><button type="submit">Sign out</button></form></header>
<main><h1>{title}</h1>
{body}
</main></body></html>"#,
        csrf = esc(&signed.csrf),
        title = esc(title),
        token = esc(&signed.token_id),
    );
    html_response(StatusCode::OK, html)
}

pub fn json_response<T: serde::Serialize>(value: &T) -> Response {
    match serde_json::to_string(value) {
        Ok(text) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json")],
            text,
        )
            .into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

/// A POST form that acts on something: the session's CSRF token rides in
/// a hidden field, checked before any handler runs.
pub fn action_form(signed: &Signed, action: &str, label: &str, class: &str) -> String {
    format!(
        r#"<form class="inline" method="post" action="{action}"><input type="hidden" name="csrf" value="{csrf}"><button type="submit" class="{class}">{label}</button></form>"#,
        action = esc(action),
        csrf = esc(&signed.csrf),
        label = esc(label),
        class = esc(class),
    )
}

/// A table that the script refreshes from a JSON endpoint (the same rows
/// the page was first rendered with, so it reads without script too).
#[derive(Debug, Clone, serde::Serialize)]
pub struct LiveTable {
    pub rows: Vec<LiveRow>,
    /// Said above the table (e.g. "SQLite: this machine only").
    pub note: Option<String>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct LiveRow {
    pub id: String,
    /// A word for the row's state (`pending`, `live`, ...), as a CSS class.
    pub state: String,
    /// Plain text, one per column.
    pub cells: Vec<String>,
    /// Where the first cell links to.
    pub link: Option<String>,
    /// POST forms (with the session's CSRF token) shown in the last column.
    pub actions: Vec<LiveAction>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct LiveAction {
    pub label: String,
    pub url: String,
}

/// The table markup for `columns` (header text, cell class), refreshed by
/// the script from `endpoint` every `every_ms`.
pub fn live_table(
    signed: &Signed,
    id: &str,
    columns: &[(&str, &str)],
    endpoint: &str,
    every_ms: u32,
    table: &LiveTable,
) -> String {
    let head: String = columns
        .iter()
        .map(|(name, class)| format!(r#"<th data-col="{}">{}</th>"#, esc(class), esc(name)))
        .collect();
    let rows: String = table
        .rows
        .iter()
        .map(|row| {
            let cells: String = row
                .cells
                .iter()
                .zip(columns)
                .enumerate()
                .map(|(i, (text, (_, class)))| {
                    let class = if *class == "state" {
                        format!("state state-{}", esc(&row.state))
                    } else {
                        esc(class)
                    };
                    match (&row.link, i) {
                        (Some(link), 0) => format!(
                            r#"<td class="{class}"><a href="{}">{}</a></td>"#,
                            esc(link),
                            esc(text)
                        ),
                        _ => format!(r#"<td class="{class}">{}</td>"#, esc(text)),
                    }
                })
                .collect();
            let actions: String = row
                .actions
                .iter()
                .map(|a| action_form(signed, &a.url, &a.label, "act"))
                .collect();
            format!(
                r#"<tr data-id="{}" data-state="{}">{cells}<td class="actions">{actions}</td></tr>"#,
                esc(&row.id),
                esc(&row.state)
            )
        })
        .collect();
    let note = table
        .note
        .as_deref()
        .map(|n| format!(r#"<p class="note" data-note>{}</p>"#, esc(n)))
        .unwrap_or_else(|| r#"<p class="note" data-note hidden></p>"#.to_string());
    format!(
        r#"{note}<table id="{id}" class="live" data-live="{endpoint}" data-every="{every_ms}"><thead><tr>{head}<th></th></tr></thead><tbody>{rows}</tbody></table>
<p class="updated">Updated <span data-updated>when the page loaded</span>.</p>"#,
        id = esc(id),
        endpoint = esc(endpoint),
    )
}

/// The status a hub error is shown with.
pub fn status_of(error: &HubError) -> StatusCode {
    match error {
        HubError::NotFound { .. } => StatusCode::NOT_FOUND,
        HubError::BadArgument { .. }
        | HubError::MissingArgument { .. }
        | HubError::BadRequest(_) => StatusCode::BAD_REQUEST,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// A page that says what went wrong, in the hub's words.
pub fn error_page(signed: &Signed, active: &str, error: &HubError) -> Response {
    let mut response = page(
        signed,
        active,
        "Not possible",
        &format!(r#"<p class="error">{}</p>"#, esc(&error.to_string())),
    );
    *response.status_mut() = status_of(error);
    response
}

/// What a module token sees of an operator-only section.
pub fn admin_only(signed: &Signed, active: &str) -> Response {
    let mut response = page(
        signed,
        active,
        "Needs an admin token",
        r#"<p class="error">This page needs an admin token (<code>claude-comms tokens create --admin</code>); this session acts as a module and sees only its own module's side.</p>"#,
    );
    *response.status_mut() = StatusCode::FORBIDDEN;
    response
}

/// `ms` ago, for people.
pub fn ago(ms_then: i64) -> String {
    let ms = crate::time::now_ms() - ms_then;
    format!("{} ago", crate::time::span_text(ms))
}

/// The first `max` characters of `text`, with an ellipsis if cut.
pub fn clip(text: &str, max: usize) -> String {
    let mut chars = text.chars();
    let head: String = chars.by_ref().take(max).collect();
    if chars.next().is_some() {
        format!("{head}…")
    } else {
        head
    }
}

#[cfg(test)]
mod tests {
    use super::super::encode::decode_form;
    use super::*;

    #[test]
    fn forms_decode_plus_and_percent_and_keep_bad_escapes() {
        let f = decode_form("token=cct_ab_cd&q=a+b%21&bad=%zz&end=%4");
        assert_eq!(f["token"], "cct_ab_cd");
        assert_eq!(f["q"], "a b!");
        assert_eq!(f["bad"], "%zz");
        assert_eq!(f["end"], "%4");
        assert_eq!(decode_form("x=%E2%9C%93")["x"], "✓");
    }

    #[test]
    fn escaping_covers_markup_and_quotes() {
        assert_eq!(
            esc(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
        assert_eq!(url_enc("a b/c"), "a%20b%2Fc");
        assert_eq!(clip("abcdef", 3), "abc…");
        assert_eq!(clip("abc", 3), "abc");
    }
}
