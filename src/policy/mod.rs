//! Least privilege for answering agents: what the `claude` behind a module
//! may read, write and run, set per module in the operator's config (never
//! in descriptors, which MCP clients may register).
//!
//! * `read-only` (the default): read and search inside the module's folder
//!   (and folders the config adds); no writes, no shell, no web.
//! * `edit`: also write and edit inside the module's folder; shell only for
//!   the commands the config allows.
//! * `full`: what claude-code-mcp does on its own (`--dangerously-skip-permissions`).
//!
//! How the policy reaches a child: a Claude Code settings file of our own
//! ([`claude_settings`]), passed with `--settings` and read with no other
//! setting source, in `dontAsk` mode with bypass disabled. The stream backend
//! gets those arguments directly; claude-code-mcp, which always runs
//! `claude --dangerously-skip-permissions -p ...`, gets them through
//! [`shim`]: `CLAUDE_CLI_NAME` points at this program, which replaces itself
//! with the real `claude` plus the policy's arguments. What the agent tried
//! comes back as [`tool_use::ToolUse`] records parsed from stream-json.

pub mod agent_tools;
pub mod claude_settings;
pub mod report;
pub mod shim;
pub mod tool_use;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use crate::config::permissions::{Mode, ModuleRules, PermissionsConfig};
pub use claude_settings::{ChildPolicy, PolicyFiles};
pub use tool_use::{ToolOutcome, ToolUse};

/// The policy a module's agent runs under.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub struct ModulePolicy {
    pub mode: Mode,
    /// The operator's extra rules (already validated; folders expanded).
    pub allow: Vec<String>,
    pub deny: Vec<String>,
    pub add_dirs: Vec<String>,
    /// The config key the mode comes from.
    pub from: String,
}

/// A module's policy as `describe_module`, `config show` and `doctor` show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PolicyView {
    #[serde(flatten)]
    pub policy: ModulePolicy,
    /// What the mode lets the agent do, in one sentence.
    pub summary: String,
    /// Set for `full` (and anything else an operator should look at).
    pub warning: Option<String>,
}

#[derive(Debug, thiserror::Error)]
#[error("permissions.{key}: {message}")]
pub struct PolicyError {
    pub key: String,
    pub message: String,
}

impl PermissionsConfig {
    /// The effective policy of `module`.
    pub fn policy_for(&self, module: &str) -> ModulePolicy {
        let (mode, from) = match self.modules.get(module) {
            Some(mode) => (*mode, format!("permissions.modules.{module}")),
            None => (self.default, "permissions.default".to_string()),
        };
        let rules = self.rules.get(module).cloned().unwrap_or_default();
        ModulePolicy {
            mode,
            allow: rules.allow,
            deny: rules.deny,
            // Validation already checked that these expand; keep them as given otherwise.
            add_dirs: rules
                .add_dirs
                .iter()
                .map(|d| {
                    crate::expand::expand_path(d)
                        .map(|p| p.display().to_string())
                        .unwrap_or_else(|_| d.clone())
                })
                .collect(),
            from,
        }
    }

    /// Checks every value, naming the key and the value that is wrong.
    pub fn validate(&self) -> Result<(), PolicyError> {
        for name in self.modules.keys().chain(self.rules.keys()) {
            if name.trim().is_empty() {
                return Err(PolicyError {
                    key: "modules".into(),
                    message: "a module name is empty".into(),
                });
            }
        }
        for (module, rules) in &self.rules {
            for (list, items) in [("allow", &rules.allow), ("deny", &rules.deny)] {
                for rule in items {
                    check_rule(rule).map_err(|why| PolicyError {
                        key: format!("rules.{module}.{list}"),
                        message: format!("{rule:?} is not a Claude Code permission rule: {why}"),
                    })?;
                }
            }
            for dir in &rules.add_dirs {
                let key = format!("rules.{module}.add_dirs");
                let path = crate::expand::expand_path(dir).map_err(|e| PolicyError {
                    key: key.clone(),
                    message: format!("{dir:?}: {e}"),
                })?;
                if !path.is_absolute() {
                    return Err(PolicyError {
                        key,
                        message: format!(
                            "{dir:?} is not an absolute folder (start it with /, ~ or $VAR)"
                        ),
                    });
                }
            }
        }
        if let Some(shim) = &self.shim
            && !std::path::Path::new(shim).is_absolute()
        {
            return Err(PolicyError {
                key: "shim".into(),
                message: format!("{shim:?} must be an absolute path to a claude-comms executable"),
            });
        }
        Ok(())
    }
}

/// A rule is `Tool` or `Tool(specifier)`, as in Claude Code's settings.
fn check_rule(rule: &str) -> Result<(), &'static str> {
    let (tool, rest) = match rule.find('(') {
        Some(i) => (&rule[..i], Some(&rule[i..])),
        None => (rule, None),
    };
    if tool.is_empty() {
        return Err("it has no tool name");
    }
    if !tool
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        || !tool.starts_with(|c: char| c.is_ascii_alphabetic())
    {
        return Err("a tool name is letters, digits, _ and - (e.g. Bash, Read, mcp__server__tool)");
    }
    if let Some(rest) = rest
        && (!rest.ends_with(')') || rest.len() < 3)
    {
        return Err("a specifier is written Tool(specifier), closed by ')' and not empty");
    }
    Ok(())
}

impl ModulePolicy {
    /// The tool name of each rule (`Bash(ls:*)` -> `Bash`).
    fn rule_tools(rules: &[String]) -> impl Iterator<Item = &str> {
        rules.iter().map(|r| r.split('(').next().unwrap_or(r))
    }

    /// Whether the operator allowed some shell commands.
    pub fn allows_some_shell(&self) -> bool {
        Self::rule_tools(&self.allow).any(|t| t == "Bash")
    }

    pub fn view(&self) -> PolicyView {
        let shell = if self.allows_some_shell() {
            "shell only for the allowed commands"
        } else {
            "no shell"
        };
        let extra = if self.add_dirs.is_empty() {
            String::new()
        } else {
            format!(" (and {})", self.add_dirs.join(", "))
        };
        let (summary, warning) = match self.mode {
            Mode::ReadOnly => (
                format!(
                    "reads and searches inside the module's folder{extra}; no writes, {shell}, no web"
                ),
                None,
            ),
            Mode::Edit => (
                format!(
                    "reads{extra}, writes and edits inside the module's folder; {shell}, no web"
                ),
                None,
            ),
            Mode::Full => (
                "no restriction: the agent may read, write and run anything the user can"
                    .to_string(),
                Some(format!(
                    "full access: any message to this module can make its agent write files, run commands and read anything the user can ({} = \"full\")",
                    self.from
                )),
            ),
        };
        PolicyView {
            policy: self.clone(),
            summary,
            warning,
        }
    }
}

#[cfg(test)]
mod tests;
