//! The web console (issue 32): the fleet, the module graph, jobs live,
//! conversations, costs and instances, as server-rendered pages on the
//! daemon's TCP face at `/console` (same listener, same TLS as `/mcp`).
//!
//! * `session.rs`: signing in with a token, the session cookie, CSRF;
//! * `html.rs`: the page shell, escaping, forms;
//! * `fleet.rs`: the fleet and instances pages;
//! * `jobs.rs`, `conversations.rs`: jobs live, conversations;
//! * `graph.rs`, `costs.rs`, `svg.rs`: the module graph and the cost plots;
//! * `assets/`: the stylesheet and the one script, embedded in the binary.
//!
//! What a session may see follows the MCP tools' rules
//! ([`crate::mcp::access`]): an admin token sees everything; a module
//! token sees only conversations, jobs and figures its module takes part
//! in, and acts on nothing but its own sign-out.

mod conversations;
mod costs;
mod encode;
mod fleet;
mod graph;
mod html;
mod jobs;
mod session;
mod svg;

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::{Next, from_fn_with_state};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};

use crate::hub::Hub;

pub use session::COOKIE;

/// Where the console is mounted.
pub const CONSOLE_PATH: &str = "/console";

/// Scripts and styles from this origin only, nothing inline, no frames:
/// a reply that slipped markup into a page could still not run anything.
const CSP: &str = "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

const CSS: &str = include_str!("assets/console.css");
const JS: &str = include_str!("assets/console.js");

/// What the console's handlers share.
pub struct Console {
    hub: Arc<Hub>,
    sessions: session::Sessions,
    /// The `Host` values accepted (those of the MCP endpoint).
    hosts: Vec<String>,
    /// `[daemon] allowed_origins`: origins accepted besides the console's own.
    origins: Vec<String>,
    /// Served over TLS: the cookie is `Secure`.
    secure: bool,
    /// Conversation id → (source, target), which never change: the jobs
    /// table names the asked module without a query per row per second.
    pairs: std::sync::Mutex<std::collections::HashMap<String, (String, String)>>,
}

impl Console {
    pub fn new(hub: Arc<Hub>, hosts: Vec<String>, origins: Vec<String>, secure: bool) -> Console {
        Console {
            hub,
            sessions: Default::default(),
            hosts,
            origins,
            secure,
            pairs: Default::default(),
        }
    }
}

/// The console's routes, with their checks, to merge into the TCP face.
pub fn router(console: Console) -> axum::Router {
    let console = Arc::new(console);
    let signed_in = axum::Router::new()
        .route("/console", get(home))
        .route("/console/", get(home))
        .route("/console/logout", post(session::sign_out))
        .route("/console/fleet", get(fleet::fleet_page))
        .route("/console/api/fleet", get(fleet::fleet_json))
        .route("/console/instances", get(fleet::instances_page))
        .route(
            "/console/instances/{id}/{action}",
            post(fleet::instance_action),
        )
        .route("/console/jobs", get(jobs::jobs_page))
        .route("/console/api/jobs", get(jobs::jobs_json))
        .route("/console/jobs/{id}/cancel", post(jobs::cancel))
        .route("/console/conversations", get(conversations::list_page))
        .route("/console/conversations/{id}", get(conversations::read_page))
        .route(
            "/console/conversations/{id}/export",
            get(conversations::export),
        )
        .route("/console/graph", get(graph::graph_page))
        .route("/console/costs", get(costs::costs_page))
        .layer(from_fn_with_state(
            console.clone(),
            session::require_session,
        ));
    axum::Router::new()
        .route(
            "/console/login",
            get(session::sign_in_form).post(session::sign_in),
        )
        .route("/console/assets/console.css", get(css))
        .route("/console/assets/console.js", get(js))
        .merge(signed_in)
        .layer(from_fn_with_state(console.clone(), check_origin))
        .layer(axum::middleware::map_response(security_headers))
        .with_state(console)
}

async fn home(axum::Extension(signed): axum::Extension<session::Signed>) -> Redirect {
    if signed.is_admin() {
        Redirect::to("/console/fleet")
    } else {
        Redirect::to("/console/jobs")
    }
}

async fn css() -> Response {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], CSS).into_response()
}

async fn js() -> Response {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        JS,
    )
        .into_response()
}

/// Every console response: the CSP, no sniffing, no referrer to other
/// sites (the URLs hold ids), not framed, not cached (pages show live state).
async fn security_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    // `same-origin`, not `no-referrer`: under `no-referrer` Chromium sends
    // `Origin: null` with the console's own forms, which the Origin check
    // must then refuse. Other sites still get no referrer.
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The `Host` name without its port (`[::1]:80` → `[::1]`).
fn host_name(host: &str) -> &str {
    match host.rfind(':') {
        Some(i) if !host[i..].contains(']') => &host[..i],
        _ => host,
    }
}

fn header_text(request: &Request, name: header::HeaderName) -> String {
    request
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

/// DNS rebinding and cross-site forms: the `Host` must be one the MCP
/// endpoint accepts, and a POST must come from a page of this same origin
/// (or a configured one). Browsers send `Origin` with every POST, so one
/// without it is refused too.
async fn check_origin(
    State(console): State<Arc<Console>>,
    request: Request,
    next: Next,
) -> Response {
    let (host, origin) = (
        header_text(&request, header::HOST),
        header_text(&request, header::ORIGIN),
    );
    if !console.hosts.iter().any(|h| h == host_name(&host)) {
        tracing::warn!(host = %host, "console request refused: Host not allowed");
        return (
            StatusCode::FORBIDDEN,
            "refused: this Host is not one the daemon serves (daemon.allowed_hosts)\n",
        )
            .into_response();
    }
    if request.method() == Method::POST {
        let scheme = if console.secure { "https" } else { "http" };
        let own = format!("{scheme}://{host}");
        if origin != own && !console.origins.contains(&origin) {
            tracing::warn!(origin = %origin, "console POST refused: foreign or missing Origin");
            return (
                StatusCode::FORBIDDEN,
                "refused: a console form must be posted from the console's own page (Origin)\n",
            )
                .into_response();
        }
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_names_lose_their_port_only() {
        assert_eq!(host_name("127.0.0.1:8765"), "127.0.0.1");
        assert_eq!(host_name("[::1]:80"), "[::1]");
        assert_eq!(host_name("[::1]"), "[::1]");
        assert_eq!(host_name("localhost"), "localhost");
    }
}
