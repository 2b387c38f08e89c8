//! Signing in to the console: a token (admin or module) is posted once in
//! a form; the console keeps a random session id in an HttpOnly,
//! SameSite=Strict cookie scoped to `/console`, and maps it here, in
//! memory, to the token's *id* (never the token). Every request re-reads
//! the token by id, so a revoked or expired token ends its sessions at
//! once. Each session has its own CSRF token, which every POST carries in
//! a hidden field. Sessions live in this daemon's memory: a restart signs
//! everyone out, which is the safe way round.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};

use super::Console;
use super::encode::{decode_form, esc, html_response};
use crate::hub::{Caller, TOKEN_PREFIX};

/// The session cookie's name.
pub const COOKIE: &str = "cc_console";

/// A session unused this long is forgotten.
const IDLE: Duration = Duration::from_secs(8 * 3600);

/// Sessions kept at most; past it the least recently used goes, so a
/// flood of sign-ins cannot grow the daemon's memory without bound.
const MAX_SESSIONS: usize = 256;

/// The largest form the console accepts (a token, a CSRF token, a query).
pub const MAX_FORM_BYTES: usize = 16 * 1024;

struct Session {
    token_id: String,
    csrf: String,
    last_used: Instant,
}

/// The console's sessions, by id.
#[derive(Clone, Default)]
pub struct Sessions(Arc<Mutex<HashMap<String, Session>>>);

/// A signed-in request: who it acts as, with the session's CSRF token
/// (for the forms a page renders). Put in the request by [`require_session`].
#[derive(Clone, Debug)]
pub struct Signed {
    pub caller: Caller,
    pub token_id: String,
    pub csrf: String,
    pub session_id: String,
}

impl Signed {
    pub fn is_admin(&self) -> bool {
        self.caller.module().is_none()
    }
}

/// 244 random bits from the OS source (two v4 UUIDs), as hex.
fn random_id() -> String {
    format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

/// Equal-length comparison that does not stop at the first difference.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

impl Sessions {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Session>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A new session for token `token_id`: its id and CSRF token.
    fn open(&self, token_id: String) -> String {
        let mut sessions = self.lock();
        sessions.retain(|_, s| s.last_used.elapsed() < IDLE);
        while sessions.len() >= MAX_SESSIONS {
            let oldest = sessions
                .iter()
                .min_by_key(|(_, s)| s.last_used)
                .map(|(id, _)| id.clone());
            match oldest {
                Some(id) => sessions.remove(&id),
                None => break,
            };
        }
        let id = random_id();
        sessions.insert(
            id.clone(),
            Session {
                token_id,
                csrf: random_id(),
                last_used: Instant::now(),
            },
        );
        id
    }

    /// The token id and CSRF token of live session `id`, marking it used.
    fn touch(&self, id: &str) -> Option<(String, String)> {
        let mut sessions = self.lock();
        let session = sessions.get_mut(id)?;
        if session.last_used.elapsed() >= IDLE {
            sessions.remove(id);
            return None;
        }
        session.last_used = Instant::now();
        Some((session.token_id.clone(), session.csrf.clone()))
    }

    fn close(&self, id: &str) {
        self.lock().remove(id);
    }
}

/// The session id in the request's cookie, if any.
fn session_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.to_string())
}

/// The session cookie: never readable by script, never sent by another
/// site's request, only to the console's paths; `Secure` over HTTPS.
fn cookie(secure: bool, value: &str, max_age: Option<u64>) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    let age = max_age
        .map(|s| format!("; Max-Age={s}"))
        .unwrap_or_default();
    HeaderValue::from_str(&format!(
        "{COOKIE}={value}; Path=/console; HttpOnly; SameSite=Strict{secure}{age}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("cc_console=; Path=/console"))
}

/// The sign-in page, with `problem` said above the form.
pub fn sign_in_page(status: StatusCode, problem: Option<&str>) -> Response {
    let problem = problem
        .map(|p| format!(r#"<p class="error" id="problem">{}</p>"#, esc(p)))
        .unwrap_or_default();
    html_response(
        status,
        format!(
            r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sign in · claude-comms</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="/console/assets/console.css"></head>
<body class="signin"><main><h1>claude-comms console</h1>
{problem}
<form method="post" action="/console/login">
<label for="token">Access token</label>
<input id="token" name="token" type="password" autocomplete="off" placeholder="cct_…" required>
<button type="submit">Sign in</button></form>
<p class="hint">An admin token (<code>claude-comms tokens create --admin</code>) sees the whole fleet;
a module token (<code>--module NAME</code>) sees only that module's conversations, jobs and figures.</p>
</main></body></html>"#
        ),
    )
}

pub async fn sign_in_form() -> Response {
    sign_in_page(StatusCode::OK, None)
}

/// POST /console/login: checks the token as the HTTP face does, opens a
/// session and sets its cookie. The token is read from the body only.
pub async fn sign_in(State(console): State<Arc<Console>>, request: Request) -> Response {
    let body = match axum::body::to_bytes(request.into_body(), MAX_FORM_BYTES).await {
        Ok(body) => body,
        Err(_) => {
            return sign_in_page(StatusCode::PAYLOAD_TOO_LARGE, Some("the form is too large"));
        }
    };
    let form = decode_form(&String::from_utf8_lossy(&body));
    let token = form.get("token").map(|t| t.trim()).unwrap_or_default();
    if token.is_empty() {
        return sign_in_page(StatusCode::BAD_REQUEST, Some("paste a token to sign in"));
    }
    if let Err(e) = console.hub.tokens().authenticate(token).await {
        tracing::warn!(reason = %e, "console sign-in refused");
        return sign_in_page(StatusCode::UNAUTHORIZED, Some(&e.to_string()));
    }
    // authenticate accepted it, so it has the shape cct_<id>_<secret>.
    let Some(token_id) = token
        .strip_prefix(TOKEN_PREFIX)
        .and_then(|rest| rest.split_once('_'))
        .map(|(id, _)| id.to_string())
    else {
        return sign_in_page(StatusCode::UNAUTHORIZED, Some("not a claude-comms token"));
    };
    tracing::info!(token = %token_id, "console sign-in");
    let session = console.sessions.open(token_id);
    let mut response = Redirect::to("/console/").into_response();
    response
        .headers_mut()
        .insert(header::SET_COOKIE, cookie(console.secure, &session, None));
    response
}

/// POST /console/logout (behind the session and CSRF checks).
pub async fn sign_out(
    State(console): State<Arc<Console>>,
    axum::Extension(signed): axum::Extension<Signed>,
) -> Response {
    console.sessions.close(&signed.session_id);
    let mut response = Redirect::to("/console/login").into_response();
    response
        .headers_mut()
        .insert(header::SET_COOKIE, cookie(console.secure, "", Some(0)));
    response
}

/// Whether a path is a JSON endpoint (refused with 401, not redirected).
fn is_api(path: &str) -> bool {
    path.starts_with("/console/api/")
}

/// The middleware in front of every page but sign-in and the assets:
/// no live session → sign-in (HTML) or 401 (JSON); a POST's CSRF field
/// must match the session's. (No console form carries more than that
/// token; the path says what to act on.)
pub async fn require_session(
    State(console): State<Arc<Console>>,
    request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path().to_string();
    let refuse = |why: &str| {
        if is_api(&path) {
            (StatusCode::UNAUTHORIZED, format!("{why}\n")).into_response()
        } else {
            Redirect::to("/console/login").into_response()
        }
    };
    let Some(session_id) = session_cookie(request.headers()) else {
        return refuse("sign in to the console first");
    };
    let Some((token_id, csrf)) = console.sessions.touch(&session_id) else {
        return refuse("the console session has ended; sign in again");
    };
    let caller = match console.hub.tokens().caller_of(&token_id).await {
        Ok(caller) => caller,
        Err(e) => {
            console.sessions.close(&session_id);
            tracing::warn!(reason = %e, "console session ended: its token no longer works");
            return refuse(&e.to_string());
        }
    };
    let signed = Signed {
        caller,
        token_id,
        csrf,
        session_id,
    };
    let (mut parts, body) = request.into_parts();
    if parts.method == axum::http::Method::POST {
        let Ok(bytes) = axum::body::to_bytes(body, MAX_FORM_BYTES).await else {
            return (StatusCode::PAYLOAD_TOO_LARGE, "the form is too large\n").into_response();
        };
        let form = decode_form(&String::from_utf8_lossy(&bytes));
        let presented = form.get("csrf").map(String::as_str).unwrap_or_default();
        if !same(presented, &signed.csrf) {
            tracing::warn!(path = %path, "console POST refused: missing or wrong CSRF token");
            return (
                StatusCode::FORBIDDEN,
                [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                "refused: this form's CSRF token is missing or not this session's; reload the page and try again\n",
            )
                .into_response();
        }
        parts.extensions.insert(signed);
        return next
            .run(Request::from_parts(parts, axum::body::Body::empty()))
            .await;
    }
    parts.extensions.insert(signed);
    next.run(Request::from_parts(parts, body)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cookie_is_found_among_others() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; cc_console=abc; b=2"),
        );
        assert_eq!(session_cookie(&headers).as_deref(), Some("abc"));
        assert_eq!(session_cookie(&HeaderMap::new()), None);
    }

    #[test]
    fn the_cookie_is_strict_and_secure_over_https() {
        let plain = cookie(false, "abc", None);
        assert_eq!(
            plain.to_str().unwrap(),
            "cc_console=abc; Path=/console; HttpOnly; SameSite=Strict"
        );
        let tls = cookie(true, "", Some(0));
        assert_eq!(
            tls.to_str().unwrap(),
            "cc_console=; Path=/console; HttpOnly; SameSite=Strict; Secure; Max-Age=0"
        );
    }

    #[test]
    fn sessions_are_bounded_and_close() {
        let sessions = Sessions::default();
        let first = sessions.open("t0".into());
        for i in 1..=MAX_SESSIONS {
            sessions.open(format!("t{i}"));
        }
        assert!(sessions.touch(&first).is_none(), "the oldest went");
        let last = sessions.open("x".into());
        assert_eq!(sessions.touch(&last).map(|(t, _)| t).as_deref(), Some("x"));
        sessions.close(&last);
        assert!(sessions.touch(&last).is_none());
        assert!(same("abc", "abc") && !same("abc", "abd") && !same("ab", "abc"));
    }
}
