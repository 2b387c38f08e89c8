//! The tools claude-comms gives every answering agent (issue 29):
//! `ask_asker` and `ask_module`, served by `claude-comms agent-tools`, an
//! MCP server the agent's `claude` starts from an `--mcp-config` file.
//!
//! The files are per question: the hub writes the MCP config (and the
//! question's scope beside it, see `hub/ask_back/scope.rs`) before the
//! agent runs and removes them when it is done. A claude-code-mcp child
//! serves many questions at once and passes nothing but the prompt, so
//! its `claude` (the exec shim, `shim.rs`) finds the config by a hash of
//! the prompt it was given: the prompt names the question, and only the
//! hub, which rendered it, wrote a config under that name.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// The MCP server's name in the agent's config: its tools are
/// `mcp__comms__ask_asker` and `mcp__comms__ask_module`.
pub const SERVER: &str = "comms";
/// The tools, by their MCP names.
pub const TOOLS: [&str; 2] = ["ask_asker", "ask_module"];

/// The `--allowedTools` value that lets the agent call them under any
/// policy (they act only within the question it answers).
pub fn allowed_tools() -> String {
    TOOLS
        .iter()
        .map(|t| format!("mcp__{SERVER}__{t}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// The arguments that give a `claude` the tools of `config` (an MCP
/// config file).
pub fn claude_args(config: &Path) -> Vec<String> {
    vec![
        "--mcp-config".into(),
        config.display().to_string(),
        "--allowedTools".into(),
        allowed_tools(),
    ]
}

/// Where the MCP config of the question whose prompt is `prompt` lives.
pub fn config_for_prompt(dir: &Path, prompt: &str) -> PathBuf {
    let digest = Sha256::digest(prompt.as_bytes());
    let name: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    dir.join(format!("{name}.json"))
}

/// An MCP config that starts `exe agent-tools --scope SCOPE`.
pub fn mcp_config(exe: &Path, scope: &Path) -> serde_json::Value {
    serde_json::json!({
        "mcpServers": {
            SERVER: {
                "type": "stdio",
                "command": exe.display().to_string(),
                "args": ["agent-tools", "--scope", scope.display().to_string()],
            }
        }
    })
}
