//! The `[permissions]` table: what the operator says each module's
//! answering agent may do. Plain data, read with the rest of the config;
//! [`crate::policy`] turns it into each agent's settings and arguments.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// How much an answering agent may do.
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// Read, search and list inside the module's folder; nothing else.
    #[default]
    ReadOnly,
    /// Also write and edit inside the module's folder.
    Edit,
    /// No restriction: claude-code-mcp's own behaviour.
    Full,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::ReadOnly => "read-only",
            Mode::Edit => "edit",
            Mode::Full => "full",
        }
    }
}

/// The `[permissions]` table of config.toml.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PermissionsConfig {
    /// The mode of every module not named in `modules`.
    pub default: Mode,
    /// Per-module modes.
    pub modules: BTreeMap<String, Mode>,
    /// Per-module extra rules (`[permissions.rules.NAME]`).
    pub rules: BTreeMap<String, ModuleRules>,
    /// The claude-comms executable that claude-code-mcp runs as its `claude`
    /// (the exec shim); defaults to this program.
    pub shim: Option<String>,
}

/// Extra rules for one module, in Claude Code's own rule syntax.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct ModuleRules {
    /// Also allowed, e.g. `Bash(cargo test:*)`, `Read(//srv/schemas/**)`,
    /// `mcp__claude-comms__send_message`.
    pub allow: Vec<String>,
    /// Refused even if a mode or an `allow` rule would permit it (deny wins).
    pub deny: Vec<String>,
    /// More folders the agent may read (absolute, `~` and `$VAR` expanded).
    pub add_dirs: Vec<String>,
}
