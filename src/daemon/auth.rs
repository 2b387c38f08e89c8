//! The gate of the daemon's TCP endpoint: every request carries a bearer
//! token, checked against the store before anything runs. A request that
//! passes carries its [`Caller`] to the MCP server (which applies the
//! module's limits); one that does not gets 401 with `WWW-Authenticate`
//! (RFC 6750) and runs nothing. Refusals are logged with the reason and the
//! peer, never the token.
//!
//! A session (protocols before 2026-07-28) belongs to the token that opened
//! it: another token presenting its id is told the session does not exist,
//! so one module cannot read another's event stream. How many sessions a
//! token holds, and how long an unused one lives, is bounded
//! ([`super::sessions`]).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::sessions::{Admission, SessionTable};
use crate::hub::{AuthError, Caller, Hub, bearer_token};

const SESSION_HEADER: &str = "mcp-session-id";

/// What a session that does not exist (for this caller) answers: the same
/// words as rmcp's, so an ended, unknown and foreign session look alike.
const SESSION_NOT_FOUND: &str = "Not Found: Session not found";

/// Refusals logged per second, at most: a flood of bad requests must not
/// fill the log (or the disk under it). The rest are counted and the count
/// is logged with the next refusal that is.
const REFUSALS_LOGGED_PER_SECOND: u32 = 20;

/// What the gate needs: the hub (to check tokens) and who opened which session.
#[derive(Clone)]
pub struct Gate {
    pub hub: Arc<Hub>,
    sessions: SessionTable,
    refusals: Arc<Mutex<RefusalLog>>,
}

/// The current second's refusal count, and those not logged.
#[derive(Default)]
struct RefusalLog {
    second: i64,
    logged: u32,
    unlogged: u64,
}

impl RefusalLog {
    /// Whether to log this refusal; when so, how many went unlogged since.
    fn admit(&mut self, now_ms: i64) -> Option<u64> {
        let second = now_ms / 1000;
        if second != self.second {
            self.second = second;
            self.logged = 0;
        }
        if self.logged >= REFUSALS_LOGGED_PER_SECOND {
            self.unlogged += 1;
            return None;
        }
        self.logged += 1;
        Some(std::mem::take(&mut self.unlogged))
    }
}

impl Gate {
    pub fn new(hub: Arc<Hub>, sessions: SessionTable) -> Gate {
        Gate {
            hub,
            sessions,
            refusals: Arc::default(),
        }
    }

    /// Logs a refusal (peer and reason, never the token), within the rate.
    fn log_refusal(&self, peer: SocketAddr, method: &Method, reason: &str) {
        let admitted = self
            .refusals
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .admit(crate::time::now_ms());
        if let Some(unlogged) = admitted {
            tracing::warn!(%peer, %method, reason, unlogged_since = unlogged, "HTTP request refused");
        }
    }
}

/// Who a caller is, as a session owner.
fn owner_key(caller: &Caller) -> String {
    match caller {
        Caller::Operator => "operator".into(),
        Caller::Module { token_id, .. } => format!("token:{token_id}"),
    }
}

fn unauthorized(error: &AuthError) -> Response {
    let mut response = (
        StatusCode::UNAUTHORIZED,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        format!("unauthorized: {error}\n"),
    )
        .into_response();
    if let Ok(value) = HeaderValue::from_str(&error.challenge()) {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, value);
    }
    response
}

fn bearer_of(request: &Request) -> Result<&str, AuthError> {
    let value = request
        .headers()
        .get(header::AUTHORIZATION)
        .map(HeaderValue::to_str);
    bearer_token(value.transpose().map_err(|_| AuthError::Malformed)?)
}

/// The middleware: authenticate, bind sessions, pass the caller on.
pub async fn require_token(
    State(gate): State<Gate>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    mut request: Request,
    next: Next,
) -> Response {
    let caller = match bearer_of(&request) {
        Ok(token) => gate.hub.tokens().authenticate(token).await,
        Err(e) => Err(e),
    };
    let caller = match caller {
        Ok(caller) => caller,
        Err(error) => {
            gate.log_refusal(peer, request.method(), &error.to_string());
            return unauthorized(&error);
        }
    };
    let owner = owner_key(&caller);
    let session = request
        .headers()
        .get(SESSION_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    if let Some(id) = &session
        && gate.sessions.admit(id, &owner).await == Admission::NotFound
    {
        gate.log_refusal(
            peer,
            request.method(),
            "a session that is not this token's (ended, unknown or another token's)",
        );
        return (StatusCode::NOT_FOUND, SESSION_NOT_FOUND).into_response();
    }
    let closing = request.method() == Method::DELETE;
    request.extensions_mut().insert(caller);
    let response = next.run(request).await;
    match (&session, closing) {
        (Some(id), true) if response.status().is_success() => {
            gate.sessions.closed(id);
            response
        }
        (Some(id), _) => {
            // The request counts as in flight until its response (an SSE
            // stream, possibly long) is closed.
            let sessions = gate.sessions.clone();
            let id = id.clone();
            let done = FinishedOnDrop(Some(Box::new(move || sessions.finished(&id))));
            response.map(|body| {
                use http_body_util::BodyExt;
                axum::body::Body::new(body.map_frame(move |frame| {
                    let _ = &done;
                    frame
                }))
            })
        }
        (None, _) => {
            if let Some(opened) = response
                .headers()
                .get(SESSION_HEADER)
                .and_then(|v| v.to_str().ok())
            {
                gate.sessions.opened(opened.to_string(), owner).await;
            }
            response
        }
    }
}

/// Runs its closure when dropped (with the response body it is moved into).
struct FinishedOnDrop(Option<Box<dyn FnOnce() + Send + Sync>>);

impl Drop for FinishedOnDrop {
    fn drop(&mut self) {
        if let Some(finish) = self.0.take() {
            finish();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_are_logged_at_a_bounded_rate_and_the_rest_counted() {
        let mut log = RefusalLog::default();
        let second = 1_000_000;
        for _ in 0..REFUSALS_LOGGED_PER_SECOND {
            assert_eq!(log.admit(second), Some(0));
        }
        for _ in 0..5 {
            assert_eq!(log.admit(second + 999), None, "over the rate");
        }
        assert_eq!(
            log.admit(second + 1000),
            Some(5),
            "the next second says how many"
        );
        assert_eq!(log.admit(second + 1001), Some(0));
    }
}
