//! The gate of the daemon's TCP endpoint: every request carries a bearer
//! token, checked against the store before anything runs. A request that
//! passes carries its [`Caller`] to the MCP server (which applies the
//! module's limits); one that does not gets 401 with `WWW-Authenticate`
//! (RFC 6750) and runs nothing. Refusals are logged with the reason and the
//! peer, never the token.
//!
//! A session (protocols before 2026-07-28) belongs to the token that opened
//! it: another token presenting its id is told the session does not exist,
//! so one module cannot read another's event stream.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;

use crate::hub::{AuthError, Caller, Hub};

const SESSION_HEADER: &str = "mcp-session-id";

/// Session owners are forgotten, once there are this many, for the
/// sessions rmcp no longer has (it ends idle ones after 5 minutes).
const PRUNE_OWNERS_AT: usize = 1024;

/// Refusals logged per second, at most: a flood of bad requests must not
/// fill the log (or the disk under it). The rest are counted and the count
/// is logged with the next refusal that is.
const REFUSALS_LOGGED_PER_SECOND: u32 = 20;

/// What the gate needs: the hub (to check tokens) and who opened which session.
#[derive(Clone)]
pub struct Gate {
    pub hub: Arc<Hub>,
    sessions: Arc<Mutex<HashMap<String, String>>>,
    live: Arc<LocalSessionManager>,
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
    pub fn new(hub: Arc<Hub>, live: Arc<LocalSessionManager>) -> Gate {
        Gate {
            hub,
            sessions: Arc::default(),
            live,
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

    /// Records who opened a session, forgetting the owners of ended ones
    /// when the table has grown.
    async fn opened(&self, id: String, owner: String) {
        let grown = {
            let mut sessions = self.sessions();
            sessions.insert(id, owner);
            sessions.len() >= PRUNE_OWNERS_AT
        };
        if grown {
            let live: std::collections::HashSet<String> = self
                .live
                .sessions
                .read()
                .await
                .keys()
                .map(|k| k.to_string())
                .collect();
            self.sessions().retain(|id, _| live.contains(id));
        }
    }

    fn sessions(&self) -> std::sync::MutexGuard<'_, HashMap<String, String>> {
        self.sessions.lock().unwrap_or_else(|e| e.into_inner())
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
    // RFC 6750 §3: no `error` attribute when no credentials were sent.
    let challenge = match error {
        AuthError::Missing => r#"Bearer realm="claude-comms""#.to_string(),
        other => format!(
            r#"Bearer realm="claude-comms", error="invalid_token", error_description="{}""#,
            other.to_string().replace('"', "'")
        ),
    };
    let mut response = (
        StatusCode::UNAUTHORIZED,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        format!("unauthorized: {error}\n"),
    )
        .into_response();
    if let Ok(value) = HeaderValue::from_str(&challenge) {
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
        .ok_or(AuthError::Missing)?
        .to_str()
        .map_err(|_| AuthError::Malformed)?;
    let (scheme, token) = value.trim().split_once(' ').ok_or(AuthError::Malformed)?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(AuthError::Malformed);
    }
    Ok(token.trim())
}

/// The middleware: authenticate, bind sessions, pass the caller on.
pub async fn require_token(
    State(gate): State<Gate>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    mut request: Request,
    next: Next,
) -> Response {
    let caller = match bearer_of(&request) {
        Ok(token) => gate.hub.authenticate(token).await,
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
    if let Some(id) = &session {
        let opened_by = gate.sessions().get(id).cloned();
        if opened_by.is_some_and(|o| o != owner) {
            gate.log_refusal(peer, request.method(), "a session opened by another token");
            return (StatusCode::NOT_FOUND, "session not found\n").into_response();
        }
    }
    let closing = request.method() == Method::DELETE;
    request.extensions_mut().insert(caller);
    let response = next.run(request).await;
    match (&session, closing) {
        (Some(id), true) if response.status().is_success() => {
            gate.sessions().remove(id);
        }
        (None, _) => {
            if let Some(opened) = response
                .headers()
                .get(SESSION_HEADER)
                .and_then(|v| v.to_str().ok())
            {
                gate.opened(opened.to_string(), owner).await;
            }
        }
        _ => {}
    }
    response
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
