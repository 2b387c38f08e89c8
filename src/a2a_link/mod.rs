//! How claude-comms speaks A2A as a client (issue 31): a module whose
//! descriptor names an `a2a` endpoint is answered by that agent.
//!
//! * `wire.rs`: the A2A 1.0 JSON as serde types (shared with the `a2a`
//!   face, which serves them);
//! * `http.rs`: a small HTTP/1.1 client (TCP or TLS, bounded connect,
//!   bounded bodies, Server-Sent Events);
//! * `client.rs`: resolving an agent's card and sending it a message
//!   (streaming when the card says so), up to the task's end or its
//!   question back.
//!
//! A concern beneath the hub: it knows nothing of conversations or the
//! store; the hub (`hub/a2a_agents.rs`) maps its answers onto them.

mod client;
mod http;
pub mod wire;

pub use client::{Agent, Reply, Watch};

/// Why an A2A agent gave no usable answer. The words never hold a token.
#[derive(Debug, Clone, thiserror::Error)]
pub enum A2aError {
    #[error("the A2A agent's URL {url}: {problem}")]
    Url { url: String, problem: String },
    #[error("cannot reach the A2A agent at {url}: {problem}")]
    Connection { url: String, problem: String },
    #[error("the A2A agent at {url} answered HTTP {status}{}", detail_text(.detail))]
    Http {
        url: String,
        status: u16,
        detail: String,
    },
    #[error("the A2A agent's card at {url} is not usable: {problem}")]
    Card { url: String, problem: String },
    #[error("the A2A agent answered something that is not A2A 1.0 JSON-RPC: {0}")]
    Protocol(String),
    #[error("the A2A agent refused the request: {message} (JSON-RPC error {code})")]
    Rpc { code: i64, message: String },
    #[error("the A2A agent's stream was cut before the task ended: {0}")]
    StreamCut(String),
}

fn detail_text(detail: &str) -> String {
    if detail.is_empty() {
        String::new()
    } else {
        format!(": {detail}")
    }
}

impl A2aError {
    /// A short word for why, counted by `stats` as the failure's cause.
    pub fn kind(&self) -> &'static str {
        match self {
            A2aError::Url { .. } => "a2a_url",
            A2aError::Connection { .. } => "a2a_unreachable",
            A2aError::Http { .. } => "a2a_http",
            A2aError::Card { .. } => "a2a_card",
            A2aError::Protocol(_) => "a2a_protocol",
            A2aError::Rpc { .. } => "a2a_refused",
            A2aError::StreamCut(_) => "a2a_stream_cut",
        }
    }
}
