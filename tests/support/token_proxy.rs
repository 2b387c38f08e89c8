//! A loopback HTTP proxy that adds `Authorization: Bearer <token>` to every
//! request it passes on, for clients that cannot send one (the MCP
//! conformance suite sends no such header). A test fixture only: the daemon
//! itself still refuses every request without a token. Everything else
//! (method, path, `Host`, `Origin`, body) passes unchanged, and answers
//! (Server-Sent Events too) stream back as they come.

#![allow(dead_code)]

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tokio_util::sync::CancellationToken;

#[derive(Clone)]
struct Upstream {
    addr: SocketAddr,
    authorization: HeaderValue,
}

/// The running proxy; stops when dropped.
pub struct TokenProxy {
    /// `http://127.0.0.1:PORT`, to which the upstream's path is appended.
    pub base: String,
    stop: CancellationToken,
}

impl Drop for TokenProxy {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

impl TokenProxy {
    /// Listens on a free loopback port and forwards to `upstream`.
    pub async fn start(upstream: SocketAddr, token: &str) -> TokenProxy {
        let state = Upstream {
            addr: upstream,
            authorization: HeaderValue::from_str(&format!("Bearer {token}")).unwrap(),
        };
        let app = axum::Router::new().fallback(forward).with_state(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let stop = CancellationToken::new();
        let stopped = stop.clone();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async move { stopped.cancelled().await })
                .await;
        });
        TokenProxy { base, stop }
    }
}

/// One request over a fresh upstream connection (no pooling to get wrong).
async fn forward(State(upstream): State<Upstream>, request: Request) -> Response {
    match pass_on(&upstream, request).await {
        Ok(response) => response,
        Err(e) => (StatusCode::BAD_GATEWAY, format!("token proxy: {e}")).into_response(),
    }
}

async fn pass_on(
    upstream: &Upstream,
    request: Request,
) -> Result<Response, Box<dyn std::error::Error + Send + Sync>> {
    let tcp = tokio::net::TcpStream::connect(upstream.addr).await?;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(tcp)).await?;
    tokio::spawn(connection);
    let (mut parts, body) = request.into_parts();
    parts
        .headers
        .insert(header::AUTHORIZATION, upstream.authorization.clone());
    let response = sender
        .send_request(hyper::Request::from_parts(parts, body))
        .await?;
    Ok(response.map(Body::new))
}
