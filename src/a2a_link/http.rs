//! A small HTTP/1.1 client for A2A: one connection per request (TCP, or
//! TLS verified against the system's roots), a bounded connect, bodies
//! read with a size limit, and Server-Sent Events read one event at a
//! time. Only what an A2A client needs; no redirects, no cookies.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio_rustls::rustls;

use super::A2aError;

/// How long a connection (and a TLS handshake) may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The largest card or JSON-RPC answer read (an answer is text; 16 MiB is
/// the MCP transport's bound too).
pub const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;

/// The largest single SSE event (one status or artifact update).
const MAX_EVENT_BYTES: usize = 16 * 1024 * 1024;

/// A URL split into what a request needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Url {
    pub tls: bool,
    pub host: String,
    pub port: u16,
    /// Path and query, starting with `/`.
    pub path: String,
}

impl Url {
    /// Reads an `http(s)://` URL; plain HTTP only to a loopback address.
    pub fn parse(url: &str) -> Result<Url, A2aError> {
        if let Some(problem) = crate::descriptor::a2a_url_problem(url) {
            return Err(A2aError::Url {
                url: url.to_string(),
                problem,
            });
        }
        let (tls, rest) = match url.strip_prefix("https://") {
            Some(rest) => (true, rest),
            None => (false, url.trim_start_matches("http://")),
        };
        let (authority, path) = match rest.find(['/', '?']) {
            Some(at) => (&rest[..at], rest[at..].to_string()),
            None => (rest, "/".to_string()),
        };
        let path = if path.starts_with('?') {
            format!("/{path}")
        } else {
            path
        };
        let (host, port) = match authority.rsplit_once(':') {
            Some((host, port)) if !port.contains(']') => {
                let port = port.parse().map_err(|_| A2aError::Url {
                    url: url.to_string(),
                    problem: format!("{port:?} is not a port"),
                })?;
                (host, port)
            }
            _ => (authority, if tls { 443 } else { 80 }),
        };
        Ok(Url {
            tls,
            host: host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_string(),
            port,
            path,
        })
    }

    /// The URL again, as text.
    pub fn text(&self) -> String {
        format!(
            "{}://{}{}",
            if self.tls { "https" } else { "http" },
            self.authority(),
            self.path
        )
    }

    fn authority(&self) -> String {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        let default = if self.tls { 443 } else { 80 };
        if self.port == default {
            host
        } else {
            format!("{host}:{}", self.port)
        }
    }

    /// `path` resolved against this URL (an absolute path replaces it).
    pub fn join(&self, path: &str) -> Url {
        let mut joined = self.clone();
        joined.path = if path.starts_with('/') {
            path.to_string()
        } else {
            format!("{}/{path}", self.path.trim_end_matches('/'))
        };
        joined
    }
}

/// An answer whose body is still to be read.
pub struct Response {
    pub status: u16,
    pub content_type: String,
    body: Incoming,
    url: String,
}

impl Response {
    /// The whole body, at most [`MAX_BODY_BYTES`].
    pub async fn bytes(self) -> Result<Bytes, A2aError> {
        let url = self.url;
        Limited::new(self.body, MAX_BODY_BYTES)
            .collect()
            .await
            .map(|c| c.to_bytes())
            .map_err(|e| {
                if e.is::<http_body_util::LengthLimitError>() {
                    A2aError::Protocol(format!(
                        "the answer from {url} is over {MAX_BODY_BYTES} bytes"
                    ))
                } else {
                    A2aError::StreamCut(format!("the answer from {url} broke off: {e}"))
                }
            })
    }

    /// Reads the body as Server-Sent Events: the `data` of the next event,
    /// `None` at the end of the stream.
    pub async fn next_event(&mut self, pending: &mut Vec<u8>) -> Result<Option<String>, A2aError> {
        loop {
            if let Some(event) = take_event(pending) {
                match event {
                    Some(data) => return Ok(Some(data)),
                    None => continue,
                }
            }
            if pending.len() > MAX_EVENT_BYTES {
                return Err(A2aError::Protocol(format!(
                    "an event of the stream is over {MAX_EVENT_BYTES} bytes"
                )));
            }
            match self.body.frame().await {
                None => return Ok(None),
                Some(Err(e)) => {
                    return Err(A2aError::StreamCut(format!("the stream broke: {e}")));
                }
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data() {
                        pending.extend_from_slice(&data);
                    }
                }
            }
        }
    }
}

/// Takes one whole event off the front of `pending`: `Some(Some(data))`
/// for an event with data, `Some(None)` for one without (a comment), `None`
/// when no whole event is there yet.
fn take_event(pending: &mut Vec<u8>) -> Option<Option<String>> {
    // An event ends at a blank line; the bytes are split there, so a
    // character cut between two frames is whole again before it is read.
    let find = |sep: &[u8]| pending.windows(sep.len()).position(|w| w == sep);
    let (end, sep) = [
        find(b"\r\n\r\n").map(|at| (at, 4)),
        find(b"\n\n").map(|at| (at, 2)),
    ]
    .into_iter()
    .flatten()
    .min()?;
    let event = String::from_utf8_lossy(&pending[..end]).into_owned();
    pending.drain(..end + sep);
    let data: Vec<&str> = event
        .lines()
        .filter_map(|l| l.strip_prefix("data:"))
        .map(|d| d.strip_prefix(' ').unwrap_or(d))
        .collect();
    Some((!data.is_empty()).then(|| data.join("\n")))
}

/// rustls with the system's root certificates, made once.
fn tls_config() -> Result<Arc<rustls::ClientConfig>, String> {
    static CONFIG: std::sync::OnceLock<Result<Arc<rustls::ClientConfig>, String>> =
        std::sync::OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let mut roots = rustls::RootCertStore::empty();
            for cert in rustls_native_certs::load_native_certs().certs {
                // A system certificate rustls cannot use is skipped.
                let _ = roots.add(cert);
            }
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .map(|b| Arc::new(b.with_root_certificates(roots).with_no_client_auth()))
                .map_err(|e| format!("cannot set up TLS: {e}"))
        })
        .clone()
}

type Sender = hyper::client::conn::http1::SendRequest<Full<Bytes>>;

async fn connect(url: &Url) -> Result<Sender, A2aError> {
    let failed = |problem: String| A2aError::Connection {
        url: url.text(),
        problem,
    };
    let tcp = tokio::time::timeout(
        CONNECT_TIMEOUT,
        tokio::net::TcpStream::connect((url.host.as_str(), url.port)),
    )
    .await
    .map_err(|_| {
        failed(format!(
            "no connection within {}s",
            CONNECT_TIMEOUT.as_secs()
        ))
    })?
    .map_err(|e| failed(e.to_string()))?;
    let _ = tcp.set_nodelay(true);
    if !url.tls {
        return handshake(TokioIo::new(tcp), url).await;
    }
    let name = rustls::pki_types::ServerName::try_from(url.host.clone())
        .map_err(|e| failed(format!("not a TLS server name: {e}")))?;
    let tls = tokio::time::timeout(
        CONNECT_TIMEOUT,
        tokio_rustls::TlsConnector::from(tls_config().map_err(failed)?).connect(name, tcp),
    )
    .await
    .map_err(|_| failed("no TLS handshake within the connect time".into()))?
    .map_err(|e| failed(format!("TLS: {e}")))?;
    handshake(TokioIo::new(tls), url).await
}

async fn handshake<I>(io: TokioIo<I>, url: &Url) -> Result<Sender, A2aError>
where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (sender, connection) = hyper::client::conn::http1::handshake(io)
        .await
        .map_err(|e| A2aError::Connection {
            url: url.text(),
            problem: e.to_string(),
        })?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(sender)
}

/// Sends one request (`body` as JSON when given) and returns the answer's
/// head; the body is read by the caller.
pub async fn request(
    url: &Url,
    token: Option<&str>,
    body: Option<&serde_json::Value>,
    accept: &str,
) -> Result<Response, A2aError> {
    let mut sender = connect(url).await?;
    let mut builder = hyper::Request::builder()
        .method(if body.is_some() { "POST" } else { "GET" })
        .uri(&url.path)
        .header("host", url.authority())
        .header("accept", accept)
        .header(super::wire::VERSION_HEADER, super::wire::PROTOCOL_VERSION);
    if let Some(token) = token {
        builder = builder.header("authorization", format!("Bearer {token}"));
    }
    let payload = match body {
        Some(body) => {
            builder = builder.header("content-type", "application/json");
            Bytes::from(body.to_string())
        }
        None => Bytes::new(),
    };
    let request = builder
        .body(Full::new(payload))
        .map_err(|e| A2aError::Protocol(format!("cannot build the request: {e}")))?;
    // Connected, so the agent was there: losing it now cuts the answer.
    let answer = sender.send_request(request).await.map_err(|e| {
        A2aError::StreamCut(format!(
            "the connection to {} closed before the answer began ({e})",
            url.text()
        ))
    })?;
    let content_type = answer
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    Ok(Response {
        status: answer.status().as_u16(),
        content_type,
        body: answer.into_body(),
        url: url.text(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_split_and_join() {
        let url = Url::parse("http://127.0.0.1:8080/a2a/x").unwrap();
        assert_eq!(
            (url.host.as_str(), url.port, url.path.as_str()),
            ("127.0.0.1", 8080, "/a2a/x")
        );
        assert_eq!(
            url.join(".well-known/agent-card.json").path,
            "/a2a/x/.well-known/agent-card.json"
        );
        assert_eq!(url.join("/rpc").text(), "http://127.0.0.1:8080/rpc");
        let v6 = Url::parse("http://[::1]:9/").unwrap();
        assert_eq!((v6.host.as_str(), v6.port), ("::1", 9));
        assert_eq!(Url::parse("https://h").unwrap().port, 443);
        assert!(
            Url::parse("http://example.com/").is_err(),
            "plain HTTP off loopback"
        );
    }

    #[test]
    fn events_are_taken_whole() {
        let mut pending =
            b"data: {\"a\":1}\r\n\r\n: ping\n\ndata: x\ndata: y\n\ndata: part".to_vec();
        assert_eq!(take_event(&mut pending), Some(Some("{\"a\":1}".into())));
        assert_eq!(take_event(&mut pending), Some(None));
        assert_eq!(take_event(&mut pending), Some(Some("x\ny".into())));
        assert_eq!(take_event(&mut pending), None);
        assert_eq!(pending, b"data: part");
    }
}
