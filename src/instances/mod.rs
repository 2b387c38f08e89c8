//! Background instances: the only code that starts, talks to, supervises and
//! stops child processes. Two backends behind one interface:
//!
//! * `claude-code-mcp`: a pool of MCP children; many queries share a child
//!   (JSON-RPC ids multiplex them), each query runs a fresh `claude` there.
//! * `claude-stream`: one persistent `claude` stream-json process per
//!   conversation, so later turns skip the CLI's start-up.
//!
//! Layout: [`manager`] owns the instances and their tasks and mints ids;
//! [`mcp_scheduler`] places claude-code-mcp queries (affinity per module
//! pair, FIFO queue per pair, round-robin across pairs); [`stream_backend`]
//! runs claude-stream turns; [`operations`] is what an operator can do;
//! [`supervisor`] restarts, health-checks and reclaims, hearing about child
//! exits over a channel; [`process`] is the one place a child process is
//! spawned and stopped; [`limits`] is a query's deadline and progress.

mod instance;
mod limits;
mod lines;
mod manager;
mod mcp_child;
mod mcp_scheduler;
pub mod memory;
mod operations;
mod process;
mod standby;
mod standby_key;
mod stream_backend;
mod stream_child;
mod stream_tools;
mod supervisor;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

pub use instance::{InstanceState, InstanceStatus};
pub use limits::PROGRESS_EVERY;
pub use manager::InstanceManager;
pub use operations::StreamHome;
pub use process::{InstanceEvent, journal_path};

/// stderr lines quoted in an error about a dead child.
pub const STDERR_TAIL_IN_ERRORS: usize = 10;

/// Longest line a child may answer with (the MCP transport's own limit,
/// which would otherwise drop the line silently and leave the caller
/// waiting until its timeout).
pub const ANSWER_LINE_MAX: usize = rmcp::transport::async_rw::DEFAULT_MAX_LINE_LENGTH;

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
        "timed out after {seconds}s ({during}; the deadline covers queueing, the child's start and the answer); the work at the child was cancelled"
    )]
    Timeout { seconds: u64, during: String },
    #[error("cancelled by the caller; the work at the child was cancelled")]
    Cancelled,
    #[error("no instance can take the request: {0}")]
    Unavailable(String),
    #[error("unknown instance \"{0}\"")]
    UnknownInstance(String),
    #[error("the stored session {0} could not be resumed")]
    SessionLost(String),
}

impl InstanceError {
    /// A short word for the kind of failure (the serde tag), which `stats`
    /// counts as the cause.
    pub fn kind(&self) -> &'static str {
        match self {
            InstanceError::StartFailed(_) => "start_failed",
            InstanceError::ChildDied { .. } => "child_died",
            InstanceError::ChildError(_) => "child_error",
            InstanceError::Timeout { .. } => "timeout",
            InstanceError::Cancelled => "cancelled",
            InstanceError::Unavailable(_) => "unavailable",
            InstanceError::UnknownInstance(_) => "unknown_instance",
            InstanceError::SessionLost(_) => "session_lost",
        }
    }
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
    /// The whole time the caller waits: queueing, a child's start, the answer.
    pub timeout: Duration,
    /// Stream backend: the Claude session to resume when no process is warm.
    pub resume_session: Option<String>,
    /// What the child that serves this query must have been started with
    /// (hop context, permission policy); see [`ChildProfile`].
    pub profile: ChildProfile,
    pub progress: Option<ProgressSink>,
    pub cancel: CancellationToken,
    /// Stream backend: the scope file of this question, for the agent
    /// tools of the process that answers it (see `stream_tools.rs`).
    pub agent_scope: Option<PathBuf>,
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
    /// Time the model API took (the CLI's `duration_api_ms`).
    pub api_duration_ms: Option<i64>,
    /// Model turns the answer took (the CLI's `num_turns`).
    pub num_turns: Option<i64>,
    /// Stream backend: the turn went to a process that already held the
    /// conversation (warm or resumed), so only the new turn had to be sent.
    pub session_continued: bool,
    /// What the agent tried (tool, target, allowed or refused), where the
    /// backend reports it.
    pub tool_uses: Vec<crate::policy::ToolUse>,
}

impl Answer {
    /// An answer that tells nothing but its text: no session, usage, cost,
    /// turns or tool uses (a claude-code-mcp child's plain reply, or an
    /// earlier answer given again).
    pub fn text_only(text: String, instance_id: String, duration_ms: u64) -> Answer {
        Answer {
            text,
            instance_id,
            duration_ms,
            session_id: None,
            usage: None,
            cost_usd: None,
            api_duration_ms: None,
            num_turns: None,
            session_continued: false,
            tool_uses: Vec::new(),
        }
    }
}

/// Everything a child is started with beyond its backend's config: the
/// loop guard's hop count and chain, the answering module's permission
/// policy. A child serves only queries of the profile it was started with,
/// so one pair's context never leaks into another's (a pre-started or
/// restarted child keeps its profile).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct ChildProfile {
    /// Environment variables for the child.
    pub env: Vec<(String, String)>,
    /// Extra arguments for a `claude` stream-json process.
    pub stream_args: Vec<String>,
    /// Stream backend: give the agent claude-comms's own tools (ask-back,
    /// issue 29), following the question of each turn.
    pub agent_tools: Option<AgentToolsSetup>,
}

/// How a persistent `claude` gets the agent tools (see `stream_tools.rs`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AgentToolsSetup {
    /// Where the per-process MCP config and scope files go.
    pub dir: PathBuf,
    /// The claude-comms executable that serves `agent-tools`.
    pub exe: PathBuf,
}
