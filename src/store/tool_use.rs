//! The record of one tool use of an answering agent, as the store keeps it
//! with the reply (JSON in `messages.tool_uses`). The policy module makes
//! these records from the agent's events and re-exports the types; the
//! store does not import the policy.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// How a tool use ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ToolOutcome {
    /// It ran.
    Allowed,
    /// The policy refused it; nothing happened.
    Refused,
    /// It was allowed but failed (a missing file, say), or got no result.
    Failed,
}

impl ToolOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            ToolOutcome::Allowed => "allowed",
            ToolOutcome::Refused => "refused",
            ToolOutcome::Failed => "failed",
        }
    }
}

/// One tool use of an answering agent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ToolUse {
    /// The tool's name (`Read`, `Write`, `Bash`, `mcp__server__tool`, ...).
    pub tool: String,
    /// What it was aimed at: a path, a command, a URL or a search.
    pub target: Option<String>,
    pub outcome: ToolOutcome,
    /// Why it was refused or failed (the first line of what the CLI said).
    pub detail: Option<String>,
}

impl std::fmt::Display for ToolUse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.outcome.as_str(), self.tool)?;
        if let Some(target) = &self.target {
            write!(f, " {target}")?;
        }
        Ok(())
    }
}
