//! `[instances]`: the backends that answer queries and their children.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The npm package of the default child, and the version claude-comms is
/// tested with (`npx` runs it by default; `claude-comms setup` installs it).
pub const CHILD_PACKAGE: &str = "@steipete/claude-code-mcp";
pub const CHILD_VERSION: &str = "1.10.12";

/// Where `claude-comms setup` installs the pinned child, under the data dir
/// (doctor checks for it there, setup puts it there).
pub fn children_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("children")
}

/// The installed child's executable: the command `setup` writes into the config.
pub fn child_executable(data_dir: &Path) -> PathBuf {
    children_dir(data_dir).join("node_modules/.bin/claude-code-mcp")
}

/// The backends that answer queries.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
    clap::ValueEnum,
)]
#[serde(rename_all = "kebab-case")]
#[value(rename_all = "kebab-case")]
pub enum BackendKind {
    /// A pool of `claude-code-mcp` children, a fresh `claude` per query.
    ClaudeCodeMcp,
    /// One persistent `claude` stream-json process per conversation.
    ClaudeStream,
}

impl BackendKind {
    pub fn as_str(self) -> &'static str {
        match self {
            BackendKind::ClaudeCodeMcp => "claude-code-mcp",
            BackendKind::ClaudeStream => "claude-stream",
        }
    }
}

impl std::str::FromStr for BackendKind {
    type Err = String;

    fn from_str(s: &str) -> Result<BackendKind, String> {
        <BackendKind as clap::ValueEnum>::from_str(s, false).map_err(|_| {
            format!("unknown backend \"{s}\" (backends: claude-code-mcp, claude-stream)")
        })
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct InstancesConfig {
    /// Backend used when a request does not name one.
    pub backend: BackendKind,
    /// Seconds a query may take, from dispatch to reply.
    pub request_timeout_s: u64,
    /// Seconds between health checks of each child.
    pub health_interval_s: u64,
    /// Seconds an idle child is kept before it is stopped.
    pub idle_timeout_s: u64,
    /// Restarts within `crash_window_s` after which a child is left in crash-loop.
    pub max_restarts: u32,
    pub crash_window_s: u64,
    /// Memory that warm and standby `claude` stream processes may hold
    /// together (RSS of their process trees), in MB; past it the least
    /// recently used is stopped. Default: a quarter of the machine's memory.
    pub max_warm_memory_mb: Option<u64>,
    pub claude_code_mcp: ClaudeCodeMcpConfig,
    pub claude_stream: ClaudeStreamConfig,
}

impl Default for InstancesConfig {
    fn default() -> Self {
        InstancesConfig {
            backend: BackendKind::ClaudeCodeMcp,
            request_timeout_s: 600,
            health_interval_s: 15,
            idle_timeout_s: 600,
            max_restarts: 5,
            crash_window_s: 60,
            max_warm_memory_mb: None,
            claude_code_mcp: ClaudeCodeMcpConfig::default(),
            claude_stream: ClaudeStreamConfig::default(),
        }
    }
}

/// The `claude-code-mcp` child (or a fork of it with other names).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClaudeCodeMcpConfig {
    pub command: String,
    pub args: Vec<String>,
    /// Added to the inherited environment of each child.
    pub env: BTreeMap<String, String>,
    /// The child's tool that runs a query, and its argument names.
    pub tool_name: String,
    pub prompt_arg: String,
    pub workdir_arg: String,
    /// Children started at once (0: start on first use) and at most.
    pub pool_min: usize,
    pub pool_max: usize,
    /// Requests in flight on one child before new ones queue.
    pub max_in_flight: usize,
}

impl Default for ClaudeCodeMcpConfig {
    fn default() -> Self {
        ClaudeCodeMcpConfig {
            command: "npx".into(),
            args: vec!["-y".into(), format!("{CHILD_PACKAGE}@{CHILD_VERSION}")],
            env: BTreeMap::new(),
            tool_name: "claude_code".into(),
            prompt_arg: "prompt".into(),
            workdir_arg: "workFolder".into(),
            pool_min: 0,
            pool_max: 2,
            // Each call runs its own `claude` process in the child, so a few
            // at once share one Node process well.
            max_in_flight: 4,
        }
    }
}

/// Persistent `claude -p --input-format stream-json` processes.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClaudeStreamConfig {
    pub command: String,
    /// Extra arguments placed before ours (e.g. `--bare`).
    pub args: Vec<String>,
    pub env: BTreeMap<String, String>,
    pub model: Option<String>,
    /// Deprecated: used only for modules whose `[permissions]` mode is
    /// `full`; the policy decides for every other module.
    pub allowed_tools: Vec<String>,
    /// Deprecated, like `allowed_tools`.
    pub permission_mode: Option<String>,
    pub append_system_prompt: Option<String>,
    /// Deprecated and without effect: every `full` module's agent skips
    /// permissions, no other one does. Set `[permissions.modules]` instead.
    pub skip_permissions_modules: Vec<String>,
    /// Warm processes kept at most (each holds about 270 MB); standby
    /// processes count too.
    pub max_warm: usize,
    /// Keep a standby process (started without a message) in the folder of
    /// each module used in the last `standby_window_s`, so the first turn
    /// of a new conversation skips the CLI's start-up.
    pub standby: bool,
    pub standby_window_s: u64,
}

impl Default for ClaudeStreamConfig {
    fn default() -> Self {
        ClaudeStreamConfig {
            command: "claude".into(),
            args: Vec::new(),
            env: BTreeMap::new(),
            model: None,
            allowed_tools: Vec::new(),
            permission_mode: None,
            append_system_prompt: None,
            skip_permissions_modules: Vec::new(),
            max_warm: 4,
            standby: true,
            standby_window_s: 600,
        }
    }
}
