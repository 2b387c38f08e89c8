//! The daemon's HTTP faces. Both serve the same MCP server (one `Hub`)
//! through rmcp's Streamable HTTP service:
//!
//! * the Unix socket (0600) for this user's own processes, which act as
//!   the operator;
//! * optionally a TCP address (`[daemon] listen`) for hosts on other
//!   machines, where every request needs a token ([`super::auth`]), `Host`
//!   and `Origin` are checked (DNS rebinding), and a non-loopback address
//!   needs TLS ([`super::tls`]) or an explicit `allow_plain_http`.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use tokio_util::sync::CancellationToken;

use super::request_checks::{MAX_BODY_BYTES, check_request};
use super::sessions::{SessionLimits, SessionTable, session_manager};
use super::{DaemonConfig, RunError};
use crate::hub::{Caller, Hub};
use crate::mcp::CommsServer;

/// The MCP endpoint's path on both faces.
pub const MCP_PATH: &str = "/mcp";

/// rmcp's Streamable HTTP service over our MCP server.
fn mcp_service(
    hub: &Arc<Hub>,
    sessions: Arc<LocalSessionManager>,
    config: StreamableHttpServerConfig,
) -> StreamableHttpService<CommsServer, LocalSessionManager> {
    let hub = hub.clone();
    StreamableHttpService::new(move || Ok(CommsServer::new(hub.clone())), sessions, config)
}

/// The socket face: every request acts as the operator (only this user
/// can open the socket). The Host check stays rmcp's default (loopback
/// names), which the socket client's URI uses.
pub fn socket_router(
    hub: &Arc<Hub>,
    config: &DaemonConfig,
    sessions_end: &CancellationToken,
) -> axum::Router {
    let http = StreamableHttpServerConfig::default()
        .with_cancellation_token(sessions_end.clone())
        .with_max_request_body_bytes(MAX_BODY_BYTES);
    let sessions = Arc::new(session_manager(session_limits(config).idle));
    axum::Router::new()
        .nest_service(MCP_PATH, mcp_service(hub, sessions, http))
        .layer(axum::middleware::from_fn(check_request))
        .layer(axum::Extension(Caller::Operator))
}

/// The session bounds of `[daemon]` (checked by [`plan`]).
fn session_limits(config: &DaemonConfig) -> SessionLimits {
    SessionLimits {
        per_owner: config.sessions_per_token.max(1),
        idle: std::time::Duration::from_secs(config.session_idle_s.max(1)),
    }
}

/// Records when the last request arrived (for the idle exit).
pub fn with_activity(router: axum::Router, last_request: Arc<AtomicI64>) -> axum::Router {
    router.layer(axum::middleware::from_fn(
        move |request: axum::extract::Request, next: axum::middleware::Next| {
            last_request.store(crate::time::now_ms(), Ordering::Relaxed);
            next.run(request)
        },
    ))
}

/// Where and how the TCP face listens, checked before anything binds.
#[derive(Debug, Clone)]
pub struct TcpPlan {
    pub addr: SocketAddr,
    /// The loaded certificate and key, for HTTPS.
    pub tls: Option<Arc<tokio_rustls::rustls::ServerConfig>>,
}

/// Reads `[daemon] listen` and its TLS settings; `None` when not set.
/// Errors name the setting and say what to do.
pub fn plan(config: &DaemonConfig) -> Result<Option<TcpPlan>, RunError> {
    if config.session_idle_s == 0 {
        return Err(RunError::Setting(
            "daemon.session_idle_s = 0: a session must be allowed at least 1 second without requests (default 300)"
        .into()));
    }
    if config.sessions_per_token == 0 {
        return Err(RunError::Setting(
            "daemon.sessions_per_token = 0: a token needs at least 1 session (default 16)".into(),
        ));
    }
    let Some(listen) = config.listen.as_deref().map(str::trim) else {
        return Ok(None);
    };
    let addr: SocketAddr = match listen.strip_prefix("localhost:") {
        Some(port) => format!("127.0.0.1:{port}").parse(),
        None => listen.parse(),
    }
    .map_err(|_| {
        RunError::Setting(format!(
            "daemon.listen: \"{listen}\" is not an address: write IP:PORT, such as 127.0.0.1:8765 or 0.0.0.0:8765"
        ))
    })?;
    let expand = |value: &str| {
        crate::expand::expand_path(value).unwrap_or_else(|_| std::path::PathBuf::from(value))
    };
    let tls = match (&config.tls_cert, &config.tls_key) {
        (Some(cert), Some(key)) => Some((expand(cert), expand(key))),
        (None, None) => None,
        (Some(_), None) => {
            return Err(RunError::Setting(
                "daemon.tls_cert is set but daemon.tls_key is not: HTTPS needs both".into(),
            ));
        }
        (None, Some(_)) => {
            return Err(RunError::Setting(
                "daemon.tls_key is set but daemon.tls_cert is not: HTTPS needs both".into(),
            ));
        }
    };
    if !addr.ip().is_loopback() && tls.is_none() && !config.allow_plain_http {
        return Err(RunError::Setting(format!(
            "daemon.listen = \"{listen}\" is reachable from other machines, so it needs HTTPS: set daemon.tls_cert and daemon.tls_key, or daemon.allow_plain_http = true when a reverse proxy in front of it terminates TLS"
        )));
    }
    // Loaded now, so a missing or mismatched file fails the start early.
    let tls = match tls {
        Some((cert, key)) => Some(super::tls::server_config(&cert, &key)?),
        None => None,
    };
    Ok(Some(TcpPlan { addr, tls }))
}

/// The `Host` values the TCP face accepts: loopback names, the address it
/// is bound to, and the configured names.
fn allowed_hosts(bound: SocketAddr, config: &DaemonConfig) -> Vec<String> {
    let mut hosts: Vec<String> = ["localhost", "127.0.0.1", "::1", "[::1]"]
        .iter()
        .map(|h| h.to_string())
        .collect();
    let ip = match bound.ip() {
        IpAddr::V6(v6) => format!("[{v6}]"),
        v4 => v4.to_string(),
    };
    if !bound.ip().is_unspecified() {
        hosts.push(ip);
    }
    hosts.extend(config.allowed_hosts.iter().cloned());
    hosts
}

/// The `Origin` values the TCP face accepts: the configured ones and, on a
/// loopback address, pages served from this machine (`http://localhost:*`
/// and the like). A DNS-rebinding page has a foreign origin, so it stays
/// refused; a local page still needs a token to do anything.
fn allowed_origins(bound: SocketAddr, config: &DaemonConfig) -> Vec<String> {
    let mut origins = config.allowed_origins.clone();
    if bound.ip().is_loopback() {
        for scheme in ["http", "https"] {
            for host in ["localhost", "127.0.0.1", "[::1]"] {
                origins.push(format!("{scheme}://{host}:*"));
            }
        }
    }
    origins
}

/// A face's server, running until its shutdown signal.
pub type Serving = std::pin::Pin<Box<dyn std::future::Future<Output = std::io::Result<()>> + Send>>;

/// The TCP face, bound and ready to serve; `url` is what hosts put in
/// their config.
pub struct TcpFace {
    pub url: String,
    pub serving: Serving,
}

/// Binds the TCP face; it serves until `stop` is cancelled.
pub async fn bind_tcp(
    plan: TcpPlan,
    config: &DaemonConfig,
    hub: &Arc<Hub>,
    sessions_end: &CancellationToken,
    stop: CancellationToken,
    last_request: Arc<AtomicI64>,
) -> Result<TcpFace, RunError> {
    let listener = tokio::net::TcpListener::bind(plan.addr)
        .await
        .map_err(|e| RunError::io(format!("daemon.listen: cannot listen on {}", plan.addr), e))?;
    let bound = listener.local_addr()?;
    let mut http = StreamableHttpServerConfig::default()
        .with_cancellation_token(sessions_end.clone())
        .with_allowed_hosts(allowed_hosts(bound, config))
        .with_max_request_body_bytes(MAX_BODY_BYTES);
    let origins = allowed_origins(bound, config);
    http = if origins.is_empty() {
        http.enforce_origin_validation()
    } else {
        http.with_allowed_origins(origins)
    };
    let limits = session_limits(config);
    let sessions = Arc::new(session_manager(limits.idle));
    let table = SessionTable::new(sessions.clone(), limits);
    let gate = super::auth::Gate::new(hub.clone(), table);
    // The web console signs in with a token once and keeps a session
    // cookie: it is merged after the bearer gate, which guards `/mcp` only.
    let console = crate::console::Console::new(
        hub.clone(),
        allowed_hosts(bound, config),
        config.allowed_origins.clone(),
        plan.tls.is_some(),
    );
    // The token is checked first, so a caller without one learns nothing
    // from how its body is judged.
    let router = axum::Router::new()
        .nest_service(MCP_PATH, mcp_service(hub, sessions, http))
        .layer(axum::middleware::from_fn(check_request))
        .layer(axum::middleware::from_fn_with_state(
            gate,
            super::auth::require_token,
        ))
        .merge(crate::console::router(console))
        // The A2A face checks bearer tokens itself (a card, a task), as
        // `/mcp` does, and speaks JSON-RPC errors of its own.
        .merge(crate::a2a::router(crate::a2a::A2aFace::new(
            hub.clone(),
            plan.tls.is_some(),
        )));
    let router = with_activity(router, last_request);
    // Both listeners are wrapped in `tap_io`, whose connections axum knows
    // the remote address of (for the refusal logs).
    let app = router.into_make_service_with_connect_info::<SocketAddr>();
    let shutdown = async move { stop.cancelled().await };
    use axum::serve::ListenerExt;
    let (scheme, serving): (&str, Serving) = match plan.tls {
        Some(tls) => {
            let listener = super::tls::TlsListener::new(listener, tls)?.tap_io(|_| {});
            let serving = axum::serve(listener, app).with_graceful_shutdown(shutdown);
            ("https", Box::pin(serving.into_future()))
        }
        None => {
            let listener = listener.tap_io(super::tcp::no_delay);
            let serving = axum::serve(listener, app).with_graceful_shutdown(shutdown);
            ("http", Box::pin(serving.into_future()))
        }
    };
    Ok(TcpFace {
        url: format!("{scheme}://{bound}{MCP_PATH}"),
        serving,
    })
}
