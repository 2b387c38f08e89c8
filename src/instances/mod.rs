//! Background instances: the only code that starts, talks to, supervises and
//! stops child processes. Two backends behind one interface:
//!
//! * `claude-code-mcp`: a pool of MCP children; many queries share a child
//!   (JSON-RPC ids multiplex them), each query runs a fresh `claude` there.
//! * `claude-stream`: one persistent `claude` stream-json process per
//!   conversation, so later turns skip the CLI's start-up.
//!
//! Scheduling (see [`pool`]): a module pair sticks to one MCP instance while
//! it is healthy; past the per-instance limit its requests wait in a FIFO
//! queue of their own, and queues are served round-robin so no pair starves.
//! Supervision (see [`supervisor`]): health pings, restart with exponential
//! backoff, crash-loop after too many quick failures, idle reclaim.

mod instance;
mod mcp_child;
mod pool;
mod process;
mod stream_child;
mod supervisor;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

pub use instance::{InstanceState, InstanceStatus};
pub use pool::InstanceManager;
pub use process::{InstanceEvent, journal_path};

/// stderr lines quoted in an error about a dead child.
pub const STDERR_TAIL_IN_ERRORS: usize = 10;

/// Why a query did not get an answer.
#[derive(Debug, Clone, thiserror::Error, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum InstanceError {
    #[error("the child could not be started: {0}")]
    StartFailed(String),
    #[error("the child (pid {pid}) died during the request ({exit}){}", mcp_child::tail_text(.stderr_tail))]
    ChildDied {
        pid: u32,
        exit: String,
        stderr_tail: Vec<String>,
    },
    #[error("the agent reported an error: {0}")]
    ChildError(String),
    #[error(
        "timed out after {seconds}s (measured from dispatch); the work at the child was cancelled"
    )]
    Timeout { seconds: u64 },
    #[error("cancelled by the caller; the work at the child was cancelled")]
    Cancelled,
    #[error("no instance can take the request: {0}")]
    Unavailable(String),
    #[error("unknown instance \"{0}\"")]
    UnknownInstance(String),
    #[error("the stored session {0} could not be resumed")]
    SessionLost(String),
}

/// A progress event for the caller (sent on as MCP `notifications/progress`).
#[derive(Debug, Clone)]
pub struct Progress {
    pub message: String,
}

pub type ProgressSink = Arc<dyn Fn(Progress) + Send + Sync>;

/// One query for an answering agent.
pub struct Query {
    pub backend: crate::config::BackendKind,
    /// The asking and answering modules; requests of one pair share an instance.
    pub source: String,
    pub target: String,
    pub conversation_id: String,
    pub prompt: String,
    /// The target module's folder: the agent works there.
    pub workdir: PathBuf,
    /// Measured from dispatch to a child, not from queueing.
    pub timeout: Duration,
    /// Stream backend: the Claude session to resume when no process is warm.
    pub resume_session: Option<String>,
    /// Environment for a child started for this query (hop count and chain).
    pub child_env: Vec<(String, String)>,
    pub progress: Option<ProgressSink>,
    pub cancel: CancellationToken,
}

/// A query's answer.
#[derive(Debug, Clone)]
pub struct Answer {
    pub text: String,
    pub instance_id: String,
    pub duration_ms: u64,
    pub session_id: Option<String>,
    pub usage: Option<serde_json::Value>,
    pub cost_usd: Option<f64>,
    /// Stream backend: the turn went to a process that already held the
    /// conversation (warm or resumed), so only the new turn had to be sent.
    pub session_continued: bool,
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
